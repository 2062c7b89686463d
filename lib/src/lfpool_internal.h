/*
 * lfpool private header: the layers and how data flows between them.
 *
 *   API (access.c, pool.c)  ->  thread cache (tcache.c)  ->  depot (depot.c)
 *                                                        ->  slab (slab.c)
 *
 * - slab:   one reserved, lazily committed arena of `capacity` fixed-size
 *           slots; each slot = header + object. Hands out vacant slots.
 * - depot:  the shared free list: a Treiber stack of magazines (batches of
 *           object pointers) guarded by ck_hp hazard pointers.
 * - tcache: per-thread, per-pool object arrays; the wait-free fast path.
 * - wait:   futex sleeping, the asymmetric (membarrier) fence, clocks.
 *
 * Our own shared state uses C11 <stdatomic.h> (visible to ThreadSanitizer);
 * ck provides the hazard-pointer records and scans. Every atomic access says
 * what it orders against.
 */
#ifndef LFPOOL_INTERNAL_H
#define LFPOOL_INTERNAL_H

#include "lfpool.h"

#include <ck_hp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LFP_CACHELINE	64
#define LFP_ALIGNED	__attribute__((aligned(LFP_CACHELINE)))
#define LFP_LIKELY(x)	__builtin_expect(!!(x), 1)
#define LFP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LFP_HIDDEN	__attribute__((visibility("hidden")))

/*
 * Hazard-pointer records per pool, including the shared overflow record.
 * ck 0.7.1's scan (ck_hp_member_cache) overruns its 512-entry cache when
 * more than 512 hazard slots are non-NULL at once; with degree 1 and at most
 * this many records, at most 256 slots can ever be non-NULL.
 */
#define LFP_HP_RECORDS_MAX 256
#define LFP_HP_THRESHOLD   16 /* pending magazines before a scan */
/* Objects per magazine: half a full cache (one batch). */
#define LFP_MAG_MAX ((LFP_CACHE_MAX + 1) / 2)

#if defined(__SANITIZE_THREAD__)
#define LFP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LFP_TSAN 1
#endif
#endif

/* ---------------------------------------------------------------- slab */

/* In front of every object. 16 bytes; the object follows at hdr_off. */
struct lfp_hdr {
	/* Odd while acquired, even while idle or vacant; only ever grows, so a
	 * (slot, gen) pair names one acquisition for the pool's lifetime. */
	_Atomic uint64_t gen;
	/* slot index + 1 while an object is live in the slot, 0 when vacant. */
	_Atomic uint32_t tag;
	/* Vacant-list link (slot index + 1, 0 = end), valid while vacant. */
	_Atomic uint32_t vnext;
};

struct lfp_slab {
	char *base;	    /* slot 0 */
	char *obj_base;	    /* the object of slot 0 (base + hdr_off) */
	uint64_t span;	    /* capacity * slot_size */
	uint64_t inv_odd;   /* inverse of slot_size's odd part, mod 2^64 */
	unsigned shift;	    /* log2 of slot_size's power-of-two part */
	size_t slot_size;   /* bytes per slot */
	size_t hdr_off;	    /* object offset inside its slot */
	size_t object_size; /* user bytes */
	uint64_t capacity;  /* slots */
	void *map;	    /* the whole reservation */
	size_t map_size;
	size_t page;
	/* Never-used slots start at `fresh` (may run past capacity: clamp). */
	_Atomic uint64_t fresh LFP_ALIGNED;
	/* Vacated slots: tagged head, (ABA tag << 32) | (index + 1). */
	_Atomic uint64_t vacant;
};

LFP_HIDDEN lfp_err lfp_slab_init(struct lfp_slab *s, size_t size, size_t align,
				 uint64_t capacity);
LFP_HIDDEN void lfp_slab_fini(struct lfp_slab *s);
LFP_HIDDEN bool lfp_slab_take(struct lfp_slab *s, uint64_t *idx);
LFP_HIDDEN void lfp_slab_give(struct lfp_slab *s, uint64_t idx);
LFP_HIDDEN uint64_t lfp_slab_used(const struct lfp_slab *s);

static inline void *lfp_slab_obj(const struct lfp_slab *s, uint64_t idx)
{
	return s->base + idx * s->slot_size + s->hdr_off;
}

static inline struct lfp_hdr *lfp_hdr_of(const void *obj)
{
	return (struct lfp_hdr *)((char *)(uintptr_t)obj -
				  sizeof(struct lfp_hdr));
}

