/*
 * stress_handoff — cross-thread release (producer/consumer).
 *
 * Producers acquire objects (blocking, timed, try and bulk), stamp them with
 * a sequence number and pass them to a random consumer through a queue;
 * consumers check the stamp and release the object (one by one or with
 * lfp_release_bulk). Objects therefore are released by a different thread
 * than the one that acquired them, pile up in the consumers' caches, and the
 * producers (whose caches stay empty) must get them back through the depot
 * or, when the pool runs dry, by draining the consumers' caches.
 *
 * Checks: the owner stamp moves producer -> "in transit to consumer c" ->
 * consumer -> 0 with atomic exchanges (any other value seen means a second
 * holder); the payload written by the producer arrives intact; at quiescent
 * points (producers parked, queues empty) conservation against the stats
 * and all objects acquirable; lfp_destroy destroys each object once.
 */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TRANSIT (UINT64_C(1) << 63)
#define BATCH	8

typedef struct item {
	void *obj;
	uint64_t seq;
} item;

typedef struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	item *ring;
	size_t head, len, cap;
} queue;

typedef struct worker {
	int idx;
	bool producer;
	st_counts c;
	uint64_t ops;
} worker;

static lfp_pool *pool;
static st_factory *fac;
static queue *queues;
static int n_prod, n_cons;
static st_pauser ps;
static _Atomic int parked;

