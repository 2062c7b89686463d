/*
 * maintain.c — lfp_maintain and the maintenance thread, the epoch clean
 * scan (re-arming caches after lfp_evict_all), leak reports, lfp_foreach.
 *
 * lfp_maintain runs what is due: one trim pass (idle eviction with
 * max_idle_ns, keeping min_idle idle objects; dead idle objects; keepalive
 * validation every keepalive_ns), the clean scan after lfp_evict_all,
 * refilling min_idle idle objects (create() runs outside every lock),
 * and leak reports. Every callback runs with no lfpool lock held.
 */
#include "lfpool_internal.h"

#include <errno.h>
#include <time.h>

#define LFP_MS		 1000000u
#define LFP_CLEAN_PERIOD (10 * LFP_MS) /* clean scans at most this often */
#define LFP_MT_MAX_SLEEP (1000 * LFP_MS)

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ------------------------------------------------------------ epochs */

/* After lfp_evict_all: sweep idle objects of older epochs out of caches
 * and the depot, then look for any still live (held by users) in the
 * slab. None: caches may serve the fast paths again. O(used slots); runs
 * at most every LFP_CLEAN_PERIOD from slow paths, and in lfp_maintain. */
static bool clean(struct lfp_pool *p)
{
	struct lfp_life *l = &p->life;
	uint64_t e = lfp_life_epoch(l);
	uint64_t c =
		atomic_load_explicit(&l->clean_epoch, memory_order_relaxed);
	if (c == e)
		return true;
	bool ran;
	lfp_trim_pass(p, UINT64_MAX, LFP_PASS_ALL, &ran);
	if (!ran)
		return false;
	uint64_t used = lfp_slab_used(&p->slab);
	for (uint64_t i = 0; i < used; i++) {
		struct lfp_hdr *h = lfp_hdr_of(lfp_slab_obj(&p->slab, i));
		if (atomic_load_explicit(&h->tag, memory_order_relaxed) &&
		    atomic_load_explicit(&l->meta[i].epoch,
					 memory_order_relaxed) < e)
			return false;
	}
	/* Release: pairs with lfp_life_keys_ok's acquire load. */
	while (c < e && !atomic_compare_exchange_weak_explicit(
				&l->clean_epoch, &c, e, memory_order_release,
				memory_order_relaxed))
		;
	return true;
}

void lfp_life_slow_path(struct lfp_pool *p, struct lfp_tcache *c)
{
	struct lfp_life *l = &p->life;
	uint64_t e = lfp_life_epoch(l);
	if (LFP_LIKELY(e == atomic_load_explicit(&l->clean_epoch,
						 memory_order_relaxed))) {
		/* Re-arm our keys if an lfp_evict_all disarmed them. */
		if (LFP_UNLIKELY(e != 0) && c && c->pub.cap &&
		    ((!p->hooks_acquire &&
		      LFP_LD(c->pub.acq_key) == LFP_POOL_NONE) ||
		     (!p->hooks_release &&
		      LFP_LD(c->pub.rel_key) == LFP_POOL_NONE)) &&
		    lfp_life_keys_ok(l))
			lfp_tcache_rearm(p, c);
		return;
	}
	uint64_t now = lfp_coarse_ns();
	uint64_t due =
		atomic_load_explicit(&l->next_clean_ns, memory_order_relaxed);
	if (now < due ||
	    !atomic_compare_exchange_strong_explicit(
		    &l->next_clean_ns, &due, now + LFP_CLEAN_PERIOD,
		    memory_order_relaxed, memory_order_relaxed))
		return;
	if (clean(p) && c)
		lfp_tcache_rearm(p, c);
}

/* ------------------------------------------------------------ refill */

/* Idle objects: live minus those users hold (the stats gauge). */
static uint64_t idle_now(struct lfp_pool *p)
{
	lfp_stats st;
	uint64_t discards;
	lfp_tcache_sum(p, &st, &discards);
	uint64_t live = atomic_load_explicit(&p->live, memory_order_relaxed);
	uint64_t gone = st.releases + discards;
	uint64_t in_use = st.acquires > gone ? st.acquires - gone : 0;
	return live > in_use ? live - in_use : 0;
}

