/*
 * Baseline: malloc/free of the object size. Run the benchmark binary under
 * LD_PRELOAD=libmimalloc.so.2 / libjemalloc.so.2 / libtcmalloc_minimal.so.4
 * (with LFPOOL_BENCH_ALLOC_LABEL set to the allocator's name) for the other
 * allocator rows. Not bounded: `capacity` is ignored.
 */
#include "loops.h"

#include <stdio.h>
#include <stdlib.h>

struct mpool {
	size_t obj_size;
};

static void *malloc_create(size_t capacity, size_t obj_size)
{
	(void)capacity;
	struct mpool *p = malloc(sizeof(*p));
	if (p)
		p->obj_size = obj_size;
	return p;
}

static void malloc_destroy(void *pool)
{
	free(pool);
}

static void *malloc_acquire(void *pool)
{
	const struct mpool *p = pool;
	void *o = malloc(p->obj_size);
	if (!o) {
		fprintf(stderr, "malloc bench: out of memory\n");
		abort();
	}
	return o;
}

static void malloc_release(void *pool, void *obj)
{
	(void)pool;
	free(obj);
}

WL_LOOPS(malloc, malloc_acquire, malloc_release);

const struct pool_iface impl_malloc = {
	.name = "malloc",
	.create = malloc_create,
	.destroy = malloc_destroy,
	.acquire = malloc_acquire,
	.release = malloc_release,
	.loops = &malloc_loops,
	.runs = WL_RUNS_ALL & ~WL_RUNS_OVERSUB, /* no bound */
};
