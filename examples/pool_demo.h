/*
 * pool_demo — the seed's connection-pool demo, for any database.
 *
 * `threads` client threads each run `queries` queries over a pool of
 * `capacity` connections (the seed: 10 threads, 8 connections), printing
 * which connection served which query; then the same queries are run
 * opening a fresh connection per query, and both are timed.
 */
#ifndef POOL_DEMO_H
#define POOL_DEMO_H

#include <stddef.h>
#include <stdint.h>

struct db_ops {
	const char *name;    /* results file name */
	const char *program; /* the example binary, for the results file */
	size_t conn_size;
	/* The lfpool factory: open, check, roll back, close. */
	int (*connect)(void *ctx, void *conn); /* 0 = ok */
	int (*alive)(void *ctx, void *conn);   /* non-zero = usable */
	int (*reset)(void *ctx, void *conn);   /* 0 = keep */
	void (*close)(void *ctx, void *conn);
	/* One query on an open connection: 0 = ok. */
	int (*query)(void *ctx, void *conn, int thread, int i);
	/* The connection's number, for the demo printout. */
	int (*conn_id)(const void *conn);
	/* Rows the queries inserted so far (to check none was lost). */
	long (*count_rows)(void *ctx);
};

struct demo_opts {
	int threads;	     /* client threads */
	int queries;	     /* per thread */
	int capacity;	     /* pool size */
	int verbose;	     /* print every query's connection */
	int unpooled;	     /* also run connect-per-query for comparison */
	double outage_s;     /* run at least this long (server outage tests) */
	const char *results; /* write <results>/<name>.md and .csv, or NULL */
	const char *machine; /* description for the results file */
};

/* Parse --threads/--queries/--capacity/--quiet/--no-compare/--results/
 * --min-seconds into opts (defaults: the seed's 10 x 8). */
void demo_parse(int argc, char **argv, struct demo_opts *o);

/* Run the demo; returns 0 when every query succeeded and no connection
 * leaked, 1 otherwise (with the reason printed). */
int demo_run(const struct db_ops *ops, void *ctx, const struct demo_opts *o);

#endif
