/*
 * Benchmark workloads for lfpool and the baselines it is compared against.
 *
 * Every pool implementation is described by `struct pool_iface`, so each
 * workload is written once and runs unchanged over lfpool, DPDK's
 * rte_mempool, mutex/condvar/semaphore pools, two Concurrency Kit stacks
 * and malloc/free. The throughput loops (pair, burst, work) are compiled
 * into each implementation against its own calls (loops.h); the others
 * call through the table's function pointers.
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

/* Workload kinds an implementation takes part in (pool_iface.runs). */
enum {
	WL_RUNS_PAIR = 1u << 0,	   /* pair */
	WL_RUNS_BURST = 1u << 1,   /* burst1, burst16, burst64 */
	WL_RUNS_XTHREAD = 1u << 2, /* xthread */
	WL_RUNS_WORK = 1u << 3,	   /* work */
	WL_RUNS_OVERSUB = 1u << 4, /* oversub8, oversub64 (blocking, bounded) */
	WL_RUNS_ALL = (1u << 5) - 1,
};

typedef void *(*wl_acquire_fn)(void *pool);
typedef void (*wl_release_fn)(void *pool, void *obj);
typedef void (*wl_acquire_bulk_fn)(void *pool, void **objs, unsigned n);
typedef void (*wl_release_bulk_fn)(void *pool, void *const *objs, unsigned n);

struct wl_thread;
/* One workload: runs `units` units on the calling thread. */
typedef void (*wl_fn)(struct wl_thread *t, long units);

/* An implementation's own throughput loops (loops.h: WL_LOOPS). */
struct wl_loops {
	wl_fn pair, burst, work;
};

/* A pool implementation under test. */
struct pool_iface {
	const char *name;
	/* A pool of `capacity` objects of `obj_size` bytes, all created up
	 * front (warm), or NULL on failure. */
	void *(*create)(size_t capacity, size_t obj_size);
	void (*destroy)(void *pool);
	/* Take an object; waits (blocks or spins/yields) while none is free.
	 * Never returns NULL. */
	wl_acquire_fn acquire;
	wl_release_fn release;
	/* Optional (NULL): take / give back n objects at once; the burst
	 * workloads use them instead of n single calls. acquire_bulk waits
	 * like acquire and always delivers n objects. */
	wl_acquire_bulk_fn acquire_bulk;
	wl_release_bulk_fn release_bulk;
	/* Optional (NULL): called by every benchmark thread before its first
	 * and after its last operation on `pool`. */
	void (*thread_init)(void *pool);
	void (*thread_fini)(void *pool);
	/* Optional (NULL: always): 0 when `threads` threads, each holding up
	 * to `held` objects of a `capacity` pool, could starve here (objects
	 * stranded in other threads' caches) or exceed a limit of the
	 * implementation; the shim then skips that point. */
	int (*supports)(unsigned threads, unsigned held, size_t capacity);
	/* Optional (NULL): operations of `pool` that could not be served at
	 * once (a bulk request that fell back to single calls, an empty-pool
	 * retry); reported as the `retries` counter. */
	uint64_t (*retries)(void *pool);
	/* The pair, burst and work loops over these same calls, compiled
	 * against them (loops.h); required for WL_RUNS_PAIR, _BURST and
	 * _WORK. */
	const struct wl_loops *loops;
	/* WL_RUNS_* bits: the workloads this implementation runs. */
	unsigned runs;
};

/* Implementations (impl_*.c). */
extern const struct pool_iface impl_lfpool;	    /* default config */
extern const struct pool_iface impl_lfpool_nocache; /* cache_size = 0 */
extern const struct pool_iface impl_lfpool_bulk;    /* lfp_*_bulk */
extern const struct pool_iface impl_mutex;
extern const struct pool_iface impl_condvar; /* 30-line mutex+condvar */
extern const struct pool_iface impl_sem;     /* semaphore + ck stack */
extern const struct pool_iface impl_ck_dwcas;
extern const struct pool_iface impl_ck_hp;
extern const struct pool_iface impl_malloc;
extern const struct pool_iface impl_tls_array; /* no-sharing reference */
#ifdef LFPOOL_BENCH_HAVE_DPDK
extern const struct pool_iface impl_dpdk;      /* rte_mempool, cache 256 */
extern const struct pool_iface impl_dpdk_bulk; /* rte_mempool_*_bulk */
#endif

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
	uint64_t deadline_ns; /* oversub: stop after this wl_now_ns() */
	uint64_t *lat;	      /* latency samples (ns), lat_cap entries */
	size_t lat_cap;	      /* power of two, or 0: no latency recording */
	uint64_t lat_n;	      /* samples taken (may exceed lat_cap: ring) */
	uint64_t lat_max;     /* out: longest acquire (ns), every sample */
	uint64_t pairs; /* out: acquire+release pairs done by this thread */
	uint64_t sink;	/* out: defeats dead-code elimination */
	void **held;	/* scratch, >= burst entries */
};

/* The workloads; pair, burst and work run the implementation's own loops
 * (pool_iface.loops). */
/* unit = 1 acquire + 1 release, object untouched. */
void wl_pair(struct wl_thread *t, long units);
/* unit = acquire `burst` objects, write one word into each, release them
 * (through acquire_bulk/release_bulk when the implementation has them). */
void wl_burst(struct wl_thread *t, long units);
/* unit = acquire, run work_iters of dummy computation on it, release. */
void wl_work(struct wl_thread *t, long units);
/* unit = WL_XFER_BATCH objects: the producer acquires and pushes them into
 * its ring, the consumer pops and releases them (WL_ROLE_BOTH: both). */
#define WL_XFER_BATCH 16
void wl_xthread(struct wl_thread *t, long units);
/* Until t->deadline_ns: a timed (blocking) acquire, work_iters of work
 * while holding the object, release. Each acquire's latency goes into
 * t->lat (and t->lat_max); the loop ends with the first operation whose
 * acquire returned at or after the deadline. */
void wl_oversub(struct wl_thread *t);

/* A dependent multiply-add chain the compiler cannot fold: ~4 cycles per
 * iteration (the work done while holding an object). */
static inline uint64_t wl_dummy_work(uint64_t x, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ __volatile__("" : "+r"(x));
	}
	return x;
}

/* Monotonic clock in nanoseconds. */
uint64_t wl_now_ns(void);

/* The baselines' object storage: one 64-byte-aligned block of `capacity`
 * slots of `hdr` link bytes plus obj_size, each a multiple of 16 bytes;
 * *stride receives the slot size. NULL when out of memory. */
char *wl_slab_alloc(size_t capacity, size_t hdr, size_t obj_size,
		    size_t *stride);
/* Number of dummy-work iterations that take about `ns` nanoseconds here. */
unsigned wl_calibrate_work(unsigned ns);

/* Percentiles of merged latency samples; max_ns is the longest wait of
 * all (wl_thread.lat_max), including samples the rings overwrote. */
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
