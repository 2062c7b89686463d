/*
 * lfpool private header: the layers, their data, and how data flows.
 *
 * An acquire goes down API -> thread cache -> depot -> slab and comes back
 * up the same way; nothing in a lower row calls a higher one.
 *
 *   file         owns                                    may call
 *   -----------  --------------------------------------  ---------------
 *   access.c     public acquire/release/discard API      exhausted,
 *   bulk.c       bulk API (fast paths: lfpool_inline.h)   tcache, object,
 *                                                        wait, trim
 *   exhausted.c  try's LFP_EMPTY decision, waiting       tcache, object,
 *                                                        wait
 *   pool.c       lfp_create/lfp_destroy, config checks   all below
 *   stats.c      lfp_get_stats (sums per-thread counts)  tcache
 *   close.c      lfp_close, lfp_evict_all                maintain, trim,
 *                                                        tcache, wait
 *   maintain.c   lfp_maintain and its thread,            trim, tcache,
 *                lfp_foreach, keepalive, min_idle        object, depot
 *                refill, leak reports
 *   trim.c       idle eviction; one pass also destroys   tcache, object,
 *                dead idle objects (lifecycle.h)         depot
 *   tcache.c     per-thread caches: lookup, refill,      object, depot,
 *                flush, drains by other threads, exit    wait
 *   object.c     object lifecycle: create, destroy,      depot, slab, wait
 *                take one idle, park, loosen, wake
 *   depot.c      shared free list: magazines on Treiber  (ck_hp only)
 *                stacks guarded by hazard pointers
 *   handle.c     weak handles                            slab
 *   slab.c       the arena of slots; vacant and loose    -
 *                slot stacks
 *   wait.c       futex wait queue, fences, clocks        -
 *   fork.c       pool registry, pthread_atfork handlers  tcache
 *   error.c      messages, version                       -
 *
 * User callbacks (factory create/validate/reset/destroy), futex wakes and
 * ck_hp_purge never run while an lfpool lock is held.
 *
 * Our own shared state uses C11 <stdatomic.h> (visible to ThreadSanitizer);
 * ck provides the hazard-pointer records and scans. Every atomic access says
 * what it orders against.
 */
#ifndef LFPOOL_INTERNAL_H
#define LFPOOL_INTERNAL_H

#define LFP__BUILDING_LIBRARY 1 /* no gnu_inline API copies here */
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
#define LFP_NOINLINE	__attribute__((noinline))

#if defined(__SANITIZE_THREAD__)
#define LFP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LFP_TSAN 1
#endif
#endif

