/*
 * wait.c — sleeping, the asymmetric fence, clocks.
 *
 * Sleeping: a queue of waiters, oldest first, each on a futex word of its
 * own. Objects or slots made available kick the oldest waiter to look again
 * (one kick in flight at a time); once the oldest has waited
 * LFP_HANDOFF_NS, releases hand objects straight to it. Futex wakes happen
 * after the queue lock is dropped.
 *
 * The asymmetric fence: a thread cache is used by its owner with plain
 * loads and stores (no atomic read-modify-write, no fence). A thread that
 * must take objects out of another thread's cache, or that starts waiting,
 * stores first (claims the cache's top, raises pool->waiters) and then calls
 * lfp_heavy_fence(): membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) runs a
 * full memory barrier on every CPU currently running a thread of this
 * process. The owner's fast path stores (its cache's bottom) and then loads
 * (the top, or pool->waiters) with only a compiler barrier between
 * (lfp_light_fence). The barrier that membarrier forces on the owner's CPU
 * falls before or after the owner's load: either the owner sees our store,
 * or we see its store. This is Dekker's pattern with the expensive fence on
 * the rare side (tcache.c and access.c name each pair). Without membarrier,
 * pools run without thread caches (lfp_heavy_fence_works). Under
 * ThreadSanitizer, which cannot see membarrier, the light fence is a real
 * fence.
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

/* Absolute deadline; UINT64_MAX for LFP_FOREVER. */
uint64_t lfp_deadline_after(uint64_t timeout_ns)
{
	if (timeout_ns == LFP_FOREVER)
		return UINT64_MAX;
	uint64_t now = lfp_now_ns();
	return timeout_ns > UINT64_MAX - 1 - now ? UINT64_MAX - 1
						 : now + timeout_ns;
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
	q->kicked = 0;
	atomic_init(&q->n, 0);
	atomic_init(&q->head_since, 0);
	return pthread_mutex_init(&q->lock, NULL);
}

void lfp_waitq_fini(struct lfp_waitq *q)
{
	pthread_mutex_destroy(&q->lock);
}

/* Under q->lock, after the head may have changed. */
static void head_changed(struct lfp_waitq *q)
{
	atomic_store_explicit(&q->head_since, q->head ? q->head->since : 0,
			      memory_order_relaxed);
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
	head_changed(q);
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
		head_changed(q);
	}
	return w;
}

/* Hand obj to the oldest waiter if it has waited LFP_HANDOFF_NS (or
 * `force`); false if it was not handed. Unforced, it first looks without
 * the lock, on the coarse clock: most calls end there. */
bool lfp_waitq_handoff(struct lfp_waitq *q, void *obj, bool force)
{
	if (atomic_load_explicit(&q->n, memory_order_seq_cst) == 0)
		return false;
	uint64_t now = 0;
	if (!force) {
		uint64_t since = atomic_load_explicit(&q->head_since,
						      memory_order_relaxed);
		now = lfp_coarse_ns();
		if (!since || (int64_t)(now - since) < (int64_t)LFP_HANDOFF_NS)
			return false;
	}
	pthread_mutex_lock(&q->lock);
	struct lfp_waiter *w = q->head;
	if (w &&
	    (force || (int64_t)(now - w->since) >= (int64_t)LFP_HANDOFF_NS)) {
		pop_head(q);
		w->obj = obj;
		/* Release: w->obj is visible to the waiter's acquire load. */
		atomic_store_explicit(&w->state, LFP_W_HANDED,
				      memory_order_release);
	} else {
		w = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	if (w)
		lfp_futex_wake(&w->state, 1);
	return w != NULL;
}

/* Kick the oldest sleeper to look again, unless a kicked one has not
 * looked yet: it passes the kick on if it leaves objects behind, so one
 * wake-up is in flight at a time. */
void lfp_waitq_kick(struct lfp_waitq *q)
{
	/* seq_cst: the caller made an object available and fenced; a waiter
	 * that queued after this load finds the object itself (it looks
	 * again after lfp_waitq_push). */
	if (atomic_load_explicit(&q->n, memory_order_seq_cst) == 0)
		return;
	struct lfp_waiter *w = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->kicked == 0 && (w = pop_head(q)) != NULL) {
		q->kicked++;
		/* Release: pairs with the waiter's acquire load of state. */
		atomic_store_explicit(&w->state, LFP_W_KICKED,
				      memory_order_release);
	}
	pthread_mutex_unlock(&q->lock);
	/* Outside the lock: the waiter may be on its way out, but it cannot
	 * free its word before it took the lock we just dropped; a wake of a
	 * word whose owner moved on is harmless (futex words are compared by
	 * address and value only). */
	if (w)
		lfp_futex_wake(&w->state, 1);
}

/* Leave the queue; returns the final state (LFP_W_TIMEDOUT if nobody had
 * handed or kicked us yet). */
uint32_t lfp_waitq_leave(struct lfp_waitq *q, struct lfp_waiter *w)
{
	pthread_mutex_lock(&q->lock);
	uint32_t st = atomic_load_explicit(&w->state, memory_order_acquire);
	if (st == LFP_W_KICKED)
		q->kicked--; /* we are about to look */
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
		head_changed(q);
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

/* Wake every sleeper to look again (lfp_close): each is popped and marked
 * kicked under the lock, one at a time, and woken after the lock is
 * dropped, as lfp_waitq_kick does. */
void lfp_waitq_wake_all(struct lfp_waitq *q)
{
	for (;;) {
		pthread_mutex_lock(&q->lock);
		struct lfp_waiter *w = pop_head(q);
		if (w) {
			q->kicked++;
			atomic_store_explicit(&w->state, LFP_W_KICKED,
					      memory_order_release);
		}
		pthread_mutex_unlock(&q->lock);
		if (!w)
			return;
		lfp_futex_wake(&w->state, 1);
	}
}
