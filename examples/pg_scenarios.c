/*
 * pg_scenarios — the modes of pg_pool --lifecycle (see pg_lifecycle.c).
 * Each one builds its pool, drives clients and the server, checks what the
 * pool promised and ends with lc_verdict.
 */
#define _GNU_SOURCE
#include "pg_lifecycle.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- close: lfp_close wakes blocked threads ---- */

#define CLOSE_THREADS 10
#define CLOSE_CAP     8
#define CLOSE_HOLD    "SELECT pg_sleep(3)"

struct closer {
	int t;
	double entered, returned; /* the last acquire call */
	lfp_err err, rel;
	int held;
	pthread_t th;
};

static atomic_int in_acquire;
static atomic_long close_us; /* lc_now() just before lfp_close, in us */

static void *close_client(void *arg)
{
	struct closer *w = arg;
	for (;;) {
		void *obj;
		w->entered = lc_now();
		atomic_fetch_add(&in_acquire, 1);
		w->err = w->t % 2 ? lfp_acquire(L.pool, &obj)
				  : lfp_acquire_timed(L.pool, &obj, 30 * LC_NS);
		atomic_fetch_sub(&in_acquire, 1);
		w->returned = lc_now();
		if (w->err == LFP_OK) {
			w->held++;
			pg_run(((struct lconn *)obj)->pg, CLOSE_HOLD, NULL);
			w->rel = lfp_release(L.pool, obj);
			continue;
		}
		double tc = (double)atomic_load(&close_us) * 1e-6;
		if (w->entered < tc)
			lc_say("thread %d: blocked in %s for %.3f s, woke %.2f "
			       "ms after lfp_close: %s",
			       w->t,
			       w->t % 2 ? "lfp_acquire" : "lfp_acquire_timed",
			       w->returned - w->entered,
			       (w->returned - tc) * 1e3, lfp_strerror(w->err));
		else
			lc_say("thread %d: released its connection (%s), next "
			       "acquire: %s",
			       w->t, lfp_strerror(w->rel),
			       lfp_strerror(w->err));
		return NULL;
	}
}

int lc_close(void)
{
	lfp_config cfg = lc_config(CLOSE_CAP);
	if (lc_open(&cfg))
		return 1;
	static struct closer w[CLOSE_THREADS];
	lc_say("%d threads, %d connections, each holder runs \"%s\"",
	       CLOSE_THREADS, CLOSE_CAP, CLOSE_HOLD);
	atomic_store(&close_us, (long)1e12); /* not yet */
	/* The holders first, then the threads that will block (8 calls
	 * lfp_acquire_timed, 9 lfp_acquire). */
	lfp_stats st = LFP_STATS_INIT;
	for (int t = 0; t < CLOSE_THREADS; t++) {
		w[t].t = t;
		pthread_create(&w[t].th, NULL, close_client, &w[t]);
		if (t != CLOSE_CAP - 1)
			continue;
		for (double end = lc_now() + 10; lc_now() < end; lc_nap(0.01)) {
			lfp_get_stats(L.pool, &st);
			if (st.in_use == CLOSE_CAP)
				break;
		}
	}
	for (double end = lc_now() + 5; lc_now() < end; lc_nap(0.01))
		if (atomic_load(&in_acquire) == CLOSE_THREADS - CLOSE_CAP)
			break;
	lc_nap(0.2);
	lc_say("%lu connections held, %d threads blocked in acquire", st.in_use,
	       atomic_load(&in_acquire));
	double tc = lc_now();
	atomic_store(&close_us, (long)(tc * 1e6));
	lfp_err cerr = lfp_close(L.pool);
	lc_say("lfp_close: %s (%.3f ms)", lfp_strerror(cerr),
	       (lc_now() - tc) * 1e3);
	double wake_max = 0;
	int blocked = 0, all_closed = 1, rel_ok = 1;
	for (int t = 0; t < CLOSE_THREADS; t++) {
		pthread_join(w[t].th, NULL);
		all_closed &= w[t].err == LFP_ECLOSED;
		rel_ok &= !w[t].held || w[t].rel == LFP_OK;
		if (w[t].entered < tc) {
			double ms = (w[t].returned - tc) * 1e3;
			blocked++;
			wake_max = ms > wake_max ? ms : wake_max;
		}
	}
	lfp_get_stats(L.pool, &st);
	lc_say("after close: closed=%d live=%lu idle=%lu in_use=%lu", st.closed,
	       st.live, st.idle, st.in_use);
	int leak = lc_finish(NULL);
	return lc_verdict(cerr == LFP_OK && all_closed && rel_ok && blocked &&
				  wake_max < 100 && st.live == 0 && !leak,
			  "%d threads blocked on %d held connections woke with "
			  "LFP_ECLOSED at most %.2f ms after lfp_close; the "
			  "%d holders released (connections closed), then got "
			  "LFP_ECLOSED; %ld opened, %ld closed",
			  blocked, CLOSE_CAP, wake_max, CLOSE_THREADS - blocked,
			  atomic_load(&L.create_ok), atomic_load(&L.destroys));
}