/* Create objects (outside every lock) until min_idle are idle; false if a
 * create failed or is backing off. */
static bool refill(struct lfp_pool *p)
{
	uint64_t idle = idle_now(p);
	while (idle < p->min_idle && !lfp_life_closed(&p->life)) {
		void *o;
		lfp_err err = lfp_object_create(p, &o);
		if (err == LFP_EMPTY)
			return true; /* at capacity */
		if (err)
			return false;
		lfp_gen_to_idle(o, lfp_gen_load(o));
		lfp_object_park(p, NULL, &o, 1, lfp_coarse_ns());
		idle++;
	}
	return true;
}

/* ------------------------------------------------------------ leaks */

static void leak_scan(struct lfp_pool *p)
{
	struct lfp_life *l = &p->life;
	uint64_t now = lfp_now_ns(), used = lfp_slab_used(&p->slab);
	for (uint64_t i = 0; i < used; i++) {
		void *obj = lfp_slab_obj(&p->slab, i);
		struct lfp_meta *m = &l->meta[i];
		uint64_t g = lfp_gen_load(obj);
		if (!lfp_gen_is_acquired(g) ||
		    atomic_load_explicit(&lfp_hdr_of(obj)->tag,
					 memory_order_relaxed) != i + 1)
			continue;
		/* Acquire: the acquisition's stamps (lfp_life_on_acquire). */
		if (atomic_load_explicit(&m->leaked, memory_order_acquire))
			continue;
		uint64_t since = atomic_load_explicit(&m->since_ns,
						      memory_order_relaxed);
		void *site =
			atomic_load_explicit(&m->site, memory_order_relaxed);
		if (now < since || now - since < l->leak_ns ||
		    lfp_gen_load(obj) != g)
			continue;
		uint32_t z = 0;
		if (!atomic_compare_exchange_strong_explicit(
			    &m->leaked, &z, 1, memory_order_relaxed,
			    memory_order_relaxed))
			continue;
		lfp_add(&l->leaks, 1);
		l->on_leak(p->factory.ctx, obj, now - since, site);
	}
}

/* ------------------------------------------------------------ maintain */

lfp_err lfp_maintain(lfp_pool *p, uint64_t *next_ns)
{
	if (next_ns)
		*next_ns = UINT64_MAX;
	if (!p)
		return LFP_EINVAL;
	struct lfp_life *l = &p->life;
	bool ran;
	if (lfp_life_closed(l)) {
		lfp_trim_pass(p, UINT64_MAX, LFP_PASS_ALL, &ran);
		return LFP_OK;
	}
	uint64_t now = lfp_coarse_ns(), next = UINT64_MAX;
	if (!clean(p))
		next = LFP_CLEAN_PERIOD;
	unsigned flags = 0;
	if (l->keepalive_ns) {
		uint64_t due = atomic_load_explicit(&l->next_keepalive_ns,
						    memory_order_relaxed);
		if (now >= due) {
			flags |= LFP_PASS_KEEPALIVE | LFP_PASS_ALL;
			due = now + l->keepalive_ns;
			atomic_store_explicit(&l->next_keepalive_ns, due,
					      memory_order_relaxed);
		}
		next = min64(next, due - now);
	}
	uint64_t max_ns = p->max_idle_ns ? p->max_idle_ns : UINT64_MAX;
	if (flags || p->max_idle_ns || l->max_lifetime_ns) {
		lfp_trim_pass(p, max_ns, flags, &ran);
		if (!ran)
			next = min64(next, LFP_MS);
	}
	if (p->max_idle_ns)
		next = min64(next, p->max_idle_ns / 2 > LFP_MS
					   ? p->max_idle_ns / 2
					   : LFP_MS);
	if (l->max_lifetime_ns)
		next = min64(next, l->max_lifetime_ns / 16 > LFP_MS
					   ? l->max_lifetime_ns / 16
					   : LFP_MS);
	if (!refill(p)) {
		uint64_t at = atomic_load_explicit(&l->retry_at,
						   memory_order_relaxed);
		now = lfp_coarse_ns();
		next = min64(next, at > now ? at - now : 10 * LFP_MS);
	}
	if (l->track) {
		leak_scan(p);
		next = min64(next,
			     l->leak_ns / 4 > LFP_MS ? l->leak_ns / 4 : LFP_MS);
	}
	if (next_ns)
		*next_ns = next;
	return LFP_OK;
}

