/* The leak-report test, shared by test_maintain.c (inline API) and
 * test_life_noinline.c (LFPOOL_NO_INLINE): on_leak must name the user's
 * call site, the return address inside leak_site_acquire. */
#ifndef LFPOOL_TEST_LEAK_SITE_H
#define LFPOOL_TEST_LEAK_SITE_H

#include "test_util.h"

struct leak_log {
	atomic_int n;
	void *obj, *site;
	uint64_t held;
};

static struct leak_log leak_log_g;

static void leak_cb(void *ctx, void *obj, uint64_t held_ns, void *site)
{
	(void)ctx;
	leak_log_g.obj = obj;
	leak_log_g.site = site;
	leak_log_g.held = held_ns;
	atomic_fetch_add(&leak_log_g.n, 1);
}

/* Not inlined, and the call is not a tail call (the asm after it). */
__attribute__((noinline)) static lfp_err leak_site_acquire(lfp_pool *p,
							   void **o)
{
	lfp_err e = lfp_acquire(p, o);
	__asm__ volatile("" ::: "memory");
	return e;
}

static int site_cb(void *ctx, void *obj, const lfp_object_info *info)
{
	(void)obj;
	if (info->in_use)
		*(void **)ctx = info->acquire_site;
	return 0;
}

static void leak_site_test(void)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, LFP_CACHE_DEFAULT);
	c.leak_threshold_ns = 20 * TU_MS;
	c.on_leak = leak_cb;
	lfp_pool *p = tu_pool(&c);
	void *o, *q;
	cr_assert_eq(leak_site_acquire(p, &o), LFP_OK);
	cr_assert_eq(lfp_acquire(p, &q), LFP_OK);
	cr_assert_eq(lfp_release(p, q), LFP_OK); /* not leaked */
	tu_sleep_ms(50);
	uint64_t next = 0;
	cr_assert_eq(lfp_maintain(p, &next), LFP_OK);
	cr_assert_leq(next, 20 * TU_MS);
	cr_assert_eq(atomic_load(&leak_log_g.n), 1);
	cr_assert_eq(leak_log_g.obj, o);
	cr_assert_geq(leak_log_g.held, 20 * TU_MS);
	char *fn = (char *)(uintptr_t)leak_site_acquire, *s = leak_log_g.site;
	cr_assert(s > fn && s < fn + 4096, /* sanitizers grow it */
		  "site %p is not inside leak_site_acquire (%p)", (void *)s,
		  (void *)fn);
	void *seen = NULL;
	cr_assert_eq(lfp_foreach(p, site_cb, &seen), LFP_OK);
	cr_assert_eq(seen, leak_log_g.site, "foreach reports the same site");
	cr_assert_eq(lfp_maintain(p, NULL), LFP_OK);
	cr_assert_eq(atomic_load(&leak_log_g.n), 1, "reported once");
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	lfp_stats s2 = tu_stats(p);
	cr_assert_eq(s2.leaks, 1);
	uint64_t holds = 0;
	for (int i = 0; i < LFP_HIST_BUCKETS; i++)
		holds += s2.hold_ns_hist[i];
	cr_assert_eq(holds, 2, "hold times recorded with leak detection on");
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

#endif
