/*
 * db.c - a small pool of libpq connections in non-blocking mode, driven by
 * libevent, so no query ever blocks the loop.
 *
 * Each connection runs one query at a time; queries queue in order while
 * all are busy. A lost connection fails its query (the caller decides
 * whether that means HTTP 500), then reconnects with capped exponential
 * backoff, while the process keeps serving.
 */
#include "storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "log.h"
#include "metrics.h"

#define DB_BACKOFF_MIN_MS	100
#define DB_BACKOFF_MAX_MS	5000
#define DB_MAX_PREPARED		16

enum db_conn_state {
	DB_DOWN,
	DB_CONNECTING,
	DB_IDLE,
	DB_BUSY,
	DB_RESERVED,	/* inside a transaction, between its statements */
	DB_BROKEN,	/* failed while sending: torn down from the loop */
};

enum db_job_role {
	DB_JOB_QUERY,
	DB_JOB_BEGIN,	/* opens job->txn on whichever connection runs it */
	DB_JOB_END,	/* COMMIT or ROLLBACK: the connection is free again */
	DB_JOB_LISTEN,	/* the pool's LISTEN statements, after each connect */
};

struct db_job {
	TAILQ_ENTRY(db_job) link;
	enum db_job_role role;
	struct db_txn	*txn;		/* the transaction it belongs to */
	const char	*stmt;		/* prepared statement name, or NULL */
	char		*sql;
	char		**values;
	int		*lengths;	/* of binary values; NULL: all text */
	int		*formats;
	int		 nparams;
	db_result_fn	 cb;
	void		*arg;
};

struct db_txn {
	struct db_conn	*conn;		/* NULL once the session is gone */
	db_txn_fn	 begun;
	void		*arg;
	bool		 busy;		/* a statement is in flight */
};

TAILQ_HEAD(db_job_queue, db_job);

struct db_conn {
	struct db_pool		*pool;
	int			 id;
	PGconn			*pg;
	enum db_conn_state	 state;
	struct event		*io;		/* socket readiness */
	struct event		*retry;		/* reconnect timer */
	struct event		*broken;	/* deferred db_conn_lost */
	char			 broken_why[160];
	int			 backoff_ms;
	struct db_job		*job;		/* in flight */
	struct db_txn		*txn;		/* open on this connection */
	PGresult		*result;	/* of job, gathered so far */
	bool			 preparing;	/* job waits for its PREPARE */
	const char		*prepared[DB_MAX_PREPARED];
	int			 nprepared;
};

struct db_pool {
	struct event_base	*base;
	const char		*name;		/* for logs and metrics */
	char			*conninfo;
	char			*options;	/* server settings for the session */
	int			 size;
	struct db_conn		*conns;
	struct db_job_queue	 queue;
	struct event		*fail_queued;	/* deferred: no connection left */
	bool			 closing;
	char			*listen_sql;	/* "LISTEN a; LISTEN b", or NULL */
	db_notify_fn		 notify;
	void			*notify_arg;
	void			(*on_connect)(void *arg);
	void			*on_connect_arg;
};

static void	db_conn_connect(struct db_conn *conn);
static void	db_conn_send(struct db_conn *conn, struct db_job *job);
static void	db_conn_fail_later(struct db_conn *conn, const char *why);
static void	db_conn_lost(struct db_conn *conn, const char *why);
static void	db_pool_dispatch(struct db_pool *pool);

static void
db_job_free(struct db_job *job)
{
	for (int i = 0; i < job->nparams; i++)
		free(job->values[i]);
	free(job->values);
	free(job->lengths);
	free(job->formats);
	free(job->sql);
	free(job);
}

/* A job that never ran: its owner hears why. */
static void
db_job_fail(struct db_job *job, const char *why)
{
	if (job->role == DB_JOB_BEGIN) {
		job->txn->begun(job->txn->arg, NULL, why);
		free(job->txn);
	} else
		job->cb(job->arg, NULL, why);
	db_job_free(job);
}

