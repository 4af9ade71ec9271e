/*
 * worker.c - deciding the auto-replies for queued events, on the loop.
 *
 * One transaction per handful of events: take them (SKIP LOCKED), lock
 * their contacts (so no other process decides for the same person at the
 * same time), read what was already said in this closed period or this
 * wait, decide here (decide.c), write each reply to the outbox, mark
 * what was said, and drop the events from the queue. A crash anywhere rolls it all back
 * and the events are decided again.
 */
#include "autoreply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "storage.h"
#include "worker_internal.h"

#define WORKER_STR_(x)		#x
#define WORKER_STR(x)		WORKER_STR_(x)
#define WORKER_TICK_S		2
#define WORKER_RELOAD_S		60

#define EPOCH_US(x) "(extract(epoch FROM " x ") * 1e6)::bigint"

/*
 * The events to decide, oldest first, but none another process holds.
 * The claim also has the transaction's later statements (all prepared)
 * run their generic plan at once: the pool plans them "auto", which for
 * a batch of a few events planned each one afresh every time (0.6 ms for
 * the state statement of a single event, 0.01 ms with the plan kept).
 * A plan kept may have been made on nearly empty tables, where reading a
 * whole table looks cheapest: no sequential scans, as on the ingest's
 * connection (with them, the lock and mark statements read every contact
 * and conversation, 82 ms a batch at 110,000 conversations, December 2026).
 */
static const char worker_claim_sql[] =
"WITH generic AS ("
"  SELECT set_config('plan_cache_mode', 'force_generic_plan', true),"
"    set_config('enable_seqscan', 'off', true)"
") "
"SELECT p.id, p.contact_id FROM autoreply_pending p, generic"
" WHERE p.channel_id = (SELECT id FROM channels WHERE kind = $1 AND name = $2)"
" ORDER BY p.id LIMIT " WORKER_STR(WORKER_BATCH) " FOR UPDATE OF p SKIP LOCKED";

/*
 * NO KEY: the ingest's inserts of conversations hold KEY SHARE on their
 * contact (the foreign key); this lock must not make them wait.
 */
static const char worker_lock_sql[] =
"SELECT id FROM contacts WHERE id = ANY ($1::bigint[]) ORDER BY id"
" FOR NO KEY UPDATE";

/*
 * $1 the events, $2 conversations one counsellor may hold at once (unless
 * their account says otherwise), $3 now. Only staff signed in to a
 * console count: a live, fully signed-in session, used within the desk's
 * idle time.
 *
 * Prepared: planning it took 1 to 3 ms, ten times its running. So it is
 * planned once per connection (see worker_claim_sql), maybe while the
 * tables are small, and it reaches each event's rows by index probes
 * (LATERAL ... LIMIT 1): as plain joins, the generic plan scanned every
 * contact and conversation. A restriction or a hand-off link is a scalar
 * probe too, not EXISTS, which such a plan made a hash of every live
 * restriction or unused link (expired cooldowns are never lifted, so that
 * set only grows). The two counts, waiting conversations ahead and a
 * counsellor's open ones, read ranges of their own indexes (migration
 * 018): before, each event read every open conversation of the desk
 * (14 ms a batch of 64 at 1,500 open conversations, and 606 ms with a
 * plan made on empty tables; 1.7 ms now, December 2026).
 */
