/*
 * sqlite_pool — a pool of SQLite connections (the embedded default: no
 * server needed). 10 client threads share 8 connections to one database
 * file in WAL mode; each query inserts a row. The factory:
 *   create   opens the file (WAL, busy timeout),
 *   validate runs "SELECT 1",
 *   reset    rolls back a transaction a client left open,
 *   destroy  closes the connection.
 *
 *   sqlite_pool [--db FILE] [pool_demo options]
 */
#define _GNU_SOURCE
#include "pool_demo.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct conn {
	sqlite3 *db;
	int id;
};

struct ctx {
	char path[512];
	atomic_int next_id;
};

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "sqlite: %s: %s\n", sql, msg ? msg : "?");
		sqlite3_free(msg);
	}
	return rc != SQLITE_OK;
}

static int s_connect(void *vctx, void *vconn)
{
	struct ctx *ctx = vctx;
	struct conn *c = vconn;
	if (sqlite3_open_v2(ctx->path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		sqlite3_close(c->db);
		c->db = NULL;
		return 1;
	}
	sqlite3_busy_timeout(c->db, 10000);
	if (exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")) {
		sqlite3_close(c->db);
		return 1;
	}
	c->id = atomic_fetch_add(&ctx->next_id, 1) + 1;
	return 0;
}

static int s_alive(void *vctx, void *vconn)
{
	(void)vctx;
	struct conn *c = vconn;
	return c->db && exec(c->db, "SELECT 1") == 0;
}

static int s_reset(void *vctx, void *vconn)
{
	(void)vctx;
	struct conn *c = vconn;
	if (!sqlite3_get_autocommit(c->db))
		return exec(c->db, "ROLLBACK"); /* failure: discard it */
	return 0;
}

static void s_close(void *vctx, void *vconn)
{
	(void)vctx;
	struct conn *c = vconn;
	sqlite3_close(c->db);
	c->db = NULL;
}

static int s_query(void *vctx, void *vconn, int thread, int i)
{
	(void)vctx;
	struct conn *c = vconn;
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO queries(thread, query, conn) VALUES (%d, %d, %d)",
		 thread, i, c->id);
	return exec(c->db, sql);
}

static int s_conn_id(const void *vconn)
{
	return ((const struct conn *)vconn)->id;
}

static long s_count_rows(void *vctx)
{
	struct ctx *ctx = vctx;
	sqlite3 *db;
	long n = -1;
	if (sqlite3_open(ctx->path, &db) == SQLITE_OK) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM queries", -1,
				       &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

int main(int argc, char **argv)
{
	static struct ctx ctx;
	const char *db = NULL;
	/* Our own option first; the rest are pool_demo's. */
	if (argc > 2 && !strcmp(argv[1], "--db")) {
		db = argv[2];
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	struct demo_opts o;
	demo_parse(argc, argv, &o);
	if (db)
		snprintf(ctx.path, sizeof(ctx.path), "%s", db);
	else
		snprintf(ctx.path, sizeof(ctx.path), "/tmp/lfpool-sqlite-%d.db",
			 (int)getpid());
	struct conn setup;
	if (s_connect(&ctx, &setup) ||
	    exec(setup.db, "CREATE TABLE IF NOT EXISTS queries(id INTEGER "
			   "PRIMARY KEY, thread INT, query INT, conn INT)"))
		return 1;
	s_close(&ctx, &setup);
	atomic_store(&ctx.next_id, 0);

	static const struct db_ops ops = {
		.name = "sqlite",
		.program = "sqlite_pool",
		.conn_size = sizeof(struct conn),
		.connect = s_connect,
		.alive = s_alive,
		.reset = s_reset,
		.close = s_close,
		.query = s_query,
		.conn_id = s_conn_id,
		.count_rows = s_count_rows,
	};
	int rc = demo_run(&ops, &ctx, &o);
	if (!db) {
		char aux[600];
		unlink(ctx.path);
		snprintf(aux, sizeof(aux), "%s-wal", ctx.path);
		unlink(aux);
		snprintf(aux, sizeof(aux), "%s-shm", ctx.path);
		unlink(aux);
	}
	return rc;
}
