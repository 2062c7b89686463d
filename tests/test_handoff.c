/* Objects crossing threads: released by another thread, timed waiters
 * racing releases, releases from thread-exit destructors. */
#include "thread_util.h"

/* ---- acquire in one thread, release in another ------------------------ */

enum { RING = 4 };

struct handoff {
	lfp_pool *pool;
	tu_factory *f;
	int count;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void *ring[RING];
	int head, tail; /* head - tail objects in the ring */
	atomic_int errors;
};

static void *producer_main(void *arg)
{
	struct handoff *h = arg;
	int bad = 0;
	for (int i = 0; i < h->count; i++) {
		void *o = NULL;
		if (lfp_acquire(h->pool, &o) != LFP_OK) {
			bad++;
			o = NULL;
		} else {
			bad += tu_claim(o, h->f, 1);
		}
		pthread_mutex_lock(&h->mu);
		while (h->head - h->tail == RING)
			pthread_cond_wait(&h->cv, &h->mu);
		h->ring[h->head % RING] = o;
		h->head++;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
	}
	atomic_fetch_add(&h->errors, bad);
	return NULL;
}

static void *consumer_main(void *arg)
{
	struct handoff *h = arg;
	int bad = 0;
	for (int i = 0; i < h->count; i++) {
		pthread_mutex_lock(&h->mu);
		while (h->head == h->tail)
			pthread_cond_wait(&h->cv, &h->mu);
		void *o = h->ring[h->tail % RING];
		h->tail++;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		if (!o) {
			bad++;
			continue;
		}
		bad += tu_unclaim(o, 1);
		bad += lfp_release(h->pool, o) != LFP_OK;
	}
	atomic_fetch_add(&h->errors, bad);
	return NULL;
}

ParameterizedTestParameters(handoff, cross_thread_release)
{
	static uint32_t caches[] = {0, 64, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 3);
}

ParameterizedTest(uint32_t *cache, handoff, cross_thread_release, .timeout = 60)
{
	enum { CAP = 8, COUNT = 5000 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, CAP, *cache);
	struct handoff h = {.pool = tu_pool(&c), .f = f, .count = COUNT};
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	pthread_t prod, cons;
	cr_assert_eq(pthread_create(&cons, NULL, consumer_main, &h), 0);
	cr_assert_eq(pthread_create(&prod, NULL, producer_main, &h), 0);
	cr_assert_eq(pthread_join(prod, NULL), 0);
	cr_assert_eq(pthread_join(cons, NULL), 0);
	cr_assert_eq(atomic_load(&h.errors), 0);
	lfp_stats s = tu_stats(h.pool);
	tu_assert_consistent(&s);
	cr_assert_eq(s.acquires, COUNT);
	cr_assert_eq(s.releases, COUNT);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.idle, s.live);
	void *all[CAP];
	for (int i = 0; i < CAP; i++)
		cr_assert_eq(lfp_try_acquire(h.pool, &all[i]), LFP_OK);
	cr_assert_eq(lfp_release_bulk(h.pool, all, CAP), LFP_OK);
	cr_assert_eq(lfp_destroy(h.pool, NULL), LFP_OK);
	tu_assert_balanced(f);
	pthread_mutex_destroy(&h.mu);
	pthread_cond_destroy(&h.cv);
	free(f);
}

/* ---- timed waiters racing releases never lose objects ----------------- */

struct timed {
	lfp_pool *pool;
	tu_factory *f;
	atomic_int errors;
	atomic_int timeouts;
	atomic_int served;
};

struct timed_arg {
	struct timed *t;
	uint64_t id;
};

static void *timed_main(void *arg)
{
	struct timed_arg *a = arg;
	struct timed *t = a->t;
	int bad = 0;
	for (int i = 0; i < 400; i++) {
		void *o = NULL;
		/* 0.05 .. 1 ms: many give up, many are served. */
		uint64_t to =
			50000u +
			(uint64_t)((a->id * 7919u + (uint64_t)i * 104729u) %
				   950000u);
		lfp_err e = lfp_acquire_timed(t->pool, &o, to);
		if (e == LFP_ETIMEDOUT) {
			atomic_fetch_add(&t->timeouts, 1);
			continue;
		}
		if (e != LFP_OK) {
			bad++;
			continue;
		}
		bad += tu_claim(o, t->f, a->id);
		for (volatile int spin = 0; spin < 2000; spin++)
			;
		bad += tu_unclaim(o, a->id);
		bad += lfp_release(t->pool, o) != LFP_OK;
		atomic_fetch_add(&t->served, 1);
	}
	atomic_fetch_add(&t->errors, bad);
	return NULL;
}

