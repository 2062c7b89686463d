/*
 * stress_exhaustion — far more threads than objects (64 threads, 8 objects
 * by default), with blocking, timed and try acquires and short holds.
 *
 * Checks:
 *   - no deadlock: the watchdog fails the run when no acquire succeeds for
 *     --stall seconds;
 *   - no starvation: a blocking acquire waiting longer than --max-wait
 *     (5 s) is a violation; the longest wait is reported;
 *   - timeouts honoured: a timed acquire (0.1..20 ms) may give up only after
 *     its timeout and must return within timeout + --slack (2 s);
 *     stats.timeouts must equal the number of LFP_ETIMEDOUT results;
 *   - no stranded objects: in every cycle the workers are paused, two
 *     "parker" threads take all objects and release them into their own
 *     thread caches, then park (no further lfpool calls); the workers are
 *     resumed and must get those objects (the pool drains the parkers'
 *     caches) within --max-wait;
 *   - ownership stamps and conservation at every pause; at the end all
 *     objects must be acquirable while the parkers sit on their caches, and
 *     the pool is destroyed while they are still alive.
 */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define NPARK 2

typedef struct worker {
	int idx;
	int kind; /* ST_TRY, ST_TIMED, ST_BLOCK */
	st_counts c;
	_Atomic uint64_t got; /* successful acquires, read by the controller */
} worker;

static lfp_pool *pool;
static st_factory *fac;
static st_pauser ps;
static uint32_t cache_size;

/* Parkers: wait for a command, stash objects in their cache, park. */
enum { CMD_NONE, CMD_STASH, CMD_EXIT };
typedef struct parker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int cmd;
	bool done;
	st_counts c;
} parker;
static parker parkers[NPARK];

static void *park_main(void *arg)
{
	parker *pk = arg;
	uint64_t me = st_thread_tag();
	void *objs[LFP_CACHE_MAX];
	for (;;) {
		pthread_mutex_lock(&pk->mu);
		while (pk->cmd == CMD_NONE)
			pthread_cond_wait(&pk->cv, &pk->mu);
		int cmd = pk->cmd;
		pk->cmd = CMD_NONE;
		pthread_mutex_unlock(&pk->mu);
		if (cmd == CMD_EXIT)
			break;
		uint32_t n = 0;
		while (n < cache_size &&
		       st_acquire(pool, fac, &objs[n], ST_BLOCK, 0, me,
				  &pk->c) == LFP_OK)
			n++;
		/* Released into our own cache (nobody waits right now). */
		for (uint32_t i = 0; i < n; i++)
			st_release(pool, fac, objs[i], me, &pk->c);
		pthread_mutex_lock(&pk->mu);
		pk->done = true;
		pthread_cond_broadcast(&pk->cv);
		pthread_mutex_unlock(&pk->mu);
	}
	return NULL;
}

static void park_cmd(parker *pk, int cmd, bool wait)
{
	pthread_mutex_lock(&pk->mu);
	pk->cmd = cmd;
	pk->done = false;
	pthread_cond_broadcast(&pk->cv);
	while (wait && !pk->done)
		pthread_cond_wait(&pk->cv, &pk->mu);
	pthread_mutex_unlock(&pk->mu);
}

static void *work(void *arg)
{
	worker *w = arg;
	st_rng r;
	st_rng_init(&r, (uint64_t)w->idx + 1);
	uint64_t me = st_thread_tag();
	while (st_pause_point(&ps)) {
		void *o;
		uint64_t timeout = 100000 + st_below(&r, 20000000);
		lfp_err err =
			st_acquire(pool, fac, &o, w->kind, timeout, me, &w->c);
		if (err != LFP_OK) {
			if (w->kind == ST_TRY)
				st_sleep_ns(50000 + st_below(&r, 100000));
			continue;
		}
		atomic_fetch_add_explicit(&w->got, 1, memory_order_relaxed);
		if (st_chance(&r, 100))
			st_sleep_ns(st_below(&r, 200000));
		else
			st_spin((uint32_t)st_below(&r, 3000));
		st_release(pool, fac, o, me, &w->c);
	}
	return NULL;
}

static uint64_t total_got(worker *ws, int n)
{
	uint64_t t = 0;
	for (int i = 0; i < n; i++)
		t += atomic_load_explicit(&ws[i].got, memory_order_relaxed);
	return t;
}

static void check_all(worker *ws, int n, st_counts *extra, const char *label)
{
	st_counts sum = *extra;
	for (int i = 0; i < n; i++)
		st_counts_add(&sum, &ws[i].c);
	for (int i = 0; i < NPARK; i++)
		st_counts_add(&sum, &parkers[i].c);
	st_check_quiescent(pool, fac, 0, &sum, label);
	uint64_t got = st_check_all_acquirable(pool, fac, label);
	extra->acquires += got;
	extra->releases += got;
	/* Keep the controller's own cache empty: only parkers stash. */
	lfp_thread_flush(pool);
}

