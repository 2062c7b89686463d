/* Many pools per thread; pools destroyed while threads that used them live. */
#include "thread_util.h"

/* ---- many pools used from two threads --------------------------------- */

enum { NPOOLS = 300, POOL_CAP = 4 };

struct multi {
	lfp_pool *pools[NPOOLS];
	tu_factory *f;
	atomic_int errors;
	atomic_int done; /* workers that finished their work */
	tu_phase ph;	 /* main sets 1 after destroying all pools */
	int park;	 /* workers wait for phase 1 before exiting */
};

struct multi_arg {
	struct multi *m;
	uint64_t id;
};

static void *multi_main(void *arg)
{
	struct multi_arg *a = arg;
	struct multi *m = a->m;
	int bad = 0;
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < NPOOLS; i++) {
			/* Walk the pools in different orders per thread. */
			int k = a->id % 2 ? i : NPOOLS - 1 - i;
			lfp_pool *p = m->pools[k];
			void *o[2] = {0, 0};
			if (lfp_acquire(p, &o[0]) != LFP_OK) {
				bad++;
				continue;
			}
			if (lfp_try_acquire(p, &o[1]) != LFP_OK)
				o[1] = NULL;
			for (int j = 0; j < 2 && o[j]; j++) {
				/* The object must belong to this very pool. */
				lfp_handle h = lfp_handle_of(p, o[j]);
				bad += lfp_handle_get(p, h) != o[j];
				bad += tu_claim(o[j], m->f, a->id);
			}
			for (int j = 1; j >= 0; j--) {
				if (!o[j])
					continue;
				bad += tu_unclaim(o[j], a->id);
				bad += lfp_release(p, o[j]) != LFP_OK;
			}
		}
	}
	atomic_fetch_add(&m->errors, bad);
	atomic_fetch_add(&m->done, 1);
	if (m->park)
		tu_phase_wait(&m->ph, 1);
	return NULL;
}

static void run_multi(int park)
{
	struct multi *m = calloc(1, sizeof(*m));
	cr_assert_not_null(m);
	m->f = tu_factory_new();
	m->park = park;
	tu_phase_init(&m->ph);
	for (int i = 0; i < NPOOLS; i++) {
		lfp_config c = tu_config(m->f, POOL_CAP, LFP_CACHE_DEFAULT);
		m->pools[i] = tu_pool(&c);
	}
	pthread_t t[2];
	struct multi_arg args[2];
	for (int i = 0; i < 2; i++) {
		args[i] = (struct multi_arg){.m = m, .id = (uint64_t)i + 1};
		cr_assert_eq(pthread_create(&t[i], NULL, multi_main, &args[i]),
			     0);
	}
	if (park) {
		/* Wait for both to finish their work, without joining. */
		while (atomic_load(&m->done) < 2)
			tu_sleep_ms(5);
		cr_assert_eq(atomic_load(&m->errors), 0);
	} else {
		for (int i = 0; i < 2; i++)
			cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert_eq(atomic_load(&m->errors), 0);
	}
	for (int i = 0; i < NPOOLS; i++) {
		lfp_stats s = tu_stats(m->pools[i]);
		tu_assert_consistent(&s);
		cr_assert_eq(s.in_use, 0);
		cr_assert_leq(s.live, POOL_CAP);
		if (!park) {
			/* Both threads have exited: all objects are back. */
			void *all[POOL_CAP];
			cr_assert_eq(
				lfp_acquire_bulk(m->pools[i], all, POOL_CAP),
				LFP_OK, "pool %d lost objects", i);
			cr_assert_eq(
				lfp_release_bulk(m->pools[i], all, POOL_CAP),
				LFP_OK);
		}
		/* Parked threads still cache objects: idle, not busy. */
		cr_assert_eq(lfp_destroy(m->pools[i], NULL), LFP_OK);
	}
	tu_assert_balanced(m->f);
	if (park) {
		/* The threads exit after their pools are gone. */
		tu_phase_set(&m->ph, 1);
		for (int i = 0; i < 2; i++)
			cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert_eq(atomic_load(&m->errors), 0);
		tu_assert_balanced(m->f);
	}
	tu_phase_destroy(&m->ph);
	free(m->f);
	free(m);
}

