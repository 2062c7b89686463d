/*
 * close.c — lfp_close and lfp_evict_all.
 *
 * Both stop the cache-hit fast paths the same way: every thread cache's
 * keys become LFP_POOL_NONE (under the pool's list lock and each cache's
 * lock), then a heavy fence, so every acquire and release from then on
 * takes the generic path, which checks the pool's state (closed, epoch).
 * New caches of such a pool are made with disarmed keys (lfp_tcache_get
 * reads lfp_life_keys_ok under the list lock). Neither holds a lock while
 * it destroys objects or wakes threads.
 */
#include "lfpool_internal.h"

lfp_err lfp_close(lfp_pool *p)
{
	if (!p)
		return LFP_EINVAL;
	struct lfp_life *l = &p->life;
	/* seq_cst: before the wake-up below (a waiter queues, then checks). */
	uint32_t was =
		atomic_exchange_explicit(&l->closed, 1, memory_order_seq_cst);
	lfp_mt_stop(p); /* joins the maintenance thread */
	if (!was) {
		lfp_tcache_disarm_all(p);
		lfp_waitq_wake_all(&p->waitq);
	}
	/* Idle objects: out of every cache and the depot, destroyed (a pass
	 * already running is waited for; objects parked after this are
	 * destroyed by lfp_object_park). */
	bool ran;
	lfp_trim_pass(p, UINT64_MAX, LFP_PASS_ALL | LFP_PASS_WAIT, &ran);
	return LFP_OK;
}

/*
 * O(1) in objects: one epoch increment, plus disarming each thread
 * cache's keys (O(thread caches of the pool)) and one heavy fence. No
 * object is touched here; objects of older epochs are destroyed when the
 * generic paths or maintenance next see them (acquire, release, trim
 * pass), and the caches are re-armed by their owners once no older object
 * is live (lfp_life_slow_path).
 */
lfp_err lfp_evict_all(lfp_pool *p)
{
	if (!p)
		return LFP_EINVAL;
	struct lfp_life *l = &p->life;
	atomic_fetch_add_explicit(&l->epoch, 1, memory_order_seq_cst);
	atomic_store_explicit(&l->next_clean_ns, 0, memory_order_relaxed);
	lfp_tcache_disarm_all(p);
	lfp_mt_kick(p);
	return LFP_OK;
}
