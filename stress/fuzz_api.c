/*
 * fuzz_api — libFuzzer harness for the lfpool API (single-threaded).
 *
 * The input is a program: a header creates 1-3 pools (capacity 1-16, cache,
 * object size/alignment, validate flags, min_idle, max_idle_ns from the
 * bytes), then each byte picks an operation, its arguments following:
 * try / timed (0-1000 ns) / blocking acquire, release, double release,
 * release of foreign, interior, stack, heap, NULL and other-pool pointers,
 * bulk acquire/release (bad entries mixed in), handles (live, stale,
 * forged), trim, flush, fault switches (create fails, validate/reset
 * reject), stats, destroy + re-create with a fuzzed (maybe invalid) config.
 * A model of the held objects and (through the factory callbacks) of the
 * live objects predicts every result (LFP_EMPTY exactly when all capacity
 * objects are held, LFP_EDOUBLE for a second release of a live object,
 * LFP_EFOREIGN otherwise, lfp_release_bulk's first error, ...); after every
 * operation the stats must match the model and handles of held objects must
 * resolve, stale ones not. Any mismatch aborts (libFuzzer saves the input).
 * Run: fuzz_api -runs=100000 WORKDIR stress/corpus   (see stress/README.md)
 */
#include "lfpool.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXP   3
#define MAXCAP 16
#define NOLD   32 /* released pointers and stale handles kept */
#define MAGIC  UINT64_C(0x46555a5a4f424a31)

typedef struct fobj {
	uint64_t magic;
	uint64_t id;
} fobj;

typedef struct fpool {
	lfp_pool *p;
	uint64_t cap, min_idle, max_idle_ns;
	size_t osize, nheld, nalive, nrel, nstale;
	uint32_t validate_on;
	void *held[MAXCAP], *alive[MAXCAP], *released[NOLD];
	lfp_handle hh[MAXCAP], stale[NOLD];
	uint64_t last_gen[MAXCAP + 1];
	uint64_t created, destroyed, create_failed, rejects, next_id;
	uint64_t trim_evicted;
	void *const *releasing;
	size_t nreleasing; /* in a release call */
	int fail_create, fail_validate, fail_reset, final;
} fpool;

static fpool pools[MAXP];
/* LFPOOL_FUZZ_SKIP_KNOWN=1: steer around two library bugs found earlier
 * (stress/README.md): misaligned interior pointers, lfp_trim(UINT64_MAX). */
static int skip_known = -1, npools;
static const uint8_t *in; /* the input not yet consumed */
static size_t in_left;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"fuzz_api: check failed: %s (%s:%d): ", #cond, \
				__FILE__, __LINE__);                           \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

static uint8_t next(void)
{
	return in_left ? (in_left--, *in++) : 0;
}

static uint64_t next64(void)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | next();
	return v;
}

/* ------------------------------------------------------------ factory */

static int find(void *const *set, size_t n, const void *p)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == p)
			return (int)i;
	return -1;
}

static void drop(void **set, size_t *n, int i)
{
	set[i] = set[--*n];
}

static int f_create(void *ctx, void *obj)
{
	fpool *m = ctx;
	if (m->fail_create) {
		m->create_failed++;
		return 1;
	}
	CHECK(find(m->alive, m->nalive, obj) < 0, "create over a live object");
	CHECK(m->nalive < m->cap, "more live objects than capacity");
	m->alive[m->nalive++] = obj;
	fobj *o = obj;
	o->magic = MAGIC;
	o->id = ++m->next_id;
	m->created++;
	return 0;
}

static int f_validate(void *ctx, void *obj)
{
	fpool *m = ctx;
	CHECK(find(m->alive, m->nalive, obj) >= 0, "validate of a dead object");
	if (m->fail_validate) {
		m->rejects++;
		return 0;
	}
	return 1;
}

static int f_reset(void *ctx, void *obj)
{
	fpool *m = ctx;
	CHECK(find(m->alive, m->nalive, obj) >= 0, "reset of a dead object");
	if (m->fail_reset) {
		m->rejects++;
		return 1;
	}
	return 0;
}

