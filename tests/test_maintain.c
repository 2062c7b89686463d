/* lfp_maintain and the maintenance thread, min_idle as idle objects,
 * idle ages (one trim pass, lfp_thread_flush), keepalive, create back-off,
 * max_lifetime_ns, lfp_evict_all, leak reports, lfp_foreach, histograms,
 * zero-fill. */
#include "leak_site.h"
#include "thread_util.h"

#include <pthread.h>

static uint64_t hist_sum(const uint64_t *h)
{
	uint64_t n = 0;
	for (int i = 0; i < LFP_HIST_BUCKETS; i++)
		n += h[i];
	return n;
}

Test(maintain, errors_and_nothing_due)
{
	uint64_t next = 0;
	cr_assert_eq(lfp_maintain(NULL, &next), LFP_EINVAL);
	cr_assert_eq(lfp_evict_all(NULL), LFP_EINVAL);
	cr_assert_eq(lfp_foreach(NULL, site_cb, NULL), LFP_EINVAL);
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	cr_assert_eq(lfp_foreach(p, NULL, NULL), LFP_EINVAL);
	cr_assert_eq(lfp_maintain(p, &next), LFP_OK);
	cr_assert_eq(next, UINT64_MAX, "nothing configured: nothing due");
	cr_assert_eq(lfp_maintain(p, NULL), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	free(f);
}

/* The reported bug: a quiet pool kept all its objects. */
Test(maintain, thread_evicts_in_quiet_pool, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 32, LFP_CACHE_DEFAULT);
	c.max_idle_ns = 50 * TU_MS;
	c.maintenance_thread = 1;
	lfp_pool *p = tu_pool(&c);
	void *o[32];
	cr_assert_eq(lfp_acquire_bulk(p, o, 32), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, o, 32), LFP_OK);
	uint64_t next = 0;
	cr_assert_eq(lfp_maintain(p, &next), LFP_OK);
	cr_assert_leq(next, 25 * TU_MS);
	/* Nothing else calls the pool: only its maintenance thread can evict
	 * (it does within about 100 ms here; the bound is generous because a
	 * loaded machine may not run it for a while). */
	uint64_t until = tu_now_ns() + 10000 * TU_MS;
	lfp_stats s = tu_stats(p);
	while (s.live && tu_now_ns() < until) {
		tu_sleep_ms(20);
		s = tu_stats(p);
	}
	cr_assert_eq(s.live, 0, "%llu objects left 10 s later",
		     (unsigned long long)s.live);
	cr_assert_eq(s.evictions, 32);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(maintain, min_idle_means_idle_and_is_refilled)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 16, 0);
	c.min_idle = 4;
	lfp_pool *p = tu_pool(&c);
	cr_assert_eq(tu_stats(p).live, 4, "lfp_create pre-creates min_idle");
	void *o[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(lfp_acquire(p, &o[i]), LFP_OK);
	cr_assert_eq(tu_stats(p).idle, 0);
	cr_assert_eq(lfp_maintain(p, NULL), LFP_OK);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.live, 8);
	cr_assert_eq(s.idle, 4, "refilled to min_idle idle objects");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(lfp_release(p, o[i]), LFP_OK);
	uint64_t ev = 0;
	cr_assert_eq(lfp_trim(p, 0, &ev), LFP_OK);
	cr_assert_eq(ev, 4, "eviction stops at min_idle idle objects");
	cr_assert_eq(tu_stats(p).idle, 4);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* A live thread's cached objects go in one lfp_trim call. */
