/*
 * handle.c — weak handles: (slot index + 1, generation) of one acquisition.
 * They live next to the slab because that is all they need: a slot's
 * header generation is odd and equal to the handle's only while that
 * acquisition is live, and generations never repeat within a pool.
 */
#include "lfpool_internal.h"

lfp_handle lfp_handle_of(const lfp_pool *p, const void *obj)
{
	lfp_handle h = {0, 0};
	uint64_t g, idx;
	if (!p || !obj || lfp_object_check(p, obj, &g) != LFP_OK)
		return h;
	lfp_slab_slot_of(&p->slab, obj, &idx);
	h.slot = idx + 1;
	h.gen = g;
	return h;
}

void *lfp_handle_get(const lfp_pool *p, lfp_handle h)
{
	if (!p || h.slot == 0 || h.slot > lfp_slab_used(&p->slab) ||
	    !lfp_gen_is_acquired(h.gen))
		return NULL;
	void *obj = lfp_slab_obj(&p->slab, h.slot - 1);
	/* A handle answers for the moment of the call: the generation is
	 * odd and equal only while that acquisition is live. Acquire: pairs
	 * with nothing stronger than the owner's relaxed stores; the caller
	 * synchronizes with the owner to use the object anyway. */
	if (atomic_load_explicit(&lfp_hdr_of(obj)->gen, memory_order_acquire) !=
	    h.gen)
		return NULL;
	return obj;
}
