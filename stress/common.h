/*
 * stress/common.h — shared helpers for the lfpool stress programs.
 *
 *   - options: --seconds N --threads N --seed N --objects N --stall S
 *     --max-wait S --quiet (st_begin parses them; a scenario passes its
 *     defaults in);
 *   - a counting factory: every object carries a header (magic, a unique
 *     id, an owner stamp); create/destroy are tracked per id in a lazily
 *     grown state map, so "destroyed exactly once" and "never handed out
 *     after destroy/rejection" are checked; faults (failing create, failing
 *     validate/reset, slow create) can be switched on at run time;
 *   - ownership stamps: st_claim/st_unclaim set and clear the owner with an
 *     atomic exchange; an owner found already set means the pool handed one
 *     object to two threads;
 *   - conservation checks against lfp_get_stats at quiescent points;
 *   - violations (counted, the first few printed), the one-line verdict, and
 *     a watchdog thread that fails the run when progress stops.
 */
#ifndef LFPOOL_STRESS_COMMON_H
#define LFPOOL_STRESS_COMMON_H

#include "lfpool.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ST_SANITIZED 1
#endif
#endif
#ifndef ST_SANITIZED
#define ST_SANITIZED 0
#endif
#if defined(__SANITIZE_THREAD__)
#define ST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ST_TSAN 1
#endif
#endif
#ifndef ST_TSAN
#define ST_TSAN 0
#endif
/*
 * Time bounds (--slack, --max-wait) are wall-clock; sanitizers slow every
 * lock hold and syscall down, so their default bounds are scaled by this
 * factor (an explicit --slack/--max-wait is taken as is).
 */
#define ST_TIME_SCALE (ST_TSAN ? 5 : ST_SANITIZED ? 2 : 1)

/* ------------------------------------------------------------ options */

typedef struct st_opts {
	double seconds;	  /* run time (each scenario stops on time) */
	int threads;	  /* worker threads (meaning per scenario) */
	uint64_t seed;	  /* 0 on input: pick one from the clock */
	uint64_t objects; /* pool capacity */
	double stall;	  /* watchdog: fail after this long without progress */
	double max_wait;  /* starvation bound for one blocking acquire */
	double slack;	  /* how late a timed acquire may return (s) */
	int quiet;	  /* only the verdict line */
} st_opts;

/* Parse argv over the scenario's defaults, start the watchdog. */
void st_begin(const char *name, int argc, char **argv, st_opts *o);
/* Print the verdict line (extra: "key=value ..." or NULL); exit status. */
int st_end(const char *extra_fmt, ...) __attribute__((format(printf, 1, 2)));

extern st_opts st_o;
extern const char *st_name;

/* ------------------------------------------------------------ violations */

/* Count a violation; the first ST_MAX_REPORTS are printed with details. */
void st_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t st_violations(void);
/* Informational line on stderr (suppressed by --quiet). */
void st_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An environment failure (not a pool bug): print and exit 2. */
void st_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#define ST_MAX_REPORTS 20

/* ------------------------------------------------------------ time, rng */

uint64_t st_now_ns(void);
double st_elapsed(void); /* seconds since st_begin */
void st_sleep_ns(uint64_t ns);
void st_spin(uint32_t iters); /* a short busy wait */

typedef struct st_rng {
	uint64_t s;
} st_rng;

void st_rng_init(st_rng *r, uint64_t stream); /* from the run's seed */
uint64_t st_rand(st_rng *r);
uint64_t st_below(st_rng *r, uint64_t n); /* [0, n), n > 0 */
bool st_chance(st_rng *r, uint32_t per_mille);

/* ------------------------------------------------------------ progress */

/* Bumped by workers; the watchdog fails the run when it stops moving. */
extern _Atomic uint64_t st_progress;
static inline void st_tick(void)
{
	atomic_fetch_add_explicit(&st_progress, 1, memory_order_relaxed);
}
/* Total successful operations, for the verdict. */
extern _Atomic uint64_t st_ops;
static inline void st_add_ops(uint64_t n)
{
	atomic_fetch_add_explicit(&st_ops, n, memory_order_relaxed);
}
/* Pools the watchdog dumps statistics of when it fires (up to 8). */
void st_watch_pool(lfp_pool *p, const char *label);
void st_unwatch_pool(lfp_pool *p);

