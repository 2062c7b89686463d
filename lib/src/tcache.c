/*
 * tcache.c — per-thread caches: creation, thread exit, draining.
 *
 * Each thread has one lfp_tls table (found through an initial-exec TLS
 * pointer) indexed by pool->slot; entry = that thread's lfp_tcache for the
 * pool. Caches are created on a thread's first operation on a pool (no
 * registration call needed) and are linked both into the pool's list and
 * into the thread's list, under the global registry lock, so that:
 *   - a thread that exits flushes each of its caches into its pool
 *     (pthread key destructor), and
 *   - a pool that is destroyed unhooks and frees the caches other threads
 *     still hold for it (clearing their table entries).
 * The fast path (access.c) never takes the lock.
 */
#include "lfpool_internal.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

pthread_mutex_t lfp_registry_lock = PTHREAD_MUTEX_INITIALIZER;
__thread struct lfp_tls *lfp_tls_self
	__attribute__((tls_model("initial-exec")));

static pthread_key_t tls_key;
static pthread_once_t tls_key_once = PTHREAD_ONCE_INIT;

/* Pool slot ids (indexes into thread tables); guarded by the registry lock. */
static uint8_t *slot_used;
static uint32_t slot_cap;

static void thread_exit(void *arg);

static void tls_key_make(void)
{
	pthread_key_create(&tls_key, thread_exit);
}

int lfp_tcache_pool_attach(struct lfp_pool *p)
{
	pthread_once(&tls_key_once, tls_key_make);
	pthread_mutex_lock(&lfp_registry_lock);
	uint32_t i = 0;
	while (i < slot_cap && slot_used[i])
		i++;
	if (i == slot_cap) {
		uint32_t ncap = slot_cap ? slot_cap * 2 : 64;
		uint8_t *n = realloc(slot_used, ncap);
		if (!n) {
			pthread_mutex_unlock(&lfp_registry_lock);
			return -1;
		}
		memset(n + slot_cap, 0, ncap - slot_cap);
		slot_used = n;
		slot_cap = ncap;
	}
	slot_used[i] = 1;
	p->slot = (int32_t)i;
	p->caches = NULL;
	pthread_mutex_unlock(&lfp_registry_lock);
	return 0;
}

static void unlink_from_thread(struct lfp_tcache *c)
{
	struct lfp_tls *t = c->owner;
	if (c->thr_prev)
		c->thr_prev->thr_next = c->thr_next;
	else
		t->list = c->thr_next;
	if (c->thr_next)
		c->thr_next->thr_prev = c->thr_prev;
	/* Relaxed: the owner reads only its own entries for live pools; this
	 * pool is being destroyed or the owner itself is exiting. */
	atomic_store_explicit(&t->by_slot[c->pool->slot], NULL,
			      memory_order_relaxed);
}

static void unlink_from_pool(struct lfp_tcache *c)
{
	struct lfp_pool *p = c->pool;
	if (c->pool_prev)
		c->pool_prev->pool_next = c->pool_next;
	else
		p->caches = c->pool_next;
	if (c->pool_next)
		c->pool_next->pool_prev = c->pool_prev;
}

/* Fold a dying cache's counters into the pool's. */
static void fold_counters(struct lfp_pool *p, struct lfp_tcache *c)
{
	lfp_add(&p->acq_hit,
		atomic_load_explicit(&c->n_hit, memory_order_relaxed));
	lfp_add(&p->rel_fast,
		atomic_load_explicit(&c->n_put, memory_order_relaxed));
	lfp_add(&p->acq_miss,
		atomic_load_explicit(&c->n_miss, memory_order_relaxed));
	lfp_add(&p->acq_slow,
		atomic_load_explicit(&c->n_slow_acq, memory_order_relaxed));
	lfp_add(&p->rel_slow,
		atomic_load_explicit(&c->n_slow_rel, memory_order_relaxed));
}

/* Pool destruction: free every thread's cache (objects are destroyed by
 * the caller from the slab, wherever they sit). */
