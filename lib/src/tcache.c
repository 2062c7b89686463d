/*
 * tcache.c — per-thread caches: lookup, the owner's slow paths (refill,
 * flush), drains by other threads, thread exit.
 *
 * Each thread keeps a list of its caches (one per pool it used) and a
 * pointer to the one it used last (lfp__tls_cache, what the fast path
 * reads). A cache is created on a thread's first operation on a pool and
 * linked into the pool's list (under the pool's list_lock), so that
 *   - a thread that exits flushes each of its caches into its pool
 *     (pthread key destructor), and
 *   - a waiter, try-acquire or trim can move objects out of caches of
 *     threads that are not calling lfpool right now.
 * A pool that is destroyed marks its caches dead; their owners free them
 * (at exit, or when they next look a cache up). No lock is global.
 *
 * The cache is a work-stealing deque without the owner's fence:
 *   owner (fast path, no lock):   pop:  bottom = b - n; LIGHT; read top
 *                                 push: objs[b] = o; bottom = b + n (rel)
 *   thief (under c->lock):        top = CLAIMED; HEAVY; read bottom (acq);
 *                                 take objs[t .. bottom); top = new top
 * Dekker pair 1 (pop vs steal): the owner stores bottom and loads top; the
 * thief stores top and loads bottom; lfp_heavy_fence (membarrier) puts a
 * full barrier on the owner's CPU before or after its load, so either the
 * owner sees CLAIMED (and undoes its pop) or the thief sees the lowered
 * bottom (and leaves the popped slot alone).
 * Dekker pair 2 (push vs waiter): see access.c (release) and
 * lfp_waiters_enter: the owner stores bottom and then loads pool->waiters.
 * The owner's slow paths take c->lock, so they never overlap a thief.
 */
#include "lfpool_internal.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* Matches no pool: the fast path of a thread without caches falls through. */
static struct lfp__cache dummy_cache = {
	.acq_key = LFP_POOL_NONE,
	.rel_key = LFP_POOL_NONE,
};

__thread struct lfp__cache *lfp__tls_cache
	__attribute__((tls_model("initial-exec"))) = &dummy_cache;
static __thread struct lfp_tcache *tls_list;
static __thread bool tls_registered;

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void thread_exit(void *arg);

static void exit_key_make(void)
{
	pthread_key_create(&exit_key, thread_exit);
}

/* ------------------------------------------------------------ lookup */

static bool is_dead(struct lfp_tcache *c)
{
	/* Acquire: pairs with the release store in lfp_tcache_pool_fini. */
	return atomic_load_explicit(&c->dead, memory_order_acquire);
}

struct lfp_tcache *lfp_tcache_find(struct lfp_pool *p)
{
	struct lfp_tcache *c = lfp_tcache_of(lfp__tls_cache);
	if (lfp__tls_cache != &dummy_cache && c->pool == p && !is_dead(c))
		return c;
	/* Walk the thread's list, freeing caches of destroyed pools. */
	for (struct lfp_tcache **pp = &tls_list; (c = *pp) != NULL;) {
		if (is_dead(c)) {
			*pp = c->thr_next;
			if (lfp__tls_cache == &c->pub)
				lfp__tls_cache = &dummy_cache;
			pthread_mutex_destroy(&c->lock);
			free(c);
			continue;
		}
		if (c->pool == p) {
			lfp__tls_cache = &c->pub;
			return c;
		}
		pp = &c->thr_next;
	}
	return NULL;
}

