/* Object lifecycle: create/validate/reset/destroy, min_idle, lfp_destroy. */
#include "test_util.h"

struct lc_param {
	uint32_t cache;
	uint64_t capacity;
};

ParameterizedTestParameters(lifecycle, destroy_balances_creates)
{
	static struct lc_param params[] = {
		{0, 1},	   {LFP_CACHE_DEFAULT, 1},
		{0, 8},	   {LFP_CACHE_DEFAULT, 8},
		{0, 1000}, {LFP_CACHE_DEFAULT, 1000},
	};
	return cr_make_param_array(struct lc_param, params,
				   sizeof(params) / sizeof(params[0]));
}

ParameterizedTest(struct lc_param *lp, lifecycle, destroy_balances_creates,
		  .timeout = 60)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, lp->capacity, lp->cache);
	lfp_pool *p = tu_pool(&c);
	size_t n = (size_t)lp->capacity;
	void **objs = calloc(n, sizeof(*objs));
	cr_assert_not_null(objs);

	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(lfp_try_acquire(p, &objs[i]), LFP_OK);
		tu_assert_obj(objs[i], f);
	}
	for (size_t i = 0; i < n; i += 2)
		cr_assert_eq(lfp_release(p, objs[i]), LFP_OK);
	for (size_t r = 0; r < 3 * n + 10; r++) {
		void *o = NULL;
		cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);
		tu_assert_obj(o, f);
		cr_assert_eq(lfp_release(p, o), LFP_OK);
	}
	for (size_t i = 1; i < n; i += 2)
		cr_assert_eq(lfp_release(p, objs[i]), LFP_OK);

	lfp_stats fin = LFP_STATS_INIT;
	memset(&fin, 0, sizeof(fin));
	fin.struct_size = sizeof(fin);
	cr_assert_eq(lfp_destroy(p, &fin), LFP_OK);
	tu_assert_consistent(&fin);
	cr_assert_eq(fin.in_use, 0);
	cr_assert_eq(fin.live, lp->capacity);
	cr_assert_eq(fin.creates, tu_ld(&f->creates));
	cr_assert_eq(fin.capacity, lp->capacity);
	tu_assert_balanced(f);
	free(objs);
	free(f);
}