/* Copies a parameter: a string, or lengths[i] bytes where formats[i] is 1. */
static char *
db_param_copy(const char *v, int i, const int *lengths, const int *formats)
{
	char *c;

	if (formats == NULL || formats[i] == 0)
		return strdup(v);
	if ((c = malloc(lengths[i] > 0 ? (size_t)lengths[i] : 1)) != NULL)
		memcpy(c, v, (size_t)lengths[i]);
	return c;
}

static struct db_job *
db_job_new_binary(const char *stmt, const char *sql, int nparams,
    const char *const *values, const int *lengths, const int *formats,
    db_result_fn cb, void *arg)
{
	struct db_job *job = calloc(1, sizeof(*job));
	size_t n = (size_t)nparams;

	if (job == NULL)
		return NULL;
	job->stmt = stmt;
	job->cb = cb;
	job->arg = arg;
	if ((job->sql = strdup(sql)) == NULL ||
	    (nparams > 0 &&
	    (job->values = calloc(n, sizeof(char *))) == NULL))
		goto fail;
	if (formats != NULL && nparams > 0) {
		if ((job->lengths = malloc(n * sizeof(int))) == NULL ||
		    (job->formats = malloc(n * sizeof(int))) == NULL)
			goto fail;
		memcpy(job->lengths, lengths, n * sizeof(int));
		memcpy(job->formats, formats, n * sizeof(int));
	}
	for (; job->nparams < nparams; job->nparams++) {
		const char *v = values[job->nparams];

		if (v != NULL && (job->values[job->nparams] = db_param_copy(v,
		    job->nparams, lengths, formats)) == NULL)
			goto fail;
	}
	return job;
fail:
	db_job_free(job);
	return NULL;
}

static struct db_job *
db_job_new(const char *stmt, const char *sql, int nparams,
    const char *const *values, db_result_fn cb, void *arg)
{
	return db_job_new_binary(stmt, sql, nparams, values, NULL, NULL, cb,
	    arg);
}

static void
db_pool_update_gauge(struct db_pool *pool)
{
	char labels[64];

	snprintf(labels, sizeof(labels), "pool=\"%s\"", pool->name);
	metrics_set("madoguchi_db_connections_up", labels,
	    (uint64_t)db_pool_connected(pool));
}

/* First line of libpq's message, for a log value without newlines. */
static void
db_first_line(const char *msg, char *buf, size_t len)
{
	size_t n = strcspn(msg, "\r\n");

	if (n >= len)
		n = len - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '"')
			buf[i] = '\'';
}

/* (Re)arms the socket watcher with the events libpq is waiting for. */
static void
db_conn_watch(struct db_conn *conn, short what, event_callback_fn cb)
{
	if (conn->io != NULL)
		event_free(conn->io);
	conn->io = event_new(conn->pool->base, PQsocket(conn->pg), what, cb,
	    conn);
	if (conn->io == NULL || event_add(conn->io, NULL) != 0)
		db_conn_fail_later(conn, "cannot watch socket");
}

static bool
db_result_ok(const PGresult *res)
{
	return res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK);
}

/* BEGIN answered: the transaction now owns the connection, or failed. */
static void
db_conn_begun(struct db_conn *conn, struct db_txn *txn, const PGresult *res,
    const char *why)
{
	if (db_result_ok(res) && conn->state == DB_IDLE) {
		conn->state = DB_RESERVED;
		conn->txn = txn;
		txn->conn = conn;
		txn->begun(txn->arg, txn, NULL);
		return;
	}
	txn->begun(txn->arg, NULL, why != NULL ? why :
	    res != NULL ? PQresultErrorMessage(res) : "cannot begin");
	free(txn);
}

