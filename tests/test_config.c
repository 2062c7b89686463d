/* lfp_create argument checking, valid configurations, lfp_strerror,
 * lfp_object_size. */
#include "test_util.h"

#include <stddef.h>

static lfp_config base_config(void)
{
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = 64;
	c.capacity = 16;
	return c;
}

/* lfp_create must fail with `want`, never hand out a pool. */
static void expect_create_fails(const lfp_config *c, lfp_err want,
				const char *what)
{
	lfp_pool *p = NULL;
	lfp_err e = lfp_create(c, &p);
	cr_assert_eq(e, want, "%s: lfp_create returned %d (%s), want %d (%s)",
		     what, (int)e, lfp_strerror(e), (int)want,
		     lfp_strerror(want));
	if (e == LFP_OK && p)
		lfp_destroy(p, NULL);
}

Test(config, null_arguments)
{
	lfp_config c = base_config();
	lfp_pool *p = NULL;
	cr_assert_eq(lfp_create(NULL, &p), LFP_EINVAL);
	cr_assert_eq(lfp_create(&c, NULL), LFP_EINVAL);
	cr_assert_eq(lfp_create(NULL, NULL), LFP_EINVAL);
}

Test(config, object_size_zero)
{
	lfp_config c = base_config();
	c.object_size = 0;
	expect_create_fails(&c, LFP_EINVAL, "object_size 0");
}

Test(config, object_size_too_big)
{
	lfp_config c = base_config();
	c.capacity = 1;
	c.object_size = LFP_OBJECT_SIZE_MAX + 1;
	expect_create_fails(&c, LFP_EINVAL, "object_size MAX+1");
	c.object_size = SIZE_MAX;
	expect_create_fails(&c, LFP_EINVAL, "object_size SIZE_MAX");
}

Test(config, capacity_zero)
{
	lfp_config c = base_config();
	c.capacity = 0;
	expect_create_fails(&c, LFP_EINVAL, "capacity 0");
}

Test(config, capacity_too_big)
{
	lfp_config c = base_config();
	c.object_size = 1;
	c.capacity = LFP_CAPACITY_MAX + 1;
	expect_create_fails(&c, LFP_EINVAL, "capacity MAX+1");
	c.capacity = UINT64_MAX;
	expect_create_fails(&c, LFP_EINVAL, "capacity UINT64_MAX");
}

Test(config, min_idle_above_capacity)
{
	lfp_config c = base_config();
	c.capacity = 4;
	c.min_idle = 5;
	expect_create_fails(&c, LFP_EINVAL, "min_idle > capacity");
	c.min_idle = UINT64_MAX;
	expect_create_fails(&c, LFP_EINVAL, "min_idle UINT64_MAX");
}

Test(config, min_idle_equal_capacity_ok)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, LFP_CACHE_DEFAULT);
	c.min_idle = 4;
	lfp_pool *p = tu_pool(&c);
	cr_assert_eq(tu_ld(&f->creates), 4);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(config, alignment_not_power_of_two)
{
	static const size_t bad[] = {3, 6, 12, 24, 48, 96, 100, 4095};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lfp_config c = base_config();
		c.object_align = bad[i];
		char what[64];
		snprintf(what, sizeof(what), "object_align %zu", bad[i]);
		expect_create_fails(&c, LFP_EINVAL, what);
	}
}

Test(config, struct_size_too_small)
{
	lfp_config c = base_config();
	c.struct_size = 0;
	expect_create_fails(&c, LFP_EINVAL, "struct_size 0");
	c.struct_size = 1;
	expect_create_fails(&c, LFP_EINVAL, "struct_size 1");
	c.struct_size = offsetof(lfp_config, object_size);
	expect_create_fails(&c, LFP_EINVAL, "struct_size header only");
}

Test(config, zeroed_config_with_struct_size_ok)
{
	lfp_config c;
	memset(&c, 0, sizeof(c));
	c.struct_size = sizeof(lfp_config);
	c.object_size = 8;
	c.capacity = 2;
	lfp_pool *p = tu_pool(&c); /* cache_size 0 = no cache, align 0 = 16 */
	void *a = NULL;
	cr_assert_eq(lfp_try_acquire(p, &a), LFP_OK);
	cr_assert_eq((uintptr_t)a % 16, 0, "default alignment must be 16");
	cr_assert_eq(lfp_release(p, a), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
}

Test(config, size_limits_at_max_not_einval)
{
	/* The maximum sizes are accepted (they may still fail to reserve). */
	lfp_config c = base_config();
	c.capacity = 1;
	c.object_size = LFP_OBJECT_SIZE_MAX;
	lfp_pool *p = NULL;
	lfp_err e = lfp_create(&c, &p);
	cr_assert(e == LFP_OK || e == LFP_ENOMEM, "object_size MAX: %s",
		  lfp_strerror(e));
	if (e == LFP_OK)
		cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);

	c = base_config();
	c.object_size = 1;
	c.capacity = LFP_CAPACITY_MAX;
	p = NULL;
	e = lfp_create(&c, &p);
	cr_assert(e == LFP_OK || e == LFP_ENOMEM, "capacity MAX: %s",
		  lfp_strerror(e));
	if (e == LFP_OK)
		cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
}

