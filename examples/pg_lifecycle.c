/*
 * pg_lifecycle — lfpool 0.2's lifecycle features shown on real PostgreSQL
 * connections:
 *   pg_pool --lifecycle MODE [--summary FILE]
 * MODE (pg_scenarios.c):
 *   close       10 threads on 8 connections with long holds; lfp_close from
 *               main wakes every blocked thread with LFP_ECLOSED
 *   failover    server restarts; without lfp_evict_all clients get dead
 *               connections, with it none after the evict
 *   keepalive   pg_terminate_backend on idle pooled connections; keepalive
 *               validation replaces them before any client gets one
 *   lifetime    max_lifetime_ns rotates connections (backend pids change)
 *   leak        a thread forgets a connection; on_leak reports it with the
 *               acquire site (dladdr, addr2line hint); lfp_foreach dump
 *   backoff     server down: create() calls spaced by create_retry_ns,
 *               LFP_ECREATE / timeouts, recovery when it is back
 *   histograms  the wait/hold/create histograms of lfp_get_stats
 * The server is stopped/started/restarted through $LFPOOL_PG_HOOK (an
 * executable taking stop|start|restart; scripts/examples.sh writes one).
 * Every mode ends by itself (a watchdog kills it after 30 s) and prints a
 * PASS/FAIL line; --summary appends that line to FILE as a Markdown row.
 */
#define _GNU_SOURCE
#include "pg_lifecycle.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct lc L = {.lock = PTHREAD_MUTEX_INITIALIZER};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double lc_now(void)
{
	return mono() - L.t0;
}

void lc_nap(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

void lc_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&L.lock);
	printf("[%6.3f s] ", lc_now());
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&L.lock);
	va_end(ap);
}

int lc_verdict(int pass, const char *fmt, ...)
{
	char text[1000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	printf("%s: %s: %s\n", L.mode, pass ? "PASS" : "FAIL", text);
	if (L.summary)
		fprintf(L.summary, "| `%s` | %s | %s |\n", L.mode,
			pass ? "pass" : "**FAIL**", text);
	return !pass;
}

/* ---- the connection factory ---- */

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* "FATAL: terminating connection ..." and the like */
}

/* create()'s non-zero result: an errno for what libpq said. */
static int classify(const char *msg)
{
	if (strstr(msg, "Connection refused"))
		return ECONNREFUSED;
	if (strstr(msg, "timeout"))
		return ETIMEDOUT;
	if (strstr(msg, "shutting down") || strstr(msg, "starting up"))
		return EAGAIN;
	return EIO;
}

static int l_create(void *ctx, void *obj)
{
	struct lc *s = ctx;
	struct lconn *c = obj;
	int sec = (int)lc_now();
	atomic_fetch_add(&s->creates, 1);
	if (sec >= 0 && sec < LC_SECS)
		atomic_fetch_add(&s->sec_creates[sec], 1);
	c->pg = PQconnectdb(s->conninfo);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		const char *msg = PQerrorMessage(c->pg);
		int err = classify(msg);
		pthread_mutex_lock(&s->lock);
		snprintf(s->last_err, sizeof(s->last_err), "%.*s",
			 (int)strcspn(msg, "\n"), msg);
		pthread_mutex_unlock(&s->lock);
		PQfinish(c->pg);
		c->pg = NULL;
		return err;
	}
	PQsetNoticeProcessor(c->pg, quiet, NULL);
	c->id = atomic_fetch_add(&s->next_id, 1) + 1;
	c->pid = PQbackendPID(c->pg);
	c->born = lc_now();
	atomic_fetch_add(&s->create_ok, 1);
	return 0;
}

/* Also the keepalive check: a terminated backend fails "SELECT 1". */
static int l_validate(void *ctx, void *obj)
{
	(void)ctx;
	struct lconn *c = obj;
	return c->pg && PQstatus(c->pg) == CONNECTION_OK &&
	       pg_run(c->pg, "SELECT 1", NULL) == 0;
}

static int l_reset(void *ctx, void *obj)
{
	(void)ctx;
	struct lconn *c = obj;
	if (PQstatus(c->pg) != CONNECTION_OK)
		return 1;
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		return pg_run(c->pg, "ROLLBACK", NULL);
	return 0;
}

static void l_destroy(void *ctx, void *obj)
{
	struct lc *s = ctx;
	struct lconn *c = obj;
	PQfinish(c->pg);
	c->pg = NULL;
	atomic_fetch_add(&s->destroys, 1);
}

lfp_config lc_config(uint64_t capacity)
{
	lfp_config cfg = LFP_CONFIG_INIT;
	cfg.object_size = sizeof(struct lconn);
	cfg.capacity = capacity;
	cfg.factory = (lfp_factory){.create = l_create,
				    .validate = l_validate,
				    .reset = l_reset,
				    .destroy = l_destroy,
				    .ctx = &L};
	return cfg;
}

