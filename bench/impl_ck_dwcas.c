/*
 * Baseline: a global Treiber stack from Concurrency Kit made ABA-safe by a
 * double-width CAS (ck_free_list.h). An empty stack is polled: spin, and
 * yield the CPU every 64 tries.
 */
#define _POSIX_C_SOURCE 200809L
#include "ck_free_list.h"
#include "loops.h"

#include <sched.h>
#include <stdlib.h>

static void *dwcas_create(size_t capacity, size_t obj_size)
{
	struct ck_free_list *p = aligned_alloc(64, sizeof(*p));
	if (p && ck_free_list_init(p, capacity, obj_size) != 0) {
		free(p);
		p = NULL;
	}
	return p;
}

static void dwcas_destroy(void *pool)
{
	struct ck_free_list *p = pool;
	free(p->slab);
	free(p);
}

static void *dwcas_acquire(void *pool)
{
	unsigned spins = 0;
	for (;;) {
		void *o = ck_free_list_pop(pool);
		if (o)
			return o;
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
	ck_free_list_push(pool, obj);
}

WL_LOOPS(dwcas, dwcas_acquire, dwcas_release);

const struct pool_iface impl_ck_dwcas = {
	.name = "ck_dwcas",
	.create = dwcas_create,
	.destroy = dwcas_destroy,
	.acquire = dwcas_acquire,
	.release = dwcas_release,
	.loops = &dwcas_loops,
	.runs = WL_RUNS_ALL,
};
