/*
 * chat.c - what the person does in the web chat: see the desk and the
 * conversation (state), accept the desk's terms, write, and end.
 *
 * A message goes through the ingest like one from LINE: sealed, crisis-
 * checked before its commit, deduplicated by its key (the page's
 * client_id, so a retry is stored once), queued for the counsellors.
 */
#include "webchat_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "autoreply.h"
#include "log.h"

/* $1 contact. The desk's terms, and the place in the queue while waiting. */
static const char chat_state_sql[] =
"WITH cv AS ("
"  SELECT id, state, assignee_id, crisis_level, waiting_since, channel_id"
"    FROM conversations WHERE contact_id = $1::bigint AND state <> 'closed'"
"   LIMIT 1"
") SELECT"
"  (SELECT value #>> '{}' FROM settings WHERE key = 'webchat_terms_version'"
"     AND channel_id IS NULL),"
"  (SELECT value #>> '{}' FROM settings WHERE key = 'webchat_terms'"
"     AND channel_id IS NULL),"
"  (SELECT CASE WHEN cv.assignee_id IS NOT NULL THEN 0 ELSE"
"     (SELECT count(*) FROM conversations o"
"       WHERE o.channel_id = cv.channel_id AND o.state = 'waiting'"
"         AND o.assignee_id IS NULL AND o.id <> cv.id"
"         AND (o.crisis_level > cv.crisis_level"
"           OR (o.crisis_level = cv.crisis_level"
"               AND o.waiting_since < cv.waiting_since))) END"
"     FROM cv WHERE cv.state = 'waiting')";

/* $1 contact: the open conversation's newest words (turned oldest first). */
static const char chat_history_sql[] =
"SELECT m.id, m.direction, m.body, m.body_key_id,"
"  to_char(m.received_at AT TIME ZONE 'UTC',"
"    'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
"  FROM messages m"
" WHERE m.conversation_id = (SELECT id FROM conversations"
"        WHERE contact_id = $1::bigint AND state <> 'closed' LIMIT 1)"
"   AND m.direction IN ('in', 'out', 'auto') AND m.kind = 'text'"
"   AND m.body IS NOT NULL " CHAT_NOT_DOORWAY("m")
" ORDER BY m.id DESC LIMIT 500";	/* the newest; a day's talk is less */

/* $1 session, $2 the version accepted, $3 now. */
static const char chat_terms_sql[] =
"UPDATE webchat_sessions SET terms_version = $2, terms_accepted_at = $3"
" WHERE id = $1::bigint AND $2 = (SELECT value #>> '{}' FROM settings"
"   WHERE key = 'webchat_terms_version' AND channel_id IS NULL)"
" RETURNING id";

/* $1 the message's key, $2 contact: its id, and the person's other tabs told. */
static const char chat_stored_sql[] =
"SELECT m.id, pg_notify('madoguchi_webchat', json_build_object("
"    'contact', $2::bigint, 'message', m.id)::text),"
"  to_char(m.received_at AT TIME ZONE 'UTC',"
"    'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
"  FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
" WHERE m.external_id = $1 AND m.direction = 'in'"
"   AND cv.contact_id = $2::bigint"
" ORDER BY m.id DESC LIMIT 1";

/*
 * $1 session, $2 now. Every live session of the person ends, not only
 * this browser's: "end" must leave no other device showing the talk.
 */
static const char chat_end_sql[] =
"UPDATE webchat_sessions SET ended_at = $2::timestamptz,"
"    end_reason = 'ended'"
" WHERE contact_id = (SELECT contact_id FROM webchat_sessions"
"                      WHERE id = $1::bigint) AND ended_at IS NULL"
" RETURNING pg_notify('madoguchi_webchat', json_build_object("
"    'session', id, 'ended', true)::text)";

/* ---- state ---- */