static void
db_conn_finish_job(struct db_conn *conn, PGresult *res, const char *why)
{
	struct db_job *job = conn->job;

	conn->job = NULL;
	conn->result = NULL;
	if (conn->state == DB_BUSY)
		conn->state = conn->txn != NULL ? DB_RESERVED : DB_IDLE;
	switch (job->role) {
	case DB_JOB_BEGIN:
		db_conn_begun(conn, job->txn, res, why);
		break;
	case DB_JOB_END:
		if (conn->txn == job->txn) {
			conn->txn = NULL;
			if (conn->state == DB_RESERVED)
				conn->state = DB_IDLE;
		}
		job->cb(job->arg, res, why);
		free(job->txn);
		break;
	case DB_JOB_LISTEN:
		if (!db_result_ok(res))
			log_warn("db.listen_failed", "pool=%s", conn->pool->name);
		else if (conn->pool->notify != NULL)	/* may have missed some */
			conn->pool->notify(conn->pool->notify_arg, NULL, NULL);
		break;
	case DB_JOB_QUERY:
		if (job->txn != NULL)
			job->txn->busy = false;
		job->cb(job->arg, res, why);
		break;
	}
	PQclear(res);
	db_job_free(job);
}

/* Keeps the most telling result of a job: its first error, else its last. */
static void
db_conn_keep_result(struct db_conn *conn, PGresult *res)
{
	if (conn->result != NULL &&
	    PQresultStatus(conn->result) == PGRES_FATAL_ERROR) {
		PQclear(res);
		return;
	}
	PQclear(conn->result);
	conn->result = res;
}

static bool
db_conn_has_prepared(const struct db_conn *conn, const char *stmt)
{
	for (int i = 0; i < conn->nprepared; i++)
		if (conn->prepared[i] == stmt || strcmp(conn->prepared[i], stmt) == 0)
			return true;
	return false;
}

/*
 * The PREPARE of conn->job finished: true if it succeeded, and the job may
 * now run; false leaves the server's error as the job's result.
 */
static bool
db_conn_prepared(struct db_conn *conn)
{
	conn->preparing = false;
	if (conn->result != NULL &&
	    PQresultStatus(conn->result) == PGRES_FATAL_ERROR)
		return false;
	PQclear(conn->result);
	conn->result = NULL;
	/* There is room: db_conn_send prepares only while there is. */
	conn->prepared[conn->nprepared++] = conn->job->stmt;
	return true;
}

static void
db_conn_collect(struct db_conn *conn)
{
	struct db_pool *pool = conn->pool;
	PGnotify *n;

	while ((n = PQnotifies(conn->pg)) != NULL) {
		if (pool->notify != NULL)
			pool->notify(pool->notify_arg, n->relname, n->extra);
		PQfreemem(n);
	}
	while (conn->job != NULL && !PQisBusy(conn->pg)) {
		PGresult *res = PQgetResult(conn->pg);

		if (res != NULL) {
			db_conn_keep_result(conn, res);
			continue;
		}
		if (conn->preparing && db_conn_prepared(conn)) {
			db_conn_send(conn, conn->job);	/* now run it */
			continue;
		}
		db_conn_finish_job(conn, conn->result, NULL);
		db_pool_dispatch(conn->pool);
		return;
	}
}

static void
db_conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *conn = arg;

	(void)fd;
	if (conn->state == DB_BROKEN)
		return;
	if (what & EV_WRITE) {
		int r = PQflush(conn->pg);

		if (r < 0) {
			db_conn_lost(conn, PQerrorMessage(conn->pg));
			return;
		}
		if (r == 0)	/* all sent: from now on only wait to read */
			db_conn_watch(conn, EV_READ | EV_PERSIST, db_conn_io_cb);
	}
	if (what & EV_READ) {
		if (!PQconsumeInput(conn->pg) ||
		    PQstatus(conn->pg) == CONNECTION_BAD) {
			db_conn_lost(conn, PQerrorMessage(conn->pg));
			return;
		}
		db_conn_collect(conn);
	}
}

/* A statement of an open transaction, or a LISTEN: only this session will do. */
static bool
db_job_bound(const struct db_job *job)
{
	return job->role == DB_JOB_LISTEN || job->role == DB_JOB_END ||
	    (job->role == DB_JOB_QUERY && job->txn != NULL);
}

/*
 * Sends a job; a named statement is first prepared on this connection,
 * once, and from then on only bound and executed (no parse, no plan).
 */
