/*
 * stress/factory.c — the counting factory, ownership stamps and the
 * conservation checks shared by the stress programs (see common.h).
 *
 * Every object created by the factory gets a unique id; a per-id state map
 * (lazily allocated chunks of one byte per id) records live / destroyed /
 * rejected, so a second destroy, a destroy of a held object, a hand-out of
 * a destroyed or rejected object, or an object never destroyed by
 * lfp_destroy is reported with the object's id.
 */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread st_rng fault_rng;
static __thread bool fault_rng_ready;

static st_rng *frng(void)
{
	if (!fault_rng_ready) {
		st_rng_init(&fault_rng, st_thread_tag() + 0x5eed);
		fault_rng_ready = true;
	}
	return &fault_rng;
}

static _Atomic uint8_t *id_cell(st_factory *f, uint64_t id, bool make)
{
	uint64_t c = id >> ST_ID_CHUNK_BITS;
	if (c >= ST_ID_CHUNKS)
		return NULL;
	_Atomic uint8_t *chunk = atomic_load(&f->ids[c]);
	if (!chunk && make) {
		_Atomic uint8_t *fresh =
			calloc(1u << ST_ID_CHUNK_BITS, sizeof(*fresh));
		if (!fresh)
			st_die("out of memory for the id map");
		if (atomic_compare_exchange_strong(&f->ids[c], &chunk, fresh))
			chunk = fresh;
		else
			free((void *)fresh);
	}
	return chunk ? &chunk[id & ((1u << ST_ID_CHUNK_BITS) - 1)] : NULL;
}

uint8_t st_id_state(st_factory *f, uint64_t id)
{
	_Atomic uint8_t *cell = id_cell(f, id, false);
	return cell ? atomic_load(cell) : ST_ID_NONE;
}

uint64_t st_factory_live(st_factory *f)
{
	return atomic_load(&f->created) - atomic_load(&f->destroyed);
}

/* The object's header must be one of ours and live. */
static bool obj_ok(st_factory *f, const st_obj *o, const char *who)
{
	if (o->magic != ST_MAGIC_LIVE || o->factory != f) {
		st_violation("%s: object %p is not a live object of this "
			     "factory (magic %#" PRIx64 ", id %" PRIu64 ")",
			     who, (const void *)o, o->magic, o->id);
		return false;
	}
	uint8_t s = st_id_state(f, o->id);
	if ((s & ~ST_ID_REJECTED) != ST_ID_LIVE) {
		st_violation("%s: object id %" PRIu64 " at %p has state %u "
			     "(not live)",
			     who, o->id, (const void *)o, s);
		return false;
	}
	return true;
}

static int cb_create(void *ctx, void *obj)
{
	st_factory *f = ctx;
	st_obj *o = obj;
	atomic_fetch_add(&f->create_calls, 1);
	st_rng *r = frng();
	if (st_chance(r, atomic_load(&f->slow_create_pm))) {
		uint32_t us = atomic_load(&f->slow_create_max_us);
		st_sleep_ns((1 + st_below(r, us ? us : 1)) * 1000);
	}
	if (o->magic == ST_MAGIC_LIVE && o->factory == f &&
	    (st_id_state(f, o->id) & ~ST_ID_REJECTED) == ST_ID_LIVE)
		st_violation("create() over the live object id %" PRIu64
			     " at %p",
			     o->id, obj);
	if (st_chance(r, atomic_load(&f->create_fail_pm))) {
		atomic_fetch_add(&f->create_failed, 1);
		return -1;
	}
	memset(o, 0, f->object_size);
	o->id = atomic_fetch_add(&f->next_id, 1) + 1;
	o->factory = f;
	o->magic = ST_MAGIC_LIVE;
	atomic_init(&o->owner, 0);
	atomic_init(&o->rejected, 0);
	atomic_store(id_cell(f, o->id, true), ST_ID_LIVE);
	atomic_fetch_add(&f->created, 1);
	return 0;
}

static void reject(st_factory *f, st_obj *o)
{
	atomic_store(&o->rejected, 1);
	atomic_fetch_or(id_cell(f, o->id, true), ST_ID_REJECTED);
}

