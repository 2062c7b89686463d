/*
 * depot.c — the shared free list.
 *
 * Objects move between thread caches and the depot in magazines: a
 * magazine is a small array of object pointers, so one CAS moves a whole
 * batch. The depot holds two Treiber stacks of magazines:
 *
 *   full  — magazines holding idle objects;
 *   empty — spare magazine containers.
 *
 * Pops from either stack are protected by a ck_hp hazard pointer (one slot
 * per record). ABA safety rests on one rule (docs/design.md has the
 * argument): a magazine popped from `full` is passed to ck_hp_free, and only
 * the reclamation callback, which runs once no hazard pointer names it,
 * pushes it onto `empty`; a magazine popped from `empty` is pushed onto
 * `full` only. So a magazine can become the head of the stack it was popped
 * from again only after a reclamation, i.e. after every thread that could
 * hold a stale (head, next) pair for it has dropped its hazard pointer.
 * Objects never wait in a deferred-reclamation list: a popped magazine's
 * objects are copied out before the magazine is retired.
 *
 * Progress: push and pop are lock-free (a CAS retry loop). A thread without
 * a record of its own (all LFP_HP_RECORDS_MAX taken) serialises on the
 * depot mutex to use the shared overflow record.
 */
#include "lfpool_internal.h"

#include <stdlib.h>
#include <string.h>

#ifdef LFP_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifdef LFP_TEST_HOOKS
/* Widens the ABA window (stress/aba_torture). */
void (*lfp_test_pop_hook)(void);
void lfp_test_set_pop_hook(void (*hook)(void))
{
	lfp_test_pop_hook = hook;
}
#endif

static void stack_push(_Atomic(struct lfp_mag *) *top, struct lfp_mag *m)
{
	struct lfp_mag *h = atomic_load_explicit(top, memory_order_relaxed);
	do {
		atomic_store_explicit(&m->next, h, memory_order_relaxed);
		/* Release: the magazine's contents and link are visible to the
		 * popper's acquire load of the head. */
	} while (!atomic_compare_exchange_weak_explicit(
		top, &h, m, memory_order_release, memory_order_relaxed));
}

static struct lfp_mag *stack_pop(_Atomic(struct lfp_mag *) *top,
				 ck_hp_record_t *rec)
{
	struct lfp_mag *m = atomic_load_explicit(top, memory_order_acquire);
	while (m != NULL) {
		/* Publish the hazard; ck_hp_set_fence is a full fence (xchg),
		 * so the re-check below cannot be satisfied by a load made
		 * before the hazard was visible to reclaimers. */
		ck_hp_set_fence(rec, 0, m);
		struct lfp_mag *again =
			atomic_load_explicit(top, memory_order_acquire);
		if (again != m) {
			m = again;
			continue;
		}
		/* m was the head after our hazard was visible: it cannot be
		 * reclaimed (hence re-pushed) until we clear it, so its link is
		 * stable as long as m stays the head. */
		struct lfp_mag *next =
			atomic_load_explicit(&m->next, memory_order_relaxed);
		LFP_TEST_HOOK(pop);
		/* seq_cst on success: the unlink is ordered before our later
		 * retirement scan reads other threads' hazards (a store-load
		 * order ck_hp's scan needs on weakly ordered CPUs), and
		 * against lfp_depot_empty (transit). Acquire on failure: the
		 * new head's link is read next. */
		if (atomic_compare_exchange_weak_explicit(top, &m, next,
							  memory_order_seq_cst,
							  memory_order_acquire))
			break;
	}
	/* We own m now (or nothing): no protection needed any more. */
	ck_hp_set(rec, 0, NULL);
	return m;
}

/* ck_hp reclamation callback: no hazard names the magazine any more. */
static void mag_reclaimed(void *data)
{
	struct lfp_mag *m = data;
	m->count = 0;
	stack_push(&m->depot->empty, m);
}

lfp_err lfp_depot_init(struct lfp_depot *d, uint32_t mag_size)
{
	memset(d, 0, sizeof(*d));
	atomic_init(&d->full, NULL);
	atomic_init(&d->empty, NULL);
	atomic_init(&d->transit, 0);
	d->mag_size = mag_size;
	ck_hp_init(&d->hp, 1, LFP_HP_THRESHOLD, mag_reclaimed);
	if (pthread_mutex_init(&d->lock, NULL) != 0)
		return LFP_ENOMEM;
	d->overflow = lfp_depot_rec_get(d);
	if (d->overflow == NULL) {
		pthread_mutex_destroy(&d->lock);
		return LFP_ENOMEM;
	}
	return LFP_OK;
}

void lfp_depot_fini(struct lfp_depot *d)
{
	/* Single-threaded: every magazine and record is on the "all" lists,
	 * whatever stack or pending list it sits in. */
	for (struct lfp_mag *m = d->all_mags, *n; m; m = n) {
		n = m->all_next;
		free(m);
	}
	for (struct lfp_hprec *r = d->all_recs, *n; r; r = n) {
		n = r->all_next;
		free(r);
	}
	pthread_mutex_destroy(&d->lock);
}

