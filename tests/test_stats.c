/* lfp_get_stats counters and gauges. */
#include "test_util.h"

#include <pthread.h>

Test(stats, fresh_pool)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 12, LFP_CACHE_DEFAULT);
	c.min_idle = 3;
	lfp_pool *p = tu_pool(&c);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.acquires, 0);
	cr_assert_eq(s.releases, 0);
	cr_assert_eq(s.cache_hits, 0);
	cr_assert_eq(s.cache_misses, 0);
	cr_assert_eq(s.creates, 3);
	cr_assert_eq(s.create_failures, 0);
	cr_assert_eq(s.destroys, 0);
	cr_assert_eq(s.validation_failures, 0);
	cr_assert_eq(s.evictions, 0);
	cr_assert_eq(s.waits, 0);
	cr_assert_eq(s.timeouts, 0);
	cr_assert_eq(s.empties, 0);
	cr_assert_eq(s.live, 3);
	cr_assert_eq(s.idle, 3);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.peak_live, 3);
	cr_assert_eq(s.capacity, 12);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	free(f);
}

ParameterizedTestParameters(stats, consistent_at_quiescent_points)
{
	static uint32_t caches[] = {0, 3, 16, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 4);
}

ParameterizedTest(uint32_t *cache, stats, consistent_at_quiescent_points)
{
	enum { CAP = 20 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, CAP, *cache);
	lfp_pool *p = tu_pool(&c);
	void *held[CAP];
	int nheld = 0;
	uint64_t acq = 0, rel = 0, peak = 0;
	/* A deterministic walk: hold up to 15 objects, release in bursts. */
	uint32_t rnd = 12345;
	for (int step = 0; step < 2000; step++) {
		rnd = rnd * 1103515245u + 12345u;
		int want_acquire =
			nheld == 0 || (nheld < 15 && (rnd >> 16) % 3);
		if (want_acquire) {
			cr_assert_eq(lfp_try_acquire(p, &held[nheld]), LFP_OK);
			nheld++;
			acq++;
		} else {
			int k = (int)((rnd >> 8) % (unsigned)nheld);
			cr_assert_eq(lfp_release(p, held[k]), LFP_OK);
			held[k] = held[--nheld];
			rel++;
		}
		if ((uint64_t)nheld > peak)
			peak = (uint64_t)nheld;
		if (step % 97 == 0) {
			lfp_stats s = tu_stats(p);
			tu_assert_consistent(&s);
			cr_assert_eq(s.acquires, acq);
			cr_assert_eq(s.releases, rel);
			cr_assert_eq(s.in_use, (uint64_t)nheld);
			cr_assert_eq(s.capacity, CAP);
			cr_assert_geq(s.peak_live, peak);
			cr_assert_eq(s.creates, tu_ld(&f->creates));
			cr_assert_eq(s.destroys, 0);
			cr_assert_leq(s.cache_hits, s.acquires);
		}
	}
	cr_assert_eq(lfp_release_bulk(p, held, (size_t)nheld), LFP_OK);
	rel += (uint64_t)nheld;
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.acquires, acq);
	cr_assert_eq(s.releases, rel);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.idle, s.live);
	cr_assert_leq(s.creates, CAP);
	cr_assert_eq(s.peak_live, s.creates, "no destroys: peak == creates");
	/* (The default cache size depends on the CPU count: may be 0.) */
	if (*cache == 0)
		cr_assert_eq(s.cache_hits, 0, "cache hits with caches off");
	else if (*cache != LFP_CACHE_DEFAULT)
		cr_assert_gt(s.cache_hits, 0, "no cache hits with caches on");
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(stats, cache_hits_with_cache)
{
	tu_factory *f = tu_factory_new();
	/* Explicit: the default size depends on the CPU count. */
	lfp_config c = tu_config(f, 8, 8);
	lfp_pool *p = tu_pool(&c);
	for (int i = 0; i < 1000; i++) {
		void *o = NULL;
		cr_assert_eq(lfp_acquire(p, &o), LFP_OK);
		cr_assert_eq(lfp_release(p, o), LFP_OK);
	}
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.acquires, 1000);
	cr_assert_eq(s.releases, 1000);
	cr_assert_gt(s.cache_hits, 900,
		     "only %llu of 1000 same-thread acquires hit the cache",
		     (unsigned long long)s.cache_hits);
	cr_assert_leq(s.cache_hits + s.cache_misses, 1000 + 1);
	cr_assert_eq(s.live, 1);
	cr_assert_eq(s.peak_live, 1);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(stats, no_cache_hits_without_cache)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, 0);
	lfp_pool *p = tu_pool(&c);
	for (int i = 0; i < 1000; i++) {
		void *o = NULL;
		cr_assert_eq(lfp_acquire(p, &o), LFP_OK);
		cr_assert_eq(lfp_release(p, o), LFP_OK);
	}
	void *o[8];
	cr_assert_eq(lfp_acquire_bulk(p, o, 8), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, o, 8), LFP_OK);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.acquires, 1008);
	cr_assert_eq(s.releases, 1008);
	cr_assert_eq(s.cache_hits, 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	free(f);
}

