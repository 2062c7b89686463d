/*
 * pg_lifecycle.h — lfpool 0.2's lifecycle shown on PostgreSQL connections
 * (pg_pool --lifecycle MODE). pg_lifecycle.c holds the machinery (factory,
 * client threads, server hook, output), pg_scenarios.c one function per mode.
 */
#ifndef PG_LIFECYCLE_H
#define PG_LIFECYCLE_H

#include <lfpool.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* pg_pool.c: run sql, 0 when it succeeded; *value (if not NULL) gets the
 * first column of the first row as a number. */
int pg_run(PGconn *pg, const char *sql, long *value);

/* pg_pool --lifecycle MODE [--summary FILE]: the exit status. */
int pg_lifecycle(const char *conninfo, int argc, char **argv);

/* ---- shared by pg_lifecycle.c and pg_scenarios.c ---- */

#define LC_SECS 64 /* per-second counters cover this many seconds */
#define LC_NS	1000000000ull

struct lconn {
	PGconn *pg;
	int id;	     /* 1, 2, ... in creation order */
	int pid;     /* the backend's process id */
	double born; /* lc_now() when it was created */
};

enum lc_kind { LC_TIMED, LC_TRY }; /* how a client acquires */

struct lclient {
	enum lc_kind kind;
	int parked;
	pthread_t th;
};

/* The running scenario (one per process). */
struct lc {
	const char *mode;
	char conninfo[600]; /* $LFPOOL_PG_CONNINFO + application_name */
	const char *hook;   /* $LFPOOL_PG_HOOK: stop|start|restart */
	FILE *summary;	    /* --summary: one Markdown row per mode */
	lfp_pool *pool;
	double t0;
	pthread_mutex_t lock; /* output, last_err, pids */
	/* The factory's view. */
	atomic_int next_id;
	atomic_long creates, create_ok, destroys;
	atomic_long sec_creates[LC_SECS]; /* create() calls per second */
	char last_err[200];		  /* libpq's last connect error */
	/* The clients (lc_spawn): what they run and what they saw. */
	const char *sql;     /* one query per acquisition */
	double think_s;	     /* pause between acquisitions */
	uint64_t timeout_ns; /* LC_TIMED clients */
	int track_pids;	     /* collect the query's result in pids[] */
	double max_age;	     /* > 0: count handouts older than this */
	atomic_int stop, pause, paused;
	atomic_long mark_us;	 /* counts split "before"/"after" here (us;
				    0: none): lfp_evict_all, server back up */
	atomic_long first_ok_us; /* the first query ok after mark_us */
	atomic_long ok, dead, acq_fail; /* dead: a query failed on a
					   connection the pool handed out */
	atomic_long ok_after, dead_after, acq_fail_after, stale_after;
	atomic_long too_old;
	atomic_long sec_res[LC_SECS][2][LFP_ERR_COUNT_]; /* per second,
							    kind, result */
	atomic_long sec_wait_us[LC_SECS]; /* LC_TIMED: time in acquire */
	int pids[64], npids;		  /* distinct results this window */
};

extern struct lc L;

double lc_now(void); /* seconds since the mode started */
void lc_nap(double s);
void lc_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the mode's verdict (and append it to --summary); returns 0 on
 * pass, 1 on fail. */
int lc_verdict(int pass, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

lfp_config lc_config(uint64_t capacity); /* the connection factory */
int lc_open(lfp_config *cfg);		 /* L.pool; 0 on success */
/* lfp_destroy, then check every connection opened was closed: 0 if so. */
int lc_finish(lfp_stats *final);
int lc_server(const char *what); /* run the hook: 0 on success */
PGconn *lc_admin(void);		 /* a connection outside the pool */

void lc_spawn(struct lclient *cl, int n);
void lc_pause(struct lclient *cl, int n); /* wait until all are parked */
void lc_resume(void);
void lc_join(struct lclient *cl, int n);
void lc_reset_counts(void);

/* Print the wait/hold/create histograms as a Markdown table. */
void lc_hist_table(const lfp_stats *st);

int lc_close(void);
int lc_failover(void);
int lc_keepalive(void);
int lc_lifetime(void);
int lc_leak(void);
int lc_backoff(void);
int lc_histograms(void);

#endif
