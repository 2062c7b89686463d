/*
 * bulk.c — lfp_acquire_bulk / lfp_release_bulk. Their cache-hit paths are
 * in lfpool_inline.h (one look-up and one cache operation for the whole
 * batch, with per-object generation and pointer checks); here are the
 * exported functions and the slow paths, a loop over the single-object
 * paths.
 */
#include "lfpool_internal.h"

/* One by one through the single-object paths (all or nothing). */
lfp_err lfp__acquire_bulk_slow(lfp_pool *p, void **objs, size_t n)
{
	if (lfp__acquire_bulk_hit(p, objs, n))
		return LFP_OK;
	if (!p || (!objs && n))
		return LFP_EINVAL;
	for (size_t i = 0; i < n; i++) {
		lfp_err err = lfp__acquire_slow(p, &objs[i], 0);
		if (err) {
			/* All or nothing: give back what we took. */
			while (i--)
				lfp__release_slow(p, objs[i]);
			return err;
		}
	}
	return LFP_OK;
}

/* objs[0..idle) are already marked idle; the rest go one by one. */
lfp_err lfp__release_bulk_slow(lfp_pool *p, void *const *objs, size_t n,
			       size_t idle)
{
	if (!p || (!objs && n))
		return LFP_EINVAL;
	struct lfp_tcache *c = lfp_tcache_find(p);
	for (size_t j = 0; j < idle; j++)
		lfp_release_idle(p, c, objs[j]);
	lfp_err first = LFP_OK;
	for (size_t i = idle; i < n; i++) {
		lfp_err err = lfp__release_slow(p, objs[i]);
		if (err && !first)
			first = err;
	}
	return first;
}

/* The exported functions: the inline fast path, then the slow path. */
lfp_err lfp_acquire_bulk(lfp_pool *p, void **objs, size_t n)
{
	return lfp__acquire_bulk_hit(p, objs, n)
		       ? LFP_OK
		       : lfp__acquire_bulk_slow(p, objs, n);
}

lfp_err lfp_release_bulk(lfp_pool *p, void *const *objs, size_t n)
{
	int waiters = 0;
	size_t done = lfp__release_bulk_hit(p, objs, n, &waiters);
	if (LFP_LIKELY(done == n && n))
		return waiters ? lfp__release_waiters(p) : LFP_OK;
	return lfp__release_bulk_slow(p, objs, n, done);
}