Test(multipool, many_pools_two_threads, .timeout = 60)
{
	run_multi(0);
}

Test(multipool, many_pools_destroyed_before_threads_exit, .timeout = 60)
{
	run_multi(1);
}

/* ---- one pool destroyed while a thread that used it lives on ---------- */

struct survivor {
	lfp_pool *old_pool;
	lfp_pool *new_pool; /* NULL: exit without using a new pool */
	tu_factory *f_old, *f_new;
	tu_phase ph; /* 1: used old; 2: main destroyed old (+ made new);
			3: used new */
	atomic_int errors;
	int use_new;
};

static void *survivor_main(void *arg)
{
	struct survivor *sv = arg;
	int bad = 0;
	void *o[4];
	for (int r = 0; r < 3; r++) {
		bad += lfp_acquire_bulk(sv->old_pool, o, 4) != LFP_OK;
		bad += lfp_release_bulk(sv->old_pool, o, 4) != LFP_OK;
	}
	tu_phase_set(&sv->ph, 1);
	tu_phase_wait(&sv->ph, 2);
	if (sv->use_new) {
		for (int i = 0; i < 200; i++) {
			void *x = NULL;
			if (lfp_acquire(sv->new_pool, &x) != LFP_OK) {
				bad++;
				break;
			}
			/* Never an object of the destroyed pool. */
			bad += tu_claim(x, sv->f_new, 7);
			bad += tu_unclaim(x, 7);
			bad += lfp_release(sv->new_pool, x) != LFP_OK;
		}
		void *all[4];
		if (lfp_acquire_bulk(sv->new_pool, all, 4) != LFP_OK) {
			bad++;
		} else {
			for (int i = 0; i < 4; i++)
				bad += ((tu_obj *)all[i])->factory != sv->f_new;
			bad += lfp_release_bulk(sv->new_pool, all, 4) != LFP_OK;
		}
	}
	atomic_fetch_add(&sv->errors, bad);
	tu_phase_set(&sv->ph, 3);
	return NULL;
}

static void run_survivor(int use_new)
{
	struct survivor sv = {.use_new = use_new};
	sv.f_old = tu_factory_new();
	sv.f_new = tu_factory_new();
	tu_phase_init(&sv.ph);
	lfp_config c = tu_config(sv.f_old, 4, LFP_CACHE_DEFAULT);
	sv.old_pool = tu_pool(&c);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, survivor_main, &sv), 0);
	tu_phase_wait(&sv.ph, 1);

	/* The thread caches the old pool's objects: they are idle. */
	lfp_stats fin = LFP_STATS_INIT;
	cr_assert_eq(lfp_destroy(sv.old_pool, &fin), LFP_OK);
	cr_assert_eq(fin.in_use, 0);
	tu_assert_balanced(sv.f_old);
	if (use_new) {
		/* Same config: likely to land on the old pool's memory. */
		lfp_config c2 = tu_config(sv.f_new, 4, LFP_CACHE_DEFAULT);
		sv.new_pool = tu_pool(&c2);
	}
	tu_phase_set(&sv.ph, 2);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(atomic_load(&sv.errors), 0,
		     "the surviving thread saw %d problems",
		     atomic_load(&sv.errors));
	tu_assert_balanced(sv.f_old);
	if (use_new) {
		lfp_stats s = tu_stats(sv.new_pool);
		tu_assert_consistent(&s);
		cr_assert_eq(s.in_use, 0);
		cr_assert_eq(s.idle, s.live);
		void *all[4];
		for (int i = 0; i < 4; i++) {
			cr_assert_eq(lfp_try_acquire(sv.new_pool, &all[i]),
				     LFP_OK);
			tu_assert_obj(all[i], sv.f_new);
		}
		cr_assert_eq(lfp_release_bulk(sv.new_pool, all, 4), LFP_OK);
		cr_assert_eq(lfp_destroy(sv.new_pool, NULL), LFP_OK);
		tu_assert_balanced(sv.f_new);
	}
	tu_phase_destroy(&sv.ph);
	free(sv.f_old);
	free(sv.f_new);
}