Test(lifecycle, min_idle_precreated)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 10, LFP_CACHE_DEFAULT);
	c.min_idle = 5;
	lfp_pool *p = tu_pool(&c);
	cr_assert_eq(tu_ld(&f->creates), 5, "min_idle objects not created");
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.live, 5);
	cr_assert_eq(s.idle, 5);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.creates, 5);

	void *o[6];
	for (int i = 0; i < 5; i++)
		cr_assert_eq(lfp_try_acquire(p, &o[i]), LFP_OK);
	cr_assert_eq(tu_ld(&f->creates), 5, "pre-created objects not used");
	cr_assert_eq(lfp_try_acquire(p, &o[5]), LFP_OK);
	cr_assert_eq(tu_ld(&f->creates), 6);
	cr_assert_eq(lfp_release_bulk(p, o, 6), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(lifecycle, min_idle_create_failure_fails_create)
{
	tu_factory *f = tu_factory_new();
	atomic_store(&f->fail_create_every, 3); /* 2 succeed, the 3rd fails */
	lfp_config c = tu_config(f, 8, LFP_CACHE_DEFAULT);
	c.min_idle = 5;
	lfp_pool *p = NULL;
	cr_assert_eq(lfp_create(&c, &p), LFP_ECREATE);
	cr_assert_eq(tu_ld(&f->creates), 2);
	cr_assert_eq(tu_ld(&f->create_fails), 1);
	tu_assert_balanced(f);

	tu_factory *g = tu_factory_new();
	atomic_store(&g->fail_all, 1);
	lfp_config c2 = tu_config(g, 8, 0);
	c2.min_idle = 1;
	cr_assert_eq(lfp_create(&c2, &p), LFP_ECREATE);
	cr_assert_eq(tu_ld(&g->creates), 0);
	cr_assert_eq(tu_ld(&g->destroys), 0);
	free(f);
	free(g);
}

ParameterizedTestParameters(lifecycle, create_failure_no_leak)
{
	static uint32_t caches[] = {0, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, lifecycle, create_failure_no_leak,
		  .timeout = 30)
{
	enum { CAP = 6 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, CAP, *cache);
	lfp_pool *p = tu_pool(&c);
	void *o = NULL;

	/* Every create fails: every kind of acquire reports it. */
	atomic_store(&f->fail_all, 1);
	for (int i = 0; i < 3 * CAP; i++)
		cr_assert_eq(lfp_try_acquire(p, &o), LFP_ECREATE);
	cr_assert_eq(lfp_acquire_timed(p, &o, 20 * TU_MS), LFP_ECREATE);
	cr_assert_eq(lfp_acquire_timed(p, &o, LFP_FOREVER), LFP_ECREATE);
	cr_assert_eq(lfp_acquire(p, &o), LFP_ECREATE);
	void *bulk[CAP];
	lfp_err e = lfp_acquire_bulk(p, bulk, 2);
	cr_assert(e == LFP_ECREATE || e == LFP_EMPTY,
		  "bulk acquire with failing create: %s", lfp_strerror(e));
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.live, 0);
	cr_assert_eq(s.create_failures, tu_ld(&f->create_fails));
	cr_assert_geq(s.create_failures, 3 * CAP + 3);
	cr_assert_eq(s.acquires, 0);

	/* Every other create fails: still CAP objects to be had. */
	atomic_store(&f->fail_all, 0);
	atomic_store(&f->fail_create_every, 2);
	void *objs[CAP];
	int got = 0, ecreate = 0;
	for (int tries = 0; got < CAP && tries < 10 * CAP; tries++) {
		e = lfp_try_acquire(p, &objs[got]);
		if (e == LFP_OK) {
			tu_assert_obj(objs[got], f);
			got++;
		} else {
			cr_assert_eq(e, LFP_ECREATE, "unexpected %s",
				     lfp_strerror(e));
			ecreate++;
		}
	}
	cr_assert_eq(got, CAP, "capacity leaked by failed creates");
	cr_assert_geq(ecreate, 1);
	cr_assert_eq(lfp_try_acquire(p, &o), LFP_EMPTY);
	s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.live, CAP);
	cr_assert_eq(s.creates, CAP);
	cr_assert_eq(s.create_failures, tu_ld(&f->create_fails));
	cr_assert_eq(lfp_release_bulk(p, objs, CAP), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

ParameterizedTestParameters(lifecycle, validate_on_release)
{
	static uint32_t caches[] = {0, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, lifecycle, validate_on_release)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 2, *cache);
	c.validate_on = LFP_VALIDATE_ON_RELEASE;
	lfp_pool *p = tu_pool(&c);
	uint64_t fails = 0;
	for (int round = 0; round < 5; round++) {
		tu_obj *o = NULL;
		cr_assert_eq(lfp_try_acquire(p, (void **)&o), LFP_OK);
		tu_assert_obj(o, f);
		cr_assert_eq(o->bad, 0, "a bad object was handed out");
		uint64_t id = o->id;
		o->bad = 1;
		cr_assert_eq(lfp_release(p, o), LFP_OK);
		fails++;
		lfp_stats s = tu_stats(p);
		tu_assert_consistent(&s);
		cr_assert_eq(s.validation_failures, fails);
		cr_assert_eq(tu_ld(&f->destroys), fails);
		cr_assert_eq(s.in_use, 0);
		cr_assert_eq(s.live, 0);
		cr_assert_eq(atomic_load(&f->destroyed[id]), 1);

		tu_obj *n = NULL;
		cr_assert_eq(lfp_try_acquire(p, (void **)&n), LFP_OK);
		tu_assert_obj(n, f);
		cr_assert_neq(n->id, id, "the rejected object came back");
		cr_assert_eq(n->bad, 0);
		/* A good object survives release validation. */
		cr_assert_eq(lfp_release(p, n), LFP_OK);
		cr_assert_eq(tu_stats(p).live, 1);
		cr_assert_eq(tu_stats(p).validation_failures, fails);
		cr_assert_eq(lfp_try_acquire(p, (void **)&n), LFP_OK);
		tu_assert_obj(n, f);
		n->bad = 1;
		cr_assert_eq(lfp_release(p, n), LFP_OK);
		fails++;
		cr_assert_eq(tu_stats(p).validation_failures, fails);
		cr_assert_eq(tu_stats(p).live, 0);
	}
	cr_assert_gt(tu_ld(&f->validates), 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

ParameterizedTestParameters(lifecycle, validate_on_acquire)
{
	static uint32_t caches[] = {0, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, lifecycle, validate_on_acquire)
{
	tu_factory *f = tu_factory_new();
	/* Capacity 1: the replacement must reuse the rejected one's slot. */
	lfp_config c = tu_config(f, 1, *cache);
	c.validate_on = LFP_VALIDATE_ON_ACQUIRE;
	lfp_pool *p = tu_pool(&c);
	tu_obj *o = NULL;
	cr_assert_eq(lfp_try_acquire(p, (void **)&o), LFP_OK);
	tu_assert_obj(o, f);
	uint64_t id = o->id;
	o->bad = 1;
	cr_assert_eq(lfp_release(p, o), LFP_OK); /* not validated here */
	cr_assert_eq(tu_stats(p).validation_failures, 0);
	cr_assert_eq(tu_ld(&f->destroys), 0);

	tu_obj *n = NULL;
	cr_assert_eq(lfp_try_acquire(p, (void **)&n), LFP_OK,
		     "a failing idle object must be replaced, not EMPTY");
	tu_assert_obj(n, f);
	cr_assert_neq(n->id, id, "an object failing validation was handed out");
	cr_assert_eq(n->bad, 0);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.validation_failures, 1);
	cr_assert_eq(s.live, 1);
	cr_assert_eq(s.in_use, 1);
	cr_assert_eq(atomic_load(&f->destroyed[id]), 1);
	cr_assert_eq(lfp_release(p, n), LFP_OK);

	/* Blocking acquire too. */
	cr_assert_eq(lfp_acquire(p, (void **)&n), LFP_OK);
	id = n->id;
	n->bad = 1;
	cr_assert_eq(lfp_release(p, n), LFP_OK);
	cr_assert_eq(lfp_acquire(p, (void **)&n), LFP_OK);
	tu_assert_obj(n, f);
	cr_assert_neq(n->id, id);
	cr_assert_eq(tu_stats(p).validation_failures, 2);
	cr_assert_eq(lfp_release(p, n), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(lifecycle, validate_never_not_called)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, LFP_CACHE_DEFAULT);
	c.validate_on = LFP_VALIDATE_NEVER;
	lfp_pool *p = tu_pool(&c);
	tu_obj *o = NULL;
	cr_assert_eq(lfp_try_acquire(p, (void **)&o), LFP_OK);
	uint64_t id = o->id;
	o->bad = 1;
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_eq(lfp_try_acquire(p, (void **)&o), LFP_OK);
	cr_assert_eq(o->id, id, "object destroyed without validation on");
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_eq(tu_ld(&f->validates), 0);
	cr_assert_eq(tu_stats(p).validation_failures, 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(lifecycle, validate_both_flags)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, LFP_CACHE_DEFAULT);
	c.validate_on = LFP_VALIDATE_ON_ACQUIRE | LFP_VALIDATE_ON_RELEASE;
	lfp_pool *p = tu_pool(&c);
	for (int i = 0; i < 20; i++) {
		tu_obj *o = NULL;
		cr_assert_eq(lfp_try_acquire(p, (void **)&o), LFP_OK);
		tu_assert_obj(o, f);
		cr_assert_eq(o->bad, 0);
		if (i % 3 == 0)
			o->bad = 1;
		cr_assert_eq(lfp_release(p, o), LFP_OK);
	}
	/* 7 marked bad (i = 0, 3, ..., 18), each rejected exactly once. */
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.validation_failures, 7);
	cr_assert_eq(tu_ld(&f->destroys), 7);
	/* Validated on every release (20) and on every acquire of a
	 * reused, i.e. not freshly created, object. */
	cr_assert_eq(s.creates, 8);
	cr_assert_geq(tu_ld(&f->validates), 20 + (20 - s.creates));
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

ParameterizedTestParameters(lifecycle, reset_every_release)
{
	static uint32_t caches[] = {0, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, lifecycle, reset_every_release)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, *cache);
	lfp_pool *p = tu_pool(&c);
	uint64_t releases = 0;
	for (int i = 0; i < 50; i++) {
		void *o = NULL;
		cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);
		cr_assert_eq(lfp_release(p, o), LFP_OK);
		releases++;
		cr_assert_eq(tu_ld(&f->resets), releases,
			     "reset not called on release %llu",
			     (unsigned long long)releases);
	}
	void *objs[8];
	cr_assert_eq(lfp_acquire_bulk(p, objs, 8), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, objs, 8), LFP_OK);
	releases += 8;
	cr_assert_eq(tu_ld(&f->resets), releases, "reset skipped in bulk");
	cr_assert_eq(tu_stats(p).releases, releases);
	cr_assert_eq(tu_ld(&f->destroys), 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

ParameterizedTestParameters(lifecycle, reset_failure_destroys)
{
	static uint32_t caches[] = {0, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, lifecycle, reset_failure_destroys)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 2, *cache);
	lfp_pool *p = tu_pool(&c);
	tu_obj *a = NULL, *b = NULL;
	cr_assert_eq(lfp_try_acquire(p, (void **)&a), LFP_OK);
	cr_assert_eq(lfp_try_acquire(p, (void **)&b), LFP_OK);
	uint64_t ida = a->id;
	a->reject_reset = 1;
	cr_assert_eq(lfp_release(p, a), LFP_OK);
	cr_assert_eq(tu_ld(&f->reset_fails), 1);
	cr_assert_eq(tu_ld(&f->destroys), 1);
	cr_assert_eq(atomic_load(&f->destroyed[ida]), 1);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.validation_failures, 1);
	cr_assert_eq(s.live, 1);
	cr_assert_eq(s.in_use, 1);
	/* The slot is free again: capacity 2 still gives 2 objects. */
	tu_obj *n = NULL;
	cr_assert_eq(lfp_try_acquire(p, (void **)&n), LFP_OK);
	tu_assert_obj(n, f);
	cr_assert_neq(n->id, ida);
	cr_assert_eq(n->reject_reset, 0);
	cr_assert_eq(lfp_release(p, n), LFP_OK);
	cr_assert_eq(lfp_release(p, b), LFP_OK);
	cr_assert_eq(tu_ld(&f->destroys), 1);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

ParameterizedTestParameters(lifecycle, destroy_busy)
{
	static uint32_t caches[] = {0, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, lifecycle, destroy_busy)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, *cache);
	lfp_pool *p = tu_pool(&c);
	void *o[5];
	cr_assert_eq(lfp_acquire_bulk(p, o, 5), LFP_OK);
	cr_assert_eq(lfp_release(p, o[1]), LFP_OK);
	cr_assert_eq(lfp_release(p, o[3]), LFP_OK);
	lfp_stats fin = LFP_STATS_INIT;
	memset(&fin, 0, sizeof(fin));
	fin.struct_size = sizeof(fin);
	cr_assert_eq(lfp_destroy(p, &fin), LFP_EBUSY);
	cr_assert_eq(fin.in_use, 3);
	cr_assert_eq(fin.idle, 2);
	cr_assert_eq(fin.live, 5);
	cr_assert_eq(fin.acquires, 5);
	cr_assert_eq(fin.releases, 2);
	cr_assert_eq(tu_ld(&f->destroys), 5,
		     "acquired objects must be destroyed too");
	tu_assert_balanced(f);
	free(f);
}

