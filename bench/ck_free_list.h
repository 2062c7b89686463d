/*
 * The free list of the ck_dwcas and sem baselines: objects preallocated in
 * one slab, each behind a 16-byte header holding its ck_stack link, on a
 * Treiber stack made ABA-safe by a double-width CAS over (head,
 * generation): ck_stack_pop_mpmc / ck_stack_push_mpmc. The ck_stack_t must
 * be 16-byte aligned for cmpxchg16b (it is cache-line aligned here).
 */
#ifndef LFPOOL_BENCH_CK_FREE_LIST_H
#define LFPOOL_BENCH_CK_FREE_LIST_H

#include "workloads.h"

#include <ck_stack.h>

#ifndef CK_F_STACK_POP_MPMC
#error "ck_stack_pop_mpmc needs a double-width CAS (CK_F_PR_CAS_PTR_2_VALUE)"
#endif

#define CK_FREE_LIST_HDR 16

struct ck_free_list {
	_Alignas(64) ck_stack_t stack;
	_Alignas(64) char *slab;
};

/* All `capacity` objects on the list; 0, or -1 when out of memory. */
static inline int ck_free_list_init(struct ck_free_list *l, size_t capacity,
				    size_t obj_size)
{
	size_t stride;
	l->slab = wl_slab_alloc(capacity, CK_FREE_LIST_HDR, obj_size, &stride);
	if (!l->slab)
		return -1;
	ck_stack_init(&l->stack);
	for (size_t i = capacity; i-- > 0;)
		ck_stack_push_spnc(&l->stack,
				   (ck_stack_entry_t *)(l->slab + i * stride));
	ck_pr_fence_store();
	return 0;
}

/* An object, or NULL when the list is empty. */
static inline void *ck_free_list_pop(struct ck_free_list *l)
{
	ck_stack_entry_t *e = ck_stack_pop_mpmc(&l->stack);
	return e ? (char *)e + CK_FREE_LIST_HDR : NULL;
}

static inline void ck_free_list_push(struct ck_free_list *l, void *obj)
{
	ck_stack_push_mpmc(&l->stack, (ck_stack_entry_t *)((char *)obj -
							   CK_FREE_LIST_HDR));
}

#endif /* LFPOOL_BENCH_CK_FREE_LIST_H */
