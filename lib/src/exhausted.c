/*
 * exhausted.c — an acquire that found nothing in its cache, on the loose
 * stack or in the depot, and no free slot: lfp_try_acquire's LFP_EMPTY
 * decision, and waiting (blocking and timed acquires) with kicks, the
 * starving waiter's hand-off, create back-off and close.
 */
#include "lfpool_internal.h"

#include <sched.h>

/* An object from the depot, else a new one. */
static lfp_err take_or_create(struct lfp_pool *p, struct lfp_tcache *c,
			      void **obj, bool *fresh)
{
	*obj = lfp_object_take_idle(p, lfp_tcache_rec(c));
	if (*obj)
		return LFP_OK;
	lfp_err err = lfp_object_create(p, obj);
	*fresh = err == LFP_OK;
	return err;
}

/* A waiter that was kicked and leaves objects behind kicks the next. */
static void pass_kick(struct lfp_pool *p)
{
	if (lfp_object_any_idle(p))
		lfp_notify(p);
}

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
			lfp_tcache_drain_all(p, LFP_DRAIN_ALL, lfp_coarse_ns());
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
		lfp_tcache_drain_all(p, LFP_DRAIN_ALL, lfp_coarse_ns());
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

/* deadline 0: try only. */
lfp_err lfp_acquire_exhausted(struct lfp_pool *p, struct lfp_tcache *c,
			      void **obj, bool *fresh, uint64_t deadline)
{
	return deadline == 0 ? try_exhausted(p, c, obj, fresh)
			     : acquire_wait(p, c, obj, fresh, deadline);
}