/* ------------------------------------------------------------ factory */

#define ST_MAGIC_LIVE UINT64_C(0x5354524553534f4b) /* "STRESSOK" */
#define ST_MAGIC_DEAD UINT64_C(0xdeadbeefdeadbeef)

/* Per-id states in the factory's map. */
enum {
	ST_ID_NONE = 0,
	ST_ID_LIVE = 1,
	ST_ID_DEAD = 2,
	ST_ID_REJECTED = 4, /* flag: validate()/reset() rejected it */
};

typedef struct st_obj {
	uint64_t magic;
	uint64_t id;
	const struct st_factory *factory;
	_Atomic uint64_t owner;	   /* 0: in the pool; else the holder's tag */
	_Atomic uint32_t rejected; /* set by validate()/reset() on rejection */
	uint32_t pad_;
	uint64_t payload[3]; /* plain writes by the holder (TSan sees them) */
} st_obj;

#define ST_ID_CHUNK_BITS 16
#define ST_ID_CHUNKS	 (1u << 16)

typedef struct st_factory {
	_Atomic uint64_t next_id;
	_Atomic uint64_t create_calls, created, create_failed;
	_Atomic uint64_t validate_calls, validate_rejects;
	_Atomic uint64_t reset_calls, reset_rejects;
	_Atomic uint64_t destroyed;
	/* Faults, per mille; may change while the pool runs. */
	_Atomic uint32_t create_fail_pm, validate_fail_pm, reset_fail_pm;
	_Atomic uint32_t slow_create_pm, slow_create_max_us;
	size_t object_size;
	_Atomic(_Atomic uint8_t *) ids[ST_ID_CHUNKS];
} st_factory;

st_factory *st_factory_new(size_t object_size);
void st_factory_free(st_factory *f);
/* An lfp_factory whose callbacks feed f (validate/reset only if asked). */
lfp_factory st_factory_callbacks(st_factory *f, bool validate, bool reset);
/* The id's state (ST_ID_*), 0 for ids never seen. */
uint8_t st_id_state(st_factory *f, uint64_t id);
/* Objects created and not yet destroyed, by the factory's counts. */
uint64_t st_factory_live(st_factory *f);

/* A pool with the counting factory; cache_size LFP_CACHE_DEFAULT allowed. */
lfp_pool *st_pool_new(st_factory *f, uint64_t capacity, uint32_t cache_size,
		      uint32_t validate_on, uint64_t min_idle,
		      uint64_t max_idle_ns);

/* ------------------------------------------------------------ ownership */

/* A thread's tag: non-zero, unique in the run. */
uint64_t st_thread_tag(void);
/* Mark obj as held by `me`; false (violation reported) if it is not a live,
 * unrejected object of f, or somebody else holds it. */
bool st_claim(st_factory *f, void *obj, uint64_t me, const char *where);
/* Clear the mark before a release; false on a violation. */
bool st_unclaim(st_factory *f, void *obj, uint64_t me, const char *where);
/* Hand the mark from one tag to another (cross-thread release). */
bool st_transfer(void *obj, uint64_t from, uint64_t to, const char *where);

/* ------------------------------------------------------------ checks */

/*
 * At a quiescent point (no other thread inside the pool): stats against
 * the factory and the caller's count of objects held by users.
 * acq/rel/empty/timeout: the program's counts of successful acquires and
 * releases and of LFP_EMPTY/LFP_ETIMEDOUT results (UINT64_MAX: unknown).
 */
typedef struct st_counts {
	uint64_t acquires, releases, empties, timeouts, bulk_failures;
	uint64_t create_errors; /* LFP_ECREATE results */
} st_counts;
void st_check_quiescent(lfp_pool *p, st_factory *f, uint64_t held,
			const st_counts *c, const char *label);
