/*
 * Benchmark workloads (see workloads.h). Plain C11; the per-thread loop
 * structure and timing come from Google Benchmark in bench_main.cc.
 */
#define _POSIX_C_SOURCE 200809L
#include "workloads.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax() ((void)0)
#endif

/* Spins a little, then yields: benchmark threads may outnumber cores. */
static void backoff(unsigned *spins)
{
	if (++*spins < 128) {
		cpu_relax();
	} else {
		*spins = 0;
		sched_yield();
	}
}

uint64_t wl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned wl_calibrate_work(unsigned ns)
{
	if (ns == 0)
		return 0;
	const unsigned probe = 1u << 20;
	uint64_t best = UINT64_MAX, x = 1;
	for (int rep = 0; rep < 5; rep++) {
		uint64_t t0 = wl_now_ns();
		x = wl_dummy_work(x, probe);
		uint64_t dt = wl_now_ns() - t0;
		if (dt < best)
			best = dt;
	}
	__asm__ __volatile__("" ::"r"(x));
	if (best == 0)
		best = 1;
	double iters = (double)ns * (double)probe / (double)best;
	return iters < 1.0 ? 1u : (unsigned)(iters + 0.5);
}

/* ---- workloads ---------------------------------------------------------- */

void wl_pair(struct wl_thread *t, long units)
{
	t->pi->loops->pair(t, units);
}

void wl_burst(struct wl_thread *t, long units)
{
	t->pi->loops->burst(t, units);
}

void wl_work(struct wl_thread *t, long units)
{
	t->pi->loops->work(t, units);
}

void wl_oversub(struct wl_thread *t)
{
	const struct pool_iface *pi = t->pi;
	void *pool = t->pool;
	const unsigned n = t->work_iters;
	const uint64_t mask = t->lat_cap ? t->lat_cap - 1 : 0;
	const uint64_t deadline = t->deadline_ns;
	uint64_t x = t->sink, ops = 0, lmax = t->lat_max, t1;
	do {
		uint64_t t0 = wl_now_ns();
		uint64_t *o = pi->acquire(pool);
		t1 = wl_now_ns();
		uint64_t d = t1 - t0;
		if (t->lat_cap)
			t->lat[t->lat_n & mask] = d;
		t->lat_n++;
		if (d > lmax)
			lmax = d;
		x = wl_dummy_work(x ^ o[0], n);
		o[0] = x;
		pi->release(pool, o);
		ops++;
	} while (t1 < deadline);
	t->sink = x;
	t->lat_max = lmax;
	t->pairs += ops;
}

/* ---- cross-thread release through an SPSC ring -------------------------- */

struct wl_ring {
	_Alignas(64) _Atomic uint64_t head; /* next slot the consumer reads */
	_Alignas(64) _Atomic uint64_t tail; /* next slot the producer writes */
	_Alignas(64) void *slot[WL_RING_SIZE];
};

struct wl_ring *wl_ring_new(void)
{
	struct wl_ring *r = aligned_alloc(64, sizeof(*r));
	if (!r)
		return NULL;
	memset(r->slot, 0, sizeof(r->slot));
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return r;
}

void wl_ring_free(struct wl_ring *r)
{
	free(r);
}

static void ring_push_batch(struct wl_ring *r, void *const *objs, unsigned n)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	unsigned spins = 0;
	while (tail - atomic_load_explicit(&r->head, memory_order_acquire) >
	       WL_RING_SIZE - n)
		backoff(&spins);
	for (unsigned i = 0; i < n; i++)
		r->slot[(tail + i) & (WL_RING_SIZE - 1)] = objs[i];
	atomic_store_explicit(&r->tail, tail + n, memory_order_release);
}

static void ring_pop_batch(struct wl_ring *r, void **objs, unsigned n)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	unsigned spins = 0;
	while (atomic_load_explicit(&r->tail, memory_order_acquire) - head < n)
		backoff(&spins);
	for (unsigned i = 0; i < n; i++)
		objs[i] = r->slot[(head + i) & (WL_RING_SIZE - 1)];
	atomic_store_explicit(&r->head, head + n, memory_order_release);
}

void wl_xthread(struct wl_thread *t, long units)
{
	const struct pool_iface *pi = t->pi;
	void *pool = t->pool;
	void **held = t->held;
	const unsigned b = WL_XFER_BATCH;
	for (long i = 0; i < units; i++) {
		if (t->role != WL_ROLE_CONSUMER) {
			for (unsigned j = 0; j < b; j++) {
				held[j] = pi->acquire(pool);
				*(volatile uint64_t *)held[j] = (uint64_t)j;
			}
			if (t->role == WL_ROLE_PRODUCER)
				ring_push_batch(t->ring, held, b);
		}
		if (t->role != WL_ROLE_PRODUCER) {
			if (t->role == WL_ROLE_CONSUMER)
				ring_pop_batch(t->ring, held, b);
			for (unsigned j = 0; j < b; j++)
				pi->release(pool, held[j]);
		}
	}
	/* Each pair is counted once, on the releasing side. */
	if (t->role != WL_ROLE_PRODUCER)
		t->pairs += (uint64_t)units * b;
}

/* ---- latency percentiles ------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static double pct(const uint64_t *v, size_t n, double q)
{
	/* nearest rank */
	size_t rank = (size_t)(q * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1];
}

int wl_lat_merge(struct wl_thread *const *threads, size_t n,
		 struct wl_lat_summary *out)
{
	size_t total = 0;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const struct wl_thread *t = threads[i];
		total += t->lat_n < t->lat_cap ? (size_t)t->lat_n : t->lat_cap;
	}
	if (total == 0)
		return 0;
	uint64_t *all = malloc(total * sizeof(*all));
	if (!all)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct wl_thread *t = threads[i];
		size_t m =
			t->lat_n < t->lat_cap ? (size_t)t->lat_n : t->lat_cap;
		memcpy(all + k, t->lat, m * sizeof(*all));
		k += m;
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	double sum = 0;
	for (size_t i = 0; i < total; i++)
		sum += (double)all[i];
	out->samples = total;
	out->p50_ns = pct(all, total, 0.50);
	out->p99_ns = pct(all, total, 0.99);
	out->p999_ns = pct(all, total, 0.999);
	/* The longest wait of all, including samples the rings overwrote. */
	out->max_ns = (double)all[total - 1];
	for (size_t i = 0; i < n; i++)
		if ((double)threads[i]->lat_max > out->max_ns)
			out->max_ns = (double)threads[i]->lat_max;
	out->mean_ns = sum / (double)total;
	free(all);
	return 0;
}

char *wl_slab_alloc(size_t capacity, size_t hdr, size_t obj_size,
		    size_t *stride)
{
	*stride = (hdr + obj_size + 15) & ~(size_t)15;
	return aligned_alloc(64, (capacity * *stride + 63) & ~(size_t)63);
}
