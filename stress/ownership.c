/*
 * stress_ownership — many threads hammer two pools (one with per-thread
 * caches, one with caching disabled so every operation goes through the
 * shared depot) with a random mix of:
 *   - hot pairs: acquire one, touch it, release it;
 *   - bursts: acquire up to 24 one by one, release them in a shuffled order;
 *   - bulk: lfp_acquire_bulk / lfp_release_bulk (all or nothing);
 *   - holds: acquire one, yield/spin while holding it, release;
 * using try, timed (0..2 ms) and blocking acquires (blocking only while the
 * thread holds nothing, so the program itself cannot deadlock).
 *
 * Checks: every object carries an owner stamp set with an atomic exchange
 * on acquire and cleared on release; a stamp found set means the pool gave
 * one object to two threads. Objects handed out must be live (created, not
 * destroyed). Periodically all workers pause with nothing held and the
 * controller checks conservation against lfp_get_stats (live = idle +
 * in_use, in_use = 0, live <= capacity, creates/destroys = the factory's,
 * acquires/releases/empties/timeouts = the program's counts) and that every
 * capacity object can be acquired (nothing stranded in caches). At the end
 * lfp_destroy must destroy every created object exactly once.
 */
#include "common.h"

#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define NPOOLS	  2
#define BURST_MAX 24

typedef struct worker {
	int idx;
	st_counts c[NPOOLS];
	uint64_t ops;
} worker;

static lfp_pool *pools[NPOOLS];
static st_factory *facs[NPOOLS];
static uint64_t caps[NPOOLS];
static st_pauser ps;

static int pick_mode(st_rng *r, bool holding)
{
	uint64_t x = st_below(r, 10);
	if (x < 4)
		return ST_TRY;
	if (x < 8 || holding)
		return ST_TIMED;
	return ST_BLOCK;
}

static uint64_t pick_timeout(st_rng *r)
{
	/* 0 (= try), sub-microsecond, or up to 2 ms. */
	switch (st_below(r, 4)) {
	case 0:
		return 0;
	case 1:
		return 1 + st_below(r, 1000);
	default:
		return 1 + st_below(r, 2000000);
	}
}

static void hot_pair(worker *w, st_rng *r, int k, uint64_t me)
{
	void *o;
	if (st_acquire(pools[k], facs[k], &o, pick_mode(r, false),
		       pick_timeout(r), me, &w->c[k]) != LFP_OK)
		return;
	st_release(pools[k], facs[k], o, me, &w->c[k]);
	w->ops += 2;
}

static void burst(worker *w, st_rng *r, int k, uint64_t me)
{
	void *held[BURST_MAX];
	size_t n = 1 + st_below(r, BURST_MAX), got = 0;
	while (got < n) {
		if (st_acquire(pools[k], facs[k], &held[got],
			       pick_mode(r, got > 0), pick_timeout(r), me,
			       &w->c[k]) != LFP_OK)
			break;
		got++;
	}
	for (size_t i = got; i > 1; i--) {
		size_t j = st_below(r, i);
		void *t = held[i - 1];
		held[i - 1] = held[j];
		held[j] = t;
	}
	for (size_t i = 0; i < got; i++)
		st_release(pools[k], facs[k], held[i], me, &w->c[k]);
	w->ops += 2 * got;
}

static void bulk(worker *w, st_rng *r, int k, uint64_t me)
{
	void *objs[BURST_MAX];
	uint64_t lim = caps[k] < BURST_MAX ? caps[k] : BURST_MAX;
	size_t n = 1 + st_below(r, lim);
	lfp_err err = lfp_acquire_bulk(pools[k], objs, n);
	if (err == LFP_EMPTY) {
		w->c[k].empties++;
		w->c[k].bulk_failures++;
		return;
	}
	if (err != LFP_OK) {
		st_violation("lfp_acquire_bulk(%zu) returned %s", n,
			     lfp_strerror(err));
		return;
	}
	w->c[k].acquires += n;
	for (size_t i = 0; i < n; i++)
		st_claim(facs[k], objs[i], me, "bulk acquire");
	st_tick();
	for (size_t i = 0; i < n; i++)
		st_unclaim(facs[k], objs[i], me, "bulk release");
	err = lfp_release_bulk(pools[k], objs, n);
	if (err != LFP_OK)
		st_violation("lfp_release_bulk(%zu) returned %s", n,
			     lfp_strerror(err));
	else
		w->c[k].releases += n;
	w->ops += 2 * n;
}

