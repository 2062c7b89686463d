/*
 * pool.c — pool lifecycle (create, destroy) and the object lifecycle
 * (create/destroy through the factory, capacity accounting, wake-ups).
 */
#include "lfpool_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LFP_CACHE_DEFAULT_MAX 64u

/* The default per-thread cache: up to 64 objects, but small enough that
 * all threads' caches together hold about half of a small pool. */
static uint32_t default_cache_size(uint64_t capacity)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	uint64_t c = capacity / (2 * (uint64_t)ncpu);
	if (c > LFP_CACHE_DEFAULT_MAX)
		c = LFP_CACHE_DEFAULT_MAX;
	return c < 2 ? 0 : (uint32_t)c;
}

static lfp_err check_config(const lfp_config *cfg)
{
	if (cfg->struct_size < sizeof(lfp_config))
		return LFP_EINVAL;
	if (cfg->object_size == 0 || cfg->object_size > LFP_OBJECT_SIZE_MAX)
		return LFP_EINVAL;
	size_t a = cfg->object_align;
	if (a != 0 && ((a & (a - 1)) != 0 || a > 4096))
		return LFP_EINVAL;
	if (cfg->capacity == 0 || cfg->capacity > LFP_CAPACITY_MAX)
		return LFP_EINVAL;
	if (cfg->min_idle > cfg->capacity)
		return LFP_EINVAL;
	if (cfg->cache_size != LFP_CACHE_DEFAULT &&
	    cfg->cache_size > LFP_CACHE_MAX)
		return LFP_EINVAL;
	if (cfg->validate_on &
	    ~(uint32_t)(LFP_VALIDATE_ON_ACQUIRE | LFP_VALIDATE_ON_RELEASE))
		return LFP_EINVAL;
	return LFP_OK;
}

lfp_err lfp_create(const lfp_config *cfg, lfp_pool **out)
{
	if (!cfg || !out)
		return LFP_EINVAL;
	*out = NULL;
	lfp_err err = check_config(cfg);
	if (err)
		return err;
	lfp_wait_init();

	struct lfp_pool *p = aligned_alloc(LFP_CACHELINE, sizeof(*p));
	if (!p)
		return LFP_ENOMEM;
	memset(p, 0, sizeof(*p));
	err = lfp_slab_init(&p->slab, cfg->object_size,
			    cfg->object_align ? cfg->object_align : 16,
			    cfg->capacity);
	if (err)
		goto fail_pool;
	p->cache_size = cfg->cache_size == LFP_CACHE_DEFAULT
				? default_cache_size(cfg->capacity)
				: cfg->cache_size;
	p->batch = p->cache_size ? (p->cache_size + 1) / 2 : 1;
	p->validate_on = cfg->validate_on;
	p->hooks_acquire = (cfg->validate_on & LFP_VALIDATE_ON_ACQUIRE) &&
			   cfg->factory.validate;
	p->hooks_release = cfg->factory.reset ||
			   ((cfg->validate_on & LFP_VALIDATE_ON_RELEASE) &&
			    cfg->factory.validate);
	p->factory = cfg->factory;
	p->min_idle = cfg->min_idle;
	p->max_idle_ns = cfg->max_idle_ns;
	uint64_t now = lfp_coarse_ns();
	atomic_init(&p->next_trim_ns,
		    p->max_idle_ns && p->max_idle_ns < UINT64_MAX - now
			    ? now + p->max_idle_ns
			    : UINT64_MAX);
	if (pthread_mutex_init(&p->trim_lock, NULL) != 0) {
		err = LFP_ENOMEM;
		goto fail_slab;
	}
	if (lfp_waitq_init(&p->waitq) != 0) {
		err = LFP_ENOMEM;
		goto fail_trim;
	}
	err = lfp_depot_init(&p->depot, p->batch);
	if (err)
		goto fail_waitq;
	if (lfp_tcache_pool_attach(p) != 0) {
		err = LFP_ENOMEM;
		goto fail_depot;
	}
	/* No asymmetric fence: keep the caches bypassed for good. */
	atomic_init(&p->pressure, lfp_heavy_fence_works() ? 0 : 1);
	/* min_idle objects, created now and parked in the depot. */
	for (uint64_t i = 0; i < p->min_idle; i++) {
		void *obj;
		err = lfp_object_create(p, &obj);
		if (!err) {
			/* Created objects come out acquired (odd generation).
			 */
			struct lfp_hdr *h = lfp_hdr_of(obj);
			atomic_store_explicit(
				&h->gen,
				atomic_load_explicit(&h->gen,
						     memory_order_relaxed) +
					1,
				memory_order_relaxed);
			if (!lfp_depot_push(&p->depot, NULL, &obj, 1,
					    lfp_coarse_ns())) {
				lfp_object_destroy(p, obj);
				err = LFP_ENOMEM;
			}
		}
		if (err) {
			lfp_destroy(p, NULL);
			return err;
		}
	}
	*out = p;
	return LFP_OK;

fail_depot:
	lfp_depot_fini(&p->depot);
fail_waitq:
	lfp_waitq_fini(&p->waitq);
fail_trim:
	pthread_mutex_destroy(&p->trim_lock);
fail_slab:
	lfp_slab_fini(&p->slab);
fail_pool:
	free(p);
	return err;
}

