/*
 * Baseline: a global Treiber stack from Concurrency Kit made ABA-safe by a
 * double-width CAS over (head, generation): ck_stack_pop_mpmc /
 * ck_stack_push_mpmc. The ck_stack_t must be 16-byte aligned for
 * cmpxchg16b (it is cache-line aligned here). Objects are preallocated in
 * one slab, each with a 16-byte header holding the stack link.
 */
#define _POSIX_C_SOURCE 200809L
#include "workloads.h"

#include <ck_stack.h>
#include <sched.h>
#include <stdlib.h>

#ifndef CK_F_STACK_POP_MPMC
#error "ck_stack_pop_mpmc needs a double-width CAS (CK_F_PR_CAS_PTR_2_VALUE)"
#endif

#define HDR 16

struct dpool {
	_Alignas(64) ck_stack_t stack;
	_Alignas(64) char *slab;
};

static void *dwcas_create(size_t capacity, size_t obj_size)
{
	struct dpool *p = aligned_alloc(64, sizeof(*p));
	if (!p)
		return NULL;
	size_t stride;
	p->slab = wl_slab_alloc(capacity, HDR, obj_size, &stride);
	if (!p->slab) {
		free(p);
		return NULL;
	}
	ck_stack_init(&p->stack);
	for (size_t i = capacity; i-- > 0;)
		ck_stack_push_spnc(&p->stack,
				   (ck_stack_entry_t *)(p->slab + i * stride));
	ck_pr_fence_store();
	return p;
}

static void dwcas_destroy(void *pool)
{
	struct dpool *p = pool;
	free(p->slab);
	free(p);
}

static void *dwcas_acquire(void *pool)
{
	struct dpool *p = pool;
	unsigned spins = 0;
	for (;;) {
		ck_stack_entry_t *e = ck_stack_pop_mpmc(&p->stack);
		if (e)
			return (char *)e + HDR;
		if (++spins >= 64) {
			spins = 0;
			sched_yield();
		} else {
			ck_pr_stall();
		}
	}
}

static void dwcas_release(void *pool, void *obj)
{
	struct dpool *p = pool;
	ck_stack_push_mpmc(&p->stack, (ck_stack_entry_t *)((char *)obj - HDR));
}

const struct pool_iface impl_ck_dwcas = {
	.name = "ck_dwcas",
	.create = dwcas_create,
	.destroy = dwcas_destroy,
	.acquire = dwcas_acquire,
	.release = dwcas_release,
	.runs = WL_RUNS_ALL,
};
