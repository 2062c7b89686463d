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

#include <stddef.h>
#include <string.h>

static uint64_t ld(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)c,
				    memory_order_relaxed);
}

/* The smallest struct_size accepted: the 0.1 fields behind struct_size. */
#define LFP_STATS_SIZE_MIN (offsetof(lfp_stats, capacity) + sizeof(uint64_t))

/* Fill a full snapshot. */
static void snapshot(struct lfp_pool *p, lfp_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->struct_size = sizeof(*st);
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
	st->discards = discards;
	struct lfp_life *l = &p->life;
	st->expirations = ld(&l->expirations);
	st->keepalive_failures = ld(&l->keepalive_failures);
	st->leaks = ld(&l->leaks);
	st->last_create_error = atomic_load_explicit(&l->last_create_error,
						     memory_order_relaxed);
	st->closed = lfp_life_closed(l);
	for (int i = 0; i < LFP_HIST_BUCKETS; i++) {
		st->wait_ns_hist[i] = ld(&l->wait_hist.b[i]);
		st->hold_ns_hist[i] = ld(&l->hold_hist.b[i]);
		st->create_ns_hist[i] = ld(&l->create_hist.b[i]);
	}
}

/* Can `out` take a snapshot? An older, smaller struct gets the fields it
 * has; a larger one (a newer header) only if the bytes we do not know are
 * zero. */
lfp_err lfp_stats_check(const lfp_stats *out)
{
	size_t n = out->struct_size;
	if (n < LFP_STATS_SIZE_MIN)
		return LFP_EINVAL;
	const unsigned char *b = (const unsigned char *)out;
	for (size_t i = sizeof(lfp_stats); i < n; i++)
		if (b[i])
			return LFP_EINVAL;
	return LFP_OK;
}

void lfp_stats_copy_out(const lfp_stats *full, lfp_stats *out)
{
	size_t n = out->struct_size;
	memcpy((char *)out + sizeof(size_t),
	       (const char *)full + sizeof(size_t),
	       (n < sizeof(*full) ? n : sizeof(*full)) - sizeof(size_t));
}

lfp_err lfp_get_stats(const lfp_pool *pc, lfp_stats *st)
{
	if (!pc || !st)
		return LFP_EINVAL;
	lfp_err err = lfp_stats_check(st);
	if (err)
		return err;
	lfp_stats full;
	snapshot((struct lfp_pool *)(uintptr_t)pc, &full);
	lfp_stats_copy_out(&full, st);
	return LFP_OK;
}
