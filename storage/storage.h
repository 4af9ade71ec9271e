/*
 * storage.h - madoguchi's PostgreSQL: connections on the event loop, the
 * group-committed ingest of inbound events, and schema migrations.
 *
 * Nothing here knows LINE: receivers (webhook/, later webchat/) hand over
 * channel-neutral inbound events.
 */
#ifndef MADOGUCHI_STORAGE_H
#define MADOGUCHI_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

struct event_base;
struct keyring;

/* ---- db.c: a pool of non-blocking connections driven by libevent ---- */

struct db_pool;

/*
 * The result of one query. res is the server's answer (PGRES_TUPLES_OK,
 * PGRES_COMMAND_OK or PGRES_FATAL_ERROR) and is freed after the call;
 * res is NULL when the query could not run (connection lost, or the pool
 * shut down), with why saying so.
 */
typedef void (*db_result_fn)(void *arg, const PGresult *res, const char *why);

/*
 * Starts size connections to conninfo (a libpq URI or key=value string;
 * "" uses the PG* environment) and keeps them up, reconnecting with backoff.
 * options are server settings for each session ("-c name=value ...");
 * name (a constant) labels its logs and metrics.
 */
struct db_pool	*db_pool_new(struct event_base *base, const char *name,
		    const char *conninfo, int size, const char *options);

/* Sessions for ordinary queries: nothing may hang a connection for long. */
#define DB_OPTIONS_DEFAULT	"-c statement_timeout=10s" \
	" -c idle_in_transaction_session_timeout=30s"
/*
 * Closes every connection. Queries still running or queued get their
 * callback now, with res NULL ("shutting down").
 */
void		 db_pool_free(struct db_pool *pool);
int		 db_pool_connected(const struct db_pool *pool);

/*
 * Queues one statement with text parameters (copied). Returns false, and
 * will never call cb, when no connection is up; otherwise cb is called
 * exactly once, later, from the loop.
 */
bool		 db_query(struct db_pool *pool, const char *sql, int nparams,
		    const char *const *values, db_result_fn cb, void *arg)
		    __attribute__((warn_unused_result));

/*
 * The same for a statement run often: stmt names it (a string constant
 * that outlives the pool); each connection prepares it once, so later
 * calls skip parsing and planning.
 */
bool		 db_query_prepared(struct db_pool *pool, const char *stmt,
		    const char *sql, int nparams, const char *const *values,
		    db_result_fn cb, void *arg) __attribute__((warn_unused_result));

/*
 * The same with parameters in binary form where formats[i] is 1: then
 * values[i] holds lengths[i] bytes (copied), in the type's wire format.
 * lengths and formats have nparams entries each (text ones: 0).
 */
bool		 db_query_prepared_binary(struct db_pool *pool,
		    const char *stmt, const char *sql, int nparams,
		    const char *const *values, const int *lengths,
		    const int *formats, db_result_fn cb, void *arg)
		    __attribute__((warn_unused_result));

/* A result's SQLSTATE for a log line: "none" when there is none. */
const char	*db_sqlstate(const PGresult *res);

/*
 * Transactions: several statements on one connection, with the caller's
 * own work (sealing, deciding) between them. begun gets the transaction,
 * or NULL with why. Statements go one at a time: send the next from the
 * previous one's callback. Whatever happens, the owner ends what it began
 * with db_txn_end, which frees it; false from db_txn_query or db_txn_end
 * means the session is gone (it rolled back) and no callback will come.
 */
struct db_txn;
typedef void (*db_txn_fn)(void *arg, struct db_txn *txn, const char *why);

bool		 db_txn_begin(struct db_pool *pool, db_txn_fn begun, void *arg)
		    __attribute__((warn_unused_result));
bool		 db_txn_query(struct db_txn *txn, const char *sql, int nparams,
		    const char *const *values, db_result_fn cb, void *arg)
		    __attribute__((warn_unused_result));
/* The same for a statement run often (see db_query_prepared). */
bool		 db_txn_query_prepared(struct db_txn *txn, const char *stmt,
		    const char *sql, int nparams, const char *const *values,
		    db_result_fn cb, void *arg) __attribute__((warn_unused_result));
bool		 db_txn_end(struct db_txn *txn, bool commit, db_result_fn cb,
		    void *arg);

/*
 * LISTEN on a pool of its own (size 1): after every (re)connect its
 * session listens to channels (NULL-terminated), and then notify is
 * called with channel NULL, since notifications may have been missed
 * while it was down.
 */
typedef void (*db_notify_fn)(void *arg, const char *channel,
    const char *payload);
bool		 db_pool_listen(struct db_pool *pool,
		    const char *const *channels, db_notify_fn notify, void *arg)
		    __attribute__((warn_unused_result));

/*
 * fn(arg) each time the pool goes from no session to one (at start-up and
 * after an outage): reads that failed for want of a connection can be
 * made now rather than at their owner's next timer.
 */
void		 db_pool_on_connect(struct db_pool *pool, void (*fn)(void *arg),
		    void *arg);

/*
 * A contact paused by a supervisor at the instant now (a parameter): the
 * console and the desk's metrics leave such a contact's conversation out
 * of what is overdue.
 */
#define SQL_RESTRICTED(contact, now) \
"EXISTS (SELECT 1 FROM contact_restrictions r WHERE r.contact_id = " contact \
"   AND r.lifted_at IS NULL AND (r.ends_at IS NULL"\
"        OR r.ends_at > " now "::timestamptz))"

/* ---- ingest.c: inbound events, stored before anyone is told "OK" ---- */

