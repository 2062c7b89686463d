/*
 * Baseline: a global Treiber stack from Concurrency Kit guarded by hazard
 * pointers: ck_hp_stack_pop_mpmc, one ck_hp_record per thread.
 *
 * ck_hp_stack_pop_mpmc is not ABA-safe if a popped node can be pushed
 * straight back (the ck_hp_stack ABA case; see docs/design.md), so a release
 * never pushes: it retires the node with ck_hp_free, and the hazard-pointer
 * destructor pushes it back once no thread protects it. The hazard slot is
 * cleared after every pop. When a pop finds the stack empty the thread reclaims
 * its own pending list, otherwise objects could sit stranded there.
 *
 * Records are never unlinked from ck_hp; a thread that stops using the pool
 * purges its pending list and unregisters, and the next thread recycles the
 * record (ck_hp_recycle). At most a few hundred benchmark threads exist, so
 * threads x degree (1) stays below CK_HP_CACHE (512; ck 0.7.1 issue #212).
 */
#define _POSIX_C_SOURCE 200809L
#include "loops.h"

#include <ck_hp.h>
#include <ck_hp_stack.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* Pending nodes per thread before a reclamation scan; small pools scan
 * sooner so that retired objects do not starve the other threads. */
#define HP_THRESHOLD 64
static unsigned hp_threshold(size_t capacity)
{
	size_t t = capacity / 16;
	return t >= HP_THRESHOLD ? HP_THRESHOLD : t < 1 ? 1 : (unsigned)t;
}

struct hnode {
	ck_stack_entry_t link; /* in the stack */
	ck_hp_hazard_t hazard; /* in a record's pending list */
	struct hpool *owner;
};
#define HDR ((sizeof(struct hnode) + 15) & ~(size_t)15)

struct hrec {
	ck_hp_record_t rec;
	void *slot[CK_HP_STACK_SLOTS_COUNT];
	struct hrec *all_next;
};

struct hpool {
	_Alignas(64) ck_stack_t stack;
	_Alignas(64) ck_hp_t hp;
	pthread_mutex_t reg_lock; /* guards `records` (registration only) */
	struct hrec *records;
	char *slab;
};

static _Thread_local struct hpool *tl_pool;
static _Thread_local ck_hp_record_t *tl_rec;

/* ck_hp destructor: the node is unprotected now and may re-enter the stack. */
static void hp_reenter(void *data)
{
	struct hnode *n = data;
	ck_hp_stack_push_mpmc(&n->owner->stack, &n->link);
}

static void *hp_create(size_t capacity, size_t obj_size)
{
	struct hpool *p = aligned_alloc(64, sizeof(*p));
	if (!p)
		return NULL;
	size_t stride;
	p->slab = wl_slab_alloc(capacity, HDR, obj_size, &stride);
	if (!p->slab) {
		free(p);
		return NULL;
	}
	ck_stack_init(&p->stack);
	ck_hp_init(&p->hp, CK_HP_STACK_SLOTS_COUNT, hp_threshold(capacity),
		   hp_reenter);
	pthread_mutex_init(&p->reg_lock, NULL);
	p->records = NULL;
	for (size_t i = capacity; i-- > 0;) {
		struct hnode *n = (struct hnode *)(p->slab + i * stride);
		n->owner = p;
		ck_stack_push_spnc(&p->stack, &n->link);
	}
	ck_pr_fence_store();
	return p;
}

static void hp_destroy(void *pool)
{
	struct hpool *p = pool;
	struct hrec *r = p->records;
	while (r) {
		struct hrec *next = r->all_next;
		free(r);
		r = next;
	}
	pthread_mutex_destroy(&p->reg_lock);
	free(p->slab);
	free(p);
}

static void hp_thread_init(void *pool)
{
	struct hpool *p = pool;
	ck_hp_record_t *rec = ck_hp_recycle(&p->hp);
	if (!rec) {
		struct hrec *r = aligned_alloc(64, sizeof(*r));
		if (!r) {
			fprintf(stderr, "ck_hp bench: out of memory\n");
			abort();
		}
		r->slot[0] = NULL;
		ck_hp_register(&p->hp, &r->rec, r->slot);
		pthread_mutex_lock(&p->reg_lock);
		r->all_next = p->records;
		p->records = r;
		pthread_mutex_unlock(&p->reg_lock);
		rec = &r->rec;
	}
	ck_hp_set(rec, 0, NULL);
	tl_pool = p;
	tl_rec = rec;
}

static void hp_thread_fini(void *pool)
{
	(void)pool;
	ck_hp_record_t *rec = tl_rec;
	ck_hp_set(rec, 0, NULL);
	ck_hp_purge(rec); /* every pending node back into the stack */
	ck_hp_unregister(rec);
	tl_rec = NULL;
	tl_pool = NULL;
}

static ck_hp_record_t *my_record(struct hpool *p)
{
	if (tl_pool != p || !tl_rec) {
		fprintf(stderr, "ck_hp bench: thread_init was not called\n");
		abort();
	}
	return tl_rec;
}

static void *hp_acquire(void *pool)
{
	struct hpool *p = pool;
	ck_hp_record_t *rec = my_record(p);
	unsigned spins = 0;
	for (;;) {
		ck_stack_entry_t *e = ck_hp_stack_pop_mpmc(rec, &p->stack);
		ck_hp_set(rec, 0, NULL);
		if (e)
			return (char *)e + HDR;
		if (rec->n_pending > 0) {
			ck_hp_reclaim(rec);
		} else if (++spins >= 64) {
			spins = 0;
			sched_yield();
		} else {
			ck_pr_stall();
		}
	}
}

static void hp_release(void *pool, void *obj)
{
	struct hpool *p = pool;
	struct hnode *n = (struct hnode *)((char *)obj - HDR);
	ck_hp_free(my_record(p), &n->hazard, n, n);
}

WL_LOOPS(hp, hp_acquire, hp_release);

const struct pool_iface impl_ck_hp = {
	.name = "ck_hp",
	.create = hp_create,
	.destroy = hp_destroy,
	.acquire = hp_acquire,
	.release = hp_release,
	.thread_init = hp_thread_init,
	.thread_fini = hp_thread_fini,
	.loops = &hp_loops,
	.runs = WL_RUNS_ALL,
};
