/*
 * closing.c - ending a conversation, by a counsellor with a reason from
 * the desk's list, or by itself after the person has been silent for the
 * desk's idle_close_minutes.
 *
 * Both close in two steps inside one transaction: lock the conversation
 * FOR UPDATE (which waits for, or skips, a webhook batch writing into it:
 * see storage/ingest.c), then, with a fresh snapshot, close it only if no
 * message came in after the one the closer last saw. A person who writes
 * at the moment of closing is never left inside a closed conversation.
 * The person's next message opens a new conversation. A conversation
 * that was ever at high risk stays open until its escalation record is
 * complete, and never closes by itself.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "outbox.h"
#include "seal.h"

#define CLOSE_NOTE_MAX		(4 * 1024)
#define CLOSE_NOTE_AAD		"conversation_events.body"
#define AUTO_CLOSE_BATCH	"100"

/*
 * The conversation, locked; whether it was ever at high risk (lowering it
 * afterwards does not excuse the record); and the required steps of the
 * desk's protocol not yet in its escalation record (escalation.c).
 */
static const char close_lock_sql[] =
"SELECT state, assignee_id,"
"  CASE WHEN EXISTS (SELECT 1 FROM crisis_events e"
"                     WHERE e.conversation_id = $1::bigint AND e.level = 2)"
"    THEN 2 ELSE crisis_level END,"
"  (SELECT string_agg(p->>'code', ', ') FROM settings s,"
"     jsonb_array_elements(s.value) p"
"    WHERE s.channel_id IS NULL AND s.key = 'crisis_protocol'"
"      AND (p->>'required')::boolean"
"      AND NOT EXISTS (SELECT 1 FROM escalation_steps e"
"                       WHERE e.conversation_id = $1::bigint"
"                         AND e.step = p->>'code'))"
"  FROM conversations WHERE id = $1::bigint FOR UPDATE";

/*
 * $1 conversation, $2 now, $3 staff, $4 reason code, $5 sealed note or
 * NULL, $6 its key id, $7 the newest message id the closer saw.
 */
static const char close_sql[] =
"WITH reason AS ("
"  SELECT r->>'code' AS code FROM settings s,"
"    jsonb_array_elements(s.value) r"
"   WHERE s.channel_id IS NULL AND s.key = 'close_reasons'"
"     AND r->>'code' = $4"
"), cv AS ("
"  UPDATE conversations SET state = 'closed', closed_at = $2::timestamptz,"
"      closed_by = $3::bigint, close_reason = $4"
"   WHERE id = $1::bigint AND state <> 'closed'"
"     AND EXISTS (SELECT 1 FROM reason)"
"     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = $1::bigint"
"           AND m.direction = 'in' AND m.id > $7::bigint)"
"  RETURNING id"
"), ev AS ("
"  INSERT INTO conversation_events (conversation_id, at, staff_id, kind,"
"      code, body, body_key_id)"
"  SELECT id, $2::timestamptz, $3::bigint, 'closed', $4,"
"      decode($5, 'base64'), $6::smallint FROM cv"
") SELECT (SELECT count(*) FROM reason), (SELECT count(*) FROM cv),"
"  (SELECT pg_notify('madoguchi_console', json_build_object('id', id,"
"      'change', 'closed')::text) FROM cv)";

/* Silent conversations the desk has answered, oldest first; $1 now, $2 minutes. */
static const char auto_close_lock_sql[] =
"SELECT cv.id FROM conversations cv,"
"  LATERAL (SELECT m.received_at AS at FROM messages m"
"            WHERE m.conversation_id = cv.id ORDER BY m.id DESC LIMIT 1) last"
"  WHERE cv.state = 'waiting_for_user' AND cv.crisis_level < 2"
"    AND NOT EXISTS (SELECT 1 FROM crisis_events e"
"                     WHERE e.conversation_id = cv.id AND e.level = 2)"
"    AND last.at < $1::timestamptz - make_interval(mins => $2::int)"
"    AND NOT " SQL_RESTRICTED("cv.contact_id", "$1")
"  ORDER BY cv.id LIMIT " AUTO_CLOSE_BATCH
"  FOR UPDATE OF cv SKIP LOCKED";