static int cb_validate(void *ctx, void *obj)
{
	st_factory *f = ctx;
	st_obj *o = obj;
	atomic_fetch_add(&f->validate_calls, 1);
	if (!obj_ok(f, o, "validate()"))
		return 1;
	if (atomic_load(&o->owner) != 0)
		st_violation("validate() on object id %" PRIu64
			     " still marked held by tag %" PRIu64,
			     o->id, atomic_load(&o->owner));
	if (st_chance(frng(), atomic_load(&f->validate_fail_pm))) {
		reject(f, o);
		atomic_fetch_add(&f->validate_rejects, 1);
		return 0;
	}
	return 1;
}

static int cb_reset(void *ctx, void *obj)
{
	st_factory *f = ctx;
	st_obj *o = obj;
	atomic_fetch_add(&f->reset_calls, 1);
	if (!obj_ok(f, o, "reset()"))
		return 0;
	if (st_chance(frng(), atomic_load(&f->reset_fail_pm))) {
		reject(f, o);
		atomic_fetch_add(&f->reset_rejects, 1);
		return 1;
	}
	return 0;
}

static _Atomic int final_destroy; /* lfp_destroy is running */

static void cb_destroy(void *ctx, void *obj)
{
	st_factory *f = ctx;
	st_obj *o = obj;
	if (!obj_ok(f, o, "destroy()"))
		return;
	uint64_t owner = atomic_load(&o->owner);
	if (owner && !atomic_load(&final_destroy))
		st_violation("destroy() of object id %" PRIu64
			     " while a user holds it (tag %" PRIu64 ")",
			     o->id, owner);
	_Atomic uint8_t *cell = id_cell(f, o->id, true);
	uint8_t s = atomic_load(cell);
	if ((s & ~ST_ID_REJECTED) != ST_ID_LIVE ||
	    !atomic_compare_exchange_strong(
		    cell, &s, (uint8_t)(ST_ID_DEAD | (s & ST_ID_REJECTED))))
		st_violation("object id %" PRIu64 " destroyed twice", o->id);
	o->magic = ST_MAGIC_DEAD;
	atomic_fetch_add(&f->destroyed, 1);
}

st_factory *st_factory_new(size_t object_size)
{
	st_factory *f = calloc(1, sizeof(*f));
	if (!f)
		st_die("out of memory");
	f->object_size =
		object_size < sizeof(st_obj) ? sizeof(st_obj) : object_size;
	atomic_init(&f->slow_create_max_us, 1000);
	return f;
}

void st_factory_free(st_factory *f)
{
	for (uint32_t c = 0; c < ST_ID_CHUNKS; c++)
		free((void *)atomic_load(&f->ids[c]));
	free(f);
}

lfp_factory st_factory_callbacks(st_factory *f, bool validate, bool reset)
{
	lfp_factory fa = {.create = cb_create,
			  .validate = validate ? cb_validate : NULL,
			  .reset = reset ? cb_reset : NULL,
			  .destroy = cb_destroy,
			  .ctx = f};
	return fa;
}

lfp_pool *st_pool_new(st_factory *f, uint64_t capacity, uint32_t cache_size,
		      uint32_t validate_on, uint64_t min_idle,
		      uint64_t max_idle_ns)
{
	lfp_config cfg = LFP_CONFIG_INIT;
	cfg.object_size = f->object_size;
	cfg.capacity = capacity;
	cfg.cache_size = cache_size;
	cfg.validate_on = validate_on;
	cfg.min_idle = min_idle;
	cfg.max_idle_ns = max_idle_ns;
	cfg.factory = st_factory_callbacks(f, validate_on != 0, true);
	lfp_pool *p = NULL;
	lfp_err err = lfp_create(&cfg, &p);
	if (err)
		st_die("lfp_create: %s", lfp_strerror(err));
	return p;
}

/* ------------------------------------------------------------ ownership */