static const char worker_state_sql[] =
"WITH present AS ("
"  SELECT s.* FROM staff s"
"   WHERE s.disabled_at IS NULL AND s.role IN ('counsellor', 'supervisor')"
"     AND s.presence <> 'offline' AND EXISTS ("
"       SELECT 1 FROM sessions ss WHERE ss.staff_id = s.id"
"          AND ss.ended_at IS NULL AND ss.stage = 'full'"
"          AND ss.expires_at > $3::timestamptz"
"          AND ss.last_seen_at > $3::timestamptz - make_interval(mins =>"
"            coalesce((SELECT (value #>> '{}')::int FROM settings"
"                       WHERE channel_id IS NULL"
"                         AND key = 'session_idle_minutes'), 30)))"
"), staffing AS ("
"  SELECT count(*) FILTER (WHERE s.presence = 'online') AS online,"
"    count(*) AS signed_in,"
"    count(*) FILTER (WHERE s.role = 'supervisor') AS supervisors,"
"    coalesce(sum(greatest(0, coalesce(s.capacity, $2::integer) -"
"        (SELECT count(*) FROM conversations x WHERE x.assignee_id = s.id"
"          AND x.state <> 'closed'))) FILTER (WHERE s.presence = 'online'),"
"      0) AS free_slots"
"    FROM present s"
") "
"SELECT p.id, p.kind, p.contact_id, p.conversation_id, p.message_kind,"
"  p.unblocked, p.channel_id, " EPOCH_US("c.after_hours_replied_at") ","
"  cv.state, " EPOCH_US("cv.waiting_since") ", "
    EPOCH_US("cv.busy_replied_at") ", " EPOCH_US("cv.text_only_replied_at") ","
"  coalesce(a.presence = 'online', false), we.reply_token,"
"  " EPOCH_US("we.received_at") ","
"  (SELECT count(*) FROM conversations w WHERE w.channel_id = p.channel_id"
"     AND w.state = 'waiting' AND w.assignee_id IS NULL"
"     AND w.waiting_since < cv.waiting_since),"
"  st.online, st.signed_in, st.supervisors, st.free_slots,"
"  coalesce((SELECT true FROM contact_restrictions r"
"              WHERE r.contact_id = p.contact_id AND r.lifted_at IS NULL"
"                AND (r.ends_at IS NULL OR r.ends_at > $3::timestamptz)"
"              LIMIT 1), false),"
"  cv.crisis_level, " EPOCH_US("cv.crisis_raised_at") ","
"  " EPOCH_US("cv.crisis_replied_at") ", p.via = 'webchat',"
"  coalesce((SELECT true FROM handoff_links l"
"              WHERE l.contact_id = p.contact_id AND l.used_at IS NULL"
"                AND l.expires_at > $3::timestamptz LIMIT 1), false)"
"  FROM (SELECT DISTINCT id FROM unnest($1::bigint[]) AS u(id)) q,"
"  LATERAL (SELECT * FROM autoreply_pending WHERE id = q.id LIMIT 1) p,"
"  LATERAL (SELECT after_hours_replied_at FROM contacts"
"            WHERE id = p.contact_id LIMIT 1) c"
"  LEFT JOIN LATERAL (SELECT * FROM conversations"
"                      WHERE id = p.conversation_id LIMIT 1) cv ON true"
"  LEFT JOIN LATERAL (SELECT presence FROM staff"
"                      WHERE id = cv.assignee_id LIMIT 1) a ON true"
"  LEFT JOIN LATERAL (SELECT reply_token, received_at FROM webhook_events"
"                      WHERE channel_id = p.channel_id"
"                        AND event_key = p.event_key LIMIT 1) we ON true"
"  CROSS JOIN staffing st"
" ORDER BY p.id";

/* What was said, so it is said once; the decided events leave the queue. */
static const char worker_mark_sql[] =
"WITH d AS (DELETE FROM autoreply_pending WHERE id = ANY ($1::bigint[])"
"  RETURNING 1"
"), ah AS (UPDATE contacts SET after_hours_replied_at = $2"
"  WHERE id = ANY ($3::bigint[]) RETURNING 1"
"), cv AS (UPDATE conversations SET"
"    busy_replied_at = CASE WHEN id = ANY ($4::bigint[])"
"      THEN $2::timestamptz ELSE busy_replied_at END,"
"    text_only_replied_at = CASE WHEN id = ANY ($5::bigint[])"
"      THEN $2::timestamptz ELSE text_only_replied_at END,"
"    crisis_replied_at = CASE WHEN id = ANY ($6::bigint[])"
"      THEN $2::timestamptz ELSE crisis_replied_at END"
"  WHERE id = ANY ($4::bigint[]) OR id = ANY ($5::bigint[])"
"     OR id = ANY ($6::bigint[]) RETURNING 1"
") "
"SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM ah),"
"  (SELECT count(*) FROM cv)";