/* ---- failover: lfp_evict_all after a server restart ---- */

struct round {
	long dead, ok, stale, fresh, acq_fail; /* after the restart/evict */
	long dead_before, fail_before;	       /* running round: before */
	int bad;
};

/* Restart the server with the clients paused (an idle pool holding
 * connections to the old server) or running, then evict or not. */
static struct round restart_round(struct lclient *cl, int n, int running,
				  int evict)
{
	struct round r = {0};
	atomic_store(&L.mark_us, 0);
	lc_reset_counts();
	lc_nap(1.0);
	if (!running) {
		lc_pause(cl, n);
		lfp_stats st = LFP_STATS_INIT;
		lfp_get_stats(L.pool, &st);
		lc_say("clients paused: %lu idle connections to the old server",
		       st.idle);
	}
	r.bad = lc_server("restart");
	long made = atomic_load(&L.create_ok);
	if (evict) {
		lfp_err e = lfp_evict_all(L.pool);
		atomic_store(&L.mark_us, (long)(lc_now() * 1e6));
		lc_say("lfp_evict_all: %s", lfp_strerror(e));
		r.bad |= e != LFP_OK;
	} else {
		atomic_store(&L.mark_us, (long)(lc_now() * 1e6));
	}
	lc_resume();
	lc_nap(1.5);
	lc_pause(cl, n);
	r.dead = atomic_load(&L.dead_after);
	r.ok = atomic_load(&L.ok_after);
	r.stale = atomic_load(&L.stale_after);
	r.acq_fail = atomic_load(&L.acq_fail_after);
	r.dead_before = atomic_load(&L.dead);
	r.fail_before = atomic_load(&L.acq_fail);
	r.fresh = atomic_load(&L.create_ok) - made;
	lc_say("%s the restart: %ld queries ok, %ld dead connections handed "
	       "out, %ld connections from before handed out, %ld acquires "
	       "failed, %ld fresh connections",
	       evict ? "after lfp_evict_all, which followed" : "after", r.ok,
	       r.dead, r.stale, r.acq_fail, r.fresh);
	if (running)
		lc_say("during the restart, before lfp_evict_all: %ld dead "
		       "connections, %ld acquires failed",
		       r.dead_before, r.fail_before);
	lc_resume();
	return r;
}

int lc_failover(void)
{
	lfp_config cfg = lc_config(8);
	cfg.validate_on = LFP_VALIDATE_NEVER; /* no round trip per acquire */
	cfg.create_retry_ns = LC_NS / 10;
	if (lc_open(&cfg))
		return 1;
	static struct lclient cl[4];
	int n = 4;
	L.sql = "SELECT pg_backend_pid()";
	L.think_s = 0.005;
	lc_say("4 clients, validation on acquire off; round 1: idle pool, "
	       "restart, no lfp_evict_all");
	lc_spawn(cl, n);
	struct round r1 = restart_round(cl, n, 0, 0);
	lc_say("round 2: idle pool, restart, lfp_evict_all");
	struct round r2 = restart_round(cl, n, 0, 1);
	lc_say("round 3: restart under running clients, lfp_evict_all");
	struct round r3 = restart_round(cl, n, 1, 1);
	lc_join(cl, n);
	int leak = lc_finish(NULL);
	return lc_verdict(
		!r1.bad && !r2.bad && !r3.bad && r2.dead == 0 &&
			r2.stale == 0 && r3.dead == 0 && r3.stale == 0 &&
			r2.ok > 0 && r3.ok > 0 && r2.fresh > 0 && !leak,
		"idle pool across a restart: without lfp_evict_all %ld dead "
		"connections handed out, with it %ld (%ld fresh connections, "
		"%ld queries ok); restart under load: %ld dead before the "
		"evict, %ld after it (%ld queries ok)",
		r1.dead, r2.dead, r2.fresh, r2.ok, r3.dead_before, r3.dead,
		r3.ok);
}

