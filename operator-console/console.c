/*
 * console.c - the console's front door: which route a request is, and the
 * checks every API call passes before its handler runs, in this order:
 * route and method, session (401), stage, role (403), CSRF token and JSON
 * body for changes (403, 415, 400).
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "calendar.h"
#include "http_reply.h"
#include "log.h"
#include "http_static.h"
#include "metrics.h"
#include "seal.h"

#define CONSOLE_TICK_S		5

/* Desks run on closed networks: nothing comes from elsewhere. */
static const char console_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";
#define CONSOLE_RELOAD_US	(60 * 1000000LL)

static const struct api_route *const route_tables[] = {
	auth_routes, queue_routes, conversation_routes, assign_routes,
	restriction_routes, crisis_routes, escalation_routes, closing_routes,
	deadline_routes, case_record_routes, desk_routes, staff_routes,
	exception_routes, report_routes, NULL,
};

static void
api_headers(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
}

void
api_call_release(struct api_call *call)
{
	cJSON_Delete(call->body);
	OPENSSL_cleanse(call->token, sizeof(call->token));
	free(call);
}

void
api_reply(struct api_call *call, int status, cJSON *body)
{
	struct evbuffer *out = evbuffer_new();
	char *json = body != NULL ? cJSON_PrintUnformatted(body) : NULL;

	api_headers(call->req);
	if (out == NULL || (body != NULL && json == NULL)) {
		http_reply_error(call->req, call->route->pattern, 500,
		    "out of memory");
	} else {
		evbuffer_add(out, json != NULL ? json : "{}",
		    json != NULL ? strlen(json) : 2);
		http_reply(call->req, call->route->pattern, status,
		    "application/json; charset=utf-8", out);
	}
	if (out != NULL)
		evbuffer_free(out);
	cJSON_free(json);
	cJSON_Delete(body);
	api_call_release(call);
}

void
api_reply_file(struct api_call *call, const char *content_type,
    const char *filename, const char *data, size_t len)
{
	struct evbuffer *out = evbuffer_new();
	char disposition[200];

	api_headers(call->req);
	snprintf(disposition, sizeof(disposition),
	    "attachment; filename=\"%s\"", filename);
	evhttp_add_header(evhttp_request_get_output_headers(call->req),
	    "Content-Disposition", disposition);
	if (out == NULL || evbuffer_add(out, data, len) != 0)
		http_reply_error(call->req, call->route->pattern, 500,
		    "out of memory");
	else
		http_reply(call->req, call->route->pattern, 200, content_type,
		    out);
	if (out != NULL)
		evbuffer_free(out);
	api_call_release(call);
}

/* {"error": code, "message": text}: the UI translates by code. */
void
api_error(struct api_call *call, int status, const char *code,
    const char *message)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", code);
	cJSON_AddStringToObject(o, "message", message);
	api_reply(call, status, o);
}

void
api_db_error(struct api_call *call, const char *what, const PGresult *res,
    const char *why)
{
	log_warn("console.db_failed", "route=\"%s\" what=%s sqlstate=%s "
	    "reason=\"%s\"", call->route->pattern, what, db_sqlstate(res),
	    res != NULL ? "rejected by server" : why);
	api_error(call, 503, "database", "the database is not available; "
	    "try again");
}

bool
api_query(struct api_call *call, const char *sql, int nparams,
    const char *const *values, db_result_fn cb)
{
	return db_query(call->c->pool, sql, nparams, values, cb, call);
}

/*
 * Seals a text staff wrote into *sealed (base64, for decode($n, 'base64'))
 * and its key id into key; NULL or "" stays NULL. False after answering 500.
 */
bool
api_seal(struct api_call *call, const char *aad, const char *text,
    char **sealed, char key[8])
{
	int kid = 0;

	*sealed = NULL;
	key[0] = '\0';
	if (text == NULL || text[0] == '\0')
		return true;
	if ((*sealed = seal_base64(call->c->keys, aad, text, strlen(text),
	    &kid)) == NULL) {
		api_error(call, 500, "sealed", "cannot encrypt the text");
		return false;
	}
	snprintf(key, 8, "%d", kid);
	return true;
}

