/*
 * Reference point, not a pool: a private per-thread array of objects (the
 * no-sharing limit of the anchors). Each benchmark thread gets its own
 * `capacity` objects in thread_init and pushes/pops them on a thread-local
 * stack; nothing is shared, so it cannot serve cross-thread release.
 * In the oversubscribed workloads it is the ceiling, not a competitor: every
 * thread has `capacity` objects of its own, so nobody ever waits, and a row
 * measures the work, the timestamps and the scheduler alone. No bounded
 * pool can beat it there; a pool's ratio to it is the share of the
 * machine the pool leaves to the work.
 */
#include "loops.h"

#include <stdio.h>
#include <stdlib.h>

struct tpool {
	size_t capacity, obj_size;
};

struct tstack {
	const struct tpool *owner;
	void **stack;
	size_t n;
	char *slab;
};

static _Thread_local struct tstack tl;

static void *tls_create(size_t capacity, size_t obj_size)
{
	struct tpool *p = malloc(sizeof(*p));
	if (p) {
		p->capacity = capacity;
		p->obj_size = (obj_size + 15) & ~(size_t)15;
	}
	return p;
}

static void tls_destroy(void *pool)
{
	free(pool);
}

static void tls_thread_init(void *pool)
{
	const struct tpool *p = pool;
	tl.owner = p;
	tl.slab = aligned_alloc(64,
				(p->capacity * p->obj_size + 63) & ~(size_t)63);
	tl.stack = malloc(p->capacity * sizeof(void *));
	if (!tl.slab || !tl.stack) {
		fprintf(stderr, "tls_array bench: out of memory\n");
		abort();
	}
	for (size_t i = 0; i < p->capacity; i++)
		tl.stack[i] = tl.slab + (p->capacity - 1 - i) * p->obj_size;
	tl.n = p->capacity;
}

static void tls_thread_fini(void *pool)
{
	(void)pool;
	free(tl.stack);
	free(tl.slab);
	tl.stack = NULL;
	tl.slab = NULL;
	tl.n = 0;
	tl.owner = NULL;
}

static void *tls_acquire(void *pool)
{
	(void)pool;
	if (tl.n == 0) {
		fprintf(stderr, "tls_array bench: thread array exhausted\n");
		abort();
	}
	return tl.stack[--tl.n];
}

static void tls_release(void *pool, void *obj)
{
	(void)pool;
	tl.stack[tl.n++] = obj;
}

WL_LOOPS(tls, tls_acquire, tls_release);

const struct pool_iface impl_tls_array = {
	.name = "tls_array",
	.create = tls_create,
	.destroy = tls_destroy,
	.acquire = tls_acquire,
	.release = tls_release,
	.thread_init = tls_thread_init,
	.thread_fini = tls_thread_fini,
	/* single-owner workloads, and the oversub ceiling */
	.loops = &tls_loops,
	.runs = WL_RUNS_PAIR | WL_RUNS_BURST | WL_RUNS_WORK | WL_RUNS_OVERSUB,
};
