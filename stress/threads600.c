/*
 * stress_threads600 — more than 512 threads on one pool, all alive at once.
 *
 * ck 0.7.1's hazard-pointer scan breaks when more than 512 hazard slots are
 * set during a scan; lfpool caps each pool at 256 records (later threads
 * share an overflow record under a mutex). This program starts --threads
 * (600) threads with 64 KiB stacks, lines them all up on a barrier, and lets
 * them hammer two pools at once: one with thread caches (capacity below the
 * thread count, so it runs dry and drains caches) and one with caching
 * disabled (every operation goes through the depot and its hazard
 * pointers). All threads stay alive until the end, so all of them own
 * caches and records (or the overflow record) at the same time.
 *
 * Checks: ownership stamps; max threads alive at once = --threads; at the
 * end (threads still alive, parked on a barrier) conservation and every
 * object acquirable from the controller (drains 600 caches); again after
 * the threads exit; lfp_destroy destroys each object exactly once.
 */
#include "common.h"

#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define NPOOLS 2

typedef struct worker {
	int idx;
	st_counts c[NPOOLS];
} worker;

static lfp_pool *pools[NPOOLS];
static st_factory *facs[NPOOLS];
static pthread_barrier_t start_bar, end_bar, exit_bar;
static _Atomic int alive, max_alive, stop;

static void *work(void *arg)
{
	worker *w = arg;
	st_rng r;
	st_rng_init(&r, (uint64_t)w->idx + 1);
	uint64_t me = st_thread_tag();
	int a = atomic_fetch_add(&alive, 1) + 1, m = atomic_load(&max_alive);
	while (a > m && !atomic_compare_exchange_weak(&max_alive, &m, a))
		;
	pthread_barrier_wait(&start_bar);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int k = (int)st_below(&r, NPOOLS);
		void *objs[4];
		size_t n = 1 + st_below(&r, 4), got = 0;
		for (; got < n; got++) {
			int mode = got ? ST_TRY
				       : (int)st_below(&r, 3); /* any mode */
			if (st_acquire(pools[k], facs[k], &objs[got], mode,
				       st_below(&r, 5000000), me,
				       &w->c[k]) != LFP_OK)
				break;
		}
		if (st_chance(&r, 100))
			sched_yield();
		for (size_t i = 0; i < got; i++)
			st_release(pools[k], facs[k], objs[i], me, &w->c[k]);
	}
	/* Everyone is still alive while the controller checks. */
	pthread_barrier_wait(&end_bar);
	pthread_barrier_wait(&exit_bar);
	atomic_fetch_sub(&alive, 1);
	return NULL;
}

static void check_all(worker *ws, int n, const char *label)
{
	st_check_pools(pools, facs, NPOOLS, ws[0].c, sizeof(worker), n, label);
}

int main(int argc, char **argv)
{
	/* 600 runnable threads on a few cores: a call can wait for the
	 * scheduler for seconds, so the latency bounds are loose here (this
	 * scenario is about correctness beyond ck's 512 hazard slots). */
	st_opts o = {.seconds = 5,
		     .threads = 600,
		     .objects = 256,
		     .max_wait = 20 * ST_TIME_SCALE,
		     .slack = 10 * ST_TIME_SCALE};
	st_begin("stress_threads600", argc, argv, &o);
	uint64_t caps[NPOOLS] = {o.objects, o.objects / 4 ? o.objects / 4 : 1};
	for (int k = 0; k < NPOOLS; k++) {
		facs[k] = st_factory_new(sizeof(st_obj));
		pools[k] = st_pool_new(facs[k], caps[k],
				       k == 0 ? LFP_CACHE_DEFAULT : 0, 0, 0, 0);
		st_watch_pool(pools[k], k == 0 ? "cached pool" : "direct pool");
	}
	int n = o.threads;
	worker *ws = calloc((size_t)n, sizeof(*ws));
	pthread_t *ts = calloc((size_t)n, sizeof(*ts));
	if (!ws || !ts)
		st_die("out of memory");
	pthread_barrier_init(&start_bar, NULL, (unsigned)n + 1);
	pthread_barrier_init(&end_bar, NULL, (unsigned)n + 1);
	pthread_barrier_init(&exit_bar, NULL, (unsigned)n + 1);
	/* Sanitizers need bigger frames; the library itself fits in 64 KiB. */
	size_t stack = ST_SANITIZED ? 256 * 1024 : 64 * 1024;
	for (int i = 0; i < n; i++) {
		ws[i].idx = i;
		st_spawn(&ts[i], stack, work, &ws[i]);
	}
	pthread_barrier_wait(&start_bar);
	double t0 = st_elapsed();
	st_log("all %d threads started (%.1f s)", atomic_load(&max_alive), t0);
	/* --seconds of work with all threads up (starting 600 threads takes
	 * seconds under TSan). */
	while (st_elapsed() < t0 + o.seconds)
		st_sleep_ns(10 * 1000 * 1000);
	atomic_store(&stop, 1);
	pthread_barrier_wait(&end_bar);
	if (atomic_load(&max_alive) != n || atomic_load(&alive) != n)
		st_violation("%d threads alive at once, expected %d",
			     atomic_load(&max_alive), n);
	check_all(ws, n, "all threads alive");
	pthread_barrier_wait(&exit_bar);
	for (int i = 0; i < n; i++)
		st_join(ts[i]);
	check_all(ws, n, "after exit");
	uint64_t ops = 0;
	lfp_stats s[NPOOLS];
	for (int k = 0; k < NPOOLS; k++) {
		for (int i = 0; i < n; i++)
			ops += ws[i].c[k].acquires + ws[i].c[k].releases;
		s[k] = (lfp_stats)LFP_STATS_INIT;
		lfp_get_stats(pools[k], &s[k]);
		st_finish_pool(pools[k], facs[k], 0, "final");
		st_factory_free(facs[k]);
	}
	st_add_ops(ops);
	pthread_barrier_destroy(&start_bar);
	pthread_barrier_destroy(&end_bar);
	pthread_barrier_destroy(&exit_bar);
	free(ws);
	free(ts);
	return st_end("max_alive=%d waits=%" PRIu64 "/%" PRIu64
		      " steals=%" PRIu64 " max_ms(try/timed/blocking)="
		      "%.1f/%.1f/%.1f",
		      atomic_load(&max_alive), s[0].waits, s[1].waits,
		      s[0].steals, (double)st_max_latency_ns(ST_TRY) / 1e6,
		      (double)st_max_latency_ns(ST_TIMED) / 1e6,
		      (double)st_max_latency_ns(ST_BLOCK) / 1e6);
}
