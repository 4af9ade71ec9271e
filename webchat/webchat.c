/*
 * webchat.c - the web chat's door: routes under /chat, the page's files,
 * and each API call's plumbing (the checks every call passes, the session
 * behind the cookie, the answer).
 *
 * The session is only ever the cookie's: its token's SHA-256 is looked up,
 * and a call is refused without a live one. POSTs must be JSON, carry the
 * page's own header and come from this origin (when the browser says), so
 * no other site can make a person's browser write to the desk.
 */
#include "webchat_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "http_reply.h"
#include "http_static.h"
#include "log.h"
#include "seal.h"
#include "secret_token.h"

#define CHAT_ROUTE	"/chat/api"

/* The page uses nothing from elsewhere, and nothing inline. */
static const char chat_csp[] =
    "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

/*
 * $1 the token's hash, $2 now. A call counts as presence. terms_ok: the
 * desk's current terms, not an older version, were accepted.
 */
static const char chat_session_sql[] =
"UPDATE webchat_sessions s SET last_seen_at = $2::timestamptz"
" WHERE token_hash = decode($1, 'hex') AND ended_at IS NULL"
"   AND expires_at > $2::timestamptz"
/* a person of this process's desk: its ingest files the messages */
"   AND contact_id IN (SELECT c.id FROM contacts c JOIN channels ch"
"     ON ch.id = c.channel_id WHERE ch.kind = $3 AND ch.name = $4"
"       AND c.id = s.contact_id) "
"RETURNING s.id, s.contact_id,"
"  (SELECT external_id FROM contacts c WHERE c.id = s.contact_id),"
"  s.terms_version IS NOT DISTINCT FROM (SELECT value #>> '{}' FROM settings"
"    WHERE key = 'webchat_terms_version' AND channel_id IS NULL)";

void
chat_call_free(struct chat_call *call)
{
	if (call == NULL)
		return;
	cJSON_Delete(call->body);
	free(call->contact_ref);
	free(call->event_key);
	free(call);
}

static void
chat_headers(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
}

void
chat_reply(struct chat_call *call, int status, cJSON *json)
{
	char *text = cJSON_PrintUnformatted(json);

	chat_headers(call->req);
	if (text == NULL)
		http_reply_error(call->req, CHAT_ROUTE, 500, "out of memory");
	else
		http_reply_json(call->req, CHAT_ROUTE, status, text);
	free(text);
	cJSON_Delete(json);
	chat_call_free(call);
}

void
chat_error(struct chat_call *call, int status, const char *code,
    const char *message)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", code);
	cJSON_AddStringToObject(o, "message", message);
	chat_reply(call, status, o);
}

void
chat_db_error(struct chat_call *call, const char *what, const PGresult *res,
    const char *why)
{
	log_warn("webchat.db_failed", "what=%s sqlstate=%s reason=\"%s\"", what,
	    db_sqlstate(res), res != NULL ? "rejected by server" : why);
	chat_error(call, 503, "database", "いまは接続できません。少し待ってから"
	    "もう一度お試しください。");
}

void
chat_clear_cookie(struct chat_call *call)
{
	char cookie[160];

	snprintf(cookie, sizeof(cookie), WEBCHAT_COOKIE "=; Path=/chat/; "
	    "Max-Age=0; HttpOnly; SameSite=Lax%s",
	    call->w->opt.cookie_secure ? "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(call->req),
	    "Set-Cookie", cookie);
}

char *
chat_unseal(const struct webchat *w, const PGresult *res, int row,
    int col_body, int col_key)
{
	if (PQgetisnull(res, row, col_body))
		return NULL;
	return unseal_pg_hex(w->keys, atoi(PQgetvalue(res, row, col_key)),
	    "messages.body", PQgetvalue(res, row, col_body), NULL);
}

/* $1 contact, $2 one message or NULL: all of the open conversation's. */
static const char chat_seen_sql[] =
"UPDATE messages SET webchat_seen_at = $3::timestamptz"
" WHERE via = 'webchat' AND direction = 'out' AND webchat_seen_at IS NULL"
"   AND ($2::bigint IS NULL OR id = $2::bigint)"
"   AND conversation_id = (SELECT id FROM conversations"
"        WHERE contact_id = $1::bigint AND state <> 'closed' LIMIT 1)";

