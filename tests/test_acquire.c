/* try/timed/blocking acquire, release, bulk operations, bad input. */
#include "test_util.h"

struct cache_param {
	uint32_t cache;
	uint64_t capacity;
};

static struct cache_param cap_params[] = {
	{0, 1},	 {LFP_CACHE_DEFAULT, 1},  {0, 7},   {LFP_CACHE_DEFAULT, 7},
	{2, 64}, {LFP_CACHE_DEFAULT, 64}, {0, 300}, {LFP_CACHE_DEFAULT, 300},
};

static const tu_obj rodata = {.magic = TU_MAGIC};

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a;
	uintptr_t y = (uintptr_t) * (void *const *)b;
	return x < y ? -1 : x > y;
}

/* Fails if any two pointers in objs[0..n) are equal. */
static void assert_distinct(void **objs, size_t n)
{
	void **copy = malloc(n * sizeof(*copy));
	cr_assert_not_null(copy);
	memcpy(copy, objs, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), ptr_cmp);
	for (size_t i = 1; i < n; i++)
		cr_assert_neq(copy[i - 1], copy[i],
			      "object %p handed out twice", copy[i]);
	free(copy);
}

Test(acquire, try_acquire_release_basic)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *o = NULL;
	cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);
	tu_assert_obj(o, f);
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	void *o2 = NULL;
	cr_assert_eq(lfp_acquire(p, &o2), LFP_OK);
	tu_assert_obj(o2, f);
	cr_assert_eq(lfp_release(p, o2), LFP_OK);
	cr_assert_eq(lfp_acquire_timed(p, &o2, 10 * TU_MS), LFP_OK);
	tu_assert_obj(o2, f);
	cr_assert_eq(lfp_release(p, o2), LFP_OK);
	cr_assert_eq(lfp_acquire_timed(p, &o2, LFP_FOREVER), LFP_OK);
	tu_assert_obj(o2, f);
	cr_assert_eq(lfp_release(p, o2), LFP_OK);
	/* Lazy creation: one object was enough for all of that. */
	cr_assert_eq(tu_ld(&f->creates), 1);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

ParameterizedTestParameters(acquire, capacity_never_exceeded)
{
	return cr_make_param_array(struct cache_param, cap_params,
				   sizeof(cap_params) / sizeof(cap_params[0]));
}

ParameterizedTest(struct cache_param *cp, acquire, capacity_never_exceeded)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, cp->capacity, cp->cache);
	lfp_pool *p = tu_pool(&c);
	size_t n = (size_t)cp->capacity;
	void **objs = calloc(n, sizeof(*objs));
	cr_assert_not_null(objs);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < n; i++) {
			cr_assert_eq(lfp_try_acquire(p, &objs[i]), LFP_OK,
				     "round %d: acquire %zu of %zu failed",
				     round, i, n);
			tu_assert_obj(objs[i], f);
		}
		assert_distinct(objs, n);
		void *x = NULL;
		cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
		cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
		lfp_stats s = tu_stats(p);
		tu_assert_consistent(&s);
		cr_assert_eq(s.live, cp->capacity);
		cr_assert_eq(s.in_use, cp->capacity);
		cr_assert_eq(s.idle, 0);
		cr_assert_eq(s.peak_live, cp->capacity);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(lfp_release(p, objs[i]), LFP_OK);
	}
	cr_assert_eq(tu_ld(&f->creates), cp->capacity);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(objs);
	free(f);
}

