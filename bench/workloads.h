/*
 * Benchmark workloads for lfpool and the baselines it is compared against.
 *
 * Every pool implementation is reached through `struct pool_iface`, a table
 * of function pointers, so each workload is written once and runs unchanged
 * over lfpool, a mutex pool, two Concurrency Kit stacks and malloc/free.
 * Thread creation, timing and the iteration count come from Google Benchmark
 * (bench_main.cc); the functions here are plain C and run `units` units of
 * work on the calling thread.
 */
#ifndef LFPOOL_BENCH_WORKLOADS_H
#define LFPOOL_BENCH_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A pool implementation under test. */
struct pool_iface {
	const char *name;
	/* A pool of `capacity` objects of `obj_size` bytes, all created up
	 * front (warm), or NULL on failure. */
	void *(*create)(size_t capacity, size_t obj_size);
	void (*destroy)(void *pool);
	/* Take an object; waits (blocks or spins/yields) while none is free.
	 * Never returns NULL. */
	void *(*acquire)(void *pool);
	void (*release)(void *pool, void *obj);
	/* Optional (NULL): called by every benchmark thread before its first
	 * and after its last operation on `pool`. */
	void (*thread_init)(void *pool);
	void (*thread_fini)(void *pool);
	/* 1 when `capacity` is a hard bound (malloc: 0). */
	int bounded;
	/* 1 when objects never move between threads (tls_array): such an
	 * implementation runs only the single-owner workloads. */
	int thread_private;
};

/* Implementations (impl_*.c). */
extern const struct pool_iface impl_lfpool;	    /* default config */
extern const struct pool_iface impl_lfpool_nocache; /* cache_size = 0 */
extern const struct pool_iface impl_mutex;
extern const struct pool_iface impl_ck_dwcas;
extern const struct pool_iface impl_ck_hp;
extern const struct pool_iface impl_malloc;
extern const struct pool_iface impl_tls_array; /* no-sharing reference */

/* Single-producer single-consumer ring used by the cross-thread workload
 * (opaque: its atomics are C11 <stdatomic.h>). */
#define WL_RING_SIZE 256u /* power of two, >= WL_XFER_BATCH */
struct wl_ring;
struct wl_ring *wl_ring_new(void); /* NULL when out of memory */
void wl_ring_free(struct wl_ring *r);

enum wl_role { WL_ROLE_BOTH = 0, WL_ROLE_PRODUCER, WL_ROLE_CONSUMER };

/* Per-thread state of one workload run. */
struct wl_thread {
	const struct pool_iface *pi;
	void *pool;
	unsigned burst;	      /* objects held at once (burst workloads) */
	unsigned work_iters;  /* dummy computation while holding an object */
	struct wl_ring *ring; /* cross-thread: this thread's pair ring */
	enum wl_role role;    /* cross-thread: which side of the ring */
	uint64_t *lat;	      /* latency samples (ns), lat_cap entries */
	size_t lat_cap;	      /* power of two, or 0: no latency recording */
	uint64_t lat_n;	      /* samples taken (may exceed lat_cap: ring) */
	uint64_t pairs; /* out: acquire+release pairs done by this thread */
	uint64_t sink;	/* out: defeats dead-code elimination */
	void **held;	/* scratch, >= burst entries */
};

/* One workload: runs `units` units on the calling thread. */
typedef void (*wl_fn)(struct wl_thread *t, long units);

/* unit = 1 acquire + 1 release, object untouched. */
void wl_pair(struct wl_thread *t, long units);
/* unit = acquire `burst` objects, write one word into each, release them. */
void wl_burst(struct wl_thread *t, long units);
/* unit = acquire, run work_iters of dummy computation on it, release. */
void wl_work(struct wl_thread *t, long units);
/* unit = WL_XFER_BATCH objects: the producer acquires and pushes them into
 * its ring, the consumer pops and releases them (WL_ROLE_BOTH: both). */
#define WL_XFER_BATCH 16
void wl_xthread(struct wl_thread *t, long units);
/* unit = a timed (blocking) acquire, work_iters of work, release; the
 * acquire latency goes into t->lat. */
void wl_oversub(struct wl_thread *t, long units);

/* Monotonic clock in nanoseconds. */
uint64_t wl_now_ns(void);

/* The baselines' object storage: one 64-byte-aligned block of `capacity`
 * slots of `hdr` link bytes plus obj_size, each a multiple of 16 bytes;
 * *stride receives the slot size. NULL when out of memory. */
char *wl_slab_alloc(size_t capacity, size_t hdr, size_t obj_size,
		    size_t *stride);
/* Number of dummy-work iterations that take about `ns` nanoseconds here. */
unsigned wl_calibrate_work(unsigned ns);

/* Percentiles of merged latency samples. */
struct wl_lat_summary {
	uint64_t samples;
	double p50_ns, p99_ns, p999_ns, max_ns, mean_ns;
};
/* Merges `n` per-thread sample arrays (each wl_thread's lat/lat_n/lat_cap)
 * and computes percentiles. Returns 0, or -1 when out of memory. */
int wl_lat_merge(struct wl_thread *const *threads, size_t n,
		 struct wl_lat_summary *out);

#ifdef __cplusplus
}
#endif

#endif /* LFPOOL_BENCH_WORKLOADS_H */
