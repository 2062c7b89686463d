/* Idle eviction: lfp_trim and max_idle_ns. */
#include "test_util.h"

#include <pthread.h>

/* Objects idle "longer than 0 ns" — give coarse clocks a few ms. */
#define AGE_MS 10

ParameterizedTestParameters(trim, evicts_down_to_min_idle)
{
	static uint32_t caches[] = {0, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, trim, evicts_down_to_min_idle)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 16, *cache);
	c.min_idle = 2;
	lfp_pool *p = tu_pool(&c);
	void *o[10];
	cr_assert_eq(lfp_acquire_bulk(p, o, 10), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, o, 10), LFP_OK);
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	tu_sleep_ms(AGE_MS);
	uint64_t ev = 12345;
	cr_assert_eq(lfp_trim(p, 0, &ev), LFP_OK);
	cr_assert_eq(ev, 8, "evicted %llu, want 8", (unsigned long long)ev);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.live, 2);
	cr_assert_eq(s.idle, 2);
	cr_assert_eq(s.evictions, 8);
	cr_assert_eq(tu_ld(&f->destroys), 8);

	/* Nothing more to evict. */
	tu_sleep_ms(AGE_MS);
	cr_assert_eq(lfp_trim(p, 0, &ev), LFP_OK);
	cr_assert_eq(ev, 0);
	cr_assert_eq(lfp_trim(p, 0, NULL), LFP_OK);
	cr_assert_eq(tu_stats(p).live, 2);

	/* The evicted slots are usable again. */
	void *all[16];
	cr_assert_eq(lfp_acquire_bulk(p, all, 16), LFP_OK);
	for (int i = 0; i < 16; i++)
		tu_assert_obj(all[i], f);
	cr_assert_eq(lfp_release_bulk(p, all, 16), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(trim, min_idle_equal_capacity_keeps_all)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, 0);
	c.min_idle = 8;
	lfp_pool *p = tu_pool(&c);
	tu_sleep_ms(AGE_MS);
	uint64_t ev = 99;
	cr_assert_eq(lfp_trim(p, 0, &ev), LFP_OK);
	cr_assert_eq(ev, 0);
	cr_assert_eq(tu_stats(p).live, 8);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

ParameterizedTestParameters(trim, in_use_never_evicted)
{
	static uint32_t caches[] = {0, LFP_CACHE_DEFAULT};
	return cr_make_param_array(uint32_t, caches, 2);
}

