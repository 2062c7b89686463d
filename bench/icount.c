/*
 * Instruction-count probe for the regression gate (scripts/bench_gate.sh).
 *
 * Usage: lfpool_icount PAIRS [acquire|try]
 * Does PAIRS acquire+release pairs on one thread, all served by the thread's
 * cache (a warm pool, one object in flight). Run under
 * `valgrind --tool=callgrind` with PAIRS = N and 2N: the difference of the
 * two instruction totals divided by N is the cost of one pair, with process
 * start-up, pool creation and teardown cancelled out. The figure includes
 * the loop and the error checks a caller would write (~4 instructions).
 *
 * Built twice: lfpool_icount, and lfpool_icount_inject with
 * -DLFPOOL_ICOUNT_INJECT=<n>, which adds n to 3n instructions of deliberate
 * extra work per pair (n nops, plus the loop if the compiler keeps one) so one
 * can watch the gate trip.
 */
#include <lfpool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PAIRS [acquire|try]\n", argv[0]);
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	int try_mode = argc > 2 && strcmp(argv[2], "try") == 0;
	if (n < 0)
		return 2;

	lfp_config cfg = LFP_CONFIG_INIT;
	cfg.object_size = 64;
	cfg.capacity = 4096;
	lfp_pool *p;
	lfp_err e = lfp_create(&cfg, &p);
	if (e != LFP_OK)
		fail("lfp_create", e);

	/* Warm up: create a few objects and leave them in this thread's cache.
	 */
	void *warm[8];
	for (int i = 0; i < 8; i++)
		if ((e = lfp_acquire(p, &warm[i])) != LFP_OK)
			fail("lfp_acquire (warm-up)", e);
	for (int i = 0; i < 8; i++)
		if ((e = lfp_release(p, warm[i])) != LFP_OK)
			fail("lfp_release (warm-up)", e);

	if (try_mode)
		run_try(p, n);
	else
		run_acquire(p, n);

	lfp_stats st;
	if (lfp_destroy(p, &st) != LFP_OK)
		return 1;
	/* Everything after the warm-up should have hit the cache. */
	printf("pairs=%ld acquires=%llu cache_hits=%llu cache_misses=%llu\n", n,
	       (unsigned long long)st.acquires,
	       (unsigned long long)st.cache_hits,
	       (unsigned long long)st.cache_misses);
	return 0;
}