Test(maintain, live_threads_cache_needs_one_trim, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 16, 8);
	lfp_pool *p = tu_pool(&c);
	tu_cacher k = {.pool = p, .n = 4};
	tu_cacher_start(&k);
	tu_sleep_ms(80);
	uint64_t ev = 0;
	cr_assert_eq(lfp_trim(p, 50 * TU_MS, &ev), LFP_OK);
	cr_assert_eq(ev, 4, "one pass evicted %llu of 4",
		     (unsigned long long)ev);
	tu_cacher_stop(&k);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(maintain, thread_flush_keeps_idle_age, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 16, 8);
	lfp_pool *p = tu_pool(&c);
	void *o[4];
	cr_assert_eq(lfp_acquire_bulk(p, o, 4), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, o, 4), LFP_OK);
	for (int i = 0; i < 4; i++) /* a slow-path operation now */
		cr_assert_eq(lfp_release(p, NULL), LFP_EINVAL);
	tu_sleep_ms(80);
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	uint64_t ev = 0;
	cr_assert_eq(lfp_trim(p, 50 * TU_MS, &ev), LFP_OK);
	cr_assert_eq(ev, 4, "the flush reset the idle age");
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(maintain, keepalive_validates_idle_objects)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, 0);
	c.min_idle = 4;
	c.keepalive_ns = 10 * TU_MS;
	lfp_pool *p = tu_pool(&c);
	tu_obj *o[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(lfp_acquire(p, (void **)&o[i]), LFP_OK);
	o[0]->bad = o[2]->bad = 1;
	for (int i = 0; i < 4; i++)
		cr_assert_eq(lfp_release(p, o[i]), LFP_OK);
	uint64_t next = 0;
	cr_assert_eq(lfp_maintain(p, &next), LFP_OK);
	cr_assert_leq(next, 10 * TU_MS);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.keepalive_failures, 2);
	cr_assert_eq(s.live, 4, "replaced up to min_idle");
	cr_assert_eq(s.idle, 4);
	cr_assert_eq(lfp_maintain(p, NULL), LFP_OK);
	cr_assert_eq(tu_stats(p).keepalive_failures, 2, "not due yet");
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(maintain, create_back_off, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, 0);
	/* Long enough that a loaded machine cannot reach the next attempt
	 * during the few calls below (no timing is asserted but the lower
	 * bound the back-off itself guarantees). */
	c.create_retry_ns = 500 * TU_MS;
	lfp_pool *p = tu_pool(&c);
	void *o;
	atomic_store(&f->fail_all, 1);
	uint64_t t0 = tu_now_ns();
	cr_assert_eq(lfp_try_acquire(p, &o), LFP_ECREATE);
	cr_assert_eq(tu_ld(&f->create_calls), 1);
	cr_assert_eq(lfp_try_acquire(p, &o), LFP_ECREATE, "at once");
	cr_assert_eq(lfp_acquire_timed(p, &o, 20 * TU_MS), LFP_ETIMEDOUT);
	cr_assert_eq(tu_ld(&f->create_calls), 1, "one attempt per period");
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.last_create_error, -1);
	cr_assert_eq(s.create_failures, 1);
	/* A blocking acquire waits for the next attempt, which succeeds. */
	atomic_store(&f->fail_all, 0);
	cr_assert_eq(lfp_acquire(p, &o), LFP_OK);
	/* Not before the period (less the coarse clock's granularity). */
	cr_assert_geq(tu_now_ns() - t0, 490 * TU_MS,
		      "attempted before the back-off");
	cr_assert_eq(tu_ld(&f->create_calls), 2);
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	s = tu_stats(p);
	cr_assert_eq(hist_sum(s.create_ns_hist), s.creates + s.create_failures);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(maintain, max_lifetime, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, LFP_CACHE_DEFAULT);
	c.max_lifetime_ns = 50 * TU_MS;
	lfp_pool *p = tu_pool(&c);
	tu_obj *a, *b;
	cr_assert_eq(lfp_acquire(p, (void **)&a), LFP_OK);
	uint64_t id = a->id;
	cr_assert_eq(lfp_release(p, a), LFP_OK);
	tu_sleep_ms(80);
	cr_assert_eq(lfp_acquire(p, (void **)&b), LFP_OK);
	cr_assert_gt(b->id, id, "an expired object was handed out");
	tu_sleep_ms(80);
	cr_assert_eq(lfp_release(p, b), LFP_OK); /* expired: destroyed */
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.expirations, 2);
	cr_assert_eq(s.live, 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(maintain, evict_all, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 16, 8);
	c.factory.reset = NULL; /* caches serve the fast paths */
	lfp_pool *p = tu_pool(&c);
	tu_obj *o[6];
	cr_assert_eq(lfp_acquire_bulk(p, (void **)o, 6), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, (void **)o, 4), LFP_OK); /* cached */
	uint64_t old = tu_ld(&f->next_id);
	cr_assert_eq(lfp_evict_all(p), LFP_OK);
	for (int r = 0; r < 50; r++) {
		tu_obj *x;
		cr_assert_eq(lfp_acquire(p, (void **)&x), LFP_OK);
		cr_assert_gt(x->id, old, "an object from before evict_all");
		cr_assert_eq(lfp_release(p, x), LFP_OK);
		if (r == 10)
			cr_assert_eq(lfp_maintain(p, NULL), LFP_OK);
	}
	cr_assert_eq(lfp_release(p, o[4]), LFP_OK); /* destroyed */
	cr_assert_eq(lfp_release(p, o[5]), LFP_OK);
	cr_assert_eq(lfp_maintain(p, NULL), LFP_OK);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.destroys, 6, "every older object destroyed");
	for (int r = 0; r < 50; r++) { /* re-armed: fast paths again */
		tu_obj *x;
		cr_assert_eq(lfp_acquire(p, (void **)&x), LFP_OK);
		cr_assert_gt(x->id, old);
		cr_assert_eq(lfp_release(p, x), LFP_OK);
	}
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(maintain, leak_report_names_call_site, .timeout = 30)
{
	leak_site_test();
}

