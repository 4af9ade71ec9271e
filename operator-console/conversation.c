/*
 * conversation.c - one conversation: its whole history, claiming it, the
 * counsellor's replies (through the outbox) and internal notes.
 *
 * A counsellor sees unclaimed conversations and their own; a supervisor
 * sees all. Claiming is one UPDATE that succeeds only while nobody holds
 * the conversation, so two counsellors in two processes cannot both win.
 * Every view is written to the audit trail.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outbox.h"
#include "seal.h"

#define REPLY_MAX_BYTES		(20 * 1024)
#define NOTE_MAX_BYTES		(8 * 1024)
#define NOTE_AAD		"conversation_events.body"

static const char summary_sql[] = CONVERSATION_SUMMARY_SELECT("$3")
    CONVERSATION_VISIBLE;

/*
 * Messages (greetings of the contact included) and events, in the order
 * the desk saw them: by when it received or wrote each (LINE's own
 * timestamp of a message may be older, e.g. on a redelivery).
 */
static const char history_sql[] =
"WITH au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, ip)"
"  VALUES ($2::timestamptz, $3::bigint, $4, 'conversation.view',"
"      'conversation', $1::bigint, $5::inet)"
") SELECT * FROM ("
"  SELECT 'message' AS type, m.id, m.direction, m.kind, m.accepted, m.body,"
"      m.body_key_id, " SQL_ISO("m.received_at") " AS at,"
"      s.display_name, m.delivery, array_to_json(m.autoreply)::text,"
"      coalesce(o.retrying, false), o.error, NULL::text AS code,"
"      NULL::text AS target, m.via"
"    FROM messages m LEFT JOIN staff s ON s.id = m.staff_id"
"    LEFT JOIN LATERAL (SELECT bool_or(state = 'pending' AND attempts > 0)"
"        AS retrying, max(last_error) FILTER (WHERE state IN ('failed',"
"        'undeliverable')) AS error FROM outbox WHERE message_id = m.id) o"
"      ON true"
"   WHERE m.conversation_id = $1::bigint OR (m.conversation_id IS NULL"
"     AND m.contact_id = $6::bigint)"
"  UNION ALL"
"  SELECT 'event', e.id, NULL, e.kind, NULL, e.body, e.body_key_id,"
"      " SQL_ISO("e.at") ","
"      s.display_name, NULL, NULL, false, NULL, e.code, t.display_name,"
"      NULL"
"    FROM conversation_events e LEFT JOIN staff s ON s.id = e.staff_id"
"    LEFT JOIN staff t ON t.id = e.target_staff_id"
"   WHERE e.conversation_id = $1::bigint"
") h ORDER BY at, type DESC, id";

static const char claim_sql[] =
"WITH cv AS ("
"  UPDATE conversations SET assignee_id = $2::bigint,"
"      claimed_at = $3::timestamptz"
"   WHERE id = $1::bigint AND state <> 'closed' AND assignee_id IS NULL"
"     AND ($4::bigint IS NULL OR NOT " SQL_RESTRICTED("contact_id", "$3") ")"
"  RETURNING id"
"), ev AS ("
"  INSERT INTO conversation_events (conversation_id, at, staff_id, kind)"
"  SELECT id, $3::timestamptz, $2::bigint, 'claimed' FROM cv"
") SELECT pg_notify('madoguchi_console', json_build_object('id', id,"
"    'change', 'claimed')::text) FROM cv";

static const char note_sql[] =
"WITH cv AS ("
"  SELECT cv.id FROM conversations cv" CONVERSATION_VISIBLE
"), ev AS ("
"  INSERT INTO conversation_events (conversation_id, at, staff_id, kind,"
"      body, body_key_id)"
"  SELECT id, $3::timestamptz, $4::bigint, 'note', decode($5, 'base64'),"
"      $6::smallint FROM cv"
"  RETURNING id, conversation_id"
") SELECT id, pg_notify('madoguchi_console', json_build_object('id',"
"    conversation_id, 'change', 'note')::text) FROM ev";