static void
chat_history_done(void *arg, const PGresult *res, const char *why)
{
	struct chat_call *call = arg;
	cJSON *state = cJSON_GetObjectItemCaseSensitive(call->body, "state");
	cJSON *list;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		chat_db_error(call, "history", res, why);
		return;
	}
	list = cJSON_AddArrayToObject(state, "messages");
	for (int i = PQntuples(res) - 1; i >= 0; i--) {	/* oldest first */
		char *text = chat_unseal(call->w, res, i, 2, 3);
		cJSON *m;

		if (text == NULL)
			continue;	/* a key this process lacks: skip */
		m = cJSON_CreateObject();
		cJSON_AddNumberToObject(m, "id", atof(PQgetvalue(res, i, 0)));
		cJSON_AddStringToObject(m, "from", strcmp(PQgetvalue(res, i, 1),
		    "in") == 0 ? "me" : "desk");
		cJSON_AddStringToObject(m, "text", text);
		cJSON_AddStringToObject(m, "at", PQgetvalue(res, i, 4));
		cJSON_AddItemToArray(list, m);
		free(text);
	}
	cJSON_DetachItemViaPointer(call->body, state);
	chat_mark_seen(call->w, call->contact_id, NULL);
	chat_reply(call, 200, state);
}

static cJSON *
chat_desk_json(const struct chat_call *call)
{
	struct autoreply_desk_state d;
	cJSON *o = cJSON_CreateObject();

	if (!autoreply_desk_state(call->w->desk, call->now_us, &d))
		return o;
	cJSON_AddStringToObject(o, "name", d.name);
	cJSON_AddStringToObject(o, "hours", d.hours);
	cJSON_AddBoolToObject(o, "open", d.open);
	if (d.next_open != NULL)
		cJSON_AddStringToObject(o, "next_open", d.next_open);
	else
		cJSON_AddNullToObject(o, "next_open");
	autoreply_desk_state_free(&d);
	return o;
}

static void
chat_state_done(void *arg, const PGresult *res, const char *why)
{
	struct chat_call *call = arg;
	const char *params[1] = { call->contact_id };
	cJSON *state, *terms;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		chat_db_error(call, "state", res, why);
		return;
	}
	/* Kept on the call (its body is free on a GET) until the history. */
	call->body = cJSON_CreateObject();
	state = cJSON_AddObjectToObject(call->body, "state");
	cJSON_AddItemToObject(state, "desk", chat_desk_json(call));
	terms = cJSON_AddObjectToObject(state, "terms");
	cJSON_AddStringToObject(terms, "version", PQgetvalue(res, 0, 0));
	cJSON_AddStringToObject(terms, "text", PQgetvalue(res, 0, 1));
	cJSON_AddBoolToObject(terms, "accepted", call->terms_ok);
	if (PQgetisnull(res, 0, 2))
		cJSON_AddNullToObject(state, "queue");
	else
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(state, "queue"),
		    "ahead", atof(PQgetvalue(res, 0, 2)));
	if (!db_query(call->w->pool, chat_history_sql, 1, params,
	    chat_history_done, call))
		chat_db_error(call, "history", NULL, "no connection");
}

void
chat_state(struct chat_call *call)
{
	const char *params[1] = { call->contact_id };

	if (!db_query(call->w->pool, chat_state_sql, 1, params, chat_state_done,
	    call))
		chat_db_error(call, "state", NULL, "no connection");
}

/* ---- terms ---- */

static void
chat_terms_done(void *arg, const PGresult *res, const char *why)
{
	struct chat_call *call = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		chat_db_error(call, "terms", res, why);
	else if (PQntuples(res) != 1)
		chat_error(call, 409, "terms_changed", "利用にあたっての説明が"
		    "新しくなりました。もう一度お読みください。");
	else {
		log_info("webchat.terms_accepted", "session=%s",
		    call->session_id);
		chat_reply(call, 200, cJSON_CreateObject());
	}
}

void
chat_terms(struct chat_call *call)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(call->body,
	    "version");
	const char *params[3];

	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
	    strlen(v->valuestring) > 64) {
		chat_error(call, 400, "invalid", "version is required");
		return;
	}
	params[0] = call->session_id;
	params[1] = v->valuestring;
	params[2] = call->now;
	if (!db_query(call->w->pool, chat_terms_sql, 3, params, chat_terms_done,
	    call))
		chat_db_error(call, "terms", NULL, "no connection");
}

