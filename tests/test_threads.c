/* Multi-threaded behaviour of one pool. */
#include "thread_util.h"

#include <limits.h>

#include <sched.h>

/* ---- smoke: no object is ever handed to two threads at once ---------- */

struct smoke {
	lfp_pool *pool;
	tu_factory *f;
	int iters;
	pthread_barrier_t start;
	atomic_int errors;
	atomic_uint_fast64_t served;
};

struct smoke_arg {
	struct smoke *s;
	uint64_t id;
};

static void *smoke_main(void *arg)
{
	struct smoke_arg *a = arg;
	struct smoke *s = a->s;
	int errors = 0;
	pthread_barrier_wait(&s->start);
	for (int i = 0; i < s->iters; i++) {
		void *o = NULL, *o2 = NULL;
		lfp_err e;
		if (i % 4 == 3) {
			e = lfp_try_acquire(s->pool, &o);
			if (e == LFP_EMPTY)
				e = lfp_acquire(s->pool, &o);
		} else if (i % 4 == 2) {
			e = lfp_acquire_timed(s->pool, &o, LFP_FOREVER);
		} else {
			e = lfp_acquire(s->pool, &o);
		}
		if (e != LFP_OK) {
			errors++;
			break;
		}
		errors += tu_claim(o, s->f, a->id);
		/* Sometimes hold two at once. */
		if (i % 16 == 5 && lfp_try_acquire(s->pool, &o2) == LFP_OK)
			errors += tu_claim(o2, s->f, a->id + 1000);
		if (i % 64 == 0)
			sched_yield();
		if (o2) {
			errors += tu_unclaim(o2, a->id + 1000);
			errors += lfp_release(s->pool, o2) != LFP_OK;
		}
		errors += tu_unclaim(o, a->id);
		errors += lfp_release(s->pool, o) != LFP_OK;
		atomic_fetch_add(&s->served, 1);
	}
	atomic_fetch_add(&s->errors, errors);
	return NULL;
}

struct smoke_param {
	int threads;
	int iters;
	uint64_t capacity;
	uint32_t cache;
};

ParameterizedTestParameters(threads, smoke)
{
	static struct smoke_param params[] = {
		{4, 20000, 16, LFP_CACHE_DEFAULT},
		{8, 20000, 16, LFP_CACHE_DEFAULT},
		{4, 20000, 16, 0},
		{6, 5000, 3,
		 LFP_CACHE_DEFAULT}, /* fewer objects than threads */
		{6, 5000, 3, 0},
	};
	return cr_make_param_array(struct smoke_param, params,
				   sizeof(params) / sizeof(params[0]));
}

ParameterizedTest(struct smoke_param *sp, threads, smoke, .timeout = 60)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, sp->capacity, sp->cache);
	struct smoke s = {.pool = tu_pool(&c), .f = f, .iters = sp->iters};
	pthread_barrier_init(&s.start, NULL, (unsigned)sp->threads);
	pthread_t t[8];
	struct smoke_arg args[8];
	for (int i = 0; i < sp->threads; i++) {
		args[i] = (struct smoke_arg){.s = &s, .id = (uint64_t)i + 1};
		cr_assert_eq(pthread_create(&t[i], NULL, smoke_main, &args[i]),
			     0);
	}
	for (int i = 0; i < sp->threads; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	cr_assert_eq(atomic_load(&s.errors), 0, "%d ownership/API violations",
		     atomic_load(&s.errors));
	uint64_t total = (uint64_t)sp->threads * (uint64_t)sp->iters;
	cr_assert_eq(tu_ld(&s.served), total);
	lfp_stats st = tu_stats(s.pool);
	tu_assert_consistent(&st);
	cr_assert_geq(st.acquires, total);
	cr_assert_eq(st.acquires, st.releases);
	cr_assert_eq(st.in_use, 0);
	cr_assert_eq(st.idle, st.live);
	cr_assert_leq(st.peak_live, sp->capacity);
	/* Every object can still be had from here. */
	void *all[16];
	for (uint64_t i = 0; i < sp->capacity; i++)
		cr_assert_eq(lfp_try_acquire(s.pool, &all[i]), LFP_OK);
	cr_assert_eq(lfp_release_bulk(s.pool, all, (size_t)sp->capacity),
		     LFP_OK);
	cr_assert_eq(lfp_destroy(s.pool, NULL), LFP_OK);
	tu_assert_balanced(f);
	pthread_barrier_destroy(&s.start);
	free(f);
}