static void	worker_run(struct autoreply *ar);

static void	batch_write_next(struct batch *b);

/* ---- the desk's settings ---- */

static void
worker_loaded(void *arg, const PGresult *res, const char *why)
{
	struct autoreply *ar = arg;
	struct desk_settings fresh;
	char err[256];
	int problems;

	ar->loading = false;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("autoreply.settings_unreadable", "sqlstate=%s reason=\"%s\"",
		    db_sqlstate(res), why != NULL ? why : "rejected by server");
		return;
	}
	desk_settings_init(&fresh);
	if ((problems = desk_settings_load_result(&fresh, res, err,
	    sizeof(err))) > 0)
		log_warn("autoreply.settings_invalid", "count=%d first=\"%s\"",
		    problems, err);
	desk_settings_free(&ar->desk);
	ar->desk = fresh;
	ar->desk.cal.exceptions = ar->desk.exceptions;
	ar->ready = true;
	ar->loaded_us = clock_now_us();
	worker_run(ar);
}

void
autoreply_reload(struct autoreply *ar)
{
	const char *params[2] = { ar->channel_kind, ar->channel_name };

	if (ar->loading || ar->closed)
		return;
	if (db_query(ar->pool, desk_settings_sql, 2, params, worker_loaded, ar))
		ar->loading = true;
}

/* ---- the transaction ---- */

static void
batch_free(struct batch *b)
{
	for (int i = 0; i < b->nd; i++) {
		free(b->d[i].text);
		free(b->d[i].reply_token);
	}
	if (b->ids != NULL)
		evbuffer_free(b->ids);
	for (int i = 0; i < MARKS; i++)
		if (b->mark[i] != NULL)
			evbuffer_free(b->mark[i]);
	free(b);
}

/* The batch is over, committed or not; more may be waiting. */
static void
batch_done(struct batch *b, bool committed)
{
	struct autoreply *ar = b->ar;
	bool full = b->claimed == WORKER_BATCH;

	ar->batch = NULL;
	if (committed && b->nd > 0) {
		int replies = 0;

		for (int i = 0; i < b->nd; i++)
			replies += b->d[i].text != NULL;
		metrics_add("madoguchi_autoreply_decisions_total", "", (uint64_t)b->nd);
		metrics_add("madoguchi_autoreply_replies_total", "", (uint64_t)replies);
		log_info("autoreply.decided", "events=%d replies=%d", b->nd, replies);
		if (replies > 0)
			outbox_sender_wake(ar->sender);
	}
	batch_free(b);
	if (!ar->closed && committed && (full || ar->again))
		worker_run(ar);
}

static void
batch_ended(void *arg, const PGresult *res, const char *why)
{
	struct batch *b = arg;
	bool ok = !b->failed && res != NULL &&
	    PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!b->failed && !ok)
		log_warn("autoreply.commit_failed", "sqlstate=%s reason=\"%s\"",
		    db_sqlstate(res), why != NULL ? why : "rejected by server");
	batch_done(b, ok);
}

/* Ends the transaction; a failure anywhere rolls everything back. */
static void
batch_end(struct batch *b, bool commit, const char *step, const PGresult *res,
    const char *why)
{
	if (!commit && step != NULL)
		log_warn("autoreply.batch_failed", "step=%s sqlstate=%s reason=\"%s\"",
		    step, db_sqlstate(res), res ? "rejected by server" :
		    why ? why : "cannot send");
	b->failed = !commit;	/* a ROLLBACK also answers COMMAND_OK */
	if (!db_txn_end(b->txn, commit, batch_ended, b))
		batch_done(b, false);
}

static bool
result_ok(const PGresult *res, ExecStatusType want)
{
	return res != NULL && PQresultStatus(res) == want;
}

static void
batch_marked(void *arg, const PGresult *res, const char *why)
{
	struct batch *b = arg;

	batch_end(b, result_ok(res, PGRES_TUPLES_OK), "mark", res, why);
}

