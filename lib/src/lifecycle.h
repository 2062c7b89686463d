/*
 * lifecycle.h — private declarations of the 0.2 pool lifecycle: close,
 * maintenance (keepalive, min_idle refill, leak reports), max lifetime,
 * epochs (lfp_evict_all), create back-off, per-slot metadata, histograms.
 * Included by lfpool_internal.h before struct lfp_pool (which embeds
 * struct lfp_life); the helpers here take the lfp_life, not the pool.
 *
 * Files: close.c (lfp_close, lfp_evict_all), maintain.c (lfp_maintain, the
 * maintenance thread, lfp_foreach); object.c stamps the metadata; trim.c's
 * pass destroys dead idle objects (closed, expired, older epoch).
 */
#ifndef LFPOOL_LIFECYCLE_H
#define LFPOOL_LIFECYCLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct lfp_pool;
struct lfp_tcache;

/* Internal only, never returned to users: create is backing off
 * (create_retry_ns) and this caller may not attempt one now. */
#define LFP_EBACKOFF ((lfp_err)100)
/* Create back-off cap: the delay doubles up to 32 x create_retry_ns. */
#define LFP_RETRY_CAP_SHIFT 5
/* Jitter subtracted from max_lifetime_ns: up to 1/40 (2.5 %). */
#define LFP_LIFETIME_JITTER_DIV 40

/*
 * Per-slot metadata, a parallel array (index = slot index) reserved like
 * the arena (mmap NORESERVE, committed as slots are first used). The
 * 16-byte object header is ABI and does not grow.
 */
struct lfp_meta {
	_Atomic uint64_t born_ns;   /* creation (lfp_now_ns) */
	_Atomic uint64_t since_ns;  /* last slow-path transition */
	_Atomic uint64_t expire_ns; /* never handed out from then; 0: never */
	_Atomic uint64_t epoch;	    /* the pool's epoch at creation */
	_Atomic(void *) site;	    /* acquire site (leak detection on) */
	_Atomic uint32_t leaked;    /* reported for this acquisition */
	uint32_t pad_;
};

struct lfp_hist {
	_Atomic uint64_t b[LFP_HIST_BUCKETS];
};

static inline void lfp_hist_add(struct lfp_hist *h, uint64_t v)
{
	unsigned i = v < 2 ? 0 : 63u - (unsigned)__builtin_clzll(v);
	if (i >= LFP_HIST_BUCKETS)
		i = LFP_HIST_BUCKETS - 1;
	atomic_fetch_add_explicit(&h->b[i], 1, memory_order_relaxed);
}

struct lfp_life {
	struct lfp_meta *meta;
	size_t meta_size;
	/* Configuration. */
	uint64_t max_lifetime_ns, keepalive_ns, retry_ns, leak_ns;
	void (*on_leak)(void *ctx, void *obj, uint64_t held_ns, void *site);
	bool generic; /* lifetime or leaks: caches never serve the fast path */
	bool track;   /* leak detection: acquire times and sites */
	/* State. */
	_Atomic uint32_t closed;
	_Atomic uint32_t pass;		/* a trim pass runs (try-only flag) */
	_Atomic uint64_t epoch;		/* lfp_evict_all count */
	_Atomic uint64_t clean_epoch;	/* no live object older than this */
	_Atomic uint64_t next_clean_ns; /* rate limit of the clean scan */
	_Atomic uint64_t retry_at;	/* back-off: next create attempt */
	_Atomic uint64_t retry_delay;	/* back-off: current delay, 0: none */
	_Atomic int last_create_error;
	_Atomic uint64_t expirations, keepalive_failures, leaks;
	_Atomic uint64_t next_keepalive_ns;
	struct lfp_hist wait_hist, hold_hist, create_hist;
	/* The maintenance thread (maintenance_thread != 0). */
	pthread_mutex_t mt_lock;
	pthread_cond_t mt_cond;
	pthread_t mt;
	bool mt_on, mt_stop;
};

static inline bool lfp_life_closed(struct lfp_life *l)
{
	/* seq_cst: ordered against the wait queue (close wakes everyone
	 * after this store; a waiter checks it after queueing). */
	return atomic_load_explicit(&l->closed, memory_order_seq_cst) != 0;
}

static inline uint64_t lfp_life_epoch(struct lfp_life *l)
{
	return atomic_load_explicit(&l->epoch, memory_order_acquire);
}

/* Must every object handed out or released be looked at? */
static inline bool lfp_life_checks(struct lfp_life *l)
{
	return l->max_lifetime_ns || lfp_life_epoch(l) ||
	       atomic_load_explicit(&l->closed, memory_order_relaxed);
}

/* May thread caches serve this pool's fast paths (keys armed)? */
static inline bool lfp_life_keys_ok(struct lfp_life *l)
{
	return !l->generic && !lfp_life_closed(l) &&
	       atomic_load_explicit(&l->clean_epoch, memory_order_acquire) ==
		       lfp_life_epoch(l);
}

/* object.c */
LFP_HIDDEN lfp_err lfp_life_init(struct lfp_pool *p, const lfp_config *cfg);
LFP_HIDDEN void lfp_life_fini(struct lfp_pool *p);
/* Closed, expired at `now` (coarse clock) or from an older epoch. */
LFP_HIDDEN bool lfp_life_dead(struct lfp_pool *p, void *obj, uint64_t now);
/* Destroy a dead object, counting why. */
LFP_HIDDEN void lfp_life_destroy_dead(struct lfp_pool *p, void *obj,
				      uint64_t now);
/* The generic paths: stamp an acquisition / account a release. */
LFP_HIDDEN void lfp_life_on_acquire(struct lfp_pool *p, void *obj, void *site);
LFP_HIDDEN void lfp_life_on_release(struct lfp_pool *p, void *obj);

/* tcache.c (additive): disarm every cache's keys (then the heavy fence);
 * re-arm the caller's own when lfp_life_keys_ok; flush the owner's cache
 * keeping its objects' age. (Draining aged caches: lfp_tcache_drain_all.) */
LFP_HIDDEN void lfp_tcache_disarm_all(struct lfp_pool *p);
LFP_HIDDEN void lfp_tcache_rearm(struct lfp_pool *p, struct lfp_tcache *c);
LFP_HIDDEN void lfp_tcache_flush_aged(struct lfp_pool *p, struct lfp_tcache *c);

/* wait.c: wake every sleeper (they look again: close). */
LFP_HIDDEN void lfp_waitq_wake_all(struct lfp_waitq *q);

/* trim.c: one pass. */
enum {
	LFP_PASS_ALL = 1,	/* drain every cache, not only aged ones */
	LFP_PASS_KEEPALIVE = 2, /* validate every idle object */
	LFP_PASS_WAIT = 4, /* wait for a running pass instead of skipping */
};
LFP_HIDDEN uint64_t lfp_trim_pass(struct lfp_pool *p, uint64_t max_ns,
				  unsigned flags, bool *ran);

/* maintain.c */
LFP_HIDDEN void lfp_life_slow_path(struct lfp_pool *p, struct lfp_tcache *c);
LFP_HIDDEN lfp_err lfp_mt_start(struct lfp_pool *p);
LFP_HIDDEN void lfp_mt_stop(struct lfp_pool *p);
/* Let the maintenance thread (if any) run now. */
LFP_HIDDEN void lfp_mt_kick(struct lfp_pool *p);

/* access.c: the generic acquire (site: the user's call site). */
LFP_HIDDEN lfp_err lfp_acquire_generic(struct lfp_pool *p, void **out,
				       uint64_t timeout_ns, void *site);

#endif /* LFPOOL_LIFECYCLE_H */