ParameterizedTest(uint32_t *cache, trim, in_use_never_evicted)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 16, *cache);
	lfp_pool *p = tu_pool(&c);
	void *o[10];
	lfp_handle h[10];
	cr_assert_eq(lfp_acquire_bulk(p, o, 10), LFP_OK);
	for (int i = 0; i < 10; i++)
		h[i] = lfp_handle_of(p, o[i]);
	cr_assert_eq(lfp_release_bulk(p, o + 6, 4), LFP_OK);
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	tu_sleep_ms(AGE_MS);
	uint64_t ev = 0;
	cr_assert_eq(lfp_trim(p, 0, &ev), LFP_OK);
	cr_assert_eq(ev, 4);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.live, 6);
	cr_assert_eq(s.in_use, 6);
	for (int i = 0; i < 6; i++) {
		tu_assert_obj(o[i], f);
		cr_assert_eq(atomic_load(&f->destroyed[((tu_obj *)o[i])->id]),
			     0, "an acquired object was destroyed by trim");
		cr_assert_eq(lfp_handle_get(p, h[i]), o[i]);
	}
	/* An evicted object is no longer live: releasing it again is
	 * detected, and its handle is dead. */
	lfp_err e = lfp_release(p, o[7]);
	cr_assert(e == LFP_EFOREIGN || e == LFP_EDOUBLE,
		  "release of an evicted object: %s", lfp_strerror(e));
	cr_assert_null(lfp_handle_get(p, h[7]));
	cr_assert_eq(lfp_release_bulk(p, o, 6), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(trim, large_max_ns_evicts_nothing)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 16, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	void *o[10];
	cr_assert_eq(lfp_acquire_bulk(p, o, 10), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, o, 10), LFP_OK);
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	tu_sleep_ms(AGE_MS);
	uint64_t ev = 77;
	cr_assert_eq(lfp_trim(p, UINT64_C(3600) * 1000000000u, &ev), LFP_OK);
	cr_assert_eq(ev, 0);
	ev = 77;
	cr_assert_eq(lfp_trim(p, UINT64_MAX / 2, &ev), LFP_OK);
	cr_assert_eq(ev, 0, "lfp_trim(UINT64_MAX / 2) evicted %llu",
		     (unsigned long long)ev);
	ev = 77;
	cr_assert_eq(lfp_trim(p, UINT64_MAX, &ev), LFP_OK);
	cr_assert_eq(ev, 0,
		     "lfp_trim(UINT64_MAX) evicted %llu objects idle "
		     "for ~%d ms",
		     (unsigned long long)ev, AGE_MS);
	lfp_stats s = tu_stats(p);
	cr_assert_eq(s.live, 10);
	cr_assert_eq(s.evictions, 0);
	cr_assert_eq(tu_ld(&f->destroys), 0);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(trim, own_cache_evictable_after_flush)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, 64);
	lfp_pool *p = tu_pool(&c);
	void *o[4];
	cr_assert_eq(lfp_acquire_bulk(p, o, 4), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, o, 4), LFP_OK);
	tu_sleep_ms(AGE_MS);
	uint64_t ev1 = 0, ev2 = 0;
	/* Whether a trim touches the caller's own cache is up to the pool;
	 * after a flush the objects are in the depot and must go. */
	cr_assert_eq(lfp_trim(p, 0, &ev1), LFP_OK);
	cr_assert_leq(ev1, 4);
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	tu_sleep_ms(AGE_MS);
	cr_assert_eq(lfp_trim(p, 0, &ev2), LFP_OK);
	cr_assert_eq(ev1 + ev2, 4, "evicted %llu + %llu, want 4",
		     (unsigned long long)ev1, (unsigned long long)ev2);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.live, 0);
	cr_assert_eq(tu_ld(&f->destroys), 4);
	/* The thread's (now stale) cache must not hand out dead objects. */
	void *all[8];
	cr_assert_eq(lfp_acquire_bulk(p, all, 8), LFP_OK);
	for (int i = 0; i < 8; i++)
		tu_assert_obj(all[i], f);
	cr_assert_eq(lfp_release_bulk(p, all, 8), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* A thread that fills its cache and then sleeps on a condvar. */
struct sleeper {
	lfp_pool *pool;
	int n;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int filled; /* set by the thread */
	int go;	    /* set by main: exit */
	int err;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	void *o[64];
	if (lfp_acquire_bulk(s->pool, o, (size_t)s->n) != LFP_OK ||
	    lfp_release_bulk(s->pool, o, (size_t)s->n) != LFP_OK)
		s->err = 1;
	pthread_mutex_lock(&s->mu);
	s->filled = 1;
	pthread_cond_broadcast(&s->cv);
	while (!s->go)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

Test(trim, idle_thread_cache_eventually_evicted, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 16, 64);
	lfp_pool *p = tu_pool(&c);
	struct sleeper s = {.pool = p, .n = 6};
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, sleeper_main, &s), 0);
	pthread_mutex_lock(&s.mu);
	while (!s.filled)
		pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
	cr_assert_eq(s.err, 0);

	/* The sleeper does not use the pool any more: its cache is moved
	 * to the depot by one trim and evicted by a later one. */
	uint64_t total = 0;
	for (int i = 0; i < 4 && total < 6; i++) {
		tu_sleep_ms(AGE_MS);
		uint64_t ev = 0;
		cr_assert_eq(lfp_trim(p, 0, &ev), LFP_OK);
		total += ev;
	}
	cr_assert_eq(total, 6, "evicted %llu of 6 idle objects",
		     (unsigned long long)total);
	lfp_stats st = tu_stats(p);
	tu_assert_consistent(&st);
	cr_assert_eq(st.live, 0);

	/* The sleeper exits: it must not give back the evicted objects. */
	pthread_mutex_lock(&s.mu);
	s.go = 1;
	pthread_cond_broadcast(&s.cv);
	pthread_mutex_unlock(&s.mu);
	cr_assert_eq(pthread_join(t, NULL), 0);
	st = tu_stats(p);
	tu_assert_consistent(&st);
	cr_assert_eq(st.live, 0);
	void *all[16];
	cr_assert_eq(lfp_acquire_bulk(p, all, 16), LFP_OK);
	for (int i = 0; i < 16; i++)
		tu_assert_obj(all[i], f);
	void *x = NULL;
	cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
	cr_assert_eq(lfp_release_bulk(p, all, 16), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

Test(trim, recreated_objects_zero_filled)
{
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = 128;
	c.capacity = 2;
	lfp_pool *p = tu_pool(&c);
	unsigned char *o[2];
	cr_assert_eq(lfp_acquire_bulk(p, (void **)o, 2), LFP_OK);
	memset(o[0], 0xcd, 128);
	memset(o[1], 0xcd, 128);
	cr_assert_eq(lfp_release_bulk(p, (void **)o, 2), LFP_OK);
	cr_assert_eq(lfp_thread_flush(p), LFP_OK);
	tu_sleep_ms(AGE_MS);
	uint64_t ev = 0;
	cr_assert_eq(lfp_trim(p, 0, &ev), LFP_OK);
	cr_assert_eq(ev, 2);
	cr_assert_eq(lfp_acquire_bulk(p, (void **)o, 2), LFP_OK);
	for (int i = 0; i < 2; i++)
		for (int b = 0; b < 128; b++)
			cr_assert_eq(o[i][b], 0, "recreated object not zeroed");
	cr_assert_eq(lfp_release_bulk(p, (void **)o, 2), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
}

Test(trim, max_idle_ns_config_works, .timeout = 30)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, LFP_CACHE_DEFAULT);
	c.min_idle = 1;
	c.max_idle_ns = 1 * TU_MS;
	lfp_pool *p = tu_pool(&c);
	for (int round = 0; round < 4; round++) {
		void *o[8];
		cr_assert_eq(lfp_acquire_bulk(p, o, 8), LFP_OK);
		for (int i = 0; i < 8; i++)
			tu_assert_obj(o[i], f);
		void *x = NULL;
		cr_assert_eq(lfp_try_acquire(p, &x), LFP_EMPTY);
		cr_assert_eq(lfp_release_bulk(p, o, 8), LFP_OK);
		for (int i = 0; i < 100; i++) {
			cr_assert_eq(lfp_acquire(p, &x), LFP_OK);
			tu_assert_obj(x, f);
			cr_assert_eq(lfp_release(p, x), LFP_OK);
		}
		cr_assert_eq(lfp_thread_flush(p), LFP_OK);
		tu_sleep_ms(5);
		lfp_stats s = tu_stats(p);
		tu_assert_consistent(&s);
		cr_assert_geq(s.live, 1, "min_idle not kept");
		cr_assert_eq(s.in_use, 0);
	}
	tu_sleep_ms(AGE_MS);
	cr_assert_eq(lfp_trim(p, 0, NULL), LFP_OK);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.live, 1);
	cr_assert_eq(s.evictions, s.destroys);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