Test(lifecycle, destroy_all_acquired_busy)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 3, 0);
	c.min_idle = 1;
	lfp_pool *p = tu_pool(&c);
	void *o = NULL;
	cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_EBUSY);
	tu_assert_balanced(f);
	free(f);
}

static int nonzero_invalid(void *ctx, void *obj)
{
	size_t size = *(size_t *)ctx;
	const unsigned char *b = obj;
	for (size_t i = 0; i < size; i++)
		if (b[i])
			return 0;
	return 1;
}

static atomic_int plain_destroys;

static void count_destroy(void *ctx, void *obj)
{
	(void)ctx;
	(void)obj;
	atomic_fetch_add(&plain_destroys, 1);
}

ParameterizedTestParameters(lifecycle, zero_filled_without_create)
{
	static size_t sizes[] = {1, 24, 200, 4096, 65536};
	return cr_make_param_array(size_t, sizes, 5);
}

ParameterizedTest(size_t *size, lifecycle, zero_filled_without_create)
{
	enum { CAP = 8 };
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = *size;
	c.capacity = CAP;
	/* No create: objects start zeroed. validate() rejects any non-zero
	 * object on release, so every acquire below gets a fresh one. */
	c.factory.validate = nonzero_invalid;
	c.factory.destroy = count_destroy;
	c.factory.ctx = size;
	c.validate_on = LFP_VALIDATE_ON_RELEASE;
	lfp_pool *p = tu_pool(&c);
	for (int round = 0; round < 3; round++) {
		unsigned char *o[CAP];
		for (int i = 0; i < CAP; i++) {
			cr_assert_eq(lfp_try_acquire(p, (void **)&o[i]),
				     LFP_OK);
			size_t b = 0;
			while (b < *size && o[i][b] == 0)
				b++;
			cr_assert_eq(b, *size,
				     "round %d obj %d byte %zu not zero", round,
				     i, b);
		}
		for (int i = 0; i < CAP; i++) {
			memset(o[i], 0xab, *size);
			cr_assert_eq(lfp_release(p, o[i]), LFP_OK);
		}
		cr_assert_eq(atomic_load(&plain_destroys), (round + 1) * CAP);
	}
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.creates, 3 * CAP);
	cr_assert_eq(s.live, 0);
	/* Zeroed objects that survive are destroyed by lfp_destroy. */
	void *x = NULL;
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_OK);
	cr_assert_eq(lfp_release(p, x), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	cr_assert_eq(atomic_load(&plain_destroys), 3 * CAP + 1);
}