/* ---- thread exit returns its cached objects --------------------------- */

struct filler {
	lfp_pool *pool;
	int n;
	atomic_int errors;
	tu_phase ph; /* 1: cache filled; 2: may exit */
	int wait_for_exit;
};

static void *filler_main(void *arg)
{
	struct filler *fl = arg;
	void *o[64];
	for (int round = 0; round < 3; round++) {
		int got = 0;
		for (; got < fl->n; got++)
			if (lfp_try_acquire(fl->pool, &o[got]) != LFP_OK)
				break;
		if (got != fl->n)
			atomic_fetch_add(&fl->errors, 1);
		if (lfp_release_bulk(fl->pool, o, (size_t)got) != LFP_OK)
			atomic_fetch_add(&fl->errors, 1);
	}
	tu_phase_set(&fl->ph, 1);
	if (fl->wait_for_exit)
		tu_phase_wait(&fl->ph, 2);
	return NULL;
}

ParameterizedTestParameters(threads, exit_returns_cache)
{
	static uint32_t caches[] = {64, LFP_CACHE_DEFAULT, 1};
	return cr_make_param_array(uint32_t, caches, 3);
}

ParameterizedTest(uint32_t *cache, threads, exit_returns_cache, .timeout = 30)
{
	enum { CAP = 32 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, CAP, *cache);
	lfp_pool *p = tu_pool(&c);
	struct filler fl = {.pool = p, .n = CAP};
	tu_phase_init(&fl.ph);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, filler_main, &fl), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(atomic_load(&fl.errors), 0);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.live, CAP);
	cr_assert_eq(s.idle, s.live, "objects lost with the exited thread");
	cr_assert_eq(s.in_use, 0);
	void *all[CAP];
	for (int i = 0; i < CAP; i++) {
		cr_assert_eq(lfp_try_acquire(p, &all[i]), LFP_OK,
			     "object %d stranded in a dead thread's cache", i);
		tu_assert_obj(all[i], f);
	}
	void *x = NULL;
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
	cr_assert_eq(tu_ld(&f->creates), CAP);
	cr_assert_eq(lfp_release_bulk(p, all, CAP), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	tu_phase_destroy(&fl.ph);
	free(f);
}

/* ---- no stranded objects: a live but idle thread's cache -------------- */

enum { ACQ_TRY, ACQ_BLOCK, ACQ_TIMED, ACQ_BULK };

struct strand_param {
	int mode;
	uint32_t cache;
};

ParameterizedTestParameters(threads, no_stranded_objects)
{
	static struct strand_param params[] = {
		{ACQ_TRY, 64},
		{ACQ_BLOCK, 64},
		{ACQ_TIMED, 64},
		{ACQ_BULK, 64},
		{ACQ_TRY, LFP_CACHE_DEFAULT},
		{ACQ_BLOCK, LFP_CACHE_DEFAULT},
	};
	return cr_make_param_array(struct strand_param, params,
				   sizeof(params) / sizeof(params[0]));
}

