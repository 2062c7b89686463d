/*
 * stats.c — statistics. Per-thread counters live in each thread cache
 * (written only by their owner, so the fast path adds no shared write);
 * tcache.c sums them with the folded counters of exited threads under the
 * pool's list lock, so a snapshot counts each operation once and counters
 * never go back. Gauges are derived, not counted: in_use is what was
 * acquired and not yet released or discarded, idle the rest of the live
 * objects.
 */
#include "lfpool_internal.h"

#include <string.h>

static uint64_t ld(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)c,
				    memory_order_relaxed);
}

lfp_err lfp_get_stats(const lfp_pool *pc, lfp_stats *st)
{
	if (!pc || !st)
		return LFP_EINVAL;
	struct lfp_pool *p = (struct lfp_pool *)(uintptr_t)pc;
	memset(st, 0, sizeof(*st));
	uint64_t discards;
	lfp_tcache_sum(p, st, &discards);
	st->creates = ld(&p->creates);
	st->create_failures = ld(&p->create_failures);
	st->destroys = ld(&p->destroys);
	st->validation_failures = ld(&p->validation_failures);
	st->evictions = ld(&p->evictions);
	st->waits = ld(&p->waits);
	st->timeouts = ld(&p->timeouts);
	st->empties = ld(&p->empties);
	st->steals = ld(&p->steals);
	st->live = ld(&p->live);
	uint64_t gone = st->releases + discards;
	st->in_use = st->acquires > gone ? st->acquires - gone : 0;
	if (st->in_use > st->live)
		st->in_use = st->live; /* counters caught mid-operation */
	st->idle = st->live - st->in_use;
	st->peak_live = ld(&p->peak_live);
	st->capacity = p->slab.capacity;
	return LFP_OK;
}