/* ---- keepalive: terminated idle backends caught by maintenance ---- */

int lc_keepalive(void)
{
	lfp_config cfg = lc_config(8);
	cfg.min_idle = 4;
	cfg.validate_on = LFP_VALIDATE_NEVER; /* only keepalive checks */
	cfg.keepalive_ns = LC_NS / 5;
	cfg.maintenance_thread = 1;
	if (lc_open(&cfg))
		return 1;
	PGconn *admin = lc_admin();
	if (!admin)
		return 1;
	static struct lclient cl[4];
	int n = 4;
	L.think_s = 0.01;
	lc_say("%d clients, validation on acquire off, keepalive every 200 ms "
	       "(maintenance thread)",
	       n);
	lc_spawn(cl, n);
	lc_nap(1.0);
	lc_pause(cl, n);
	lfp_stats st = LFP_STATS_INIT;
	lfp_get_stats(L.pool, &st);
	lc_say("clients paused: %lu idle connections", st.idle);
	PGresult *r = PQexec(
		admin, "SELECT count(pg_terminate_backend(pid)), "
		       "coalesce(string_agg(pid::text, ' ' ORDER BY pid), '') "
		       "FROM pg_stat_activity WHERE application_name = "
		       "'lfpool_keepalive' AND state = 'idle'");
	long killed = 0;
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		killed = atol(PQgetvalue(r, 0, 0));
		lc_say("admin: pg_terminate_backend on %ld idle backends: %s",
		       killed, PQgetvalue(r, 0, 1));
	} else {
		lc_say("admin: %s", PQerrorMessage(admin));
	}
	PQclear(r);
	PQfinish(admin);
	uint64_t kf0 = st.keepalive_failures;
	for (int i = 0; i < 5; i++) {
		lc_nap(0.2);
		lfp_get_stats(L.pool, &st);
		lc_say("keepalive_failures %lu, live %lu, idle %lu, created "
		       "%lu",
		       st.keepalive_failures, st.live, st.idle, st.creates);
	}
	lc_resume();
	lc_nap(1.5);
	lc_join(cl, n);
	long ok = atomic_load(&L.ok), dead = atomic_load(&L.dead);
	long fail = atomic_load(&L.acq_fail);
	lfp_get_stats(L.pool, &st);
	uint64_t kf = st.keepalive_failures - kf0;
	int leak = lc_finish(NULL);
	return lc_verdict(killed > 0 && kf >= (uint64_t)killed && dead == 0 &&
				  fail == 0 && !leak,
			  "%ld idle backends terminated by an admin "
			  "connection, %lu caught by keepalive "
			  "(keepalive_failures), %ld client queries ok, %ld "
			  "got a dead connection, %ld acquires failed",
			  killed, kf, ok, dead, fail);
}