Test(config, huge_total_size_fails_cleanly)
{
	/* 2^30 * 2^31 bytes cannot be reserved: an error, not a crash. */
	lfp_config c = base_config();
	c.object_size = LFP_OBJECT_SIZE_MAX;
	c.capacity = LFP_CAPACITY_MAX;
	lfp_pool *p = NULL;
	lfp_err e = lfp_create(&c, &p);
	cr_assert(e == LFP_EINVAL || e == LFP_ENOMEM, "2^61-byte pool: got %s",
		  lfp_strerror(e));
}

struct align_param {
	size_t align;
	size_t size;
	uint32_t cache;
};

ParameterizedTestParameters(config, aligned_objects)
{
	static struct align_param params[] = {
		{64, 8, 0},
		{64, 64, LFP_CACHE_DEFAULT},
		{64, 100, LFP_CACHE_DEFAULT},
		{4096, 24, 0},
		{4096, 4096, LFP_CACHE_DEFAULT},
		{4096, 5000, 0},
		{1, 3, LFP_CACHE_DEFAULT},
		{8, 1, 0},
	};
	return cr_make_param_array(struct align_param, params,
				   sizeof(params) / sizeof(params[0]));
}

ParameterizedTest(struct align_param *ap, config, aligned_objects)
{
	enum { N = 12 };
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = ap->size;
	c.object_align = ap->align;
	c.capacity = N;
	c.cache_size = ap->cache;
	lfp_pool *p = tu_pool(&c);
	cr_assert_eq(lfp_object_size(p), ap->size);

	unsigned char *objs[N];
	for (int i = 0; i < N; i++) {
		void *o = NULL;
		cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);
		cr_assert_eq((uintptr_t)o % ap->align, 0,
			     "object %p not aligned to %zu", o, ap->align);
		objs[i] = o;
		/* The whole object is writable and private to it. */
		memset(objs[i], i + 1, ap->size);
	}
	for (int i = 0; i < N; i++)
		for (size_t b = 0; b < ap->size; b++)
			cr_assert_eq(objs[i][b], (unsigned char)(i + 1),
				     "object %d byte %zu overwritten", i, b);
	for (int i = 0; i < N; i++)
		cr_assert_eq(lfp_release(p, objs[i]), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
}

ParameterizedTestParameters(config, cache_sizes)
{
	static uint32_t params[] = {
		0, 1, 2, 7, 64, LFP_CACHE_MAX, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, params,
				   sizeof(params) / sizeof(params[0]));
}

ParameterizedTest(uint32_t *cache, config, cache_sizes)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 10, *cache);
	lfp_pool *p = tu_pool(&c);
	void *objs[10];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 10; i++) {
			cr_assert_eq(lfp_try_acquire(p, &objs[i]), LFP_OK,
				     "cache_size %u round %d obj %d", *cache,
				     round, i);
			tu_assert_obj(objs[i], f);
		}
		void *extra = NULL;
		cr_assert_eq(lfp_try_acquire(p, &extra), LFP_EMPTY);
		for (int i = 0; i < 10; i++)
			cr_assert_eq(lfp_release(p, objs[i]), LFP_OK);
	}
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.capacity, 10);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(config, strerror_distinct)
{
	for (int i = 0; i < (int)LFP_ERR_COUNT_; i++) {
		const char *a = lfp_strerror((lfp_err)i);
		cr_assert_not_null(a, "lfp_strerror(%d) is NULL", i);
		cr_assert_gt(strlen(a), 0, "lfp_strerror(%d) is empty", i);
		for (int j = 0; j < i; j++) {
			const char *b = lfp_strerror((lfp_err)j);
			cr_assert_str_neq(
				a, b, "lfp_strerror(%d) == lfp_strerror(%d)", i,
				j);
		}
	}
}

Test(config, strerror_out_of_range)
{
	const lfp_err bad[] = {LFP_ERR_COUNT_, (lfp_err)(LFP_ERR_COUNT_ + 1),
			       (lfp_err)1000, (lfp_err)-1, (lfp_err)INT32_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *s = lfp_strerror(bad[i]);
		cr_assert_not_null(s, "lfp_strerror(%d) is NULL", (int)bad[i]);
		(void)strlen(s); /* must be a readable string */
	}
}

Test(config, object_size)
{
	cr_assert_eq(lfp_object_size(NULL), 0);
	static const size_t sizes[] = {1, 7, 64, 100, 4096};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		lfp_config c = base_config();
		c.object_size = sizes[i];
		lfp_pool *p = tu_pool(&c);
		cr_assert_eq(lfp_object_size(p), sizes[i]);
		cr_assert_eq(tu_stats(p).capacity, c.capacity);
		cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	}
}

Test(config, config_not_retained)
{
	/* The pool copies the config: changing the caller's copy later has
	 * no effect. */
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 3, 0);
	lfp_pool *p = tu_pool(&c);
	memset(&c, 0, sizeof(c));
	void *o[3];
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(lfp_try_acquire(p, &o[i]), LFP_OK);
		tu_assert_obj(o[i], f);
	}
	void *x = NULL;
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
	cr_assert_eq(lfp_release_bulk(p, o, 3), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}
