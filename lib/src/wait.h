/*
 * wait.h — private: futex waiting, the asymmetric fence, clocks (wait.c).
 * Included by lfpool_internal.h.
 */
#ifndef LFPOOL_WAIT_H
#define LFPOOL_WAIT_H

/* ================================================================ wait */

LFP_HIDDEN void lfp_wait_init(void);
/* Make every thread of the process either see our earlier stores or have
 * its earlier stores visible to us (membarrier, or a fence fallback). */
LFP_HIDDEN void lfp_heavy_fence(void);
/* False when membarrier is unavailable: pools then run without thread
 * caches (their fast path would need a real fence on every operation). */
LFP_HIDDEN bool lfp_heavy_fence_works(void);
LFP_HIDDEN uint64_t lfp_now_ns(void);
LFP_HIDDEN uint64_t lfp_coarse_ns(void);
LFP_HIDDEN uint64_t lfp_deadline_after(uint64_t timeout_ns);
LFP_HIDDEN int lfp_futex_wait(_Atomic uint32_t *w, uint32_t val,
			      uint64_t deadline_ns);
LFP_HIDDEN void lfp_futex_wake(_Atomic uint32_t *w, int n);

/* A full memory fence. ThreadSanitizer does not model fences (and gcc
 * warns about them); there it is a seq_cst RMW on a thread-local word, a
 * full barrier on x86 that creates no cross-thread edge TSan could take for
 * synchronization. */
static inline void lfp_full_fence(void)
{
#ifdef LFP_TSAN
	static __thread _Atomic int word;
	atomic_fetch_add_explicit(&word, 0, memory_order_seq_cst);
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* The light side of the asymmetric fence (lfpool_inline.h): our store to
 * `stored` stays before our load of `loaded`. */
#define lfp_light_fence(stored, loaded) LFP__ORDER(stored, loaded)

/*
 * Sleeping acquirers, oldest first; each sleeps on its own futex word.
 * Objects made available kick one waiter to look again, and never while a
 * kicked waiter has not run yet (it passes the kick on if it leaves objects
 * behind). Once the oldest waiter has waited LFP_HANDOFF_NS, releases hand
 * their object straight to it, so no waiter starves (Go's sync.Mutex
 * starvation mode).
 */
/* 10 ms (docs/design.md: why not 1); a build may set another, for
 * experiments (scripts/handoff_compare.sh). */
#ifndef LFP_HANDOFF_NS
#define LFP_HANDOFF_NS 10000000u
#endif
enum { LFP_W_WAITING, LFP_W_HANDED, LFP_W_KICKED, LFP_W_TIMEDOUT };

struct lfp_waiter {
	struct lfp_waiter *next;
	_Atomic uint32_t state;
	void *obj;	/* LFP_W_HANDED: the object */
	uint64_t since; /* when it first queued (kept when it queues again) */
};

struct lfp_waitq {
	pthread_mutex_t lock;
	struct lfp_waiter *head, *tail;
	_Atomic uint32_t n; /* queued waiters */
	uint32_t kicked;    /* kicked waiters that have not looked yet */
	/* The oldest waiter's `since`, 0 when none: written under the lock,
	 * read without it (is anyone starving?). */
	_Atomic uint64_t head_since;
};

LFP_HIDDEN int lfp_waitq_init(struct lfp_waitq *q);
LFP_HIDDEN void lfp_waitq_fini(struct lfp_waitq *q);
LFP_HIDDEN void lfp_waitq_push(struct lfp_waitq *q, struct lfp_waiter *w,
			       bool front);
LFP_HIDDEN bool lfp_waitq_handoff(struct lfp_waitq *q, void *obj, bool force);
LFP_HIDDEN void lfp_waitq_kick(struct lfp_waitq *q);
LFP_HIDDEN uint32_t lfp_waitq_sleep(struct lfp_waitq *q, struct lfp_waiter *w,
				    uint64_t deadline_ns);
LFP_HIDDEN uint32_t lfp_waitq_leave(struct lfp_waitq *q, struct lfp_waiter *w);

#endif /* LFPOOL_WAIT_H */