void lfp_tcache_pool_detach(struct lfp_pool *p)
{
	pthread_mutex_lock(&lfp_registry_lock);
	for (struct lfp_tcache *c = p->caches, *n; c; c = n) {
		n = c->pool_next;
		unlink_from_thread(c);
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
	p->caches = NULL;
	slot_used[p->slot] = 0;
	pthread_mutex_unlock(&lfp_registry_lock);
}

static struct lfp_tls *tls_table(uint32_t need)
{
	struct lfp_tls *t = lfp_tls_self;
	if (t && need < t->cap)
		return t;
	/* Grow (or make) the table. Only this thread reads it without the
	 * lock, and it is here; others write entries only under the lock we
	 * hold, so moving it is safe. */
	uint32_t ncap = slot_cap > need ? slot_cap : need + 1;
	struct lfp_tls *n =
		calloc(1, sizeof(*n) + ncap * sizeof(n->by_slot[0]));
	if (!n)
		return NULL;
	n->cap = ncap;
	if (t) {
		n->list = t->list;
		for (uint32_t i = 0; i < t->cap; i++)
			atomic_init(&n->by_slot[i],
				    atomic_load_explicit(&t->by_slot[i],
							 memory_order_relaxed));
		for (struct lfp_tcache *c = n->list; c; c = c->thr_next)
			c->owner = n;
		free(t);
	}
	lfp_tls_self = n;
	pthread_setspecific(tls_key, n);
	return n;
}

struct lfp_tcache *lfp_tcache_get_slow(struct lfp_pool *p)
{
	struct lfp_tcache *c = NULL;
	pthread_mutex_lock(&lfp_registry_lock);
	struct lfp_tls *t = tls_table((uint32_t)p->slot);
	if (!t)
		goto out;
	c = atomic_load_explicit(&t->by_slot[p->slot], memory_order_relaxed);
	if (c)
		goto out;
	c = calloc(1, sizeof(*c) + p->cache_size * sizeof(void *));
	if (!c)
		goto out;
	c->cap = p->cache_size;
	c->batch = p->batch;
	c->pool = p;
	c->owner = t;
	c->rec = lfp_depot_rec_get(&p->depot);
	pthread_mutex_init(&c->lock, NULL);
	c->pool_next = p->caches;
	if (p->caches)
		p->caches->pool_prev = c;
	p->caches = c;
	c->thr_next = t->list;
	if (t->list)
		t->list->thr_prev = c;
	t->list = c;
	atomic_store_explicit(&t->by_slot[p->slot], c, memory_order_relaxed);
out:
	pthread_mutex_unlock(&lfp_registry_lock);
	return c;
}

struct lfp_tcache *lfp_tcache_peek(struct lfp_pool *p)
{
	struct lfp_tls *t = lfp_tls_self;
	if (!t || (uint32_t)p->slot >= t->cap)
		return NULL;
	return atomic_load_explicit(&t->by_slot[p->slot], memory_order_relaxed);
}

/* Wait until the owner is outside its fast path. Called with pressure
 * raised and the heavy fence done, so the owner's next fast path will see
 * the pressure and step aside; the current one ends within a few
 * instructions (or as soon as its thread is scheduled again). */
static void wait_inactive(struct lfp_tcache *c)
{
	/* Acquire: pairs with the owner's release store of active = 0, so its
	 * last writes to objs[]/len are visible. */
	while (atomic_load_explicit(&c->active, memory_order_acquire))
		sched_yield();
}

/* Move a cache's objects into the depot; c->lock held, owner inactive. */
static uint64_t move_to_depot(struct lfp_pool *p, struct lfp_tcache *c,
			      struct lfp_hprec *rec, uint64_t stamp)
{
	uint32_t len = atomic_load_explicit(&c->len, memory_order_relaxed);
	uint32_t moved = 0;
	while (moved < len) {
		uint32_t n = len - moved;
		if (n > p->depot.mag_size)
			n = p->depot.mag_size;
		if (!lfp_depot_push(&p->depot, rec, &c->objs[len - moved - n],
				    n, stamp))
			break; /* out of memory: the rest stays cached */
		moved += n;
	}
	atomic_store_explicit(&c->len, len - moved, memory_order_relaxed);
	return moved;
}

/* The owner returns its cached objects (lfp_thread_flush, thread exit). */
void lfp_tcache_flush(struct lfp_pool *p, struct lfp_tcache *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t moved = move_to_depot(p, c, c->rec, lfp_coarse_ns());
	pthread_mutex_unlock(&c->lock);
	if (moved)
		lfp_notify(p, moved);
}

/*
 * Drain other threads' caches into the depot. The caller has raised
 * p->pressure and called lfp_heavy_fence(). With idle_only, only caches
 * whose owner did nothing since the previous such pass are drained (trim).
 * Returns the number of objects moved.
 */
uint64_t lfp_tcache_drain_all(struct lfp_pool *p, bool idle_only, uint64_t now)
{
	uint64_t moved = 0;
	struct lfp_tcache *mine = lfp_tcache_peek(p);
	struct lfp_hprec *rec = mine ? mine->rec : NULL;
	pthread_mutex_lock(&lfp_registry_lock);
	for (struct lfp_tcache *c = p->caches; c; c = c->pool_next) {
		pthread_mutex_lock(&c->lock);
		wait_inactive(c);
		uint64_t ops =
			atomic_load_explicit(&c->n_hit, memory_order_relaxed) +
			atomic_load_explicit(&c->n_put, memory_order_relaxed) +
			atomic_load_explicit(&c->n_miss, memory_order_relaxed) +
			atomic_load_explicit(&c->n_slow_rel,
					     memory_order_relaxed);
		uint64_t stamp = now;
		bool take = true;
		if (idle_only) {
			take = ops == c->trim_seen;
			if (!take) {
				c->trim_seen = ops;
				c->idle_since = now;
			}
			stamp = c->idle_since;
		}
		if (take)
			moved += move_to_depot(p, c, rec, stamp);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&lfp_registry_lock);
	if (moved)
		lfp_add(&p->steals, 1);
	return moved;
}

/* Counters of live caches, and the objects they hold. */
void lfp_tcache_sum(struct lfp_pool *p, lfp_stats *st)
{
	pthread_mutex_lock(&lfp_registry_lock);
	for (struct lfp_tcache *c = p->caches; c; c = c->pool_next) {
		uint64_t hit =
			atomic_load_explicit(&c->n_hit, memory_order_relaxed);
		uint64_t sa = atomic_load_explicit(&c->n_slow_acq,
						   memory_order_relaxed);
		st->cache_hits += hit;
		st->cache_misses +=
			atomic_load_explicit(&c->n_miss, memory_order_relaxed);
		st->acquires += hit + sa;
		st->releases +=
			atomic_load_explicit(&c->n_put, memory_order_relaxed) +
			atomic_load_explicit(&c->n_slow_rel,
					     memory_order_relaxed);
		st->idle += atomic_load_explicit(&c->len, memory_order_relaxed);
	}
	pthread_mutex_unlock(&lfp_registry_lock);
}

/* pthread key destructor: the thread is exiting. */
static void thread_exit(void *arg)
{
	struct lfp_tls *t = arg;
	pthread_mutex_lock(&lfp_registry_lock);
	for (struct lfp_tcache *c = t->list, *n; c; c = n) {
		n = c->thr_next;
		struct lfp_pool *p = c->pool;
		pthread_mutex_lock(&c->lock);
		uint64_t moved = move_to_depot(p, c, c->rec, lfp_coarse_ns());
		pthread_mutex_unlock(&c->lock);
		/* Objects that found no magazine (no memory) are destroyed
		 * rather than lost. */
		uint32_t left =
			atomic_load_explicit(&c->len, memory_order_relaxed);
		for (uint32_t i = 0; i < left; i++)
			lfp_object_destroy(p, c->objs[i]);
		if (moved)
			lfp_notify(p, moved);
		if (c->rec)
			lfp_depot_rec_put(&p->depot, c->rec);
		fold_counters(p, c);
		unlink_from_pool(c);
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
	free(t);
	lfp_tls_self = NULL;
	pthread_mutex_unlock(&lfp_registry_lock);
}