Test(handoff, timed_waiters_racing_releases, .timeout = 60)
{
	enum { THREADS = 6, CAP = 2 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, CAP, LFP_CACHE_DEFAULT);
	struct timed t = {.pool = tu_pool(&c), .f = f};
	pthread_t th[THREADS];
	struct timed_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct timed_arg){.t = &t, .id = (uint64_t)i + 1};
		cr_assert_eq(pthread_create(&th[i], NULL, timed_main, &args[i]),
			     0);
	}
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_join(th[i], NULL), 0);
	cr_assert_eq(atomic_load(&t.errors), 0);
	cr_assert_eq(atomic_load(&t.served) + atomic_load(&t.timeouts),
		     THREADS * 400);
	lfp_stats s = tu_stats(t.pool);
	tu_assert_consistent(&s);
	cr_assert_eq(s.timeouts, (uint64_t)atomic_load(&t.timeouts));
	cr_assert_eq(s.acquires, (uint64_t)atomic_load(&t.served));
	cr_assert_eq(s.releases, (uint64_t)atomic_load(&t.served));
	cr_assert_eq(s.in_use, 0);
	/* No object went missing with a waiter that gave up. */
	void *all[CAP];
	for (int i = 0; i < CAP; i++)
		cr_assert_eq(lfp_try_acquire(t.pool, &all[i]), LFP_OK);
	cr_assert_eq(lfp_release_bulk(t.pool, all, CAP), LFP_OK);
	cr_assert_eq(lfp_destroy(t.pool, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* ---- one object, three threads: every release must wake someone ------ */

struct pingpong {
	lfp_pool *pool;
	tu_factory *f;
	atomic_int errors;
};

struct pingpong_arg {
	struct pingpong *pp;
	uint64_t id;
};

static void *pingpong_main(void *arg)
{
	struct pingpong_arg *a = arg;
	int bad = 0;
	for (int i = 0; i < 2000; i++) {
		void *o = NULL;
		if (lfp_acquire(a->pp->pool, &o) != LFP_OK) {
			bad++;
			break;
		}
		bad += tu_claim(o, a->pp->f, a->id);
		bad += tu_unclaim(o, a->id);
		bad += lfp_release(a->pp->pool, o) != LFP_OK;
	}
	atomic_fetch_add(&a->pp->errors, bad);
	return NULL;
}

ParameterizedTestParameters(handoff, single_object_contended)
{
	static uint32_t caches[] = {0, 8};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, handoff, single_object_contended,
		  .timeout = 60)
{
	enum { THREADS = 3 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, *cache);
	struct pingpong pp = {.pool = tu_pool(&c), .f = f};
	pthread_t th[THREADS];
	struct pingpong_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] =
			(struct pingpong_arg){.pp = &pp, .id = (uint64_t)i + 1};
		cr_assert_eq(
			pthread_create(&th[i], NULL, pingpong_main, &args[i]),
			0);
	}
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_join(th[i], NULL), 0);
	cr_assert_eq(atomic_load(&pp.errors), 0);
	lfp_stats s = tu_stats(pp.pool);
	tu_assert_consistent(&s);
	cr_assert_eq(s.acquires, THREADS * 2000);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.creates, 1);
	cr_assert_eq(lfp_destroy(pp.pool, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* ---- releasing from a thread-specific-data destructor ----------------- */

static pthread_key_t late_key;
static lfp_pool *late_pool;
static atomic_int late_errors;

static void late_release(void *obj)
{
	if (lfp_release(late_pool, obj) != LFP_OK)
		atomic_fetch_add(&late_errors, 1);
}

static void *late_main(void *arg)
{
	(void)arg;
	void *o[3];
	/* Use the pool first so the library's own exit hook is registered
	 * for this thread before ours. */
	if (lfp_acquire_bulk(late_pool, o, 3) != LFP_OK) {
		atomic_fetch_add(&late_errors, 1);
		return NULL;
	}
	lfp_release(late_pool, o[1]);
	lfp_release(late_pool, o[2]);
	/* o[0] is released by the destructor while the thread exits. */
	pthread_setspecific(late_key, o[0]);
	return NULL;
}

Test(handoff, release_from_tls_destructor, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, 64);
	late_pool = tu_pool(&c);
	cr_assert_eq(pthread_key_create(&late_key, late_release), 0);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, late_main, NULL), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(atomic_load(&late_errors), 0);
	lfp_stats s = tu_stats(late_pool);
	tu_assert_consistent(&s);
	cr_assert_eq(s.releases, 3);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.idle, 3,
		     "an object released during thread exit "
		     "was stranded");
	void *all[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(lfp_try_acquire(late_pool, &all[i]), LFP_OK);
	cr_assert_eq(tu_ld(&f->creates), 4);
	cr_assert_eq(lfp_release_bulk(late_pool, all, 4), LFP_OK);
	cr_assert_eq(lfp_destroy(late_pool, NULL), LFP_OK);
	tu_assert_balanced(f);
	pthread_key_delete(late_key);
	free(f);
}

