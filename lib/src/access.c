/*
 * access.c — the public acquire/release API, and waiting for objects.
 *
 * The cache-hit fast paths are inline (lfpool_inline.h: the thread's
 * last-used cache, lfp__tls_cache, belongs to this pool and can give or take
 * the object). Everything else goes through one out-of-line function per
 * direction, which first repeats the fast path:
 *   acquire: loose stack -> own cache (slow pop, refill from the depot) ->
 *            create in a vacant slot -> exhausted: try returns LFP_EMPTY
 *            once nothing idle can be found anywhere; blocking and timed
 *            acquires become waiters.
 *   release: reset/validate hooks -> own cache (flushing a batch when
 *            full) -> with waiters: a starving waiter, else the loose
 *            stack, kicking a sleeper.
 */
#include "lfpool_internal.h"

/* ------------------------------------------------------------ helpers */

/* A release's or discard's argument checks: LFP_EINVAL for NULL, else
 * lfp_object_check's verdict (and *gen). */
static lfp_err check_arg(struct lfp_pool *p, const void *obj, uint64_t *gen)
{
	if (!p || !obj)
		return LFP_EINVAL;
	return lfp_object_check(p, obj, gen);
}

/* Count on the thread's cache (single writer) or, without one, the pool. */
static void count(struct lfp_tcache *c, _Atomic uint64_t *mine,
		  _Atomic uint64_t *pools)
{
	if (c)
		lfp_count(mine, 1);
	else
		lfp_add(pools, 1);
}

/* ------------------------------------------------------------ acquire */

/* After a cache miss. deadline 0: try only. */
static lfp_err acquire_slow(struct lfp_pool *p, struct lfp_tcache *c,
			    void **obj, bool *fresh, uint64_t deadline)
{
	lfp_err err = LFP_OK;
	/* Refill the cache with a magazine, unless others wait for objects
	 * (then take one and leave the rest for them). */
	if (c && c->pub.cap && !lfp_pool_waiters(p)) {
		*obj = lfp_slab_loose_pop(&p->slab);
		if (!*obj)
			*obj = lfp_tcache_pop_slow(p, c, true);
	} else {
		/* (the loose stack first, too) */
		*obj = lfp_object_take_idle(p, lfp_tcache_rec(c));
	}
	if (!*obj) {
		err = lfp_object_create(p, obj);
		*fresh = err == LFP_OK;
		if (err == LFP_EMPTY || err == LFP_EBACKOFF)
			err = lfp_acquire_exhausted(p, c, obj, fresh, deadline);
	}
	if (c && c->pub.cap) /* (the age of a cache's objects) */
		atomic_store_explicit(&c->last_slow_ns, lfp_coarse_ns(),
				      memory_order_relaxed);
	lfp_maybe_trim(p);
	return err;
}

/* Everything but a plain cache hit (it repeats the hit test, which is
 * cheap). site: the return address in the user's code (leak reports). */
lfp_err lfp_acquire_generic(struct lfp_pool *p, void **out, uint64_t timeout_ns,
			    void *site)
{
	if (lfp__acquire_hit(p, out))
		return LFP_OK;
	if (!p || !out)
		return LFP_EINVAL;
	*out = NULL; /* until we have one */
	uint64_t deadline =
		timeout_ns == 0 ? 0 : lfp_deadline_after(timeout_ns);
	struct lfp_tcache *c = lfp_tcache_get(p);
	lfp_life_slow_path(p, c);
	for (;;) {
		if (LFP_UNLIKELY(lfp_life_closed(&p->life)))
			return LFP_ECLOSED;
		bool fresh = false;
		void *obj = NULL;
		bool hit = c && c->pub.cap && lfp__cache_take(&c->pub, &obj, 1);
		if (!hit) {
			count(c, c ? &c->n_miss : NULL, &p->acq_miss);
			lfp_err err =
				acquire_slow(p, c, &obj, &fresh, deadline);
			if (err)
				return err;
		}
		if (LFP_LIKELY(!fresh)) {
			lfp_gen_to_acquired(obj);
			if (p->hooks_acquire &&
			    !p->factory.validate(p->factory.ctx, obj)) {
				/* Never handed out: destroyed; try again. */
				lfp_add(&p->validation_failures, 1);
				lfp_object_destroy(p, obj);
				continue;
			}
			if (LFP_UNLIKELY(lfp_life_checks(&p->life))) {
				/* Closed, expired, or from before
				 * lfp_evict_all: never handed out. */
				uint64_t now = lfp_coarse_ns();
				if (lfp_life_dead(p, obj, now)) {
					lfp_life_destroy_dead(p, obj, now);
					continue;
				}
			}
		}
		if (!hit || p->life.track)
			lfp_life_on_acquire(p, obj, site);
		if (hit)
			lfp__owner_add(&c->pub.n_hit, 1); /* (hit implies c) */
		else
			count(c, c ? &c->n_slow_acq : NULL, &p->acq_slow);
		*out = obj;
		return LFP_OK;
	}
}

/* Called by the inline API from the user's code: our return address is
 * the user's call site. The out-of-line functions below pass their own. */
lfp_err lfp__acquire_slow(lfp_pool *p, void **out, uint64_t timeout_ns)
{
	return lfp_acquire_generic(p, out, timeout_ns,
				   __builtin_return_address(0));
}