static void
db_conn_send(struct db_conn *conn, struct db_job *job)
{
	const char *const *values = (const char *const *)job->values;
	int r, sent;

	if (job->role == DB_JOB_LISTEN)	/* several statements, no parameters */
		sent = PQsendQuery(conn->pg, job->sql);
	else if (job->stmt != NULL && db_conn_has_prepared(conn, job->stmt))
		sent = PQsendQueryPrepared(conn->pg, job->stmt, job->nparams,
		    values, job->lengths, job->formats, 0);
	else if (job->stmt == NULL || conn->nprepared == DB_MAX_PREPARED)
		/* no room to remember one more: planned each time, as before */
		sent = PQsendQueryParams(conn->pg, job->sql, job->nparams, NULL,
		    values, job->lengths, job->formats, 0);
	else if ((sent = PQsendPrepare(conn->pg, job->stmt, job->sql,
	    job->nparams, NULL)))
		conn->preparing = true;
	if (!sent && db_job_bound(job)) {
		/* It belongs to this session: it fails with it, from the loop. */
		conn->job = job;
		conn->state = DB_BUSY;
		db_conn_fail_later(conn, PQerrorMessage(conn->pg));
		return;
	}
	if (!sent) {
		/* Never reached the server: it may run on another connection. */
		if (conn->job == job) {	/* its PREPARE had */
			conn->job = NULL;
			conn->preparing = false;
			PQclear(conn->result);
			conn->result = NULL;
		}
		TAILQ_INSERT_HEAD(&conn->pool->queue, job, link);
		db_conn_fail_later(conn, PQerrorMessage(conn->pg));
		return;
	}
	conn->job = job;
	conn->state = DB_BUSY;
	if ((r = PQflush(conn->pg)) < 0)
		db_conn_fail_later(conn, PQerrorMessage(conn->pg));
	else if (r == 1)
		db_conn_watch(conn, EV_READ | EV_WRITE | EV_PERSIST,
		    db_conn_io_cb);
}

static void
db_pool_dispatch(struct db_pool *pool)
{
	for (int i = 0; i < pool->size && !TAILQ_EMPTY(&pool->queue); i++) {
		struct db_conn *conn = &pool->conns[i];
		struct db_job *job;

		if (conn->state != DB_IDLE)
			continue;
		job = TAILQ_FIRST(&pool->queue);
		TAILQ_REMOVE(&pool->queue, job, link);
		db_conn_send(conn, job);
	}
}

static void
db_listen_done(void *arg, const PGresult *res, const char *why)
{
	(void)arg;
	(void)res;
	(void)why;
}

/* A listening pool's session first says what it listens to. */
static bool
db_conn_listen(struct db_conn *conn)
{
	struct db_job *job;

	if (conn->pool->listen_sql == NULL)
		return false;
	job = db_job_new(NULL, conn->pool->listen_sql, 0, NULL, db_listen_done,
	    NULL);
	if (job == NULL) {
		db_conn_fail_later(conn, "out of memory");
		return true;
	}
	job->role = DB_JOB_LISTEN;
	db_conn_send(conn, job);
	return true;
}

static void
db_conn_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *conn = arg;

	(void)fd;
	(void)what;
	switch (PQconnectPoll(conn->pg)) {
	case PGRES_POLLING_READING:
		db_conn_watch(conn, EV_READ, db_conn_poll_cb);
		break;
	case PGRES_POLLING_WRITING:
		db_conn_watch(conn, EV_WRITE, db_conn_poll_cb);
		break;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(conn->pg, 1) != 0) {
			db_conn_lost(conn, "cannot set non-blocking mode");
			break;
		}
		conn->state = DB_IDLE;
		conn->backoff_ms = DB_BACKOFF_MIN_MS;
		log_info("db.connected", "pool=%s conn=%d", conn->pool->name, conn->id);
		db_pool_update_gauge(conn->pool);
		db_conn_watch(conn, EV_READ | EV_PERSIST, db_conn_io_cb);
		if (!db_conn_listen(conn))
			db_pool_dispatch(conn->pool);
		if (conn->pool->on_connect != NULL &&
		    db_pool_connected(conn->pool) == 1)
			conn->pool->on_connect(conn->pool->on_connect_arg);
		break;
	default:
		db_conn_lost(conn, PQerrorMessage(conn->pg));
	}
}

