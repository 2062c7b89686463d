/*
 * stress_faults — fault injection in the factory while threads hammer two
 * pools with try, timed (0.1..10 ms) and blocking acquires:
 *   - create() fails at random (15% / 10%): acquire must report LFP_ECREATE
 *     and the slot must not leak (capacity still fully usable afterwards);
 *   - validate() (on acquire and on release) and reset() reject objects at
 *     random: a rejected object is marked, must be destroyed exactly once and
 *     never handed out (every acquire checks the mark);
 *   - create() is slow at random (sleeps up to 5 ms): timed acquires must
 *     still honour their timeout (give up no earlier, return no later than
 *     timeout + --slack);
 *   - the second pool has objects larger than 3 pages, so destroyed objects
 *     give their pages back to the kernel (madvise) and get re-created.
 * Checks at quiescent points: stats against the factory (creates, destroys,
 * create_failures, validation_failures = rejections), LFP_ECREATE results =
 * create failures, no rejected object still live, and (with create failures
 * switched off) every capacity object acquirable. lfp_destroy destroys each
 * object exactly once.
 */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define NPOOLS 2

typedef struct worker {
	int idx;
	st_counts c[NPOOLS];
} worker;

static lfp_pool *pools[NPOOLS];
static st_factory *facs[NPOOLS];
static st_pauser ps;

static void set_faults(bool on)
{
	atomic_store(&facs[0]->create_fail_pm, on ? 150 : 0);
	atomic_store(&facs[0]->validate_fail_pm, 50);
	atomic_store(&facs[0]->reset_fail_pm, 20);
	atomic_store(&facs[0]->slow_create_pm, 100);
	atomic_store(&facs[0]->slow_create_max_us, 5000);
	atomic_store(&facs[1]->create_fail_pm, on ? 100 : 0);
	atomic_store(&facs[1]->validate_fail_pm, 30);
	atomic_store(&facs[1]->reset_fail_pm, 10);
	atomic_store(&facs[1]->slow_create_pm, 200);
	atomic_store(&facs[1]->slow_create_max_us, 3000);
}

static void *work(void *arg)
{
	worker *w = arg;
	st_rng r;
	st_rng_init(&r, (uint64_t)w->idx + 1);
	uint64_t me = st_thread_tag();
	while (st_pause_point(&ps)) {
		int k = (int)st_below(&r, NPOOLS);
		uint64_t x = st_below(&r, 10);
		int mode = x < 3 ? ST_TRY : x < 8 ? ST_TIMED : ST_BLOCK;
		uint64_t timeout = 100000 + st_below(&r, 10000000);
		void *o;
		if (st_acquire(pools[k], facs[k], &o, mode, timeout, me,
			       &w->c[k]) != LFP_OK)
			continue;
		st_spin((uint32_t)st_below(&r, 1000));
		st_release(pools[k], facs[k], o, me, &w->c[k]);
	}
	return NULL;
}

static void check_all(worker *ws, int n, const char *label)
{
	set_faults(false);
	for (int k = 0; k < NPOOLS; k++) {
		st_counts sum = {0};
		for (int i = 0; i < n; i++)
			st_counts_add(&sum, &ws[i].c[k]);
		char l[96];
		snprintf(l, sizeof(l), "%s, pool %d", label, k);
		st_check_quiescent(pools[k], facs[k], 0, &sum, l);
		uint64_t failed = atomic_load(&facs[k]->create_failed);
		if (sum.create_errors != failed)
			st_violation("%s: %" PRIu64 " acquires returned "
				     "LFP_ECREATE, the factory failed %" PRIu64
				     " creates",
				     l, sum.create_errors, failed);
		uint64_t got = st_check_all_acquirable(pools[k], facs[k], l);
		ws[0].c[k].acquires += got;
		ws[0].c[k].releases += got;
	}
	set_faults(true);
}

int main(int argc, char **argv)
{
	st_opts o = {.seconds = 5, .threads = 8, .objects = 32};
	st_begin("stress_faults", argc, argv, &o);
	uint64_t caps[NPOOLS] = {o.objects, o.objects / 4 ? o.objects / 4 : 1};
	size_t sizes[NPOOLS] = {sizeof(st_obj), 3 * 4096 + 100};
	for (int k = 0; k < NPOOLS; k++) {
		facs[k] = st_factory_new(sizes[k]);
		pools[k] = st_pool_new(facs[k], caps[k],
				       k == 0 ? LFP_CACHE_DEFAULT : 0,
				       k == 0 ? LFP_VALIDATE_ON_ACQUIRE |
							LFP_VALIDATE_ON_RELEASE
					      : LFP_VALIDATE_ON_ACQUIRE,
				       0, 0);
		st_watch_pool(pools[k],
			      k == 0 ? "small objects" : "big objects");
	}
	set_faults(true);
	int n = o.threads;
	worker *ws = calloc((size_t)n, sizeof(*ws));
	pthread_t *ts = calloc((size_t)n, sizeof(*ts));
	if (!ws || !ts)
		st_die("out of memory");
	st_pauser_init(&ps, (unsigned)n);
	for (int i = 0; i < n; i++) {
		ws[i].idx = i;
		st_spawn(&ts[i], 0, work, &ws[i]);
	}
	double period = o.seconds / 5 < 1 ? o.seconds / 5 : 1;
	int checks = 0;
	while (st_elapsed() + period < o.seconds) {
		st_sleep_until(st_elapsed() + period);
		st_pause_all(&ps);
		check_all(ws, n, "quiescent point");
		checks++;
		st_resume_all(&ps);
	}
	st_sleep_until(o.seconds);
	st_stop_all(&ps);
	for (int i = 0; i < n; i++)
		st_join(ts[i]);
	check_all(ws, n, "after join");
	uint64_t ops = 0, ecreate = 0, rejected = 0, created = 0;
	for (int k = 0; k < NPOOLS; k++) {
		for (int i = 0; i < n; i++) {
			ops += ws[i].c[k].acquires + ws[i].c[k].releases;
			ecreate += ws[i].c[k].create_errors;
		}
		rejected += atomic_load(&facs[k]->validate_rejects) +
			    atomic_load(&facs[k]->reset_rejects);
		created += atomic_load(&facs[k]->created);
		st_finish_pool(pools[k], facs[k], 0, "final");
		st_factory_free(facs[k]);
	}
	st_add_ops(ops);
	st_pauser_destroy(&ps);
	free(ws);
	free(ts);
	return st_end("checks=%d created=%" PRIu64 " create_failures=%" PRIu64
		      " rejected=%" PRIu64 " max_wait_ms=%.1f",
		      checks + 1, created, ecreate, rejected,
		      (double)st_max_wait_ns() / 1e6);
}