struct walk {
	int visited, in_use, stop_after;
	uint64_t max_age;
	void *site;
};

static int walk_cb(void *ctx, void *obj, const lfp_object_info *info)
{
	struct walk *w = ctx;
	(void)obj;
	w->visited++;
	w->in_use += info->in_use;
	w->max_age = info->age_ns > w->max_age ? info->age_ns : w->max_age;
	if (info->acquire_site)
		w->site = info->acquire_site;
	return w->stop_after && w->visited >= w->stop_after;
}

Test(maintain, foreach_visits_live_objects)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, 0);
	lfp_pool *p = tu_pool(&c);
	void *o[3];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(lfp_acquire(p, &o[i]), LFP_OK);
	cr_assert_eq(lfp_release(p, o[0]), LFP_OK);
	tu_sleep_ms(5);
	struct walk w = {0};
	cr_assert_eq(lfp_foreach(p, walk_cb, &w), LFP_OK);
	cr_assert_eq(w.visited, 3);
	cr_assert_eq(w.in_use, 2);
	cr_assert_gt(w.max_age, 0);
	cr_assert_lt(w.max_age, 10000 * TU_MS);
	cr_assert_null(w.site, "no sites without leak detection");
	struct walk one = {.stop_after = 1};
	cr_assert_eq(lfp_foreach(p, walk_cb, &one), LFP_OK);
	cr_assert_eq(one.visited, 1, "a non-zero return stops the walk");
	cr_assert_eq(lfp_discard(p, o[1]), LFP_OK);
	struct walk w2 = {0};
	cr_assert_eq(lfp_foreach(p, walk_cb, &w2), LFP_OK);
	cr_assert_eq(w2.visited, 2);
	cr_assert_eq(lfp_release(p, o[2]), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

static void *release_later(void *arg)
{
	void **a = arg;
	tu_sleep_ms(30);
	lfp_release(a[0], a[1]);
	return NULL;
}

Test(maintain, wait_histogram, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *a[2] = {p, NULL};
	cr_assert_eq(lfp_acquire(p, &a[1]), LFP_OK);
	pthread_t t;
	pthread_create(&t, NULL, release_later, a);
	void *o;
	cr_assert_eq(lfp_acquire(p, &o), LFP_OK);
	pthread_join(t, NULL);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(hist_sum(s.wait_ns_hist), 1);
	int hi = 0;
	for (int i = 0; i < LFP_HIST_BUCKETS; i++)
		if (s.wait_ns_hist[i])
			hi = i;
	cr_assert_geq(hi, 23, "a ~30 ms wait lands in bucket %d", hi);
	cr_assert_eq(hist_sum(s.hold_ns_hist), 0, "leak detection is off");
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	free(f);
}

ParameterizedTestParameters(maintain, zero_fill_reused_slots)
{
	static size_t sizes[] = {64, 3 * 4096 + 100};
	return cr_make_param_array(size_t, sizes, 2);
}

ParameterizedTest(size_t *size, maintain, zero_fill_reused_slots)
{
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = *size;
	c.capacity = 2;
	c.cache_size = 0;
	lfp_pool *p = tu_pool(&c);
	unsigned char *o;
	for (int r = 0; r < 3; r++) {
		cr_assert_eq(lfp_acquire(p, (void **)&o), LFP_OK);
		for (size_t i = 0; i < *size; i++)
			cr_assert_eq(o[i], 0, "byte %zu of round %d", i, r);
		memset(o, 0xa5, *size);
		cr_assert_eq(lfp_discard(p, o), LFP_OK);
	}
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
}