static void hold(worker *w, st_rng *r, int k, uint64_t me)
{
	void *o;
	if (st_acquire(pools[k], facs[k], &o, pick_mode(r, false),
		       pick_timeout(r), me, &w->c[k]) != LFP_OK)
		return;
	if (st_chance(r, 500))
		sched_yield();
	else
		st_spin((uint32_t)st_below(r, 2000));
	st_release(pools[k], facs[k], o, me, &w->c[k]);
	w->ops += 2;
}

static void *work(void *arg)
{
	worker *w = arg;
	st_rng r;
	st_rng_init(&r, (uint64_t)w->idx + 1);
	uint64_t me = st_thread_tag();
	while (st_pause_point(&ps)) {
		for (int i = 0; i < 64 && !st_pause_requested(&ps); i++) {
			int k = (int)st_below(&r, NPOOLS);
			uint64_t x = st_below(&r, 100);
			if (x < 40)
				hot_pair(w, &r, k, me);
			else if (x < 65)
				burst(w, &r, k, me);
			else if (x < 80)
				bulk(w, &r, k, me);
			else
				hold(w, &r, k, me);
		}
		if (st_chance(&r, 20))
			lfp_thread_flush(pools[st_below(&r, NPOOLS)]);
	}
	return NULL;
}

static void check_all(worker *ws, int n, const char *label)
{
	st_check_pools(pools, facs, NPOOLS, ws[0].c, sizeof(worker), n, label);
}

int main(int argc, char **argv)
{
	st_opts o = {.seconds = 5, .threads = 8, .objects = 64};
	st_begin("stress_ownership", argc, argv, &o);
	caps[0] = o.objects;
	caps[1] = o.objects / 4 ? o.objects / 4 : 1;
	for (int k = 0; k < NPOOLS; k++) {
		facs[k] = st_factory_new(sizeof(st_obj));
		pools[k] = st_pool_new(facs[k], caps[k],
				       k == 0 ? LFP_CACHE_DEFAULT : 0, 0, 0, 0);
		st_watch_pool(pools[k], k == 0 ? "cached pool" : "direct pool");
	}
	worker *ws = calloc((size_t)o.threads, sizeof(*ws));
	pthread_t *ts = calloc((size_t)o.threads, sizeof(*ts));
	if (!ws || !ts)
		st_die("out of memory");
	st_pauser_init(&ps, (unsigned)o.threads);
	for (int i = 0; i < o.threads; i++) {
		ws[i].idx = i;
		st_spawn(&ts[i], 0, work, &ws[i]);
	}
	double period = o.seconds / 5 < 1 ? o.seconds / 5 : 1;
	int checks = 0;
	while (st_elapsed() + period < o.seconds) {
		st_sleep_until(st_elapsed() + period);
		st_pause_all(&ps);
		check_all(ws, o.threads, "quiescent point");
		checks++;
		st_resume_all(&ps);
	}
	st_sleep_until(o.seconds);
	st_stop_all(&ps);
	uint64_t ops = 0;
	for (int i = 0; i < o.threads; i++) {
		st_join(ts[i]);
		ops += ws[i].ops;
	}
	st_add_ops(ops);
	/* Worker threads have exited: their caches were flushed to the depot.
	 */
	check_all(ws, o.threads, "after join");
	uint64_t empties = 0, timeouts = 0;
	for (int k = 0; k < NPOOLS; k++) {
		for (int i = 0; i < o.threads; i++) {
			empties += ws[i].c[k].empties;
			timeouts += ws[i].c[k].timeouts;
		}
		st_finish_pool(pools[k], facs[k], 0,
			       k == 0 ? "cached pool" : "direct pool");
		st_factory_free(facs[k]);
	}
	st_pauser_destroy(&ps);
	free(ws);
	free(ts);
	return st_end("checks=%d empties=%" PRIu64 " timeouts=%" PRIu64
		      " max_wait_ms=%.1f",
		      checks + 1, empties, timeouts,
		      (double)st_max_wait_ns() / 1e6);
}
