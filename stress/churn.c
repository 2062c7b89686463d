/*
 * stress_churn — thread churn: at least 10,000 short-lived threads (more if
 * --seconds allows), started in waves of --threads at a time (64 KiB
 * stacks). Each thread uses two pools: it acquires a few objects (try,
 * timed or blocking), sometimes hands one to the next thread of its wave,
 * releases the rest into its thread cache (sometimes flushing it) and exits
 * with objects still cached. Thread exit must return those objects to the
 * pool; hazard-pointer records of exited threads are recycled (the pool
 * keeps at most 256).
 *
 * Checks: ownership stamps; after every 1,000 threads and at the end (all
 * threads joined): conservation against the stats (in_use 0, idle = live,
 * live <= capacity, creates/destroys = the factory's), every capacity
 * object acquirable (nothing lost in dead threads' caches), and lfp_destroy
 * destroys each object exactly once.
 */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define NPOOLS	    2
#define MIN_THREADS 10000
#define HOLD_MAX    8

typedef struct worker {
	int idx;
	st_counts c[NPOOLS];
	void *handover; /* an object left for the next thread, or NULL */
	int handover_pool;
} worker;

static lfp_pool *pools[NPOOLS];
static st_factory *facs[NPOOLS];
static uint64_t caps[NPOOLS];
static _Atomic uint64_t thread_seq;
/* Handing objects over between waves needs spare capacity, or a blocking
 * acquire could wait for objects that only the next wave releases. */
static bool handovers;

static void *churn_thread(void *arg)
{
	worker *w = arg;
	st_rng r;
	uint64_t me = st_thread_tag();
	st_rng_init(&r, atomic_fetch_add(&thread_seq, 1) + 1);
	void *held[HOLD_MAX];
	/* An object handed over by the previous thread of this slot: release
	 * it here (cross-thread, and into a fresh cache). */
	if (w->handover) {
		int k = w->handover_pool;
		st_transfer(w->handover, UINT64_MAX, me, "handover");
		st_release(pools[k], facs[k], w->handover, me, &w->c[k]);
		w->handover = NULL;
	}
	for (int k = 0; k < NPOOLS; k++) {
		size_t want = 1 + st_below(&r, HOLD_MAX), n = 0;
		while (n < want) {
			int mode = n == 0 && st_chance(&r, 300) ? ST_BLOCK
				   : st_chance(&r, 500)		? ST_TRY
								: ST_TIMED;
			if (st_acquire(pools[k], facs[k], &held[n], mode,
				       st_below(&r, 2000000), me,
				       &w->c[k]) != LFP_OK)
				break;
			n++;
		}
		if (k == 0 && handovers && n && !w->handover &&
		    st_chance(&r, 100)) {
			/* Leave one for the next thread. */
			w->handover = held[--n];
			w->handover_pool = k;
			st_transfer(w->handover, me, UINT64_MAX, "handover");
		}
		for (size_t i = 0; i < n; i++)
			st_release(pools[k], facs[k], held[i], me, &w->c[k]);
		if (st_chance(&r, 100))
			lfp_thread_flush(pools[k]);
	}
	st_tick();
	return NULL; /* exits with objects in its caches */
}

static void check_all(worker *ws, int n, const char *label)
{
	for (int k = 0; k < NPOOLS; k++) {
		st_counts sum = {0};
		uint64_t held = 0;
		for (int i = 0; i < n; i++) {
			st_counts_add(&sum, &ws[i].c[k]);
			held += ws[i].handover && ws[i].handover_pool == k;
		}
		st_check_pool(pools[k], facs[k], k, held, &sum, &ws[0].c[k],
			      label);
		/* Leave nothing in the controller's cache. */
		lfp_thread_flush(pools[k]);
	}
}

int main(int argc, char **argv)
{
	st_opts o = {.seconds = 5, .threads = 16, .objects = 64};
	st_begin("stress_churn", argc, argv, &o);
	caps[0] = o.objects;
	caps[1] = o.objects / 8 ? o.objects / 8 : 1;
	for (int k = 0; k < NPOOLS; k++) {
		facs[k] = st_factory_new(sizeof(st_obj));
		pools[k] = st_pool_new(facs[k], caps[k],
				       k == 0 ? 8 : LFP_CACHE_DEFAULT, 0, 0, 0);
		st_watch_pool(pools[k], k == 0 ? "pool 0" : "pool 1");
	}
	int n = o.threads;
	handovers = caps[0] > 2 * (uint64_t)n;
	worker *ws = calloc((size_t)n, sizeof(*ws));
	pthread_t *ts = calloc((size_t)n, sizeof(*ts));
	if (!ws || !ts)
		st_die("out of memory");
	size_t stack = ST_SANITIZED ? 256 * 1024 : 64 * 1024;
	uint64_t started = 0, next_check = 1000;
	int checks = 0;
	while (started < MIN_THREADS || st_elapsed() < o.seconds) {
		for (int i = 0; i < n; i++)
			st_spawn(&ts[i], stack, churn_thread, &ws[i]);
		for (int i = 0; i < n; i++)
			st_join(ts[i]);
		started += (uint64_t)n;
		if (started >= next_check) {
			check_all(ws, n, "after a wave");
			checks++;
			next_check = started + 1000;
		}
		if (st_elapsed() > o.seconds * 3 + 60)
			break; /* slow machine: the watchdog would fire */
	}
	/* Release the objects still handed over. */
	uint64_t me = st_thread_tag();
	for (int i = 0; i < n; i++)
		if (ws[i].handover) {
			int k = ws[i].handover_pool;
			st_transfer(ws[i].handover, UINT64_MAX, me, "handover");
			st_release(pools[k], facs[k], ws[i].handover, me,
				   &ws[i].c[k]);
			ws[i].handover = NULL;
		}
	check_all(ws, n, "end");
	uint64_t ops = 0;
	for (int k = 0; k < NPOOLS; k++) {
		for (int i = 0; i < n; i++)
			ops += ws[i].c[k].acquires + ws[i].c[k].releases;
		st_finish_pool(pools[k], facs[k], 0, "final");
		st_factory_free(facs[k]);
	}
	st_add_ops(ops);
	free(ws);
	free(ts);
	if (started < MIN_THREADS)
		st_violation("only %" PRIu64 " threads ran", started);
	return st_end("threads_started=%" PRIu64 " checks=%d max_wait_ms=%.1f",
		      started, checks + 1, (double)st_max_wait_ns() / 1e6);
}