int lc_open(lfp_config *cfg)
{
	lfp_err err = lfp_create(cfg, &L.pool);
	if (err)
		lc_say("lfp_create: %s", lfp_strerror(err));
	return err != LFP_OK;
}

int lc_finish(lfp_stats *final)
{
	lfp_err err = lfp_destroy(L.pool, final);
	L.pool = NULL;
	long ok = atomic_load(&L.create_ok), gone = atomic_load(&L.destroys);
	lc_say("lfp_destroy: %s; %ld connections opened, %ld closed",
	       lfp_strerror(err), ok, gone);
	return err != LFP_OK || ok != gone;
}

int lc_server(const char *what)
{
	if (!L.hook) {
		lc_say("no $LFPOOL_PG_HOOK: cannot %s the server", what);
		return 1;
	}
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "%s %s", L.hook, what);
	double t = lc_now();
	lc_say("server %s ...", what);
	int rc = system(cmd);
	lc_say("server %s: %s (%.2f s)", what, rc == 0 ? "done" : "FAILED",
	       lc_now() - t);
	return rc != 0;
}

PGconn *lc_admin(void)
{
	char info[700];
	snprintf(info, sizeof(info), "%s application_name=lfpool_admin",
		 getenv("LFPOOL_PG_CONNINFO"));
	PGconn *pg = PQconnectdb(info);
	if (PQstatus(pg) != CONNECTION_OK) {
		lc_say("admin connection: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

/* ---- client threads ---- */

static void note_pid(long v)
{
	pthread_mutex_lock(&L.lock);
	int seen = 0;
	for (int i = 0; i < L.npids; i++)
		seen |= L.pids[i] == (int)v;
	if (!seen && L.npids < 64)
		L.pids[L.npids++] = (int)v;
	pthread_mutex_unlock(&L.lock);
}

/* Acquire, run L.sql, release (or discard when the query failed). */
static void one(struct lclient *cl)
{
	double ta = lc_now();
	long mark_us = atomic_load(&L.mark_us);
	int after = mark_us > 0 && ta * 1e6 >= (double)mark_us;
	void *obj;
	lfp_err e = cl->kind == LC_TRY
			    ? lfp_try_acquire(L.pool, &obj)
			    : lfp_acquire_timed(L.pool, &obj, L.timeout_ns);
	int sec = (int)ta;
	if (sec < LC_SECS && e < LFP_ERR_COUNT_)
		atomic_fetch_add(&L.sec_res[sec][cl->kind][e], 1);
	if (sec < LC_SECS && cl->kind == LC_TIMED)
		atomic_fetch_add(&L.sec_wait_us[sec],
				 (long)((lc_now() - ta) * 1e6));
	if (e != LFP_OK) {
		atomic_fetch_add(after ? &L.acq_fail_after : &L.acq_fail, 1);
		lc_nap(0.02);
		return;
	}
	struct lconn *c = obj;
	if (after && c->born * 1e6 < (double)mark_us)
		atomic_fetch_add(&L.stale_after, 1);
	if (L.max_age > 0 && ta - c->born > L.max_age)
		atomic_fetch_add(&L.too_old, 1);
	long v = 0;
	if (pg_run(c->pg, L.sql, &v)) {
		atomic_fetch_add(after ? &L.dead_after : &L.dead, 1);
		lfp_discard(L.pool, obj);
		return;
	}
	atomic_fetch_add(after ? &L.ok_after : &L.ok, 1);
	long zero = 0;
	if (after)
		atomic_compare_exchange_strong(&L.first_ok_us, &zero,
					       (long)(lc_now() * 1e6));
	if (L.track_pids)
		note_pid(v);
	lfp_release(L.pool, obj);
}

static void *client(void *arg)
{
	struct lclient *cl = arg;
	while (!atomic_load(&L.stop)) {
		if (atomic_load(&L.pause)) {
			if (!cl->parked) {
				/* Cached connections go back to the shared
				 * pool, where maintenance sees them. */
				lfp_thread_flush(L.pool);
				cl->parked = 1;
				atomic_fetch_add(&L.paused, 1);
			}
			lc_nap(0.005);
			continue;
		}
		if (cl->parked) {
			cl->parked = 0;
			atomic_fetch_sub(&L.paused, 1);
		}
		one(cl);
		lc_nap(L.think_s);
	}
	return NULL;
}

void lc_spawn(struct lclient *cl, int n)
{
	atomic_store(&L.stop, 0);
	for (int i = 0; i < n; i++)
		if (pthread_create(&cl[i].th, NULL, client, &cl[i]) != 0) {
			perror("pthread_create");
			exit(1);
		}
}

void lc_pause(struct lclient *cl, int n)
{
	(void)cl;
	atomic_store(&L.pause, 1);
	while (atomic_load(&L.paused) < n)
		lc_nap(0.002);
}

void lc_resume(void)
{
	atomic_store(&L.pause, 0);
}

void lc_join(struct lclient *cl, int n)
{
	atomic_store(&L.stop, 1);
	for (int i = 0; i < n; i++)
		pthread_join(cl[i].th, NULL);
	atomic_store(&L.pause, 0);
	atomic_store(&L.paused, 0);
}

void lc_reset_counts(void)
{
	atomic_long *c[] = {&L.ok,	    &L.dead,	   &L.acq_fail,
			    &L.ok_after,    &L.dead_after, &L.acq_fail_after,
			    &L.stale_after, &L.too_old,	   &L.first_ok_us};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		atomic_store(c[i], 0);
}

/* ---- histograms ---- */

static void fmt_ns(char *buf, size_t n, double ns)
{
	static const char *unit[] = {"ns", "us", "ms", "s"};
	int u = 0;
	while (ns >= 1000 && u < 3)
		ns /= 1000, u++;
	snprintf(buf, n, "%.3g %s", ns, unit[u]);
}

static uint64_t total(const uint64_t *h)
{
	uint64_t t = 0;
	for (int i = 0; i < LFP_HIST_BUCKETS; i++)
		t += h[i];
	return t;
}

/* The upper bound of the bucket holding quantile q. */
static void quantile(char *buf, size_t n, const uint64_t *h, double q)
{
	uint64_t t = total(h), acc = 0;
	if (t == 0) {
		snprintf(buf, n, "-");
		return;
	}
	int i = 0;
	for (; i < LFP_HIST_BUCKETS - 1; i++) {
		acc += h[i];
		if ((double)acc >= q * (double)t)
			break;
	}
	fmt_ns(buf, n, (double)(2ull << i));
}

void lc_hist_table(const lfp_stats *st)
{
	const uint64_t *h[3] = {st->wait_ns_hist, st->hold_ns_hist,
				st->create_ns_hist};
	int lo = LFP_HIST_BUCKETS, hi = -1;
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < LFP_HIST_BUCKETS; i++)
			if (h[k][i]) {
				lo = i < lo ? i : lo;
				hi = i > hi ? i : hi;
			}
	printf("| bucket | wait | hold | create |\n|---|---|---|---|\n");
	char a[32], b[32], c[32];
	for (int i = lo; i <= hi; i++) {
		fmt_ns(a, sizeof(a), (double)(1ull << i));
		fmt_ns(b, sizeof(b), (double)(2ull << i));
		printf("| %s - %s | %lu | %lu | %lu |\n", a, b, h[0][i],
		       h[1][i], h[2][i]);
	}
	printf("| **count** | %lu | %lu | %lu |\n", total(h[0]), total(h[1]),
	       total(h[2]));
	for (int q = 0; q < 2; q++) {
		double qq = q ? 0.99 : 0.5;
		quantile(a, sizeof(a), h[0], qq);
		quantile(b, sizeof(b), h[1], qq);
		quantile(c, sizeof(c), h[2], qq);
		printf("| **p%d <=** | %s | %s | %s |\n", q ? 99 : 50, a, b, c);
	}
	putchar('\n');
	fflush(stdout);
}

/* ---- entry ---- */

static const struct {
	const char *name;
	int (*run)(void);
} modes[] = {
	{"close", lc_close},
	{"failover", lc_failover},
	{"keepalive", lc_keepalive},
	{"lifetime", lc_lifetime},
	{"leak", lc_leak},
	{"backoff", lc_backoff},
	{"histograms", lc_histograms},
};

int pg_lifecycle(const char *conninfo, int argc, char **argv)
{
	int m = -1;
	for (size_t i = 0; argc > 0 && i < sizeof(modes) / sizeof(modes[0]);
	     i++)
		if (!strcmp(argv[0], modes[i].name))
			m = (int)i;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--summary") && i + 1 < argc) {
			L.summary = fopen(argv[++i], "a");
			if (!L.summary) {
				perror(argv[i]);
				return 2;
			}
		} else {
			m = -1;
		}
	}
	if (m < 0) {
		fprintf(stderr, "usage: pg_pool --lifecycle MODE [--summary "
				"FILE]; MODE:");
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			fprintf(stderr, " %s", modes[i].name);
		fputc('\n', stderr);
		return 2;
	}
	L.mode = modes[m].name;
	snprintf(L.conninfo, sizeof(L.conninfo),
		 "%s application_name=lfpool_%s", conninfo, L.mode);
	L.hook = getenv("LFPOOL_PG_HOOK");
	L.sql = "SELECT 1";
	L.timeout_ns = 2 * LC_NS;
	L.t0 = mono();
	alarm(30); /* the watchdog: every mode is bounded */
	int rc = modes[m].run();
	if (L.summary)
		fclose(L.summary);
	return rc;
}