static void
db_conn_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	db_conn_connect(arg);
}

static void
db_conn_connect(struct db_conn *conn)
{
	/*
	 * Later keywords override what the URI says (libpq's rule). A server
	 * that vanishes without a word (a dead host, a dropped route) must
	 * fail the connection in seconds, not after TCP's own minutes.
	 */
	static const char *const keys[] = { "dbname",
	    "fallback_application_name", "options", "connect_timeout",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "tcp_user_timeout", NULL };
	const char *values[] = { conn->pool->conninfo, "madoguchid",
	    conn->pool->options, "5", "10", "5", "3", "15000", NULL };

	conn->pg = PQconnectStartParams(keys, values, 1);
	if (conn->pg == NULL || PQstatus(conn->pg) == CONNECTION_BAD) {
		db_conn_lost(conn, conn->pg ? PQerrorMessage(conn->pg) :
		    "out of memory");
		return;
	}
	conn->state = DB_CONNECTING;
	/* libpq: start as if PQconnectPoll had asked to write. */
	db_conn_watch(conn, EV_WRITE, db_conn_poll_cb);
}

static void
db_pool_fail_queued_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_pool *pool = arg;
	struct db_job *job;

	(void)fd;
	(void)what;
	if (db_pool_connected(pool) > 0)
		return;
	while ((job = TAILQ_FIRST(&pool->queue)) != NULL) {
		TAILQ_REMOVE(&pool->queue, job, link);
		db_job_fail(job, "no database connection");
	}
}

static void
db_conn_broken_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *conn = arg;

	(void)fd;
	(void)what;
	if (conn->state == DB_BROKEN)
		db_conn_lost(conn, conn->broken_why);
}

/*
 * A failure found while sending, possibly inside db_query(): the caller
 * must not see its callback run before db_query returns, so the teardown
 * (and the job's failure) happens from the loop.
 */
static void
db_conn_fail_later(struct db_conn *conn, const char *why)
{
	snprintf(conn->broken_why, sizeof(conn->broken_why), "%s", why);
	conn->state = DB_BROKEN;
	event_active(conn->broken, 0, 0);
}

static void
db_conn_lost(struct db_conn *conn, const char *why)
{
	struct timeval tv;
	char reason[200];
	int delay;

	db_first_line(why, reason, sizeof(reason));
	log_warn("db.connection_lost", "pool=%s conn=%d retry_ms=%d "
	    "reason=\"%s\"", conn->pool->name, conn->id, conn->backoff_ms,
	    reason);
	metrics_add("madoguchi_db_connection_failures_total", "", 1);
	if (conn->io != NULL) {
		event_free(conn->io);
		conn->io = NULL;
	}
	PQfinish(conn->pg);
	conn->pg = NULL;
	conn->state = DB_DOWN;
	conn->nprepared = 0;	/* statements die with their session */
	conn->preparing = false;
	if (conn->txn != NULL) {	/* its owner learns it from db_txn_* */
		conn->txn->conn = NULL;
		conn->txn = NULL;
	}
	db_pool_update_gauge(conn->pool);

	/* Jitter, so processes that lost the same server do not return in step. */
	delay = conn->backoff_ms * 3 / 4 + rand() % (conn->backoff_ms / 2 + 1);
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	event_add(conn->retry, &tv);
	conn->backoff_ms = conn->backoff_ms * 2 > DB_BACKOFF_MAX_MS ?
	    DB_BACKOFF_MAX_MS : conn->backoff_ms * 2;

	if (conn->job != NULL) {
		PQclear(conn->result);
		conn->result = NULL;
		db_conn_finish_job(conn, NULL, "connection lost");
	}
	if (db_pool_connected(conn->pool) == 0)
		event_active(conn->pool->fail_queued, 0, 0);
}

