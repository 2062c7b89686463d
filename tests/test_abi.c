/*
 * ABI and versioning: lfp_config.struct_size from older (smaller) and
 * newer (larger) headers, the version functions, the inline fast path and
 * the exported functions being the same operations, lfp_discard.
 */
#include "test_util.h"

#include <stddef.h>

/* What lfp_config was in 0.1 (the smallest struct_size accepted). */
#define CONFIG_SIZE_0_1 (offsetof(lfp_config, factory) + sizeof(lfp_factory))

Test(abi, config_from_an_older_header_is_accepted)
{
	lfp_config c = LFP_CONFIG_INIT;
	c.struct_size = CONFIG_SIZE_0_1;
	c.object_size = 32;
	c.capacity = 4;
	lfp_pool *p = NULL;
	cr_assert_eq(lfp_create(&c, &p), LFP_OK);
	void *o;
	cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
}

Test(abi, config_smaller_than_0_1_is_rejected)
{
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = 32;
	c.capacity = 4;
	lfp_pool *p = (lfp_pool *)&c;
	c.struct_size = CONFIG_SIZE_0_1 - 1;
	cr_assert_eq(lfp_create(&c, &p), LFP_EINVAL);
	cr_assert_null(p);
	c.struct_size = 0;
	cr_assert_eq(lfp_create(&c, &p), LFP_EINVAL);
}

/* A config from a newer header: ours followed by fields we don't know. */
struct newer_config {
	lfp_config known;
	uint64_t future[4];
};