static void f_destroy(void *ctx, void *obj)
{
	fpool *m = ctx;
	int i = find(m->alive, m->nalive, obj);
	CHECK(i >= 0, "destroy of an object that is not live (twice?)");
	/* Released objects may be destroyed on the way (reset/validate). */
	CHECK(m->final || find(m->held, m->nheld, obj) < 0 ||
		      find((void **)(uintptr_t)m->releasing, m->nreleasing,
			   obj) >= 0,
	      "destroy of an object the program holds");
	fobj *o = obj;
	CHECK(o->magic == MAGIC, "destroy of a corrupted object");
	o->magic = ~MAGIC;
	drop(m->alive, &m->nalive, i);
	m->destroyed++;
}

/* ------------------------------------------------------------ model */

static void check_model(fpool *m)
{
	lfp_stats s = LFP_STATS_INIT;
	CHECK(lfp_get_stats(m->p, &s) == LFP_OK, "stats");
	CHECK(s.in_use == m->nheld, "in_use vs held %zu", m->nheld);
	CHECK(s.live == m->nalive, "live vs model %zu", m->nalive);
	CHECK(s.live <= s.capacity && s.peak_live <= s.capacity, "capacity");
	CHECK(s.idle + s.in_use == s.live, "idle + in_use");
	CHECK(s.creates == m->created && s.destroys == m->destroyed &&
		      s.create_failures == m->create_failed &&
		      s.validation_failures == m->rejects,
	      "creates/destroys/failures/rejections vs factory");
	CHECK(s.acquires - s.releases == m->nheld, "acquires - releases");
	/* Only explicit lfp_trim calls evict when max_idle_ns is huge. */
	CHECK(s.evictions >= m->trim_evicted, "evictions below lfp_trim's");
	CHECK(m->max_idle_ns < UINT64_C(1) << 62 ||
		      s.evictions == m->trim_evicted,
	      "automatic evictions");
	for (size_t i = 0; i < m->nheld; i++)
		CHECK(((fobj *)m->held[i])->magic == MAGIC &&
			      lfp_handle_get(m->p, m->hh[i]) == m->held[i],
		      "held object corrupted or its handle does not resolve");
	for (size_t i = 0; i < m->nstale && i < NOLD; i++)
		CHECK(lfp_handle_get(m->p, m->stale[i]) == NULL,
		      "stale handle resolved");
}

static void took(fpool *m, void *obj)
{
	CHECK(obj != NULL, "LFP_OK with NULL");
	CHECK(find(m->alive, m->nalive, obj) >= 0, "handed out a dead object");
	CHECK(find(m->held, m->nheld, obj) < 0, "handed out a held object");
	CHECK(m->nheld < m->cap, "more held than capacity");
	lfp_handle h = lfp_handle_of(m->p, obj);
	CHECK(h.slot >= 1 && h.slot <= m->cap && (h.gen & 1), "handle_of");
	CHECK(h.gen > m->last_gen[h.slot], "generation did not grow");
	m->last_gen[h.slot] = h.gen;
	m->hh[m->nheld] = h;
	m->held[m->nheld++] = obj;
}

/* The held object i was released (successfully). */
static void gave(fpool *m, int i)
{
	m->released[m->nrel++ % NOLD] = m->held[i];
	m->stale[m->nstale++ % NOLD] = m->hh[i];
	m->hh[i] = m->hh[m->nheld - 1];
	drop(m->held, &m->nheld, i);
}

/* What an acquire that may not wait should return now. */
static lfp_err expect_acquire(fpool *m, lfp_err when_full)
{
	if (m->nheld == m->cap)
		return when_full;
	if (!m->fail_create)
		return LFP_OK;
	size_t idle = m->nalive - m->nheld;
	bool rejects =
		m->fail_validate && (m->validate_on & LFP_VALIDATE_ON_ACQUIRE);
	return idle && !rejects ? LFP_OK : LFP_ECREATE;
}

static uint64_t evictions_of(fpool *m)
{
	lfp_stats s = LFP_STATS_INIT;
	lfp_get_stats(m->p, &s);
	return s.evictions;
}

