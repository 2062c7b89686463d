/*
 * pg_pool — a pool of PostgreSQL connections (libpq). The connection string
 * comes from $LFPOOL_PG_CONNINFO (e.g. "host=127.0.0.1 port=54329
 * user=postgres dbname=postgres connect_timeout=2"). The factory:
 *   create   PQconnectdb, fails unless PQstatus is CONNECTION_OK,
 *   validate PQstatus plus "SELECT 1" (a dead server fails here, so dead
 *            connections are discarded, never handed out),
 *   reset    rolls back a transaction a client left open,
 *   destroy  PQfinish.
 * With --min-seconds S the clients keep querying for S seconds, so the
 * server can be stopped and restarted under them (scripts/examples.sh).
 * With --lifecycle MODE it shows lfpool 0.2's lifecycle instead (close,
 * failover, keepalive, lifetime, leak, backoff, histograms: pg_lifecycle.c).
 */
#define _GNU_SOURCE
#include "pg_lifecycle.h"
#include "pool_demo.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct conn {
	PGconn *pg;
	int id;
};

struct ctx {
	const char *conninfo;
	atomic_int next_id;
};

int pg_run(PGconn *pg, const char *sql, long *count)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(r);
	int bad = st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK;
	if (!bad && count)
		*count = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return bad;
}

static int p_connect(void *vctx, void *vconn)
{
	struct ctx *ctx = vctx;
	struct conn *c = vconn;
	c->pg = PQconnectdb(ctx->conninfo);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		PQfinish(c->pg);
		c->pg = NULL;
		return 1;
	}
	c->id = atomic_fetch_add(&ctx->next_id, 1) + 1;
	return 0;
}

static int p_alive(void *vctx, void *vconn)
{
	(void)vctx;
	struct conn *c = vconn;
	return c->pg && PQstatus(c->pg) == CONNECTION_OK &&
	       pg_run(c->pg, "SELECT 1", NULL) == 0;
}

static int p_reset(void *vctx, void *vconn)
{
	(void)vctx;
	struct conn *c = vconn;
	if (PQstatus(c->pg) != CONNECTION_OK)
		return 1; /* dead: discard */
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		return pg_run(c->pg, "ROLLBACK", NULL);
	return 0;
}

static void p_close(void *vctx, void *vconn)
{
	(void)vctx;
	struct conn *c = vconn;
	PQfinish(c->pg);
	c->pg = NULL;
}

static int p_query(void *vctx, void *vconn, int thread, int i)
{
	(void)vctx;
	struct conn *c = vconn;
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO lfpool_queries(thread, query, conn) VALUES "
		 "(%d, %d, %d)",
		 thread, i, c->id);
	return pg_run(c->pg, sql, NULL);
}

static int p_conn_id(const void *vconn)
{
	return ((const struct conn *)vconn)->id;
}

static long p_count_rows(void *vctx)
{
	struct ctx *ctx = vctx;
	struct conn c;
	long n = -1;
	/* The server may be down right now (outage test): retry a while. */
	for (int tries = 0; tries < 50; tries++) {
		if (p_connect(ctx, &c) == 0) {
			if (pg_run(c.pg, "SELECT count(*) FROM lfpool_queries",
				   &n))
				n = -1;
			p_close(ctx, &c);
			break;
		}
		struct timespec ts = {0, 200000000};
		nanosleep(&ts, NULL);
	}
	return n;
}

int main(int argc, char **argv)
{
	static struct ctx ctx;
	ctx.conninfo = getenv("LFPOOL_PG_CONNINFO");
	if (!ctx.conninfo) {
		fprintf(stderr,
			"set LFPOOL_PG_CONNINFO (see scripts/examples.sh)\n");
		return 2;
	}
	if (argc > 2 && !strcmp(argv[1], "--lifecycle"))
		return pg_lifecycle(ctx.conninfo, argc - 2, argv + 2);
	struct demo_opts o;
	demo_parse(argc, argv, &o);
	struct conn setup;
	if (p_connect(&ctx, &setup)) {
		fprintf(stderr, "cannot connect: %s\n", ctx.conninfo);
		return 1;
	}
	if (pg_run(setup.pg,
		   "CREATE TABLE IF NOT EXISTS lfpool_queries(id serial "
		   "PRIMARY "
		   "KEY, thread int, query int, conn int)",
		   NULL))
		return 1;
	p_close(&ctx, &setup);
	atomic_store(&ctx.next_id, 0);
	static const struct db_ops ops = {
		.name = "postgresql",
		.program = "pg_pool",
		.conn_size = sizeof(struct conn),
		.connect = p_connect,
		.alive = p_alive,
		.reset = p_reset,
		.close = p_close,
		.query = p_query,
		.conn_id = p_conn_id,
		.count_rows = p_count_rows,
	};
	return demo_run(&ops, &ctx, &o);
}
