/*
 * bulk.c — lfp_acquire_bulk / lfp_release_bulk: one look-up and one
 * cache operation for the whole batch when the thread's cache can serve
 * it, then per-object generation and pointer checks; otherwise a loop over
 * the single-object paths.
 */
#include "lfpool_internal.h"

/* One by one through the single-object paths (all or nothing). */
static LFP_NOINLINE lfp_err acquire_bulk_slow(lfp_pool *p, void **objs,
					      size_t n)
{
	if (!p || (!objs && n))
		return LFP_EINVAL;
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

/* The fast path is a leaf: everything else is a tail call. */
lfp_err lfp_acquire_bulk(lfp_pool *p, void **objs, size_t n)
{
	struct lfp__cache *c = lfp__tls_cache;
	/* The key never matches a NULL pool. */
	if (LFP_LIKELY(LFP_LD(c->acq_key) == p && objs && n <= c->cap)) {
		/* lfp__cache_take's protocol, copying and marking in one loop.
		 */
		uint32_t b = LFP_LD(c->bottom) - (uint32_t)n;
		LFP_ST(c->bottom, b);
		lfp_light_fence();
		uint32_t t = LFP_LD(c->top);
		if (LFP_LIKELY((int32_t)(b - t) >= 0)) {
			void **src = lfp__objs(c) + b;
#pragma GCC unroll 4
			for (size_t i = 0; i < n; i++) {
				void *o = src[i];
				objs[i] = o;
				lfp_gen_to_acquired(o);
			}
			lfp__count(&c->n_hit, n);
			return LFP_OK;
		}
		LFP_ST(c->bottom, b + (uint32_t)n); /* undo: slow path */
	}
	return acquire_bulk_slow(p, objs, n);
}

/* objs[0..idle) are already marked idle; the rest go one by one. */
static LFP_NOINLINE lfp_err release_bulk_slow(lfp_pool *p, void *const *objs,
					      size_t n, size_t idle)
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

lfp_err lfp_release_bulk(lfp_pool *p, void *const *objs, size_t n)
{
	struct lfp__cache *c = lfp__tls_cache;
	size_t i = 0;
	uint32_t b = LFP_LD(c->bottom);
	if (LFP_LIKELY(LFP_LD(c->rel_key) == p && objs && n <= c->cap - b)) {
		/* Check, mark idle and copy one by one (a duplicate in the
		 * batch then fails its check); publish them all at once. The
		 * slot arithmetic lives in locals: the generation stores could
		 * otherwise alias it. */
		const uint64_t nbase = 0 - p->pub.obj_base,
			       inv = p->pub.inv_odd;
		const uint64_t slots = p->pub.capacity;
		const unsigned sh = p->pub.shift;
		void **dst = lfp__objs(c) + b;
#pragma GCC unroll 4
		for (; i < n; i++) {
			void *o = objs[i];
			uint64_t x = ((uint64_t)(uintptr_t)o + nbase) * inv;
			x = (x >> sh) | (x << ((64 - sh) & 63));
			if (LFP_UNLIKELY(x >= slots))
				break;
			uint64_t g = lfp_gen_load(o);
			if (LFP_UNLIKELY(!lfp_gen_is_acquired(g)))
				break;
			lfp_gen_store(o, g + 1);
			dst[i] = o;
		}
		if (LFP_LIKELY(i == n)) {
			/* Release: the objects and their idle generations. */
			LFP_STR(c->bottom, b + (uint32_t)n);
			lfp__count(&c->n_put, n);
			lfp_light_fence(); /* Dekker pair 2 */
			if (LFP_UNLIKELY(lfp_pool_waiters(p)))
				return lfp__release_waiters(p);
			return LFP_OK;
		}
		/* objs[0..i) are idle already (never published here). */
	}
	return release_bulk_slow(p, objs, n, i);
}