/* The client's address as a parameter: NULL when unknown. */
const char *
api_ip(const struct api_call *call)
{
	return call->ip[0] != '\0' ? call->ip : NULL;
}

/* A JSON number that is a row id: whole, 0..2^53. */
bool
api_id_ok(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 &&
	    v->valuedouble <= 9007199254740992.0 &&
	    v->valuedouble == (double)(long long)v->valuedouble;
}

/* A "YYYY-MM-DD" that is a real date (2000..2099 is plenty for a desk). */
bool
api_date_ok(const char *s)
{
	struct cal_date d;

	return s != NULL && strlen(s) == 10 && cal_date_parse(s, &d) &&
	    d.y >= 2000 && d.y <= 2099;
}

const char *
api_body_string(const struct api_call *call, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(call->body, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *
role_name(enum console_role r)
{
	return r == ROLE_ADMIN ? "admin" : r == ROLE_SUPERVISOR ? "supervisor" :
	    "counsellor";
}

cJSON *
api_staff_json(const struct console_staff *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)s->id);
	cJSON_AddStringToObject(o, "login", s->login);
	cJSON_AddStringToObject(o, "display_name", s->display_name);
	cJSON_AddStringToObject(o, "role", role_name(s->role));
	cJSON_AddStringToObject(o, "language", s->language);
	return o;
}

/*
 * Whether path matches pattern, segment by segment; ":id" takes a positive
 * decimal number into *id.
 */
static bool
route_match(const char *pattern, const char *path, int64_t *id)
{
	while (*pattern != '\0' && *path != '\0') {
		if (strncmp(pattern, ":id", 3) == 0) {
			char *end;
			long long v;

			if (*path < '1' || *path > '9')
				return false;
			v = strtoll(path, &end, 10);
			if (v <= 0 || (*end != '/' && *end != '\0'))
				return false;
			*id = v;
			pattern += 3;
			path = end;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && *path == '\0';
}

static const char *
method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_HEAD: return "HEAD";
	default: return "OTHER";
	}
}

/* The route for method and path; *path_known when only the method is wrong. */
static const struct api_route *
route_find(const char *method, const char *path, int64_t *id, bool *path_known)
{
	*path_known = false;
	for (int t = 0; route_tables[t] != NULL; t++)
		for (const struct api_route *r = route_tables[t];
		    r->method != NULL; r++) {
			if (!route_match(r->pattern, path, id))
				continue;
			*path_known = true;
			if (strcmp(r->method, method) == 0)
				return r;
		}
	return NULL;
}

static bool
call_changes_state(const struct api_call *call)
{
	return strcmp(call->route->method, "GET") != 0;
}

/* Content-Type application/json, with or without parameters. */
static bool
call_is_json(struct evhttp_request *req)
{
	const char *ct = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type");
	size_t n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* An empty body is {}; anything else must be one JSON object. */
static bool
call_parse_body(struct api_call *call)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(call->req);
	size_t len = evbuffer_get_length(in);

	if (len == 0) {
		call->body = cJSON_CreateObject();
		return call->body != NULL;
	}
	call->body = cJSON_ParseWithLength(
	    (const char *)evbuffer_pullup(in, -1), len);
	return cJSON_IsObject(call->body);
}

static bool
call_csrf_ok(const struct api_call *call)
{
	const char *sent = evhttp_find_header(
	    evhttp_request_get_input_headers(call->req), CONSOLE_CSRF_HEADER);
	char want[44];

	if (sent == NULL || !call->has_token || strlen(sent) != 43)
		return false;
	session_csrf(call->token, want);
	return CRYPTO_memcmp(sent, want, 43) == 0;
}

/*
 * Whether the call shows the person at work, which keeps the session from
 * idling out: not the event stream, nor reads the console makes by itself
 * (it marks them X-Madoguchi-Background: 1) after a live event.
 */
static bool
call_is_activity(const struct api_call *call)
{
	if (strcmp(call->route->pattern, "/api/events") == 0)
		return false;
	return call_changes_state(call) || evhttp_find_header(
	    evhttp_request_get_input_headers(call->req),
	    "X-Madoguchi-Background") == NULL;
}

