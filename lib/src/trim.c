/*
 * trim.c — idle eviction.
 *
 * Magazines carry the time their objects went idle. A trim pass first moves
 * the objects of thread caches whose owner did no slow-path operation for
 * max_ns into the depot (stamped with that operation's time: one pass
 * evicts them), then takes every magazine out of the depot, destroys dead
 * objects (closed pool, max_lifetime_ns, lfp_evict_all) and, for
 * maintenance's keepalive, those failing validate(), then destroys objects
 * idle for at least max_ns (oldest first, keeping min_idle idle objects)
 * and puts the others back. The pass's magazines count as in transit meanwhile,
 * so a concurrent lfp_try_acquire looks again rather than report LFP_EMPTY;
 * blocking acquirers create (capacity permitting) or wait, and are woken
 * when the objects come back.
 */
#include "lfpool_internal.h"

#include <sched.h>
#include <stdlib.h>

struct trim_buf {
	void **objs;
	uint64_t *stamps;
	size_t n, cap;
};

static bool buf_reserve(struct trim_buf *b, size_t more)
{
	if (b->n + more <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap * 2 : 256;
	while (cap < b->n + more)
		cap *= 2;
	void **o = realloc(b->objs, cap * sizeof(*o));
	if (!o)
		return false;
	b->objs = o;
	uint64_t *s = realloc(b->stamps, cap * sizeof(*s));
	if (!s)
		return false;
	b->stamps = s;
	b->cap = cap;
	return true;
}

/* How long an object stamped `stamp` has been idle at `now` (0 if the
 * stamp was taken after `now`, which another thread can do). */
static uint64_t idle_for(uint64_t stamp, uint64_t now)
{
	return now > stamp ? now - stamp : 0;
}

/* Put kept objects back, oldest first so the youngest end up on top;
 * each magazine carries its youngest member's stamp. */
static void put_back(struct lfp_pool *p, struct lfp_hprec *rec, void **objs,
		     uint64_t *stamps, size_t n)
{
	uint32_t m = p->depot.mag_size;
	size_t i = n;
	while (i > 0) {
		size_t k = i < m ? i : m;
		void *batch[LFP_MAG_MAX];
		for (size_t j = 0; j < k; j++)
			batch[j] = objs[i - 1 - j];
		lfp_object_park(p, rec, batch, k, stamps[i - k]);
		i -= k;
	}
}

/* Objects popped from the depot that lifecycle rules or keepalive reject
 * are destroyed here; the rest are compacted in place (order kept). */
static size_t filter(struct lfp_pool *p, struct trim_buf *b, unsigned flags,
		     uint64_t now)
{
	bool checks = lfp_life_checks(&p->life);
	bool keepalive = (flags & LFP_PASS_KEEPALIVE) && p->factory.validate;
	size_t k = 0;
	for (size_t i = 0; i < b->n; i++) {
		void *o = b->objs[i];
		if (checks && lfp_life_dead(p, o, now)) {
			lfp_life_destroy_dead(p, o, now);
			continue;
		}
		/* The object is ours alone while it is out of the depot. */
		if (keepalive && !p->factory.validate(p->factory.ctx, o)) {
			lfp_add(&p->life.keepalive_failures, 1);
			lfp_object_destroy(p, o);
			continue;
		}
		b->objs[k] = o;
		b->stamps[k++] = b->stamps[i];
	}
	return k;
}

uint64_t lfp_trim_pass(struct lfp_pool *p, uint64_t max_ns, unsigned flags,
		       bool *ran)
{
	/* One pass at a time: a try-only flag (not a lock; nothing waits on
	 * it but lfp_close, which holds no lock), so callbacks run here
	 * with no lfpool lock held. */
	uint32_t z = 0;
	while (!atomic_compare_exchange_strong_explicit(&p->life.pass, &z, 1,
							memory_order_acquire,
							memory_order_relaxed)) {
		if (!(flags & LFP_PASS_WAIT)) {
			*ran = false;
			return 0;
		}
		z = 0;
		sched_yield();
	}
	*ran = true;
	uint64_t now = lfp_coarse_ns();

	/* 1. Caches -> depot (the drain protocol): those whose owner did no
	 * slow-path operation for max_ns, aged from that operation; or all. */
	struct lfp_tcache *mine = lfp_tcache_find(p);
	if (flags & LFP_PASS_ALL) {
		if (mine)
			lfp_tcache_flush_aged(p, mine);
		lfp_tcache_drain_all(p, LFP_DRAIN_ALL, now);
	} else if (max_ns != UINT64_MAX) {
		lfp_tcache_drain_all(p, max_ns, now);
	}

	/* 2. Everything out of the depot (newest first); each magazine stays
	 * in transit until its objects are back or destroyed. */
	struct lfp_hprec *rec = mine ? mine->rec : NULL;
	struct trim_buf b = {0};
	void *mag[LFP_MAG_MAX];
	uint64_t stamp, popped = 0;
	uint32_t n;
	/* Loose objects (released while others waited, or by pools without
	 * thread caches): idle since their slot's stamp; kept ones go back in
	 * magazines. */
	bool loose = false;
	while (buf_reserve(&b, 1) &&
	       (mag[0] = lfp_slab_loose_pop(&p->slab)) != NULL) {
		if (!loose)
			lfp_transit_begin(&p->depot);
		loose = true;
		b.objs[b.n] = mag[0];
		b.stamps[b.n++] = lfp_object_idle_since(p, mag[0]);
	}
	popped += loose;
	while (buf_reserve(&b, p->depot.mag_size) &&
	       (n = lfp_depot_pop(&p->depot, rec, mag, &stamp)) > 0) {
		popped++;
		for (uint32_t i = 0; i < n; i++) {
			b.objs[b.n] = mag[i];
			b.stamps[b.n++] = stamp;
		}
	}

	/* 3. Dead (closed, expired, older epoch) and keepalive failures go;
	 * then the oldest while idle for max_ns and more than min_idle idle
	 * objects are left. */
	b.n = filter(p, &b, flags, now);
	size_t keep = b.n, gone = 0;
	while (keep > p->min_idle &&
	       idle_for(b.stamps[keep - 1], now) >= max_ns) {
		keep--;
		gone++;
	}
	put_back(p, rec, b.objs, b.stamps, keep);
	for (size_t i = keep; i < b.n; i++)
		lfp_object_destroy(p, b.objs[i]);
	while (popped--)
		lfp_transit_end(&p->depot);
	lfp_add(&p->evictions, gone);
	free(b.objs);
	free(b.stamps);
	atomic_store_explicit(&p->life.pass, 0, memory_order_release);
	return gone;
}

lfp_err lfp_trim(lfp_pool *p, uint64_t max_ns, uint64_t *evicted)
{
	if (evicted)
		*evicted = 0;
	if (!p)
		return LFP_EINVAL;
	bool ran;
	uint64_t gone = lfp_trim_pass(p, max_ns, 0, &ran);
	if (evicted)
		*evicted = gone;
	return LFP_OK;
}

/* Run a trim pass when one is due: after a slow path's miss, never
 * before its refill. */
void lfp_maybe_trim(struct lfp_pool *p)
{
	if (LFP_LIKELY(p->max_idle_ns == 0))
		return;
	uint64_t now = lfp_coarse_ns();
	uint64_t due =
		atomic_load_explicit(&p->next_trim_ns, memory_order_relaxed);
	if (now < due)
		return;
	uint64_t period = p->max_idle_ns / 2;
	if (period < 1000000)
		period = 1000000;
	/* One thread wins the pass; the others go on. */
	if (atomic_compare_exchange_strong_explicit(
		    &p->next_trim_ns, &due,
		    period < UINT64_MAX - now ? now + period : UINT64_MAX,
		    memory_order_relaxed, memory_order_relaxed))
		lfp_trim(p, p->max_idle_ns, NULL);
}