/* Parkers take every object into their caches and park. */
static void stash(void)
{
	for (int i = 0; i < NPARK; i++)
		park_cmd(&parkers[i], CMD_STASH, true);
}

int main(int argc, char **argv)
{
	st_opts o = {.seconds = 5, .threads = 64, .objects = 8};
	st_begin("stress_exhaustion", argc, argv, &o);
	cache_size = (uint32_t)((o.objects + NPARK - 1) / NPARK);
	if (cache_size > LFP_CACHE_MAX)
		cache_size = LFP_CACHE_MAX;
	fac = st_factory_new(sizeof(st_obj));
	pool = st_pool_new(fac, o.objects, cache_size, 0, 0, 0);
	st_watch_pool(pool, "pool");
	int n = o.threads;
	worker *ws = calloc((size_t)n, sizeof(*ws));
	pthread_t *ts = calloc((size_t)n, sizeof(*ts)), pts[NPARK];
	if (!ws || !ts)
		st_die("out of memory");
	for (int i = 0; i < NPARK; i++) {
		pthread_mutex_init(&parkers[i].mu, NULL);
		pthread_cond_init(&parkers[i].cv, NULL);
		st_spawn(&pts[i], 0, park_main, &parkers[i]);
	}
	st_pauser_init(&ps, (unsigned)n);
	for (int i = 0; i < n; i++) {
		ws[i].idx = i;
		ws[i].kind = i % 8 < 5	 ? ST_BLOCK
			     : i % 8 < 7 ? ST_TIMED
					 : ST_TRY;
		st_spawn(&ts[i], 0, work, &ws[i]);
	}
	st_counts mine = {0};
	double cycle = o.seconds / 4 > 0.5 ? o.seconds / 4 : 0.5;
	double worst_unstrand = 0;
	int cycles = 0;
	do {
		/* Quiet pool: workers parked, nothing held. */
		st_pause_all(&ps);
		check_all(ws, n, &mine, "pause");
		stash();
		uint64_t before = total_got(ws, n), t0 = st_now_ns();
		st_resume_all(&ps);
		/* Every object now sits in a parked thread's cache. */
		while (total_got(ws, n) < before + 2 * o.objects &&
		       (double)(st_now_ns() - t0) / 1e9 < o.max_wait)
			st_sleep_ns(1000000);
		double took = (double)(st_now_ns() - t0) / 1e9;
		if (total_got(ws, n) < before + 2 * o.objects)
			st_violation("objects stranded: workers got %" PRIu64
				     " objects in %.1f s while all objects "
				     "sat in parked threads' caches",
				     total_got(ws, n) - before, took);
		if (took > worst_unstrand)
			worst_unstrand = took;
		cycles++;
		st_sleep_until(st_elapsed() + cycle);
	} while (st_elapsed() < o.seconds);
	st_stop_all(&ps);
	for (int i = 0; i < n; i++)
		st_join(ts[i]);
	st_counts sum = mine;
	for (int i = 0; i < n; i++)
		st_counts_add(&sum, &ws[i].c);
	st_add_ops(sum.acquires + sum.releases);
	/* Parkers keep their caches full while the controller checks. */
	check_all(ws, n, &mine, "after join");
	stash();
	check_all(ws, n, &mine, "objects parked in live threads' caches");
	stash();
	lfp_stats s = LFP_STATS_INIT;
	lfp_get_stats(pool, &s);
	/* Destroy while the parkers are alive (and hold cached objects). */
	st_finish_pool(pool, fac, 0, "final");
	for (int i = 0; i < NPARK; i++) {
		park_cmd(&parkers[i], CMD_EXIT, false);
		st_join(pts[i]);
		pthread_mutex_destroy(&parkers[i].mu);
		pthread_cond_destroy(&parkers[i].cv);
	}
	st_factory_free(fac);
	st_pauser_destroy(&ps);
	free(ws);
	free(ts);
	return st_end("objects=%" PRIu64 " cycles=%d acquires=%" PRIu64
		      " timeouts=%" PRIu64 " waits=%" PRIu64 " steals=%" PRIu64
		      " max_wait_ms=%.1f max_unstrand_ms=%.1f",
		      o.objects, cycles, sum.acquires, sum.timeouts, s.waits,
		      s.steals, (double)st_max_wait_ns() / 1e6,
		      worst_unstrand * 1e3);
}
