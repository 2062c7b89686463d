/*
 * object.c — the object lifecycle: create an object in a vacant slot,
 * destroy one, park idle objects in the depot, wake sleepers.
 *
 * Capacity is the slab's: an object exists only in a slot, so the bound
 * holds without a separate counter. Factory callbacks run here, and only
 * here and in the API's validate/reset steps, never under an lfpool lock.
 */
#include "lfpool_internal.h"

#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* Create back-off (create_retry_ns): may this caller attempt a create
 * now? Not while a failure's delay runs; when it is over, one caller wins
 * the attempt and pushes the next one out by the current delay. */
static bool create_gate(struct lfp_life *l, uint64_t now)
{
	if (!l->retry_ns)
		return true;
	uint64_t at = atomic_load_explicit(&l->retry_at, memory_order_relaxed);
	if (at == 0)
		return true;
	if (now < at)
		return false;
	uint64_t d =
		atomic_load_explicit(&l->retry_delay, memory_order_relaxed);
	return atomic_compare_exchange_strong_explicit(
		&l->retry_at, &at, now + d, memory_order_relaxed,
		memory_order_relaxed);
}

static void create_failed(struct lfp_life *l, int rc, uint64_t now)
{
	atomic_store_explicit(&l->last_create_error, rc, memory_order_relaxed);
	if (!l->retry_ns)
		return;
	uint64_t d =
		atomic_load_explicit(&l->retry_delay, memory_order_relaxed);
	uint64_t cap = l->retry_ns << LFP_RETRY_CAP_SHIFT;
	d = d == 0 ? l->retry_ns : d >= cap / 2 ? cap : 2 * d;
	atomic_store_explicit(&l->retry_delay, d, memory_order_relaxed);
	atomic_store_explicit(&l->retry_at, now + d, memory_order_relaxed);
}

static void create_succeeded(struct lfp_life *l)
{
	if (l->retry_ns &&
	    atomic_load_explicit(&l->retry_at, memory_order_relaxed)) {
		atomic_store_explicit(&l->retry_delay, 0, memory_order_relaxed);
		atomic_store_explicit(&l->retry_at, 0, memory_order_relaxed);
	}
}

/* A small per-object jitter in [0, lifetime / 40]. */
static uint64_t jitter(uint64_t lifetime, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15u;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 32;
	uint64_t span = lifetime / LFP_LIFETIME_JITTER_DIV;
	return span ? x % (span + 1) : 0;
}

static void stamp_meta(struct lfp_pool *p, uint64_t idx, uint64_t born)
{
	struct lfp_life *l = &p->life;
	struct lfp_meta *m = &l->meta[idx];
	atomic_store_explicit(&m->born_ns, born, memory_order_relaxed);
	atomic_store_explicit(&m->since_ns, born, memory_order_relaxed);
	uint64_t exp = 0;
	if (l->max_lifetime_ns) {
		uint64_t life = l->max_lifetime_ns -
				jitter(l->max_lifetime_ns, born ^ (idx << 20));
		exp = life < UINT64_MAX - born ? born + life : UINT64_MAX;
	}
	atomic_store_explicit(&m->expire_ns, exp, memory_order_relaxed);
	atomic_store_explicit(&m->epoch, lfp_life_epoch(l),
			      memory_order_relaxed);
	atomic_store_explicit(&m->site, NULL, memory_order_relaxed);
	atomic_store_explicit(&m->leaked, 0, memory_order_relaxed);
}

/* The slot's lifecycle metadata (lifecycle.h). */
static struct lfp_meta *meta_of(struct lfp_pool *p, const void *obj)
{
	uint64_t idx;
	lfp_slab_slot_of(&p->slab, obj, &idx);
	return &p->life.meta[idx];
}

