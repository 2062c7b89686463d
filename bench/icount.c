/*
 * Instruction-count probe for the regression gate (scripts/bench_gate.sh).
 *
 * Usage: lfpool_icount PAIRS [acquire|try|bulk16|nocache]
 *
 *   acquire  (default) PAIRS lfp_acquire + lfp_release pairs
 *   try      PAIRS lfp_try_acquire + lfp_release pairs
 *   bulk16   PAIRS / 16 rounds of lfp_acquire_bulk(16) + lfp_release_bulk(16),
 *            i.e. PAIRS objects acquired and released (PAIRS must be a
 *            multiple of 16)
 *   nocache  PAIRS lfp_acquire + lfp_release pairs on a pool with
 *            cache_size = 0: every operation takes the out-of-line path
 *            (the loose stack). Not a gate check: a probe of that path's
 *            cost (loop_misses is then PAIRS).
 *
 * Everything else runs on one thread and is served by the thread's cache (a
 * warm pool, at most 16 objects in flight). Run under `valgrind
 * --tool=callgrind` with PAIRS = N and 2N: the difference of the two
 * instruction totals divided by N is the cost of one object's acquire +
 * release, with process start-up, pool creation, warm-up and teardown cancelled
 * out. The figure includes the loop and the error checks a caller would write.
 *
 * Output (one line): pairs=, acquires=, cache_hits=, cache_misses= (whole
 * run, from lfp_destroy's final statistics) and loop_misses= (cache misses
 * during the measured loop only; the gate warns when it is not 0, because
 * then the figure is not the cache-hit cost).
 *
 * Built twice: lfpool_icount, and lfpool_icount_inject with
 * -DLFPOOL_ICOUNT_INJECT=<n>, which adds n to 3n instructions of deliberate
 * extra work per object (n nops, plus the loop if the compiler keeps one) so
 * one can watch the gate trip.
 */
#include <lfpool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BULK 16

#ifdef LFPOOL_ICOUNT_INJECT
static inline void injected_work(void)
{
	/* One real instruction per iteration (an empty asm would emit none). */
	for (int i = 0; i < LFPOOL_ICOUNT_INJECT; i++)
		__asm__ __volatile__("nop" ::: "memory");
}
#else
static inline void injected_work(void)
{
}
#endif

static void fail(const char *what, lfp_err e)
{
	fprintf(stderr, "lfpool_icount: %s: %s\n", what, lfp_strerror(e));
	exit(1);
}

__attribute__((noinline)) static void run_acquire(lfp_pool *p, long n)
{
	for (long i = 0; i < n; i++) {
		void *o;
		lfp_err e = lfp_acquire(p, &o);
		if (e != LFP_OK)
			fail("lfp_acquire", e);
		injected_work();
		e = lfp_release(p, o);
		if (e != LFP_OK)
			fail("lfp_release", e);
	}
}

__attribute__((noinline)) static void run_try(lfp_pool *p, long n)
{
	for (long i = 0; i < n; i++) {
		void *o;
		lfp_err e = lfp_try_acquire(p, &o);
		if (e != LFP_OK)
			fail("lfp_try_acquire", e);
		injected_work();
		e = lfp_release(p, o);
		if (e != LFP_OK)
			fail("lfp_release", e);
	}
}

/* n objects in rounds of BULK: one bulk acquire, one bulk release. */
__attribute__((noinline)) static void run_bulk(lfp_pool *p, long n)
{
	void *objs[BULK];
	for (long r = 0; r < n / BULK; r++) {
		lfp_err e = lfp_acquire_bulk(p, objs, BULK);
		if (e != LFP_OK)
			fail("lfp_acquire_bulk", e);
		for (int i = 0; i < BULK; i++)
			injected_work();
		e = lfp_release_bulk(p, objs, BULK);
		if (e != LFP_OK)
			fail("lfp_release_bulk", e);
	}
}

static unsigned long long misses(lfp_pool *p)
{
	lfp_stats st = LFP_STATS_INIT;
	lfp_err e = lfp_get_stats(p, &st);
	if (e != LFP_OK)
		fail("lfp_get_stats", e);
	return (unsigned long long)st.cache_misses;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "acquire";
	char *end = NULL;
	long n = argc > 1 ? strtol(argv[1], &end, 10) : -1;
	int ok_mode = !strcmp(mode, "acquire") || !strcmp(mode, "try") ||
		      !strcmp(mode, "bulk16") || !strcmp(mode, "nocache");
	if (argc < 2 || argc > 3 || !end || *end || n < 0 || !ok_mode ||
	    (!strcmp(mode, "bulk16") && n % BULK)) {
		fprintf(stderr,
			"usage: %s PAIRS [acquire|try|bulk16|nocache]"
			" (bulk16: PAIRS a multiple of %d)\n",
			argv[0], BULK);
		return 2;
	}

	lfp_config cfg = LFP_CONFIG_INIT;
	cfg.object_size = 64;
	cfg.capacity = 4096;
	if (!strcmp(mode, "nocache"))
		cfg.cache_size = 0;
	lfp_pool *p;
	lfp_err e = lfp_create(&cfg, &p);
	if (e != LFP_OK)
		fail("lfp_create", e);

	/* Warm up: create 2 x BULK objects and leave them in this thread's
	 * cache, then run a few rounds of the measured operation so that the
	 * loop below starts in its steady state. */
	void *warm[2 * BULK];
	for (int i = 0; i < 2 * BULK; i++)
		if ((e = lfp_acquire(p, &warm[i])) != LFP_OK)
			fail("lfp_acquire (warm-up)", e);
	for (int i = 0; i < 2 * BULK; i++)
		if ((e = lfp_release(p, warm[i])) != LFP_OK)
			fail("lfp_release (warm-up)", e);

	unsigned long long before;
	if (!strcmp(mode, "bulk16")) {
		run_bulk(p, 4 * BULK);
		before = misses(p);
		run_bulk(p, n);
	} else if (!strcmp(mode, "try")) {
		run_try(p, 4);
		before = misses(p);
		run_try(p, n);
	} else {
		run_acquire(p, 4);
		before = misses(p);
		run_acquire(p, n);
	}
	unsigned long long loop_misses = misses(p) - before;

	lfp_stats st = LFP_STATS_INIT;
	if (lfp_destroy(p, &st) != LFP_OK)
		return 1;
	printf("mode=%s pairs=%ld acquires=%llu cache_hits=%llu "
	       "cache_misses=%llu loop_misses=%llu\n",
	       mode, n, (unsigned long long)st.acquires,
	       (unsigned long long)st.cache_hits,
	       (unsigned long long)st.cache_misses, loop_misses);
	return 0;
}
