/*
 * Helpers for the multi-threaded tests. Worker threads never call Criterion
 * asserts (they are only safe on the test's main thread): they count
 * failures in an atomic and the main thread asserts on the count.
 */
#ifndef LFPOOL_THREAD_UTIL_H
#define LFPOOL_THREAD_UTIL_H

#include "test_util.h"

#include <pthread.h>
#include <stdbool.h>

/* A phase counter threads can wait on. */
typedef struct tu_phase {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int phase;
} tu_phase;

static inline void tu_phase_init(tu_phase *p)
{
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->phase = 0;
}

static inline void tu_phase_set(tu_phase *p, int phase)
{
	pthread_mutex_lock(&p->mu);
	p->phase = phase;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static inline void tu_phase_wait(tu_phase *p, int phase)
{
	pthread_mutex_lock(&p->mu);
	while (p->phase < phase)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

static inline void tu_phase_destroy(tu_phase *p)
{
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}

/*
 * Claim an object for thread `me`: it must be live, of factory f, and not
 * claimed by anyone else. Returns the number of violations found.
 */
static inline int tu_claim(void *obj, const tu_factory *f, uint64_t me)
{
	tu_obj *o = obj;
	int bad = 0;
	if (o->magic != TU_MAGIC || (f && o->factory != f))
		bad++;
	if (atomic_exchange(&o->busy, 1) != 0)
		bad++; /* somebody else holds it right now */
	atomic_store_explicit(&o->owner, me, memory_order_relaxed);
	return bad;
}

/* Check the object is still ours, then give up the claim. */
static inline int tu_unclaim(void *obj, uint64_t me)
{
	tu_obj *o = obj;
	int bad = 0;
	for (int i = 0; i < 4; i++)
		if (atomic_load_explicit(&o->owner, memory_order_relaxed) != me)
			bad++;
	o->payload[0]++;
	if (o->magic != TU_MAGIC)
		bad++;
	if (atomic_exchange(&o->busy, 0) != 1)
		bad++;
	return bad;
}

/*
 * A thread that leaves n objects (at most 8) idle in its own cache of
 * `pool`, then stays alive without calling lfpool until tu_cacher_stop.
 * With try_after set it makes one lfp_try_acquire once told to stop, its
 * result in `after`.
 */
typedef struct tu_cacher {
	lfp_pool *pool;
	unsigned n;
	bool try_after;
	lfp_err after;
	tu_phase ph; /* 1: cache filled; 2: stop */
	pthread_t t;
} tu_cacher;

static inline void *tu_cacher_main(void *arg)
{
	tu_cacher *k = arg;
	void *o[8];
	for (unsigned i = 0; i < k->n; i++)
		lfp_try_acquire(k->pool, &o[i]);
	for (unsigned i = 0; i < k->n; i++)
		lfp_release(k->pool, o[i]); /* stays in this thread's cache */
	tu_phase_set(&k->ph, 1);
	tu_phase_wait(&k->ph, 2); /* alive, but quiet */
	if (k->try_after) {
		void *x;
		k->after = lfp_try_acquire(k->pool, &x);
	}
	return NULL;
}

/* Start the thread; returns once its cache is filled. */
static inline void tu_cacher_start(tu_cacher *k)
{
	tu_phase_init(&k->ph);
	pthread_create(&k->t, NULL, tu_cacher_main, k);
	tu_phase_wait(&k->ph, 1);
}

static inline void tu_cacher_stop(tu_cacher *k)
{
	tu_phase_set(&k->ph, 2);
	pthread_join(k->t, NULL);
	tu_phase_destroy(&k->ph);
}

#endif /* LFPOOL_THREAD_UTIL_H */
