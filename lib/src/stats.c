/*
 * stats.c — statistics. Per-thread counters live in each thread cache
 * (written only by their owner, so the fast path adds no shared write);
 * this sums them with the pool-wide slow-path counters.
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
	lfp_tcache_sum(p, st);
	uint64_t rejected = ld(&p->rejected_hits);
	st->cache_hits += ld(&p->acq_hit) - rejected;
	st->cache_misses += ld(&p->acq_miss);
	st->acquires += ld(&p->acq_hit) + ld(&p->acq_slow) - rejected;
	st->releases += ld(&p->rel_fast) + ld(&p->rel_slow);
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
	st->idle +=
		atomic_load_explicit(&p->depot.n_objs, memory_order_relaxed);
	if (st->idle > st->live)
		st->idle = st->live; /* counters caught mid-move */
	st->in_use = st->live - st->idle;
	st->peak_live = ld(&p->peak_live);
	st->capacity = p->slab.capacity;
	return LFP_OK;
}
