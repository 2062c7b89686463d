/*
 * Connection-pool baseline: a POSIX semaphore counts the free objects and a
 * lock-free free list holds them (Concurrency Kit's ck_stack_pop_mpmc /
 * push_mpmc, ABA-safe by a double-width CAS with a generation). acquire
 * waits in sem_wait (futex sleep when the count is 0), then pops; release
 * pushes, then sem_post wakes one sleeper if any. A successful sem_wait
 * reserves one object that is already on the stack, so the pop cannot find
 * it empty. Runs only the oversubscribed workloads.
 */
#define _POSIX_C_SOURCE 200809L
#include "workloads.h"

#include <ck_stack.h>
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#define HDR 16

struct spool {
	_Alignas(64) ck_stack_t stack; /* 16-byte alignment for cmpxchg16b */
	_Alignas(64) sem_t free_count;
	char *slab;
};

static void *sem_create(size_t capacity, size_t obj_size)
{
	struct spool *p = aligned_alloc(64, sizeof(*p));
	if (!p)
		return NULL;
	size_t stride;
	p->slab = wl_slab_alloc(capacity, HDR, obj_size, &stride);
	if (!p->slab || sem_init(&p->free_count, 0, (unsigned)capacity) != 0) {
		free(p->slab);
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

static void sem_destroy_pool(void *pool)
{
	struct spool *p = pool;
	sem_destroy(&p->free_count);
	free(p->slab);
	free(p);
}

static void *sem_acquire(void *pool)
{
	struct spool *p = pool;
	while (sem_wait(&p->free_count) != 0) {
		if (errno != EINTR) {
			perror("sem bench: sem_wait");
			abort();
		}
	}
	ck_stack_entry_t *e;
	while ((e = ck_stack_pop_mpmc(&p->stack)) == NULL)
		ck_pr_stall(); /* not reached: the count reserved one */
	return (char *)e + HDR;
}

static void sem_release(void *pool, void *obj)
{
	struct spool *p = pool;
	ck_stack_push_mpmc(&p->stack, (ck_stack_entry_t *)((char *)obj - HDR));
	sem_post(&p->free_count);
}

const struct pool_iface impl_sem = {
	.name = "sem",
	.create = sem_create,
	.destroy = sem_destroy_pool,
	.acquire = sem_acquire,
	.release = sem_release,
	.runs = WL_RUNS_OVERSUB,
};