/* ---- a waiter is served while another thread keeps the pool busy ------- */

/* Holds the pool's only object and gives it back and takes it again through
 * its own thread cache as fast as it can, until the waiter has it. */
struct barger {
	lfp_pool *pool;
	void *obj;
	atomic_int errors;
	atomic_ulong rounds;
	atomic_int stop;
};

/* Best effort: the two threads on different CPUs, so the barger never
 * waits for the waiter to be scheduled. */
static void pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *barger_main(void *arg)
{
	struct barger *b = arg;
	void *o = b->obj;
	pin_to(0);
	while (!atomic_load(&b->stop)) {
		if (lfp_release(b->pool, o) != LFP_OK) {
			atomic_fetch_add(&b->errors, 1);
			return NULL;
		}
		atomic_fetch_add(&b->rounds, 1);
		lfp_err e = lfp_try_acquire(b->pool, &o);
		if (e == LFP_EMPTY)
			return NULL; /* the waiter has it */
		if (e != LFP_OK) {
			atomic_fetch_add(&b->errors, 1);
			return NULL;
		}
	}
	if (lfp_release(b->pool, o) != LFP_OK)
		atomic_fetch_add(&b->errors, 1);
	return NULL;
}

/* Without hand-off to a starving waiter, the releasing thread takes the
 * object back before the woken waiter runs, every time (barging). The
 * waiter must get it while the other thread is still at it: within the
 * hand-off delay plus scheduling, far below the 2 s allowed here. */
Test(handoff, starving_waiter_served_while_another_thread_barges, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, LFP_CACHE_DEFAULT);
	c.factory.reset = NULL; /* no hooks: releases take the fast path */
	c.factory.validate = NULL;
	lfp_pool *p = tu_pool(&c);
	struct barger b = {.pool = p};
	cr_assert_eq(lfp_acquire(p, &b.obj), LFP_OK);
	cpu_set_t before;
	cr_assert_eq(
		pthread_getaffinity_np(pthread_self(), sizeof(before), &before),
		0);
	pin_to(1);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, barger_main, &b), 0);
	while (atomic_load(&b.rounds) < 1000)
		sched_yield();
	void *o = NULL;
	lfp_err e = lfp_acquire_timed(p, &o, 2000 * TU_MS);
	unsigned long rounds = atomic_load(&b.rounds);
	atomic_store(&b.stop, 1);
	cr_assert_eq(pthread_join(t, NULL), 0);
	pthread_setaffinity_np(pthread_self(), sizeof(before), &before);
	cr_assert_eq(e, LFP_OK,
		     "the waiter starved: %s after the other thread's %lu "
		     "releases",
		     lfp_strerror(e), rounds);
	cr_assert_eq(atomic_load(&b.errors), 0);
	cr_assert_eq(lfp_release(p, o), LFP_OK);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}