/*
 * Is `obj` the object address of one of the slab's slots? Pure arithmetic,
 * no memory access: off = obj - obj_base is a multiple q of slot_size with
 * q < capacity iff ror(off * inv_odd, shift) == q < capacity (exact
 * division by multiplication with the inverse of slot_size's odd part:
 * for any other off, including "negative" ones, the result is >= 2^64 /
 * slot_size > capacity). *idx receives q.
 */
static inline bool lfp_slab_slot_of(const struct lfp_slab *s, const void *obj,
				    uint64_t *idx)
{
	uint64_t x =
		((uint64_t)(uintptr_t)obj - (uint64_t)(uintptr_t)s->obj_base) *
		s->inv_odd;
	*idx = (x >> s->shift) | (x << ((64 - s->shift) & 63));
	return LFP_LIKELY(*idx < s->capacity);
}

/* Is `obj` a live object of this slab (its slot's tag says so)? Reads the
 * header only after lfp_slab_slot_of succeeded, so any pointer is safe. */
static inline bool lfp_slab_find(const struct lfp_slab *s, const void *obj,
				 uint64_t *idx)
{
	if (!lfp_slab_slot_of(s, obj, idx))
		return false;
	/* Relaxed: the tag was published to this thread together with the
	 * object itself (by whatever handed the object over). */
	return atomic_load_explicit(&lfp_hdr_of(obj)->tag,
				    memory_order_relaxed) == *idx + 1;
}

/* ---------------------------------------------------------------- depot */

struct lfp_depot;

struct lfp_mag {
	_Atomic(struct lfp_mag *) next; /* stack link */
	struct lfp_mag *all_next;	/* every magazine, for freeing */
	struct lfp_depot *depot;	/* for the reclamation callback */
	ck_hp_hazard_t hazard;		/* ck_hp_free bookkeeping */
	uint64_t stamp_ns;		/* when its objects went idle */
	uint32_t count;
	void *objs[];
};

struct lfp_hprec {
	ck_hp_record_t rec;
	void *slot[1]; /* degree 1: the one hazard pointer */
	struct lfp_hprec *all_next;
};

struct lfp_depot {
	/* Magazines holding objects. */
	_Atomic(struct lfp_mag *) full LFP_ALIGNED;
	/* Spare magazines; re-entered only through hazard-pointer reclamation.
	 */
	_Atomic(struct lfp_mag *) empty LFP_ALIGNED;
	/* Objects in `full` (updated once per magazine). */
	_Atomic uint64_t n_objs LFP_ALIGNED;
	uint32_t mag_size;
	ck_hp_t hp;
	pthread_mutex_t lock; /* allocation lists and the overflow record */
	struct lfp_mag *all_mags;
	struct lfp_hprec *all_recs;
	unsigned n_recs;
	struct lfp_hprec *overflow; /* shared by threads without a record */
};

LFP_HIDDEN lfp_err lfp_depot_init(struct lfp_depot *d, uint32_t mag_size);
LFP_HIDDEN void lfp_depot_fini(struct lfp_depot *d);
/* A record of its own for a thread, or NULL when all are taken. */
LFP_HIDDEN struct lfp_hprec *lfp_depot_rec_get(struct lfp_depot *d);
LFP_HIDDEN void lfp_depot_rec_put(struct lfp_depot *d, struct lfp_hprec *r);
/* rec NULL: use the shared overflow record (serialised by a mutex). */
LFP_HIDDEN uint32_t lfp_depot_pop(struct lfp_depot *d, struct lfp_hprec *rec,
				  void **objs, uint64_t *stamp);
LFP_HIDDEN bool lfp_depot_push(struct lfp_depot *d, struct lfp_hprec *rec,
			       void *const *objs, uint32_t n, uint64_t stamp);

/* ---------------------------------------------------------------- tcache */

/*
 * One thread's cache for one pool. `objs`, `len` are touched by the owner's
 * fast path without locks; anybody else (a thief draining it when the pool
 * is exhausted, trim, thread exit) holds `lock` and first waits for
 * `active` to be 0 after raising pool->pressure and an asymmetric fence.
 */
