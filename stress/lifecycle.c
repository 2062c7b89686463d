/*
 * stress_lifecycle — lfp_close and lfp_evict_all racing with acquires,
 * releases and discards.
 *
 * Rounds: each round makes a small pool (capacity --objects, thread
 * caches on, so fast paths run; max_lifetime_ns on every other round),
 * starts --threads workers that acquire (try, timed, blocking: many of
 * them sleep, the pool being small), hold briefly, then release or
 * discard, while a controller calls lfp_evict_all at random and finally
 * lfp_close. Workers stop at LFP_ECLOSED, releasing what they hold.
 *
 * Checks: ownership stamps (no object handed to two threads); results
 * are only those allowed (OK, EMPTY/ETIMEDOUT for try/timed, ECLOSED once
 * closing started, never ECLOSED before); an object first handed out while
 * k evict_all calls had started is never returned by an acquire that began
 * after call k+1 returned; every blocked thread returns (the round joins;
 * the watchdog fails a hang); after close and the workers' exit nothing is
 * live (factory creates == destroys), and lfp_destroy finds nothing in use.
 */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define HOLD_MAX 4

static lfp_pool *pool;
static st_factory *fac;
static _Atomic int closing;
static _Atomic uint64_t evicts_started, evicts_done;
static _Atomic uint64_t n_closed, n_evicts, n_discards, n_rounds;

typedef struct worker {
	int idx;
	uint64_t round;
} worker;

/* First sight of an object: remember how many evict_all calls had
 * started (payload[2] = that + 1; only the holder writes it;
 * st_claim uses payload[0..1]). */
static void check_epoch(st_obj *o, uint64_t done_before)
{
	uint64_t started = atomic_load(&evicts_started);
	if (o->payload[2] == 0)
		o->payload[2] = started + 1;
	else if (done_before >= o->payload[2])
		st_violation("object id %" PRIu64
			     " first handed out with %" PRIu64
			     " evict_all calls started, handed out again by "
			     "an acquire begun after %" PRIu64 " completed",
			     o->id, o->payload[2] - 1, done_before);
}

static void *work(void *arg)
{
	worker *w = arg;
	st_rng r;
	st_rng_init(&r, (w->round << 8) + (uint64_t)w->idx + 1);
	uint64_t me = st_thread_tag();
	void *held[HOLD_MAX];
	size_t n = 0;
	for (;;) {
		/* Wait only while holding nothing (no hold-and-wait). */
		int mode = n ? ST_TRY : (int)st_below(&r, 3);
		uint64_t done = atomic_load(&evicts_done);
		void *o = NULL;
		lfp_err err =
			mode == ST_TRY ? lfp_try_acquire(pool, &o)
			: mode == ST_TIMED
				? lfp_acquire_timed(pool, &o,
						    st_below(&r, 20000000) + 1)
				: lfp_acquire(pool, &o);
		st_tick();
		if (err == LFP_ECLOSED) {
			if (!atomic_load(&closing))
				st_violation("LFP_ECLOSED before lfp_close");
			break;
		}
		if (err == LFP_OK) {
			if (!st_claim(fac, o, me, "acquire"))
				break;
			check_epoch(o, done);
			held[n++] = o;
		} else if (!(err == LFP_EMPTY && mode == ST_TRY) &&
			   !(err == LFP_ETIMEDOUT && mode == ST_TIMED)) {
			st_violation("acquire (mode %d): %s", mode,
				     lfp_strerror(err));
		}
		if (n == HOLD_MAX || (n && st_chance(&r, 500))) {
			st_spin((uint32_t)st_below(&r, 500));
			for (size_t i = 0; i < n; i++) {
				st_unclaim(fac, held[i], me, "release");
				bool dis = st_chance(&r, 100);
				lfp_err e = dis ? lfp_discard(pool, held[i])
						: lfp_release(pool, held[i]);
				if (e != LFP_OK)
					st_violation("%s: %s",
						     dis ? "discard"
							 : "release",
						     lfp_strerror(e));
				if (dis)
					atomic_fetch_add(&n_discards, 1);
			}
			st_add_ops(n);
			n = 0;
		}
	}
	/* Closed: releases are still accepted (and destroy). */
	for (size_t i = 0; i < n; i++) {
		st_unclaim(fac, held[i], me, "release after close");
		lfp_err e = lfp_release(pool, held[i]);
		if (e != LFP_OK)
			st_violation("release after close: %s",
				     lfp_strerror(e));
	}
	atomic_fetch_add(&n_closed, 1);
	return NULL;
}

