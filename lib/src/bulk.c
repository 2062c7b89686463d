/*
 * bulk.c — lfp_acquire_bulk / lfp_release_bulk: one look-up and one
 * cache operation for the whole batch when the thread's cache can serve
 * it, then per-object generation and pointer checks; otherwise a loop over
 * the single-object paths.
 */
#include "lfpool_internal.h"

lfp_err lfp_acquire_bulk(lfp_pool *p, void **objs, size_t n)
{
	if (!p || (!objs && n))
		return LFP_EINVAL;
	struct lfp__cache *c = lfp__tls_cache;
	if (LFP_LIKELY(LFP_LD(c->acq_key) == p && n <= c->cap &&
		       lfp__cache_take(c, objs, (uint32_t)n))) {
		lfp__count(&c->n_hit, n);
		for (size_t i = 0; i < n; i++)
			lfp_gen_to_acquired(objs[i]);
		return LFP_OK;
	}
	for (size_t i = 0; i < n; i++) {
		lfp_err err = lfp__acquire_slow(p, &objs[i], 0);
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
	struct lfp__cache *c = lfp__tls_cache;
	size_t i = 0;
	if (LFP_LD(c->rel_key) == p && n <= c->cap) {
		/* Check and mark idle one by one (a duplicate in the batch
		 * then fails its check), then push them all at once. */
		for (uint64_t g; i < n; i++) {
			if (lfp_object_check(p, objs[i], &g) != LFP_OK)
				break;
			lfp_gen_to_idle(objs[i], g);
		}
		if (i == n && lfp__cache_put(c, objs, (uint32_t)n)) {
			lfp__count(&c->n_put, n);
			lfp_light_fence(); /* Dekker pair 2 */
			if (LFP_UNLIKELY(lfp_pool_waiters(p)))
				return lfp__release_waiters(p);
			return LFP_OK;
		}
		for (size_t j = 0; j < i; j++) /* already idle */
			lfp_release_idle(p, lfp_tcache_of(c), objs[j]);
	}
	lfp_err first = LFP_OK;
	for (; i < n; i++) {
		lfp_err err = lfp__release_slow(p, objs[i]);
		if (err && !first)
			first = err;
	}
	return first;
}