/* ---- lifetime: connections rotate ---- */

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int lc_lifetime(void)
{
	lfp_config cfg = lc_config(4);
	cfg.max_lifetime_ns = LC_NS;
	cfg.maintenance_thread = 1;
	if (lc_open(&cfg))
		return 1;
	static struct lclient cl[4];
	int n = 4, all[512], nall = 0, seconds = 5;
	L.sql = "SELECT pg_backend_pid()";
	L.track_pids = 1;
	L.think_s = 0.02;
	L.max_age = 1.05; /* the lifetime, plus scheduling slack */
	lc_say("%d clients, capacity 4, max_lifetime 1 s", n);
	lc_spawn(cl, n);
	lfp_stats st = LFP_STATS_INIT;
	for (int s = 1; s <= seconds; s++) {
		lc_nap(1.0);
		int pids[64], np;
		pthread_mutex_lock(&L.lock);
		np = L.npids;
		memcpy(pids, L.pids, sizeof(int) * (size_t)np);
		L.npids = 0;
		pthread_mutex_unlock(&L.lock);
		qsort(pids, (size_t)np, sizeof(int), cmp_int);
		char line[400] = "";
		for (int i = 0, o = 0; i < np && o < 380; i++) {
			o += snprintf(line + o, sizeof(line) - (size_t)o, " %d",
				      pids[i]);
			int seen = 0;
			for (int j = 0; j < nall; j++)
				seen |= all[j] == pids[i];
			if (!seen && nall < 512)
				all[nall++] = pids[i];
		}
		lfp_get_stats(L.pool, &st);
		lc_say("second %d: pg_backend_pid() seen:%s; expirations %lu, "
		       "created %lu",
		       s, line, st.expirations, st.creates);
	}
	lc_join(cl, n);
	long dead = atomic_load(&L.dead), old = atomic_load(&L.too_old);
	long ok = atomic_load(&L.ok);
	int leak = lc_finish(NULL);
	return lc_verdict(st.expirations > 0 && nall > 4 && dead == 0 &&
				  old == 0 && !leak,
			  "in %d s %d distinct backend pids served %ld queries "
			  "on a pool of 4; expirations %lu; %ld connections "
			  "older than the lifetime handed out, %ld queries "
			  "failed",
			  seconds, nall, ok, st.expirations, old, dead);
}

/* ---- leak: on_leak with the acquire site ---- */

static atomic_int leak_reports, leak_site_ok;
static void *forgotten;

static void site_text(char *buf, size_t n, void *site, int *is_forget)
{
	Dl_info di;
	if (!site || !dladdr(site, &di) || !di.dli_fname) {
		snprintf(buf, n, "%p (unresolved)", site);
		return;
	}
	uintptr_t off = (uintptr_t)site - (uintptr_t)di.dli_fbase;
	const char *sym = di.dli_sname ? di.dli_sname : "?";
	uintptr_t in =
		di.dli_saddr ? (uintptr_t)site - (uintptr_t)di.dli_saddr : 0;
	if (is_forget)
		*is_forget = !strcmp(sym, "forget_connection");
	const char *base = strrchr(di.dli_fname, '/');
	snprintf(buf, n, "%s+0x%lx (%s); addr2line -f -i -p -e %s 0x%lx", sym,
		 (unsigned long)in, base ? base + 1 : di.dli_fname,
		 di.dli_fname, (unsigned long)(off - 1));
}

static void on_leak(void *ctx, void *obj, uint64_t held_ns, void *site)
{
	(void)ctx;
	struct lconn *c = obj;
	char where[400];
	int is_forget = 0;
	site_text(where, sizeof(where), site, &is_forget);
	lc_say("on_leak: connection #%d (backend pid %d) held %.3f s, "
	       "acquired at %s",
	       c->id, c->pid, (double)held_ns * 1e-9, where);
	atomic_fetch_add(&leak_reports, 1);
	atomic_fetch_add(&leak_site_ok, is_forget);
}

/* Acquires a connection, uses it and forgets to give it back. Not static:
 * dladdr names it (pg_pool is linked with -rdynamic). */
void *forget_connection(lfp_pool *pool);
__attribute__((noinline)) void *forget_connection(lfp_pool *pool)
{
	void *obj = NULL;
	if (lfp_acquire(pool, &obj) == LFP_OK)
		pg_run(((struct lconn *)obj)->pg, "SELECT 1", NULL);
	return obj;
}

static void *forgetful(void *arg)
{
	forgotten = forget_connection(arg);
	return NULL;
}