static const char reply_lock_sql[] =
"SELECT contact_id, channel_id, state, assignee_id,"
"    " SQL_RESTRICTED("contact_id", "$2") ","
"    channel_line_mode(channel_id) = 'strict'"
"      AND NOT strict_exception_active(id, $2::timestamptz)"
"  FROM conversations WHERE id = $1::bigint FOR UPDATE";

/*
 * Replied: the wait is over, and its deadline with it, unless a message
 * came in that the counsellor had not seen ($4, the newest message id
 * they saw; NULL: not said). Then the person still waits for an answer.
 */
static const char reply_mark_sql[] =
"WITH unseen AS ("
"  SELECT $4::bigint IS NOT NULL AND EXISTS (SELECT 1 FROM messages m"
"    WHERE m.conversation_id = $1::bigint AND m.direction = 'in'"
"      AND m.id > $4::bigint) AS u"
"), cv AS ("
"  UPDATE conversations SET"
"      state = CASE WHEN (SELECT u FROM unseen) THEN 'waiting'"
"        ELSE 'waiting_for_user' END,"
"      reply_due_at = CASE WHEN (SELECT u FROM unseen) THEN reply_due_at END,"
"      due_soon_at = CASE WHEN (SELECT u FROM unseen) THEN due_soon_at END,"
"      overdue_at = CASE WHEN (SELECT u FROM unseen) THEN overdue_at END,"
"      first_reply_at = coalesce(first_reply_at, $3::timestamptz),"
"      claimed_at = coalesce(claimed_at, $3::timestamptz),"
"      assignee_id = coalesce(assignee_id, $2::bigint)"
"   WHERE id = $1::bigint RETURNING id"
") SELECT pg_notify('madoguchi_console', json_build_object('id', id,"
"    'change', 'replied')::text) FROM cv";

/*
 * Whether a statement found the one conversation the caller may see;
 * if not, the call is answered (503 or 404).
 */
static bool
conversation_found(struct api_call *call, const char *what,
    const PGresult *res, const char *why)
{
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, what, res, why);
		return false;
	}
	if (PQntuples(res) != 1) {
		api_error(call, 404, "not_found", "no such conversation, or "
		    "another counsellor holds it");
		return false;
	}
	return true;
}

static void
id_text(int64_t v, char buf[24])
{
	snprintf(buf, 24, "%lld", (long long)v);
}

static cJSON *
history_entry(const struct api_call *call, const PGresult *res, int i)
{
	cJSON *e = cJSON_CreateObject();
	bool message = strcmp(PQgetvalue(res, i, 0), "message") == 0;
	size_t len = 0;
	char *text = NULL;

	cJSON_AddStringToObject(e, "type", message ? "message" : "event");
	cJSON_AddNumberToObject(e, "id", atof(PQgetvalue(res, i, 1)));
	if (message)
		cJSON_AddStringToObject(e, "direction", PQgetvalue(res, i, 2));
	cJSON_AddStringToObject(e, "kind", PQgetvalue(res, i, 3));
	if (message)
		cJSON_AddBoolToObject(e, "accepted",
		    PQgetvalue(res, i, 4)[0] == 't');
	if (!PQgetisnull(res, i, 5) && (text = unseal_pg_hex(call->c->keys,
	    atoi(PQgetvalue(res, i, 6)), message ? "messages.body" : NOTE_AAD,
	    PQgetvalue(res, i, 5), &len)) == NULL)
		log_warn("console.unseal_failed", "entry=%s", PQgetvalue(res, i, 1));
	if (text != NULL)
		cJSON_AddStringToObject(e, "text", text);
	else
		cJSON_AddNullToObject(e, "text");
	free(text);
	cJSON_AddStringToObject(e, "at", PQgetvalue(res, i, 7));
	if (PQgetisnull(res, i, 8))
		cJSON_AddNullToObject(e, "staff");
	else
		cJSON_AddStringToObject(e, "staff", PQgetvalue(res, i, 8));
	if (!message) {
		if (PQgetisnull(res, i, 13))
			cJSON_AddNullToObject(e, "code");
		else
			cJSON_AddStringToObject(e, "code", PQgetvalue(res, i, 13));
		if (PQgetisnull(res, i, 14))
			cJSON_AddNullToObject(e, "target");
		else
			cJSON_AddStringToObject(e, "target", PQgetvalue(res, i, 14));
		return e;
	}
	if (PQgetisnull(res, i, 9))
		cJSON_AddNullToObject(e, "delivery");
	else
		cJSON_AddStringToObject(e, "delivery", PQgetvalue(res, i, 9));
	cJSON_AddBoolToObject(e, "retrying", PQgetvalue(res, i, 11)[0] == 't');
	if (PQgetisnull(res, i, 12))
		cJSON_AddNullToObject(e, "error");
	else
		cJSON_AddStringToObject(e, "error", PQgetvalue(res, i, 12));
	cJSON_AddItemToObject(e, "autoreply", PQgetisnull(res, i, 10) ?
	    cJSON_CreateNull() : cJSON_Parse(PQgetvalue(res, i, 10)));
	cJSON_AddStringToObject(e, "via", PQgetvalue(res, i, 15));
	return e;
}

