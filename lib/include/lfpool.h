/*
 * lfpool — a lock-free concurrent object pool.
 *
 * A pool owns up to `capacity` objects of one size. Objects are created
 * lazily by a user factory, handed out by lfp_acquire*(), given back by
 * lfp_release*(), validated/reset on the way, evicted when idle for too long
 * and all destroyed by lfp_destroy().
 *
 * Progress guarantees (see docs/design.md for the arguments):
 *   - acquire served by the calling thread's cache, release into it (inline,
 *     lfpool_inline.h): wait-free (bounded steps, no loop, no atomic
 *     read-modify-write, no fence, no write to another thread's line). A pop
 *     that meets another thread taking objects out of the same cache (the
 *     pool ran dry elsewhere, or trim) undoes itself and takes the slow path.
 *   - refill from / flush to the shared depot (once per batch): the depot
 *     operation is lock-free (a CAS retry loop on a Treiber stack guarded by
 *     hazard pointers), but it runs under the thread's own cache mutex, which
 *     another thread holds only while taking objects out of that cache; a
 *     new magazine takes a short allocation mutex; threads beyond the first
 *     255 using one pool share one hazard record under a mutex.
 *   - creating an object: lock-free slot allocation plus the user's create().
 *   - pool exhausted: lfp_try_acquire returns LFP_EMPTY (see its contract);
 *     lfp_acquire blocks (futex) and lfp_acquire_timed blocks up to its
 *     timeout. A release while threads wait does not go into the cache:
 *     its object goes onto a lock-free stack (one CAS) and a sleeper is
 *     kicked, or a starving one handed the object, under the wait queue's
 *     mutex (blocking, short).
 *
 * Platforms: Linux (futex, membarrier), x86-64 and aarch64, GCC or Clang.
 *
 * Thread safety: every function may be called concurrently from any thread,
 * except lfp_destroy(), which must not overlap any other call on the same
 * pool. Threads need no registration; a thread that exits returns its cached
 * objects to the pool automatically.
 */
#ifndef LFPOOL_H
#define LFPOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LFPOOL_STATIC_DEFINE)
#define LFP_API
#elif defined(__GNUC__)
#define LFP_API __attribute__((visibility("default")))
#else
#define LFP_API
#endif

#define LFPOOL_VERSION_MAJOR  0
#define LFPOOL_VERSION_MINOR  2
#define LFPOOL_VERSION_PATCH  0
#define LFPOOL_VERSION_STRING "0.2.0"
/* major << 16 | minor << 8 | patch, comparable with lfp_version_number(). */
#define LFPOOL_VERSION                                                         \
	((LFPOOL_VERSION_MAJOR << 16) | (LFPOOL_VERSION_MINOR << 8) |          \
	 LFPOOL_VERSION_PATCH)

/*
 * Error codes. Every function that can fail returns one; 0 means success.
 *   LFP_EINVAL     a NULL argument, a zero or overflowing size, a bad config
 *   LFP_ENOMEM     the pool's memory could not be reserved or allocated
 *   LFP_EMPTY      no object available right now (try-acquire, bulk)
 *   LFP_ETIMEDOUT  timed acquire: no object became available in time
 *   LFP_EFOREIGN   the pointer is not a live object of this pool
 *   LFP_EDOUBLE    the object is already idle in the pool (double release)
 *   LFP_ECREATE    the factory's create() failed (nothing was leaked)
 *   LFP_EBUSY      lfp_destroy: objects were still acquired (destroyed
 *                  anyway)
 *   LFP_ECLOSED    the pool was closed (lfp_close): no more acquires
 */
typedef enum lfp_err {
	LFP_OK = 0,
	LFP_EINVAL,
	LFP_ENOMEM,
	LFP_EMPTY,
	LFP_ETIMEDOUT,
	LFP_EFOREIGN,
	LFP_EDOUBLE,
	LFP_ECREATE,
	LFP_EBUSY,
	LFP_ECLOSED,
	LFP_ERR_COUNT_
} lfp_err;

/* A human-readable, static message for an error code (never NULL). */
LFP_API const char *lfp_strerror(lfp_err err);

/* The version of the library actually linked: "MAJOR.MINOR.PATCH", and the
 * same as LFPOOL_VERSION's encoding. Compare with the LFPOOL_VERSION* macros
 * of the header a program was compiled against. */
LFP_API const char *lfp_version(void);
LFP_API unsigned lfp_version_number(void);