struct db_pool *
db_pool_new(struct event_base *base, const char *name, const char *conninfo,
    int size, const char *options)
{
	struct db_pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return NULL;
	pool->base = base;
	pool->name = name;
	pool->size = size;
	TAILQ_INIT(&pool->queue);
	pool->conninfo = strdup(conninfo);
	pool->options = strdup(options);
	pool->conns = calloc((size_t)size, sizeof(*pool->conns));
	pool->fail_queued = event_new(base, -1, 0, db_pool_fail_queued_cb, pool);
	if (pool->conninfo == NULL || pool->options == NULL ||
	    pool->conns == NULL ||
	    pool->fail_queued == NULL)
		goto fail;
	metrics_describe("madoguchi_db_connections_up", "gauge",
	    "PostgreSQL connections of this process that are up");
	for (int i = 0; i < size; i++) {
		struct db_conn *conn = &pool->conns[i];

		conn->pool = pool;
		conn->id = i;
		conn->backoff_ms = DB_BACKOFF_MIN_MS;
		if ((conn->retry = evtimer_new(base, db_conn_retry_cb, conn)) == NULL ||
		    (conn->broken = event_new(base, -1, 0, db_conn_broken_cb,
		    conn)) == NULL)
			goto fail;
	}
	db_pool_update_gauge(pool);
	for (int i = 0; i < size; i++)
		db_conn_connect(&pool->conns[i]);
	return pool;
fail:
	db_pool_free(pool);
	return NULL;
}

void
db_pool_free(struct db_pool *pool)
{
	struct db_job *job;

	if (pool == NULL)
		return;
	/* Callbacks below may query again: from now on they are refused. */
	pool->closing = true;
	for (int i = 0; pool->conns != NULL && i < pool->size; i++) {
		struct db_conn *conn = &pool->conns[i];

		if (conn->io != NULL)
			event_free(conn->io);
		if (conn->retry != NULL)
			event_free(conn->retry);
		if (conn->broken != NULL)
			event_free(conn->broken);
		PQclear(conn->result);
		conn->result = NULL;
		PQfinish(conn->pg);
		conn->pg = NULL;
		conn->state = DB_DOWN;
		if (conn->txn != NULL) {
			conn->txn->conn = NULL;
			conn->txn = NULL;
		}
		if (conn->job != NULL)
			db_conn_finish_job(conn, NULL, "shutting down");
	}
	while ((job = TAILQ_FIRST(&pool->queue)) != NULL) {
		TAILQ_REMOVE(&pool->queue, job, link);
		db_job_fail(job, "shutting down");
	}
	if (pool->fail_queued != NULL)
		event_free(pool->fail_queued);
	free(pool->conns);
	free(pool->listen_sql);
	free(pool->conninfo);
	free(pool->options);
	free(pool);
}

int
db_pool_connected(const struct db_pool *pool)
{
	int n = 0;

	for (int i = 0; i < pool->size; i++)
		if (pool->conns[i].state == DB_IDLE ||
		    pool->conns[i].state == DB_BUSY ||
		    pool->conns[i].state == DB_RESERVED)
			n++;
	return n;
}

/* Takes a new job (NULL: out of memory), unless no session can run it. */
static bool
db_pool_enqueue(struct db_pool *pool, struct db_job *job)
{
	if (job == NULL)
		return false;
	if (pool->closing || db_pool_connected(pool) == 0) {
		db_job_free(job);
		return false;
	}
	TAILQ_INSERT_TAIL(&pool->queue, job, link);
	db_pool_dispatch(pool);
	return true;
}

bool
db_query(struct db_pool *pool, const char *sql, int nparams,
    const char *const *values, db_result_fn cb, void *arg)
{
	return db_pool_enqueue(pool, db_job_new(NULL, sql, nparams, values, cb,
	    arg));
}

bool
db_query_prepared(struct db_pool *pool, const char *stmt, const char *sql,
    int nparams, const char *const *values, db_result_fn cb, void *arg)
{
	return db_pool_enqueue(pool, db_job_new(stmt, sql, nparams, values, cb,
	    arg));
}