bool st_claim(st_factory *f, void *obj, uint64_t me, const char *where)
{
	st_obj *o = obj;
	if (!o) {
		st_violation("%s: acquire returned LFP_OK and NULL", where);
		return false;
	}
	if (!obj_ok(f, o, where))
		return false;
	if (atomic_load(&o->rejected)) {
		st_violation("%s: object id %" PRIu64 " was rejected by "
			     "validate()/reset() and still handed out",
			     where, o->id);
		return false;
	}
	uint64_t prev = atomic_exchange(&o->owner, me);
	if (prev != 0) {
		st_violation("%s: object id %" PRIu64 " at %p handed to tag "
			     "%" PRIu64 " while tag %" PRIu64 " holds it",
			     where, o->id, obj, me, prev);
		return false;
	}
	o->payload[0] = me;
	o->payload[1]++;
	return true;
}

bool st_unclaim(st_factory *f, void *obj, uint64_t me, const char *where)
{
	st_obj *o = obj;
	(void)f;
	bool ok = true;
	if (o->payload[0] != me) {
		st_violation("%s: object id %" PRIu64 " payload overwritten "
			     "by tag %" PRIu64 " while tag %" PRIu64 " held it",
			     where, o->id, o->payload[0], me);
		ok = false;
	}
	uint64_t prev = atomic_exchange(&o->owner, 0);
	if (prev != me) {
		st_violation("%s: object id %" PRIu64 " owner stamp is %" PRIu64
			     ", expected %" PRIu64 " (two holders)",
			     where, o->id, prev, me);
		ok = false;
	}
	return ok;
}