/*
 * The object lifecycle. `ctx` is lfp_factory.ctx, `obj` points at the
 * object's memory inside the pool (size/align from lfp_config).
 *   create:   construct the object in place; return 0 on success, non-zero on
 *             failure (the slot is given back; acquire reports LFP_ECREATE).
 *             NULL: objects start zero-filled (a never-used slot is
 *             fresh zero pages and is not written; a reused slot is
 *             cleared, except whole pages lfp_discard/eviction already
 *             returned to the kernel, which read back as zero).
 *   validate: return non-zero if the object is still good. Checked on acquire
 *             and/or release (lfp_config.validate_on); a failing object is
 *             destroyed and replaced, never handed out. NULL: always good.
 *   reset:    called on every release, before the object can be reused;
 *             return 0 to keep it, non-zero to destroy it. NULL: no-op.
 *   destroy:  release the object's resources. Called exactly once per
 *             successfully created object. NULL: nothing to do.
 * Callbacks may run on any thread, concurrently for different objects. They
 * must not call back into the same pool.
 */
typedef struct lfp_factory {
	int (*create)(void *ctx, void *obj);
	int (*validate)(void *ctx, void *obj);
	int (*reset)(void *ctx, void *obj);
	void (*destroy)(void *ctx, void *obj);
	void *ctx;
} lfp_factory;

enum lfp_validate_on {
	LFP_VALIDATE_NEVER = 0,
	LFP_VALIDATE_ON_ACQUIRE = 1 << 0,
	LFP_VALIDATE_ON_RELEASE = 1 << 1,
};

/* Cache size to use when lfp_config.cache_size is LFP_CACHE_DEFAULT. */
#define LFP_CACHE_DEFAULT ((uint32_t)-1)
/* The largest per-thread cache (objects). */
#define LFP_CACHE_MAX 1024u
/* The largest object size and capacity accepted. */
#define LFP_OBJECT_SIZE_MAX ((size_t)1 << 30)
#define LFP_CAPACITY_MAX    ((uint64_t)1 << 31)
/* Timeout meaning "wait forever" for lfp_acquire_timed. */
#define LFP_FOREVER UINT64_MAX

/*
 * Pool configuration. Initialise with LFP_CONFIG_INIT (or zero it and set
 * struct_size = sizeof(lfp_config)): struct_size lets later versions add
 * fields without breaking callers compiled against this header.
 */
typedef struct lfp_config {
	size_t struct_size;   /* sizeof(lfp_config) */
	size_t object_size;   /* bytes per object, 1..LFP_OBJECT_SIZE_MAX */
	size_t object_align;  /* power of two <= 4096; 0 means 16 */
	uint64_t capacity;    /* hard maximum of live objects, >= 1 */
	uint64_t min_idle;    /* idle objects kept ready: created by
				 lfp_create, never evicted, refilled by
				 lfp_maintain */
	uint32_t cache_size;  /* per-thread cache; 0 disables, LFP_CACHE_DEFAULT
			       */
	uint32_t validate_on; /* enum lfp_validate_on flags */
	uint64_t
		max_idle_ns; /* evict objects idle longer than this; 0: never */
	lfp_factory factory;
	/* ---- 0.2 (a 0.1 caller's smaller struct_size leaves these 0) ---- */
	uint64_t max_lifetime_ns;   /* never hand out an object older than
				       this minus a random jitter of up to
				       1/40 (2.5 %); 0: no limit. Such pools
				       take the generic path always. */
	uint64_t keepalive_ns;	    /* maintenance validates idle objects at
				       least this often; 0: never */
	uint64_t create_retry_ns;   /* after a failed create, wait this long
				       before the next attempt, doubling up
				       to 32 x this; 0: no back-off (0.1's
				       behaviour: every acquire may try) */
	uint64_t leak_threshold_ns; /* report objects held longer; 0: off */
	/* Called once per leaked object (acquisition), from lfp_maintain,
	 * with no lfpool lock held; ctx is factory.ctx, acquire_site the
	 * return address in the caller of the acquire function (the user's
	 * call site, with or without LFPOOL_NO_INLINE). Both leak fields
	 * must be set to turn detection on; such pools take the generic
	 * path always. */
	void (*on_leak)(void *ctx, void *obj, uint64_t held_ns,
			void *acquire_site);
	uint32_t maintenance_thread; /* non-zero: run lfp_maintain on a
					thread of the pool's own, started
					by lfp_create, joined by lfp_close
					or lfp_destroy */
} lfp_config;