static void op_acquire(fpool *m, int kind)
{
	void *obj = NULL;
	lfp_err want, got;
	uint64_t evictions_before = evictions_of(m);
	if (kind == 0) {
		want = expect_acquire(m, LFP_EMPTY);
		got = lfp_try_acquire(m->p, &obj);
	} else if (kind == 1) {
		uint64_t t = next() * 4;
		want = expect_acquire(m, t ? LFP_ETIMEDOUT : LFP_EMPTY);
		got = lfp_acquire_timed(m->p, &obj, t);
	} else {
		want = expect_acquire(m, LFP_EMPTY);
		if (want == LFP_EMPTY)
			return; /* would block forever */
		got = lfp_acquire(m->p, &obj);
	}
	lfp_stats s = LFP_STATS_INIT;
	lfp_get_stats(m->p, &s);
	/* A slow path may run an eviction pass first (max_idle_ns): then
	 * the idle objects counted on are gone and a failing create() is
	 * what is left. */
	if (got == LFP_ECREATE && want == LFP_OK && m->fail_create &&
	    s.evictions > evictions_before)
		want = LFP_ECREATE;
	CHECK(got == want, "acquire kind %d: got %s, expected %s", kind,
	      lfp_strerror(got), lfp_strerror(want));
	if (got == LFP_OK)
		took(m, obj);
}

/* Expected error for releasing a pointer the program does not hold. */
static lfp_err expect_bad(fpool *m, void *p)
{
	if (!p)
		return LFP_EINVAL;
	return find(m->alive, m->nalive, p) >= 0 ? LFP_EDOUBLE : LFP_EFOREIGN;
}

static void *bad_pointer(fpool *m, uint8_t how, void *stack)
{
	fpool *o = &pools[(m - pools + 1) % npools];
	size_t off;
	/* clang-format off */
	switch (how % 8) {
	case 0: return NULL;
	case 1: /* a released pointer that is not held again */
		for (size_t i = 0; i < m->nrel && i < NOLD; i++)
			if (find(m->held, m->nheld, m->released[i]) < 0)
				return m->released[i];
		return stack;
	case 2: /* interior pointer of a held object */
		if (!m->nheld)
			return stack;
		off = 1 + next() % (m->osize > 1 ? m->osize - 1 : 1);
		if (skip_known)
			off = (off + 15) & ~(size_t)15;
		return (char *)m->held[next() % m->nheld] + off;
	case 3: return stack;
	case 4: /* another pool's held object */
		return o != m && o->nheld ? o->held[0] : (char *)stack + 8;
	case 5: /* just before a held object (its header) */
		return m->nheld ? (char *)m->held[0] - 16 : stack;
	case 6: return (void *)(uintptr_t)next64();
	default: return (void *)(uintptr_t)(0x1000 * (1 + next()));
	}
}
/* clang-format on */

static void op_release(fpool *m)
{
	if (!m->nheld)
		return;
	int i = (int)(next() % m->nheld);
	m->releasing = &m->held[i];
	m->nreleasing = 1;
	lfp_err got = lfp_release(m->p, m->held[i]);
	m->nreleasing = 0;
	CHECK(got == LFP_OK, "release of a held object: %s", lfp_strerror(got));
	gave(m, i);
}

static void op_bad_release(fpool *m)
{
	uint64_t stack_obj[4] = {MAGIC, 0, 0, 0};
	void *p = bad_pointer(m, next(), stack_obj);
	if (find(m->held, m->nheld, p) >= 0)
		return;
	void *heap = NULL;
	if (next() % 4 == 0)
		p = heap = malloc(m->osize);
	lfp_err want = expect_bad(m, p);
	CHECK(lfp_release(m->p, p) == want, "bad release: expected %s",
	      lfp_strerror(want));
	lfp_handle h = lfp_handle_of(m->p, p);
	CHECK(h.slot == 0 && h.gen == 0, "handle of a pointer not held");
	free(heap);
	CHECK(lfp_release(NULL, p) == LFP_EINVAL, "release on a NULL pool");
}

