/*
 * lfpool behind the benchmark pool interface: the default configuration
 * (per-thread cache of LFP_CACHE_DEFAULT) and the same pool with the
 * per-thread cache disabled (cache_size = 0: every operation goes to the
 * shared depot), and the default pool driven through lfp_acquire_bulk /
 * lfp_release_bulk in the burst workloads (lfpool_bulk).
 *
 * LFPOOL_BENCH_INJECT_SLOWDOWN (a CMake option of bench/) compiles a
 * deliberate delay into this wrapper -- not into the library -- so that the
 * regression gate can be shown to trip (scripts/bench_gate.sh).
 */
#include "loops.h"

#include <lfpool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef LFPOOL_BENCH_INJECT_SLOWDOWN
static inline void injected_delay(void)
{
	for (int i = 0; i < LFPOOL_BENCH_INJECT_SLOWDOWN; i++)
		__asm__ __volatile__("nop" ::: "memory");
}
#else
static inline void injected_delay(void)
{
}
#endif

static void die(const char *what, lfp_err e)
{
	fprintf(stderr, "lfpool bench: %s: %s\n", what, lfp_strerror(e));
	abort();
}

static void *create_with_cache(size_t capacity, size_t obj_size, uint32_t cache)
{
	lfp_config cfg = LFP_CONFIG_INIT;
	cfg.object_size = obj_size;
	cfg.capacity = capacity;
	cfg.cache_size = cache;
	lfp_pool *p = NULL;
	lfp_err e = lfp_create(&cfg, &p);
	if (e != LFP_OK) {
		fprintf(stderr, "lfpool bench: lfp_create: %s\n",
			lfp_strerror(e));
		return NULL;
	}
	/* Warm the pool like the baselines (which preallocate): create every
	 * object once, then hand them all back to the shared depot. */
	void **objs = malloc(capacity * sizeof(*objs));
	if (objs) {
		size_t n = 0;
		while (n < capacity && lfp_try_acquire(p, &objs[n]) == LFP_OK)
			n++;
		for (size_t i = 0; i < n; i++)
			lfp_release(p, objs[i]);
		free(objs);
	}
	lfp_thread_flush(p);
	return p;
}

static void *lfpool_create(size_t capacity, size_t obj_size)
{
	return create_with_cache(capacity, obj_size, LFP_CACHE_DEFAULT);
}

static void *lfpool_create_nocache(size_t capacity, size_t obj_size)
{
	return create_with_cache(capacity, obj_size, 0);
}

static void lfpool_destroy(void *pool)
{
	lfp_err e = lfp_destroy(pool, NULL);
	if (e != LFP_OK)
		fprintf(stderr, "lfpool bench: lfp_destroy: %s\n",
			lfp_strerror(e));
}

static void *lfpool_acquire(void *pool)
{
	void *o;
	injected_delay();
	lfp_err e = lfp_acquire(pool, &o);
	if (e != LFP_OK)
		die("lfp_acquire", e);
	return o;
}

static void lfpool_release(void *pool, void *obj)
{
	lfp_err e = lfp_release(pool, obj);
	if (e != LFP_OK)
		die("lfp_release", e);
}

/* Bulk requests that found fewer than n objects at once (lfp_acquire_bulk
 * never waits) and fell back to n blocking lfp_acquire calls. One pool
 * exists at a time in the benchmark; create resets the count. */
static _Atomic uint64_t bulk_fallbacks;

static void *lfpool_create_bulk(size_t capacity, size_t obj_size)
{
	atomic_store_explicit(&bulk_fallbacks, 0, memory_order_relaxed);
	return create_with_cache(capacity, obj_size, LFP_CACHE_DEFAULT);
}

static void lfpool_acquire_bulk(void *pool, void **objs, unsigned n)
{
	injected_delay();
	lfp_err e = lfp_acquire_bulk(pool, objs, n);
	if (e == LFP_OK)
		return;
	if (e != LFP_EMPTY)
		die("lfp_acquire_bulk", e);
	atomic_fetch_add_explicit(&bulk_fallbacks, 1, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		e = lfp_acquire(pool, &objs[i]);
		if (e != LFP_OK)
			die("lfp_acquire", e);
	}
}

static void lfpool_release_bulk(void *pool, void *const *objs, unsigned n)
{
	lfp_err e = lfp_release_bulk(pool, objs, n);
	if (e != LFP_OK)
		die("lfp_release_bulk", e);
}

static uint64_t lfpool_bulk_retries(void *pool)
{
	(void)pool;
	return atomic_load_explicit(&bulk_fallbacks, memory_order_relaxed);
}

static void lfpool_thread_fini(void *pool)
{
	lfp_thread_flush(pool);
}

WL_LOOPS(lfpool, lfpool_acquire, lfpool_release);
WL_BULK_LOOPS(lfpool_bulk, lfpool_acquire, lfpool_release, lfpool_acquire_bulk,
	      lfpool_release_bulk);

const struct pool_iface impl_lfpool = {
	.name = "lfpool",
	.create = lfpool_create,
	.destroy = lfpool_destroy,
	.acquire = lfpool_acquire,
	.release = lfpool_release,
	.thread_fini = lfpool_thread_fini,
	.loops = &lfpool_loops,
	.runs = WL_RUNS_ALL,
};

const struct pool_iface impl_lfpool_nocache = {
	.name = "lfpool_nocache",
	.create = lfpool_create_nocache,
	.destroy = lfpool_destroy,
	.acquire = lfpool_acquire,
	.release = lfpool_release,
	.thread_fini = lfpool_thread_fini,
	.loops = &lfpool_loops,
	.runs = WL_RUNS_ALL,
};

const struct pool_iface impl_lfpool_bulk = {
	.name = "lfpool_bulk",
	.create = lfpool_create_bulk,
	.destroy = lfpool_destroy,
	.acquire = lfpool_acquire,
	.release = lfpool_release,
	.acquire_bulk = lfpool_acquire_bulk,
	.release_bulk = lfpool_release_bulk,
	.thread_fini = lfpool_thread_fini,
	.retries = lfpool_bulk_retries,
	.loops = &lfpool_bulk_loops,
	.runs = WL_RUNS_BURST,
};
