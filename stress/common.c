/*
 * stress/common.c — options, verdicts, the watchdog and the conservation
 * checks shared by the stress programs (see common.h; the counting factory
 * is in factory.c).
 */
#include "common.h"

#include <limits.h>

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

st_opts st_o;
const char *st_name = "stress";
_Atomic uint64_t st_progress;
_Atomic uint64_t st_ops;

static _Atomic uint64_t n_violations;
static uint64_t t_start;
static _Atomic int finished;
static _Atomic uint64_t next_tag;
static __thread uint64_t my_tag;

/* ------------------------------------------------------------ messages */

static void vreport(const char *kind, const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "[%s] %s%s\n", st_name, kind, buf);
	fflush(stderr);
}

void st_violation(const char *fmt, ...)
{
	uint64_t n = atomic_fetch_add(&n_violations, 1) + 1;
	if (n > ST_MAX_REPORTS)
		return;
	char kind[64];
	snprintf(kind, sizeof(kind), "VIOLATION #%" PRIu64 " (t=%.3f s): ", n,
		 st_elapsed());
	va_list ap;
	va_start(ap, fmt);
	vreport(kind, fmt, ap);
	va_end(ap);
}

uint64_t st_violations(void)
{
	return atomic_load(&n_violations);
}

void st_log(const char *fmt, ...)
{
	if (st_o.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
}

void st_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("ERROR (environment, not a pool bug): ", fmt, ap);
	va_end(ap);
	exit(2);
}

/* ------------------------------------------------------------ time, rng */

uint64_t st_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double st_elapsed(void)
{
	return (double)(st_now_ns() - t_start) / 1e9;
}

