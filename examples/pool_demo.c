/* pool_demo.c — see pool_demo.h. */
#define _GNU_SOURCE
#include "pool_demo.h"

#include <lfpool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define ACQUIRE_TIMEOUT_NS (5ull * 1000000000ull)

struct demo {
	const struct db_ops *ops;
	void *ctx;
	const struct demo_opts *o;
	lfp_pool *pool; /* NULL: connect per query */
	atomic_long opened, closed, ok, failed;
	double start;
	double *lat; /* per query, seconds */
	atomic_long n_lat;
	long lat_cap;
	pthread_mutex_t print_lock;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int f_create(void *ctx, void *conn)
{
	struct demo *d = ctx;
	if (d->ops->connect(d->ctx, conn) != 0)
		return 1;
	atomic_fetch_add(&d->opened, 1);
	return 0;
}

static int f_validate(void *ctx, void *conn)
{
	struct demo *d = ctx;
	return d->ops->alive(d->ctx, conn);
}

static int f_reset(void *ctx, void *conn)
{
	struct demo *d = ctx;
	return d->ops->reset(d->ctx, conn);
}

static void f_destroy(void *ctx, void *conn)
{
	struct demo *d = ctx;
	d->ops->close(d->ctx, conn);
	atomic_fetch_add(&d->closed, 1);
}

static void record(struct demo *d, double secs)
{
	long i = atomic_fetch_add(&d->n_lat, 1);
	if (i < d->lat_cap)
		d->lat[i] = secs;
}

/* One query: pooled (acquire, query, release) or connect-per-query. */
static int one_query(struct demo *d, int t, int i, void *scratch)
{
	const struct db_ops *ops = d->ops;
	double t0 = now_s();
	int rc;
	if (d->pool) {
		void *conn;
		lfp_err err =
			lfp_acquire_timed(d->pool, &conn, ACQUIRE_TIMEOUT_NS);
		if (err != LFP_OK) {
			/* The first few failures, then a summary at the end. */
			if (atomic_load(&d->failed) < 5) {
				pthread_mutex_lock(&d->print_lock);
				printf("thread %d query %d: no connection: "
				       "%s\n",
				       t, i, lfp_strerror(err));
				pthread_mutex_unlock(&d->print_lock);
			}
			return 1;
		}
		rc = ops->query(d->ctx, conn, t, i);
		if (d->o->verbose) {
			pthread_mutex_lock(&d->print_lock);
			printf("thread %d query %d served by connection "
			       "#%d%s\n",
			       t, i, ops->conn_id(conn), rc ? " (FAILED)" : "");
			pthread_mutex_unlock(&d->print_lock);
		}
		lfp_release(d->pool, conn);
	} else {
		rc = ops->connect(d->ctx, scratch);
		if (rc == 0) {
			rc = ops->query(d->ctx, scratch, t, i);
			ops->close(d->ctx, scratch);
		}
	}
	if (rc == 0)
		record(d, now_s() - t0);
	return rc != 0;
}

struct worker_arg {
	struct demo *d;
	int t;
};

static void *worker(void *arg)
{
	struct worker_arg *w = arg;
	struct demo *d = w->d;
	void *scratch = calloc(1, d->ops->conn_size);
	int tail_failures = 0; /* failures among this thread's last queries */
	for (int i = 0; scratch; i++) {
		bool more = i < d->o->queries ||
			    (d->pool && now_s() - d->start < d->o->outage_s);
		if (!more)
			break;
		int bad = one_query(d, w->t, i, scratch);
		atomic_fetch_add(bad ? &d->failed : &d->ok, 1);
		tail_failures = bad ? tail_failures + 1 : 0;
		if (bad)
			nanosleep(&(struct timespec){0, 50000000}, NULL);
	}
	free(scratch);
	return (void *)(intptr_t)tail_failures;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct phase {
	const char *mode;
	long ok, failed;
	double secs, p50, p99, mean;
	long opened;
};

static int run_phase(struct demo *d, struct phase *ph, int *not_recovered)
{
	const struct demo_opts *o = d->o;
	atomic_store(&d->ok, 0);
	atomic_store(&d->failed, 0);
	atomic_store(&d->n_lat, 0);
	pthread_t th[o->threads];
	struct worker_arg args[o->threads];
	d->start = now_s();
	for (int t = 0; t < o->threads; t++) {
		args[t] = (struct worker_arg){d, t};
		if (pthread_create(&th[t], NULL, worker, &args[t]) != 0)
			return 1;
	}
	*not_recovered = 0;
	for (int t = 0; t < o->threads; t++) {
		void *tail;
		pthread_join(th[t], &tail);
		*not_recovered += tail != NULL;
	}
	ph->secs = now_s() - d->start;
	ph->ok = atomic_load(&d->ok);
	ph->failed = atomic_load(&d->failed);
	long n = atomic_load(&d->n_lat);
	if (n > d->lat_cap)
		n = d->lat_cap;
	qsort(d->lat, (size_t)n, sizeof(double), cmp_double);
	double sum = 0;
	for (long i = 0; i < n; i++)
		sum += d->lat[i];
	ph->mean = n ? sum / (double)n : 0;
	ph->p50 = n ? d->lat[n / 2] : 0;
	ph->p99 = n ? d->lat[(long)((double)(n - 1) * 0.99)] : 0;
	return 0;
}

static void write_results(const struct demo *d, const struct phase *ph, int n)
{
	const struct demo_opts *o = d->o;
	char path[512];
	mkdir(o->results, 0755);
	snprintf(path, sizeof(path), "%s/%s.csv", o->results, d->ops->name);
	FILE *csv = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/%s.md", o->results, d->ops->name);
	FILE *md = fopen(path, "w");
	if (!csv || !md) {
		fprintf(stderr, "cannot write results to %s\n", o->results);
		if (csv)
			fclose(csv);
		if (md)
			fclose(md);
		return;
	}
	fprintf(csv, "db,mode,threads,capacity,queries_ok,queries_failed,"
		     "seconds,queries_per_s,mean_ms,p50_ms,p99_ms,"
		     "connections_opened\n");
	fprintf(md, "# %s: pooled vs connect-per-query\n\n", d->ops->name);
	fprintf(md,
		"Produced by `%s` (`examples/%s.c`, run by "
		"`scripts/examples.sh`; %d threads x %d queries, "
		"pool capacity %d)%s%s.\n\n",
		d->ops->program, d->ops->program, o->threads, o->queries,
		o->capacity, o->machine ? " on " : "",
		o->machine ? o->machine : "");
	fprintf(md, "| mode | queries ok | failed | seconds | queries/s | mean "
		    "ms | p50 ms | p99 ms | connections opened |\n");
	fprintf(md, "|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < n; i++) {
		const struct phase *p = &ph[i];
		double qps = p->secs > 0 ? (double)p->ok / p->secs : 0;
		fprintf(csv,
			"%s,%s,%d,%d,%ld,%ld,%.4f,%.1f,%.4f,%.4f,%.4f,%ld\n",
			d->ops->name, p->mode, o->threads, o->capacity, p->ok,
			p->failed, p->secs, qps, p->mean * 1e3, p->p50 * 1e3,
			p->p99 * 1e3, p->opened);
		fprintf(md,
			"| %s | %ld | %ld | %.3f | %.0f | %.3f | %.3f | %.3f | "
			"%ld |\n",
			p->mode, p->ok, p->failed, p->secs, qps, p->mean * 1e3,
			p->p50 * 1e3, p->p99 * 1e3, p->opened);
	}
	if (n == 2 && ph[0].mean > 0)
		fprintf(md,
			"\nConnect-per-query costs %.1fx the pooled query "
			"(mean latency).\n",
			ph[1].mean / ph[0].mean);
	fclose(csv);
	fclose(md);
	printf("results written to %s/%s.md\n", o->results, d->ops->name);
}

int demo_run(const struct db_ops *ops, void *ctx, const struct demo_opts *o)
{
	struct demo d = {.ops = ops, .ctx = ctx, .o = o};
	pthread_mutex_init(&d.print_lock, NULL);
	d.lat_cap = (long)o->threads * o->queries * 4 + 100000;
	d.lat = calloc((size_t)d.lat_cap, sizeof(double));
	if (!d.lat)
		return 1;

	lfp_config cfg = LFP_CONFIG_INIT;
	cfg.object_size = ops->conn_size;
	cfg.capacity = (uint64_t)o->capacity;
	cfg.validate_on = LFP_VALIDATE_ON_ACQUIRE;
	cfg.factory = (lfp_factory){.create = f_create,
				    .validate = f_validate,
				    .reset = f_reset,
				    .destroy = f_destroy,
				    .ctx = &d};
	lfp_err err = lfp_create(&cfg, &d.pool);
	if (err) {
		fprintf(stderr, "lfp_create: %s\n", lfp_strerror(err));
		return 1;
	}
	long rows0 = ops->count_rows(ctx);
	struct phase ph[2] = {{.mode = "pooled"},
			      {.mode = "connect-per-query"}};
	int not_recovered, fail = 0;
	run_phase(&d, &ph[0], &not_recovered);
	lfp_stats st = LFP_STATS_INIT;
	lfp_get_stats(d.pool, &st);
	ph[0].opened = (long)st.creates;
	printf("%s pooled: %ld queries ok, %ld failed in %.3f s; %lu "
	       "connections opened, %lu discarded by validation, peak %lu "
	       "live\n",
	       ops->name, ph[0].ok, ph[0].failed, ph[0].secs, st.creates,
	       st.validation_failures, st.peak_live);
	if (st.in_use != 0) {
		printf("FAIL: %lu connections still out after the run\n",
		       st.in_use);
		fail = 1;
	}
	if (st.peak_live > (uint64_t)o->capacity) {
		printf("FAIL: %lu live connections > capacity\n", st.peak_live);
		fail = 1;
	}
	long rows = ops->count_rows(ctx) - rows0;
	if (rows != ph[0].ok) {
		printf("FAIL: %ld rows inserted, %ld queries reported ok\n",
		       rows, ph[0].ok);
		fail = 1;
	}
	if (o->outage_s > 0) {
		if (not_recovered) {
			printf("FAIL: %d threads still failing at the end "
			       "(pool did "
			       "not recover)\n",
			       not_recovered);
			fail = 1;
		}
	} else if (ph[0].failed) {
		printf("FAIL: %ld queries failed\n", ph[0].failed);
		fail = 1;
	}
	err = lfp_destroy(d.pool, NULL);
	if (err != LFP_OK || atomic_load(&d.opened) != atomic_load(&d.closed)) {
		printf("FAIL: leak: destroy says %s, %ld opened, %ld closed\n",
		       lfp_strerror(err), atomic_load(&d.opened),
		       atomic_load(&d.closed));
		fail = 1;
	}
	int phases = 1;
	if (o->unpooled && o->outage_s == 0) {
		d.pool = NULL;
		run_phase(&d, &ph[1], &not_recovered);
		ph[1].opened = ph[1].ok + ph[1].failed;
		phases = 2;
		printf("%s connect-per-query: %ld queries ok, %ld failed in "
		       "%.3f s\n",
		       ops->name, ph[1].ok, ph[1].failed, ph[1].secs);
		if (ph[1].failed) {
			printf("FAIL: %ld unpooled queries failed\n",
			       ph[1].failed);
			fail = 1;
		}
		printf("mean latency per query: pooled %.3f ms, "
		       "connect-per-query "
		       "%.3f ms (%.1fx)\n",
		       ph[0].mean * 1e3, ph[1].mean * 1e3,
		       ph[0].mean > 0 ? ph[1].mean / ph[0].mean : 0);
	}
	if (o->results && !fail)
		write_results(&d, ph, phases);
	free(d.lat);
	if (fail)
		printf("%s: FAILED\n", ops->name);
	else if (o->outage_s > 0)
		printf("%s: recovered (%ld queries failed while the server was "
		       "away, every client succeeded again at the end), no "
		       "connection leaked\n",
		       ops->name, ph[0].failed);
	else
		printf("%s: all queries served, no connection leaked\n",
		       ops->name);
	return fail;
}

void demo_parse(int argc, char **argv, struct demo_opts *o)
{
	*o = (struct demo_opts){.threads = 10,
				.queries = 20,
				.capacity = 8,
				.verbose = 1,
				.unpooled = 1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
		if (!strcmp(a, "--threads"))
			o->threads = atoi(v), i++;
		else if (!strcmp(a, "--queries"))
			o->queries = atoi(v), i++;
		else if (!strcmp(a, "--capacity"))
			o->capacity = atoi(v), i++;
		else if (!strcmp(a, "--min-seconds"))
			o->outage_s = atof(v), i++;
		else if (!strcmp(a, "--results"))
			o->results = v, i++;
		else if (!strcmp(a, "--machine"))
			o->machine = v, i++;
		else if (!strcmp(a, "--quiet"))
			o->verbose = 0;
		else if (!strcmp(a, "--no-compare"))
			o->unpooled = 0;
		else {
			fprintf(stderr,
				"usage: %s [--threads N] [--queries N] "
				"[--capacity N] [--min-seconds S] [--results "
				"DIR] "
				"[--machine TEXT] [--quiet] [--no-compare]\n",
				argv[0]);
			exit(2);
		}
	}
	if (o->threads < 1 || o->threads > 1024 || o->queries < 0 ||
	    o->capacity < 1) {
		fprintf(stderr, "bad numbers\n");
		exit(2);
	}
}