/* Invariant checks: on in debug builds (no NDEBUG) and with LFP_DEBUG. */
#if !defined(NDEBUG) || defined(LFP_DEBUG)
LFP_HIDDEN void lfp_assert_fail(const char *what, const char *file, int line);
#define LFP_ASSERT(x)                                                          \
	(LFP_LIKELY(x) ? (void)0 : lfp_assert_fail(#x, __FILE__, __LINE__))
#else
#define LFP_ASSERT(x) ((void)0)
#endif

#include "test_hooks.h"

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

#include "wait.h"

/* ================================================================ slab */

/* In front of every object. 16 bytes; the object follows at hdr_off. */
struct lfp_hdr {
	/* The object's state (see "generations" below). */
	_Atomic uint64_t gen;
	/* slot index + 1 while an object is live in the slot, 0 when vacant. */
	_Atomic uint32_t tag;
	/* Vacant-list link (slot index + 1, 0 = end), valid while vacant. */
	_Atomic uint32_t vnext;
};

struct lfp_slab {
	char *base;	    /* slot 0 */
	char *obj_base;	    /* the object of slot 0 (base + hdr_off) */
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
	/* Loose idle objects, the same way: single objects released while
	 * others wait move here in one CAS (no magazine, no hazard pointer). */
	_Atomic uint64_t loose LFP_ALIGNED;
};

LFP_HIDDEN lfp_err lfp_slab_init(struct lfp_slab *s, size_t size, size_t align,
				 uint64_t capacity);
LFP_HIDDEN void lfp_slab_fini(struct lfp_slab *s);
/* *fresh: the slot was never used (its memory is still zero). */
LFP_HIDDEN bool lfp_slab_take(struct lfp_slab *s, uint64_t *idx, bool *fresh);
/* Zero a reused slot's object (skipping pages lfp_slab_give returned). */
LFP_HIDDEN void lfp_slab_zero(struct lfp_slab *s, uint64_t idx);
LFP_HIDDEN void lfp_slab_give(struct lfp_slab *s, uint64_t idx);
LFP_HIDDEN uint64_t lfp_slab_used(const struct lfp_slab *s);
/* Loose idle objects (lock-free stack through the headers). */
LFP_HIDDEN void lfp_slab_loose_push(struct lfp_slab *s, void *obj);
LFP_HIDDEN void *lfp_slab_loose_pop(struct lfp_slab *s);
LFP_HIDDEN bool lfp_slab_loose_any(struct lfp_slab *s);

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

/*
 * Generations: the one state machine of an object, in its header's `gen`.
 *   vacant (even) --created--> acquired (odd) --released--> idle (even)
 *   idle (even) --acquired--> acquired (odd)
 *   idle or acquired --destroyed--> vacant (even, strictly larger)
 * It only grows, so a (slot, gen) pair names one acquisition for the pool's
 * lifetime (weak handles), and parity tells acquired from not (double
 * release). Only the object's single current owner writes it; relaxed,
 * because the object itself is handed over by other synchronization.
 */
static inline uint64_t lfp_gen_load(const void *obj)
{
	return atomic_load_explicit(&lfp_hdr_of(obj)->gen,
				    memory_order_relaxed);
}

static inline void lfp_gen_store(void *obj, uint64_t g)
{
	atomic_store_explicit(&lfp_hdr_of(obj)->gen, g, memory_order_relaxed);
}

/* idle -> acquired; also vacant -> acquired at creation. */
static inline void lfp_gen_to_acquired(void *obj)
{
	uint64_t g = lfp_gen_load(obj);
	LFP_ASSERT((g & 1) == 0);
	lfp_gen_store(obj, g + 1);
}

/* acquired (generation g, already loaded) -> idle. */
static inline void lfp_gen_to_idle(void *obj, uint64_t g)
{
	LFP_ASSERT((g & 1) == 1);
	lfp_gen_store(obj, g + 1);
}

/* idle or acquired -> vacant. */
static inline void lfp_gen_to_vacant(void *obj)
{
	lfp_gen_store(obj, (lfp_gen_load(obj) + 2) & ~(uint64_t)1);
}

static inline bool lfp_gen_is_acquired(uint64_t g)
{
	return g & 1;
}

/* ================================================================ depot */

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

/*
 * transit: objects taken out of a visible place (the depot, a thread
 * cache) that have not yet landed in another one. Low 32 bits: moves in
 * progress; high 32 bits: moves completed (wraps). A reader that sees the
 * same word, with no move in progress, before and after looking at every
 * place knows no idle object slipped past it (lfp_try_acquire's EMPTY
 * guarantee).
 */
#define LFP_TRANSIT_DONE ((uint64_t)1 << 32)

struct lfp_depot {
	/* Magazines holding objects. */
	_Atomic(struct lfp_mag *) full LFP_ALIGNED;
	/* Spare magazines; re-entered only through hazard-pointer reclamation.
	 */
	_Atomic(struct lfp_mag *) empty LFP_ALIGNED;
	_Atomic uint64_t transit LFP_ALIGNED;
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
/* Give a record back (purges its pending magazines: call without locks). */
LFP_HIDDEN void lfp_depot_rec_put(struct lfp_depot *d, struct lfp_hprec *r);
/* Pop one magazine into objs[] (rec NULL: the shared overflow record). The
 * objects count as in transit until lfp_transit_end(). 0: depot empty. */
LFP_HIDDEN uint32_t lfp_depot_pop(struct lfp_depot *d, struct lfp_hprec *rec,
				  void **objs, uint64_t *stamp);
/* Push objs[0..n), n <= mag_size, as one magazine; false if no magazine
 * could be had (the caller keeps the objects). */
LFP_HIDDEN bool lfp_depot_push(struct lfp_depot *d, struct lfp_hprec *rec,
			       void *const *objs, uint32_t n, uint64_t stamp);

static inline bool lfp_depot_empty(struct lfp_depot *d)
{
	/* seq_cst: ordered against lfp_transit_begin's RMW (see transit). */
	return atomic_load_explicit(&d->full, memory_order_seq_cst) == NULL;
}

static inline void lfp_transit_begin(struct lfp_depot *d)
{
	atomic_fetch_add_explicit(&d->transit, 1, memory_order_seq_cst);
}

static inline void lfp_transit_end(struct lfp_depot *d)
{
	/* Release: where the objects landed is visible to a reader that sees
	 * the move completed. */
	atomic_fetch_add_explicit(&d->transit, LFP_TRANSIT_DONE - 1,
				  memory_order_seq_cst);
}

/* ================================================================ tcache */

/*
 * One thread's cache for one pool: objs[top..bottom) are idle objects, the
 * newest at bottom - 1. The owner pushes and pops at the bottom with plain
 * loads and stores; other threads (a drain when the pool runs dry, trim)
 * take from the top under `lock`, like the thieves of a work-stealing
 * deque, with the asymmetric fence in place of the owner's store-load
 * fence (tcache.c has the protocol).
 *
 * The first line is the owner's fast path.
 */
#define LFP_TOP_CLAIMED 0x40000000u /* top while a thief is inside */
#define LFP_POOL_NONE	((lfp_pool *)(uintptr_t)1)

struct lfp_tcache {
	/* The owner's fast-path line (acq_key, rel_key, bottom, top, cap,
	 * batch, n_hit, n_put), shared with lfpool_inline.h. The keys are
	 * LFP_POOL_NONE when the pool has acquire (release) hooks, no cache,
	 * or is gone. */
	struct lfp__cache pub;

	_Atomic uint64_t n_miss LFP_ALIGNED; /* acquires that left the cache */
	_Atomic uint64_t n_slow_acq;	     /* ... and then succeeded */
	_Atomic uint64_t n_slow_rel;	     /* releases that left the cache */
	_Atomic uint64_t n_discard;	     /* lfp_discard */
	struct lfp_pool *pool;
	struct lfp_hprec *rec; /* NULL: use the depot's overflow record */
	pthread_mutex_t lock;  /* owner's slow paths and thieves */
	_Atomic uint32_t dead; /* the pool is destroyed: free me */
	uint32_t claim_top;    /* a thief's: top before its claim */
	bool linked;	       /* on the pool's list (under its list_lock) */
	bool orphan;	       /* its thread vanished in fork(): no owner */
	_Atomic uint64_t last_slow_ns; /* owner's last slow-path operation */
	struct lfp_tcache *pool_prev, *pool_next; /* pool's list */
	struct lfp_tcache *thr_next;		  /* owner thread's list */
	void *objs[] __attribute__((aligned(LFP__CACHE_OBJS)));
};
_Static_assert(offsetof(struct lfp_tcache, pub) == 0, "ABI: cache view");
_Static_assert(offsetof(struct lfp_tcache, objs) == LFP__CACHE_OBJS,
	       "ABI: cache objs offset");

/* Field access for the shared view (GNU atomics, as lfpool_inline.h). */
#define LFP_LD(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define LFP_ST(x, v)  __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define LFP_LDA(x)    __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define LFP_STR(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static inline struct lfp_tcache *lfp_tcache_of(struct lfp__cache *v)
{
	return (struct lfp_tcache *)(void *)v;
}

/* The hazard-pointer record for depot operations of a thread that may
 * have no cache (NULL: the depot's overflow record). */
static inline struct lfp_hprec *lfp_tcache_rec(struct lfp_tcache *c)
{
	return c ? c->rec : NULL;
}

/* The calling thread's cache for the pool, created on first use (NULL only
 * when memory runs out: callers then use the depot directly). Also makes
 * it lfp__tls_cache, the one the inline fast paths look at. */
LFP_HIDDEN struct lfp_tcache *lfp_tcache_get(struct lfp_pool *p);
/* ... if it exists (never creates). */
LFP_HIDDEN struct lfp_tcache *lfp_tcache_find(struct lfp_pool *p);

/* Owner side, slow paths (take c->lock). */
LFP_HIDDEN void *lfp_tcache_pop_slow(struct lfp_pool *p, struct lfp_tcache *c,
				     bool refill);
LFP_HIDDEN bool lfp_tcache_push_slow(struct lfp_pool *p, struct lfp_tcache *c,
				     void *obj);
/* Waiters want objects: the cache's objects go onto the loose stack. */
LFP_HIDDEN void lfp_tcache_loosen(struct lfp_pool *p, struct lfp_tcache *c);

/* Thief side. Move cached objects of other threads into the depot: all
 * of them stamped `now` (max_ns LFP_DRAIN_ALL), or only those of caches
 * whose owner did no slow-path operation for max_ns, stamped with that
 * operation's time (trim). Returns the number moved. */
#define LFP_DRAIN_ALL UINT64_MAX
LFP_HIDDEN uint64_t lfp_tcache_drain_all(struct lfp_pool *p, uint64_t max_ns,
					 uint64_t now);
/* Might any cache hold an object? (No fence, no lock but the list's.) */
LFP_HIDDEN bool lfp_tcache_any_cached(struct lfp_pool *p);

/* Pool attach/detach. */
LFP_HIDDEN lfp_err lfp_tcache_pool_init(struct lfp_pool *p);
LFP_HIDDEN void lfp_tcache_pool_fini(struct lfp_pool *p);
/* fork: (re)make the list lock; in the child, caches of vanished threads
 * become orphans (drained by others, freed by lfp_destroy). */
LFP_HIDDEN int lfp_tcache_list_lock_init(struct lfp_pool *p);
LFP_HIDDEN void lfp_tcache_adopt_orphans(struct lfp_pool *p);
/* fork.c: the registry of live pools and the atfork handlers. */
LFP_HIDDEN void lfp_fork_register(struct lfp_pool *p);
LFP_HIDDEN void lfp_fork_unregister(struct lfp_pool *p);
/* Sum live caches' counters into st (with the pool's folded ones). */
LFP_HIDDEN void lfp_tcache_sum(struct lfp_pool *p, lfp_stats *st,
			       uint64_t *discards);

static inline void lfp_count(_Atomic uint64_t *c, uint64_t n)
{
	/* Single writer: a relaxed load + store is enough (no RMW needed). */
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void lfp_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

#include "lifecycle.h"

/* ================================================================ pool */

struct lfp_pool {
	/* The inline fast path's constants and the waiters count (pub.waiters:
	 * waiting acquirers, plus LFP_WAITERS_CLEAN: "a drain completed after
	 * the count last rose from 0", so releases since then saw the count
	 * and left their object where waiters look, and a later waiter need
	 * not drain again; cleared when the count drops to 0). */
	struct lfp__pool_view pub;

	/* Read-mostly configuration. */
	struct lfp_slab slab;
	uint32_t cache_size;
	uint32_t batch;
	uint32_t validate_on;
	bool hooks_acquire; /* validate on acquire */
	bool hooks_release; /* reset and/or validate on release */
	lfp_factory factory;
	uint64_t min_idle;
	uint64_t max_idle_ns;

	/* Sleeping acquirers. */
	struct lfp_waitq waitq LFP_ALIGNED;

	struct lfp_depot depot;

	/* Slow-path counters (atomic read-modify-write). */
	_Atomic uint64_t live LFP_ALIGNED;
	_Atomic uint64_t peak_live;
	_Atomic uint64_t creates, create_failures, destroys,
		validation_failures;
	_Atomic uint64_t evictions, waits, timeouts, empties, steals;
	/* Counters of caches that are gone, and of cache-less operations
	 * (under list_lock for folding, so sums never count one twice). */
	_Atomic uint64_t acq_hit, acq_miss, acq_slow, rel_fast, rel_slow;
	_Atomic uint64_t discards;

	_Atomic uint64_t next_trim_ns;

	/* This pool's thread caches: readers walk (drains, stats), writers
	 * link and unlink (thread attach and exit, destroy). */
	pthread_rwlock_t list_lock;
	struct lfp_tcache *caches;
	_Atomic uint32_t exiting; /* thread exits flushing into this pool */

	struct lfp_pool *fork_prev, *fork_next; /* fork.c's registry */
	struct lfp_life life;			/* lifecycle.h */
};

_Static_assert(offsetof(struct lfp_pool, pub) == 0, "ABI: pool view");

#define LFP_WAITERS_CLEAN 0x80000000u

/* Become a waiter; true if the caches are known to be drained. */
static inline bool lfp_waiters_enter(struct lfp_pool *p)
{
	/* seq_cst RMW, then (unless clean) the heavy fence and a drain:
	 * every fast release either sees us or has its object seen. */
	return __atomic_fetch_add(&p->pub.waiters, 1, __ATOMIC_SEQ_CST) &
	       LFP_WAITERS_CLEAN;
}

static inline void lfp_waiters_mark_clean(struct lfp_pool *p)
{
	__atomic_fetch_or(&p->pub.waiters, LFP_WAITERS_CLEAN, __ATOMIC_SEQ_CST);
}

static inline void lfp_waiters_leave(struct lfp_pool *p)
{
	uint32_t old = LFP_LD(p->pub.waiters), new;
	do
		new = (old & ~LFP_WAITERS_CLEAN) == 1 ? 0 : old - 1;
	while (!__atomic_compare_exchange_n(&p->pub.waiters, &old, new, true,
					    __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED));
}

/* Does anybody wait? (Relaxed: a hint, except after a push and the light
 * fence, where it is the owner's half of Dekker pair 2.) */
static inline bool lfp_pool_waiters(struct lfp_pool *p)
{
	return LFP_LD(p->pub.waiters) != 0;
}

/* ================================================================ object */

/* A new object in a vacant slot: *obj acquired and counted live.
 * LFP_EMPTY when all slots are live, LFP_ECREATE when create() failed. */
LFP_HIDDEN lfp_err lfp_object_create(struct lfp_pool *p, void **obj);
/* Destroy an object the caller owns (acquired, or taken from the pool). */
LFP_HIDDEN void lfp_object_destroy(struct lfp_pool *p, void *obj);
/* The one way objects enter the depot outside a cache: in magazine-sized
 * chunks, destroying what finds no magazine, waking sleepers once. */
LFP_HIDDEN void lfp_object_park(struct lfp_pool *p, struct lfp_hprec *rec,
				void *const *objs, size_t n, uint64_t stamp);
/* One idle object: from the loose stack, else a magazine of the depot (the
 * rest of it goes back); NULL if neither has any. */
LFP_HIDDEN void *lfp_object_take_idle(struct lfp_pool *p,
				      struct lfp_hprec *rec);
/* When an idle object went idle (as recorded on slow paths: the loose
 * stack's objects always have it). */
LFP_HIDDEN uint64_t lfp_object_idle_since(struct lfp_pool *p, void *obj);
/* Is any object on the loose stack or in the depot? */
LFP_HIDDEN bool lfp_object_any_idle(struct lfp_pool *p);
/* Idle objects that waiters want: the first to the oldest sleeper if it
 * has waited LFP_HANDOFF_NS, the rest onto the slab's loose stack one by
 * one (one CAS each), kicking a sleeper once. */
LFP_HIDDEN void lfp_object_loosen(struct lfp_pool *p, void *const *objs,
				  size_t n);
/* n objects or slots became available: kick a sleeper if any. */
LFP_HIDDEN void lfp_notify(struct lfp_pool *p);
/* Check that obj is an acquired object of p; LFP_OK (and *gen) or why
 * not. An odd generation means acquired, hence live; even: idle (a double
 * release) or vacant. */
static inline lfp_err lfp_object_check(const struct lfp_pool *p,
				       const void *obj, uint64_t *gen)
{
	if (LFP_LIKELY(
		    lfp__check_acquired(&p->pub, (void *)(uintptr_t)obj, gen)))
		return LFP_OK;
	uint64_t idx;
	if (!lfp_slab_slot_of(&p->slab, obj, &idx))
		return LFP_EFOREIGN;
	return lfp_slab_find(&p->slab, obj, &idx) ? LFP_EDOUBLE : LFP_EFOREIGN;
}

/* ================================================================ access */

/* exhausted.c: nothing idle and no free slot. deadline 0: try only
 * (LFP_EMPTY once nothing idle is left), else wait until the deadline
 * (UINT64_MAX: forever). */
LFP_HIDDEN lfp_err lfp_acquire_exhausted(struct lfp_pool *p,
					 struct lfp_tcache *c, void **obj,
					 bool *fresh, uint64_t deadline);

/* An idle object (generation bumped) that the cache could not keep, or
 * that waiters want: the cache's slow push, a starving waiter, or the
 * depot. */
LFP_HIDDEN void lfp_release_idle(struct lfp_pool *p, struct lfp_tcache *c,
				 void *obj);

/* ================================================================ stats */

/* Is out->struct_size one we can fill? Then copy a full snapshot in. */
LFP_HIDDEN lfp_err lfp_stats_check(const lfp_stats *out);
LFP_HIDDEN void lfp_stats_copy_out(const lfp_stats *full, lfp_stats *out);

/* ================================================================ trim */

/* Run a trim pass if one is due (called after slow paths). */
LFP_HIDDEN void lfp_maybe_trim(struct lfp_pool *p);

#endif /* LFPOOL_INTERNAL_H */
