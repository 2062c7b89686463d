/*
 * pool.c — pool lifecycle: configuration checks, lfp_create, lfp_destroy.
 * The object lifecycle is in object.c.
 */
#include "lfpool_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LFP_CACHE_DEFAULT_MAX 64u

/*
 * The default per-thread cache (LFP_CACHE_DEFAULT), adaptive: about half
 * of the pool spread over the CPUs' caches, capacity / (2 * CPUs), at most
 * 64 and at least 2 (1 for a pool of 1 or 2). A small pool still keeps a
 * thread's object at hand between its release and its next acquire; when
 * threads wait, releases move cached objects to them (no object is
 * stranded), so a small pool never loses objects to caches.
 */
static uint32_t default_cache_size(uint64_t capacity)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	uint64_t c = capacity / (2 * (uint64_t)ncpu);
	if (c > LFP_CACHE_DEFAULT_MAX)
		c = LFP_CACHE_DEFAULT_MAX;
	uint64_t floor = capacity > 2 ? 2 : 1;
	return (uint32_t)(c < floor ? floor : c);
}

/* The size of lfp_config in 0.1, the smallest accepted. */
#define LFP_CONFIG_SIZE_0_1                                                    \
	(offsetof(lfp_config, factory) + sizeof(lfp_factory))

/*
 * Copy the caller's config into a full one: a smaller struct_size (a
 * caller built against an older header) leaves the newer fields at their
 * defaults; a larger one (a newer header) is accepted only if every byte
 * we do not know is zero.
 */
static lfp_err import_config(const lfp_config *in, lfp_config *cfg)
{
	size_t n = in->struct_size;
	if (n < LFP_CONFIG_SIZE_0_1)
		return LFP_EINVAL;
	if (n > sizeof(lfp_config)) {
		const unsigned char *extra = (const unsigned char *)in;
		for (size_t i = sizeof(lfp_config); i < n; i++)
			if (extra[i])
				return LFP_EINVAL;
		n = sizeof(lfp_config);
	}
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg, in, n);
	cfg->struct_size = sizeof(lfp_config);
	return LFP_OK;
}

static lfp_err check_config(const lfp_config *cfg)
{
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

/* Derived settings: cache, batch, hook flags, trim schedule. */
static void configure(struct lfp_pool *p, const lfp_config *cfg)
{
	p->cache_size = cfg->cache_size == LFP_CACHE_DEFAULT
				? default_cache_size(cfg->capacity)
				: cfg->cache_size;
	/* Without the asymmetric fence the fast path is not safe: no caches.
	 */
	if (!lfp_heavy_fence_works())
		p->cache_size = 0;
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
}

/* The min_idle objects, created now and parked in the depot. */
static lfp_err prefill(struct lfp_pool *p)
{
	void *batch[LFP_MAG_MAX];
	uint64_t left = p->min_idle;
	while (left > 0) {
		uint32_t n = 0;
		lfp_err err = LFP_OK;
		while (n < p->depot.mag_size && n < left &&
		       (err = lfp_object_create(p, &batch[n])) == LFP_OK) {
			lfp_gen_to_idle(batch[n], lfp_gen_load(batch[n]));
			n++;
		}
		lfp_object_park(p, NULL, batch, n, lfp_coarse_ns());
		if (err)
			return err;
		left -= n;
	}
	return LFP_OK;
}

lfp_err lfp_create(const lfp_config *in, lfp_pool **out)
{
	if (!in || !out)
		return LFP_EINVAL;
	*out = NULL;
	lfp_config cfg;
	lfp_err err = import_config(in, &cfg);
	if (!err)
		err = check_config(&cfg);
	if (err)
		return err;
	lfp_wait_init();

	struct lfp_pool *p = aligned_alloc(LFP_CACHELINE, sizeof(*p));
	if (!p)
		return LFP_ENOMEM;
	memset(p, 0, sizeof(*p));
	configure(p, &cfg);
	err = lfp_slab_init(&p->slab, cfg.object_size,
			    cfg.object_align ? cfg.object_align : 16,
			    cfg.capacity);
	if (err)
		goto fail_pool;
	/* The inline fast path's copy of the slot arithmetic. */
	p->pub.obj_base = (uintptr_t)p->slab.obj_base;
	p->pub.inv_odd = p->slab.inv_odd;
	p->pub.capacity = p->slab.capacity;
	p->pub.shift = p->slab.shift;
	err = lfp_life_init(p, &cfg);
	if (err)
		goto fail_slab;
	err = LFP_ENOMEM;
	if (lfp_waitq_init(&p->waitq) != 0)
		goto fail_life;
	err = lfp_depot_init(&p->depot, p->batch);
	if (err)
		goto fail_waitq;
	err = lfp_tcache_pool_init(p);
	if (err)
		goto fail_depot;
	lfp_fork_register(p);
	err = prefill(p);
	/* The maintenance thread starts here, at lfp_create. */
	if (!err && cfg.maintenance_thread)
		err = lfp_mt_start(p);
	if (err) {
		lfp_destroy(p, NULL);
		return err;
	}
	*out = p;
	return LFP_OK;

fail_depot:
	lfp_depot_fini(&p->depot);
fail_waitq:
	lfp_waitq_fini(&p->waitq);
fail_life:
	lfp_life_fini(p);
fail_slab:
	lfp_slab_fini(&p->slab);
fail_pool:
	free(p);
	return err;
}

lfp_err lfp_destroy(lfp_pool *p, lfp_stats *final)
{
	if (!p)
		return LFP_EINVAL;
	lfp_mt_stop(p); /* joins the maintenance thread */
	lfp_stats st = LFP_STATS_INIT;
	lfp_get_stats(p, &st);
	lfp_fork_unregister(p);
	/* Orphan every thread's cache; the objects in them are found again
	 * below, from the slab. */
	lfp_tcache_pool_fini(p);
	uint64_t busy = 0, used = lfp_slab_used(&p->slab);
	for (uint64_t i = 0; i < used; i++) {
		void *obj = lfp_slab_obj(&p->slab, i);
		struct lfp_hdr *h = lfp_hdr_of(obj);
		if (atomic_load_explicit(&h->tag, memory_order_relaxed) == 0)
			continue;
		if (lfp_gen_is_acquired(lfp_gen_load(obj)))
			busy++;
		if (p->factory.destroy)
			p->factory.destroy(p->factory.ctx, obj);
	}
	if (final && lfp_stats_check(final) == LFP_OK)
		lfp_stats_copy_out(&st, final);
	lfp_depot_fini(&p->depot);
	lfp_waitq_fini(&p->waitq);
	lfp_life_fini(p);
	lfp_slab_fini(&p->slab);
	free(p);
	return busy ? LFP_EBUSY : LFP_OK;
}

size_t lfp_object_size(const lfp_pool *p)
{
	return p ? p->slab.object_size : 0;
}