/* After the session (if any) is known: stage, role, CSRF, body. */
static void
call_checked(struct api_call *call)
{
	const struct api_route *r = call->route;

	if (r->stage != STAGE_NONE && call->stage == STAGE_NONE) {
		api_error(call, 401, "signed_out", "sign in first");
		return;
	}
	if (r->stage != STAGE_NONE && call->stage < r->stage) {
		api_error(call, 403, "sign_in_incomplete",
		    "finish signing in first");
		return;
	}
	if (r->stage == STAGE_FULL && (call->staff.role & r->roles) == 0) {
		api_error(call, 403, "forbidden", "your role may not do this");
		return;
	}
	if (call_changes_state(call)) {
		/*
		 * A cross-site form can send neither a custom header nor
		 * JSON: signing in, which has no session yet, needs JSON.
		 */
		if (r->stage != STAGE_NONE && !call_csrf_ok(call)) {
			api_error(call, 403, "csrf", "missing or wrong CSRF "
			    "token");
			return;
		}
		if ((r->stage == STAGE_NONE || evbuffer_get_length(
		    evhttp_request_get_input_buffer(call->req)) > 0) &&
		    !call_is_json(call->req)) {
			api_error(call, 415, "content_type", "send "
			    "application/json");
			return;
		}
	}
	if (!call_parse_body(call)) {
		api_error(call, 400, "malformed", "the body is not a JSON "
		    "object");
		return;
	}
	r->handler(call);
}

/* Whether addr (len bytes) is one of the comma-separated trusted proxies. */
static bool
call_trusted(const char *list, const char *addr, size_t len)
{
	while (list != NULL && *list != '\0') {
		const char *end = strchr(list, ',');
		size_t n = end != NULL ? (size_t)(end - list) : strlen(list);

		while (n > 0 && list[0] == ' ') {
			list++;
			n--;
		}
		while (n > 0 && list[n - 1] == ' ')
			n--;
		if (n == len && strncmp(list, addr, len) == 0)
			return true;
		list = end != NULL ? end + 1 : NULL;
	}
	return false;
}

static bool
call_is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/*
 * From a trusted proxy, the client is the rightmost X-Forwarded-For entry
 * that is not itself a trusted proxy (nginx appends the address it saw);
 * anything further left was written by the client and proves nothing.
 */
static void
call_forwarded(struct api_call *call, const char *list)
{
	const char *xff = evhttp_find_header(
	    evhttp_request_get_input_headers(call->req), "X-Forwarded-For");
	size_t end = xff != NULL ? strlen(xff) : 0;

	while (end > 0) {
		size_t start = end, a, n;
		char addr[64];

		while (start > 0 && xff[start - 1] != ',')
			start--;
		for (a = start; a < end && xff[a] == ' '; a++)
			;
		for (n = end - a; n > 0 && xff[a + n - 1] == ' '; n--)
			;
		if (n == 0 || n >= sizeof(addr))
			return;
		memcpy(addr, xff + a, n);
		addr[n] = '\0';
		if (!call_is_ip(addr))
			return;
		if (!call_trusted(list, addr, n)) {
			snprintf(call->ip, sizeof(call->ip), "%s", addr);
			return;
		}
		end = start > 0 ? start - 1 : 0;	/* before the comma */
	}
}

static void
call_peer(struct api_call *call)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(call->req);
	const char *trusted = call->c->opt.trusted_proxies;
	char *addr = NULL;
	ev_uint16_t port;

	if (conn != NULL)
		evhttp_connection_get_peer(conn, &addr, &port);
	snprintf(call->ip, sizeof(call->ip), "%s", addr != NULL ? addr : "");
	if (trusted != NULL && trusted[0] != '\0' &&
	    call_trusted(trusted, call->ip, strlen(call->ip)))
		call_forwarded(call, trusted);
}