Test(abi, config_from_a_newer_header_needs_zero_extra_bytes)
{
	struct newer_config n;
	memset(&n, 0, sizeof(n));
	n.known = (lfp_config)LFP_CONFIG_INIT;
	n.known.struct_size = sizeof(n);
	n.known.object_size = 32;
	n.known.capacity = 4;
	lfp_pool *p = NULL;
	cr_assert_eq(lfp_create(&n.known, &p), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	n.future[2] = 1; /* a setting this library cannot honour */
	p = NULL;
	cr_assert_eq(lfp_create(&n.known, &p), LFP_EINVAL);
	cr_assert_null(p);
}

Test(abi, version)
{
	char want[32];
	snprintf(want, sizeof(want), "%d.%d.%d", LFPOOL_VERSION_MAJOR,
		 LFPOOL_VERSION_MINOR, LFPOOL_VERSION_PATCH);
	cr_assert_str_eq(lfp_version(), want);
	cr_assert_str_eq(lfp_version(), LFPOOL_VERSION_STRING);
	cr_assert_eq(lfp_version_number(), LFPOOL_VERSION);
	cr_assert_eq(LFPOOL_VERSION, (0u << 16) | (2u << 8) | 0u);
}

/* Calls through function pointers reach the library's exported symbols
 * (never inlined): they must behave like the inline calls. */
Test(abi, exported_and_inline_calls_agree)
{
	lfp_err (*try_acq)(lfp_pool *, void **) = lfp_try_acquire;
	lfp_err (*rel)(lfp_pool *, void *) = lfp_release;
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = 16;
	c.capacity = 4;
	c.cache_size = 4;
	lfp_pool *p;
	cr_assert_eq(lfp_create(&c, &p), LFP_OK);
	void *a, *b;
	cr_assert_eq(try_acq(p, &a), LFP_OK);
	cr_assert_eq(lfp_try_acquire(p, &b), LFP_OK);
	cr_assert_eq(rel(p, a), LFP_OK);
	cr_assert_eq(lfp_release(p, a), LFP_EDOUBLE);
	cr_assert_eq(rel(p, b), LFP_OK);
	cr_assert_eq(rel(p, b), LFP_EDOUBLE);
	cr_assert_eq(rel(NULL, a), LFP_EINVAL);
	cr_assert_eq(rel(p, NULL), LFP_EINVAL);
	cr_assert_eq(try_acq(NULL, &a), LFP_EINVAL);
	cr_assert_eq(try_acq(p, NULL), LFP_EINVAL);
	int local;
	cr_assert_eq(rel(p, &local), LFP_EFOREIGN);
	lfp_stats s = LFP_STATS_INIT;
	cr_assert_eq(lfp_get_stats(p, &s), LFP_OK);
	cr_assert_eq(s.acquires, 2);
	cr_assert_eq(s.releases, 2);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
}

Test(abi, failed_acquire_sets_null)
{
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = 16;
	c.capacity = 1;
	lfp_pool *p;
	cr_assert_eq(lfp_create(&c, &p), LFP_OK);
	void *a, *b = &a;
	cr_assert_eq(lfp_try_acquire(p, &a), LFP_OK);
	cr_assert_eq(lfp_try_acquire(p, &b), LFP_EMPTY);
	cr_assert_null(b);
	cr_assert_eq(lfp_release(p, a), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
}

/* ------------------------------------------------------------ discard */

Test(abi, discard_destroys_and_frees_the_slot)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, 0);
	lfp_pool *p = tu_pool(&c);
	void *a, *b;
	cr_assert_eq(lfp_try_acquire(p, &a), LFP_OK);
	cr_assert_eq(lfp_try_acquire(p, &b), LFP_EMPTY);
	cr_assert_eq(lfp_discard(p, a), LFP_OK);
	cr_assert_eq(tu_ld(&f->destroys), 1);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.live, 0);
	cr_assert_eq(s.in_use, 0);
	/* Capacity is not leaked: a replacement is created. */
	cr_assert_eq(lfp_try_acquire(p, &b), LFP_OK);
	cr_assert_eq(tu_ld(&f->creates), 2);
	cr_assert_eq(lfp_release(p, b), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(abi, discard_errors_match_release)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 2, 0);
	lfp_pool *p = tu_pool(&c);
	void *a;
	cr_assert_eq(lfp_try_acquire(p, &a), LFP_OK);
	int local;
	cr_assert_eq(lfp_discard(NULL, a), LFP_EINVAL);
	cr_assert_eq(lfp_discard(p, NULL), LFP_EINVAL);
	cr_assert_eq(lfp_discard(p, &local), LFP_EFOREIGN);
	cr_assert_eq(lfp_discard(p, (char *)a + 1), LFP_EFOREIGN);
	cr_assert_eq(lfp_release(p, a), LFP_OK);
	cr_assert_eq(lfp_discard(p, a), LFP_EDOUBLE); /* idle, not borrowed */
	cr_assert_eq(tu_ld(&f->destroys), 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* ------------------------------------------------------------ stats */

Test(abi, stats_struct_size)
{
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = 16;
	c.capacity = 4;
	lfp_pool *p;
	cr_assert_eq(lfp_create(&c, &p), LFP_OK);
	void *o;
	cr_assert_eq(lfp_try_acquire(p, &o), LFP_OK);

	lfp_stats s = LFP_STATS_INIT;
	cr_assert_eq(s.struct_size, sizeof(lfp_stats));
	cr_assert_eq(lfp_get_stats(p, &s), LFP_OK);
	cr_assert_eq(s.acquires, 1);
	cr_assert_eq(s.struct_size, sizeof(lfp_stats));

	/* An older caller: only the fields up to `capacity`. */
	union {
		lfp_stats s;
		unsigned char b[sizeof(lfp_stats)];
	} old;
	memset(&old, 0xee, sizeof(old));
	size_t old_size = offsetof(lfp_stats, capacity) + sizeof(uint64_t);
	old.s.struct_size = old_size;
	cr_assert_eq(lfp_get_stats(p, &old.s), LFP_OK);
	cr_assert_eq(old.s.acquires, 1);
	cr_assert_eq(old.s.capacity, 4);
	for (size_t i = old_size; i < sizeof(old); i++)
		cr_assert_eq(old.b[i], 0xee,
			     "byte %zu past struct_size written", i);

	/* Too small, and a newer header with non-zero unknown bytes. */
	lfp_stats bad = LFP_STATS_INIT;
	bad.struct_size = sizeof(size_t) + 8;
	cr_assert_eq(lfp_get_stats(p, &bad), LFP_EINVAL);
	struct {
		lfp_stats s;
		uint64_t future[2];
	} newer;
	memset(&newer, 0, sizeof(newer));
	newer.s.struct_size = sizeof(newer);
	cr_assert_eq(lfp_get_stats(p, &newer.s), LFP_OK);
	cr_assert_eq(newer.s.acquires, 1);
	newer.future[1] = 7;
	cr_assert_eq(lfp_get_stats(p, &newer.s), LFP_EINVAL);

	cr_assert_eq(lfp_release(p, o), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
}