static void
batch_mark(struct batch *b)
{
	char now[CLOCK_ISO_LEN];
	const char *params[2 + MARKS];
	char *lists[MARKS];

	clock_format_utc(b->now_us, now);
	for (int i = 0; i < MARKS; i++) {
		evbuffer_prepend(b->mark[i], "{", 1);
		evbuffer_add(b->mark[i], "}", 2);	/* with its NUL */
		lists[i] = (char *)evbuffer_pullup(b->mark[i], -1);
	}
	params[0] = (const char *)evbuffer_pullup(b->ids, -1);
	params[1] = now;
	for (int i = 0; i < MARKS; i++)
		params[2 + i] = lists[i];
	if (!db_txn_query_prepared(b->txn, "autoreply_mark", worker_mark_sql,
	    2 + MARKS, params, batch_marked, b))
		batch_end(b, false, "mark", NULL, NULL);
}

static void
batch_written(void *arg, const PGresult *res, const char *why)
{
	struct batch *b = arg;

	if (!result_ok(res, PGRES_TUPLES_OK)) {
		batch_end(b, false, "outbox", res, why);
		return;
	}
	b->next++;
	batch_write_next(b);
}

/* Each reply to the outbox, one statement after another. */
static void
batch_write_next(struct batch *b)
{
	struct autoreply *ar = b->ar;

	while (b->next < b->nd && b->d[b->next].text == NULL)
		b->next++;
	if (b->next == b->nd) {
		batch_mark(b);
		return;
	}
	{
		struct decision *d = &b->d[b->next];
		char template[sizeof(d->kinds)], url[OUTBOX_LINK_URL_MAX];
		char hash[65];
		struct outbox_item it = {
			.conversation_id = d->conversation_id[0] != '\0' ?
			    d->conversation_id : NULL,
			.contact_id = d->contact_id,
			.channel_id = d->channel_id,
			.direction = "auto",
			.autoreply = d->kinds,
			.template = template,	/* the kinds, without braces */
			.text = d->text,
			.text_len = strlen(d->text),
			.reply_token = d->reply_token,
			.reply_token_us = d->token_us,
			.now_us = b->now_us,
			.give_up_us = b->now_us + ar->give_up_s * 1000000,
		};

		snprintf(template, sizeof(template), "%.*s",
		    (int)strcspn(d->kinds + 1, "}"), d->kinds + 1);
		if (d->link && outbox_link_make(ar->public_url, url, hash)) {
			it.link_url = url;
			it.link_hash = hash;
			it.link_purpose = "start";
		}
		if (!(d->webchat ? outbox_add_webchat(b->txn, ar->keys, &it,
		    batch_written, b) : outbox_add(b->txn, ar->keys, &it,
		    batch_written, b))) {
			/* This one cannot be written (not the session: it
			 * would fail the next statement too); the rest can. */
			log_error("autoreply.reply_skipped", "kinds=%s "
			    "reason=\"cannot split or seal the text\"", d->kinds);
			free(d->text);
			d->text = NULL;
			b->next++;
			batch_write_next(b);
		}
	}
}

static void
batch_state(void *arg, const PGresult *res, const char *why)
{
	struct batch *b = arg;

	if (!result_ok(res, PGRES_TUPLES_OK)) {
		batch_end(b, false, "state", res, why);
		return;
	}
	/* Decisions edit the rows in place: a copy of the result is ours. */
	{
		PGresult *rows = PQcopyResult(res, PG_COPYRES_ATTRS |
		    PG_COPYRES_TUPLES);

		if (rows == NULL) {
			batch_end(b, false, "state", NULL, "out of memory");
			return;
		}
		batch_decide(b, rows);
		PQclear(rows);
	}
	batch_write_next(b);
}