static void round_run(uint64_t round, int nthreads, double seconds)
{
	lfp_config cfg = LFP_CONFIG_INIT;
	cfg.object_size = sizeof(st_obj);
	cfg.capacity = st_o.objects;
	cfg.factory = st_factory_callbacks(fac, false, false);
	if (round & 1)
		cfg.max_lifetime_ns = 2000000; /* 2 ms */
	if (lfp_create(&cfg, &pool) != LFP_OK)
		st_die("lfp_create");
	st_watch_pool(pool, "pool");
	atomic_store(&closing, 0);
	worker *ws = calloc((size_t)nthreads, sizeof(*ws));
	pthread_t *ts = calloc((size_t)nthreads, sizeof(*ts));
	if (!ws || !ts)
		st_die("out of memory");
	for (int i = 0; i < nthreads; i++) {
		ws[i] = (worker){.idx = i, .round = round};
		st_spawn(&ts[i], 0, work, &ws[i]);
	}
	st_rng r;
	st_rng_init(&r, 0x11fe + round);
	uint64_t end = st_now_ns() + (uint64_t)(seconds * 1e9);
	while (st_now_ns() < end) {
		st_sleep_ns(st_below(&r, 3000000));
		atomic_fetch_add(&evicts_started, 1);
		if (lfp_evict_all(pool) != LFP_OK)
			st_violation("lfp_evict_all failed");
		atomic_fetch_add(&evicts_done, 1);
		atomic_fetch_add(&n_evicts, 1);
		if (st_chance(&r, 300))
			lfp_maintain(pool, NULL);
		st_tick();
	}
	atomic_store(&closing, 1);
	if (lfp_close(pool) != LFP_OK)
		st_violation("lfp_close failed");
	for (int i = 0; i < nthreads; i++)
		st_join(ts[i]); /* every blocked thread returns */
	/* Workers exited (their caches flushed, hence destroyed); one more
	 * sweep for fast-path releases that raced with the close. */
	lfp_maintain(pool, NULL);
	lfp_stats s = LFP_STATS_INIT;
	lfp_get_stats(pool, &s);
	if (s.live != 0 || st_factory_live(fac) != 0 || !s.closed)
		st_violation("round %" PRIu64 ": after close live=%" PRIu64
			     ", factory live=%" PRIu64 ", closed=%d",
			     round, s.live, st_factory_live(fac), s.closed);
	st_unwatch_pool(pool);
	lfp_err e = lfp_destroy(pool, NULL);
	if (e != LFP_OK)
		st_violation("lfp_destroy after close: %s", lfp_strerror(e));
	if (st_factory_live(fac) != 0)
		st_violation("factory: %" PRIu64 " objects never destroyed",
			     st_factory_live(fac));
	free(ws);
	free(ts);
	atomic_fetch_add(&n_rounds, 1);
}

int main(int argc, char **argv)
{
	st_opts o = {.seconds = 5, .threads = 8, .objects = 6};
	st_begin("stress_lifecycle", argc, argv, &o);
	fac = st_factory_new(sizeof(st_obj));
	uint64_t round = 0;
	double slice = o.seconds / 10 < 0.25 ? o.seconds / 10 : 0.25;
	while (st_elapsed() + slice <= o.seconds || round == 0)
		round_run(round++, o.threads, slice);
	st_factory_free(fac);
	return st_end("rounds=%" PRIu64 " evict_all=%" PRIu64
		      " closed_workers=%" PRIu64 " discards=%" PRIu64,
		      atomic_load(&n_rounds), atomic_load(&n_evicts),
		      atomic_load(&n_closed), atomic_load(&n_discards));
}