static void
conversation_history_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o = call->state, *list;

	call->state = NULL;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		cJSON_Delete(o);
		api_db_error(call, "history", res, why);
		return;
	}
	list = cJSON_AddArrayToObject(o, "history");
	for (int i = 0; i < PQntuples(res); i++)
		cJSON_AddItemToArray(list, history_entry(call, res, i));
	api_reply(call, 200, o);
}

static void
conversation_summary_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	char id[24], staff[24];
	const char *params[6] = { id, call->now, staff, call->staff.login,
	    api_ip(call), NULL };
	cJSON *o;

	if (!conversation_found(call, "conversation", res, why))
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "now", call->now);
	cJSON_AddItemToObject(o, "conversation",
	    conversation_summary_json(call, res, 0));
	call->state = o;
	id_text(call->id, id);
	id_text(call->staff.id, staff);
	params[5] = PQgetvalue(res, 0, 10);	/* the contact */
	if (!api_query(call, history_sql, 6, params, conversation_history_done)) {
		call->state = NULL;
		cJSON_Delete(o);
		api_db_error(call, "history", NULL, "no connection");
	}
}

static void
conversation_summary(struct api_call *call, db_result_fn done)
{
	char viewer[24], id[24];
	const char *params[3] = { conversation_viewer(call, viewer), id,
	    call->now };

	id_text(call->id, id);
	if (!api_query(call, summary_sql, 3, params, done))
		api_db_error(call, "conversation", NULL, "no connection");
}

/* GET /api/conversations/:id */
static void
conversation_get(struct api_call *call)
{
	conversation_summary(call, conversation_summary_done);
}

static void
conversation_claimed_summary(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		api_db_error(call, "conversation", res, why);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "conversation",
	    conversation_summary_json(call, res, 0));
	api_reply(call, 200, o);
}

static void
conversation_claimed(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "claim", res, why);
		return;
	}
	if (PQntuples(res) != 1) {
		api_error(call, 409, "claimed", "another counsellor holds this "
		    "conversation, or it was closed");
		return;
	}
	log_info("console.claimed", "conversation=%lld staff=%lld",
	    (long long)call->id, (long long)call->staff.id);
	conversation_summary(call, conversation_claimed_summary);
}

/* POST /api/conversations/:id/claim */
static void
conversation_claim(struct api_call *call)
{
	char id[24], staff[24], viewer[24];
	const char *params[4] = { id, staff, call->now,
	    conversation_viewer(call, viewer) };

	id_text(call->id, id);
	id_text(call->staff.id, staff);
	if (!api_query(call, claim_sql, 4, params, conversation_claimed))
		api_db_error(call, "claim", NULL, "no connection");
}

/* Text staff typed: non-empty, bounded, no NUL (cJSON strings have none). */
static const char *
conversation_text(struct api_call *call, size_t max)
{
	const char *text = api_body_string(call, "text");
	size_t n;

	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0') {
		api_error(call, 400, "empty", "write something first");
		return NULL;
	}
	if ((n = strlen(text)) > max) {
		api_error(call, 400, "too_long", "the text is too long");
		return NULL;
	}
	return text;
}

static void
conversation_noted(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o;

	if (!conversation_found(call, "note", res, why))
		return;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "event_id", atof(PQgetvalue(res, 0, 0)));
	api_reply(call, 200, o);
}

