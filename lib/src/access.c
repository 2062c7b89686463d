/*
 * access.c — the public acquire/release API, and waiting for objects.
 *
 * Fast paths (inline here, a handful of loads and stores): the thread's
 * last-used cache (lfp_tls_cache) belongs to this pool and can give or take
 * the object (lfp_cache_take / lfp_cache_put). Everything else goes
 * through one out-of-line generic function per direction:
 *   acquire: own cache (slow pop, refill from the depot) -> create in a
 *            vacant slot -> exhausted: try returns LFP_EMPTY once nothing
 *            idle can be found anywhere; blocking/timed become waiters.
 *   release: reset/validate hooks -> own cache (flushing a batch when
 *            full) -> with waiters: a starving waiter, else the depot.
 */
#include "lfpool_internal.h"

#include <sched.h>

/* ------------------------------------------------------------ helpers */

static struct lfp_hprec *rec_of(struct lfp_tcache *c)
{
	return c ? c->rec : NULL;
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

/* One idle object from the loose stack, else from the depot (the rest of
 * its magazine goes back). */
static void *depot_take_one(struct lfp_pool *p, struct lfp_hprec *rec)
{
	void *loose = lfp_slab_loose_pop(&p->slab);
	if (loose)
		return loose;
	void *buf[LFP_MAG_MAX];
	uint64_t stamp;
	uint32_t n = lfp_depot_pop(&p->depot, rec, buf, &stamp);
	if (n == 0)
		return NULL;
	lfp_object_park(p, rec, buf, n - 1, stamp);
	lfp_transit_end(&p->depot); /* one acquired, the rest parked */
	return buf[n - 1];
}

/* An object from the depot, else a new one. */
static lfp_err take_or_create(struct lfp_pool *p, struct lfp_tcache *c,
			      void **obj, bool *fresh)
{
	*obj = depot_take_one(p, rec_of(c));
	if (*obj)
		return LFP_OK;
	lfp_err err = lfp_object_create(p, obj);
	*fresh = err == LFP_OK;
	return err;
}

/* A waiter that was kicked and leaves objects behind kicks the next. */
static void pass_kick(struct lfp_pool *p)
{
	if (!lfp_depot_empty(&p->depot))
		lfp_notify(p);
}

/* ------------------------------------------------------------ exhausted */

/*
 * lfp_try_acquire found nothing: look everywhere an idle object can be, and
 * say LFP_EMPTY only when a whole look saw no object moving between places
 * (the depot's transit word unchanged and idle). Objects in other threads'
 * caches are moved to the depot first, with one heavy fence, and only if a
 * fence-free look says some cache holds any: polling an exhausted pool
 * costs no fence and no system call.
 */
static lfp_err try_exhausted(struct lfp_pool *p, struct lfp_tcache *c,
			     void **obj, bool *fresh)
{
	for (;;) {
		uint64_t before = atomic_load_explicit(&p->depot.transit,
						       memory_order_seq_cst);
		if (lfp_tcache_any_cached(p))
			lfp_tcache_drain_all(p, false, lfp_coarse_ns());
		lfp_err err = take_or_create(p, c, obj, fresh);
		if (err == LFP_EBACKOFF)
			return LFP_ECREATE; /* backing off: no attempt now */
		if (err != LFP_EMPTY)
			return err;
		uint64_t after = atomic_load_explicit(&p->depot.transit,
						      memory_order_seq_cst);
		if (before == after && (uint32_t)after == 0) {
			lfp_add(&p->empties, 1);
			return LFP_EMPTY;
		}
		sched_yield(); /* someone is moving objects: look again */
	}
}

/* Creating is backing off: wait like an exhausted pool, but only until
 * the next attempt is due (*wake: when to look again). */
static lfp_err backoff_as_empty(struct lfp_pool *p, lfp_err err,
				uint64_t deadline, uint64_t *wake)
{
	*wake = deadline;
	if (err != LFP_EBACKOFF)
		return err;
	uint64_t at =
		atomic_load_explicit(&p->life.retry_at, memory_order_relaxed);
	if (at < *wake)
		*wake = at ? at : lfp_now_ns();
	return LFP_EMPTY;
}

/* Blocking or timed acquire on an exhausted pool. */
static lfp_err acquire_wait(struct lfp_pool *p, struct lfp_tcache *c,
			    void **obj, bool *fresh, uint64_t deadline)
{
	lfp_err err;
	bool waited = false;
	struct lfp_waiter w = {.since = 0};
	uint64_t wake;
	/* Dekker pair 2 (see tcache.c): we raise `waiters`, fence, then look
	 * into every cache; a fast release pushes, then reads `waiters`.
	 * Either it sees us (and flushes to the depot, kicking), or we see
	 * its object. If the count carries the CLEAN bit, a drain finished
	 * after it rose from 0 and every release since saw it: skip ours. */
	if (!lfp_waiters_enter(p)) {
		lfp_heavy_fence();
		lfp_tcache_drain_all(p, false, lfp_coarse_ns());
		lfp_waiters_mark_clean(p);
	}
	bool kicked = false; /* woken by a kick we may have to pass on */
	for (;;) {
		if (lfp_life_closed(&p->life)) {
			err = LFP_ECLOSED;
			break;
		}
		err = backoff_as_empty(p, take_or_create(p, c, obj, fresh),
				       deadline, &wake);
		if (err != LFP_EMPTY) {
			if (kicked)
				pass_kick(p);
			break;
		}
		kicked = false; /* found nothing: nothing left to pass on */
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
		/* After queueing: lfp_close stores `closed`, then wakes the
		 * queue; we either are woken or see it. */
		err = lfp_life_closed(&p->life)
			      ? LFP_ECLOSED
			      : backoff_as_empty(
					p, take_or_create(p, c, obj, fresh),
					deadline, &wake);
		uint32_t st = err != LFP_EMPTY
				      ? lfp_waitq_leave(&p->waitq, &w)
				      : lfp_waitq_sleep(&p->waitq, &w, wake);
		if (st == LFP_W_HANDED) {
			if (err == LFP_OK) {
				/* Got one ourselves too: pass the extra on. */
				if (!lfp_waitq_handoff(&p->waitq, w.obj, true))
					lfp_object_loosen(p, &w.obj, 1);
			} else {
				*obj = w.obj; /* (a create failure is moot) */
				*fresh = false;
				err = LFP_OK;
			}
			break;
		}
		if (err != LFP_EMPTY) {
			if (st == LFP_W_KICKED)
				pass_kick(p);
			break;
		}
		kicked = st == LFP_W_KICKED;
	}
	lfp_waiters_leave(p);
	if (waited)
		lfp_hist_add(&p->life.wait_hist, lfp_now_ns() - w.since);
	return err;
}

/* ------------------------------------------------------------ acquire */

/* After a cache miss. deadline 0: try only. */
static lfp_err acquire_slow(struct lfp_pool *p, struct lfp_tcache *c,
			    void **obj, bool *fresh, uint64_t deadline)
{
	lfp_err err = LFP_OK;
	/* Refill the cache with a magazine, unless others wait for objects
	 * (then take one and leave the rest for them). */
	bool refill = c && c->pub.cap && !lfp_pool_waiters(p);
	*obj = lfp_slab_loose_pop(&p->slab);
	if (!*obj)
		*obj = refill ? lfp_tcache_pop_slow(p, c, true)
			      : depot_take_one(p, rec_of(c));
	if (!*obj) {
		err = lfp_object_create(p, obj);
		*fresh = err == LFP_OK;
		if (err == LFP_EMPTY || err == LFP_EBACKOFF)
			err = deadline == 0 ? try_exhausted(p, c, obj, fresh)
					    : acquire_wait(p, c, obj, fresh,
							   deadline);
	}
	if (c)
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
			lfp__count(&c->pub.n_hit, 1); /* (hit implies c) */
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
	if (c)
		atomic_store_explicit(&c->last_slow_ns, lfp_coarse_ns(),
				      memory_order_relaxed);
	if (!p->life.track)
		lfp_life_on_release(p, obj); /* idle since (foreach) */
	if (!lfp_pool_waiters(p)) {
		if (!c || !lfp_tcache_push_slow(p, c, obj))
			lfp_object_park(p, rec_of(c), &obj, 1, lfp_coarse_ns());
		else if (lfp_pool_waiters(p))
			/* Dekker pair 2, as on the fast path (here c->lock
			 * orders the push against a drain). */
			lfp_tcache_loosen(p, c);
	} else if (!lfp_waitq_handoff(&p->waitq, obj, false)) {
		/* Not to the oldest sleeper (it has not waited long enough):
		 * where waiters look first, kicking one. */
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
	if (!p || !obj)
		return LFP_EINVAL;
	uint64_t g;
	lfp_err err = lfp_object_check(p, obj, &g);
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
		lfp__count(&c->pub.n_put, 1);
		lfp_light_fence(); /* Dekker pair 2 */
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
	if (!p || !obj)
		return LFP_EINVAL;
	uint64_t g;
	lfp_err err = lfp_object_check(p, obj, &g);
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