struct lfp_hprec *lfp_depot_rec_get(struct lfp_depot *d)
{
	/* A record left by an exited thread first (its pending list was
	 * purged before it was unregistered). */
	ck_hp_record_t *old = ck_hp_recycle(&d->hp);
	if (old)
		return (struct lfp_hprec *)old;
	struct lfp_hprec *r = NULL;
	pthread_mutex_lock(&d->lock);
	if (d->n_recs < LFP_HP_RECORDS_MAX) {
		r = calloc(1, sizeof(*r));
		if (r) {
			d->n_recs++;
			r->all_next = d->all_recs;
			d->all_recs = r;
			ck_hp_register(&d->hp, &r->rec, r->slot);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

void lfp_depot_rec_put(struct lfp_depot *d, struct lfp_hprec *r)
{
	(void)d;
	/* Reclaim everything still pending (waits only for hazards that other
	 * threads hold inside a pop), then make the record recyclable. */
	ck_hp_purge(&r->rec);
	ck_hp_unregister(&r->rec);
}

static struct lfp_mag *mag_alloc(struct lfp_depot *d)
{
	struct lfp_mag *m = malloc(sizeof(*m) + d->mag_size * sizeof(void *));
	if (!m)
		return NULL;
	atomic_init(&m->next, NULL);
	m->depot = d;
	m->count = 0;
	pthread_mutex_lock(&d->lock);
	m->all_next = d->all_mags;
	d->all_mags = m;
	pthread_mutex_unlock(&d->lock);
	return m;
}

static ck_hp_record_t *rec_enter(struct lfp_depot *d, struct lfp_hprec *rec)
{
	if (rec)
		return &rec->rec;
	pthread_mutex_lock(&d->lock);
	return &d->overflow->rec;
}

static void rec_leave(struct lfp_depot *d, struct lfp_hprec *rec)
{
	if (!rec)
		pthread_mutex_unlock(&d->lock);
}

/*
 * Pop one magazine of objects into objs[0..n) (n <= mag_size); 0 if the
 * depot is empty. *stamp gets the time its objects went idle. On success
 * the objects are in transit until the caller's lfp_transit_end().
 */
uint32_t lfp_depot_pop(struct lfp_depot *d, struct lfp_hprec *rec, void **objs,
		       uint64_t *stamp)
{
	/* Acquire: a reader that finds the depot emptied by a pop reads the
	 * transit word after this (try_exhausted), and must see the pop's
	 * transit_begin; this load synchronizes with the pop's seq_cst CAS. */
	if (atomic_load_explicit(&d->full, memory_order_acquire) == NULL)
		return 0;
	/* Before the pop: a reader that finds the depot emptied by it sees
	 * the move in progress (seq_cst, against lfp_depot_empty). */
	lfp_transit_begin(d);
	ck_hp_record_t *r = rec_enter(d, rec);
	struct lfp_mag *m = stack_pop(&d->full, r);
	uint32_t n = 0;
	if (m) {
#ifdef LFP_TSAN
		__tsan_acquire(m);
#endif
		n = m->count;
		LFP_ASSERT(n >= 1 && n <= d->mag_size);
		memcpy(objs, m->objs, n * sizeof(void *));
		if (stamp)
			*stamp = m->stamp_ns;
#ifdef LFP_TSAN
		__tsan_release(m);
#endif
		if (LFP_TEST_BROKEN_ABA)
			/* Deliberately wrong (mutation build, proves the
			 * stress suite bites): re-push at once, without
			 * waiting for hazards. */
			mag_reclaimed(m);
		else
			/* Retire: it reaches `empty` only via mag_reclaimed.
			 */
			ck_hp_free(r, &m->hazard, m, m);
	}
	rec_leave(d, rec);
	if (n == 0)
		lfp_transit_end(d); /* nothing moved after all */
	return n;
}

/*
 * Push objs[0..n) (1 <= n <= mag_size) as one magazine. False only if no
 * magazine could be allocated; the caller still owns the objects then.
 */
bool lfp_depot_push(struct lfp_depot *d, struct lfp_hprec *rec,
		    void *const *objs, uint32_t n, uint64_t stamp)
{
	LFP_ASSERT(n >= 1 && n <= d->mag_size);
	ck_hp_record_t *r = rec_enter(d, rec);
	struct lfp_mag *m = stack_pop(&d->empty, r);
	if (!m && r->n_pending > 0) {
		/* Our own retired magazines may be reclaimable by now. */
		ck_hp_reclaim(r);
		m = stack_pop(&d->empty, r);
	}
	rec_leave(d, rec);
	if (!m)
		m = mag_alloc(d);
	if (!m)
		return false;
#ifdef LFP_TSAN
	__tsan_acquire(m);
#endif
	memcpy(m->objs, objs, n * sizeof(void *));
	m->count = n;
	m->stamp_ns = stamp;
#ifdef LFP_TSAN
	__tsan_release(m);
#endif
	stack_push(&d->full, m);
	return true;
}