void st_sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u),
			      (long)(ns % 1000000000u)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void st_spin(uint32_t iters)
{
	for (volatile uint32_t i = 0; i < iters; i++)
		;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void st_rng_init(st_rng *r, uint64_t stream)
{
	uint64_t x = st_o.seed ^ (stream * UINT64_C(0xd1342543de82ef95));
	r->s = splitmix(&x) | 1;
}

uint64_t st_rand(st_rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * UINT64_C(0x2545f4914f6cdd1d);
}

uint64_t st_below(st_rng *r, uint64_t n)
{
	return (st_rand(r) >> 11) % n;
}

bool st_chance(st_rng *r, uint32_t per_mille)
{
	return per_mille && st_below(r, 1000) < per_mille;
}

/* ------------------------------------------------------------ watchdog */

#define ST_WATCH_MAX 8
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static lfp_pool *watch_pools[ST_WATCH_MAX];
static const char *watch_labels[ST_WATCH_MAX];

void st_watch_pool(lfp_pool *p, const char *label)
{
	pthread_mutex_lock(&watch_lock);
	for (int i = 0; i < ST_WATCH_MAX; i++)
		if (!watch_pools[i]) {
			watch_pools[i] = p;
			watch_labels[i] = label;
			break;
		}
	pthread_mutex_unlock(&watch_lock);
}

void st_unwatch_pool(lfp_pool *p)
{
	pthread_mutex_lock(&watch_lock);
	for (int i = 0; i < ST_WATCH_MAX; i++)
		if (watch_pools[i] == p)
			watch_pools[i] = NULL;
	pthread_mutex_unlock(&watch_lock);
}

static void dump_stats(const char *label, const lfp_stats *s)
{
	fprintf(stderr,
		"[%s]   %s: live=%" PRIu64 " idle=%" PRIu64 " in_use=%" PRIu64
		" cap=%" PRIu64 " acq=%" PRIu64 " rel=%" PRIu64
		" waits=%" PRIu64 " timeouts=%" PRIu64 " steals=%" PRIu64
		" creates=%" PRIu64 " destroys=%" PRIu64 "\n",
		st_name, label, s->live, s->idle, s->in_use, s->capacity,
		s->acquires, s->releases, s->waits, s->timeouts, s->steals,
		s->creates, s->destroys);
}

/* The verdict's ops= here is the progress counter (acquires so far). */
static void watchdog_fire(const char *why)
{
	printf("%s: FAIL ops=%" PRIu64 " threads=%d violations=%" PRIu64
	       " seconds=%.1f seed=%" PRIu64 " watchdog=\"%s\"\n",
	       st_name, atomic_load(&st_progress), st_o.threads,
	       atomic_load(&n_violations) + 1, st_elapsed(), st_o.seed, why);
	fflush(stdout);
	fprintf(stderr, "[%s] WATCHDOG: %s (progress counter %" PRIu64 ")\n",
		st_name, why, atomic_load(&st_progress));
	/* The stats call takes the pool's registry lock; if that is what
	 * deadlocked, SIGALRM ends the process instead. */
	alarm(3);
	for (int i = 0; i < ST_WATCH_MAX; i++) {
		if (!watch_pools[i])
			continue;
		lfp_stats s = LFP_STATS_INIT;
		lfp_get_stats(watch_pools[i], &s);
		dump_stats(watch_labels[i], &s);
	}
	fflush(stderr);
	_exit(3);
}

static void *watchdog(void *arg)
{
	(void)arg;
	uint64_t last = atomic_load(&st_progress);
	uint64_t last_change = st_now_ns();
	double hard = st_o.seconds * 3 + 180;
	while (!atomic_load(&finished)) {
		st_sleep_ns(100 * 1000 * 1000);
		uint64_t now = st_now_ns(), cur = atomic_load(&st_progress);
		if (cur != last) {
			last = cur;
			last_change = now;
		}
		char why[128];
		if ((double)(now - last_change) / 1e9 > st_o.stall) {
			snprintf(why, sizeof(why),
				 "no progress for %.1f s (deadlock?)",
				 st_o.stall);
			watchdog_fire(why);
		}
		if (st_elapsed() > hard) {
			snprintf(why, sizeof(why),
				 "still running after %.0f s (hard limit)",
				 hard);
			watchdog_fire(why);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ begin/end */

static void usage(void)
{
	printf("usage: %s [--seconds N] [--threads N] [--seed N]\n"
	       "         [--objects N] [--stall S] [--max-wait S] [--slack S]\n"
	       "         [--quiet]\n"
	       "defaults: seconds=%.1f threads=%d objects=%" PRIu64
	       " stall=%.0f max-wait=%.1f slack=%.1f\n",
	       st_name, st_o.seconds, st_o.threads, st_o.objects, st_o.stall,
	       st_o.max_wait, st_o.slack);
}

static double num(const char *opt, const char *v)
{
	char *end;
	if (!v)
		st_die("%s needs a value", opt);
	double d = strtod(v, &end);
	if (*end || d < 0)
		st_die("bad value for %s: '%s'", opt, v);
	return d;
}

void st_begin(const char *name, int argc, char **argv, st_opts *o)
{
	st_name = name;
	st_o = *o;
	if (st_o.stall <= 0)
		st_o.stall = 20;
	if (st_o.max_wait <= 0)
		st_o.max_wait = 5 * ST_TIME_SCALE;
	if (st_o.slack <= 0)
		st_o.slack = 2 * ST_TIME_SCALE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--seconds"))
			st_o.seconds = num(a, v), i++;
		else if (!strcmp(a, "--threads"))
			st_o.threads = (int)num(a, v), i++;
		else if (!strcmp(a, "--seed"))
			st_o.seed = strtoull(v ? v : "0", NULL, 0), i++;
		else if (!strcmp(a, "--objects"))
			st_o.objects = (uint64_t)num(a, v), i++;
		else if (!strcmp(a, "--stall"))
			st_o.stall = num(a, v), i++;
		else if (!strcmp(a, "--max-wait"))
			st_o.max_wait = num(a, v), i++;
		else if (!strcmp(a, "--slack"))
			st_o.slack = num(a, v), i++;
		else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
			st_o.quiet = 1;
		else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			exit(0);
		} else {
			usage();
			st_die("unknown option '%s'", a);
		}
	}
	if (st_o.threads < 1 || st_o.objects < 1)
		st_die("--threads and --objects must be >= 1");
	if (st_o.seed == 0)
		st_o.seed = (st_now_ns() ^ ((uint64_t)getpid() << 32)) | 1;
	*o = st_o;
	t_start = st_now_ns();
	setvbuf(stdout, NULL, _IOLBF, 0);
	st_log("seed=%" PRIu64 " seconds=%.1f threads=%d objects=%" PRIu64
	       " max-wait=%.1f slack=%.1f (reproduce: --seed %" PRIu64 ")",
	       st_o.seed, st_o.seconds, st_o.threads, st_o.objects,
	       st_o.max_wait, st_o.slack, st_o.seed);
	pthread_t w;
	st_spawn(&w, 0, watchdog, NULL);
	pthread_detach(w);
}

int st_end(const char *extra_fmt, ...)
{
	atomic_store(&finished, 1);
	char extra[512] = "";
	if (extra_fmt) {
		va_list ap;
		va_start(ap, extra_fmt);
		vsnprintf(extra, sizeof(extra), extra_fmt, ap);
		va_end(ap);
	}
	uint64_t v = st_violations();
	printf("%s: %s ops=%" PRIu64 " threads=%d violations=%" PRIu64
	       " seconds=%.1f seed=%" PRIu64 "%s%s\n",
	       st_name, v ? "FAIL" : "PASS", atomic_load(&st_ops), st_o.threads,
	       v, st_elapsed(), st_o.seed, extra[0] ? " " : "", extra);
	fflush(stdout);
	return v ? 1 : 0;
}

/* ------------------------------------------------------------ threads */

void st_spawn(pthread_t *t, size_t stack, void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	if (stack && stack < (size_t)PTHREAD_STACK_MIN)
		stack = (size_t)PTHREAD_STACK_MIN; /* 128 KiB on aarch64 */
	if (stack && pthread_attr_setstacksize(&a, stack) != 0)
		st_die("pthread_attr_setstacksize(%zu) failed", stack);
	int rc;
	for (int tries = 0;
	     (rc = pthread_create(t, &a, fn, arg)) == EAGAIN && tries < 100;
	     tries++)
		st_sleep_ns(10 * 1000 * 1000);
	if (rc != 0)
		st_die("pthread_create failed: %s", strerror(rc));
	pthread_attr_destroy(&a);
}

void st_join(pthread_t t)
{
	int rc = pthread_join(t, NULL);
	if (rc != 0)
		st_die("pthread_join failed: %s", strerror(rc));
}

uint64_t st_thread_tag(void)
{
	if (!my_tag)
		my_tag = atomic_fetch_add(&next_tag, 1) + 1;
	return my_tag;
}

void st_pauser_init(st_pauser *ps, unsigned workers)
{
	atomic_init(&ps->pause, 0);
	atomic_init(&ps->stop, 0);
	pthread_barrier_init(&ps->paused, NULL, workers + 1);
	pthread_barrier_init(&ps->resumed, NULL, workers + 1);
}

void st_pauser_destroy(st_pauser *ps)
{
	pthread_barrier_destroy(&ps->paused);
	pthread_barrier_destroy(&ps->resumed);
}

bool st_pause_point(st_pauser *ps)
{
	if (atomic_load_explicit(&ps->stop, memory_order_acquire))
		return false;
	if (atomic_load_explicit(&ps->pause, memory_order_acquire)) {
		pthread_barrier_wait(&ps->paused);
		pthread_barrier_wait(&ps->resumed);
	}
	return !atomic_load_explicit(&ps->stop, memory_order_acquire);
}

void st_pause_all(st_pauser *ps)
{
	atomic_store(&ps->pause, 1);
	pthread_barrier_wait(&ps->paused);
	st_tick();
}

void st_resume_all(st_pauser *ps)
{
	atomic_store(&ps->pause, 0);
	st_tick();
	pthread_barrier_wait(&ps->resumed);
}

void st_stop_all(st_pauser *ps)
{
	atomic_store(&ps->stop, 1);
}

void st_sleep_until(double until)
{
	while (st_elapsed() < until && st_elapsed() < st_o.seconds)
		st_sleep_ns(10 * 1000 * 1000);
}

void st_check_pool(lfp_pool *p, st_factory *f, int k, uint64_t held,
		   const st_counts *sum, st_counts *credit, const char *label)
{
	char l[96];
	snprintf(l, sizeof(l), "%s, pool %d", label, k);
	st_check_quiescent(p, f, held, sum, l);
	if (held)
		return; /* not all objects can be acquired */
	/* The checker's own acquires count too: the stats were checked
	 * first, now check that nothing is stranded. */
	uint64_t got = st_check_all_acquirable(p, f, l);
	credit->acquires += got;
	credit->releases += got;
}

void st_check_pools(lfp_pool *const *pools, st_factory *const *facs, int npools,
		    st_counts *first, size_t stride, int nworkers,
		    const char *label)
{
	for (int k = 0; k < npools; k++) {
		st_counts sum = {0};
		for (int i = 0; i < nworkers; i++)
			st_counts_add(&sum, (st_counts *)((char *)first +
							  (size_t)i * stride) +
						    k);
		st_check_pool(pools[k], facs[k], k, 0, &sum, first + k, label);
	}
}