struct lfp_tcache {
	_Atomic uint32_t active; /* owner inside a fast-path operation */
	_Atomic uint32_t len;	 /* objects in objs[] */
	uint32_t cap;		 /* 0: caching disabled */
	uint32_t batch;		 /* objects moved per refill/flush */
	/* Owner-written counters (relaxed load + store: single writer). */
	_Atomic uint64_t n_hit;	     /* acquires served here */
	_Atomic uint64_t n_put;	     /* releases kept here */
	_Atomic uint64_t n_miss;     /* acquires that left the cache */
	_Atomic uint64_t n_slow_acq; /* ... and then succeeded */
	_Atomic uint64_t n_slow_rel; /* releases that left the cache */
	struct lfp_pool *pool;
	struct lfp_hprec *rec; /* NULL: use the depot's overflow record */
	pthread_mutex_t lock;
	uint64_t trim_seen;  /* trim: op count at the previous pass */
	uint64_t idle_since; /* trim: when it was seen unchanged */
	struct lfp_tcache *pool_prev, *pool_next; /* pool's list */
	struct lfp_tcache *thr_prev, *thr_next;	  /* owner thread's list */
	struct lfp_tls *owner;
	void *objs[];
};

/* Per-thread table: by_slot[pool->slot] is this thread's cache for it. */
struct lfp_tls {
	uint32_t cap;
	struct lfp_tcache *list;
	_Atomic(struct lfp_tcache *) by_slot[]; /* inline: one load less */
};

extern __thread struct lfp_tls *lfp_tls_self
	__attribute__((tls_model("initial-exec")));

/* The calling thread's cache for the pool, created on first use (NULL only
 * when memory runs out: callers then use the depot directly). */
LFP_HIDDEN struct lfp_tcache *lfp_tcache_get_slow(struct lfp_pool *p);
/* The calling thread's cache for the pool if it has one (never creates). */
LFP_HIDDEN struct lfp_tcache *lfp_tcache_peek(struct lfp_pool *p);
/* Move every thread's cached objects of the pool into the depot. */
LFP_HIDDEN uint64_t lfp_tcache_drain_all(struct lfp_pool *p, bool idle_only,
					 uint64_t now);
LFP_HIDDEN void lfp_tcache_flush(struct lfp_pool *p, struct lfp_tcache *c);
LFP_HIDDEN int lfp_tcache_pool_attach(struct lfp_pool *p);
LFP_HIDDEN void lfp_tcache_pool_detach(struct lfp_pool *p);
LFP_HIDDEN void lfp_tcache_sum(struct lfp_pool *p, lfp_stats *st);

/* ---------------------------------------------------------------- wait */

LFP_HIDDEN void lfp_wait_init(void);
/* Make every thread of the process either see our earlier stores or have
 * its earlier stores visible to us (membarrier, or a fence fallback). */
LFP_HIDDEN void lfp_heavy_fence(void);
/* False when membarrier is unavailable: pools then keep their caches
 * bypassed (pressure never drops to 0), trading speed for correctness. */
LFP_HIDDEN bool lfp_heavy_fence_works(void);
LFP_HIDDEN uint64_t lfp_now_ns(void);
LFP_HIDDEN uint64_t lfp_coarse_ns(void);
LFP_HIDDEN int lfp_futex_wait(_Atomic uint32_t *w, uint32_t val,
			      uint64_t deadline_ns);
LFP_HIDDEN void lfp_futex_wake(_Atomic uint32_t *w, int n);

/* Sleeping acquirers, oldest first; each sleeps on its own futex word.
 * Objects made available kick waiters to look again (a running thread may
 * still get there first); once the oldest waiter has waited longer than
 * LFP_HANDOFF_NS, releases hand their object straight to it instead, so no
 * waiter starves (like Go's sync.Mutex starvation mode). */
#define LFP_HANDOFF_NS 1000000u
enum { LFP_W_WAITING, LFP_W_HANDED, LFP_W_KICKED, LFP_W_TIMEDOUT };

struct lfp_waiter {
	struct lfp_waiter *next;
	_Atomic uint32_t state;
	void *obj;	/* LFP_W_HANDED: the object */
	uint64_t since; /* when it first queued (kept when it queues again) */
};

struct lfp_waitq {
	pthread_mutex_t lock;
	struct lfp_waiter *head, *tail;
	_Atomic uint32_t n; /* queued waiters */
};

LFP_HIDDEN int lfp_waitq_init(struct lfp_waitq *q);
LFP_HIDDEN void lfp_waitq_fini(struct lfp_waitq *q);
LFP_HIDDEN void lfp_waitq_push(struct lfp_waitq *q, struct lfp_waiter *w,
			       bool front);
LFP_HIDDEN bool lfp_waitq_handoff(struct lfp_waitq *q, void *obj, bool force);
LFP_HIDDEN void lfp_waitq_kick(struct lfp_waitq *q, uint64_t n);
LFP_HIDDEN uint32_t lfp_waitq_sleep(struct lfp_waitq *q, struct lfp_waiter *w,
				    uint64_t deadline_ns);