/* POST /api/conversations/:id/notes {"text"}: never sent to the person. */
static void
conversation_note(struct api_call *call)
{
	const char *text = conversation_text(call, NOTE_MAX_BYTES);
	char viewer[24], id[24], staff[24], key_id[8];
	const char *params[6] = { NULL, id, NULL, staff, NULL, key_id };
	char *sealed;

	if (text == NULL)	/* answered, and the call freed */
		return;
	params[2] = call->now;
	if (!api_seal(call, NOTE_AAD, text, &sealed, key_id))
		return;
	params[0] = conversation_viewer(call, viewer);
	id_text(call->id, id);
	id_text(call->staff.id, staff);
	params[4] = sealed;
	if (!api_query(call, note_sql, 6, params, conversation_noted))
		api_db_error(call, "note", NULL, "no connection");
	free(sealed);
}

/* ---- replying: one transaction from the lock to the outbox rows ---- */

struct reply {
	struct db_txn	*txn;
	char		*text;
	bool		 via_line;	/* asked for LINE itself */
	char		 seen[24];	/* "" when the client did not say */
	char		 message_id[24];
	const char	*error;		/* why it was rolled back */
	int		 status;
	const char	*code;
};

static void
reply_free(struct api_call *call)
{
	struct reply *r = call->state;

	call->state = NULL;
	if (r != NULL) {
		free(r->text);
		free(r);
	}
}

static void
reply_ended(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct reply *r = call->state;
	cJSON *o;

	if (r->code != NULL) {	/* rolled back on purpose */
		int status = r->status;
		const char *code = r->code, *error = r->error;

		reply_free(call);
		api_error(call, status, code, error);
		return;
	}
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		reply_free(call);
		api_db_error(call, "reply_commit", res, why);
		return;
	}
	log_info("console.replied", "conversation=%lld staff=%lld message=%s",
	    (long long)call->id, (long long)call->staff.id, r->message_id);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "message_id", atof(r->message_id));
	reply_free(call);
	api_reply(call, 200, o);
}

/* Ends the transaction: commit, or roll back with the answer to give. */
static void
reply_finish(struct api_call *call, int status, const char *code,
    const char *error)
{
	struct reply *r = call->state;

	r->status = status;
	r->code = code;
	r->error = error;
	if (!db_txn_end(r->txn, code == NULL, reply_ended, call)) {
		reply_free(call);
		api_db_error(call, "reply_end", NULL, "session lost");
	}
}

static void
reply_marked(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		reply_finish(call, 503, "database", "the database is not "
		    "available; try again");
	else
		reply_finish(call, 0, NULL, NULL);
}

/* The wait is over: the conversation is marked replied. */
static void
reply_mark(struct api_call *call)
{
	struct reply *r = call->state;
	char id[24], staff[24];
	const char *params[4] = { id, staff, call->now,
	    r->seen[0] != '\0' ? r->seen : NULL };

	id_text(call->id, id);
	id_text(call->staff.id, staff);
	if (!db_txn_query(r->txn, reply_mark_sql, 4, params, reply_marked, call))
		reply_finish(call, 503, "database", "session lost");
}

static bool
reply_result_ok(const PGresult *res)
{
	return res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1;
}

static void
reply_added(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct reply *r = call->state;

	(void)why;
	if (!reply_result_ok(res)) {
		reply_finish(call, 503, "database", "the database is not "
		    "available; try again");
		return;
	}
	snprintf(r->message_id, sizeof(r->message_id), "%s",
	    PQgetvalue(res, 0, 0));
	reply_mark(call);
}