/* Every capacity object must be acquirable right now by this thread
 * (nothing stranded): try_acquire them all, claim, release. Returns how
 * many were acquired (and released): the caller's acquire/release count. */
uint64_t st_check_all_acquirable(lfp_pool *p, st_factory *f, const char *label);
/* Destroy the pool; check that every object was destroyed exactly once and
 * the final stats match the factory. held: objects users still hold. */
void st_finish_pool(lfp_pool *p, st_factory *f, uint64_t held,
		    const char *label);

/* ------------------------------------------------------------ acquire */

/* How to acquire: lfp_try_acquire, lfp_acquire_timed, lfp_acquire. */
enum { ST_TRY, ST_TIMED, ST_BLOCK };

/*
 * Acquire with checks: the result must be one the mode allows (try: OK,
 * EMPTY, ECREATE; timed: OK, ETIMEDOUT, ECREATE, and EMPTY only for a zero
 * timeout; blocking: OK, ECREATE); ETIMEDOUT no earlier than the timeout and
 * no later than timeout + --slack; a blocking acquire waits at most
 * --max-wait. Counts the result in c. On LFP_OK the object is claimed for
 * `me` (ownership stamp).
 */
lfp_err st_acquire(lfp_pool *p, st_factory *f, void **obj, int mode,
		   uint64_t timeout_ns, uint64_t me, st_counts *c);
/* Unclaim and release (must succeed); counts it. */
void st_release(lfp_pool *p, st_factory *f, void *obj, uint64_t me,
		st_counts *c);
/* Longest blocking/timed acquire seen so far (ns). */
uint64_t st_max_wait_ns(void);
/* Longest call of one mode (ST_TRY: how long "no waiting" took). */
uint64_t st_max_latency_ns(int mode);
void st_counts_add(st_counts *sum, const st_counts *c);

/* Quiescent checks of a program's pool number k: its stats against `sum`
 * (with `held` objects still out), then, if none is held, that every object
 * is acquirable; the checker's own acquires and releases are credited to
 * *credit. */
void st_check_pool(lfp_pool *p, st_factory *f, int k, uint64_t held,
		   const st_counts *sum, st_counts *credit, const char *label);

/* st_check_pool for pools[0..npools) with nothing held, summing nworkers'
 * counters: worker i's counters for pool k are
 * ((st_counts *)((char *)first + i * stride))[k]; credits go to worker 0. */
void st_check_pools(lfp_pool *const *pools, st_factory *const *facs, int npools,
		    st_counts *first, size_t stride, int nworkers,
		    const char *label);

/* ------------------------------------------------------------ threads */

/* Start a thread with the given stack size (0: default); dies on failure. */
void st_spawn(pthread_t *t, size_t stack, void *(*fn)(void *), void *arg);
void st_join(pthread_t t);

/* Quiescent-point protocol: workers call st_pause_point() between
 * operations while holding nothing; the controller pauses them all, checks,
 * and resumes them. */
typedef struct st_pauser {
	_Atomic int pause;
	_Atomic int stop;
	pthread_barrier_t paused, resumed;
} st_pauser;

void st_pauser_init(st_pauser *ps, unsigned workers);
void st_pauser_destroy(st_pauser *ps);
/* Worker: returns false when it should stop. */
bool st_pause_point(st_pauser *ps);
/* Controller: everyone is parked when this returns. */
void st_pause_all(st_pauser *ps);
void st_resume_all(st_pauser *ps);
/* Controller: ask workers to stop at their next pause point. */
void st_stop_all(st_pauser *ps);
static inline bool st_pause_requested(st_pauser *ps)
{
	return atomic_load_explicit(&ps->pause, memory_order_acquire) != 0 ||
	       atomic_load_explicit(&ps->stop, memory_order_acquire) != 0;
}

/* Sleep in slices until the run's time is up or `until` seconds passed. */
void st_sleep_until(double until);

#endif /* LFPOOL_STRESS_COMMON_H */