static const char auto_close_sql[] =
"WITH cv AS ("
"  UPDATE conversations c SET state = 'closed', closed_at = $2::timestamptz,"
"      close_reason = 'no_reply'"
"   WHERE c.id = ANY ($1::bigint[]) AND c.state = 'waiting_for_user'"
"     AND c.crisis_level < 2 AND NOT EXISTS (SELECT 1 FROM crisis_events e"
"           WHERE e.conversation_id = c.id AND e.level = 2)"
"     AND (SELECT m.received_at FROM messages m"
"           WHERE m.conversation_id = c.id ORDER BY m.id DESC LIMIT 1)"
"         < $2::timestamptz - make_interval(mins => $3::int)"
"  RETURNING id, contact_id, channel_id"
"), ev AS ("
"  INSERT INTO conversation_events (conversation_id, at, kind, code)"
"  SELECT id, $2::timestamptz, 'auto_closed', 'no_reply' FROM cv"
") SELECT id, pg_notify('madoguchi_console', json_build_object('id', id,"
"    'change', 'closed')::text), contact_id, channel_id,"
"  (SELECT value #>> '{}' FROM settings WHERE channel_id IS NULL"
"     AND key = 'idle_close_text')"
"  FROM cv";

struct closing {
	struct db_txn	*txn;
	char		*note;		/* sealed, base64 */
	int		 note_key;
	char		 reason[64];
	char		 seen[24];
	int		 status;	/* the answer, once decided */
	const char	*code;
	const char	*message;
};

static void
closing_free(struct api_call *call)
{
	struct closing *cl = call->state;

	call->state = NULL;
	if (cl != NULL) {
		free(cl->note);
		free(cl);
	}
}

static void
closing_ended(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct closing *cl = call->state;
	int status = cl->status;
	const char *code = cl->code, *message = cl->message;

	closing_free(call);
	if (code != NULL) {
		api_error(call, status, code, message);
		return;
	}
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		api_db_error(call, "close_commit", res, why);
		return;
	}
	log_info("console.closed", "conversation=%lld staff=%lld",
	    (long long)call->id, (long long)call->staff.id);
	api_reply(call, 200, cJSON_CreateObject());
}

static void
closing_finish(struct api_call *call, int status, const char *code,
    const char *message)
{
	struct closing *cl = call->state;

	cl->status = status;
	cl->code = code;
	cl->message = message;
	if (!db_txn_end(cl->txn, code == NULL, closing_ended, call)) {
		closing_free(call);
		api_db_error(call, "close_end", NULL, "session lost");
	}
}

static void
closing_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		closing_finish(call, 503, "database", "the database is not "
		    "available; try again");
	else if (PQgetvalue(res, 0, 0)[0] == '0')
		closing_finish(call, 400, "reason", "not one of the desk's "
		    "reasons for closing");
	else if (PQgetvalue(res, 0, 1)[0] == '0')
		closing_finish(call, 409, "new_message", "a new message came "
		    "in; read it before closing");
	else
		closing_finish(call, 0, NULL, NULL);
}

static void
closing_locked(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct closing *cl = call->state;
	char id[24], staff[24], key[8];
	const char *params[7] = { id, call->now, staff, cl->reason, cl->note,
	    cl->note != NULL ? key : NULL, cl->seen };

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		closing_finish(call, 503, "database", "try again");
		return;
	}
	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	if (PQntuples(res) != 1)
		closing_finish(call, 404, "not_found", "no such conversation");
	else if (strcmp(PQgetvalue(res, 0, 0), "closed") == 0)
		closing_finish(call, 409, "closed", "already closed");
	else if (!PQgetisnull(res, 0, 1) && strcmp(PQgetvalue(res, 0, 1),
	    staff) != 0 && call->staff.role != ROLE_SUPERVISOR)
		closing_finish(call, 409, "not_yours", "another counsellor "
		    "holds this conversation");
	else if (atoi(PQgetvalue(res, 0, 2)) == 2 && !PQgetisnull(res, 0, 3))
		closing_finish(call, 409, "escalation_incomplete", "a life may "
		    "be at risk: record the escalation steps first");
	else {
		snprintf(id, sizeof(id), "%lld", (long long)call->id);
		snprintf(key, sizeof(key), "%d", cl->note_key);
		if (!db_txn_query(cl->txn, close_sql, 7, params, closing_done,
		    call))
			closing_finish(call, 503, "database", "session lost");
	}
}

