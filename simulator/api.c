/*
 * The Messaging API side of the simulator (everything outside /sim/):
 * bearer-token check, fault injection, routing to the endpoint handlers,
 * the request log, and the answer with its x-line-request-id.
 *
 * Handlers never reply themselves: they fill status/body in the api_call
 * and api_finish() sends it (or holds it open for a "hang" fault), so
 * that faults with "accept":true can replace an answer after the call
 * has taken effect, and so that every call is recorded exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "linesim.h"

struct api_route {
	enum evhttp_cmd_type	  method;
	const char		 *pattern;	/* "{}" matches one segment */
	void			(*handler)(struct api_call *);
};

static void	 api_content(struct api_call *);
static const struct api_route routes[] = {
	{ EVHTTP_REQ_POST, "/v2/bot/message/reply", api_message_reply },
	{ EVHTTP_REQ_POST, "/v2/bot/message/push", api_message_push },
	{ EVHTTP_REQ_GET, "/v2/bot/message/quota", api_message_quota },
	{ EVHTTP_REQ_GET, "/v2/bot/message/quota/consumption",
	    api_message_consumption },
	{ EVHTTP_REQ_GET, "/v2/bot/profile/{}", api_chat_profile },
	{ EVHTTP_REQ_POST, "/v2/bot/chat/loading/start", api_chat_loading },
	{ EVHTTP_REQ_POST, "/v2/bot/chat/markAsRead", api_chat_mark_read },
	{ EVHTTP_REQ_GET, "/v2/bot/message/{}/content", api_content },
	{ EVHTTP_REQ_GET, "/v2/bot/message/{}/content/preview", api_content },
	{ EVHTTP_REQ_GET, "/v2/bot/message/{}/content/transcoding",
	    api_content },
};

static void	 api_call_init(struct api_call *, struct sim *,
		    struct evhttp_request *, const char *);
static void	 api_call_clear(struct api_call *);
static char	*api_user_of(const struct api_call *);
static bool	 api_authorized(const struct api_call *);
static void	 api_route(struct api_call *);
static bool	 path_matches(const char *pattern, const char *path);
static void	 api_apply_fault(struct api_call *, const struct fault *);
static void	 api_finish(struct api_call *, bool hang);
static void	 api_record(struct api_call *);

void
api_handle(struct sim *sim, struct evhttp_request *req, const char *path)
{
	struct api_call	c;
	struct fault	f;
	bool		faulted = false;

	api_call_init(&c, sim, req, path);
	/* Auth first, so a 401 test never eats a fault queued for later. */
	if (!api_authorized(&c))
		api_set_message(&c, 401, faults_message(401));
	else if ((faulted = faults_take(sim->faults, path, &f)) && !f.accept)
		api_apply_fault(&c, &f);
	else {
		api_route(&c);
		if (faulted)
			api_apply_fault(&c, &f);
	}
	api_finish(&c, faulted && f.status == 0);
	api_call_clear(&c);
}

/* Set the answer; takes ownership of body (JSON text). */
void
api_set(struct api_call *c, int status, char *body)
{
	free(c->resp_body);
	c->status = status;
	c->resp_body = body;
}

void
api_set_message(struct api_call *c, int status, const char *message)
{
	api_set(c, status, json_message(message));
}

/*
 * If details (an array, always consumed) is non-empty, answer 400 with
 * LINE's validation error body and return true.
 */
bool
api_set_details(struct api_call *c, cJSON *details)
{
	cJSON	*o;
	char	 msg[64];
	int	 n = cJSON_GetArraySize(details);

	if (n == 0) {
		cJSON_Delete(details);
		return false;
	}
	o = cJSON_CreateObject();
	snprintf(msg, sizeof(msg), "The request body has %d error(s)", n);
	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddItemToObject(o, "details", details);
	api_set(c, 400, json_print(o));
	cJSON_Delete(o);
	return true;
}

static void
api_call_init(struct api_call *c, struct sim *sim,
    struct evhttp_request *req, const char *path)
{
	char	*body;
	size_t	 len;

	memset(c, 0, sizeof(*c));
	c->sim = sim;
	c->req = req;
	c->path = path;
	c->retry_key = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-Line-Retry-Key");
	ids_hex(c->request_id, 32);
	body = http_body_string(req, &len);
	if (len > 0)
		c->json = cJSON_ParseWithLength(body, len);
	free(body);
	c->user = api_user_of(c);
}

/*
 * The user a call is about, for the request log: `to`, `chatId`, the
 * user a reply token was issued to, or the profile's user id.  Worked
 * out before routing so that faulted calls are attributed too.
 */
