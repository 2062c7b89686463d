/*
 * wait.c — sleeping and the asymmetric fence.
 *
 * Sleeping: a futex on pool->avail_seq. Releasers bump the word and wake
 * only on slow paths, and only while pool->pressure says someone waits.
 *
 * The asymmetric fence: a thread cache is used by its owner with plain
 * loads and stores (the fast path has no atomic read-modify-write and no
 * fence). A thread that must take objects out of another thread's cache
 * (the pool is exhausted) raises pool->pressure and then calls
 * lfp_heavy_fence(): membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) runs a
 * full memory barrier on every CPU currently running a thread of this
 * process. Afterwards, every owner either already sees the raised pressure
 * or had its `active` flag (stored before it loaded pressure) made visible.
 * This is the classic Dekker pattern with the expensive fence moved to the
 * rare side. Without membarrier, owners execute a real fence on every fast
 * path instead, costing every fast path a full fence; we rather keep the
 * caches of every pool bypassed then (lfp_heavy_fence_works). Under
 * ThreadSanitizer, which cannot see membarrier, the fast path is compiled
 * with a real fence and the heavy fence is a plain fence.
 */
#include "lfpool_internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int heavy_cmd; /* membarrier command, 0: use a plain fence */
static pthread_once_t wait_once = PTHREAD_ONCE_INIT;

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

static void wait_setup(void)
{
#ifndef LFP_TSAN
	long q = membarrier(MEMBARRIER_CMD_QUERY);
	if (q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0) {
		heavy_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
	}
#endif
}

bool lfp_heavy_fence_works(void)
{
#ifdef LFP_TSAN
	return true; /* the fast path fences itself */
#else
	return heavy_cmd != 0;
#endif
}

void lfp_wait_init(void)
{
	pthread_once(&wait_once, wait_setup);
}

void lfp_heavy_fence(void)
{
	lfp_full_fence();
	if (heavy_cmd)
		membarrier(heavy_cmd);
}

uint64_t lfp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t lfp_coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleep while *w == val, until woken or the absolute monotonic deadline
 * (UINT64_MAX: none). Returns 0, or ETIMEDOUT. Spurious returns are fine:
 * callers re-check. */
int lfp_futex_wait(_Atomic uint32_t *w, uint32_t val, uint64_t deadline_ns)
{
	struct timespec ts, *tsp = NULL;
	if (deadline_ns != UINT64_MAX) {
		if (lfp_now_ns() >= deadline_ns)
			return ETIMEDOUT;
		ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
		ts.tv_nsec = (long)(deadline_ns % 1000000000u);
		tsp = &ts;
	}
	long r = syscall(SYS_futex, (uint32_t *)w,
			 FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, val, tsp, NULL,
			 FUTEX_BITSET_MATCH_ANY);
	if (r == -1 && errno == ETIMEDOUT)
		return ETIMEDOUT;
	return 0;
}

void lfp_futex_wake(_Atomic uint32_t *w, int n)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n,
		NULL, NULL, 0);
}