static void
closing_begun(void *arg, struct db_txn *txn, const char *why)
{
	struct api_call *call = arg;
	struct closing *cl = call->state;
	char id[24];
	const char *params[1] = { id };

	if (txn == NULL) {
		closing_free(call);
		api_db_error(call, "close_begin", NULL, why);
		return;
	}
	cl->txn = txn;
	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	if (!db_txn_query(txn, close_lock_sql, 1, params, closing_locked, call))
		closing_finish(call, 503, "database", "session lost");
}

/*
 * POST /api/conversations/:id/close {"reason", "note"?, "seen"}: seen is
 * the id of the newest message the closer saw.
 */
static void
conversation_close(struct api_call *call)
{
	const char *reason = api_body_string(call, "reason");
	const char *note = api_body_string(call, "note");
	const cJSON *seen = cJSON_GetObjectItemCaseSensitive(call->body, "seen");
	struct closing *cl;

	if (reason == NULL || strlen(reason) >= 64 || !api_id_ok(seen) ||
	    (note != NULL && strlen(note) > CLOSE_NOTE_MAX)) {
		api_error(call, 400, "invalid", "reason and seen (the newest "
		    "message id shown) are required");
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		api_error(call, 500, "no_memory", "out of memory");
		return;
	}
	call->state = cl;
	snprintf(cl->reason, sizeof(cl->reason), "%s", reason);
	snprintf(cl->seen, sizeof(cl->seen), "%.0f", seen->valuedouble);
	if (note != NULL && note[0] != '\0' && (cl->note = seal_base64(
	    call->c->keys, CLOSE_NOTE_AAD, note, strlen(note),
	    &cl->note_key)) == NULL) {
		closing_free(call);
		api_error(call, 500, "sealed", "cannot encrypt the note");
		return;
	}
	if (!db_txn_begin(call->c->pool, closing_begun, call)) {
		closing_free(call);
		api_db_error(call, "close_begin", NULL, "no connection");
	}
}

/* ---- closing silent conversations: the sweeper's part ---- */

struct auto_close {
	struct console	*c;
	struct db_txn	*txn;
	PGresult	*closed;	/* what was closed, for the closing text */
	int		 next;		/* the row whose text goes next */
};

static void
auto_close_ended(void *arg, const PGresult *res, const char *why)
{
	struct auto_close *ac = arg;

	(void)res;
	(void)why;
	ac->c->auto_closing = false;
	PQclear(ac->closed);
	free(ac);
}

static void
auto_close_commit(struct auto_close *ac, bool ok)
{
	if (!db_txn_end(ac->txn, ok, auto_close_ended, ac))
		auto_close_ended(ac, NULL, NULL);
}

/*
 * The desk's closing text (idle_close_text), one conversation after
 * another, in the closing transaction: closed and told, or neither.
 */
static void
auto_close_tell_next(void *arg, const PGresult *res, const char *why)
{
	struct auto_close *ac = arg;
	const PGresult *c = ac->closed;
	struct outbox_item item = { 0 };
	int64_t now = clock_now_us();
	int i = ac->next++;

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		auto_close_commit(ac, false);	/* the session failed */
		return;
	}
	if (i >= PQntuples(c) || PQgetisnull(c, i, 4) ||
	    PQgetvalue(c, i, 4)[0] == '\0') {
		auto_close_commit(ac, true);
		return;
	}
	item.conversation_id = PQgetvalue(c, i, 0);
	item.contact_id = PQgetvalue(c, i, 2);
	item.channel_id = PQgetvalue(c, i, 3);
	item.direction = "auto";
	item.autoreply = "{closing}";
	item.template = "closing";
	item.text = PQgetvalue(c, i, 4);
	item.text_len = strlen(item.text);
	item.now_us = now;
	item.give_up_us = now + ac->c->opt.give_up_s * 1000000LL;
	if (!outbox_add(ac->txn, ac->c->keys, &item, auto_close_tell_next, ac))
		auto_close_commit(ac, false);
}

