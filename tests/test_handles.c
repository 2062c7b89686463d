/* Weak handles: lfp_handle_of / lfp_handle_get. */
#include "test_util.h"

static int is_null_handle(lfp_handle h)
{
	return h.slot == 0 && h.gen == 0;
}

ParameterizedTestParameters(handles, lifecycle_of_a_handle)
{
	static uint32_t caches[] = {0, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, handles, lifecycle_of_a_handle)
{
	tu_factory *f = tu_factory_new();
	/* Capacity 1: a re-acquire returns the very same object. */
	lfp_config c = tu_config(f, 1, *cache);
	lfp_pool *p = tu_pool(&c);
	void *o = NULL;
	cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);
	lfp_handle h = lfp_handle_of(p, o);
	cr_assert_neq(h.slot, 0, "handle of an acquired object is null");
	cr_assert_eq(lfp_handle_get(p, h), o);
	cr_assert_eq(lfp_handle_get(p, h), o, "lookup is not idempotent");
	lfp_handle h2 = lfp_handle_of(p, o);
	cr_assert_eq(h2.slot, h.slot);
	cr_assert_eq(h2.gen, h.gen, "same acquisition, different handle");

	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_null(lfp_handle_get(p, h), "handle resolves after release");
	cr_assert(is_null_handle(lfp_handle_of(p, o)),
		  "handle_of an idle object must be the null handle");

	void *again = NULL;
	cr_assert_eq(lfp_try_acquire(p, &again), LFP_OK);
	cr_assert_eq(again, o);
	cr_assert_null(lfp_handle_get(p, h),
		       "a stale handle resolves after re-acquire");
	lfp_handle h3 = lfp_handle_of(p, again);
	cr_assert_neq(h3.slot, 0);
	cr_assert_eq(h3.slot, h.slot, "same object, different slot");
	cr_assert_neq(h3.gen, h.gen, "generation not bumped by re-acquire");
	cr_assert_eq(lfp_handle_get(p, h3), again);
	cr_assert_null(lfp_handle_get(p, h));

	cr_assert_eq(lfp_release(p, again), LFP_OK);
	cr_assert_null(lfp_handle_get(p, h3));
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(handles, many_objects_distinct_handles)
{
	enum { N = 32 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, N, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *o[N];
	lfp_handle h[N];
	cr_assert_eq(lfp_acquire_bulk(p, o, N), LFP_OK);
	for (int i = 0; i < N; i++) {
		h[i] = lfp_handle_of(p, o[i]);
		cr_assert_neq(h[i].slot, 0);
		for (int j = 0; j < i; j++)
			cr_assert_neq(h[i].slot, h[j].slot,
				      "two live objects share a slot");
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(lfp_handle_get(p, h[i]), o[i]);
	/* Release the even ones: only they stop resolving. */
	for (int i = 0; i < N; i += 2)
		cr_assert_eq(lfp_release(p, o[i]), LFP_OK);
	for (int i = 0; i < N; i++) {
		if (i % 2 == 0)
			cr_assert_null(lfp_handle_get(p, h[i]));
		else
			cr_assert_eq(lfp_handle_get(p, h[i]), o[i]);
	}
	/* Re-acquire all of them: the old even handles stay dead. */
	void *r[N / 2];
	cr_assert_eq(lfp_acquire_bulk(p, r, N / 2), LFP_OK);
	for (int i = 0; i < N; i += 2)
		cr_assert_null(lfp_handle_get(p, h[i]), "stale handle %d", i);
	for (int i = 0; i < N / 2; i++) {
		lfp_handle hr = lfp_handle_of(p, r[i]);
		cr_assert_eq(lfp_handle_get(p, hr), r[i]);
	}
	cr_assert_eq(lfp_release_bulk(p, r, N / 2), LFP_OK);
	for (int i = 1; i < N; i += 2)
		cr_assert_eq(lfp_release(p, o[i]), LFP_OK);
	for (int i = 0; i < N; i++)
		cr_assert_null(lfp_handle_get(p, h[i]));
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(handles, generations_never_repeat)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	enum { N = 1000 };
	uint64_t prev = 0;
	lfp_handle first = {0, 0};
	for (int i = 0; i < N; i++) {
		void *o = NULL;
		cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);
		lfp_handle h = lfp_handle_of(p, o);
		if (i == 0)
			first = h;
		else
			cr_assert_neq(h.gen, prev, "generation repeated");
		cr_assert_eq(lfp_handle_get(p, h), o);
		prev = h.gen;
		cr_assert_eq(lfp_release(p, o), LFP_OK);
	}
	cr_assert_null(lfp_handle_get(p, first));
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	free(f);
}

Test(handles, foreign_and_idle_pointers_give_null_handle)
{
	tu_factory *f = tu_factory_new();
	tu_factory *g = tu_factory_new();
	lfp_config c = tu_config(f, 4, LFP_CACHE_DEFAULT);
	lfp_config c2 = tu_config(g, 4, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	lfp_pool *q = tu_pool(&c2);
	void *a = NULL, *b = NULL, *other = NULL;
	cr_assert_eq(lfp_try_acquire(p, &a), LFP_OK);
	cr_assert_eq(lfp_try_acquire(p, &b), LFP_OK);
	cr_assert_eq(lfp_try_acquire(q, &other), LFP_OK);
	cr_assert_eq(lfp_release(p, b), LFP_OK); /* b is idle now */

	tu_obj local;
	memset(&local, 0, sizeof(local));
	void *heap = malloc(sizeof(tu_obj));
	cr_assert_not_null(heap);

	cr_assert(is_null_handle(lfp_handle_of(p, &local)), "stack pointer");
	cr_assert(is_null_handle(lfp_handle_of(p, heap)), "heap pointer");
	cr_assert(is_null_handle(lfp_handle_of(p, other)),
		  "object of another pool");
	cr_assert(is_null_handle(lfp_handle_of(p, b)), "idle object");
	cr_assert(is_null_handle(lfp_handle_of(p, (char *)a + 1)),
		  "interior pointer");
	cr_assert(!is_null_handle(lfp_handle_of(p, a)));
	cr_assert(!is_null_handle(lfp_handle_of(q, other)));
	cr_assert_eq(lfp_handle_get(q, lfp_handle_of(q, other)), other);

	cr_assert_eq(lfp_release(p, a), LFP_OK);
	cr_assert_eq(lfp_release(q, other), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	cr_assert_eq(lfp_destroy(q, NULL), LFP_OK);
	free(heap);
	free(f);
	free(g);
}

Test(handles, garbage_handles_resolve_to_null)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *o = NULL;
	cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);
	lfp_handle h = lfp_handle_of(p, o);
	cr_assert_eq(lfp_handle_get(p, h), o);

	const lfp_handle bad[] = {
		{0, h.gen},
		{0, 0},
		{UINT64_MAX, h.gen},
		{UINT64_MAX, 0},
		{(uint64_t)1 << 40, h.gen},
		{9, h.gen}, /* slot index 8: beyond capacity 8 */
		{100, h.gen},
		{h.slot, h.gen + 1},
		{h.slot, h.gen - 1},
		{h.slot, 0},
		{h.slot, UINT64_MAX},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i].slot == h.slot && bad[i].gen == h.gen)
			continue; /* wrapped onto the real one */
		cr_assert_null(lfp_handle_get(p, bad[i]),
			       "garbage handle {%llu, %llu} resolved",
			       (unsigned long long)bad[i].slot,
			       (unsigned long long)bad[i].gen);
	}
	/* Slots that were never used do not resolve whatever the gen. */
	for (uint64_t s = 1; s <= 8; s++)
		if (s != h.slot)
			for (uint64_t g = 0; g < 4; g++)
				cr_assert_null(
					lfp_handle_get(p, (lfp_handle){s, g}));
	cr_assert_eq(lfp_handle_get(p, h), o);
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	free(f);
}

Test(handles, handle_dies_with_destroyed_object)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, 0);
	c.validate_on = LFP_VALIDATE_ON_RELEASE;
	lfp_pool *p = tu_pool(&c);
	tu_obj *o = NULL;
	cr_assert_eq(lfp_try_acquire(p, (void **)&o), LFP_OK);
	lfp_handle h = lfp_handle_of(p, o);
	o->bad = 1;
	cr_assert_eq(lfp_release(p, o), LFP_OK); /* destroyed */
	cr_assert_null(lfp_handle_get(p, h));
	tu_obj *n = NULL;
	cr_assert_eq(lfp_try_acquire(p, (void **)&n), LFP_OK);
	cr_assert_null(lfp_handle_get(p, h), "handle survived slot reuse");
	lfp_handle hn = lfp_handle_of(p, n);
	cr_assert_eq(lfp_handle_get(p, hn), n);
	cr_assert_eq(lfp_release(p, n), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}