/* ------------------------------------------------------------ thread */

static void *mt_main(void *arg)
{
	struct lfp_pool *p = arg;
	struct lfp_life *l = &p->life;
	pthread_mutex_lock(&l->mt_lock);
	while (!l->mt_stop) {
		pthread_mutex_unlock(&l->mt_lock);
		uint64_t next;
		lfp_maintain(p, &next);
		next = next < LFP_MS ? LFP_MS : min64(next, LFP_MT_MAX_SLEEP);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t ns = (uint64_t)ts.tv_nsec + next;
		ts.tv_sec += (time_t)(ns / 1000000000u);
		ts.tv_nsec = (long)(ns % 1000000000u);
		pthread_mutex_lock(&l->mt_lock);
		if (!l->mt_stop)
			pthread_cond_timedwait(&l->mt_cond, &l->mt_lock, &ts);
	}
	pthread_mutex_unlock(&l->mt_lock);
	return NULL;
}

lfp_err lfp_mt_start(struct lfp_pool *p)
{
	struct lfp_life *l = &p->life;
	if (pthread_create(&l->mt, NULL, mt_main, p) != 0)
		return LFP_ENOMEM;
	l->mt_on = true;
	return LFP_OK;
}

void lfp_mt_kick(struct lfp_pool *p)
{
	struct lfp_life *l = &p->life;
	/* Signalled after the unlock: no wake-up under our lock. */
	pthread_mutex_lock(&l->mt_lock);
	bool on = l->mt_on;
	pthread_mutex_unlock(&l->mt_lock);
	if (on)
		pthread_cond_broadcast(&l->mt_cond);
}

/* Stop and join the thread (lfp_close, lfp_destroy). Called from the
 * thread itself (a callback that closes the pool), it only detaches. */
void lfp_mt_stop(struct lfp_pool *p)
{
	struct lfp_life *l = &p->life;
	pthread_mutex_lock(&l->mt_lock);
	bool on = l->mt_on;
	l->mt_on = false;
	l->mt_stop = true;
	pthread_mutex_unlock(&l->mt_lock);
	pthread_cond_broadcast(&l->mt_cond);
	if (!on)
		return;
	if (pthread_equal(pthread_self(), l->mt))
		pthread_detach(l->mt);
	else
		pthread_join(l->mt, NULL);
}

/* ------------------------------------------------------------ foreach */

lfp_err lfp_foreach(lfp_pool *p,
		    int (*fn)(void *ctx, void *obj,
			      const lfp_object_info *info),
		    void *ctx)
{
	if (!p || !fn)
		return LFP_EINVAL;
	struct lfp_life *l = &p->life;
	uint64_t used = lfp_slab_used(&p->slab);
	for (uint64_t i = 0; i < used; i++) {
		void *obj = lfp_slab_obj(&p->slab, i);
		if (atomic_load_explicit(&lfp_hdr_of(obj)->tag,
					 memory_order_relaxed) != i + 1)
			continue;
		struct lfp_meta *m = &l->meta[i];
		uint64_t now = lfp_now_ns();
		uint64_t born =
			atomic_load_explicit(&m->born_ns, memory_order_relaxed);
		uint64_t since = atomic_load_explicit(&m->since_ns,
						      memory_order_relaxed);
		lfp_object_info info = {
			.in_use = lfp_gen_is_acquired(lfp_gen_load(obj)),
			.age_ns = now > born ? now - born : 0,
			.state_ns = now > since ? now - since : 0,
		};
		if (l->track && info.in_use)
			info.acquire_site = atomic_load_explicit(
				&m->site, memory_order_relaxed);
		if (fn(ctx, obj, &info))
			break;
	}
	return LFP_OK;
}