static void
auto_close_done(void *arg, const PGresult *res, const char *why)
{
	struct auto_close *ac = arg;
	bool ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok) {
		log_warn("console.auto_close_failed", "sqlstate=%s reason=\"%s\"",
		    db_sqlstate(res), res ? "rejected by server" : why);
		auto_close_commit(ac, false);
		return;
	}
	if (PQntuples(res) > 0)
		log_info("console.auto_closed", "conversations=%d",
		    PQntuples(res));
	/* The result is freed after this callback: keep a copy. */
	if ((ac->closed = PQcopyResult(res, PG_COPYRES_ATTRS |
	    PG_COPYRES_TUPLES)) == NULL) {
		auto_close_commit(ac, false);
		return;
	}
	auto_close_tell_next(ac, ac->closed, NULL);	/* the first */
}

static void
auto_close_locked(void *arg, const PGresult *res, const char *why)
{
	struct auto_close *ac = arg;
	struct evbuffer *ids;
	char now[CLOCK_ISO_LEN], minutes[12];
	const char *params[3] = { NULL, now, minutes };
	bool sent = false;

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) == 0 || (ids = evbuffer_new()) == NULL) {
		if (!db_txn_end(ac->txn, false, auto_close_ended, ac))
			auto_close_ended(ac, NULL, NULL);
		return;
	}
	evbuffer_add(ids, "{", 1);
	for (int i = 0; i < PQntuples(res); i++)
		evbuffer_add_printf(ids, "%s%s", i > 0 ? "," : "",
		    PQgetvalue(res, i, 0));
	evbuffer_add(ids, "}", 2);
	params[0] = (const char *)evbuffer_pullup(ids, -1);
	clock_format_utc(clock_now_us(), now);
	snprintf(minutes, sizeof(minutes), "%d",
	    ac->c->settings.idle_close_minutes);
	sent = db_txn_query(ac->txn, auto_close_sql, 3, params, auto_close_done,
	    ac);
	evbuffer_free(ids);
	if (!sent && !db_txn_end(ac->txn, false, auto_close_ended, ac))
		auto_close_ended(ac, NULL, NULL);
}

static void
auto_close_begun(void *arg, struct db_txn *txn, const char *why)
{
	struct auto_close *ac = arg;
	char now[CLOCK_ISO_LEN], minutes[12];
	const char *params[2] = { now, minutes };

	(void)why;
	if (txn == NULL) {
		auto_close_ended(ac, NULL, NULL);
		return;
	}
	ac->txn = txn;
	clock_format_utc(clock_now_us(), now);
	snprintf(minutes, sizeof(minutes), "%d",
	    ac->c->settings.idle_close_minutes);
	if (!db_txn_query(txn, auto_close_lock_sql, 2, params,
	    auto_close_locked, ac) &&
	    !db_txn_end(txn, false, auto_close_ended, ac))
		auto_close_ended(ac, NULL, NULL);
}

/* One round of closing silent conversations; one at a time per process. */
void
closing_sweep(struct console *c)
{
	struct auto_close *ac;

	if (c->auto_closing || c->closing || c->settings.idle_close_minutes <= 0 ||
	    db_pool_connected(c->pool) == 0 ||
	    (ac = calloc(1, sizeof(*ac))) == NULL)
		return;
	ac->c = c;
	c->auto_closing = true;
	if (!db_txn_begin(c->pool, auto_close_begun, ac))
		auto_close_ended(ac, NULL, NULL);
}

const struct api_route closing_routes[] = {
	{ "POST", "/api/conversations/:id/close", ROLES_STAFF, STAGE_FULL,
	    conversation_close },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
