/*
 * access.c — acquire and release: the fast path and the slow paths.
 *
 * Fast path (cache hit / cache has room): wait-free. The owner marks itself
 * `active`, checks that nobody is draining caches (pool->pressure == 0),
 * moves one pointer between the caller and its private array, and clears
 * `active`. No atomic read-modify-write, no fence (the draining side pays
 * with an asymmetric fence, see wait.c), no write to a shared cache line.
 *
 * Slow paths, in order:
 *   acquire: refill the cache with one magazine from the depot (lock-free);
 *            else create a new object in a vacant slot (lock-free + user
 *            create()); else the pool is exhausted: raise pressure, drain
 *            every thread's cache into the depot (unless a drain since the
 *            pressure rose made that moot), and take from the depot,
 *            queueing as a waiter between attempts (blocking/timed) or
 *            returning LFP_EMPTY (try).
 *   release: cache full: flush one batch as a magazine (lock-free), keep
 *            the object; under pressure (someone waits): hand the object
 *            to a starving waiter, or put it in the depot and kick one.
 */
#include "lfpool_internal.h"

#include <string.h>

/* ------------------------------------------------------------ fast path */

/* The calling thread's cache for the pool, if it exists already. */
static inline struct lfp_tcache *tcache_fast(struct lfp_pool *p)
{
	struct lfp_tls *t = lfp_tls_self;
	if (LFP_LIKELY(t != NULL && (uint32_t)p->slot < t->cap))
		return atomic_load_explicit(&t->by_slot[p->slot],
					    memory_order_relaxed);
	return NULL;
}

/* ... created on first use (NULL only when out of memory). */
static struct lfp_tcache *tcache_of(struct lfp_pool *p)
{
	struct lfp_tcache *c = tcache_fast(p);
	return c ? c : lfp_tcache_get_slow(p);
}

/* Announce the owner is inside its cache; then read the pressure. */
static inline bool enter_cache(struct lfp_pool *p, struct lfp_tcache *c)
{
	atomic_store_explicit(&c->active, 1, memory_order_relaxed);
	/* StoreLoad between the store above and the pressure load below: the
	 * drainer's membarrier supplies it (wait.c); the signal fence keeps
	 * the compiler from reordering. ThreadSanitizer builds fence here. */
#ifdef LFP_TSAN
	lfp_full_fence();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
	/* Acquire: a drainer's writes to len/objs, made under its lock before
	 * it lowered the pressure (release), are visible once we read 0. */
	return atomic_load_explicit(&p->pressure, memory_order_acquire) == 0;
}

static inline void leave_cache(struct lfp_tcache *c)
{
	/* Release: our writes to objs/len happen-before a drainer's acquire
	 * load of active == 0. */
	atomic_store_explicit(&c->active, 0, memory_order_release);
}

/* Take the newest cached object into *obj; false if none (or draining).
 * (A bool result, not a NULL test, keeps the fast path one branch short.) */
static inline bool cache_pop(struct lfp_pool *p, struct lfp_tcache *c,
			     void **obj)
{
	bool hit = false;
	if (LFP_LIKELY(enter_cache(p, c))) {
		uint32_t len =
			atomic_load_explicit(&c->len, memory_order_relaxed);
		if (LFP_LIKELY(len != 0)) {
			*obj = c->objs[len - 1];
			atomic_store_explicit(&c->len, len - 1,
					      memory_order_relaxed);
			lfp_count(&c->n_hit);
			hit = true;
		}
	}
	leave_cache(c);
	return hit;
}

static inline bool cache_push(struct lfp_pool *p, struct lfp_tcache *c,
			      void *obj)
{
	bool kept = false;
	if (LFP_LIKELY(enter_cache(p, c))) {
		uint32_t len =
			atomic_load_explicit(&c->len, memory_order_relaxed);
		if (LFP_LIKELY(len < c->cap)) {
			c->objs[len] = obj;
			atomic_store_explicit(&c->len, len + 1,
					      memory_order_relaxed);
			lfp_count(&c->n_put);
			kept = true;
		}
	}
	leave_cache(c);
	return kept;
}

