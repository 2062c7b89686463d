/*
 * Competitor: DPDK's rte_mempool (22.11), the default ring_mp_mc driver
 * with a per-lcore cache of 256 objects, objects of the benchmark's size.
 * `dpdk` does one rte_mempool_get/put per object; `dpdk_bulk` takes and
 * returns a whole burst with rte_mempool_get_bulk/put_bulk.
 *
 * The EAL starts on the first pool creation (so runs without DPDK rows do
 * not pay for it) with
 *   -l <first allowed CPU> --no-huge --no-pci --no-shconf --no-telemetry
 *   -m 256 --log-level=error
 * (LFPOOL_BENCH_DPDK_EAL replaces these arguments, space-separated).
 * rte_eal_init pins the calling thread to its main lcore's CPU; the
 * thread's previous affinity is restored right after, so the benchmark's
 * threads (created later from this thread) are not all pinned to one CPU.
 *
 * Google Benchmark's worker threads are not EAL threads: without an lcore
 * id rte_mempool_get bypasses the per-lcore cache and goes to the ring.
 * thread_init therefore calls rte_thread_register(), which gives the
 * thread a free lcore id (the main thread keeps its EAL lcore, registered
 * threads get the other ids: up to RTE_MAX_LCORE - 1 threads at once,
 * independent of the -l list), and thread_fini gives it back with
 * rte_thread_unregister(). The per-lcore cache is then used exactly as on an
 * EAL lcore.
 *
 * A get that finds the cache and the ring empty fails (-ENOENT); DPDK never
 * takes objects from other lcores' caches. The acquire here retries (each
 * retry is counted) and aborts after 10 s. `supports` skips the points
 * where the warm-up could strand so many objects in caches that a thread
 * starves: each thread's first get moves up to cache size + burst objects
 * out of the ring.
 */
#define _GNU_SOURCE /* pthread_getaffinity_np */
#include "loops.h"

#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DPDK_CACHE   256
#define DPDK_MAXARGS 32

static pthread_once_t eal_once = PTHREAD_ONCE_INIT;
static int eal_ready;
static _Atomic unsigned pool_seq;
static _Atomic uint64_t retries; /* one pool exists at a time */
static _Thread_local int registered;

static void eal_start(void)
{
	static char args[512];
	char *argv[DPDK_MAXARGS + 1];
	int argc = 0;
	cpu_set_t saved;
	int have_mask = pthread_getaffinity_np(pthread_self(), sizeof(saved),
					       &saved) == 0;
	int first = 0;
	for (int c = 0; have_mask && c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, &saved)) {
			first = c;
			break;
		}
	}
	const char *env = getenv("LFPOOL_BENCH_DPDK_EAL");
	if (env && *env)
		snprintf(args, sizeof(args), "lfpool_bench %s", env);
	else
		snprintf(args, sizeof(args),
			 "lfpool_bench -l %d --no-huge --no-pci --no-shconf "
			 "--no-telemetry -m 256 --log-level=error",
			 first);
	for (char *tok = strtok(args, " "); tok && argc < DPDK_MAXARGS;
	     tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	int r = rte_eal_init(argc, argv);
	if (have_mask)
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	if (r < 0) {
		fprintf(stderr, "dpdk bench: rte_eal_init: %s\n",
			rte_strerror(rte_errno));
		return;
	}
	eal_ready = 1;
}

static void *dpdk_create(size_t capacity, size_t obj_size)
{
	pthread_once(&eal_once, eal_start);
	if (!eal_ready)
		return NULL;
	char name[RTE_MEMPOOL_NAMESIZE];
	snprintf(name, sizeof(name), "lfpb%u",
		 atomic_fetch_add_explicit(&pool_seq, 1, memory_order_relaxed));
	struct rte_mempool *mp = rte_mempool_create(
		name, (unsigned)capacity, (unsigned)obj_size, DPDK_CACHE, 0,
		NULL, NULL, NULL, NULL, SOCKET_ID_ANY, 0);
	if (!mp) {
		fprintf(stderr, "dpdk bench: rte_mempool_create: %s\n",
			rte_strerror(rte_errno));
		return NULL;
	}
	atomic_store_explicit(&retries, 0, memory_order_relaxed);
	return mp;
}