#ifdef __cplusplus
/* C++ (designated initialisers are C++20): the same value from a function. */
static inline lfp_config lfp_config_init(void)
{
	lfp_config cfg = {};
	cfg.struct_size = sizeof(lfp_config);
	cfg.cache_size = LFP_CACHE_DEFAULT;
	return cfg;
}
#define LFP_CONFIG_INIT (lfp_config_init())
#else
#define LFP_CONFIG_INIT                                                        \
	{                                                                      \
		.struct_size = sizeof(lfp_config),                             \
		.cache_size = LFP_CACHE_DEFAULT                                \
	}
#endif

typedef struct lfp_pool lfp_pool;

/*
 * Create a pool. Reserves address space for `capacity` objects (committed
 * only as objects are created) and creates `min_idle` objects up front.
 * Errors: LFP_EINVAL (NULL, bad sizes, min_idle > capacity, bad alignment),
 * LFP_ENOMEM, LFP_ECREATE (a min_idle object failed to create; nothing leaks).
 */
LFP_API lfp_err lfp_create(const lfp_config *cfg, lfp_pool **out);

/*
 * Destroy the pool: every live object (idle or still acquired) is passed to
 * factory.destroy exactly once, then all memory is released. If `final` is
 * not NULL (initialised with LFP_STATS_INIT) it receives the statistics as
 * they stood just before; with a struct_size lfp_get_stats would refuse it
 * is left alone, and the pool is destroyed all the same. Returns
 * LFP_EBUSY if objects were still acquired (they are destroyed all the same;
 * their pointers dangle), LFP_OK otherwise, LFP_EINVAL for NULL.
 * Must not run concurrently with any other call on this pool.
 */
typedef struct lfp_stats lfp_stats;
LFP_API lfp_err lfp_destroy(lfp_pool *pool, lfp_stats *final);

/*
 * Acquire an object into *obj (set to NULL when the call fails).
 *
 * lfp_try_acquire never waits: LFP_EMPTY when no object can be had right
 * now. Precisely: it returns LFP_EMPTY only if no slot is free for a new
 * object and it found no idle object, and it finds every object that is
 * idle in the pool (in the shared depot or in any thread's cache) for the
 * whole call. Objects released during the call may or may not be found.
 * Polling an exhausted pool this way costs no fence and no system call: a
 * fence-free look at each thread's cache of this pool, and a heavy fence
 * (membarrier) only when some cache holds objects, which it then moves.
 */
LFP_API lfp_err lfp_try_acquire(lfp_pool *pool, void **obj);
/* Acquire, waiting as long as it takes while the pool is exhausted. */
LFP_API lfp_err lfp_acquire(lfp_pool *pool, void **obj);
/* Acquire, waiting at most timeout_ns (LFP_FOREVER: no limit, 0: try). */
LFP_API lfp_err lfp_acquire_timed(lfp_pool *pool, void **obj,
				  uint64_t timeout_ns);

/*
 * Give an object back. Errors (the object is left untouched and nothing is
 * lost): LFP_EINVAL (NULL), LFP_EFOREIGN (not a live object of this pool),
 * LFP_EDOUBLE (already released). A release racing with another release of
 * the same object from another thread is a data race in the caller's code;
 * sequential double releases are always detected.
 */
LFP_API lfp_err lfp_release(lfp_pool *pool, void *obj);

/*
 * Give back a broken acquired object: it is destroyed (factory.destroy) and
 * its slot freed, so a waiter may create a replacement; capacity never
 * leaks. Errors as lfp_release (LFP_EINVAL, LFP_EFOREIGN, LFP_EDOUBLE).
 */
LFP_API lfp_err lfp_discard(lfp_pool *pool, void *obj);

/*
 * Acquire exactly n objects into objs[0..n), or none: LFP_EMPTY if fewer
 * than n were available (those taken are given back). Never waits.
 */
LFP_API lfp_err lfp_acquire_bulk(lfp_pool *pool, void **objs, size_t n);
/*
 * Release n objects. Every valid one is released; returns LFP_OK or the
 * first error met (the bad entries are skipped, nothing is lost).
 */
LFP_API lfp_err lfp_release_bulk(lfp_pool *pool, void *const *objs, size_t n);

/*
 * Return the calling thread's cached objects of this pool to the shared
 * depot (also done automatically when a thread exits). They keep their
 * idle age (as of this thread's last slow-path operation on the pool).
 */
LFP_API lfp_err lfp_thread_flush(lfp_pool *pool);