static char *
api_user_of(const struct api_call *c)
{
	static const char	 profile[] = "/v2/bot/profile/";
	struct sim_event	*ev;
	const char		*s;

	if ((s = json_string(c->json, "to")) != NULL ||
	    (s = json_string(c->json, "chatId")) != NULL)
		return xstrdup(s);
	if ((s = json_string(c->json, "replyToken")) != NULL &&
	    (ev = events_by_token(c->sim->events, s)) != NULL &&
	    ev->user != NULL)
		return xstrdup(ev->user);
	if (strncmp(c->path, profile, sizeof(profile) - 1) == 0 &&
	    c->path[sizeof(profile) - 1] != '\0')
		return xstrdup(c->path + sizeof(profile) - 1);
	return NULL;
}

static void
api_call_clear(struct api_call *c)
{
	cJSON_Delete(c->json);
	free(c->resp_body);
	free(c->accepted_id);
	free(c->user);
}

/* Constant-time comparison: this is the check a real token leak test
 * would probe, so do it properly even in a simulator. */
static bool
api_authorized(const struct api_call *c)
{
	const char	*h, *token = c->sim->cfg.access_token;
	size_t		 n;

	h = evhttp_find_header(evhttp_request_get_input_headers(c->req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	n = strlen(h);
	return n == strlen(token) && CRYPTO_memcmp(h, token, n) == 0;
}

static void
api_route(struct api_call *c)
{
	enum evhttp_cmd_type	 m = evhttp_request_get_command(c->req);
	bool			 path_known = false;
	size_t			 i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!path_matches(routes[i].pattern, c->path))
			continue;
		path_known = true;
		if (routes[i].method != m)
			continue;
		if (m == EVHTTP_REQ_POST && !cJSON_IsObject(c->json)) {
			api_set_message(c, 400,
			    "The request body could not be parsed as JSON");
			return;
		}
		routes[i].handler(c);
		return;
	}
	if (path_known)
		api_set_message(c, 405, "Method not allowed");
	else
		api_set_message(c, 404, "Not found");
}

static bool
path_matches(const char *pat, const char *path)
{
	while (*pat != '\0') {
		if (pat[0] == '{' && pat[1] == '}') {
			if (*path == '/' || *path == '\0')
				return false;	/* segments are non-empty */
			while (*path != '/' && *path != '\0')
				path++;
			pat += 2;
		} else if (*pat++ != *path++)
			return false;
	}
	return *path == '\0';
}

/*
 * Replace the answer with the fault's.  A plain fault means the call
 * never happened, so nothing was delivered; an "accept" fault keeps
 * c->delivered since the message did go out.
 */
static void
api_apply_fault(struct api_call *c, const struct fault *f)
{
	free(c->accepted_id);
	c->accepted_id = NULL;
	if (!f->accept)
		c->delivered = false;
	if (f->status == 0) {
		api_set(c, 0, NULL);
		return;
	}
	api_set_message(c, f->status, faults_message(f->status));
}

static void
api_finish(struct api_call *c, bool hang)
{
	struct evkeyvalq	*out;

	api_record(c);
	if (!c->sim->cfg.quiet)
		sim_log("%s %s -> %d%s (request %s)",
		    http_method_name(evhttp_request_get_command(c->req)),
		    c->path, c->status, hang ? " hang" : "", c->request_id);
	if (hang) {
		hangs_hold(c->sim->hangs, c->req);
		return;
	}
	out = evhttp_request_get_output_headers(c->req);
	evhttp_add_header(out, "x-line-request-id", c->request_id);
	if (c->accepted_id != NULL)
		evhttp_add_header(out, "x-line-accepted-request-id",
		    c->accepted_id);
	http_reply_json(c->req, c->status,
	    c->resp_body != NULL ? c->resp_body : "{}");
}

static void
api_record(struct api_call *c)
{
	struct record_entry	e;

	memset(&e, 0, sizeof(e));
	e.time_ms = now_realtime_ms();
	snprintf(e.method, sizeof(e.method), "%s",
	    http_method_name(evhttp_request_get_command(c->req)));
	e.path = xstrdup(c->path);
	e.status = c->status;
	e.user = c->user != NULL ? xstrdup(c->user) : NULL;
	e.retry_key = c->retry_key != NULL ? xstrdup(c->retry_key) : NULL;
	memcpy(e.request_id, c->request_id, sizeof(e.request_id));
	e.delivered = c->delivered;
	e.body = c->json != NULL ? json_print(c->json) : NULL;
	record_add(c->sim->record, &e);
}

/*
 * Message content (api-data.line.me): always 404, but recorded, so that
 * tests can prove madoguchi never downloads what users send.
 */
static void
api_content(struct api_call *c)
{
	api_set_message(c, 404, "Not found");
}