LFP_HIDDEN uint32_t lfp_waitq_leave(struct lfp_waitq *q, struct lfp_waiter *w);

/* ---------------------------------------------------------------- pool */

struct lfp_pool {
	/* Read-mostly configuration, touched by every fast path. */
	struct lfp_slab slab;
	int32_t slot; /* index into each thread's lfp_tls table */
	uint32_t cache_size;
	uint32_t batch;
	uint32_t validate_on;
	bool hooks_acquire; /* validate on acquire */
	bool hooks_release; /* reset and/or validate on release */
	lfp_factory factory;
	uint64_t min_idle;
	uint64_t max_idle_ns;

	/* Non-zero while some thread waits for or drains cached objects: fast
	 * paths then step aside. Read by every fast path, written rarely. */
	_Atomic uint32_t pressure LFP_ALIGNED;

	/* Sleeping acquirers. */
	struct lfp_waitq waitq LFP_ALIGNED;

	struct lfp_depot depot;

	/* Slow-path counters (atomic read-modify-write). */
	_Atomic uint64_t live LFP_ALIGNED;
	_Atomic uint64_t peak_live;
	_Atomic uint64_t creates, create_failures, destroys,
		validation_failures;
	_Atomic uint64_t evictions, waits, timeouts, empties, steals;
	/* Counters of caches that are gone, and of cache-less operations. */
	_Atomic uint64_t acq_hit, acq_miss, acq_slow, rel_fast, rel_slow;
	_Atomic uint64_t rejected_hits; /* cache hits that failed validation */

	_Atomic uint64_t next_trim_ns;
	pthread_mutex_t trim_lock;

	/* Registry (guarded by the global registry lock). */
	struct lfp_tcache *caches;
};

/*
 * pool->pressure: the number of threads draining or waiting, plus the
 * LFP_PRESSURE_CLEAN bit: "a full drain completed while the pressure was
 * raised, and it has stayed raised since", so no cache can have gained an
 * object and later arrivals skip their drain. The bit goes when the count
 * drops to 0.
 */
#define LFP_PRESSURE_CLEAN 0x80000000u

/* Raise the pressure; true if the caches are known to be drained. */
static inline bool lfp_pressure_enter(struct lfp_pool *p)
{
	return atomic_fetch_add_explicit(&p->pressure, 1,
					 memory_order_seq_cst) &
	       LFP_PRESSURE_CLEAN;
}

static inline void lfp_pressure_mark_clean(struct lfp_pool *p)
{
	atomic_fetch_or_explicit(&p->pressure, LFP_PRESSURE_CLEAN,
				 memory_order_seq_cst);
}

static inline void lfp_pressure_leave(struct lfp_pool *p)
{
	uint32_t old = atomic_load_explicit(&p->pressure, memory_order_relaxed);
	uint32_t new;
	do
		new = (old & ~LFP_PRESSURE_CLEAN) == 1 ? 0 : old - 1;
	/* Release: a drain's writes are visible to owners that read 0. */
	while (!atomic_compare_exchange_weak_explicit(&p->pressure, &old, new,
						      memory_order_release,
						      memory_order_relaxed));
}

/* Lifecycle helpers (pool.c). */
LFP_HIDDEN lfp_err lfp_object_create(struct lfp_pool *p, void **obj);
LFP_HIDDEN void lfp_object_destroy(struct lfp_pool *p, void *obj);
LFP_HIDDEN void lfp_notify(struct lfp_pool *p, uint64_t n);
LFP_HIDDEN void lfp_maybe_trim(struct lfp_pool *p);

/* Global registry lock: pools' cache lists, threads' cache lists. */
extern pthread_mutex_t lfp_registry_lock;

/* A full memory fence. ThreadSanitizer does not model fences (and gcc
 * warns about them); there it is a seq_cst RMW on a thread-local word, a
 * full barrier on x86 that creates no cross-thread edge TSan could take for
 * synchronization. */
static inline void lfp_full_fence(void)
{
#ifdef LFP_TSAN
	static __thread _Atomic int word;
	atomic_fetch_add_explicit(&word, 0, memory_order_seq_cst);
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

static inline void lfp_count(_Atomic uint64_t *c)
{
	/* Single writer: a relaxed load + store is enough (no RMW needed). */
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static inline void lfp_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

#endif /* LFPOOL_INTERNAL_H */
