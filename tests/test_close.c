/* lfp_close and LFP_ECLOSED: acquires fail, blocked acquirers wake,
 * releases and discards destroy, idle objects (cached ones too) are
 * destroyed, lfp_destroy follows. */
#include "thread_util.h"

#include <pthread.h>

Test(close, errors)
{
	cr_assert_eq(lfp_close(NULL), LFP_EINVAL);
	cr_assert_str_eq(lfp_strerror(LFP_ECLOSED), "the pool is closed");
}

Test(close, acquires_fail_idle_destroyed, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, LFP_CACHE_DEFAULT);
	c.min_idle = 2;
	lfp_pool *p = tu_pool(&c);
	void *o[4];
	cr_assert_eq(lfp_acquire_bulk(p, o, 4), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, o + 2, 2), LFP_OK); /* cached */
	cr_assert_eq(lfp_close(p), LFP_OK);
	cr_assert_eq(lfp_close(p), LFP_OK, "idempotent");
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.closed, 1);
	cr_assert_eq(s.live, 2, "idle objects (cached and depot) destroyed");
	void *x = (void *)1;
	/* The inline fast path (this thread's cache held objects) too. */
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_ECLOSED);
	cr_assert_null(x);
	cr_assert_eq(lfp_acquire(p, &x), LFP_ECLOSED);
	cr_assert_eq(lfp_acquire_timed(p, &x, 10 * TU_MS), LFP_ECLOSED);
	void *b[2];
	cr_assert_eq(lfp_acquire_bulk(p, b, 2), LFP_ECLOSED);
	/* Releases and discards are accepted; the objects are destroyed. */
	cr_assert_eq(lfp_release(p, o[0]), LFP_OK);
	/* Destroyed by that release: no longer an object of the pool. */
	cr_assert_eq(lfp_release(p, o[0]), LFP_EFOREIGN);
	cr_assert_eq(lfp_discard(p, o[1]), LFP_OK);
	s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.live, 0);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(lfp_maintain(p, NULL), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

struct blocked {
	lfp_pool *p;
	uint64_t timeout; /* LFP_FOREVER: lfp_acquire */
	lfp_err err;
	uint64_t returned_ns;
};

static void *blocked_main(void *arg)
{
	struct blocked *b = arg;
	void *o = NULL;
	b->err = b->timeout == LFP_FOREVER
			 ? lfp_acquire(b->p, &o)
			 : lfp_acquire_timed(b->p, &o, b->timeout);
	b->returned_ns = tu_now_ns();
	return NULL;
}

Test(close, wakes_blocked_acquirers, .timeout = 30)
{
	enum { N = 6 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *held;
	cr_assert_eq(lfp_acquire(p, &held), LFP_OK);
	struct blocked b[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		b[i] = (struct blocked){
			.p = p, .timeout = i % 2 ? LFP_FOREVER : 20000 * TU_MS};
		cr_assert_eq(pthread_create(&t[i], NULL, blocked_main, &b[i]),
			     0);
	}
	tu_sleep_ms(100); /* let them block */
	uint64_t t0 = tu_now_ns();
	cr_assert_eq(lfp_close(p), LFP_OK);
	uint64_t worst = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(b[i].err, LFP_ECLOSED, "waiter %d: %s", i,
			     lfp_strerror(b[i].err));
		uint64_t d = b[i].returned_ns > t0 ? b[i].returned_ns - t0 : 0;
		worst = d > worst ? d : worst;
	}
	/* "Within milliseconds": asserted generously, reported exactly. */
	cr_assert_lt(worst, 2000 * TU_MS, "woke after %llu ns",
		     (unsigned long long)worst);
	cr_log_info("slowest waiter returned %.3f ms after lfp_close",
		    (double)worst / 1e6);
	cr_assert_eq(lfp_release(p, held), LFP_OK);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.live, 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* Objects cached by another live thread are destroyed by lfp_close. */
Test(close, other_threads_caches_destroyed, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 16, 8);
	lfp_pool *p = tu_pool(&c);
	/* After the close it tries its own (disarmed) cache. */
	tu_cacher h = {.pool = p, .n = 4, .try_after = true};
	tu_cacher_start(&h);
	cr_assert_eq(tu_stats(p).live, 4);
	cr_assert_eq(lfp_close(p), LFP_OK);
	cr_assert_eq(tu_stats(p).live, 0);
	tu_cacher_stop(&h);
	cr_assert_eq(h.after, LFP_ECLOSED);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(close, with_maintenance_thread_then_destroy, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, LFP_CACHE_DEFAULT);
	c.maintenance_thread = 1;
	c.min_idle = 2;
	c.max_idle_ns = 5 * TU_MS;
	lfp_pool *p = tu_pool(&c);
	tu_sleep_ms(20);
	cr_assert_eq(lfp_close(p), LFP_OK); /* joins the thread */
	cr_assert_eq(tu_stats(p).live, 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(close, destroy_stops_maintenance_thread, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, LFP_CACHE_DEFAULT);
	c.maintenance_thread = 1;
	lfp_pool *p = tu_pool(&c);
	void *o;
	cr_assert_eq(lfp_acquire(p, &o), LFP_OK);
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}
