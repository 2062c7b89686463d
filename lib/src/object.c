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
		lfp_notify(p); /* the slot is free again */
		return LFP_ECREATE;
	}
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
	for (size_t i = 0; i < n; i += m) {
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
	for (size_t i = 0; i < n; i++)
		lfp_slab_loose_push(&p->slab, objs[i]);
	if (n)
		lfp_notify(p);
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
