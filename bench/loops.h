/*
 * The throughput loops (pair, burst1/16/64, work), compiled once per
 * implementation against its own calls.
 *
 * A user calls a pool directly: lfpool's and DPDK's fast paths are inline
 * code in the caller, malloc is a call through the PLT. The loops therefore
 * do not reach an implementation through the function pointers of
 * `struct pool_iface` for every object (that added two indirect calls per
 * pair to every competitor and hid the difference between an inline fast
 * path and a call). Each impl_*.c instead instantiates them with
 *
 *     WL_LOOPS(prefix, acquire, release);
 *     WL_BULK_LOOPS(prefix, acquire, release, acquire_bulk, release_bulk);
 *
 * naming its own static functions, and points pool_iface.loops at
 * prefix_loops. The loop bodies below are written once; they are always
 * inlined, so each instantiation calls its functions directly, and the
 * compiler inlines them where it would inline them for a user (small static
 * wrappers, header-inline fast paths), not otherwise. One indirect call per
 * Google Benchmark iteration (about 64 pairs) remains.
 *
 * The cross-thread and oversubscribed workloads (workloads.c) still use the
 * function pointers: a ring hand-off or two clock reads per operation
 * dominate them.
 */
#ifndef LFPOOL_BENCH_LOOPS_H
#define LFPOOL_BENCH_LOOPS_H

#include "workloads.h"

#define WL__INLINE static inline __attribute__((always_inline))

/* unit = 1 acquire + 1 release, object untouched */
WL__INLINE void wl__pair_loop(struct wl_thread *t, long units,
			      wl_acquire_fn acquire, wl_release_fn release)
{
	void *pool = t->pool;
	for (long i = 0; i < units; i++) {
		void *o = acquire(pool);
		release(pool, o);
	}
	t->pairs += (uint64_t)units;
}

/* unit = acquire `burst` objects, write one word into each, release them
 * (with one bulk call each way when acquire_bulk is not NULL) */
WL__INLINE void wl__burst_loop(struct wl_thread *t, long units,
			       wl_acquire_fn acquire, wl_release_fn release,
			       wl_acquire_bulk_fn acquire_bulk,
			       wl_release_bulk_fn release_bulk)
{
	void *pool = t->pool;
	void **held = t->held;
	const unsigned k = t->burst;
	for (long i = 0; i < units; i++) {
		if (acquire_bulk) {
			acquire_bulk(pool, held, k);
			for (unsigned j = 0; j < k; j++)
				*(volatile uint64_t *)held[j] = (uint64_t)j;
			release_bulk(pool, held, k);
		} else {
			for (unsigned j = 0; j < k; j++) {
				held[j] = acquire(pool);
				*(volatile uint64_t *)held[j] = (uint64_t)j;
			}
			for (unsigned j = 0; j < k; j++)
				release(pool, held[j]);
		}
	}
	t->pairs += (uint64_t)units * k;
}

/* unit = acquire, work_iters of dummy computation on it, release */
WL__INLINE void wl__work_loop(struct wl_thread *t, long units,
			      wl_acquire_fn acquire, wl_release_fn release)
{
	void *pool = t->pool;
	const unsigned n = t->work_iters;
	uint64_t x = t->sink;
	for (long i = 0; i < units; i++) {
		uint64_t *o = acquire(pool);
		x = wl_dummy_work(x ^ o[0], n);
		o[0] = x;
		release(pool, o);
	}
	t->sink = x;
	t->pairs += (uint64_t)units;
}

#define WL__LOOPS(prefix, acquire, release, acquire_bulk, release_bulk)        \
	static void prefix##_pair(struct wl_thread *t, long units)             \
	{                                                                      \
		wl__pair_loop(t, units, acquire, release);                     \
	}                                                                      \
	static void prefix##_burst(struct wl_thread *t, long units)            \
	{                                                                      \
		wl__burst_loop(t, units, acquire, release, acquire_bulk,       \
			       release_bulk);                                  \
	}                                                                      \
	static void prefix##_work(struct wl_thread *t, long units)             \
	{                                                                      \
		wl__work_loop(t, units, acquire, release);                     \
	}                                                                      \
	static const struct wl_loops prefix##_loops = {                        \
		.pair = prefix##_pair,                                         \
		.burst = prefix##_burst,                                       \
		.work = prefix##_work,                                         \
	}

/* Loops over single acquire/release calls. */
#define WL_LOOPS(prefix, acquire, release)                                     \
	WL__LOOPS(prefix, acquire, release, (wl_acquire_bulk_fn)0,             \
		  (wl_release_bulk_fn)0)
/* The same, with the burst workloads through the bulk calls. */
#define WL_BULK_LOOPS(prefix, acquire, release, acquire_bulk, release_bulk)    \
	WL__LOOPS(prefix, acquire, release, acquire_bulk, release_bulk)

#endif