struct lfp_tcache *lfp_tcache_get(struct lfp_pool *p)
{
	struct lfp_tcache *c = lfp_tcache_find(p);
	if (c)
		return c;
	/* objs[] sits at LFP__CACHE_OBJS: the struct is aligned to that. */
	size_t align = _Alignof(struct lfp_tcache);
	size_t size = sizeof(*c) + p->cache_size * sizeof(void *);
	size = (size + align - 1) & ~(align - 1);
	c = aligned_alloc(align, size);
	if (!c)
		return NULL;
	memset(c, 0, size);
	if (!tls_registered) {
		pthread_once(&exit_key_once, exit_key_make);
		if (pthread_setspecific(exit_key, c) != 0) {
			free(c);
			return NULL;
		}
		tls_registered = true;
	}
	c->pub.cap = p->cache_size;
	c->pub.batch = p->batch;
	c->pool = p;
	c->rec = lfp_depot_rec_get(&p->depot);
	pthread_mutex_init(&c->lock, NULL);
	pthread_rwlock_wrlock(&p->list_lock);
	/* Under the list lock: a close or evict_all that disarms the list
	 * either sees this cache or is seen here (lfp_life_keys_ok). */
	bool off = !p->cache_size || !lfp_life_keys_ok(&p->life);
	c->pub.acq_key = p->hooks_acquire || off ? LFP_POOL_NONE : p;
	c->pub.rel_key = p->hooks_release || off ? LFP_POOL_NONE : p;
	c->pool_next = p->caches;
	if (p->caches)
		p->caches->pool_prev = c;
	p->caches = c;
	c->linked = true;
	pthread_rwlock_unlock(&p->list_lock);
	c->thr_next = tls_list;
	tls_list = c;
	lfp__tls_cache = &c->pub;
	return c;
}

/* ------------------------------------------------------------ owner */

/* Under c->lock (no thief inside): the cached objects are objs[t..b). */
static uint32_t locked_len(struct lfp_tcache *c, uint32_t *t)
{
	*t = LFP_LD(c->pub.top);
	LFP_ASSERT(*t != LFP_TOP_CLAIMED);
	uint32_t b = LFP_LD(c->pub.bottom);
	LFP_ASSERT(b >= *t && b <= c->pub.cap);
	return b - *t;
}

/* Under c->lock: move objs[t..t+n) to objs[0..n). */
static void locked_rebase(struct lfp_tcache *c, uint32_t t, uint32_t n)
{
	if (t) {
		memmove(c->objs, c->objs + t, n * sizeof(void *));
		LFP_ST(c->pub.top, 0);
	}
	LFP_ST(c->pub.bottom, n);
}

void *lfp_tcache_pop_slow(struct lfp_pool *p, struct lfp_tcache *c, bool refill)
{
	void *obj = NULL;
	pthread_mutex_lock(&c->lock);
	uint32_t t, n = locked_len(c, &t);
	if (n) {
		obj = c->objs[t + n - 1];
		locked_rebase(c, t, n - 1);
	} else if (refill && c->pub.cap) {
		locked_rebase(c, t, 0);
		n = lfp_depot_pop(&p->depot, c->rec, c->objs, NULL);
		if (n) {
			obj = c->objs[n - 1];
			LFP_STR(c->pub.bottom, n - 1);
			lfp_transit_end(&p->depot); /* landed here */
		}
	}
	pthread_mutex_unlock(&c->lock);
	return obj;
}

bool lfp_tcache_push_slow(struct lfp_pool *p, struct lfp_tcache *c, void *obj)
{
	if (!c->pub.cap)
		return false;
	pthread_mutex_lock(&c->lock);
	uint32_t t, n = locked_len(c, &t);
	locked_rebase(c, t, n);
	if (n >= c->pub.cap) {
		/* Full: flush the oldest batch as one magazine. */
		uint32_t b = c->pub.batch;
		if (lfp_depot_push(&p->depot, c->rec, c->objs, b,
				   lfp_coarse_ns())) {
			memmove(c->objs, c->objs + b, (n - b) * sizeof(void *));
			n -= b;
		}
	}
	bool kept = n < c->pub.cap;
	if (kept)
		c->objs[n++] = obj;
	LFP_STR(c->pub.bottom, n);
	pthread_mutex_unlock(&c->lock);
	return kept;
}

/* Empty the cache (owner, or its exiting thread): into the depot in
 * magazines stamped now or, `aged`, with the cache's last slow-path
 * operation; or, `loose`, for waiters onto the loose stack. */
