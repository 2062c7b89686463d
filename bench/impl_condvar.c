/*
 * Connection-pool baseline: the textbook 30-line blocking pool. One mutex
 * guards an array of free objects; acquire waits on a condition variable
 * while the array is empty; release puts the object back and signals one
 * waiter (unconditionally, under the lock). Unlike `mutex` (impl_mutex.c)
 * it keeps no waiter count and uses an array, not an intrusive list. Runs
 * only the oversubscribed workloads.
 */
#define _POSIX_C_SOURCE 200809L
#include "workloads.h"

#include <pthread.h>
#include <stdlib.h>

struct cvpool {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	size_t n;    /* free objects in `free` */
	void **free; /* capacity entries */
	char *slab;
};

static void *cv_create(size_t capacity, size_t obj_size)
{
	struct cvpool *p = malloc(sizeof(*p));
	size_t stride;
	if (!p)
		return NULL;
	p->slab = wl_slab_alloc(capacity, 0, obj_size, &stride);
	p->free = malloc(capacity * sizeof(void *));
	if (!p->slab || !p->free) {
		free(p->slab);
		free(p->free);
		free(p);
		return NULL;
	}
	for (p->n = 0; p->n < capacity; p->n++)
		p->free[p->n] = p->slab + (capacity - 1 - p->n) * stride;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->nonempty, NULL);
	return p;
}

static void cv_destroy(void *pool)
{
	struct cvpool *p = pool;
	pthread_cond_destroy(&p->nonempty);
	pthread_mutex_destroy(&p->lock);
	free(p->free);
	free(p->slab);
	free(p);
}

static void *cv_acquire(void *pool)
{
	struct cvpool *p = pool;
	pthread_mutex_lock(&p->lock);
	while (p->n == 0)
		pthread_cond_wait(&p->nonempty, &p->lock);
	void *o = p->free[--p->n];
	pthread_mutex_unlock(&p->lock);
	return o;
}

static void cv_release(void *pool, void *obj)
{
	struct cvpool *p = pool;
	pthread_mutex_lock(&p->lock);
	p->free[p->n++] = obj;
	pthread_cond_signal(&p->nonempty);
	pthread_mutex_unlock(&p->lock);
}

const struct pool_iface impl_condvar = {
	.name = "condvar",
	.create = cv_create,
	.destroy = cv_destroy,
	.acquire = cv_acquire,
	.release = cv_release,
	.runs = WL_RUNS_OVERSUB,
};