/*
 * Idle eviction: destroy objects idle for at least max_ns, keeping min_idle
 * idle objects. The caches of threads that did no slow-path operation (a
 * miss, a full cache) for max_ns are moved to the depot first, their
 * objects aged from that operation, so one call evicts them; a thread
 * that only ever hits its cache may see its objects evicted (and
 * recreated on its next miss) once per max_ns. The caller's own cache
 * stays (lfp_thread_flush moves it). Dead objects found (closed pool,
 * max_lifetime_ns, lfp_evict_all) are destroyed too. If `evicted` is not
 * NULL it receives how many were evicted for idleness. Returns at once if
 * another pass is running. Safe to call concurrently with everything but
 * lfp_destroy; the pool also runs it from slow paths and lfp_maintain when
 * lfp_config.max_idle_ns is set.
 */
LFP_API lfp_err lfp_trim(lfp_pool *pool, uint64_t max_ns, uint64_t *evicted);

/*
 * Weak handles: a handle names one acquisition of one object. It resolves
 * (lfp_handle_get returns the object) only while that acquisition is still
 * live: after release, or if the slot is later reused, it returns NULL.
 * Generations are 64-bit and never repeat within a pool's lifetime.
 */
typedef struct lfp_handle {
	uint64_t slot; /* slot index + 1; 0 is the null handle */
	uint64_t gen;  /* the acquisition's generation */
} lfp_handle;

LFP_API lfp_handle lfp_handle_of(const lfp_pool *pool, const void *obj);
LFP_API void *lfp_handle_get(const lfp_pool *pool, lfp_handle h);

/*
 * Statistics. Counters are monotonic totals since lfp_create, and never go
 * back from one snapshot to the next; gauges are a snapshot (exact when no
 * other thread is operating on the pool). Initialise with LFP_STATS_INIT
 * (struct_size = sizeof(lfp_stats)) so that the struct can grow: a smaller
 * struct_size from an older header gets the fields it has.
 */
#define LFP_HIST_BUCKETS 48 /* log2 buckets: [2^i, 2^(i+1)) ns */

struct lfp_stats {
	size_t struct_size;	      /* set by the caller: sizeof(lfp_stats) */
	uint64_t acquires;	      /* successful acquires */
	uint64_t releases;	      /* successful releases */
	uint64_t cache_hits;	      /* acquires served by the thread cache */
	uint64_t cache_misses;	      /* acquires that left the thread cache */
	uint64_t creates;	      /* objects created */
	uint64_t create_failures;     /* create() returned failure */
	uint64_t destroys;	      /* objects destroyed */
	uint64_t validation_failures; /* validate()/reset() rejected objects */
	uint64_t evictions;	      /* objects destroyed by idle eviction */
	uint64_t waits;		      /* acquires that had to sleep */
	uint64_t timeouts;	      /* timed acquires that gave up */
	uint64_t empties;	      /* try/bulk acquires that found none */
	uint64_t steals;	      /* drains of other threads' caches */
	uint64_t live;		      /* objects currently created */
	uint64_t idle;		      /* live objects inside the pool */
	uint64_t in_use;	      /* live objects acquired by users */
	uint64_t peak_live;	      /* high-water mark of live */
	uint64_t capacity;	      /* the configured capacity */
	/* ---- 0.2 ---- */
	uint64_t discards;	     /* lfp_discard calls */
	uint64_t expirations;	     /* destroyed for max_lifetime_ns
					(lfp_evict_all's count as evictions) */
	uint64_t keepalive_failures; /* idle objects failing keepalive */
	uint64_t leaks;		     /* objects reported to on_leak */
	int last_create_error;	     /* last non-zero create() result */
	int closed;		     /* lfp_close was called */
	/* log2 histograms, bucket i: [2^i, 2^(i+1)) ns (0 in bucket 0, the
	 * last bucket takes everything above). wait: time an acquire slept
	 * (blocking and timed acquires that had to wait); hold: acquire to
	 * release, recorded only while leak detection is on (the only time
	 * acquire times are taken); create: create() durations, failed ones
	 * included. Slow paths only: the cache-hit path records nothing. */
	uint64_t wait_ns_hist[LFP_HIST_BUCKETS];
	uint64_t hold_ns_hist[LFP_HIST_BUCKETS];
	uint64_t create_ns_hist[LFP_HIST_BUCKETS];
};

#ifdef __cplusplus
/* C++ (designated initialisers are C++20): the same value from a function. */
static inline lfp_stats lfp_stats_init(void)
{
	lfp_stats st = {};
	st.struct_size = sizeof(lfp_stats);
	return st;
}
#define LFP_STATS_INIT (lfp_stats_init())
#else
#define LFP_STATS_INIT                                                         \
	{                                                                      \
		.struct_size = sizeof(lfp_stats)                               \
	}
#endif

/* Fill *out (set out->struct_size first). LFP_EINVAL: NULL, or a
 * struct_size this library cannot fill. */