bool st_transfer(void *obj, uint64_t from, uint64_t to, const char *where)
{
	st_obj *o = obj;
	uint64_t prev = atomic_exchange(&o->owner, to);
	o->payload[0] = to;
	if (prev != from) {
		st_violation("%s: object id %" PRIu64 " owner stamp is %" PRIu64
			     ", expected %" PRIu64,
			     where, o->id, prev, from);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ checks */

#define CHECK_EQ(label, what, got, want)                                       \
	do {                                                                   \
		uint64_t g_ = (got), w_ = (want);                              \
		if (g_ != w_)                                                  \
			st_violation("%s: %s is %" PRIu64                      \
				     ", expected %" PRIu64,                    \
				     label, what, g_, w_);                     \
	} while (0)

/* Live objects that validate()/reset() rejected must have been destroyed. */
static void check_no_live_rejected(st_factory *f, const char *label)
{
	uint64_t n = atomic_load(&f->next_id);
	for (uint64_t id = 1; id <= n; id++)
		if (st_id_state(f, id) == (ST_ID_LIVE | ST_ID_REJECTED))
			st_violation("%s: object id %" PRIu64 " was rejected "
				     "but is still live in the pool",
				     label, id);
}

void st_check_quiescent(lfp_pool *p, st_factory *f, uint64_t held,
			const st_counts *c, const char *label)
{
	lfp_stats s = LFP_STATS_INIT;
	st_tick();
	if (lfp_get_stats(p, &s) != LFP_OK) {
		st_violation("%s: lfp_get_stats failed", label);
		return;
	}
	if (s.live > s.capacity || s.peak_live > s.capacity)
		st_violation("%s: live %" PRIu64 " / peak %" PRIu64
			     " above capacity %" PRIu64,
			     label, s.live, s.peak_live, s.capacity);
	CHECK_EQ(label, "idle + in_use", s.idle + s.in_use, s.live);
	CHECK_EQ(label, "stats.in_use (objects held by users)", s.in_use, held);
	CHECK_EQ(label, "stats.live vs factory live", s.live,
		 st_factory_live(f));
	CHECK_EQ(label, "stats.creates vs factory", s.creates,
		 atomic_load(&f->created));
	CHECK_EQ(label, "stats.destroys vs factory", s.destroys,
		 atomic_load(&f->destroyed));
	CHECK_EQ(label, "stats.create_failures vs factory", s.create_failures,
		 atomic_load(&f->create_failed));
	CHECK_EQ(label, "stats.validation_failures vs factory rejections",
		 s.validation_failures,
		 atomic_load(&f->validate_rejects) +
			 atomic_load(&f->reset_rejects));
	CHECK_EQ(label, "stats.acquires - stats.releases",
		 s.acquires - s.releases, held);
	if (s.cache_hits > s.acquires)
		st_violation("%s: cache_hits %" PRIu64 " > acquires %" PRIu64,
			     label, s.cache_hits, s.acquires);
	if (c) {
		/* A failed bulk acquire gives back what it took through
		 * lfp_release: those count on both sides. */
		if (s.acquires < c->acquires || s.releases < c->releases ||
		    s.acquires - c->acquires != s.releases - c->releases)
			st_violation("%s: stats acquires/releases %" PRIu64
				     "/%" PRIu64 " vs program %" PRIu64
				     "/%" PRIu64,
				     label, s.acquires, s.releases, c->acquires,
				     c->releases);
		if (c->bulk_failures == 0)
			CHECK_EQ(label, "stats.acquires vs program", s.acquires,
				 c->acquires);
		if (c->empties != UINT64_MAX)
			CHECK_EQ(label, "stats.empties vs program LFP_EMPTY",
				 s.empties, c->empties);
		if (c->timeouts != UINT64_MAX)
			CHECK_EQ(label,
				 "stats.timeouts vs program LFP_ETIMEDOUT",
				 s.timeouts, c->timeouts);
	}
	check_no_live_rejected(f, label);
}

uint64_t st_check_all_acquirable(lfp_pool *p, st_factory *f, const char *label)
{
	lfp_stats s = LFP_STATS_INIT;
	lfp_get_stats(p, &s);
	uint64_t cap = s.capacity, got = 0, me = st_thread_tag();
	void **objs = calloc(cap, sizeof(void *));
	if (!objs)
		st_die("out of memory");
	lfp_err err = LFP_OK;
	for (; got < cap; got++) {
		err = lfp_try_acquire(p, &objs[got]);
		if (err != LFP_OK)
			break;
		st_claim(f, objs[got], me, label);
	}
	if (got < cap) {
		lfp_stats now = LFP_STATS_INIT;
		lfp_get_stats(p, &now);
		st_violation("%s: only %" PRIu64 " of %" PRIu64
			     " objects acquirable at a quiescent point (%s; "
			     "live=%" PRIu64 " idle=%" PRIu64 " in_use=%" PRIu64
			     ") - stranded objects?",
			     label, got, cap, lfp_strerror(err), now.live,
			     now.idle, now.in_use);
	}
	for (uint64_t i = 0; i < got; i++) {
		st_unclaim(f, objs[i], me, label);
		lfp_err e = lfp_release(p, objs[i]);
		if (e != LFP_OK)
			st_violation("%s: release: %s", label, lfp_strerror(e));
	}
	st_add_ops(2 * got);
	st_tick();
	free(objs);
	return got;
}

void st_finish_pool(lfp_pool *p, st_factory *f, uint64_t held,
		    const char *label)
{
	uint64_t created = atomic_load(&f->created);
	uint64_t destroyed = atomic_load(&f->destroyed);
	lfp_stats fin = LFP_STATS_INIT;
	st_unwatch_pool(p);
	atomic_store(&final_destroy, 1);
	lfp_err err = lfp_destroy(p, &fin);
	atomic_store(&final_destroy, 0);
	if (err != (held ? LFP_EBUSY : LFP_OK))
		st_violation("%s: lfp_destroy returned %s with %" PRIu64
			     " objects held",
			     label, lfp_strerror(err), held);
	CHECK_EQ(label, "final stats.destroys", fin.destroys, destroyed);
	CHECK_EQ(label, "final stats.creates", fin.creates, created);
	CHECK_EQ(label, "final stats.live", fin.live, created - destroyed);
	CHECK_EQ(label, "final stats.in_use", fin.in_use, held);
	CHECK_EQ(label, "objects created by the factory",
		 atomic_load(&f->created), created);
	CHECK_EQ(label, "objects destroyed (every created one exactly once)",
		 atomic_load(&f->destroyed), created);
	uint64_t n = atomic_load(&f->next_id);
	for (uint64_t id = 1; id <= n; id++) {
		uint8_t s = st_id_state(f, id) & ~ST_ID_REJECTED;
		if (s != ST_ID_DEAD)
			st_violation("%s: object id %" PRIu64
				     " never destroyed (state %u)",
				     label, id, s);
	}
	st_tick();
}

/* ------------------------------------------------------------ acquire */

static _Atomic uint64_t max_wait_ns[3];

uint64_t st_max_wait_ns(void)
{
	uint64_t a = atomic_load(&max_wait_ns[ST_TIMED]);
	uint64_t b = atomic_load(&max_wait_ns[ST_BLOCK]);
	return a > b ? a : b;
}

uint64_t st_max_latency_ns(int mode)
{
	return atomic_load(&max_wait_ns[mode]);
}

static void note_wait(int mode, uint64_t ns)
{
	_Atomic uint64_t *w = &max_wait_ns[mode];
	uint64_t m = atomic_load_explicit(w, memory_order_relaxed);
	while (ns > m && !atomic_compare_exchange_weak(w, &m, ns))
		;
}

static const char *const mode_names[] = {"try", "timed", "blocking"};

lfp_err st_acquire(lfp_pool *p, st_factory *f, void **obj, int mode,
		   uint64_t timeout_ns, uint64_t me, st_counts *c)
{
	uint64_t t0 = st_now_ns();
	lfp_err err;
	*obj = NULL;
	if (mode == ST_TRY)
		err = lfp_try_acquire(p, obj);
	else if (mode == ST_TIMED)
		err = lfp_acquire_timed(p, obj, timeout_ns);
	else
		err = lfp_acquire(p, obj);
	uint64_t waited = st_now_ns() - t0;
	uint64_t slack = (uint64_t)(st_o.slack * 1e9);
	bool allowed;
	switch (err) {
	case LFP_OK:
	case LFP_ECREATE:
		allowed = true;
		break;
	case LFP_EMPTY:
		allowed = mode == ST_TRY || (mode == ST_TIMED && !timeout_ns);
		break;
	case LFP_ETIMEDOUT:
		allowed = mode == ST_TIMED && timeout_ns;
		break;
	default:
		allowed = false;
	}
	if (!allowed)
		st_violation("%s acquire (timeout %" PRIu64 " ns) returned %s",
			     mode_names[mode], timeout_ns, lfp_strerror(err));
	note_wait(mode, waited);
	if (err == LFP_ETIMEDOUT && waited < timeout_ns)
		st_violation("timed acquire gave up after %" PRIu64
			     " ns, before its timeout of %" PRIu64 " ns",
			     waited, timeout_ns);
	if (mode == ST_TIMED && waited > timeout_ns + slack)
		st_violation("timed acquire (timeout %.3f ms) returned %s "
			     "after %.3f s (> timeout + %.1f s slack)",
			     (double)timeout_ns / 1e6, lfp_strerror(err),
			     (double)waited / 1e9, st_o.slack);
	if (mode == ST_BLOCK && (double)waited / 1e9 > st_o.max_wait)
		st_violation("blocking acquire waited %.3f s (bound %.1f s): "
			     "starvation",
			     (double)waited / 1e9, st_o.max_wait);
	switch (err) {
	case LFP_OK:
		c->acquires++;
		st_claim(f, *obj, me, mode_names[mode]);
		st_tick();
		break;
	case LFP_EMPTY:
		c->empties++;
		break;
	case LFP_ETIMEDOUT:
		c->timeouts++;
		break;
	case LFP_ECREATE:
		c->create_errors++;
		break;
	default:
		break;
	}
	if (err != LFP_OK && *obj != NULL)
		st_violation("failed acquire (%s) wrote an object pointer",
			     lfp_strerror(err));
	return err;
}

void st_release(lfp_pool *p, st_factory *f, void *obj, uint64_t me,
		st_counts *c)
{
	st_unclaim(f, obj, me, "release");
	lfp_err err = lfp_release(p, obj);
	if (err != LFP_OK)
		st_violation("release of a held object returned %s",
			     lfp_strerror(err));
	else
		c->releases++;
}

void st_counts_add(st_counts *sum, const st_counts *c)
{
	sum->acquires += c->acquires;
	sum->releases += c->releases;
	sum->empties += c->empties;
	sum->timeouts += c->timeouts;
	sum->bulk_failures += c->bulk_failures;
	sum->create_errors += c->create_errors;
}