static int dump(void *ctx, void *obj, const lfp_object_info *in)
{
	(void)ctx;
	struct lconn *c = obj;
	char where[400] = "";
	if (in->in_use && in->acquire_site)
		site_text(where, sizeof(where), in->acquire_site, NULL);
	lc_say("  #%d pid %d: %s for %.3f s, age %.3f s%s%s", c->id, c->pid,
	       in->in_use ? "HELD" : "idle", (double)in->state_ns * 1e-9,
	       (double)in->age_ns * 1e-9, *where ? ", acquired at " : "",
	       where);
	return 0;
}

int lc_leak(void)
{
	lfp_config cfg = lc_config(4);
	cfg.leak_threshold_ns = LC_NS / 2;
	cfg.on_leak = on_leak;
	cfg.maintenance_thread = 1;
	if (lc_open(&cfg))
		return 1;
	static struct lclient cl[2];
	int n = 2;
	L.think_s = 0.01;
	lc_say("%d well-behaved clients and one that forgets a connection; "
	       "leak_threshold 500 ms",
	       n);
	lc_spawn(cl, n);
	lc_nap(0.3);
	pthread_t th;
	pthread_create(&th, NULL, forgetful, L.pool);
	pthread_join(th, NULL);
	lc_say("forget_connection() returned, connection #%d not released",
	       forgotten ? ((struct lconn *)forgotten)->id : -1);
	lc_nap(2.0);
	lc_join(cl, n);
	lc_say("lfp_foreach:");
	lfp_foreach(L.pool, dump, NULL);
	lfp_stats st = LFP_STATS_INIT;
	lfp_get_stats(L.pool, &st);
	lfp_err rel = forgotten ? lfp_release(L.pool, forgotten) : LFP_EINVAL;
	lc_say("released the forgotten connection at last: %s",
	       lfp_strerror(rel));
	int leak = lc_finish(NULL);
	return lc_verdict(st.leaks == 1 && atomic_load(&leak_reports) == 1 &&
				  atomic_load(&leak_site_ok) == 1 && !leak,
			  "a connection held past 500 ms was reported once "
			  "(leaks %lu, on_leak calls %d) with its acquire "
			  "site resolved to forget_connection: %s; %ld client "
			  "queries ok meanwhile, none reported",
			  st.leaks, atomic_load(&leak_reports),
			  atomic_load(&leak_site_ok) ? "yes" : "no",
			  atomic_load(&L.ok));
}

/* ---- backoff: the server is down ---- */

