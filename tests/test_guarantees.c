/*
 * Guarantees under concurrency that the re-cut library states in its
 * header and docs/design.md:
 *   - lfp_try_acquire never returns LFP_EMPTY while an object stays idle in
 *     the pool for the whole call, with magazines moving between caches
 *     and the depot and trim passes taking the depot's magazines out;
 *   - polling an exhausted pool drains nothing (no objects are cached);
 *   - statistics counters never go back, even while threads exit.
 */
#include "thread_util.h"

/* ------------------------------------------------------------ EMPTY */

#define G_THREADS 4
#define G_HOLD	  2 /* objects a worker holds at most */

struct g_shared {
	lfp_pool *pool;
	atomic_int stop;
	_Atomic uint64_t empties, ops, other_errors;
};

/*
 * Each worker holds at most G_HOLD objects. With capacity 16 and 4
 * workers, a worker's objects (held + cached) leave its cache only in
 * batches that count as in transit (flush, drain, trim); so whenever the
 * depot is empty some cache holds more than G_HOLD objects and keeps at
 * least one of them idle throughout any call. An LFP_EMPTY is a bug.
 */
static void *g_worker(void *arg)
{
	struct g_shared *g = arg;
	void *held[G_HOLD];
	unsigned n = 0, seed = (unsigned)(uintptr_t)&n;
	uint64_t i = 0;
	while (!atomic_load(&g->stop)) {
		seed = seed * 1103515245u + 12345u;
		if (n < G_HOLD && (n == 0 || (seed >> 16) & 1)) {
			lfp_err e = lfp_try_acquire(g->pool, &held[n]);
			if (e == LFP_OK)
				n++;
			else if (e == LFP_EMPTY)
				atomic_fetch_add(&g->empties, 1);
			else
				atomic_fetch_add(&g->other_errors, 1);
		} else {
			if (lfp_release(g->pool, held[--n]) != LFP_OK)
				atomic_fetch_add(&g->other_errors, 1);
		}
		if (++i % 4096 == 0 && n == 0)
			lfp_thread_flush(g->pool); /* a batch to the depot */
	}
	while (n)
		lfp_release(g->pool, held[--n]);
	atomic_fetch_add(&g->ops, i);
	return NULL;
}

static void *g_trimmer(void *arg)
{
	struct g_shared *g = arg;
	while (!atomic_load(&g->stop)) {
		uint64_t evicted = 0;
		/* Evicts nothing (no object is idle that long), but takes
		 * every magazine out of the depot and puts it back. */
		lfp_trim(g->pool, UINT64_MAX / 2, &evicted);
		if (evicted)
			atomic_fetch_add(&g->other_errors, 1);
	}
	return NULL;
}

