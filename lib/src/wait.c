/*
 * wait.c — sleeping and the asymmetric fence.
 *
 * Sleeping: a queue of waiters, oldest first, each on a futex word of its
 * own. Objects or slots made available kick waiters to look again; once
 * the oldest has waited LFP_HANDOFF_NS, releases hand objects straight to
 * it. Only slow paths touch the queue, and only while pool->pressure says
 * someone waits.
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

int lfp_waitq_init(struct lfp_waitq *q)
{
	q->head = q->tail = NULL;
	atomic_init(&q->n, 0);
	return pthread_mutex_init(&q->lock, NULL);
}

void lfp_waitq_fini(struct lfp_waitq *q)
{
	pthread_mutex_destroy(&q->lock);
}

/* Queue a waiter: at the back, or at the front when it was kicked and
 * lost the race (it is older than everyone queued after it). */
void lfp_waitq_push(struct lfp_waitq *q, struct lfp_waiter *w, bool front)
{
	atomic_init(&w->state, LFP_W_WAITING);
	pthread_mutex_lock(&q->lock);
	if (front && q->head) {
		w->next = q->head;
		q->head = w;
	} else {
		w->next = NULL;
		if (q->tail)
			q->tail->next = w;
		else
			q->head = w;
		q->tail = w;
	}
	/* seq_cst: the waiter checks the depot again after this; whoever
	 * fills the depot fences and then reads n (lfp_notify). */
	atomic_fetch_add_explicit(&q->n, 1, memory_order_seq_cst);
	pthread_mutex_unlock(&q->lock);
}

/* Under q->lock. */
static struct lfp_waiter *pop_head(struct lfp_waitq *q)
{
	struct lfp_waiter *w = q->head;
	if (w) {
		q->head = w->next;
		if (!q->head)
			q->tail = NULL;
		atomic_fetch_sub_explicit(&q->n, 1, memory_order_relaxed);
	}
	return w;
}

/* Under q->lock: the waiter cannot leave lfp_waitq_sleep/leave (they take
 * the lock) until we are done with it. */
static void wake(struct lfp_waiter *w, uint32_t state)
{
	/* Release: w->obj is visible to the waiter's acquire load. */
	atomic_store_explicit(&w->state, state, memory_order_release);
	lfp_futex_wake(&w->state, 1);
}

/* Hand obj to the oldest waiter if it has waited LFP_HANDOFF_NS (or
 * `force`); false if it was not handed. */
bool lfp_waitq_handoff(struct lfp_waitq *q, void *obj, bool force)
{
	if (atomic_load_explicit(&q->n, memory_order_seq_cst) == 0)
		return false;
	uint64_t now = force ? 0 : lfp_now_ns();
	pthread_mutex_lock(&q->lock);
	struct lfp_waiter *w = q->head;
	if (w && (force || now - w->since >= LFP_HANDOFF_NS)) {
		pop_head(q);
		w->obj = obj;
		wake(w, LFP_W_HANDED);
	} else {
		w = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	return w != NULL;
}

void lfp_waitq_kick(struct lfp_waitq *q, uint64_t n)
{
	if (atomic_load_explicit(&q->n, memory_order_seq_cst) == 0)
		return;
	pthread_mutex_lock(&q->lock);
	struct lfp_waiter *w;
	while (n-- > 0 && (w = pop_head(q)) != NULL)
		wake(w, LFP_W_KICKED);
	pthread_mutex_unlock(&q->lock);
}

/* Leave the queue; returns the final state (LFP_W_TIMEDOUT if nobody had
 * handed or kicked us yet). */
uint32_t lfp_waitq_leave(struct lfp_waitq *q, struct lfp_waiter *w)
{
	pthread_mutex_lock(&q->lock);
	uint32_t st = atomic_load_explicit(&w->state, memory_order_acquire);
	if (st == LFP_W_WAITING) {
		struct lfp_waiter **pp = &q->head, *prev = NULL;
		while (*pp != w) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		*pp = w->next;
		if (q->tail == w)
			q->tail = prev;
		atomic_fetch_sub_explicit(&q->n, 1, memory_order_relaxed);
		st = LFP_W_TIMEDOUT;
	}
	pthread_mutex_unlock(&q->lock);
	return st;
}

uint32_t lfp_waitq_sleep(struct lfp_waitq *q, struct lfp_waiter *w,
			 uint64_t deadline_ns)
{
	while (atomic_load_explicit(&w->state, memory_order_acquire) ==
	       LFP_W_WAITING) {
		if (lfp_futex_wait(&w->state, LFP_W_WAITING, deadline_ns) ==
		    ETIMEDOUT)
			break;
	}
	return lfp_waitq_leave(q, w);
}