static inline void gen_bump(void *obj)
{
	/* Single owner at a time: the object is ours (acquire) or was ours
	 * (release), handed over by the caller's own synchronization. */
	struct lfp_hdr *h = lfp_hdr_of(obj);
	atomic_store_explicit(
		&h->gen,
		atomic_load_explicit(&h->gen, memory_order_relaxed) + 1,
		memory_order_relaxed);
}

/* ------------------------------------------------------------ slow paths */

/* Absolute deadline; UINT64_MAX for LFP_FOREVER. */
static uint64_t deadline_after(uint64_t timeout_ns)
{
	if (timeout_ns == LFP_FOREVER)
		return UINT64_MAX;
	uint64_t now = lfp_now_ns();
	return timeout_ns > UINT64_MAX - 1 - now ? UINT64_MAX - 1
						 : now + timeout_ns;
}

static struct lfp_hprec *rec_of(struct lfp_tcache *c)
{
	return c ? c->rec : NULL;
}

/* Objects that could not be parked anywhere (no memory for a magazine)
 * are destroyed rather than lost. */
static void park_or_destroy(struct lfp_pool *p, struct lfp_hprec *rec,
			    void *const *objs, uint32_t n, uint64_t stamp)
{
	if (n && !lfp_depot_push(&p->depot, rec, objs, n, stamp))
		for (uint32_t i = 0; i < n; i++)
			lfp_object_destroy(p, objs[i]);
}

/* After putting objects in the depot outside the cache protocol: wake a
 * sleeper if anybody may be waiting. The fence orders our depot push
 * before the pressure load (Dekker with the waiter's pressure increment
 * before its depot check). */
static void wake_if_pressure(struct lfp_pool *p, uint64_t n)
{
	lfp_full_fence();
	if (atomic_load_explicit(&p->pressure, memory_order_relaxed))
		lfp_notify(p, n);
}

/* One object straight from the depot; the rest of its magazine goes back. */
static void *depot_take_one(struct lfp_pool *p, struct lfp_hprec *rec)
{
	void *buf[LFP_MAG_MAX];
	uint64_t stamp;
	uint32_t n = lfp_depot_pop(&p->depot, rec, buf, &stamp);
	if (n == 0)
		return NULL;
	park_or_destroy(p, rec, buf, n - 1, stamp);
	if (n > 1)
		wake_if_pressure(p, n - 1);
	return buf[n - 1];
}

/* Refill the cache from the depot and take one; NULL if the depot is empty
 * or someone is draining (then take directly from the depot). */
static void *acquire_refill(struct lfp_pool *p, struct lfp_tcache *c)
{
	void *obj = NULL;
	if (c && c->cap) {
		pthread_mutex_lock(&c->lock);
		/* Under the lock a drainer cannot be inside our cache. Pressure
		 * read here is ordered after any drain that already passed us
		 * (both use c->lock). */
		if (!atomic_load_explicit(&p->pressure, memory_order_acquire)) {
			uint32_t len = atomic_load_explicit(
				&c->len, memory_order_relaxed);
			if (len == 0)
				len = lfp_depot_pop(&p->depot, c->rec, c->objs,
						    NULL);
			if (len) {
				obj = c->objs[--len];
				atomic_store_explicit(&c->len, len,
						      memory_order_relaxed);
			}
			pthread_mutex_unlock(&c->lock);
			return obj;
		}
		pthread_mutex_unlock(&c->lock);
	}
	return depot_take_one(p, rec_of(c));
}

/* A new object in a vacant slot, or LFP_EMPTY, or LFP_ECREATE. */
static lfp_err create_fresh(struct lfp_pool *p, void **obj, bool *fresh)
{
	lfp_err err = lfp_object_create(p, obj);
	*fresh = err == LFP_OK;
	return err;
}

/* An object from the depot, else a new one (see create_fresh). */
static lfp_err take_or_create(struct lfp_pool *p, struct lfp_tcache *c,
			      void **obj, bool *fresh)
{
	*obj = depot_take_one(p, rec_of(c));
	if (*obj)
		return LFP_OK;
	return create_fresh(p, obj, fresh);
}

/* Give back an object we got twice (handed to us while we found one). */
static void give_back(struct lfp_pool *p, struct lfp_tcache *c, void *obj)
{
	if (!lfp_waitq_handoff(&p->waitq, obj, true)) {
		park_or_destroy(p, rec_of(c), &obj, 1, lfp_coarse_ns());
		lfp_notify(p, 1);
	}
}