ParameterizedTest(struct strand_param *sp, threads, no_stranded_objects,
		  .timeout = 60)
{
	enum { CAP = 16, ROUNDS = 3 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, CAP, sp->cache);
	lfp_pool *p = tu_pool(&c);
	struct filler fl[ROUNDS];
	pthread_t t[ROUNDS];
	void *all[CAP];
	for (int round = 0; round < ROUNDS; round++) {
		/* A fresh thread takes every object (from the depot or from
		 * this thread's cache), caches them all and parks. */
		fl[round] = (struct filler){
			.pool = p, .n = CAP, .wait_for_exit = 1};
		tu_phase_init(&fl[round].ph);
		cr_assert_eq(pthread_create(&t[round], NULL, filler_main,
					    &fl[round]),
			     0);
		tu_phase_wait(&fl[round].ph, 1);
		cr_assert_eq(atomic_load(&fl[round].errors), 0,
			     "round %d: the filler could not get every object",
			     round);

		/* This thread must be able to get all of them back. */
		if (sp->mode == ACQ_BULK)
			cr_assert_eq(lfp_acquire_bulk(p, all, CAP), LFP_OK,
				     "bulk: objects stranded in a sleeping "
				     "thread's cache");
		for (int i = 0; sp->mode != ACQ_BULK && i < CAP; i++) {
			lfp_err e;
			if (sp->mode == ACQ_TRY)
				e = lfp_try_acquire(p, &all[i]);
			else if (sp->mode == ACQ_BLOCK)
				e = lfp_acquire(p, &all[i]);
			else
				e = lfp_acquire_timed(p, &all[i],
						      10000 * TU_MS);
			cr_assert_eq(e, LFP_OK,
				     "round %d: object %d stranded (%s)", round,
				     i, lfp_strerror(e));
		}
		for (int i = 0; i < CAP; i++)
			tu_assert_obj(all[i], f);
		void *x = NULL;
		cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
		cr_assert_eq(tu_ld(&f->creates), CAP);
		lfp_stats s = tu_stats(p);
		tu_assert_consistent(&s);
		cr_assert_eq(s.in_use, CAP);
		cr_assert_eq(lfp_release_bulk(p, all, CAP), LFP_OK);
	}
	for (int round = 0; round < ROUNDS; round++) {
		tu_phase_set(&fl[round].ph, 2);
		cr_assert_eq(pthread_join(t[round], NULL), 0);
		tu_phase_destroy(&fl[round].ph);
	}
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.idle, CAP);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* ---- the seed scenario: 10 threads, 8 connections, 200 queries each --- */

struct seed {
	lfp_pool *pool;
	tu_factory *f;
	atomic_int errors;
	atomic_int served;
};

struct seed_arg {
	struct seed *s;
	uint64_t id;
};

static void *seed_main(void *arg)
{
	struct seed_arg *a = arg;
	struct seed *s = a->s;
	for (int q = 0; q < 200; q++) {
		void *conn = NULL;
		if (lfp_acquire(s->pool, &conn) != LFP_OK) {
			atomic_fetch_add(&s->errors, 1);
			return NULL;
		}
		int bad = tu_claim(conn, s->f, a->id);
		if (q % 10 == 0)
			sched_yield(); /* a "slow query" */
		bad += tu_unclaim(conn, a->id);
		bad += lfp_release(s->pool, conn) != LFP_OK;
		atomic_fetch_add(&s->errors, bad);
		atomic_fetch_add(&s->served, 1);
	}
	return NULL;
}

ParameterizedTestParameters(threads, seed_scenario)
{
	static uint32_t caches[] = {LFP_CACHE_DEFAULT, 0, 4};
	return cr_make_param_array(uint32_t, caches, 3);
}