bool
db_query_prepared_binary(struct db_pool *pool, const char *stmt,
    const char *sql, int nparams, const char *const *values,
    const int *lengths, const int *formats, db_result_fn cb, void *arg)
{
	return db_pool_enqueue(pool, db_job_new_binary(stmt, sql, nparams,
	    values, lengths, formats, cb, arg));
}

static void
db_txn_begun_noop(void *arg, const PGresult *res, const char *why)
{
	(void)arg;
	(void)res;
	(void)why;
}

bool
db_txn_begin(struct db_pool *pool, db_txn_fn begun, void *arg)
{
	struct db_txn *txn;
	struct db_job *job;

	if (pool->closing || db_pool_connected(pool) == 0)
		return false;
	if ((txn = calloc(1, sizeof(*txn))) == NULL)
		return false;
	if ((job = db_job_new(NULL, "BEGIN", 0, NULL, db_txn_begun_noop,
	    NULL)) == NULL) {
		free(txn);
		return false;
	}
	txn->begun = begun;
	txn->arg = arg;
	job->role = DB_JOB_BEGIN;
	job->txn = txn;
	TAILQ_INSERT_TAIL(&pool->queue, job, link);
	db_pool_dispatch(pool);
	return true;
}

static bool
db_txn_send(struct db_txn *txn, enum db_job_role role, const char *stmt,
    const char *sql, int nparams, const char *const *values, db_result_fn cb,
    void *arg)
{
	struct db_job *job;

	if (txn->conn == NULL || txn->busy ||
	    txn->conn->state != DB_RESERVED)
		return false;
	if ((job = db_job_new(stmt, sql, nparams, values, cb, arg)) == NULL)
		return false;
	job->role = role;
	job->txn = txn;
	txn->busy = role == DB_JOB_QUERY;
	db_conn_send(txn->conn, job);
	return true;
}

bool
db_txn_query(struct db_txn *txn, const char *sql, int nparams,
    const char *const *values, db_result_fn cb, void *arg)
{
	return db_txn_send(txn, DB_JOB_QUERY, NULL, sql, nparams, values, cb,
	    arg);
}

bool
db_txn_query_prepared(struct db_txn *txn, const char *stmt, const char *sql,
    int nparams, const char *const *values, db_result_fn cb, void *arg)
{
	return db_txn_send(txn, DB_JOB_QUERY, stmt, sql, nparams, values, cb,
	    arg);
}

bool
db_txn_end(struct db_txn *txn, bool commit, db_result_fn cb, void *arg)
{
	if (txn->busy)		/* the owner's bug: keep the session intact */
		return false;
	if (db_txn_send(txn, DB_JOB_END, NULL, commit ? "COMMIT" : "ROLLBACK",
	    0, NULL, cb, arg))
		return true;
	if (txn->conn != NULL) {	/* could not send: the session goes */
		txn->conn->txn = NULL;
		db_conn_fail_later(txn->conn, "cannot end transaction");
	}
	free(txn);
	return false;
}

bool
db_pool_listen(struct db_pool *pool, const char *const *channels,
    db_notify_fn notify, void *arg)
{
	size_t len = 1;
	char *sql;

	for (size_t i = 0; channels[i] != NULL; i++)
		len += strlen(channels[i]) + sizeof("LISTEN \"\";");
	if ((sql = malloc(len)) == NULL)
		return false;
	sql[0] = '\0';
	for (size_t i = 0; channels[i] != NULL; i++) {
		strcat(sql, "LISTEN \"");
		strcat(sql, channels[i]);
		strcat(sql, "\";");
	}
	free(pool->listen_sql);
	pool->listen_sql = sql;
	pool->notify = notify;
	pool->notify_arg = arg;
	for (int i = 0; i < pool->size; i++)
		if (pool->conns[i].state == DB_IDLE)
			(void)db_conn_listen(&pool->conns[i]);
	return true;
}

void
db_pool_on_connect(struct db_pool *pool, void (*fn)(void *arg), void *arg)
{
	pool->on_connect = fn;
	pool->on_connect_arg = arg;
}

const char *
db_sqlstate(const PGresult *res)
{
	const char *s = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
	    NULL;

	return s != NULL ? s : "none";
}