/* The pool is exhausted. deadline 0: try only. */
static lfp_err acquire_contended(struct lfp_pool *p, struct lfp_tcache *c,
				 void **obj, bool *fresh, uint64_t deadline)
{
	lfp_err err;
	bool waited = false;
	struct lfp_waiter w = {.since = 0};
	/* seq_cst RMW, then the heavy fence: afterwards every owner either
	 * sees the pressure (and keeps out of its cache) or is visibly active
	 * (and the drain waits for it). If the pressure says a full drain
	 * completed and it has stayed raised since, no cache can have gained
	 * an object: skip ours (many threads hammering an exhausted pool would
	 * otherwise each drain every cache). */
	if (!lfp_pressure_enter(p)) {
		lfp_heavy_fence();
		uint64_t moved =
			lfp_tcache_drain_all(p, false, lfp_coarse_ns());
		lfp_pressure_mark_clean(p);
		if (moved > 1)
			lfp_notify(p, moved - 1); /* one is for us */
	}
	for (;;) {
		err = take_or_create(p, c, obj, fresh);
		if (err != LFP_EMPTY)
			break;
		if (deadline == 0) {
			lfp_add(&p->empties, 1);
			break;
		}
		if (deadline != UINT64_MAX && lfp_now_ns() >= deadline) {
			err = LFP_ETIMEDOUT;
			lfp_add(&p->timeouts, 1);
			break;
		}
		if (!waited) {
			lfp_add(&p->waits, 1);
			w.since = lfp_now_ns();
		}
		/* Queue up (back at the front after a lost race), then look
		 * once more: anything made available before we were visible in
		 * the queue is found now (see lfp_notify); anything after hands
		 * to us or kicks us. */
		lfp_waitq_push(&p->waitq, &w, waited);
		waited = true;
		err = take_or_create(p, c, obj, fresh);
		uint32_t st = err != LFP_EMPTY ? lfp_waitq_leave(&p->waitq, &w)
					       : lfp_waitq_sleep(&p->waitq, &w,
								 deadline);
		if (st == LFP_W_HANDED) {
			if (err == LFP_OK) {
				/* Got one ourselves too: pass the extra on. */
				give_back(p, c, w.obj);
			} else {
				/* (A create failure is moot now.) */
				*obj = w.obj;
				*fresh = false;
				err = LFP_OK;
			}
			break;
		}
		if (st == LFP_W_KICKED && err != LFP_EMPTY)
			lfp_notify(p, 1); /* pass the kick on */
		if (err != LFP_EMPTY)
			break;
	}
	lfp_pressure_leave(p);
	return err;
}

static __attribute__((noinline)) lfp_err acquire_slow(struct lfp_pool *p,
						      struct lfp_tcache *c,
						      void **obj, bool *fresh,
						      uint64_t deadline)
{
	lfp_maybe_trim(p);
	*obj = acquire_refill(p, c);
	if (*obj)
		return LFP_OK;
	lfp_err err = create_fresh(p, obj, fresh);
	if (err != LFP_EMPTY)
		return err;
	return acquire_contended(p, c, obj, fresh, deadline);
}

/* Count on the thread's cache (single writer) or, without one, the pool. */
static void count(struct lfp_tcache *c, _Atomic uint64_t *mine,
		  _Atomic uint64_t *pools)
{
	if (c)
		lfp_count(mine);
	else
		lfp_add(pools, 1);
}

/* Everything but a plain cache hit without validation. */
static __attribute__((noinline)) lfp_err
acquire_generic(struct lfp_pool *p, void **out, uint64_t timeout_ns)
{
	uint64_t deadline = timeout_ns == 0 ? 0 : deadline_after(timeout_ns);
	struct lfp_tcache *c = tcache_of(p);
	for (;;) {
		bool fresh = false;
		void *obj = NULL;
		bool hit = c && cache_pop(p, c, &obj);
		if (!hit) {
			count(c, c ? &c->n_miss : NULL, &p->acq_miss);
			lfp_err err =
				acquire_slow(p, c, &obj, &fresh, deadline);
			if (err)
				return err;
		}
		if (LFP_LIKELY(!fresh)) {
			gen_bump(obj); /* idle (even) -> acquired (odd) */
			if (p->hooks_acquire &&
			    !p->factory.validate(p->factory.ctx, obj)) {
				/* Never handed out: destroyed; try again. */
				lfp_add(&p->validation_failures, 1);
				if (hit)
					lfp_add(&p->rejected_hits, 1);
				lfp_object_destroy(p, obj);
				continue;
			}
		}
		if (!hit)
			count(c, c ? &c->n_slow_acq : NULL, &p->acq_slow);
		*out = obj;
		return LFP_OK;
	}
}