Test(guarantees, try_acquire_never_empty_while_objects_idle, .timeout = 60)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 16, 8); /* magazines of 4 objects */
	c.factory.reset = NULL; /* no hooks: the inline fast paths run */
	c.factory.validate = NULL;
	lfp_pool *p = tu_pool(&c);
	/* Create all 16 objects and park them in the depot. */
	void *all[16];
	for (int i = 0; i < 16; i++)
		cr_assert_eq(lfp_try_acquire(p, &all[i]), LFP_OK);
	for (int i = 0; i < 16; i++)
		cr_assert_eq(lfp_release(p, all[i]), LFP_OK);
	lfp_thread_flush(p);

	struct g_shared g = {.pool = p};
	pthread_t t[G_THREADS + 1];
	for (int i = 0; i < G_THREADS; i++)
		pthread_create(&t[i], NULL, g_worker, &g);
	pthread_create(&t[G_THREADS], NULL, g_trimmer, &g);
	tu_sleep_ms(1500);
	atomic_store(&g.stop, 1);
	for (int i = 0; i <= G_THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_gt(atomic_load(&g.ops), 1000);
	cr_assert_eq(atomic_load(&g.other_errors), 0);
	cr_expect_eq(atomic_load(&g.empties), 0,
		     "%llu spurious LFP_EMPTY in %llu operations",
		     (unsigned long long)atomic_load(&g.empties),
		     (unsigned long long)atomic_load(&g.ops));
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* ------------------------------------------------------------ polling */

struct poll_arg {
	lfp_pool *pool;
	_Atomic uint64_t empties, bad;
};

static void *poller(void *arg)
{
	struct poll_arg *a = arg;
	for (int i = 0; i < 20000; i++) {
		void *o;
		lfp_err e = lfp_try_acquire(a->pool, &o);
		if (e == LFP_EMPTY)
			atomic_fetch_add(&a->empties, 1);
		else
			atomic_fetch_add(&a->bad, 1);
	}
	return NULL;
}

Test(guarantees, polling_an_exhausted_pool_drains_nothing, .timeout = 60)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, 4);
	lfp_pool *p = tu_pool(&c);
	void *held[8];
	for (int i = 0; i < 8; i++)
		cr_assert_eq(lfp_try_acquire(p, &held[i]), LFP_OK);
	lfp_stats before = tu_stats(p);
	struct poll_arg a = {.pool = p};
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, poller, &a);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	lfp_stats after = tu_stats(p);
	cr_assert_eq(atomic_load(&a.bad), 0);
	cr_assert_eq(atomic_load(&a.empties), 4 * 20000);
	cr_assert_eq(after.empties - before.empties, 4 * 20000);
	/* Nothing was cached anywhere, so no poll moved objects. */
	cr_assert_eq(after.steals, before.steals);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(lfp_release(p, held[i]), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* A poller also finds objects idle in the cache of a live thread that does
 * not call lfpool any more. */
Test(guarantees, try_acquire_takes_from_a_quiet_threads_cache)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 3, 8);
	c.factory.reset = NULL;
	lfp_pool *p = tu_pool(&c);
	tu_cacher a = {.pool = p, .n = 3};
	tu_cacher_start(&a);
	void *o[3];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(lfp_try_acquire(p, &o[i]), LFP_OK);
	void *x;
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
	cr_assert_eq(tu_stats(p).creates, 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(lfp_release(p, o[i]), LFP_OK);
	tu_cacher_stop(&a);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* ------------------------------------------------------------ stats */

struct churn_arg {
	lfp_pool *pool;
	atomic_int stop;
};

static void *churn_once(void *arg)
{
	lfp_pool *p = arg;
	for (int i = 0; i < 200; i++) {
		void *o;
		if (lfp_try_acquire(p, &o) == LFP_OK)
			lfp_release(p, o);
	}
	return NULL; /* exits: its counters fold into the pool */
}

static void *churner(void *arg)
{
	struct churn_arg *a = arg;
	while (!atomic_load(&a->stop)) {
		pthread_t t;
		pthread_create(&t, NULL, churn_once, a->pool);
		pthread_join(t, NULL);
	}
	return NULL;
}

#define MONO(field)                                                            \
	cr_assert_geq(s.field, prev.field, #field " went back: %llu -> %llu",  \
		      (unsigned long long)prev.field,                          \
		      (unsigned long long)s.field)

Test(guarantees, stats_counters_never_go_back_under_thread_churn, .timeout = 60)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 256, 16);
	c.factory.reset = NULL;
	lfp_pool *p = tu_pool(&c);
	struct churn_arg a = {.pool = p};
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, churner, &a);
	lfp_stats prev = tu_stats(p);
	uint64_t deadline = tu_now_ns() + 1500 * TU_MS;
	unsigned snaps = 0;
	while (tu_now_ns() < deadline) {
		lfp_stats s = tu_stats(p);
		MONO(acquires);
		MONO(releases);
		MONO(cache_hits);
		MONO(cache_misses);
		MONO(creates);
		MONO(destroys);
		MONO(steals);
		prev = s;
		snaps++;
	}
	atomic_store(&a.stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	cr_assert_gt(snaps, 100);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.acquires, s.releases);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	free(f);
}