static void op_bulk_acquire(fpool *m)
{
	size_t n = next() % (m->cap + 3);
	void *objs[MAXCAP + 3];
	lfp_err got = lfp_acquire_bulk(m->p, objs, n);
	if (n == 0) {
		CHECK(got == LFP_OK, "bulk of 0");
		return;
	}
	if (n > m->cap - m->nheld)
		/* All or nothing; a failing create() may stop it first. */
		CHECK(got == LFP_EMPTY ||
			      (m->fail_create && got == LFP_ECREATE),
		      "bulk %zu with %zu free: %s", n,
		      (size_t)(m->cap - m->nheld), lfp_strerror(got));
	else if (!m->fail_create)
		CHECK(got == LFP_OK, "bulk %zu: %s", n, lfp_strerror(got));
	else
		CHECK(got == LFP_OK || got == LFP_ECREATE, "bulk: %s",
		      lfp_strerror(got));
	if (got == LFP_OK)
		for (size_t i = 0; i < n; i++)
			took(m, objs[i]);
	CHECK(lfp_acquire_bulk(m->p, NULL, 0) == LFP_OK, "bulk NULL, 0");
	CHECK(lfp_acquire_bulk(m->p, NULL, 1) == LFP_EINVAL, "bulk NULL, 1");
}

static void op_bulk_release(fpool *m)
{
	void *objs[2 * MAXCAP + 4];
	uint64_t stack_obj[4] = {0};
	size_t n = 0, k = m->nheld ? next() % (m->nheld + 1) : 0;
	int bad_at = next() % 4 == 0 ? (int)(next() % (k + 1)) : -1;
	void *bad = NULL;
	for (size_t i = 0; i < k; i++) {
		if ((int)i == bad_at) {
			bad = bad_pointer(m, next(), stack_obj);
			if (find(m->held, m->nheld, bad) >= 0)
				bad = NULL;
			objs[n++] = bad;
		}
		objs[n++] = m->held[i];
	}
	bool dup = k && next() % 4 == 0;
	if (dup)
		objs[n++] = m->held[0]; /* released twice in one call */
	lfp_err want =
		bad_at >= 0 && bad_at < (int)k ? expect_bad(m, bad) : LFP_OK;
	void *rel[MAXCAP];
	memcpy(rel, m->held, k * sizeof(void *));
	uint64_t ev = evictions_of(m);
	m->releasing = objs;
	m->nreleasing = n;
	lfp_err got = lfp_release_bulk(m->p, objs, n);
	m->nreleasing = 0;
	if (want == LFP_OK && dup)
		want = expect_bad(m, rel[0]); /* after its first release */
	/* An eviction pass run by one of the releases (max_idle_ns) may
	 * destroy an idle object before or after its entry is reached. */
	if (evictions_of(m) != ev &&
	    ((got == LFP_EDOUBLE && want == LFP_EFOREIGN) ||
	     (got == LFP_EFOREIGN && want == LFP_EDOUBLE)))
		want = got;
	CHECK(got == want, "release_bulk: got %s, expected %s",
	      lfp_strerror(got), lfp_strerror(want));
	for (size_t i = 0; i < k; i++)
		gave(m, find(m->held, m->nheld, rel[i]));
}

static void op_handles(fpool *m)
{
	lfp_handle h = {next() % (m->cap + 3), next64() | (next() & 1)};
	void *p = lfp_handle_get(m->p, h);
	if (p) {
		int i = find(m->held, m->nheld, p);
		CHECK(i >= 0 && m->hh[i].slot == h.slot &&
			      m->hh[i].gen == h.gen,
		      "forged handle resolved to an object not held with it");
	}
	CHECK(lfp_handle_get(m->p, (lfp_handle){0, 0}) == NULL, "null handle");
	CHECK(lfp_handle_get(NULL, h) == NULL, "NULL pool");
	if (m->nheld) {
		/* A live handle with its generation bumped must not resolve. */
		lfp_handle g = m->hh[0];
		g.gen += 2;
		CHECK(lfp_handle_get(m->p, g) == NULL, "future generation");
	}
}