/* The fast path: a cache hit with no validation to run. */
static inline __attribute__((always_inline)) lfp_err
acquire(struct lfp_pool *p, void **out, uint64_t timeout_ns)
{
	if (LFP_UNLIKELY(!p || !out))
		return LFP_EINVAL;
	struct lfp_tcache *c = tcache_fast(p);
	if (LFP_LIKELY(c != NULL && !p->hooks_acquire)) {
		void *obj;
		if (LFP_LIKELY(cache_pop(p, c, &obj))) {
			gen_bump(obj); /* idle (even) -> acquired (odd) */
			*out = obj;
			return LFP_OK;
		}
	}
	return acquire_generic(p, out, timeout_ns);
}

lfp_err lfp_try_acquire(lfp_pool *p, void **obj)
{
	return acquire(p, obj, 0);
}

lfp_err lfp_acquire(lfp_pool *p, void **obj)
{
	return acquire(p, obj, LFP_FOREVER);
}

lfp_err lfp_acquire_timed(lfp_pool *p, void **obj, uint64_t timeout_ns)
{
	return acquire(p, obj, timeout_ns);
}

/* ------------------------------------------------------------ release */

static __attribute__((noinline)) void
release_slow(struct lfp_pool *p, struct lfp_tcache *c, void *obj)
{
	lfp_maybe_trim(p);
	count(c, c ? &c->n_slow_rel : NULL, &p->rel_slow);
	if (c && c->cap) {
		pthread_mutex_lock(&c->lock);
		if (!atomic_load_explicit(&p->pressure, memory_order_acquire)) {
			/* Cache full: flush its oldest batch as one magazine.
			 */
			uint32_t len = atomic_load_explicit(
				&c->len, memory_order_relaxed);
			if (len >= c->cap) {
				uint32_t b = c->batch;
				if (lfp_depot_push(&p->depot, c->rec, c->objs,
						   b, lfp_coarse_ns())) {
					memmove(c->objs, c->objs + b,
						(len - b) * sizeof(void *));
					len -= b;
				}
			}
			bool kept = len < c->cap;
			if (kept) {
				c->objs[len] = obj;
				atomic_store_explicit(&c->len, len + 1,
						      memory_order_relaxed);
			}
			pthread_mutex_unlock(&c->lock);
			if (kept) {
				wake_if_pressure(p, 1);
				return;
			}
		} else {
			pthread_mutex_unlock(&c->lock);
		}
	}
	/* Someone waits (or no cache): to the oldest sleeper if it waited
	 * long enough, else to the depot, kicking a sleeper. */
	if (lfp_waitq_handoff(&p->waitq, obj, false))
		return;
	park_or_destroy(p, rec_of(c), &obj, 1, lfp_coarse_ns());
	wake_if_pressure(p, 1);
}

/* Check that obj is an acquired object of p; LFP_OK or the error. */
static inline lfp_err check_acquired(struct lfp_pool *p, const void *obj,
				     uint64_t *gen)
{
	if (LFP_UNLIKELY(!p || !obj))
		return LFP_EINVAL;
	uint64_t idx;
	if (LFP_UNLIKELY(!lfp_slab_slot_of(&p->slab, obj, &idx)))
		return LFP_EFOREIGN;
	/* An odd generation means acquired, hence live: the tag need not be
	 * read on the fast path. Even: idle (double release) or vacant. */
	uint64_t g = atomic_load_explicit(&lfp_hdr_of(obj)->gen,
					  memory_order_relaxed);
	if (LFP_UNLIKELY((g & 1) == 0))
		return lfp_slab_find(&p->slab, obj, &idx) ? LFP_EDOUBLE
							  : LFP_EFOREIGN;
	*gen = g;
	return LFP_OK;
}