static void
chat_seen_done(void *arg, const PGresult *res, const char *why)
{
	(void)arg;
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		log_warn("webchat.seen_failed", "sqlstate=%s reason=\"%s\" "
		    "effect=\"LINE may say a reply waits that was seen\"",
		    db_sqlstate(res), res != NULL ? "rejected by server" : why);
}

void
chat_mark_seen(struct webchat *w, const char *contact_id,
    const char *message_id)
{
	char now[CLOCK_ISO_LEN];
	const char *params[3] = { contact_id, message_id, now };

	clock_format_utc(clock_now_us(), now);
	if (!db_query(w->pool, chat_seen_sql, 3, params, chat_seen_done, NULL))
		chat_seen_done(NULL, NULL, "no connection");
}

static void
chat_session_found(void *arg, const PGresult *res, const char *why)
{
	struct chat_call *call = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		chat_db_error(call, "session", res, why);
		return;
	}
	if (PQntuples(res) != 1) {
		chat_clear_cookie(call);
		chat_error(call, 401, "no_session", "このページは、LINEで届く"
		    "ボタンから開いてください。");
		return;
	}
	snprintf(call->session_id, sizeof(call->session_id), "%s",
	    PQgetvalue(res, 0, 0));
	snprintf(call->contact_id, sizeof(call->contact_id), "%s",
	    PQgetvalue(res, 0, 1));
	if ((call->contact_ref = strdup(PQgetvalue(res, 0, 2))) == NULL) {
		chat_error(call, 500, "no_memory", "out of memory");
		return;
	}
	call->terms_ok = PQgetvalue(res, 0, 3)[0] == 't';
	call->handler(call);
}