static void
console_api(struct console *c, struct evhttp_request *req, const char *path)
{
	const char *method = method_name(evhttp_request_get_command(req));
	struct api_call *call;
	const struct api_route *r;
	bool path_known;
	int64_t id = 0;

	if ((r = route_find(method, path, &id, &path_known)) == NULL) {
		api_headers(req);
		if (path_known)
			http_reply_error(req, "/api/", 405, "method not allowed");
		else
			http_reply_error(req, "/api/", 404, "no such API path");
		return;
	}
	if ((call = calloc(1, sizeof(*call))) == NULL) {
		http_reply_error(req, r->pattern, 500, "out of memory");
		return;
	}
	call->c = c;
	call->req = req;
	call->route = r;
	call->id = id;
	call->now_us = clock_now_us();
	clock_format_utc(call->now_us, call->now);
	call_peer(call);
	call->has_token = session_cookie_token(req, call->token);
	if (call->has_token)
		session_resolve(call, call_is_activity(call), call_checked);
	else
		call_checked(call);
}

bool
console_route(struct console *c, struct evhttp_request *req)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evhttp_uri *parsed;
	const char *path;
	bool handled = true;

	if (c == NULL || uri == NULL ||
	    (parsed = evhttp_uri_parse(uri)) == NULL)
		return false;
	path = evhttp_uri_get_path(parsed);
	if (path == NULL)
		handled = false;
	else if (strncmp(path, "/api/", 5) == 0)
		console_api(c, req, path);
	else if (strcmp(path, "/") == 0 || strcmp(path, "/console") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Location", "/console/");
		http_reply(req, "/console/", 302, "text/plain", NULL);
	} else if (strncmp(path, "/console/", 9) == 0)
		http_static_serve(req, "/console/", c->opt.static_dir, path + 9,
		    console_csp);
	else
		handled = false;
	evhttp_uri_free(parsed);
	return handled;
}

static void
console_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;

	(void)fd;
	(void)what;
	if (clock_now_us() - c->settings_loaded_us > CONSOLE_RELOAD_US)
		console_settings_reload(c);
	deadline_sweep(c);
	closing_sweep(c);
	session_sweep(c);
}

struct console *
console_new(struct event_base *base, struct db_pool *pool,
    const struct keyring *keys, struct offload *offload,
    const struct console_options *opt)
{
	struct console *c = calloc(1, sizeof(*c));
	struct timeval tv = { CONSOLE_TICK_S, 0 };

	if (c == NULL)
		return NULL;
	c->base = base;
	c->pool = pool;
	c->keys = keys;
	c->offload = offload;
	c->opt = *opt;
	console_settings_defaults(&c->settings);
	if (!auth_init() || (c->sse = sse_hub_new(c)) == NULL ||
	    (c->tick = event_new(base, -1, EV_PERSIST, console_tick_cb,
	    c)) == NULL || event_add(c->tick, &tv) != 0) {
		console_free(c);
		return NULL;
	}
	console_settings_reload(c);
	return c;
}

void
console_notify(struct console *c, const char *channel, const char *payload)
{
	if (c == NULL)
		return;
	if (channel == NULL || strcmp(channel, "madoguchi_settings") == 0)
		console_settings_reload(c);
	if (channel == NULL)
		sse_hub_publish(c->sse, "resync", "{}", ROLES_ANY);
	else if (strcmp(channel, "madoguchi_inbound") == 0)
		sse_hub_publish(c->sse, "inbound", payload, ROLES_STAFF);
	else if (strcmp(channel, "madoguchi_console") == 0)
		sse_hub_publish(c->sse, "conversation", payload, ROLES_STAFF);
	else if (strcmp(channel, "madoguchi_crisis") == 0)
		sse_hub_publish(c->sse, "crisis", payload, ROLES_STAFF);
	else if (strcmp(channel, "madoguchi_crisis_alert") == 0)
		sse_hub_publish(c->sse, "crisis_alert", payload,
		    ROLE_SUPERVISOR);
}

void
console_close(struct console *c)
{
	if (c == NULL)
		return;
	c->closing = true;
	sse_hub_close(c->sse);
}

void
console_free(struct console *c)
{
	if (c == NULL)
		return;
	if (c->tick != NULL)
		event_free(c->tick);
	sse_hub_free(c->sse);
	auth_cleanup();
	free(c);
}