static void owner_flush(struct lfp_pool *p, struct lfp_tcache *c, bool loose,
			bool aged)
{
	pthread_mutex_lock(&c->lock);
	uint32_t t, n = locked_len(c, &t);
	if (n == 0) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	/* The objects leave the cache before they land: in transit. */
	lfp_transit_begin(&p->depot);
	LFP_ST(c->pub.top, 0);
	LFP_ST(c->pub.bottom, 0);
	pthread_mutex_unlock(&c->lock);
	/* objs[t..t+n) stay put: only the owner (us) writes objs[], and a
	 * thief finds the cache empty. Parking may run destroy() and wake
	 * sleepers, so it runs unlocked. */
	if (loose)
		lfp_object_loosen(p, c->objs + t, n);
	else
		lfp_object_park(
			p, c->rec, c->objs + t, n,
			aged ? atomic_load_explicit(&c->last_slow_ns,
						    memory_order_relaxed)
			     : lfp_coarse_ns());
	lfp_transit_end(&p->depot);
}

void lfp_tcache_loosen(struct lfp_pool *p, struct lfp_tcache *c)
{
	owner_flush(p, c, true, false);
}

/* ------------------------------------------------------------ thieves */

/* Could the cache hold objects? (Racy read: a hint, or, for an object that
 * stays idle in it for a whole lfp_try_acquire, an answer.) */
static bool maybe_cached(struct lfp_tcache *c)
{
	uint32_t t = LFP_LDA(c->pub.top);
	uint32_t b = LFP_LDA(c->pub.bottom);
	return (int32_t)(b - t) > 0 && t != LFP_TOP_CLAIMED;
}

bool lfp_tcache_any_cached(struct lfp_pool *p)
{
	bool any = false;
	pthread_rwlock_rdlock(&p->list_lock);
	for (struct lfp_tcache *c = p->caches; c && !any; c = c->pool_next)
		any = maybe_cached(c);
	pthread_rwlock_unlock(&p->list_lock);
	return any;
}

/* Under c->lock, after the heavy fence that followed our claim: move
 * objs[t..bottom) into the depot; returns how many moved. */
static uint32_t steal(struct lfp_pool *p, struct lfp_tcache *c, uint32_t t,
		      struct lfp_hprec *rec, uint64_t stamp)
{
	/* Acquire: pairs with the owner's release store of bottom, so the
	 * objects it pushed are visible. */
	uint32_t b = LFP_LDA(c->pub.bottom);
	uint32_t n = (int32_t)(b - t) > 0 ? b - t : 0, moved = 0;
	while (moved < n) {
		uint32_t k = n - moved;
		if (k > p->depot.mag_size)
			k = p->depot.mag_size;
		if (!lfp_depot_push(&p->depot, rec, c->objs + t + moved, k,
				    stamp))
			break; /* out of memory: the rest stays cached */
		moved += k;
	}
	/* Release the claim: the owner may pop again above the new top. */
	LFP_STR(c->pub.top, t + moved);
	return moved;
}

/* Claim up to LFP_CLAIM_BATCH caches at a time (each one's mutex held), then
 * one heavy fence for the batch. (ThreadSanitizer tracks at most 64 held
 * locks per thread.) */
#define LFP_CLAIM_BATCH 32

static bool aged(struct lfp_tcache *c, uint64_t max_ns, uint64_t now)
{
	uint64_t t =
		atomic_load_explicit(&c->last_slow_ns, memory_order_relaxed);
	return now >= t && now - t >= max_ns;
}

uint64_t lfp_tcache_drain_all(struct lfp_pool *p, uint64_t max_ns, uint64_t now)
{
	struct lfp_tcache *mine = lfp_tcache_find(p);
	struct lfp_hprec *rec = mine ? mine->rec : NULL;
	struct lfp_tcache *claimed[LFP_CLAIM_BATCH];
	uint64_t moved = 0;
	/* The read lock keeps the list still; each cache's lock keeps other
	 * thieves and the owner's slow paths out. Claimed objects are out of
	 * sight (top == CLAIMED) until they are in the depot: in transit. */
	pthread_rwlock_rdlock(&p->list_lock);
	lfp_transit_begin(&p->depot);
	for (struct lfp_tcache *c = p->caches; c;) {
		size_t n = 0;
		for (; c && n < LFP_CLAIM_BATCH; c = c->pool_next) {
			if (c == mine || !maybe_cached(c) ||
			    (max_ns != LFP_DRAIN_ALL && !aged(c, max_ns, now)))
				continue;
			pthread_mutex_lock(&c->lock);
			c->claim_top = LFP_LD(c->pub.top);
			LFP_ST(c->pub.top, LFP_TOP_CLAIMED);
			claimed[n++] = c;
		}
		if (n == 0)
			break;
		lfp_heavy_fence();
		for (size_t i = 0; i < n; i++) {
			struct lfp_tcache *v = claimed[i];
			uint64_t stamp =
				max_ns == LFP_DRAIN_ALL
					? now
					: atomic_load_explicit(
						  &v->last_slow_ns,
						  memory_order_relaxed);
			moved += steal(p, v, v->claim_top, rec, stamp);
			pthread_mutex_unlock(&v->lock);
		}
	}
	lfp_transit_end(&p->depot);
	pthread_rwlock_unlock(&p->list_lock);
	if (moved) {
		lfp_add(&p->steals, 1);
		lfp_notify(p);
	}
	return moved;
}