Test(stats, empties_and_timeouts)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 2, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *o[2], *x = NULL;
	cr_assert_eq(lfp_acquire_bulk(p, o, 2), LFP_OK);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
	cr_assert_eq(lfp_acquire_bulk(p, &x, 1), LFP_EMPTY);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.empties, 4);
	cr_assert_eq(s.timeouts, 0);
	cr_assert_eq(s.acquires, 2);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(lfp_acquire_timed(p, &x, 5 * TU_MS),
			     LFP_ETIMEDOUT);
	s = tu_stats(p);
	cr_assert_eq(s.timeouts, 2);
	cr_assert_eq(s.empties, 4);
	cr_assert_eq(s.acquires, 2);
	cr_assert_eq(s.in_use, 2);
	cr_assert_eq(lfp_release_bulk(p, o, 2), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	free(f);
}

struct waiter {
	lfp_pool *pool;
	atomic_int started;
	atomic_int done;
	lfp_err err;
	void *got;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	atomic_store(&w->started, 1);
	w->err = lfp_acquire(w->pool, &w->got);
	atomic_store(&w->done, 1);
	return NULL;
}

Test(stats, waits_counted, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *held = NULL;
	cr_assert_eq(lfp_acquire(p, &held), LFP_OK);
	struct waiter w = {.pool = p};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, waiter_main, &w), 0);
	while (!atomic_load(&w.started))
		tu_sleep_ms(1);
	/* Wait (bounded) until the waiter is counted as sleeping. */
	uint64_t t0 = tu_now_ns();
	while (tu_stats(p).waits == 0 && tu_now_ns() - t0 < 10000 * TU_MS)
		tu_sleep_ms(1);
	cr_assert_eq(tu_stats(p).waits, 1, "blocked acquire not counted");
	cr_assert_eq(atomic_load(&w.done), 0,
		     "acquire returned while the pool was exhausted");
	cr_assert_eq(lfp_release(p, held), LFP_OK);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(w.err, LFP_OK);
	cr_assert_eq(w.got, held);
	lfp_stats s = tu_stats(p);
	cr_assert_geq(s.waits, 1);
	cr_assert_eq(s.acquires, 2);
	cr_assert_eq(s.releases, 1);
	cr_assert_eq(s.in_use, 1);
	cr_assert_eq(s.timeouts, 0);
	cr_assert_eq(s.live, 1);
	/* The waiter thread exited holding it; give it back from here. */
	cr_assert_eq(lfp_release(p, w.got), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(stats, validation_and_create_failures_counted)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, 0);
	c.validate_on = LFP_VALIDATE_ON_RELEASE;
	lfp_pool *p = tu_pool(&c);
	tu_obj *o = NULL;
	atomic_store(&f->fail_all, 1);
	cr_assert_eq(lfp_try_acquire(p, (void **)&o), LFP_ECREATE);
	cr_assert_eq(lfp_try_acquire(p, (void **)&o), LFP_ECREATE);
	atomic_store(&f->fail_all, 0);
	cr_assert_eq(lfp_try_acquire(p, (void **)&o), LFP_OK);
	o->bad = 1;
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_eq(lfp_try_acquire(p, (void **)&o), LFP_OK);
	o->reject_reset = 1;
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.create_failures, 2);
	cr_assert_eq(s.creates, 2);
	cr_assert_eq(s.destroys, 2);
	cr_assert_eq(s.validation_failures, 2);
	cr_assert_eq(s.evictions, 0);
	cr_assert_eq(s.acquires, 2);
	cr_assert_eq(s.releases, 2);
	cr_assert_eq(s.live, 0);
	cr_assert_eq(s.peak_live, 1);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(stats, final_stats_from_destroy)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 6, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *o[6];
	cr_assert_eq(lfp_acquire_bulk(p, o, 6), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, o, 6), LFP_OK);
	cr_assert_eq(lfp_acquire_bulk(p, o, 2), LFP_OK);
	lfp_stats before = tu_stats(p), fin;
	memset(&fin, 0, sizeof(fin));
	fin.struct_size = sizeof(fin);
	cr_assert_eq(lfp_destroy(p, &fin), LFP_EBUSY);
	cr_assert_eq(fin.acquires, before.acquires);
	cr_assert_eq(fin.releases, before.releases);
	cr_assert_eq(fin.creates, before.creates);
	cr_assert_eq(fin.live, 6);
	cr_assert_eq(fin.in_use, 2);
	cr_assert_eq(fin.idle, 4);
	cr_assert_eq(fin.peak_live, 6);
	cr_assert_eq(fin.capacity, 6);
	tu_assert_balanced(f);
	free(f);
}