ParameterizedTestParameters(trim, huge_max_idle_ns_never_evicts)
{
	static uint64_t values[] = {UINT64_C(3600) * 1000000000u,
				    UINT64_MAX / 2, UINT64_MAX - 1, UINT64_MAX};
	return cr_make_param_array(uint64_t, values, 4);
}

ParameterizedTest(uint64_t *max_idle, trim, huge_max_idle_ns_never_evicts)
{
	/* "Evict objects idle longer than max_idle_ns": with an hour or
	 * more, nothing here is ever old enough. Cache off: every call takes
	 * the slow path, where the pool runs its own trim when due. */
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 8, 0);
	c.max_idle_ns = *max_idle;
	lfp_pool *p = tu_pool(&c);
	void *o[8];
	cr_assert_eq(lfp_acquire_bulk(p, o, 8), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, o, 8), LFP_OK);
	for (int i = 0; i < 3; i++) {
		tu_sleep_ms(5);
		void *x = NULL;
		cr_assert_eq(lfp_try_acquire(p, &x), LFP_OK);
		cr_assert_eq(lfp_release(p, x), LFP_OK);
	}
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.evictions, 0, "max_idle_ns %llu: %llu evicted",
		     (unsigned long long)*max_idle,
		     (unsigned long long)s.evictions);
	cr_assert_eq(s.live, 8);
	cr_assert_eq(s.creates, 8);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}

/* Trims running while another thread acquires and releases. */
struct churn {
	lfp_pool *pool;
	atomic_int done;
	atomic_int errors;
	atomic_int
		trims; /* the churn keeps going until some trims overlap it */
};

static void *churn_main(void *arg)
{
	struct churn *ch = arg;
	for (int i = 0; i < 20000 || atomic_load(&ch->trims) < 200; i++) {
		tu_obj *a = NULL, *b = NULL;
		if (lfp_acquire(ch->pool, (void **)&a) != LFP_OK ||
		    a->magic != TU_MAGIC) {
			atomic_fetch_add(&ch->errors, 1);
			break;
		}
		if ((i & 7) == 0 &&
		    lfp_try_acquire(ch->pool, (void **)&b) == LFP_OK &&
		    b->magic != TU_MAGIC)
			atomic_fetch_add(&ch->errors, 1);
		a->payload[0]++;
		if (a->magic != TU_MAGIC) /* destroyed while held? */
			atomic_fetch_add(&ch->errors, 1);
		if (lfp_release(ch->pool, a) != LFP_OK)
			atomic_fetch_add(&ch->errors, 1);
		if (b && lfp_release(ch->pool, b) != LFP_OK)
			atomic_fetch_add(&ch->errors, 1);
		if ((i & 255) == 0)
			lfp_thread_flush(ch->pool);
	}
	atomic_store(&ch->done, 1);
	return NULL;
}

Test(trim, concurrent_with_use, .timeout = 60)
{
	tu_factory *f = tu_factory_new();
	lfp_config c = tu_config(f, 4, LFP_CACHE_DEFAULT);
	lfp_pool *p = tu_pool(&c);
	struct churn ch = {.pool = p};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, churn_main, &ch), 0);
	while (!atomic_load(&ch.done)) {
		cr_assert_eq(lfp_trim(p, 0, NULL), LFP_OK);
		atomic_fetch_add(&ch.trims, 1);
	}
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(atomic_load(&ch.errors), 0);
	cr_assert_geq(atomic_load(&ch.trims), 200);
	lfp_stats s = tu_stats(p);
	tu_assert_consistent(&s);
	cr_assert_eq(s.in_use, 0);
	cr_assert_eq(tu_ld(&f->bad_destroys), 0);
	void *all[4];
	cr_assert_eq(lfp_acquire_bulk(p, all, 4), LFP_OK);
	cr_assert_eq(lfp_release_bulk(p, all, 4), LFP_OK);
	cr_assert_eq(lfp_destroy(p, NULL), LFP_OK);
	tu_assert_balanced(f);
	free(f);
}