ParameterizedTest(uint32_t *cache, threads, seed_scenario, .timeout = 60)
{
	enum { THREADS = 10, CAP = 8 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, CAP, *cache);
	struct seed s = {.pool = tu_pool(&c), .f = f};
	pthread_t t[THREADS];
	struct seed_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct seed_arg){.s = &s, .id = (uint64_t)i + 1};
		cr_assert_eq(pthread_create(&t[i], NULL, seed_main, &args[i]),
			     0);
	}
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	cr_assert_eq(atomic_load(&s.errors), 0);
	cr_assert_eq(atomic_load(&s.served), THREADS * 200);
	lfp_stats st = tu_stats(s.pool);
	tu_assert_consistent(&st);
	cr_assert_eq(st.acquires, THREADS * 200);
	cr_assert_eq(st.releases, THREADS * 200);
	cr_assert_eq(st.in_use, 0);
	cr_assert_leq(st.live, CAP);
	cr_assert_eq(lfp_destroy(s.pool, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* ---- a blocked acquirer is woken by a release ------------------------- */

struct sleeper {
	lfp_pool *pool;
	int mode;
	atomic_int started;
	atomic_int done;
	lfp_err err;
	void *got;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *w = arg;
	atomic_store(&w->started, 1);
	if (w->mode == ACQ_BLOCK)
		w->err = lfp_acquire(w->pool, &w->got);
	else if (w->mode == ACQ_TIMED)
		w->err = lfp_acquire_timed(w->pool, &w->got, 20000 * TU_MS);
	else
		w->err = lfp_acquire_timed(w->pool, &w->got, LFP_FOREVER);
	if (w->err == LFP_OK)
		w->err = lfp_release(w->pool, w->got);
	atomic_store(&w->done, 1);
	return NULL;
}

struct wake_param {
	int mode; /* ACQ_BLOCK, ACQ_TIMED, else timed FOREVER */
	uint32_t cache;
};

ParameterizedTestParameters(threads, release_wakes_waiter)
{
	static struct wake_param params[] = {
		{ACQ_BLOCK, LFP_CACHE_DEFAULT}, {ACQ_BLOCK, 0},
		{ACQ_TIMED, LFP_CACHE_DEFAULT}, {ACQ_TIMED, 0},
		{ACQ_TRY, LFP_CACHE_DEFAULT},	{ACQ_TRY, 0},
	};
	return cr_make_param_array(struct wake_param, params,
				   sizeof(params) / sizeof(params[0]));
}

ParameterizedTest(struct wake_param *wp, threads, release_wakes_waiter,
		  .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 1, wp->cache);
	lfp_pool *p = tu_pool(&c);
	void *held = NULL;
	cr_assert_eq(lfp_acquire(p, &held), LFP_OK);
	struct sleeper w = {.pool = p, .mode = wp->mode};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, sleeper_main, &w), 0);
	while (!atomic_load(&w.started))
		tu_sleep_ms(1);
	/* Wait (bounded) until the waiter is counted as sleeping. */
	uint64_t t0 = tu_now_ns();
	while (tu_stats(p).waits == 0 && tu_now_ns() - t0 < 10000 * TU_MS)
		tu_sleep_ms(1);
	tu_sleep_ms(20);
	cr_assert_eq(atomic_load(&w.done), 0,
		     "acquire returned while the pool was exhausted");
	cr_assert_eq(lfp_release(p, held), LFP_OK);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(w.err, LFP_OK, "waiter: %s", lfp_strerror(w.err));
	cr_assert_eq(w.got, held);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_geq(s.waits, 1);
	cr_assert_eq(s.timeouts, 0);
	cr_assert_eq(s.in_use, 0);
	void *x = NULL;
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_OK);
	cr_assert_eq(lfp_release(p, x), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(threads, many_waiters_all_served, .timeout = 60)
{
	enum { WAITERS = 6 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 2, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *held[2];
	cr_assert_eq(lfp_acquire_bulk(p, held, 2), LFP_OK);
	struct sleeper w[WAITERS];
	pthread_t t[WAITERS];
	for (int i = 0; i < WAITERS; i++) {
		w[i] = (struct sleeper){.pool = p, .mode = ACQ_BLOCK};
		cr_assert_eq(pthread_create(&t[i], NULL, sleeper_main, &w[i]),
			     0);
	}
	tu_sleep_ms(50);
	for (int i = 0; i < WAITERS; i++)
		cr_assert_eq(atomic_load(&w[i].done), 0);
	cr_assert_eq(lfp_release(p, held[0]), LFP_OK);
	cr_assert_eq(lfp_release(p, held[1]), LFP_OK);
	for (int i = 0; i < WAITERS; i++) {
		cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert_eq(w[i].err, LFP_OK);
	}
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.acquires, 2 + WAITERS);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* ---- more threads than hazard-pointer records (511) ------------------- */

struct crowd {
	lfp_pool *pool;
	tu_factory *f;
	pthread_barrier_t all_alive;
	int iters;
	atomic_int errors;
};

struct crowd_arg {
	struct crowd *cr;
	uint64_t id;
};

static void *crowd_main(void *arg)
{
	struct crowd_arg *a = arg;
	struct crowd *cr = a->cr;
	int bad = 0;
	void *o = NULL;
	/* Register with the pool, then wait until every thread has. */
	if (lfp_acquire(cr->pool, &o) != LFP_OK)
		bad++;
	else
		bad += lfp_release(cr->pool, o) != LFP_OK;
	pthread_barrier_wait(&cr->all_alive);
	for (int i = 0; i < cr->iters; i++) {
		if (lfp_acquire(cr->pool, &o) != LFP_OK) {
			bad++;
			break;
		}
		bad += tu_claim(o, cr->f, a->id);
		bad += tu_unclaim(o, a->id);
		bad += lfp_release(cr->pool, o) != LFP_OK;
	}
	atomic_fetch_add(&cr->errors, bad);
	return NULL;
}

static void run_crowd(struct crowd *cr, int nthreads)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	size_t stack = 64 * 1024;
	if (stack < (size_t)PTHREAD_STACK_MIN)
		stack = (size_t)PTHREAD_STACK_MIN; /* 128 KiB on aarch64 */
	cr_assert_eq(pthread_attr_setstacksize(&attr, stack), 0);
	pthread_t *t = calloc((size_t)nthreads, sizeof(*t));
	struct crowd_arg *args = calloc((size_t)nthreads, sizeof(*args));
	cr_assert(t && args);
	pthread_barrier_init(&cr->all_alive, NULL, (unsigned)nthreads);
	for (int i = 0; i < nthreads; i++) {
		args[i] = (struct crowd_arg){.cr = cr, .id = (uint64_t)i + 1};
		int rc = pthread_create(&t[i], &attr, crowd_main, &args[i]);
		cr_assert_eq(rc, 0, "pthread_create #%d: %s", i, strerror(rc));
	}
	for (int i = 0; i < nthreads; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&cr->all_alive);
	pthread_attr_destroy(&attr);
	free(t);
	free(args);
}

Test(threads, more_threads_than_records, .timeout = 60)
{
	enum { CAP = 64, THREADS = 600, ITERS = 200 };
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, CAP, LFP_CACHE_DEFAULT);
	struct crowd cr = {.pool = tu_pool(&c), .f = f, .iters = ITERS};
	run_crowd(&cr, THREADS);
	cr_assert_eq(atomic_load(&cr.errors), 0);
	/* A second, smaller wave after the first has exited. */
	run_crowd(&cr, 100);
	cr_assert_eq(atomic_load(&cr.errors), 0);

	lfp_stats s = tu_stats(cr.pool);
	tu_assert_consistent(&s);
	uint64_t total = (uint64_t)(THREADS + 100) * (ITERS + 1);
	cr_assert_eq(s.acquires, total);
	cr_assert_eq(s.releases, total);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(s.idle, s.live, "objects lost with exited threads");
	void *all[CAP];
	for (int i = 0; i < CAP; i++) {
		cr_assert_eq(lfp_try_acquire(cr.pool, &all[i]), LFP_OK,
			     "object %d not accounted for", i);
		tu_assert_obj(all[i], f);
	}
	void *x = NULL;
	cr_assert_eq(lfp_try_acquire(cr.pool, &x), LFP_EMPTY);
	cr_assert_eq(lfp_release_bulk(cr.pool, all, CAP), LFP_OK);
	cr_assert_eq(lfp_destroy(cr.pool, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}