lfp_err lfp_object_create(struct lfp_pool *p, void **obj)
{
	uint64_t idx, t0 = lfp_now_ns();
	bool fresh;
	if (!create_gate(&p->life, t0))
		return LFP_EBACKOFF;
	if (!lfp_slab_take(&p->slab, &idx, &fresh))
		return LFP_EMPTY;
	void *o = lfp_slab_obj(&p->slab, idx);
	int rc = 0;
	if (p->factory.create)
		rc = p->factory.create(p->factory.ctx, o);
	else if (!fresh)
		lfp_slab_zero(&p->slab, idx); /* fresh slots are zero pages */
	uint64_t t1 = lfp_now_ns();
	lfp_hist_add(&p->life.create_hist, t1 - t0);
	if (rc != 0) {
		create_failed(&p->life, rc, t1);
		lfp_add(&p->create_failures, 1);
		lfp_slab_give(&p->slab, idx);
		lfp_notify(p); /* the slot is free again */
		return LFP_ECREATE;
	}
	create_succeeded(&p->life);
	stamp_meta(p, idx, t1);
	lfp_gen_to_acquired(o); /* vacant -> acquired */
	atomic_store_explicit(&lfp_hdr_of(o)->tag, (uint32_t)(idx + 1),
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

/* Destroy without waking anyone (the caller wakes once). */
static void destroy_quiet(struct lfp_pool *p, void *obj)
{
	if (p->factory.destroy)
		p->factory.destroy(p->factory.ctx, obj);
	struct lfp_hdr *h = lfp_hdr_of(obj);
	uint32_t tag = atomic_load_explicit(&h->tag, memory_order_relaxed);
	LFP_ASSERT(tag != 0);
	lfp_gen_to_vacant(obj);
	atomic_store_explicit(&h->tag, 0, memory_order_relaxed);
	/* Not live before the slot can be taken again, or a creator that
	 * takes it at once counts capacity + 1 live objects for a moment. */
	atomic_fetch_sub_explicit(&p->live, 1, memory_order_relaxed);
	lfp_slab_give(&p->slab, (uint64_t)tag - 1);
	lfp_add(&p->destroys, 1);
}

void lfp_object_destroy(struct lfp_pool *p, void *obj)
{
	destroy_quiet(p, obj);
	lfp_notify(p); /* a slot is free: a waiter may create */
}

void lfp_object_park(struct lfp_pool *p, struct lfp_hprec *rec,
		     void *const *objs, size_t n, uint64_t stamp)
{
	uint32_t m = p->depot.mag_size;
	if (LFP_UNLIKELY(lfp_life_closed(&p->life)))
		m = 0; /* closed: idle objects are destroyed, not parked */
	for (size_t i = 0; i < n && !m; i++)
		destroy_quiet(p, objs[i]);
	for (size_t i = 0; m && i < n; i += m) {
		uint32_t k = (uint32_t)(n - i < m ? n - i : m);
		if (!lfp_depot_push(&p->depot, rec, objs + i, k, stamp))
			for (uint32_t j = 0; j < k; j++)
				destroy_quiet(p, objs[i + j]);
	}
	if (n)
		lfp_notify(p);
}

void lfp_object_loosen(struct lfp_pool *p, void *const *objs, size_t n)
{
	bool closed = lfp_life_closed(&p->life);
	size_t i = 0;
	/* A sleeper that has waited LFP_HANDOFF_NS gets the first object
	 * directly: no running thread can take it first (barging would keep
	 * it waiting for as long as others keep the objects busy). */
	if (n && !closed && lfp_waitq_handoff(&p->waitq, objs[0], false))
		i = 1;
	uint64_t now = n > i ? lfp_coarse_ns() : 0;
	for (; i < n; i++) {
		if (LFP_UNLIKELY(closed)) {
			destroy_quiet(p, objs[i]); /* as lfp_object_park */
			continue;
		}
		/* Idle from now: the loose stack keeps no stamp of its own
		 * (trim reads this one). */
		if (!p->life.track)
			atomic_store_explicit(&meta_of(p, objs[i])->since_ns,
					      now, memory_order_relaxed);
		lfp_slab_loose_push(&p->slab, objs[i]);
	}
	if (now)
		lfp_notify(p);
}

void *lfp_object_take_idle(struct lfp_pool *p, struct lfp_hprec *rec)
{
	void *loose = lfp_slab_loose_pop(&p->slab);
	if (loose)
		return loose;
	void *buf[LFP_MAG_MAX];
	uint64_t stamp;
	uint32_t n = lfp_depot_pop(&p->depot, rec, buf, &stamp);
	if (n == 0)
		return NULL;
	lfp_object_park(p, rec, buf, n - 1, stamp);
	lfp_transit_end(&p->depot); /* one taken, the rest parked */
	return buf[n - 1];
}

bool lfp_object_any_idle(struct lfp_pool *p)
{
	return lfp_slab_loose_any(&p->slab) || !lfp_depot_empty(&p->depot);
}

/* Objects or slots became available (outside a hand-off): let a sleeper
 * look again. The fence orders what made them available before the read
 * of the queue length (Dekker with lfp_waitq_push, after which the waiter
 * looks at the depot and the slab once more). */
void lfp_notify(struct lfp_pool *p)
{
	lfp_full_fence();
	lfp_waitq_kick(&p->waitq);
}

/* ------------------------------------------------------------ lifecycle */

bool lfp_life_dead(struct lfp_pool *p, void *obj, uint64_t now)
{
	struct lfp_life *l = &p->life;
	if (lfp_life_closed(l))
		return true;
	struct lfp_meta *m = meta_of(p, obj);
	uint64_t exp =
		atomic_load_explicit(&m->expire_ns, memory_order_relaxed);
	return (exp && now >= exp) ||
	       atomic_load_explicit(&m->epoch, memory_order_relaxed) <
		       lfp_life_epoch(l);
}

void lfp_life_destroy_dead(struct lfp_pool *p, void *obj, uint64_t now)
{
	struct lfp_life *l = &p->life;
	struct lfp_meta *m = meta_of(p, obj);
	uint64_t exp =
		atomic_load_explicit(&m->expire_ns, memory_order_relaxed);
	if (lfp_life_closed(l))
		; /* closing: a plain destroy */
	else if (exp && now >= exp)
		lfp_add(&l->expirations, 1);
	else
		lfp_add(&p->evictions, 1); /* lfp_evict_all */
	lfp_object_destroy(p, obj);
}

void lfp_life_on_acquire(struct lfp_pool *p, void *obj, void *site)
{
	struct lfp_life *l = &p->life;
	struct lfp_meta *m = meta_of(p, obj);
	if (l->track) {
		atomic_store_explicit(&m->since_ns, lfp_now_ns(),
				      memory_order_relaxed);
		atomic_store_explicit(&m->site, site, memory_order_relaxed);
		atomic_store_explicit(&m->leaked, 0, memory_order_release);
	} else {
		atomic_store_explicit(&m->since_ns, lfp_coarse_ns(),
				      memory_order_relaxed);
	}
}

uint64_t lfp_object_idle_since(struct lfp_pool *p, void *obj)
{
	return atomic_load_explicit(&meta_of(p, obj)->since_ns,
				    memory_order_relaxed);
}

void lfp_life_on_release(struct lfp_pool *p, void *obj)
{
	struct lfp_meta *m = meta_of(p, obj);
	if (p->life.track) {
		uint64_t now = lfp_now_ns();
		uint64_t t = atomic_load_explicit(&m->since_ns,
						  memory_order_relaxed);
		lfp_hist_add(&p->life.hold_hist, now > t ? now - t : 0);
		atomic_store_explicit(&m->since_ns, now, memory_order_relaxed);
	} else {
		atomic_store_explicit(&m->since_ns, lfp_coarse_ns(),
				      memory_order_relaxed);
	}
}

lfp_err lfp_life_init(struct lfp_pool *p, const lfp_config *cfg)
{
	struct lfp_life *l = &p->life;
	l->max_lifetime_ns = cfg->max_lifetime_ns;
	l->keepalive_ns = cfg->factory.validate ? cfg->keepalive_ns : 0;
	l->retry_ns = cfg->create_retry_ns;
	if (l->retry_ns > UINT64_MAX >> (LFP_RETRY_CAP_SHIFT + 2))
		l->retry_ns = UINT64_MAX >> (LFP_RETRY_CAP_SHIFT + 2);
	l->leak_ns = cfg->on_leak ? cfg->leak_threshold_ns : 0;
	l->on_leak = cfg->on_leak;
	l->track = l->leak_ns != 0;
	l->generic = l->track || l->max_lifetime_ns;
	l->meta_size = p->slab.capacity * sizeof(struct lfp_meta);
	void *m = mmap(NULL, l->meta_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return LFP_ENOMEM;
	l->meta = m;
	if (pthread_mutex_init(&l->mt_lock, NULL) != 0) {
		munmap(m, l->meta_size);
		return LFP_ENOMEM;
	}
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(&l->mt_cond, &a);
	pthread_condattr_destroy(&a);
	if (rc != 0) {
		pthread_mutex_destroy(&l->mt_lock);
		munmap(m, l->meta_size);
		return LFP_ENOMEM;
	}
	return LFP_OK;
}

void lfp_life_fini(struct lfp_pool *p)
{
	struct lfp_life *l = &p->life;
	pthread_cond_destroy(&l->mt_cond);
	pthread_mutex_destroy(&l->mt_lock);
	munmap(l->meta, l->meta_size);
}