/* ---- a message ---- */

static bool
chat_client_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 8 || n > 64)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == n;
}

static void
chat_stored(void *arg, const PGresult *res, const char *why)
{
	struct chat_call *call = arg;
	cJSON *o;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		/* Stored all the same: the page learns the id from its stream. */
		log_warn("webchat.message_id_unknown", "sqlstate=%s reason=\"%s\"",
		    db_sqlstate(res), res != NULL ? "not found" : why);
		chat_reply(call, 200, cJSON_CreateObject());
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", atof(PQgetvalue(res, 0, 0)));
	cJSON_AddStringToObject(o, "at", PQgetvalue(res, 0, 2));
	chat_reply(call, 200, o);
}

static void
chat_ingested(void *arg, enum ingest_outcome outcome)
{
	struct chat_call *call = arg;
	const char *params[2] = { call->event_key, call->contact_id };

	if (outcome != INGEST_COMMITTED) {
		chat_error(call, 503, "database", "送れませんでした。少し待って"
		    "から、もう一度送ってください。");
		return;
	}
	if (!db_query(call->w->pool, chat_stored_sql, 2, params, chat_stored,
	    call))
		chat_reply(call, 200, cJSON_CreateObject());
}

void
chat_message(struct chat_call *call)
{
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(call->body, "text");
	const cJSON *cid = cJSON_GetObjectItemCaseSensitive(call->body,
	    "client_id");
	struct inbound_event ev = { .kind = INBOUND_MESSAGE };
	size_t len;

	if (!call->terms_ok) {
		chat_error(call, 403, "terms", "はじめに、利用にあたっての説明を"
		    "お読みください。");
		return;
	}
	if (!cJSON_IsString(text) || !cJSON_IsString(cid) ||
	    !chat_client_id_ok(cid->valuestring) ||
	    (len = strlen(text->valuestring)) == 0 ||
	    u8_check((const uint8_t *)text->valuestring, len) != NULL ||
	    u8_mbsnlen((const uint8_t *)text->valuestring, len) >
	    WEBCHAT_TEXT_MAX_CHARS) {
		chat_error(call, 400, "invalid", "text (1 to 2,000 characters) "
		    "and client_id are required");
		return;
	}
	/* The key names the person, so two people's ids never meet. */
	len = strlen(call->contact_id) + strlen(cid->valuestring) + 10;
	if ((call->event_key = malloc(len)) == NULL) {
		chat_error(call, 500, "no_memory", "out of memory");
		return;
	}
	snprintf(call->event_key, len, "webchat:%s:%s", call->contact_id,
	    cid->valuestring);
	len = strlen(text->valuestring);
	ev.event_key = call->event_key;
	ev.contact_ref = call->contact_ref;
	ev.message_kind = "text";
	ev.message_ref = call->event_key;
	ev.text = text->valuestring;
	ev.text_len = len;
	ev.occurred_us = call->now_us;
	ev.webchat = true;
	if (!ingest_submit(call->w->ingest, &ev, 1, chat_ingested, call))
		chat_error(call, 503, "database", "送れませんでした。少し待って"
		    "から、もう一度送ってください。");
}

/* ---- the end ---- */

static void
chat_ended(void *arg, const PGresult *res, const char *why)
{
	struct chat_call *call = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		chat_db_error(call, "end", res, why);
		return;
	}
	log_info("webchat.session_ended", "session=%s", call->session_id);
	chat_clear_cookie(call);
	chat_reply(call, 200, cJSON_CreateObject());
}

void
chat_end(struct chat_call *call)
{
	const char *params[2] = { call->session_id, call->now };

	if (!db_query(call->w->pool, chat_end_sql, 2, params, chat_ended, call))
		chat_db_error(call, "end", NULL, "no connection");
}