LFP_API lfp_err lfp_get_stats(const lfp_pool *pool, lfp_stats *out);

/*
 * Close the pool: from now on every acquire (any kind, bulk too) returns
 * LFP_ECLOSED; threads sleeping in lfp_acquire / lfp_acquire_timed are
 * woken at once and return LFP_ECLOSED; idle objects (in the depot and in
 * every thread's cache) are destroyed; objects still out may be released
 * or discarded, and are destroyed then. The maintenance thread, if any, is
 * stopped and joined. lfp_destroy may follow once no call is in flight.
 * Idempotent. Errors: LFP_EINVAL (NULL). Progress: blocking (it takes the
 * pool's list lock and each cache's lock, waits for a running trim pass,
 * joins the maintenance thread); call it from no callback. A fast-path
 * release that overlaps the call may leave its object cached until that
 * thread's next call, its exit, lfp_maintain or lfp_destroy (still
 * destroyed exactly once).
 */
LFP_API lfp_err lfp_close(lfp_pool *pool);

/*
 * Run the maintenance that is due, with no lfpool lock held around any
 * callback: idle eviction (max_idle_ns, keeping min_idle idle objects,
 * draining caches of threads idle for max_idle_ns), destroying idle
 * objects past max_lifetime_ns, keepalive validation (every keepalive_ns,
 * of every idle object, cached ones included), refilling min_idle idle
 * objects (create() runs outside every lock; stops at a failure or
 * back-off), leak reports (on_leak, once per acquisition), and after
 * lfp_evict_all the scan that lets thread caches serve fast paths again.
 * *next_ns (if not NULL) receives the nanoseconds until more work is due,
 * or UINT64_MAX if none. For event loops; with
 * lfp_config.maintenance_thread the pool runs it on its own thread. On a
 * closed pool it only destroys idle objects. Errors: LFP_EINVAL (NULL).
 * Progress: blocking (as lfp_trim; the leak and epoch scans are O(slots
 * ever used)).
 */
LFP_API lfp_err lfp_maintain(lfp_pool *pool, uint64_t *next_ns);

/*
 * Soft eviction, for failover: every object created before this call is
 * destroyed when next seen idle or released, and is never handed out
 * again by an acquire that starts after the call returns (objects whose
 * creation overlaps the call may be kept). O(1) in objects: it bumps the
 * pool's epoch and disarms each thread cache's fast path (O(thread caches
 * of the pool), under the list lock and each cache's lock, then one
 * membarrier); no object is touched. Until no older object is live, every
 * acquire and release takes the generic path, which checks epochs; then
 * each thread's cache re-arms on its next slow-path call (lfp_maintain and
 * slow paths, at most every 10 ms, sweep idle older objects out and scan
 * for held ones). Errors: LFP_EINVAL (NULL). Progress: blocking (locks).
 */
LFP_API lfp_err lfp_evict_all(lfp_pool *pool);

/* What lfp_foreach tells about an object. */
typedef struct lfp_object_info {
	int in_use;	    /* acquired by a user */
	uint64_t age_ns;    /* since it was created */
	uint64_t state_ns;  /* time idle, or time held: see lfp_foreach */
	void *acquire_site; /* leak detection on and in use: where it was
			       acquired; else NULL */
} lfp_object_info;

/*
 * Visit every live object (every used slot holding one): fn(ctx, obj,
 * info); a non-zero return stops the walk (and is not an error). For dumps
 * and debugging: an object seen idle may be handed out by the time fn
 * runs, and fn must not release, discard or otherwise own it, nor call
 * into the pool. state_ns is exact (lfp_now_ns precision) with leak
 * detection on; otherwise it counts from the object's last slow-path
 * transition (creation, an acquire that missed the thread cache, a release
 * the cache could not keep), read from a coarse clock (a few ms): objects
 * that cycle through a thread's cache show the time since they last left
 * it. Errors: LFP_EINVAL (NULL pool or fn). Runs concurrently with every
 * call but lfp_destroy; O(slots ever used), no lock.
 */
LFP_API lfp_err lfp_foreach(lfp_pool *pool,
			    int (*fn)(void *ctx, void *obj,
				      const lfp_object_info *info),
			    void *ctx);

/* The object size the pool was created with (0 for NULL). */
LFP_API size_t lfp_object_size(const lfp_pool *pool);

#ifdef __cplusplus
}
#endif

/* The cache-hit fast paths, inlined into callers (LFPOOL_NO_INLINE: not). */
#include "lfpool_inline.h"

#endif /* LFPOOL_H */