static void op_trim(fpool *m)
{
	static const uint64_t ages[] = {0, 1, 1000000, UINT64_C(1) << 62,
					UINT64_MAX};
	uint64_t age = ages[next() % (skip_known ? 4 : 5)], ev = 12345;
	size_t idle = m->nalive - m->nheld, live = m->nalive;
	CHECK(lfp_trim(m->p, age, &ev) == LFP_OK, "trim");
	CHECK(ev <= idle, "evicted more than the %zu idle", idle);
	CHECK(m->nalive == live - ev, "evicted count vs destroyed");
	m->trim_evicted += ev;
	if (age >= UINT64_C(1) << 62)
		CHECK(ev == 0, "lfp_trim(max_ns=%llu) evicted %llu objects",
		      (unsigned long long)age, (unsigned long long)ev);
	if (live >= m->min_idle)
		CHECK(m->nalive >= m->min_idle, "trim went below min_idle");
	CHECK(lfp_trim(NULL, 0, NULL) == LFP_EINVAL, "trim NULL");
}

/* ------------------------------------------------------------ pools */

static const size_t sizes[] = {sizeof(fobj), 24, 100, 3 * 4096 + 200};
static const size_t aligns[] = {0, 16, 64, 4096};
static const uint64_t idles[] = {0, 0, 1000, 5000000, UINT64_MAX};
static const uint32_t caches[] = {0, LFP_CACHE_DEFAULT, 1, 2, 5, 8};

/* lfp_create's documented validity rules. */
static bool config_valid(const lfp_config *c)
{
	size_t a = c->object_align;
	/* 0.1's smaller config is still accepted (the newer fields default). */
	size_t size_0_1 = offsetof(lfp_config, factory) + sizeof(lfp_factory);
	return c->struct_size >= size_0_1 && c->object_size &&
	       c->object_size <= LFP_OBJECT_SIZE_MAX && (a & (a - 1)) == 0 &&
	       a <= 4096 && c->capacity && c->capacity <= LFP_CAPACITY_MAX &&
	       c->min_idle <= c->capacity &&
	       (c->cache_size == LFP_CACHE_DEFAULT ||
		c->cache_size <= LFP_CACHE_MAX) &&
	       c->validate_on <= 3;
}

static void pool_open(fpool *m)
{
	memset(m, 0, sizeof(*m));
	lfp_config c = LFP_CONFIG_INIT;
	c.capacity = 1 + next() % MAXCAP;
	c.cache_size = caches[next() % 6];
	c.object_size = sizes[next() % 4];
	c.object_align = aligns[next() % 4];
	c.validate_on = next() % 4;
	uint8_t mi = next();
	c.min_idle = mi & 0x80 ? mi % (c.capacity + 1) : 0;
	c.max_idle_ns = idles[next() % 5];
	uint8_t breakit = next();
	if (breakit % 16 == 1) /* an invalid field now and then */
		/* clang-format off */
		switch ((breakit >> 4) % 8) {
		case 0: c.capacity = 0; break;
		case 1: c.object_size = 0; break;
		case 2: c.object_align = 24; break;
		case 3: c.min_idle = c.capacity + 1; break;
		case 4: c.cache_size = LFP_CACHE_MAX + 1; break;
		case 5: c.validate_on = 4; break;
		case 6: c.struct_size = sizeof(lfp_config) - 8; break;
		default: c.capacity = LFP_CAPACITY_MAX + 1; break;
		}
	/* clang-format on */
	m->fail_create = next() % 8 == 0;
	c.factory = (lfp_factory){f_create, f_validate, f_reset, f_destroy, m};
	if (next() % 4 == 0)
		c.factory.reset = NULL;
	m->cap = c.capacity, m->min_idle = c.min_idle;
	m->max_idle_ns = c.max_idle_ns, m->osize = c.object_size;
	m->validate_on = c.validate_on;
	lfp_pool *p = (lfp_pool *)(uintptr_t)1;
	lfp_err err = lfp_create(&c, &p);
	if (!config_valid(&c)) {
		CHECK(err == LFP_EINVAL && p == NULL, "invalid config: %s",
		      lfp_strerror(err));
		m->p = NULL;
		return;
	}
	if (m->fail_create && c.min_idle) {
		CHECK(err == LFP_ECREATE && p == NULL, "failing min_idle: %s",
		      lfp_strerror(err));
		CHECK(m->nalive == 0, "objects leaked by a failed lfp_create");
		m->p = NULL;
		return;
	}
	CHECK(err == LFP_OK && p, "lfp_create: %s", lfp_strerror(err));
	CHECK(m->nalive == c.min_idle, "min_idle objects");
	CHECK(lfp_object_size(p) == c.object_size, "object size");
	m->p = p;
	check_model(m);
}

