/*
 * stress_eviction — idle eviction running concurrently with acquire/release.
 *
 * The pool has max_idle_ns = 2 ms (so slow paths run trim passes on their
 * own) and min_idle = 4; a trimmer thread also calls lfp_trim with random
 * small max_ns (0..2 ms) in a loop. Workers acquire bursts of objects with
 * try/timed/blocking acquires and pause at random (0..5 ms), so objects go
 * idle, get evicted and are created again all the time.
 *
 * Checks: ownership stamps; evicted objects are destroyed exactly once and
 * never handed out (the factory's per-id state); no object a user holds is
 * destroyed; live never drops below min_idle nor rises above capacity
 * (sampled after every trim); stats.evictions >= the sum lfp_trim reported,
 * and = stats.destroys (nothing else destroys here); at quiescent points
 * conservation; at the end an lfp_trim(0) leaves exactly min_idle objects
 * and every capacity object is still acquirable.
 */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define MIN_IDLE 4
#define HOLD_MAX 8

typedef struct worker {
	int idx;
	st_counts c;
} worker;

static lfp_pool *pool;
static st_factory *fac;
static st_pauser ps;
static _Atomic uint64_t trim_evicted, trim_calls;

static void check_live(const char *where)
{
	lfp_stats s = LFP_STATS_INIT;
	lfp_get_stats(pool, &s);
	if (s.live < MIN_IDLE || s.live > s.capacity)
		st_violation("%s: live=%" PRIu64 " outside [min_idle %d, "
			     "capacity %" PRIu64 "]",
			     where, s.live, MIN_IDLE, s.capacity);
}

static void *trimmer(void *arg)
{
	(void)arg;
	st_rng r;
	st_rng_init(&r, 0x7717);
	while (st_pause_point(&ps)) {
		uint64_t ev = UINT64_MAX;
		lfp_err err = lfp_trim(pool, st_below(&r, 2000000), &ev);
		if (err != LFP_OK || ev == UINT64_MAX)
			st_violation("lfp_trim: %s, evicted %" PRIu64,
				     lfp_strerror(err), ev);
		else
			atomic_fetch_add(&trim_evicted, ev);
		atomic_fetch_add(&trim_calls, 1);
		check_live("after lfp_trim");
		st_tick();
		st_sleep_ns(st_below(&r, 2000000));
	}
	return NULL;
}

static void *work(void *arg)
{
	worker *w = arg;
	st_rng r;
	st_rng_init(&r, (uint64_t)w->idx + 1);
	uint64_t me = st_thread_tag();
	void *held[HOLD_MAX];
	while (st_pause_point(&ps)) {
		size_t want = 1 + st_below(&r, HOLD_MAX), n = 0;
		while (n < want) {
			int mode = n ? ST_TRY : (int)st_below(&r, 3);
			if (st_acquire(pool, fac, &held[n], mode,
				       st_below(&r, 3000000), me,
				       &w->c) != LFP_OK)
				break;
			n++;
		}
		st_spin((uint32_t)st_below(&r, 1000));
		for (size_t i = 0; i < n; i++)
			st_release(pool, fac, held[i], me, &w->c);
		if (st_chance(&r, 300))
			st_sleep_ns(st_below(&r, 5000000));
	}
	return NULL;
}

static void check_all(worker *ws, int n, const char *label)
{
	st_counts sum = {0};
	for (int i = 0; i < n; i++)
		st_counts_add(&sum, &ws[i].c);
	st_check_quiescent(pool, fac, 0, &sum, label);
	lfp_stats s = LFP_STATS_INIT;
	lfp_get_stats(pool, &s);
	if (s.evictions != s.destroys)
		st_violation("%s: evictions %" PRIu64 " != destroys %" PRIu64
			     " (nothing else destroys objects here)",
			     label, s.evictions, s.destroys);
	if (s.evictions < atomic_load(&trim_evicted))
		st_violation("%s: stats.evictions %" PRIu64 " < %" PRIu64
			     " reported by lfp_trim",
			     label, s.evictions, atomic_load(&trim_evicted));
	check_live(label);
}

int main(int argc, char **argv)
{
	st_opts o = {.seconds = 5, .threads = 8, .objects = 64};
	st_begin("stress_eviction", argc, argv, &o);
	if (o.objects < MIN_IDLE)
		st_die("--objects must be >= %d", MIN_IDLE);
	fac = st_factory_new(sizeof(st_obj));
	pool = st_pool_new(fac, o.objects, LFP_CACHE_DEFAULT, 0, MIN_IDLE,
			   2000000);
	st_watch_pool(pool, "pool");
	check_live("after lfp_create");
	int n = o.threads;
	worker *ws = calloc((size_t)n, sizeof(*ws));
	pthread_t *ts = calloc((size_t)n, sizeof(*ts)), tt;
	if (!ws || !ts)
		st_die("out of memory");
	/* The trimmer pauses too: a trim pass holds objects outside the
	 * pool for a moment, which a quiescent check would count as lost. */
	st_pauser_init(&ps, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		ws[i].idx = i;
		st_spawn(&ts[i], 0, work, &ws[i]);
	}
	st_spawn(&tt, 0, trimmer, NULL);
	double period = o.seconds / 5 < 1 ? o.seconds / 5 : 1;
	int checks = 0;
	while (st_elapsed() + period < o.seconds) {
		st_sleep_until(st_elapsed() + period);
		st_pause_all(&ps);
		check_all(ws, n, "quiescent point");
		checks++;
		st_resume_all(&ps);
	}
	st_sleep_until(o.seconds);
	st_stop_all(&ps);
	for (int i = 0; i < n; i++)
		st_join(ts[i]);
	st_join(tt);
	check_all(ws, n, "after join");
	/* Workers are gone (their caches went to the depot): evict all. */
	uint64_t ev = 0;
	lfp_trim(pool, 0, &ev);
	atomic_fetch_add(&trim_evicted, ev);
	lfp_stats s = LFP_STATS_INIT;
	lfp_get_stats(pool, &s);
	if (s.live != MIN_IDLE)
		st_violation(
			"after lfp_trim(0) with no thread active: live=%" PRIu64
			", expected min_idle=%d",
			s.live, MIN_IDLE);
	check_all(ws, n, "after final trim");
	st_check_all_acquirable(pool, fac, "end");
	lfp_get_stats(pool, &s);
	uint64_t ops = 0;
	for (int i = 0; i < n; i++)
		ops += ws[i].c.acquires + ws[i].c.releases;
	st_add_ops(ops);
	st_finish_pool(pool, fac, 0, "final");
	st_factory_free(fac);
	st_pauser_destroy(&ps);
	free(ws);
	free(ts);
	return st_end("checks=%d trims=%" PRIu64 " evictions=%" PRIu64
		      " creates=%" PRIu64 " max_wait_ms=%.1f",
		      checks + 2, atomic_load(&trim_calls), s.evictions,
		      s.creates, (double)st_max_wait_ns() / 1e6);
}
