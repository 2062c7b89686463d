/*
 * fork.c — fork safety: after fork(), the child can use, trim and destroy
 * every pool it inherited.
 *
 * The child has one thread: the one that called fork(). Whatever the
 * parent's other threads were doing is frozen mid-way in the child's copy
 * of memory. So:
 *   - before fork, the forking thread takes every lfpool lock (registry,
 *     then per pool: maintenance, cache list, each cache, depot, wait
 *     queue; the order every other path nests them in), so no lock is held
 *     mid-update by a thread that will not exist; after fork the parent
 *     releases them and the child makes them anew;
 *   - in the child, state that counts threads that do not exist is reset:
 *     the wait queue (their waiter records), the waiters count, moves in
 *     transit (objects a vanished thread was moving are lost to the child,
 *     like objects it held), thread exits in progress, a trim pass in
 *     progress, the maintenance thread (not restarted in the child:
 *     lfp_maintain works there);
 *   - caches of threads that do not exist in the child become the child's:
 *     marked orphan, they stay on the pool's list, so a drain or trim takes
 *     their objects, and lfp_destroy frees them (no owner will).
 * Objects held by the parent's other threads stay held in the child: the
 * child cannot release them (it has no pointer to them) and lfp_destroy
 * reports LFP_EBUSY for them, as for any object still out.
 */
#include "lfpool_internal.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lfp_pool *registry; /* every live pool, under registry_lock */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void lock_pool(struct lfp_pool *p)
{
	pthread_mutex_lock(&p->life.mt_lock);
	pthread_rwlock_wrlock(&p->list_lock);
	for (struct lfp_tcache *c = p->caches; c; c = c->pool_next)
		pthread_mutex_lock(&c->lock);
	pthread_mutex_lock(&p->depot.lock);
	pthread_mutex_lock(&p->waitq.lock);
}

static void unlock_pool(struct lfp_pool *p)
{
	pthread_mutex_unlock(&p->waitq.lock);
	pthread_mutex_unlock(&p->depot.lock);
	for (struct lfp_tcache *c = p->caches; c; c = c->pool_next)
		pthread_mutex_unlock(&c->lock);
	pthread_rwlock_unlock(&p->list_lock);
	pthread_mutex_unlock(&p->life.mt_lock);
}

static void before_fork(void)
{
	pthread_mutex_lock(&registry_lock);
	for (struct lfp_pool *p = registry; p; p = p->fork_next)
		lock_pool(p);
}

static void after_fork_parent(void)
{
	for (struct lfp_pool *p = registry; p; p = p->fork_next)
		unlock_pool(p);
	pthread_mutex_unlock(&registry_lock);
}

/* In the child, locks are made anew rather than unlocked: the forking
 * thread has a new thread id there, and glibc's rwlock remembers its
 * writer by id. */
static void relock_child(struct lfp_pool *p)
{
	pthread_mutex_init(&p->waitq.lock, NULL);
	pthread_mutex_init(&p->depot.lock, NULL);
	lfp_tcache_list_lock_init(p);
	pthread_mutex_init(&p->life.mt_lock, NULL);
	pthread_cond_init(&p->life.mt_cond, NULL);
}

static void after_fork_child(void)
{
	for (struct lfp_pool *p = registry; p; p = p->fork_next) {
		/* Nobody waits in the child (its one thread is here). */
		p->waitq.head = p->waitq.tail = NULL;
		p->waitq.kicked = 0;
		atomic_store_explicit(&p->waitq.n, 0, memory_order_relaxed);
		LFP_ST(p->pub.waiters, 0);
		/* Moves by vanished threads never complete: forget them. */
		uint64_t t = atomic_load_explicit(&p->depot.transit,
						  memory_order_relaxed);
		atomic_store_explicit(&p->depot.transit,
				      (t & ~(LFP_TRANSIT_DONE - 1)) +
					      LFP_TRANSIT_DONE,
				      memory_order_relaxed);
		atomic_store_explicit(&p->exiting, 0, memory_order_relaxed);
		/* A trim pass or the maintenance thread of the parent is gone
		 * (lfp_maintain still works; no thread is restarted). */
		atomic_store_explicit(&p->life.pass, 0, memory_order_relaxed);
		p->life.mt_on = false;
		lfp_tcache_adopt_orphans(p); /* re-makes the caches' locks */
		relock_child(p);
	}
	pthread_mutex_init(&registry_lock, NULL);
}

static void atfork_setup(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

void lfp_fork_register(struct lfp_pool *p)
{
	pthread_once(&atfork_once, atfork_setup);
	pthread_mutex_lock(&registry_lock);
	p->fork_prev = NULL;
	p->fork_next = registry;
	if (registry)
		registry->fork_prev = p;
	registry = p;
	pthread_mutex_unlock(&registry_lock);
}

void lfp_fork_unregister(struct lfp_pool *p)
{
	pthread_mutex_lock(&registry_lock);
	if (p->fork_prev)
		p->fork_prev->fork_next = p->fork_next;
	else
		registry = p->fork_next;
	if (p->fork_next)
		p->fork_next->fork_prev = p->fork_prev;
	pthread_mutex_unlock(&registry_lock);
}
