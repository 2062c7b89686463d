/*
 * Shared helpers for the lfpool Criterion tests: a counting object factory
 * and a few small utilities. Everything here is static inline so that each
 * test file can include it without unused-function warnings.
 *
 * The counting factory:
 *   - create() writes a tu_obj header into the object (magic, a unique id,
 *     the owning factory) and counts the call; it can be told to fail every
 *     Nth call (fail_create_every) or every call (fail_all).
 *   - validate() fails for objects whose `bad` field is set.
 *   - reset() fails for objects whose `reject_reset` field is set.
 *   - destroy() checks the header, counts per id (to prove "exactly once")
 *     and poisons the magic.
 * All counters are atomics: callbacks may run on any thread.
 */
#ifndef LFPOOL_TEST_UTIL_H
#define LFPOOL_TEST_UTIL_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lfpool.h"

#define TU_MAGIC   UINT64_C(0x4c46504f4f4c4f4b) /* "LFPOOLOK" */
#define TU_DEAD	   UINT64_C(0xdeaddeaddeaddead)
#define TU_MAX_IDS 65536u

typedef struct tu_factory tu_factory;

/* The header the counting factory writes at the start of every object. */
typedef struct tu_obj {
	uint64_t magic;
	uint64_t id; /* unique per factory, 1.. */
	const tu_factory *factory;
	int bad;		/* set by a test: validate() fails */
	int reject_reset;	/* set by a test: reset() fails */
	_Atomic uint64_t owner; /* used by the thread tests */
	atomic_int busy;	/* used by the thread tests */
	uint32_t pad_;
	uint64_t payload[2];
} tu_obj;

struct tu_factory {
	atomic_uint_fast64_t create_calls;
	atomic_uint_fast64_t creates; /* successful */
	atomic_uint_fast64_t create_fails;
	atomic_uint_fast64_t validates;
	atomic_uint_fast64_t validate_fails;
	atomic_uint_fast64_t resets;
	atomic_uint_fast64_t reset_fails;
	atomic_uint_fast64_t destroys;
	atomic_uint_fast64_t bad_destroys; /* destroy() of something not live */
	atomic_uint_fast64_t next_id;
	atomic_uint_fast64_t
		fail_create_every;	    /* 0: never; N: every Nth call */
	atomic_int fail_all;		    /* non-zero: every create fails */
	atomic_uchar destroyed[TU_MAX_IDS]; /* per-id destroy count */
};

static inline int tu_create_cb(void *ctx, void *obj)
{
	tu_factory *f = ctx;
	uint64_t call = atomic_fetch_add(&f->create_calls, 1) + 1;
	uint64_t every = atomic_load(&f->fail_create_every);
	if (atomic_load(&f->fail_all) || (every && call % every == 0)) {
		atomic_fetch_add(&f->create_fails, 1);
		return -1;
	}
	tu_obj *o = obj;
	memset(o, 0, sizeof(*o));
	o->magic = TU_MAGIC;
	o->id = atomic_fetch_add(&f->next_id, 1) + 1;
	o->factory = f;
	atomic_fetch_add(&f->creates, 1);
	return 0;
}

static inline int tu_validate_cb(void *ctx, void *obj)
{
	tu_factory *f = ctx;
	tu_obj *o = obj;
	atomic_fetch_add(&f->validates, 1);
	if (o->magic != TU_MAGIC || o->factory != f || o->bad) {
		atomic_fetch_add(&f->validate_fails, 1);
		return 0;
	}
	return 1;
}

static inline int tu_reset_cb(void *ctx, void *obj)
{
	tu_factory *f = ctx;
	tu_obj *o = obj;
	atomic_fetch_add(&f->resets, 1);
	if (o->reject_reset) {
		atomic_fetch_add(&f->reset_fails, 1);
		return 1;
	}
	return 0;
}

static inline void tu_destroy_cb(void *ctx, void *obj)
{
	tu_factory *f = ctx;
	tu_obj *o = obj;
	if (o->magic != TU_MAGIC || o->factory != f) {
		atomic_fetch_add(&f->bad_destroys, 1);
		return;
	}
	if (o->id < TU_MAX_IDS)
		atomic_fetch_add(&f->destroyed[o->id], 1);
	o->magic = TU_DEAD;
	atomic_fetch_add(&f->destroys, 1);
}