static void q_push(queue *q, void *obj, uint64_t seq)
{
	pthread_mutex_lock(&q->mu);
	if (q->len == q->cap)
		st_die("queue overflow (more objects than capacity?)");
	q->ring[(q->head + q->len++) % q->cap] = (item){obj, seq};
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Pop one item, waiting up to 5 ms; false if none. */
static bool q_pop(queue *q, item *it)
{
	pthread_mutex_lock(&q->mu);
	if (q->len == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 5 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&q->cv, &q->mu, &ts);
	}
	bool got = q->len > 0;
	if (got) {
		*it = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	pthread_mutex_unlock(&q->mu);
	return got;
}

static void send(worker *w, st_rng *r, void *obj, uint64_t me)
{
	static _Atomic uint64_t next_seq;
	uint64_t seq = atomic_fetch_add(&next_seq, 1) + 1;
	int to = (int)st_below(r, (uint64_t)n_cons);
	((st_obj *)obj)->payload[2] = seq;
	st_transfer(obj, me, TRANSIT | (uint64_t)to, "producer send");
	q_push(&queues[to], obj, seq);
	w->ops++;
}

static void produce(worker *w, st_rng *r, uint64_t me)
{
	uint64_t x = st_below(r, 10);
	if (x == 0) {
		void *objs[4];
		size_t n = 1 + st_below(r, 4);
		lfp_err err = lfp_acquire_bulk(pool, objs, n);
		if (err != LFP_OK) {
			if (err != LFP_EMPTY)
				st_violation("lfp_acquire_bulk: %s",
					     lfp_strerror(err));
			w->c.empties++;
			w->c.bulk_failures++;
			return;
		}
		w->c.acquires += n;
		for (size_t i = 0; i < n; i++) {
			st_claim(fac, objs[i], me, "bulk acquire");
			send(w, r, objs[i], me);
		}
		return;
	}
	int mode = x < 6 ? ST_BLOCK : x < 9 ? ST_TIMED : ST_TRY;
	void *obj;
	if (st_acquire(pool, fac, &obj, mode, st_below(r, 1000000), me,
		       &w->c) == LFP_OK)
		send(w, r, obj, me);
}

static void flush_batch(worker *w, void **batch, size_t *n)
{
	if (*n == 0)
		return;
	lfp_err err = lfp_release_bulk(pool, batch, *n);
	if (err != LFP_OK)
		st_violation("lfp_release_bulk: %s", lfp_strerror(err));
	else
		w->c.releases += *n;
	w->ops += *n;
	*n = 0;
}

static void consume(worker *w, st_rng *r, uint64_t me, void **batch, size_t *nb)
{
	item it;
	queue *q = &queues[w->idx - n_prod];
	if (!q_pop(q, &it)) {
		/* Never sit on objects while producers may wait for them. */
		flush_batch(w, batch, nb);
		return;
	}
	st_obj *o = it.obj;
	st_transfer(o, TRANSIT | (uint64_t)(w->idx - n_prod), me,
		    "consumer receive");
	if (o->payload[2] != it.seq)
		st_violation("object id %" PRIu64 " arrived with sequence "
			     "%" PRIu64 ", sent with %" PRIu64,
			     o->id, o->payload[2], it.seq);
	st_tick();
	if (st_chance(r, 300)) {
		st_unclaim(fac, o, me, "consumer bulk release");
		batch[(*nb)++] = o;
		if (*nb == BATCH)
			flush_batch(w, batch, nb);
	} else {
		st_release(pool, fac, o, me, &w->c);
		w->ops++;
	}
	/* Now and then a consumer uses the pool for itself, too. */
	if (st_chance(r, 50)) {
		void *mine;
		if (st_acquire(pool, fac, &mine, ST_TRY, 0, me, &w->c) ==
		    LFP_OK)
			st_release(pool, fac, mine, me, &w->c);
	}
}

static void *work(void *arg)
{
	worker *w = arg;
	st_rng r;
	st_rng_init(&r, (uint64_t)w->idx + 1);
	uint64_t me = st_thread_tag();
	void *batch[BATCH];
	size_t nb = 0;
	for (;;) {
		if (st_pause_requested(&ps)) {
			if (w->producer) {
				atomic_fetch_add(&parked, 1);
				if (!st_pause_point(&ps))
					break;
				continue;
			}
			queue *q = &queues[w->idx - n_prod];
			pthread_mutex_lock(&q->mu);
			bool empty = q->len == 0;
			pthread_mutex_unlock(&q->mu);
			if (empty && atomic_load(&parked) == n_prod) {
				flush_batch(w, batch, &nb);
				if (!st_pause_point(&ps))
					break;
				continue;
			}
		}
		if (w->producer)
			produce(w, &r, me);
		else
			consume(w, &r, me, batch, &nb);
	}
	return NULL;
}

static void check_all(worker *ws, int n, const char *label)
{
	st_counts sum = {0};
	for (int i = 0; i < n; i++)
		st_counts_add(&sum, &ws[i].c);
	st_check_quiescent(pool, fac, 0, &sum, label);
	uint64_t got = st_check_all_acquirable(pool, fac, label);
	ws[0].c.acquires += got;
	ws[0].c.releases += got;
}

int main(int argc, char **argv)
{
	st_opts o = {.seconds = 5, .threads = 8, .objects = 32};
	st_begin("stress_handoff", argc, argv, &o);
	if (o.threads < 2)
		st_die("--threads must be >= 2 (producers + consumers)");
	n_prod = o.threads / 2;
	n_cons = o.threads - n_prod;
	fac = st_factory_new(sizeof(st_obj));
	pool = st_pool_new(fac, o.objects, LFP_CACHE_DEFAULT, 0, 0, 0);
	st_watch_pool(pool, "pool");
	queues = calloc((size_t)n_cons, sizeof(*queues));
	worker *ws = calloc((size_t)o.threads, sizeof(*ws));
	pthread_t *ts = calloc((size_t)o.threads, sizeof(*ts));
	if (!queues || !ws || !ts)
		st_die("out of memory");
	for (int i = 0; i < n_cons; i++) {
		pthread_mutex_init(&queues[i].mu, NULL);
		pthread_cond_init(&queues[i].cv, NULL);
		queues[i].cap = o.objects;
		queues[i].ring = calloc(o.objects, sizeof(item));
		if (!queues[i].ring)
			st_die("out of memory");
	}
	st_pauser_init(&ps, (unsigned)o.threads);
	for (int i = 0; i < o.threads; i++) {
		ws[i].idx = i;
		ws[i].producer = i < n_prod;
		st_spawn(&ts[i], 0, work, &ws[i]);
	}
	double period = o.seconds / 5 < 1 ? o.seconds / 5 : 1;
	int checks = 0;
	while (st_elapsed() + period < o.seconds) {
		st_sleep_until(st_elapsed() + period);
		st_pause_all(&ps);
		atomic_store(&parked, 0);
		check_all(ws, o.threads, "quiescent point");
		checks++;
		st_resume_all(&ps);
	}
	st_sleep_until(o.seconds);
	st_stop_all(&ps);
	uint64_t ops = 0;
	for (int i = 0; i < o.threads; i++) {
		st_join(ts[i]);
		ops += ws[i].ops;
	}
	st_add_ops(ops);
	check_all(ws, o.threads, "after join");
	lfp_stats s = LFP_STATS_INIT;
	lfp_get_stats(pool, &s);
	st_finish_pool(pool, fac, 0, "final");
	st_factory_free(fac);
	for (int i = 0; i < n_cons; i++) {
		pthread_mutex_destroy(&queues[i].mu);
		pthread_cond_destroy(&queues[i].cv);
		free(queues[i].ring);
	}
	st_pauser_destroy(&ps);
	free(queues);
	free(ws);
	free(ts);
	return st_end("producers=%d consumers=%d checks=%d steals=%" PRIu64
		      " waits=%" PRIu64 " max_wait_ms=%.1f",
		      n_prod, n_cons, checks + 1, s.steals, s.waits,
		      (double)st_max_wait_ns() / 1e6);
}