static void
reply_locked(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct reply *r = call->state;
	char conv[24], staff[24];
	struct outbox_item item = { 0 };

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		reply_finish(call, 503, "database", "the database is not "
		    "available; try again");
		return;
	}
	if (PQntuples(res) != 1) {
		reply_finish(call, 404, "not_found", "no such conversation");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 2), "closed") == 0) {
		reply_finish(call, 409, "closed", "this conversation is closed");
		return;
	}
	id_text(call->staff.id, staff);
	if (call->staff.role != ROLE_SUPERVISOR && ((!PQgetisnull(res, 0, 3) &&
	    strcmp(PQgetvalue(res, 0, 3), staff) != 0) ||
	    (PQgetisnull(res, 0, 3) && PQgetvalue(res, 0, 4)[0] == 't'))) {
		reply_finish(call, 409, "not_yours", "another counsellor holds "
		    "this conversation");
		return;
	}
	id_text(call->id, conv);
	item.conversation_id = conv;
	item.contact_id = PQgetvalue(res, 0, 0);
	item.channel_id = PQgetvalue(res, 0, 1);
	item.direction = "out";
	item.staff_id = staff;
	item.text = r->text;
	item.text_len = strlen(r->text);
	item.now_us = call->now_us;
	item.give_up_us = call->now_us + call->c->opt.give_up_s * 1000000LL;
	if (PQgetvalue(res, 0, 5)[0] == 't') {	/* strict, no exception */
		/*
		 * Into the desk's web chat; LINE says a reply waits only if
		 * no page of the person's shows it (webchat/notice.c).
		 */
		if (r->via_line) {
			reply_finish(call, 409, "strict_mode", "this desk sends "
			    "only fixed templates on LINE; a supervisor's "
			    "emergency exception lets this conversation "
			    "continue there");
			return;
		}
		if (call->c->opt.public_url == NULL ||
		    call->c->opt.public_url[0] == '\0') {
			reply_finish(call, 409, "no_public_url", "strict mode "
			    "needs public_url: without it nobody can open the "
			    "web chat to read the reply");
			return;
		}
		if (!outbox_add_webchat(r->txn, call->c->keys, &item,
		    reply_added, call))
			reply_finish(call, 503, "database", "session lost");
		return;
	}
	if (!outbox_add(r->txn, call->c->keys, &item, reply_added, call))
		reply_finish(call, 400, "too_long", "the text is too long to "
		    "send");
}

static void
reply_begun(void *arg, struct db_txn *txn, const char *why)
{
	struct api_call *call = arg;
	struct reply *r = call->state;
	char id[24];
	const char *params[2] = { id, call->now };

	if (txn == NULL) {
		reply_free(call);
		api_db_error(call, "reply_begin", NULL, why);
		return;
	}
	r->txn = txn;
	id_text(call->id, id);
	if (!db_txn_query(txn, reply_lock_sql, 2, params, reply_locked, call))
		reply_finish(call, 503, "database", "session lost");
}

/* POST /api/conversations/:id/messages {"text", "seen"?} */
static void
conversation_reply(struct api_call *call)
{
	const char *text = conversation_text(call, REPLY_MAX_BYTES);
	const cJSON *seen;
	const char *via;
	struct reply *r;

	if (text == NULL)	/* answered, and the call freed */
		return;
	seen = cJSON_GetObjectItemCaseSensitive(call->body, "seen");
	if (seen != NULL && !cJSON_IsNull(seen) && !api_id_ok(seen)) {
		api_error(call, 400, "invalid", "seen is a message id");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->text = strdup(text)) == NULL) {
		free(r);
		api_error(call, 500, "no_memory", "out of memory");
		return;
	}
	call->state = r;
	if (cJSON_IsNumber(seen))
		snprintf(r->seen, sizeof(r->seen), "%.0f", seen->valuedouble);
	r->via_line = (via = api_body_string(call, "via")) != NULL &&
	    strcmp(via, "line") == 0;
	if (!db_txn_begin(call->c->pool, reply_begun, call)) {
		reply_free(call);
		api_db_error(call, "reply_begin", NULL, "no connection");
	}
}

const struct api_route conversation_routes[] = {
	{ "GET", "/api/conversations/:id", ROLES_STAFF, STAGE_FULL,
	    conversation_get },
	{ "POST", "/api/conversations/:id/claim", ROLES_STAFF, STAGE_FULL,
	    conversation_claim },
	{ "POST", "/api/conversations/:id/messages", ROLES_STAFF, STAGE_FULL,
	    conversation_reply },
	{ "POST", "/api/conversations/:id/notes", ROLES_STAFF, STAGE_FULL,
	    conversation_note },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
