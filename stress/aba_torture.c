/*
 * stress_aba_torture — ABA torture of the depot's Treiber stacks.
 *
 * Three tiny pools (capacities 1, 2 and 4 by default; --objects sets the
 * largest) with one-object thread caches (cache_size 1, magazines of one),
 * so a refill pops a magazine from the depot's `full` stack and a flush pops
 * one from `empty` and pushes it on `full`. Linked against lfpool_hooked: the
 * depot calls our pop hook between reading head->next and the CAS, and the
 * hook randomly yields the CPU or spins, holding a stale (head, next) pair
 * as long as possible while other threads pop and push the same magazines.
 * With correct hazard-pointer reclamation nothing bad can happen; with the
 * reclamation short-circuited (lfpool_broken) the stale CAS installs a
 * magazine that another thread owns.
 *
 * Checks: ownership stamps (an object handed to two threads), objects handed
 * out must be live, and at quiescent points conservation against the stats
 * and that every object of every pool can still be acquired (a lost
 * magazine strands its object). A stuck blocking acquire trips the watchdog.
 */
#include "common.h"

#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

/* Exported by lfpool_hooked / lfpool_broken (LFP_TEST_HOOKS). */
void lfp_test_set_pop_hook(void (*hook)(void));

#define NPOOLS 3

typedef struct worker {
	int idx;
	st_counts c[NPOOLS];
	uint64_t ops;
} worker;

static lfp_pool *pools[NPOOLS];
static st_factory *facs[NPOOLS];
static st_pauser ps;
static _Atomic uint64_t hook_calls, hook_yields;

static __thread st_rng hook_rng;
static __thread bool hook_rng_ready;

static void pop_hook(void)
{
	if (!hook_rng_ready) {
		st_rng_init(&hook_rng, 0xab0000 + st_thread_tag());
		hook_rng_ready = true;
	}
	atomic_fetch_add_explicit(&hook_calls, 1, memory_order_relaxed);
	uint64_t x = st_below(&hook_rng, 8);
	if (x < 3) {
		atomic_fetch_add_explicit(&hook_yields, 1,
					  memory_order_relaxed);
		sched_yield();
		if (x == 0)
			sched_yield();
	} else if (x < 5) {
		st_spin((uint32_t)st_below(&hook_rng, 400));
	}
}

static void *work(void *arg)
{
	worker *w = arg;
	st_rng r;
	st_rng_init(&r, (uint64_t)w->idx + 1);
	uint64_t me = st_thread_tag();
	while (st_pause_point(&ps)) {
		for (int i = 0; i < 32 && !st_pause_requested(&ps); i++) {
			int k = (int)st_below(&r, NPOOLS);
			uint64_t x = st_below(&r, 10);
			int mode = x < 7 ? ST_TRY : x < 9 ? ST_TIMED : ST_BLOCK;
			void *a, *b = NULL;
			int kb = (int)st_below(&r, NPOOLS);
			if (st_acquire(pools[k], facs[k], &a, mode,
				       1 + st_below(&r, 200000), me,
				       &w->c[k]) != LFP_OK) {
				sched_yield();
				continue;
			}
			/* Sometimes hold a second object (try only: holding
			 * while blocking could deadlock the program). */
			if (st_chance(&r, 300) &&
			    st_acquire(pools[kb], facs[kb], &b, ST_TRY, 0, me,
				       &w->c[kb]) != LFP_OK)
				b = NULL;
			if (st_chance(&r, 200))
				sched_yield();
			else
				st_spin((uint32_t)st_below(&r, 200));
			if (b && st_chance(&r, 500)) {
				st_release(pools[kb], facs[kb], b, me,
					   &w->c[kb]);
				b = NULL;
			}
			st_release(pools[k], facs[k], a, me, &w->c[k]);
			if (b)
				st_release(pools[kb], facs[kb], b, me,
					   &w->c[kb]);
			w->ops += b ? 4 : 2;
		}
	}
	return NULL;
}

static void check_all(worker *ws, int n, const char *label)
{
	st_check_pools(pools, facs, NPOOLS, ws[0].c, sizeof(worker), n, label);
}

int main(int argc, char **argv)
{
	st_opts o = {.seconds = 5, .threads = 16, .objects = 4};
	st_begin("stress_aba_torture", argc, argv, &o);
	uint64_t caps[NPOOLS] = {1, o.objects > 2 ? 2 : 1, o.objects};
	for (int k = 0; k < NPOOLS; k++) {
		facs[k] = st_factory_new(sizeof(st_obj));
		/* cache_size 1: every refill pops a one-object magazine and
		 * every flush pushes one (a pool without caches would use the
		 * loose stack instead, which has no magazines to torture). */
		pools[k] = st_pool_new(facs[k], caps[k], 1, 0, 0, 0);
		st_watch_pool(pools[k], k == 0	 ? "pool 0"
					: k == 1 ? "pool 1"
						 : "pool 2");
	}
	lfp_test_set_pop_hook(pop_hook);
	worker *ws = calloc((size_t)o.threads, sizeof(*ws));
	pthread_t *ts = calloc((size_t)o.threads, sizeof(*ts));
	if (!ws || !ts)
		st_die("out of memory");
	st_pauser_init(&ps, (unsigned)o.threads);
	for (int i = 0; i < o.threads; i++) {
		ws[i].idx = i;
		st_spawn(&ts[i], 0, work, &ws[i]);
	}
	double period = o.seconds / 4 < 1 ? o.seconds / 4 : 1;
	int checks = 0;
	while (st_elapsed() + period < o.seconds && !st_violations()) {
		st_sleep_until(st_elapsed() + period);
		st_pause_all(&ps);
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
	lfp_test_set_pop_hook(NULL);
	for (int k = 0; k < NPOOLS; k++) {
		st_finish_pool(pools[k], facs[k], 0, "final");
		st_factory_free(facs[k]);
	}
	st_pauser_destroy(&ps);
	free(ws);
	free(ts);
	return st_end("checks=%d hook_calls=%" PRIu64 " hook_yields=%" PRIu64
		      " max_wait_ms=%.1f",
		      checks + 1, atomic_load(&hook_calls),
		      atomic_load(&hook_yields),
		      (double)st_max_wait_ns() / 1e6);
}