static void
batch_locked(void *arg, const PGresult *res, const char *why)
{
	struct batch *b = arg;
	char capacity[16], now[CLOCK_ISO_LEN];
	const char *params[3] = { (const char *)evbuffer_pullup(b->ids, -1),
	    capacity, now };

	if (!result_ok(res, PGRES_TUPLES_OK)) {
		batch_end(b, false, "lock", res, why);
		return;
	}
	snprintf(capacity, sizeof(capacity), "%d",
	    b->ar->desk.capacity_per_counsellor);
	clock_format_utc(clock_now_us(), now);
	if (!db_txn_query_prepared(b->txn, "autoreply_state", worker_state_sql,
	    3, params, batch_state, b))
		batch_end(b, false, "state", NULL, NULL);
}

static void
batch_claimed(void *arg, const PGresult *res, const char *why)
{
	struct batch *b = arg;
	struct evbuffer *contacts;
	const char *params[1];

	if (!result_ok(res, PGRES_TUPLES_OK)) {
		batch_end(b, false, "claim", res, why);
		return;
	}
	if ((b->claimed = PQntuples(res)) == 0) {
		batch_end(b, true, NULL, NULL, NULL);
		return;
	}
	if ((contacts = evbuffer_new()) == NULL) {
		batch_end(b, false, "claim", NULL, "out of memory");
		return;
	}
	evbuffer_add(b->ids, "{", 1);
	evbuffer_add(contacts, "{", 1);
	for (int i = 0; i < b->claimed; i++) {
		evbuffer_add_printf(b->ids, "%s%s", i ? "," : "",
		    PQgetvalue(res, i, 0));
		evbuffer_add_printf(contacts, "%s%s", i ? "," : "",
		    PQgetvalue(res, i, 1));
	}
	evbuffer_add(b->ids, "}", 2);
	evbuffer_add(contacts, "}", 2);
	params[0] = (const char *)evbuffer_pullup(contacts, -1);
	if (!db_txn_query_prepared(b->txn, "autoreply_lock", worker_lock_sql,
	    1, params, batch_locked, b))
		batch_end(b, false, "lock", NULL, NULL);
	evbuffer_free(contacts);
}

static void
batch_begun(void *arg, struct db_txn *txn, const char *why)
{
	struct batch *b = arg;
	const char *params[2] = { b->ar->channel_kind, b->ar->channel_name };

	if (txn == NULL) {
		log_warn("autoreply.begin_failed", "reason=\"%s\"", why);
		b->ar->batch = NULL;
		batch_free(b);
		return;
	}
	b->txn = txn;
	if (!db_txn_query_prepared(txn, "autoreply_claim", worker_claim_sql,
	    2, params, batch_claimed, b))
		batch_end(b, false, "claim", NULL, NULL);
}

static void
worker_run(struct autoreply *ar)
{
	struct batch *b;

	if (ar->closed || !ar->ready || ar->batch != NULL) {
		ar->again = ar->batch != NULL;
		return;
	}
	ar->again = false;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return;
	b->ar = ar;
	b->now_us = clock_now_us();
	b->ids = evbuffer_new();
	for (int i = 0; i < MARKS; i++)
		if ((b->mark[i] = evbuffer_new()) == NULL)
			b->failed = true;
	if (b->ids == NULL || b->failed ||
	    !db_txn_begin(ar->pool, batch_begun, b)) {
		batch_free(b);
		return;
	}
	ar->batch = b;
}

static void
worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct autoreply *ar = arg;

	(void)fd;
	(void)what;
	/* The NOTIFY of a change may have been missed: read them now and then. */
	if (!ar->ready || clock_now_us() - ar->loaded_us > WORKER_RELOAD_S * 1000000LL)
		autoreply_reload(ar);
	worker_run(ar);
}

void
autoreply_wake(void *arg)
{
	struct autoreply *ar = arg;

	if (!ar->closed)
		event_active(ar->wake, 0, 0);
}