lfp_err lfp_try_acquire(lfp_pool *p, void **obj)
{
	return lfp_acquire_generic(p, obj, 0, __builtin_return_address(0));
}

lfp_err lfp_acquire(lfp_pool *p, void **obj)
{
	return lfp_acquire_generic(p, obj, LFP_FOREVER,
				   __builtin_return_address(0));
}

lfp_err lfp_acquire_timed(lfp_pool *p, void **obj, uint64_t timeout_ns)
{
	return lfp_acquire_generic(p, obj, timeout_ns,
				   __builtin_return_address(0));
}

/* ------------------------------------------------------------ release */

/* A fast release kept its object but saw waiters: our cache's objects
 * (that one among them) go where waiters look, and one is kicked. */
lfp_err lfp__release_waiters(lfp_pool *p)
{
	struct lfp_tcache *c = lfp_tcache_find(p);
	if (c)
		lfp_tcache_loosen(p, c);
	return LFP_OK;
}

/* obj is idle (generation bumped) and the cache could not keep it, or
 * waiters want it. */
void lfp_release_idle(struct lfp_pool *p, struct lfp_tcache *c, void *obj)
{
	count(c, c ? &c->n_slow_rel : NULL, &p->rel_slow);
	if (c && c->pub.cap && !lfp_pool_waiters(p)) {
		uint64_t now = lfp_coarse_ns();
		atomic_store_explicit(&c->last_slow_ns, now,
				      memory_order_relaxed);
		if (!p->life.track)
			lfp_life_on_release(p, obj); /* idle since (foreach) */
		if (!lfp_tcache_push_slow(p, c, obj))
			lfp_object_park(p, lfp_tcache_rec(c), &obj, 1, now);
		else if (lfp_pool_waiters(p))
			/* Dekker pair 2, as on the fast path (here c->lock
			 * orders the push against a drain). */
			lfp_tcache_loosen(p, c);
	} else {
		/* No cache (one CAS on the loose stack, not a single-object
		 * magazine), or waiters: to the oldest sleeper if it has
		 * waited long, else where waiters look first, kicking one.
		 * Loosening stamps the idle time itself. */
		lfp_object_loosen(p, &obj, 1);
	}
	lfp_maybe_trim(p);
}

/* Everything but a plain release into the cache. */
lfp_err lfp__release_slow(lfp_pool *p, void *obj)
{
	int r = lfp__release_hit(p, obj);
	if (r >= 0)
		return r ? LFP_OK : lfp__release_waiters(p);
	uint64_t g;
	lfp_err err = check_arg(p, obj, &g);
	if (err)
		return err;
	struct lfp_tcache *c = lfp_tcache_get(p);
	lfp_life_slow_path(p, c);
	if (p->life.track)
		lfp_life_on_release(p, obj); /* hold time */
	if (LFP_UNLIKELY(lfp_life_checks(&p->life))) {
		/* Closed, expired or from before lfp_evict_all: destroyed. */
		uint64_t now = lfp_coarse_ns();
		if (lfp_life_dead(p, obj, now)) {
			count(c, c ? &c->n_slow_rel : NULL, &p->rel_slow);
			lfp_life_destroy_dead(p, obj, now);
			return LFP_OK;
		}
	}
	if (p->hooks_release) {
		bool bad = p->factory.reset &&
			   p->factory.reset(p->factory.ctx, obj);
		if (!bad && (p->validate_on & LFP_VALIDATE_ON_RELEASE) &&
		    p->factory.validate)
			bad = !p->factory.validate(p->factory.ctx, obj);
		if (bad) {
			lfp_add(&p->validation_failures, 1);
			count(c, c ? &c->n_slow_rel : NULL, &p->rel_slow);
			lfp_object_destroy(p, obj);
			return LFP_OK;
		}
	}
	lfp_gen_to_idle(obj, g);
	if (c && !lfp_pool_waiters(p) && lfp__cache_put(&c->pub, &obj, 1)) {
		lfp__owner_add(&c->pub.n_put, 1);
		lfp_light_fence(c->pub.bottom,
				p->pub.waiters); /* Dekker pair 2 */
		if (lfp_pool_waiters(p))
			lfp_tcache_loosen(p, c);
		return LFP_OK;
	}
	lfp_release_idle(p, c, obj);
	return LFP_OK;
}

lfp_err lfp_release(lfp_pool *p, void *obj)
{
	return lfp__release_slow(p, obj);
}

/* ------------------------------------------------------------ misc */

lfp_err lfp_discard(lfp_pool *p, void *obj)
{
	uint64_t g;
	lfp_err err = check_arg(p, obj, &g);
	if (err)
		return err;
	struct lfp_tcache *c = lfp_tcache_find(p);
	count(c, c ? &c->n_discard : NULL, &p->discards);
	lfp_object_destroy(p, obj);
	return LFP_OK;
}

lfp_err lfp_thread_flush(lfp_pool *p)
{
	if (!p)
		return LFP_EINVAL;
	struct lfp_tcache *c = lfp_tcache_find(p);
	if (c)
		lfp_tcache_flush_aged(p, c); /* keeps the idle age */
	return LFP_OK;
}