/*
 * Create an object in a vacant slot. On success *obj is acquired (odd
 * generation) and counted live. LFP_EMPTY when all slots are live.
 */
lfp_err lfp_object_create(struct lfp_pool *p, void **obj)
{
	uint64_t idx;
	if (!lfp_slab_take(&p->slab, &idx))
		return LFP_EMPTY;
	void *o = lfp_slab_obj(&p->slab, idx);
	int rc = 0;
	if (p->factory.create)
		rc = p->factory.create(p->factory.ctx, o);
	else
		memset(o, 0, p->slab.object_size);
	if (rc != 0) {
		lfp_add(&p->create_failures, 1);
		lfp_slab_give(&p->slab, idx);
		lfp_notify(p, 1); /* the slot is free again */
		return LFP_ECREATE;
	}
	struct lfp_hdr *h = lfp_hdr_of(o);
	uint64_t g = atomic_load_explicit(&h->gen, memory_order_relaxed);
	/* Vacant slots keep an even generation; acquired means odd. */
	atomic_store_explicit(&h->gen, (g | 1) + (g & 1 ? 2 : 0),
			      memory_order_relaxed);
	atomic_store_explicit(&h->tag, (uint32_t)(idx + 1),
			      memory_order_relaxed);
	uint64_t live =
		atomic_fetch_add_explicit(&p->live, 1, memory_order_relaxed) +
		1;
	uint64_t peak =
		atomic_load_explicit(&p->peak_live, memory_order_relaxed);
	while (peak < live &&
	       !atomic_compare_exchange_weak_explicit(
		       &p->peak_live, &peak, live, memory_order_relaxed,
		       memory_order_relaxed))
		;
	lfp_add(&p->creates, 1);
	*obj = o;
	return LFP_OK;
}

/* Destroy an object the caller owns (acquired, or taken from the pool). */
void lfp_object_destroy(struct lfp_pool *p, void *obj)
{
	if (p->factory.destroy)
		p->factory.destroy(p->factory.ctx, obj);
	struct lfp_hdr *h = lfp_hdr_of(obj);
	uint32_t tag = atomic_load_explicit(&h->tag, memory_order_relaxed);
	/* Leave the generation even (not acquired) and strictly larger. */
	uint64_t g = atomic_load_explicit(&h->gen, memory_order_relaxed);
	atomic_store_explicit(&h->gen, (g + 2) & ~(uint64_t)1,
			      memory_order_relaxed);
	atomic_store_explicit(&h->tag, 0, memory_order_relaxed);
	lfp_slab_give(&p->slab, (uint64_t)tag - 1);
	atomic_fetch_sub_explicit(&p->live, 1, memory_order_relaxed);
	lfp_add(&p->destroys, 1);
	lfp_notify(p, 1);
}

/* n objects or slots became available (outside a hand-off): let up to n
 * sleepers look again. The fence orders what made them available before
 * the read of the queue length (Dekker with lfp_waitq_push, after which the
 * waiter looks at the depot and the slab once more). */
void lfp_notify(struct lfp_pool *p, uint64_t n)
{
	lfp_full_fence();
	lfp_waitq_kick(&p->waitq, n);
}

lfp_err lfp_destroy(lfp_pool *p, lfp_stats *final)
{
	if (!p)
		return LFP_EINVAL;
	lfp_stats st;
	lfp_get_stats(p, &st);
	/* Free every thread's cache for this pool; the objects in them are
	 * found again below, from the slab. */
	lfp_tcache_pool_detach(p);
	uint64_t busy = 0, used = lfp_slab_used(&p->slab);
	for (uint64_t i = 0; i < used; i++) {
		void *obj = lfp_slab_obj(&p->slab, i);
		struct lfp_hdr *h = lfp_hdr_of(obj);
		if (atomic_load_explicit(&h->tag, memory_order_relaxed) == 0)
			continue;
		if (atomic_load_explicit(&h->gen, memory_order_relaxed) & 1)
			busy++;
		if (p->factory.destroy)
			p->factory.destroy(p->factory.ctx, obj);
	}
	if (final)
		*final = st;
	lfp_depot_fini(&p->depot);
	lfp_waitq_fini(&p->waitq);
	pthread_mutex_destroy(&p->trim_lock);
	lfp_slab_fini(&p->slab);
	free(p);
	return busy ? LFP_EBUSY : LFP_OK;
}

size_t lfp_object_size(const lfp_pool *p)
{
	return p ? p->slab.object_size : 0;
}
