/*
 * The "synchronized pool" baseline: one pthread mutex over an intrusive
 * linked free list, with a condition variable for blocking acquire when the
 * pool is exhausted. Objects are preallocated in one slab; each carries a
 * 16-byte header holding the free-list link.
 */
#define _POSIX_C_SOURCE 200809L
#include "loops.h"

#include <pthread.h>
#include <stdlib.h>

#define HDR 16

struct node {
	struct node *next;
};

struct mpool {
	_Alignas(64) pthread_mutex_t lock;
	pthread_cond_t cond;
	struct node *head;
	unsigned waiters;
	_Alignas(64) char *slab;
};

static void *mutex_create(size_t capacity, size_t obj_size)
{
	struct mpool *p = aligned_alloc(64, sizeof(*p));
	if (!p)
		return NULL;
	size_t stride;
	p->slab = wl_slab_alloc(capacity, HDR, obj_size, &stride);
	if (!p->slab) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->waiters = 0;
	p->head = NULL;
	for (size_t i = capacity; i-- > 0;) {
		struct node *n = (struct node *)(p->slab + i * stride);
		n->next = p->head;
		p->head = n;
	}
	return p;
}

static void mutex_destroy(void *pool)
{
	struct mpool *p = pool;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->slab);
	free(p);
}

static void *mutex_acquire(void *pool)
{
	struct mpool *p = pool;
	pthread_mutex_lock(&p->lock);
	while (p->head == NULL) {
		p->waiters++;
		pthread_cond_wait(&p->cond, &p->lock);
		p->waiters--;
	}
	struct node *n = p->head;
	p->head = n->next;
	pthread_mutex_unlock(&p->lock);
	return (char *)n + HDR;
}

static void mutex_release(void *pool, void *obj)
{
	struct mpool *p = pool;
	struct node *n = (struct node *)((char *)obj - HDR);
	pthread_mutex_lock(&p->lock);
	n->next = p->head;
	p->head = n;
	if (p->waiters)
		pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

WL_LOOPS(mutex, mutex_acquire, mutex_release);

const struct pool_iface impl_mutex = {
	.name = "mutex",
	.create = mutex_create,
	.destroy = mutex_destroy,
	.acquire = mutex_acquire,
	.release = mutex_release,
	.loops = &mutex_loops,
	.runs = WL_RUNS_ALL,
};