int lc_backoff(void)
{
	lfp_config cfg = lc_config(4);
	cfg.validate_on = LFP_VALIDATE_ON_ACQUIRE;
	cfg.create_retry_ns = LC_NS / 10;
	if (lc_open(&cfg))
		return 1;
	static struct lclient cl[2] = {{.kind = LC_TRY}, {.kind = LC_TIMED}};
	L.think_s = 0.02;
	L.timeout_ns = 3 * LC_NS / 10;
	lc_say("one client polls lfp_try_acquire every 20 ms, one waits in "
	       "lfp_acquire_timed(300 ms); create_retry 100 ms");
	lc_spawn(cl, 2);
	lc_nap(2.0 - lc_now());
	int bad = lc_server("stop");
	double down = lc_now();
	long c_down = atomic_load(&L.creates);
	lc_nap(down + 5.0 - lc_now());
	lfp_stats st = LFP_STATS_INIT;
	lfp_get_stats(L.pool, &st);
	char err[200];
	pthread_mutex_lock(&L.lock);
	snprintf(err, sizeof(err), "%s", L.last_err);
	pthread_mutex_unlock(&L.lock);
	lc_say("last_create_error %d (%s); libpq: %s", st.last_create_error,
	       strerror(st.last_create_error), err);
	long c_up = atomic_load(&L.creates);
	bad |= lc_server("start");
	double up = lc_now();
	atomic_store(&L.mark_us, (long)(up * 1e6));
	lc_nap(up + 3.5 - lc_now());
	lc_join(cl, 2);
	int end = (int)lc_now();
	printf("| second | server | create() calls | try: ok | ECREATE | "
	       "EMPTY | timed: ok | ECREATE | ETIMEDOUT | mean wait ms |\n"
	       "|---|---|---|---|---|---|---|---|---|---|\n");
	long max_down = 0, polls_down = 0;
	long first_us = atomic_load(&L.first_ok_us);
	double recovered = first_us ? (double)first_us * 1e-6 - up : -1;
	for (int s = 0; s <= end && s < LC_SECS; s++) {
		long t[LFP_ERR_COUNT_], w[LFP_ERR_COUNT_];
		for (int e = 0; e < LFP_ERR_COUNT_; e++) {
			t[e] = atomic_load(&L.sec_res[s][LC_TRY][e]);
			w[e] = atomic_load(&L.sec_res[s][LC_TIMED][e]);
		}
		long c = atomic_load(&L.sec_creates[s]), nw = 0;
		for (int e = 0; e < LFP_ERR_COUNT_; e++)
			nw += w[e];
		double wait_ms = nw ? (double)atomic_load(&L.sec_wait_us[s]) /
						 1e3 / (double)nw
				    : 0;
		/* Second s is [s, s+1): wholly down, wholly up or partly. */
		int is_down = s >= down && s + 1 <= up;
		int is_up = s + 1 <= down || s >= up;
		if (is_down) {
			max_down = c > max_down ? c : max_down;
			polls_down += t[LFP_ECREATE] + t[LFP_EMPTY];
		}
		printf("| %d | %s | %ld | %ld | %ld | %ld | %ld | %ld | %ld | "
		       "%.0f |\n",
		       s,
		       is_down ? "down"
		       : is_up ? "up"
			       : "partly",
		       c, t[LFP_OK], t[LFP_ECREATE], t[LFP_EMPTY], w[LFP_OK],
		       w[LFP_ECREATE], w[LFP_ETIMEDOUT], wait_ms);
	}
	putchar('\n');
	int leak = lc_finish(NULL);
	return lc_verdict(
		!bad && st.last_create_error != 0 && max_down <= 11 &&
			recovered >= 0 && recovered < 3 && !leak,
		"server down %.1f s: %ld create() calls (at most %ld in a "
		"second, create_retry 100 ms doubling) while %ld "
		"try-acquires failed; last_create_error %d (%s); first "
		"query ok %.3f s after the server was back",
		up - down, c_up - c_down, max_down, polls_down,
		st.last_create_error, strerror(st.last_create_error),
		recovered);
}

/* ---- histograms ---- */

static atomic_int hist_leaks;

static void count_leak(void *ctx, void *obj, uint64_t held_ns, void *site)
{
	(void)ctx, (void)obj, (void)held_ns, (void)site;
	atomic_fetch_add(&hist_leaks, 1);
}

int lc_histograms(void)
{
	lfp_config cfg = lc_config(4);
	/* Leak detection on (threshold and on_leak) records hold times. */
	cfg.leak_threshold_ns = 10 * LC_NS;
	cfg.on_leak = count_leak;
	cfg.max_lifetime_ns = LC_NS; /* some creates to time */
	cfg.maintenance_thread = 1;
	if (lc_open(&cfg))
		return 1;
	static struct lclient cl[8];
	int n = 8;
	L.sql = "SELECT pg_sleep(0.002)";
	lc_say("%d clients on 4 connections running \"%s\" for 3 s", n, L.sql);
	lc_spawn(cl, n);
	lc_nap(3.0);
	lc_join(cl, n);
	lfp_stats st = LFP_STATS_INIT;
	lfp_get_stats(L.pool, &st);
	lc_say("acquires %lu, waits %lu, creates %lu", st.acquires, st.waits,
	       st.creates);
	lc_hist_table(&st);
	uint64_t w = 0, h = 0, c = 0;
	for (int i = 0; i < LFP_HIST_BUCKETS; i++)
		w += st.wait_ns_hist[i], h += st.hold_ns_hist[i],
			c += st.create_ns_hist[i];
	int leak = lc_finish(NULL);
	return lc_verdict(w == st.waits && h > 0 && c == st.creates &&
				  atomic_load(&hist_leaks) == 0 && !leak,
			  "%ld queries on 4 connections by 8 threads; the "
			  "histograms count %lu waits, %lu holds and %lu "
			  "creates (stats: %lu waits, %lu creates)",
			  atomic_load(&L.ok), w, h, c, st.waits, st.creates);
}