static void dpdk_destroy(void *pool)
{
	rte_mempool_free(pool);
}

static void dpdk_thread_init(void *pool)
{
	(void)pool;
	if (rte_lcore_id() != LCORE_ID_ANY)
		return; /* the EAL main thread: it has its lcore */
	if (rte_thread_register() != 0) {
		fprintf(stderr, "dpdk bench: rte_thread_register: %s\n",
			rte_strerror(rte_errno));
		abort();
	}
	registered = 1;
}

static void dpdk_thread_fini(void *pool)
{
	(void)pool;
	if (registered) {
		rte_thread_unregister();
		registered = 0;
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Retries a get of n objects until it succeeds (see the top comment). */
static __attribute__((noinline)) void get_slow(struct rte_mempool *mp,
					       void **objs, unsigned n)
{
	atomic_fetch_add_explicit(&retries, 1, memory_order_relaxed);
	uint64_t start = now_ns();
	unsigned spins = 0;
	while (rte_mempool_get_bulk(mp, objs, n) != 0) {
		if (++spins < 64) {
			rte_pause();
			continue;
		}
		spins = 0;
		sched_yield();
		if (now_ns() - start > 10000000000ull) {
			fprintf(stderr,
				"dpdk bench: no object for 10 s (objects "
				"stranded in other lcores' caches)\n");
			abort();
		}
	}
}

static void *dpdk_acquire(void *pool)
{
	void *o;
	if (unlikely(rte_mempool_get(pool, &o) != 0))
		get_slow(pool, &o, 1);
	return o;
}

static void dpdk_release(void *pool, void *obj)
{
	rte_mempool_put(pool, obj);
}

static void dpdk_acquire_bulk(void *pool, void **objs, unsigned n)
{
	if (unlikely(rte_mempool_get_bulk(pool, objs, n) != 0))
		get_slow(pool, objs, n);
}

static void dpdk_release_bulk(void *pool, void *const *objs, unsigned n)
{
	rte_mempool_put_bulk(pool, objs, n);
}

static uint64_t dpdk_retries(void *pool)
{
	(void)pool;
	return atomic_load_explicit(&retries, memory_order_relaxed);
}

/* Lcore ids suffice, and the worst-case warm-up leaves every thread its
 * burst: threads one after another each move cache + burst objects out of
 * the ring while it has them, then only their burst (DPDK's fallback when
 * the cache cannot be filled). */
static int dpdk_supports(unsigned threads, unsigned held, size_t capacity)
{
	if (threads > RTE_MAX_LCORE - 1)
		return 0;
	size_t ring = capacity;
	for (unsigned i = 0; i < threads; i++) {
		size_t refill = (size_t)DPDK_CACHE + held;
		if (ring >= refill)
			ring -= refill;
		else if (ring >= held)
			ring -= held;
		else
			return 0;
	}
	return 1;
}

WL_LOOPS(dpdk, dpdk_acquire, dpdk_release);
WL_BULK_LOOPS(dpdk_bulk, dpdk_acquire, dpdk_release, dpdk_acquire_bulk,
	      dpdk_release_bulk);

const struct pool_iface impl_dpdk = {
	.name = "dpdk",
	.create = dpdk_create,
	.destroy = dpdk_destroy,
	.acquire = dpdk_acquire,
	.release = dpdk_release,
	.thread_init = dpdk_thread_init,
	.thread_fini = dpdk_thread_fini,
	.supports = dpdk_supports,
	.retries = dpdk_retries,
	.loops = &dpdk_loops,
	.runs = WL_RUNS_PAIR | WL_RUNS_BURST,
};

const struct pool_iface impl_dpdk_bulk = {
	.name = "dpdk_bulk",
	.create = dpdk_create,
	.destroy = dpdk_destroy,
	.acquire = dpdk_acquire,
	.release = dpdk_release,
	.acquire_bulk = dpdk_acquire_bulk,
	.release_bulk = dpdk_release_bulk,
	.thread_init = dpdk_thread_init,
	.thread_fini = dpdk_thread_fini,
	.supports = dpdk_supports,
	.retries = dpdk_retries,
	.loops = &dpdk_bulk_loops,
	.runs = WL_RUNS_BURST,
};