void
autoreply_calendar(void *arg, int64_t now_us, struct ingest_calendar *out)
{
	struct autoreply *ar = arg;
	int64_t now_s = now_us / 1000000, t;

	/* Until the desk's own settings are read, the built-in calendar. */
	out->closed_since_us = out->reply_due_us = -1;
	out->strict = ar->desk.strict;
	if (!calendar_is_open(&ar->desk.cal, now_s)) {
		t = calendar_closed_since(&ar->desk.cal, now_s);
		out->closed_since_us = t < 0 ? 0 : t * 1000000;
	}
	if ((t = desk_reply_due(&ar->desk, now_s)) >= 0)
		out->reply_due_us = t * 1000000;
}

bool
autoreply_desk_state(const struct autoreply *ar, int64_t now_us,
    struct autoreply_desk_state *out)
{
	int64_t now_s = now_us / 1000000;

	memset(out, 0, sizeof(*out));
	out->open = calendar_is_open(&ar->desk.cal, now_s);
	if ((out->name = strdup(ar->desk.desk_name != NULL ?
	    ar->desk.desk_name : "")) == NULL ||
	    (out->hours = autoreply_hours_text(&ar->desk)) == NULL ||
	    (!out->open && (out->next_open = autoreply_next_open_text(
	    &ar->desk, now_s)) == NULL)) {
		autoreply_desk_state_free(out);
		return false;
	}
	return true;
}

char *
autoreply_text(const struct autoreply *ar, enum autoreply_kind kind,
    int64_t now_us)
{
	struct autoreply_vars v = { .now = now_us / 1000000 };
	char *t = autoreply_render(&ar->desk, kind, &v);

	if (t != NULL && t[0] == '\0') {	/* the desk turned it off */
		free(t);
		return NULL;
	}
	return t;
}

void
autoreply_desk_state_free(struct autoreply_desk_state *s)
{
	free(s->name);
	free(s->hours);
	free(s->next_open);
	memset(s, 0, sizeof(*s));
}

struct autoreply *
autoreply_new(struct event_base *base, struct db_pool *pool,
    const struct keyring *keys, struct outbox_sender *sender,
    const struct autoreply_config *cfg)
{
	struct autoreply *ar = calloc(1, sizeof(*ar));
	struct timeval tick = { WORKER_TICK_S, 0 };

	if (ar == NULL)
		return NULL;
	ar->base = base;
	ar->pool = pool;
	ar->keys = keys;
	ar->sender = sender;
	ar->give_up_s = cfg->give_up_s;
	if ((ar->public_url = strdup(cfg->public_url != NULL ?
	    cfg->public_url : "")) == NULL) {
		free(ar);
		return NULL;
	}
	desk_settings_init(&ar->desk);
	ar->channel_kind = strdup(cfg->channel_kind);
	ar->channel_name = strdup(cfg->channel_name);
	ar->tick = event_new(base, -1, EV_PERSIST, worker_tick_cb, ar);
	ar->wake = event_new(base, -1, 0, worker_tick_cb, ar);
	if (ar->channel_kind == NULL || ar->channel_name == NULL ||
	    ar->tick == NULL || ar->wake == NULL ||
	    event_add(ar->tick, &tick) != 0) {
		autoreply_free(ar);
		return NULL;
	}
	metrics_describe("madoguchi_autoreply_decisions_total", "counter",
	    "Queued events decided, whether or not they called for a reply");
	metrics_describe("madoguchi_autoreply_replies_total", "counter",
	    "Auto-replies written to the outbox");
	autoreply_reload(ar);
	return ar;
}

void
autoreply_close(struct autoreply *ar)
{
	if (ar == NULL)
		return;
	ar->closed = true;
	event_del(ar->tick);
}

bool
autoreply_busy(const struct autoreply *ar)
{
	return ar != NULL && ar->batch != NULL;
}

/* After the pool: a batch still open was rolled back with its session. */
void
autoreply_free(struct autoreply *ar)
{
	if (ar == NULL)
		return;
	if (ar->batch != NULL)
		batch_free(ar->batch);
	if (ar->tick != NULL)
		event_free(ar->tick);
	if (ar->wake != NULL)
		event_free(ar->wake);
	desk_settings_free(&ar->desk);
	free(ar->channel_kind);
	free(ar->channel_name);
	free(ar->public_url);
	free(ar);
}