static void pool_close(fpool *m)
{
	lfp_stats fin = LFP_STATS_INIT;
	if (!m->p)
		return;
	m->final = 1;
	lfp_err err = lfp_destroy(m->p, &fin);
	CHECK(err == (m->nheld ? LFP_EBUSY : LFP_OK), "destroy: %s",
	      lfp_strerror(err));
	CHECK(fin.in_use == m->nheld, "final in_use");
	CHECK(m->nalive == 0, "lfp_destroy left %zu objects undestroyed",
	      m->nalive);
	CHECK(m->created == m->destroyed, "created != destroyed");
	m->p = NULL;
}

static void op_misc(fpool *m, uint8_t what)
{
	lfp_stats s = LFP_STATS_INIT;
	void *obj;
	/* clang-format off */
	switch (what % 8) {
	case 0: m->fail_create = !m->fail_create; break;
	case 1: m->fail_validate = !m->fail_validate; break;
	case 2: m->fail_reset = !m->fail_reset; break;
	case 3:
		CHECK(lfp_thread_flush(m->p) == LFP_OK, "flush");
		CHECK(lfp_thread_flush(NULL) == LFP_EINVAL, "flush NULL");
		break;
	case 4:
		CHECK(lfp_get_stats(NULL, &s) == LFP_EINVAL, "stats NULL");
		CHECK(lfp_get_stats(m->p, NULL) == LFP_EINVAL, "stats NULL");
		CHECK(lfp_object_size(NULL) == 0, "size NULL");
		CHECK(lfp_strerror((lfp_err)next()) != NULL, "strerror");
		break;
	case 5:
		CHECK(lfp_acquire(NULL, &obj) == LFP_EINVAL, "acquire NULL");
		CHECK(lfp_try_acquire(m->p, NULL) == LFP_EINVAL, "try NULL");
		CHECK(lfp_acquire_timed(NULL, &obj, 1) == LFP_EINVAL, "timed");
		break;
	case 6: /* destroy and re-create from the next bytes */
		pool_close(m);
		pool_open(m);
		break;
	default: op_handles(m); break;
	}
	/* clang-format on */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (skip_known < 0)
		skip_known = getenv("LFPOOL_FUZZ_SKIP_KNOWN") != NULL;
	in = data;
	in_left = size;
	npools = 1 + next() % MAXP;
	for (int i = 0; i < npools; i++)
		pool_open(&pools[i]);
	while (in_left) {
		uint8_t op = next();
		fpool *m = &pools[(op >> 5) % npools];
		if (!m->p) {
			pool_open(m);
			if (!m->p)
				continue;
		}
		/* clang-format off */
		switch (op % 12) {
		case 0: case 1: op_acquire(m, 0); break;
		case 2: op_acquire(m, 1); break;
		case 3: op_acquire(m, 2); break;
		case 4: case 5: op_release(m); break;
		case 6: op_bad_release(m); break;
		case 7: op_bulk_acquire(m); break;
		case 8: op_bulk_release(m); break;
		case 9: op_trim(m); break;
		default: op_misc(m, next()); break;
		}
		/* clang-format on */
		for (int i = 0; i < npools; i++)
			if (pools[i].p)
				check_model(&pools[i]);
	}
	for (int i = 0; i < npools; i++)
		pool_close(&pools[i]);
	return 0;
}