enum inbound_kind {
	INBOUND_MESSAGE,	/* the person wrote or sent something */
	INBOUND_FOLLOW,		/* added the account, or unblocked it */
	INBOUND_UNFOLLOW,	/* blocked the account */
	INBOUND_UNSEND,		/* retracted an earlier message */
};

/* One event as a receiver hands it over; strings are borrowed. */
struct inbound_event {
	enum inbound_kind kind;
	const char	*event_key;	/* unique per event: dedupe key */
	const char	*contact_ref;	/* the channel's id for the person */
	const char	*message_kind;	/* "text", "image", ... (MESSAGE) */
	const char	*message_ref;	/* channel's message id (MESSAGE, UNSEND) */
	const char	*text;		/* UTF-8 (MESSAGE of kind "text") */
	size_t		 text_len;
	int64_t		 occurred_us;	/* when it happened, per the channel */
	const char	*reply_token;	/* may be NULL */
	bool		 redelivery;
	bool		 unblocked;	/* FOLLOW: was blocked before */
	bool		 webchat;	/* came through the desk's web chat */
};

enum ingest_outcome { INGEST_COMMITTED, INGEST_FAILED };
typedef void (*ingest_done_fn)(void *arg, enum ingest_outcome outcome);

struct ingest;

/*
 * Channel kind and name say which channels row the events belong to. The
 * pool is the ingest's own, opened with INGEST_DB_OPTIONS: one connection
 * suffices, since one batch is in flight at a time.
 */
struct ingest	*ingest_new(struct db_pool *pool, const struct keyring *keys,
		    const char *channel_kind, const char *channel_name);

/*
 * Generic plans, made once: re-planning the batch statement on every call
 * cost more than running it. No sequential or bitmap scans: a plan made
 * while the tables were small must still probe indexes when they are
 * large. (The crisis trigger's look at a conversation's last messages,
 * planned on a fresh database, fetched all of them by bitmap and sorted
 * them: 175 us a message instead of 18, bench box, December 2026.)
 */
#define INGEST_DB_OPTIONS	DB_OPTIONS_DEFAULT \
	" -c plan_cache_mode=force_generic_plan -c enable_seqscan=off" \
	" -c enable_bitmapscan=off"
void		 ingest_free(struct ingest *ing);

/*
 * Takes the n > 0 events of one delivery; text is sealed before this returns.
 * done is called once, after the transaction holding them committed or
 * failed (deliveries arriving together share one transaction). Returns
 * false, and never calls done, when it cannot take them now: no database
 * connection, shutting down, or out of memory.
 */
bool		 ingest_submit(struct ingest *ing,
		    const struct inbound_event *events, size_t n,
		    ingest_done_fn done, void *arg)
		    __attribute__((warn_unused_result));
/*
 * The desk's calendar and auto-replies (autoreply/) sit above storage, so
 * they hook in. calendar(t) says when the desk's current closed period
 * began (-1 while open) and when a reply to a message received at t is
 * due (-1 if unknown): a conversation that starts waiting gets that
 * deadline, and the batch statement queues for a decision only the events
 * that may still call for an auto-reply. queued runs after a commit that
 * queued any. Both run on the loop.
 */
struct ingest_calendar {
	int64_t	closed_since_us;
	int64_t	reply_due_us;
	bool	strict;		/* line_mode strict: every LINE text gets a
				 * decision (the hand-off link) */
};
typedef void (*ingest_calendar_fn)(void *arg, int64_t now_us,
    struct ingest_calendar *out);
typedef void (*ingest_queued_fn)(void *arg);
void		 ingest_set_autoreply(struct ingest *ing,
		    ingest_calendar_fn calendar, ingest_queued_fn queued,
		    void *arg);
/*
 * The crisis check (crisis/ sits above storage, so it hooks in): called
 * on the loop for each text as it is submitted. level and context_level
 * are 0 none, 1 medium, 2 high; the context level applies when one of
 * the conversation's recent messages gave cause for concern (the
 * messages_crisis_context trigger decides). A rise is recorded, and
 * alerted, in the transaction that stores the message.
 */
struct ingest_crisis {
	int	level, context_level;
	char	rule[96], context_rule[96];
};
typedef void (*ingest_crisis_fn)(void *arg, const char *text, size_t len,
    struct ingest_crisis *out);
void		 ingest_set_crisis(struct ingest *ing, ingest_crisis_fn check,
		    void *arg);
/* Deliveries taken but not yet answered. */
size_t		 ingest_pending(const struct ingest *ing);
/* Refuses new deliveries from now on (shutdown). */
void		 ingest_close(struct ingest *ing);

/* ---- migrate.c: forward-only schema migrations ---- */

struct migration {
	int		 version;
	const char	*name;
	const char	*sql;
};

/* Compiled in from storage/migrations/NNN_name.sql, in order. */
extern const struct migration	storage_migrations[];
extern const size_t		storage_migrations_count;

int	migrations_latest(void);
/*
 * SQL that reads the applied version in one row, one column. On a database
 * never migrated it fails with SQLSTATE 42P01 (undefined_table): version 0.
 */
extern const char migrations_version_sql[];

/*
 * Blocking: for the CLI only, never on the daemon's loop. Applies every
 * missing migration, each in its own transaction, under an advisory lock so
 * two migrators cannot interleave; reports each one applied on out.
 */
bool	migrations_apply(PGconn *conn, FILE *out, char *err, size_t errlen)
	    __attribute__((warn_unused_result));
/* Blocking: the applied version, or -1 with err set. */
int	migrations_applied(PGconn *conn, char *err, size_t errlen);

#endif