/* Everything but a plain release into the cache. `bumped`: the fast path
 * already marked the object idle and found the cache full or draining. */
static __attribute__((noinline)) lfp_err release_generic(struct lfp_pool *p,
							 void *obj, bool bumped)
{
	struct lfp_tcache *c = tcache_of(p);
	if (!bumped) {
		if (p->hooks_release) {
			bool bad = p->factory.reset &&
				   p->factory.reset(p->factory.ctx, obj);
			if (!bad &&
			    (p->validate_on & LFP_VALIDATE_ON_RELEASE) &&
			    p->factory.validate)
				bad = !p->factory.validate(p->factory.ctx, obj);
			if (bad) {
				lfp_add(&p->validation_failures, 1);
				count(c, c ? &c->n_slow_rel : NULL,
				      &p->rel_slow);
				lfp_object_destroy(p, obj);
				return LFP_OK;
			}
		}
		gen_bump(obj); /* acquired (odd) -> idle (even) */
		if (c && cache_push(p, c, obj))
			return LFP_OK;
	}
	release_slow(p, c, obj);
	return LFP_OK;
}

lfp_err lfp_release(lfp_pool *p, void *obj)
{
	uint64_t g;
	lfp_err err = check_acquired(p, obj, &g);
	if (LFP_UNLIKELY(err))
		return err;
	struct lfp_tcache *c = tcache_fast(p);
	if (LFP_LIKELY(c != NULL && !p->hooks_release)) {
		/* acquired (odd) -> idle (even) */
		atomic_store_explicit(&lfp_hdr_of(obj)->gen, g + 1,
				      memory_order_relaxed);
		if (LFP_LIKELY(cache_push(p, c, obj)))
			return LFP_OK;
		return release_generic(p, obj, true);
	}
	return release_generic(p, obj, false);
}

/* ------------------------------------------------------------ bulk */

lfp_err lfp_acquire_bulk(lfp_pool *p, void **objs, size_t n)
{
	if (!p || (!objs && n))
		return LFP_EINVAL;
	for (size_t i = 0; i < n; i++) {
		lfp_err err = acquire(p, &objs[i], 0);
		if (err) {
			/* All or nothing: give back what we took. */
			while (i--)
				lfp_release(p, objs[i]);
			return err;
		}
	}
	return LFP_OK;
}

lfp_err lfp_release_bulk(lfp_pool *p, void *const *objs, size_t n)
{
	if (!p || (!objs && n))
		return LFP_EINVAL;
	lfp_err first = LFP_OK;
	for (size_t i = 0; i < n; i++) {
		lfp_err err = lfp_release(p, objs[i]);
		if (err && !first)
			first = err;
	}
	return first;
}

lfp_err lfp_thread_flush(lfp_pool *p)
{
	if (!p)
		return LFP_EINVAL;
	struct lfp_tcache *c = lfp_tcache_peek(p);
	if (c)
		lfp_tcache_flush(p, c);
	return LFP_OK;
}

/* ------------------------------------------------------------ handles */

lfp_handle lfp_handle_of(const lfp_pool *p, const void *obj)
{
	lfp_handle h = {0, 0};
	uint64_t g;
	if (check_acquired((struct lfp_pool *)(uintptr_t)p, obj, &g) != LFP_OK)
		return h;
	uint64_t idx = 0;
	lfp_slab_slot_of(&p->slab, obj, &idx);
	h.slot = idx + 1;
	h.gen = g;
	return h;
}

void *lfp_handle_get(const lfp_pool *p, lfp_handle h)
{
	if (!p || h.slot == 0 || h.slot > lfp_slab_used(&p->slab) ||
	    !(h.gen & 1))
		return NULL;
	void *obj = lfp_slab_obj(&p->slab, h.slot - 1);
	/* A handle answers for the moment of the call: the generation is
	 * odd and equal only while that acquisition is live. */
	if (atomic_load_explicit(&lfp_hdr_of(obj)->gen, memory_order_acquire) !=
	    h.gen)
		return NULL;
	return obj;
}

lfp_err lfp_discard(lfp_pool *p, void *obj)
{
	uint64_t g;
	lfp_err err = check_acquired(p, obj, &g);
	if (err)
		return err;
	lfp_object_destroy(p, obj);
	return LFP_OK;
}