Test(multipool, destroyed_while_user_thread_alive, .timeout = 30)
{
	run_survivor(0);
}

Test(multipool, destroyed_then_new_pool_used_by_same_thread, .timeout = 30)
{
	run_survivor(1);
}

/* ---- create/use/destroy churn in one thread --------------------------- */

Test(multipool, pool_churn_single_thread, .timeout = 60)
{
	tu_factory *prev = NULL;
	for (int k = 0; k < 200; k++) {
		tu_factory *f = tu_factory_new();
		lfp_config c = tu_config(f, 3, LFP_CACHE_DEFAULT);
		c.min_idle = (uint64_t)(k % 3);
		lfp_pool *p = tu_pool(&c);
		for (int i = 0; i < 5; i++) {
			void *o[3];
			cr_assert_eq(lfp_acquire_bulk(p, o, 3), LFP_OK);
			for (int j = 0; j < 3; j++) {
				/* A stale cache of a previous pool at the
				 * same address would show up here. */
				tu_assert_obj(o[j], f);
			}
			void *x = NULL;
			cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
			cr_assert_eq(lfp_release_bulk(p, o, 3), LFP_OK);
		}
		if (k % 2)
			cr_assert_eq(lfp_thread_flush(p), LFP_OK);
		cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
		tu_assert_balanced(f);
		free(prev);
		prev = f; /* keep one alive so factory addresses differ */
	}
	free(prev);
}

/* ---- a long-lived thread uses a series of pools ----------------------- */

struct longlived {
	lfp_pool *pool;
	tu_factory *f;
	tu_phase to_worker, to_main;
	atomic_int errors;
	int rounds;
};

static void *longlived_main(void *arg)
{
	struct longlived *ll = arg;
	int bad = 0;
	for (int k = 1; k <= ll->rounds; k++) {
		tu_phase_wait(&ll->to_worker, k);
		for (int i = 0; i < 5; i++) {
			void *o[4];
			if (lfp_acquire_bulk(ll->pool, o, 4) != LFP_OK) {
				bad++;
				continue;
			}
			for (int j = 0; j < 4; j++) {
				bad += tu_claim(o[j], ll->f, 9);
				bad += tu_unclaim(o[j], 9);
			}
			bad += lfp_release_bulk(ll->pool, o, 4) != LFP_OK;
		}
		tu_phase_set(&ll->to_main, k);
	}
	atomic_fetch_add(&ll->errors, bad);
	return NULL;
}

Test(multipool, long_lived_thread_outlives_many_pools, .timeout = 60)
{
	/* Each pool is destroyed (by this thread) while the worker still
	 * caches its objects; the next pool likely reuses its memory. */
	struct longlived ll = {.rounds = 100};
	tu_phase_init(&ll.to_worker);
	tu_phase_init(&ll.to_main);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, longlived_main, &ll), 0);
	for (int k = 1; k <= ll.rounds; k++) {
		tu_factory *f = tu_factory_new();
		lfp_config c = tu_config(f, 4, LFP_CACHE_DEFAULT);
		lfp_pool *p = tu_pool(&c);
		/* This thread caches some of them too. */
		void *o[2];
		cr_assert_eq(lfp_acquire_bulk(p, o, 2), LFP_OK);
		tu_assert_obj(o[0], f);
		tu_assert_obj(o[1], f);
		cr_assert_eq(lfp_release_bulk(p, o, 2), LFP_OK);
		ll.pool = p;
		ll.f = f;
		tu_phase_set(&ll.to_worker, k);
		tu_phase_wait(&ll.to_main, k);
		lfp_stats fin = LFP_STATS_INIT;
		cr_assert_eq(lfp_destroy(p, &fin), LFP_OK, "round %d", k);
		cr_assert_eq(fin.in_use, 0);
		cr_assert_eq(fin.acquires, 22);
		tu_assert_balanced(f);
		free(f);
	}
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(atomic_load(&ll.errors), 0);
	tu_phase_destroy(&ll.to_worker);
	tu_phase_destroy(&ll.to_main);
}