bool
chat_same_origin(const struct webchat *w, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(in, "Origin");
	const char *host = evhttp_find_header(in, "Host");
	const char *pub = w->opt.public_url, *rest;
	size_t n = pub != NULL ? strlen(pub) : 0;

	if (origin == NULL)
		return true;
	while (n > 0 && pub[n - 1] == '/')
		n--;
	if (n > 0)
		return strlen(origin) == n && strncmp(origin, pub, n) == 0;
	if (host == NULL)
		return false;
	if (strncmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else if (strncmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else
		return false;
	return strcmp(rest, host) == 0;
}

/* A POST's checks and its JSON object; false when answered already. */
static bool
chat_post_body(struct chat_call *call)
{
	struct evhttp_request *req = call->req;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *type = evhttp_find_header(in, "Content-Type");
	const char *mark = evhttp_find_header(in, "X-Madoguchi-Chat");
	struct evbuffer *buf = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(buf);

	if (mark == NULL || strcmp(mark, "1") != 0 ||
	    !chat_same_origin(call->w, req)) {
		chat_error(call, 403, "csrf", "this call comes only from the "
		    "web chat's own page");
		return false;
	}
	if (type == NULL || strncmp(type, "application/json", 16) != 0) {
		chat_error(call, 415, "content_type", "expected application/json");
		return false;
	}
	if (len > WEBCHAT_BODY_MAX) {
		chat_error(call, 413, "too_large", "the body is too large");
		return false;
	}
	call->body = cJSON_ParseWithLength(
	    (const char *)evbuffer_pullup(buf, -1), len);
	if (!cJSON_IsObject(call->body)) {
		chat_error(call, 400, "invalid", "expected a JSON object");
		return false;
	}
	return true;
}

static const struct {
	const char	*method;	/* "GET" or "POST" */
	const char	*path;
	void		(*handler)(struct chat_call *call);
} chat_routes[] = {
	{ "GET", "/chat/api/state", chat_state },
	{ "POST", "/chat/api/terms", chat_terms },
	{ "POST", "/chat/api/messages", chat_message },
	{ "GET", "/chat/api/events", chat_stream_open },
	{ "POST", "/chat/api/end", chat_end },
};

static void
chat_api(struct webchat *w, struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *method = cmd == EVHTTP_REQ_GET ? "GET" :
	    cmd == EVHTTP_REQ_POST ? "POST" : "";
	struct chat_call *call;
	uint8_t token[SECRET_TOKEN_BYTES];
	const char *params[4];
	size_t i, n = sizeof(chat_routes) / sizeof(chat_routes[0]);

	for (i = 0; i < n && strcmp(chat_routes[i].path, path) != 0; i++)
		;
	if (i == n) {
		http_reply_error(req, CHAT_ROUTE, 404, "no such path");
		return;
	}
	if (strcmp(chat_routes[i].method, method) != 0) {
		http_reply_error(req, CHAT_ROUTE, 405, "method not allowed");
		return;
	}
	if ((call = calloc(1, sizeof(*call))) == NULL) {
		http_reply_error(req, CHAT_ROUTE, 500, "out of memory");
		return;
	}
	call->w = w;
	call->req = req;
	call->handler = chat_routes[i].handler;
	call->now_us = clock_now_us();
	clock_format_utc(call->now_us, call->now);
	if (cmd == EVHTTP_REQ_POST && !chat_post_body(call))
		return;
	if (!secret_token_from_cookie(req, WEBCHAT_COOKIE, token)) {
		chat_error(call, 401, "no_session", "このページは、LINEで届く"
		    "ボタンから開いてください。");
		return;
	}
	secret_token_hash_hex(token, call->token_hash);
	OPENSSL_cleanse(token, sizeof(token));
	params[0] = call->token_hash;
	params[1] = call->now;
	params[2] = w->opt.channel_kind;
	params[3] = w->opt.channel_name;
	if (!db_query(w->pool, chat_session_sql, 4, params, chat_session_found,
	    call))
		chat_db_error(call, "session", NULL, "no connection");
}

bool
webchat_route(struct webchat *w, struct evhttp_request *req)
{
	struct evhttp_uri *parsed = evhttp_uri_parse(evhttp_request_get_uri(req));
	const char *path = parsed != NULL ? evhttp_uri_get_path(parsed) : NULL;
	bool handled = true;

	if (w == NULL || path == NULL || strncmp(path, "/chat", 5) != 0 ||
	    (path[5] != '\0' && path[5] != '/'))
		handled = false;
	else if (path[5] == '\0') {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Location", "/chat/");
		http_reply(req, "/chat/", 302, "text/plain", NULL);
	} else if (strncmp(path, "/chat/api/", 10) == 0)
		chat_api(w, req, path);
	else if (strncmp(path, "/chat/link/", 11) == 0)
		chat_link_open(w, req, path + 11);
	else
		http_static_serve(req, "/chat/", w->opt.web_dir, path + 6,
		    chat_csp);
	if (parsed != NULL)
		evhttp_uri_free(parsed);
	return handled;
}

struct webchat *
webchat_new(struct event_base *base, struct db_pool *pool,
    const struct keyring *keys, struct ingest *ingest,
    const struct autoreply *desk, const struct webchat_options *opt)
{
	struct webchat *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->base = base;
	w->pool = pool;
	w->keys = keys;
	w->ingest = ingest;
	w->desk = desk;
	w->opt = *opt;
	if ((w->streams = chat_streams_new(w)) == NULL ||
	    (w->notices = chat_notices_new(w)) == NULL) {
		chat_streams_free(w->streams);
		free(w);
		return NULL;
	}
	return w;
}

void
webchat_notify(struct webchat *w, const char *channel, const char *payload)
{
	if (w != NULL)
		chat_streams_notify(w->streams, channel, payload);
}

void
webchat_close(struct webchat *w)
{
	if (w == NULL)
		return;
	w->closing = true;
	chat_streams_close(w->streams);
}

void
webchat_free(struct webchat *w)
{
	if (w == NULL)
		return;
	chat_streams_free(w->streams);
	chat_notices_free(w->notices);
	free(w);
}