/* ------------------------------------------------------------ counters */

static void fold_counters(struct lfp_pool *p, struct lfp_tcache *c)
{
	lfp_add(&p->acq_hit, LFP_LD(c->pub.n_hit));
	lfp_add(&p->rel_fast, LFP_LD(c->pub.n_put));
	lfp_add(&p->acq_miss,
		atomic_load_explicit(&c->n_miss, memory_order_relaxed));
	lfp_add(&p->acq_slow,
		atomic_load_explicit(&c->n_slow_acq, memory_order_relaxed));
	lfp_add(&p->rel_slow,
		atomic_load_explicit(&c->n_slow_rel, memory_order_relaxed));
	lfp_add(&p->discards,
		atomic_load_explicit(&c->n_discard, memory_order_relaxed));
}

static uint64_t ld(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Under the read lock, so that a cache folding its counters at thread exit
 * (under the write lock) is counted exactly once: counters never go back. */
void lfp_tcache_sum(struct lfp_pool *p, lfp_stats *st, uint64_t *discards)
{
	pthread_rwlock_rdlock(&p->list_lock);
	uint64_t hit = ld(&p->acq_hit), sa = ld(&p->acq_slow);
	uint64_t miss = ld(&p->acq_miss), put = ld(&p->rel_fast);
	uint64_t sr = ld(&p->rel_slow), dis = ld(&p->discards);
	for (struct lfp_tcache *c = p->caches; c; c = c->pool_next) {
		hit += LFP_LD(c->pub.n_hit);
		sa += ld(&c->n_slow_acq);
		miss += ld(&c->n_miss);
		put += LFP_LD(c->pub.n_put);
		sr += ld(&c->n_slow_rel);
		dis += ld(&c->n_discard);
	}
	pthread_rwlock_unlock(&p->list_lock);
	st->cache_hits = hit;
	st->cache_misses = miss;
	st->acquires = hit + sa;
	st->releases = put + sr;
	*discards = dis;
}

/* ------------------------------------------------------------ pools */

int lfp_tcache_list_lock_init(struct lfp_pool *p)
{
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	/* Thread attach/exit must not starve behind a stream of drains. */
	pthread_rwlockattr_setkind_np(
		&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	int rc = pthread_rwlock_init(&p->list_lock, &a);
	pthread_rwlockattr_destroy(&a);
	return rc;
}

lfp_err lfp_tcache_pool_init(struct lfp_pool *p)
{
	p->caches = NULL;
	atomic_init(&p->exiting, 0);
	return lfp_tcache_list_lock_init(p) == 0 ? LFP_OK : LFP_ENOMEM;
}

/* In a fork child (one thread, every lock taken before the fork). */
void lfp_tcache_adopt_orphans(struct lfp_pool *p)
{
	for (struct lfp_tcache *c = p->caches; c; c = c->pool_next) {
		pthread_mutex_init(&c->lock, NULL);
		c->orphan = true;
	}
	for (struct lfp_tcache *c = tls_list; c; c = c->thr_next)
		if (c->pool == p)
			c->orphan = false;
}

/* Pool destruction: orphan every thread's cache (their owners free them);
 * then wait for thread exits still flushing into this pool. */
void lfp_tcache_pool_fini(struct lfp_pool *p)
{
	pthread_rwlock_wrlock(&p->list_lock);
	for (struct lfp_tcache *c = p->caches, *next; c; c = next) {
		next = c->pool_next;
		if (c->orphan) { /* no owner to free it */
			pthread_mutex_destroy(&c->lock);
			free(c);
			continue;
		}
		pthread_mutex_lock(&c->lock);
		LFP_ST(c->pub.acq_key, LFP_POOL_NONE);
		LFP_ST(c->pub.rel_key, LFP_POOL_NONE);
		c->linked = false;
		/* Release: the owner frees c only after seeing this. */
		atomic_store_explicit(&c->dead, 1, memory_order_release);
		pthread_mutex_unlock(&c->lock);
	}
	p->caches = NULL;
	pthread_rwlock_unlock(&p->list_lock);
	/* Acquire: an exiting thread's flush into the depot is complete. */
	while (atomic_load_explicit(&p->exiting, memory_order_acquire))
		sched_yield();
	pthread_rwlock_destroy(&p->list_lock);
}

/* ------------------------------------------------------------ exit */

/* pthread key destructor: the thread is exiting. */
static void thread_exit(void *arg)
{
	(void)arg;
	lfp__tls_cache = &dummy_cache;
	for (struct lfp_tcache *c = tls_list, *next; c; c = next) {
		next = c->thr_next;
		pthread_mutex_lock(&c->lock);
		if (is_dead(c)) {
			pthread_mutex_unlock(&c->lock);
			pthread_mutex_destroy(&c->lock);
			free(c);
			continue;
		}
		/* Alive, and lfp_destroy cannot finish before we are done:
		 * it waits for `exiting` after marking c dead (under c->lock,
		 * which we hold now). */
		struct lfp_pool *p = c->pool;
		atomic_fetch_add_explicit(&p->exiting, 1, memory_order_relaxed);
		pthread_mutex_unlock(&c->lock);
		owner_flush(p, c, false, false);
		pthread_rwlock_wrlock(&p->list_lock);
		if (c->linked) {
			fold_counters(p, c);
			if (c->pool_prev)
				c->pool_prev->pool_next = c->pool_next;
			else
				p->caches = c->pool_next;
			if (c->pool_next)
				c->pool_next->pool_prev = c->pool_prev;
			c->linked = false;
		}
		pthread_rwlock_unlock(&p->list_lock);
		if (c->rec)
			lfp_depot_rec_put(&p->depot, c->rec);
		/* Release: our flush happens-before lfp_destroy's frees. */
		atomic_fetch_sub_explicit(&p->exiting, 1, memory_order_release);
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
	tls_list = NULL;
	tls_registered = false;
}

/* ------------------------------------------------------------ lifecycle */

/* lfp_close, lfp_evict_all: no cache serves the fast paths any more (the
 * generic paths check the pool's state); then the heavy fence, so that
 * every thread's later fast path reads the disarmed keys. */
void lfp_tcache_disarm_all(struct lfp_pool *p)
{
	pthread_rwlock_rdlock(&p->list_lock);
	for (struct lfp_tcache *c = p->caches; c; c = c->pool_next) {
		pthread_mutex_lock(&c->lock);
		LFP_ST(c->pub.acq_key, LFP_POOL_NONE);
		LFP_ST(c->pub.rel_key, LFP_POOL_NONE);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_rwlock_unlock(&p->list_lock);
	lfp_heavy_fence();
}

/* The owner re-arms its keys once no object older than the pool's epoch
 * is live (under c->lock: a disarm bumps the epoch before it takes it). */
void lfp_tcache_rearm(struct lfp_pool *p, struct lfp_tcache *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->pub.cap && lfp_life_keys_ok(&p->life)) {
		if (!p->hooks_acquire)
			LFP_ST(c->pub.acq_key, p);
		if (!p->hooks_release)
			LFP_ST(c->pub.rel_key, p);
	}
	pthread_mutex_unlock(&c->lock);
}

/* lfp_thread_flush: as owner_flush, but the objects keep their age (the
 * cache's last slow-path operation), so a flush never delays eviction. */
void lfp_tcache_flush_aged(struct lfp_pool *p, struct lfp_tcache *c)
{
	owner_flush(p, c, false, true);
}