Test(acquire, timed_out_on_exhausted_pool)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *held = NULL, *o = NULL;
	cr_assert_eq(lfp_acquire(p, &held), LFP_OK);
	const uint64_t timeout = 30 * TU_MS;
	uint64_t t0 = tu_now_ns();
	cr_assert_eq(lfp_acquire_timed(p, &o, timeout), LFP_ETIMEDOUT);
	uint64_t el = tu_now_ns() - t0;
	cr_assert_geq(el, timeout * 9 / 10,
		      "gave up after %llu ns, timeout was %llu ns",
		      (unsigned long long)el, (unsigned long long)timeout);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.timeouts, 1);
	cr_assert_eq(s.in_use, 1);
	cr_assert_eq(lfp_release(p, held), LFP_OK);
	/* After the timeout the pool still works. */
	cr_assert_eq(lfp_acquire_timed(p, &o, timeout), LFP_OK);
	cr_assert_eq(o, held);
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(acquire, timed_zero_is_try)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 2, 0);
	lfp_pool *p = tu_pool(&c);
	void *a = NULL, *b = NULL, *x = NULL;
	cr_assert_eq(lfp_acquire_timed(p, &a, 0), LFP_OK);
	cr_assert_eq(lfp_acquire_timed(p, &b, 0), LFP_OK);
	cr_assert_neq(a, b);
	/* Exhausted: must not wait; EMPTY (try) or ETIMEDOUT are both a
	 * "no object" answer. */
	lfp_err e = lfp_acquire_timed(p, &x, 0);
	cr_assert(e == LFP_EMPTY || e == LFP_ETIMEDOUT,
		  "acquire_timed(0) on exhausted pool: %s", lfp_strerror(e));
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.waits, 0, "acquire_timed(0) must not sleep");
	cr_assert_eq(lfp_release(p, a), LFP_OK);
	cr_assert_eq(lfp_acquire_timed(p, &x, 0), LFP_OK);
	cr_assert_eq(x, a);
	cr_assert_eq(lfp_release(p, x), LFP_OK);
	cr_assert_eq(lfp_release(p, b), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(acquire, bulk_all_or_nothing)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *objs[8];
	cr_assert_eq(lfp_acquire_bulk(p, objs, 8), LFP_OK);
	assert_distinct(objs, 8);
	for (int i = 0; i < 8; i++)
		tu_assert_obj(objs[i], f);
	/* Give three back: exactly 3 idle, nothing left to create. */
	cr_assert_eq(lfp_release_bulk(p, objs + 5, 3), LFP_OK);
	lfp_stats before = tu_stats(p);
	cr_assert_eq(before.idle, 3);
	cr_assert_eq(before.in_use, 5);

	void *more[4] = {0};
	cr_assert_eq(lfp_acquire_bulk(p, more, 4), LFP_EMPTY);
	lfp_stats after = tu_stats(p);
	tu_assert_consistent(&after);
	cr_assert_eq(after.idle, 3, "failed bulk acquire changed idle");
	cr_assert_eq(after.in_use, 5, "failed bulk acquire changed in_use");
	cr_assert_eq(after.live, 8);
	/* Objects taken and given back internally balance out. */
	cr_assert_eq(after.acquires - before.acquires,
		     after.releases - before.releases);
	cr_assert_eq(after.empties, before.empties + 1);

	/* Exactly the three are still there. */
	cr_assert_eq(lfp_acquire_bulk(p, more, 3), LFP_OK);
	void *x = NULL;
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
	memcpy(objs + 5, more, 3 * sizeof(void *));
	assert_distinct(objs, 8);
	cr_assert_eq(lfp_acquire_bulk(p, more, 1), LFP_EMPTY);
	cr_assert_eq(lfp_release_bulk(p, objs, 8), LFP_OK);
	after = tu_stats(p);
	cr_assert_eq(after.in_use, 0);
	cr_assert_eq(after.idle, 8);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(acquire, bulk_lazy_creation_consistent)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, 0);
	lfp_pool *p = tu_pool(&c);
	void *held[5], *more[4];
	cr_assert_eq(lfp_acquire_bulk(p, held, 5), LFP_OK);
	/* 3 can still be created; 4 cannot be had. */
	cr_assert_eq(lfp_acquire_bulk(p, more, 4), LFP_EMPTY);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.in_use, 5);
	cr_assert_eq(lfp_acquire_bulk(p, more, 9), LFP_EMPTY);
	cr_assert_eq(lfp_acquire_bulk(p, more, 3), LFP_OK);
	s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.in_use, 8);
	cr_assert_eq(lfp_release_bulk(p, more, 3), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, held, 5), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(acquire, bulk_release_bad_pointer_in_middle)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *o[4];
	cr_assert_eq(lfp_acquire_bulk(p, o, 4), LFP_OK);
	int on_stack = 0;
	void *list[5] = {o[0], o[1], &on_stack, o[2], o[3]};
	cr_assert_eq(lfp_release_bulk(p, list, 5), LFP_EFOREIGN);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.in_use, 0, "the good entries must all be released");
	cr_assert_eq(s.releases, 4);
	cr_assert_eq(on_stack, 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(lfp_release(p, o[i]), LFP_EDOUBLE);

	/* A duplicate within the same bulk call. */
	cr_assert_eq(lfp_acquire_bulk(p, o, 2), LFP_OK);
	void *dup[3] = {o[0], o[1], o[0]};
	cr_assert_eq(lfp_release_bulk(p, dup, 3), LFP_EDOUBLE);
	s = tu_stats(p);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.releases, 6);

	/* Everything still there. */
	void *all[8];
	cr_assert_eq(lfp_acquire_bulk(p, all, 8), LFP_OK);
	assert_distinct(all, 8);
	cr_assert_eq(lfp_release_bulk(p, all, 8), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(acquire, null_arguments)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *o = NULL;
	void *objs[2] = {0};
	lfp_stats s = LFP_STATS_INIT;
	uint64_t ev = 0;

	cr_assert_eq(lfp_try_acquire(NULL, &o), LFP_EINVAL);
	cr_assert_eq(lfp_try_acquire(p, NULL), LFP_EINVAL);
	cr_assert_eq(lfp_acquire(NULL, &o), LFP_EINVAL);
	cr_assert_eq(lfp_acquire(p, NULL), LFP_EINVAL);
	cr_assert_eq(lfp_acquire_timed(NULL, &o, TU_MS), LFP_EINVAL);
	cr_assert_eq(lfp_acquire_timed(p, NULL, TU_MS), LFP_EINVAL);
	cr_assert_eq(lfp_acquire_timed(NULL, &o, LFP_FOREVER), LFP_EINVAL);
	cr_assert_eq(lfp_release(NULL, &o), LFP_EINVAL);
	cr_assert_eq(lfp_release(p, NULL), LFP_EINVAL);
	cr_assert_eq(lfp_acquire_bulk(NULL, objs, 2), LFP_EINVAL);
	cr_assert_eq(lfp_acquire_bulk(p, NULL, 2), LFP_EINVAL);
	cr_assert_eq(lfp_release_bulk(NULL, objs, 2), LFP_EINVAL);
	cr_assert_eq(lfp_release_bulk(p, NULL, 2), LFP_EINVAL);
	cr_assert_eq(lfp_thread_flush(NULL), LFP_EINVAL);
	cr_assert_eq(lfp_trim(NULL, 0, &ev), LFP_EINVAL);
	cr_assert_eq(lfp_get_stats(NULL, &s), LFP_EINVAL);
	cr_assert_eq(lfp_get_stats(p, NULL), LFP_EINVAL);
	cr_assert_eq(lfp_destroy(NULL, NULL), LFP_EINVAL);
	cr_assert_eq(lfp_destroy(NULL, &s), LFP_EINVAL);
	cr_assert_eq(lfp_object_size(NULL), 0);

	lfp_handle h = lfp_handle_of(NULL, &o);
	cr_assert_eq(h.slot, 0);
	cr_assert_eq(h.gen, 0);
	h = lfp_handle_of(p, NULL);
	cr_assert_eq(h.slot, 0);
	cr_assert_eq(h.gen, 0);
	cr_assert_null(lfp_handle_get(NULL, (lfp_handle){1, 1}));
	cr_assert_null(lfp_handle_get(p, (lfp_handle){0, 0}));

	/* A NULL entry in a bulk release is an EINVAL, the rest go back. */
	cr_assert_eq(lfp_acquire_bulk(p, objs, 2), LFP_OK);
	void *list[3] = {objs[0], NULL, objs[1]};
	cr_assert_eq(lfp_release_bulk(p, list, 3), LFP_EINVAL);
	s = tu_stats(p);
	cr_assert_eq(s.in_use, 0);

	/* The pool is untouched by all of this. */
	tu_assert_consistent(&s);
	cr_assert_eq(s.acquires, 2);
	cr_assert_eq(s.releases, 2);
	cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

ParameterizedTestParameters(acquire, foreign_pointers)
{
	static uint32_t caches[] = {0, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, acquire, foreign_pointers)
{
	tu_factory *f = tu_factory_new();
	tu_factory *g = tu_factory_new();
	lfp_config c = tu_config(f, 4, *cache);
	lfp_config c2 = tu_config(g, 4, *cache);
	lfp_pool *p = tu_pool(&c);
	lfp_pool *q = tu_pool(&c2);

	void *mine = NULL, *theirs = NULL;
	cr_assert_eq(lfp_try_acquire(p, &mine), LFP_OK);
	cr_assert_eq(lfp_try_acquire(q, &theirs), LFP_OK);

	tu_obj on_stack;
	memset(&on_stack, 0, sizeof(on_stack));
	tu_obj *heap = calloc(1, sizeof(*heap));
	cr_assert_not_null(heap);

	cr_assert_eq(lfp_release(p, &on_stack), LFP_EFOREIGN);
	cr_assert_eq(lfp_release(p, heap), LFP_EFOREIGN);
	cr_assert_eq(lfp_release(p, theirs), LFP_EFOREIGN,
		     "object of another pool accepted");
	cr_assert_eq(lfp_release(p, (char *)mine + 1), LFP_EFOREIGN,
		     "interior pointer accepted");
	cr_assert_eq(lfp_release(p, (char *)mine + sizeof(tu_obj) - 1),
		     LFP_EFOREIGN, "interior pointer accepted");
	cr_assert_eq(lfp_release(p, (void *)&rodata), LFP_EFOREIGN);
	cr_assert_eq(lfp_release(p, (void *)(uintptr_t)16), LFP_EFOREIGN);

	/* Nothing changed: counts intact, the pool still works. */
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.in_use, 1);
	cr_assert_eq(s.releases, 0);
	tu_assert_obj(mine, f);
	tu_assert_obj(theirs, g);
	cr_assert_eq(lfp_release(p, mine), LFP_OK);
	cr_assert_eq(lfp_release(q, theirs), LFP_OK);
	void *all[4];
	cr_assert_eq(lfp_acquire_bulk(p, all, 4), LFP_OK);
	assert_distinct(all, 4);
	cr_assert_eq(lfp_release_bulk(p, all, 4), LFP_OK);

	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	cr_assert_eq(lfp_destroy(q, NULL), LFP_OK);
	tu_assert_balanced(f);
	tu_assert_balanced(g);
	free(heap);
	free(f);
	free(g);
}

ParameterizedTestParameters(acquire, double_release)
{
	static uint32_t caches[] = {0, 1, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 3);
}

ParameterizedTest(uint32_t *cache, acquire, double_release)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, *cache);
	lfp_pool *p = tu_pool(&c);
	void *a = NULL, *b = NULL;
	cr_assert_eq(lfp_try_acquire(p, &a), LFP_OK);
	cr_assert_eq(lfp_try_acquire(p, &b), LFP_OK);
	cr_assert_eq(lfp_release(p, a), LFP_OK);
	cr_assert_eq(lfp_release(p, a), LFP_EDOUBLE);
	cr_assert_eq(lfp_release(p, b), LFP_OK);
	cr_assert_eq(lfp_release(p, a), LFP_EDOUBLE);
	cr_assert_eq(lfp_release(p, b), LFP_EDOUBLE);
	/* After a flush the idle objects sit in the depot: still detected. */
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	cr_assert_eq(lfp_release(p, a), LFP_EDOUBLE);
	cr_assert_eq(lfp_release(p, b), LFP_EDOUBLE);
	tu_assert_obj(a, f);
	tu_assert_obj(b, f);

	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.releases, 2);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.live, 2);
	cr_assert_eq(s.idle, 2);
	cr_assert_eq(tu_ld(&f->resets), 2, "reset ran for a rejected release");

	/* The pool still works and hands out each object once. */
	void *all[4];
	cr_assert_eq(lfp_acquire_bulk(p, all, 4), LFP_OK);
	assert_distinct(all, 4);
	void *x = NULL;
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
	cr_assert_eq(lfp_release_bulk(p, all, 4), LFP_OK);
	cr_assert_eq(tu_ld(&f->creates), 4);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(acquire, thread_flush)
{
	tu_factory *f = tu_factory_new();
	/* An explicit cache: the default size depends on the CPU count. */
	lfp_config c = tu_config(f, 8, 4);
	lfp_pool *p = tu_pool(&c);
	/* Flushing a pool this thread never touched is fine. */
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	void *o[4];
	cr_assert_eq(lfp_acquire_bulk(p, o, 4), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, o, 4), LFP_OK);
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.idle, 4);
	cr_assert_eq(s.in_use, 0);

	/* After a flush the next acquire has to leave the (empty) cache. */
	void *x = NULL;
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_OK);
	lfp_stats s2 = tu_stats(p);
	cr_assert_eq(s2.cache_misses, s.cache_misses + 1);
	cr_assert_eq(s2.cache_hits, s.cache_hits);
	tu_assert_obj(x, f);
	cr_assert_eq(lfp_release(p, x), LFP_OK);

	/* Without a flush, an acquire right after a release hits the cache. */
	s = tu_stats(p);
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_OK);
	s2 = tu_stats(p);
	cr_assert_eq(s2.cache_hits, s.cache_hits + 1);
	cr_assert_eq(lfp_release(p, x), LFP_OK);

	/* All 8 can be had after flushes. */
	void *all[8];
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	cr_assert_eq(lfp_acquire_bulk(p, all, 8), LFP_OK);
	assert_distinct(all, 8);
	cr_assert_eq(lfp_release_bulk(p, all, 8), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(acquire, empty_pool_counts_empties)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 2, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *a, *b, *x = NULL;
	cr_assert_eq(lfp_try_acquire(p, &a), LFP_OK);
	cr_assert_eq(lfp_try_acquire(p, &b), LFP_OK);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.empties, 5);
	cr_assert_eq(s.acquires, 2);
	cr_assert_eq(s.waits, 0);
	cr_assert_eq(lfp_release(p, b), LFP_OK);
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_OK);
	cr_assert_eq(x, b);
	cr_assert_eq(lfp_release(p, x), LFP_OK);
	cr_assert_eq(lfp_release(p, a), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}
