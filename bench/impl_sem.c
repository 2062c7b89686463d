/*
 * Connection-pool baseline: a POSIX semaphore counts the free objects and a
 * lock-free free list holds them (ck_free_list.h: Concurrency Kit's
 * ck_stack_pop_mpmc / push_mpmc, ABA-safe by a double-width CAS). acquire
 * waits in sem_wait (futex sleep when the count is 0), then pops; release
 * pushes, then sem_post wakes one sleeper if any. A successful sem_wait
 * reserves one object that is already on the stack, so the pop cannot find
 * it empty. Runs only the oversubscribed workloads.
 */
#define _POSIX_C_SOURCE 200809L
#include "ck_free_list.h"

#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

struct spool {
	struct ck_free_list list;
	_Alignas(64) sem_t free_count;
};

static void *sem_create(size_t capacity, size_t obj_size)
{
	struct spool *p = aligned_alloc(64, sizeof(*p));
	if (!p)
		return NULL;
	if (ck_free_list_init(&p->list, capacity, obj_size) != 0) {
		free(p);
		return NULL;
	}
	if (sem_init(&p->free_count, 0, (unsigned)capacity) != 0) {
		free(p->list.slab);
		free(p);
		return NULL;
	}
	return p;
}

static void sem_destroy_pool(void *pool)
{
	struct spool *p = pool;
	sem_destroy(&p->free_count);
	free(p->list.slab);
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
	void *o;
	while ((o = ck_free_list_pop(&p->list)) == NULL)
		ck_pr_stall(); /* not reached: the count reserved one */
	return o;
}

static void sem_release(void *pool, void *obj)
{
	struct spool *p = pool;
	ck_free_list_push(&p->list, obj);
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