static inline tu_factory *tu_factory_new(void)
{
	tu_factory *f = calloc(1, sizeof(*f));
	cr_assert_not_null(f);
	return f;
}

static inline uint64_t tu_ld(atomic_uint_fast64_t *a)
{
	return (uint64_t)atomic_load(a);
}

/*
 * Every id ever created was destroyed exactly once and nothing else was
 * destroyed. Returns the number of violations (0 is good).
 */
static inline uint64_t tu_factory_violations(tu_factory *f)
{
	uint64_t bad = tu_ld(&f->bad_destroys);
	uint64_t n = tu_ld(&f->next_id);
	for (uint64_t id = 1; id <= n && id < TU_MAX_IDS; id++)
		if (atomic_load(&f->destroyed[id]) != 1)
			bad++;
	if (tu_ld(&f->creates) != tu_ld(&f->destroys))
		bad++;
	return bad;
}

/* Asserts the factory is balanced: creates == destroys, each id once. */
static inline void tu_assert_balanced(tu_factory *f)
{
	cr_assert_eq(tu_ld(&f->creates), tu_ld(&f->destroys),
		     "factory: %llu creates but %llu destroys",
		     (unsigned long long)tu_ld(&f->creates),
		     (unsigned long long)tu_ld(&f->destroys));
	cr_assert_eq(tu_ld(&f->bad_destroys), 0,
		     "factory: destroy() called on %llu non-live objects",
		     (unsigned long long)tu_ld(&f->bad_destroys));
	cr_assert_eq(tu_factory_violations(f), 0,
		     "factory: some object was not destroyed exactly once");
}

/* A config using the counting factory (NULL: no factory at all). */
static inline lfp_config tu_config(tu_factory *f, uint64_t capacity,
				   uint32_t cache_size)
{
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = sizeof(tu_obj);
	c.capacity = capacity;
	c.cache_size = cache_size;
	if (f) {
		c.factory.create = tu_create_cb;
		c.factory.validate = tu_validate_cb;
		c.factory.reset = tu_reset_cb;
		c.factory.destroy = tu_destroy_cb;
		c.factory.ctx = f;
	}
	return c;
}

static inline lfp_pool *tu_pool(const lfp_config *c)
{
	lfp_pool *p = NULL;
	lfp_err e = lfp_create(c, &p);
	cr_assert_eq(e, LFP_OK, "lfp_create: %s", lfp_strerror(e));
	cr_assert_not_null(p);
	return p;
}

static inline lfp_stats tu_stats(const lfp_pool *p)
{
	lfp_stats s = LFP_STATS_INIT;
	memset(&s, 0xa5, sizeof(s));
	s.struct_size = sizeof(s);
	lfp_err e = lfp_get_stats(p, &s);
	cr_assert_eq(e, LFP_OK, "lfp_get_stats: %s", lfp_strerror(e));
	return s;
}

/* Gauge invariants that must hold at every quiescent point. */
static inline void tu_assert_consistent(const lfp_stats *s)
{
	cr_assert_eq(s->live, s->idle + s->in_use,
		     "live %llu != idle %llu + in_use %llu",
		     (unsigned long long)s->live, (unsigned long long)s->idle,
		     (unsigned long long)s->in_use);
	cr_assert_leq(s->live, s->capacity, "live %llu > capacity %llu",
		      (unsigned long long)s->live,
		      (unsigned long long)s->capacity);
	cr_assert_geq(s->peak_live, s->live);
	cr_assert_leq(s->peak_live, s->capacity);
	cr_assert_eq(s->live, s->creates - s->destroys,
		     "live %llu != creates %llu - destroys %llu",
		     (unsigned long long)s->live,
		     (unsigned long long)s->creates,
		     (unsigned long long)s->destroys);
}

/* A live, well-formed object of factory f. */
static inline void tu_assert_obj(const void *p, const tu_factory *f)
{
	const tu_obj *o = p;
	cr_assert_not_null(o);
	cr_assert_eq(o->magic, TU_MAGIC, "object %p is not live (magic %llx)",
		     p, (unsigned long long)o->magic);
	cr_assert_eq(o->factory, f, "object %p belongs to another factory", p);
	cr_assert_neq(o->id, 0);
}

static inline uint64_t tu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void tu_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

#define TU_MS UINT64_C(1000000)

#endif /* LFPOOL_TEST_UTIL_H */
