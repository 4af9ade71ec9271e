/*
 * term_api.c - calls to the console's API through lib/http_client on the
 * client's own loop, so nothing waits on the network. The session cookie
 * and the CSRF token live in struct term only (never on disk) and follow
 * every answer: each sign-in step replaces both. An answer that arrives
 * for an older session, or while quitting, is dropped.
 */
#include "term_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http_client.h"

#define TERM_API_TIMEOUT_MS	15000
#define TERM_COOKIE		"madoguchi_session="

/* One call in flight. */
struct term_call {
	struct term	*t;
	unsigned	 gen;
	unsigned	 flags;
	term_api_fn	 fn;
	void		*arg;
};

const char *
term_json_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

long long
term_json_int(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

bool
term_json_bool(const cJSON *o, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

void
term_api_forget(struct term *t)
{
	t->gen++;
	explicit_bzero(t->cookie, sizeof(t->cookie));
	explicit_bzero(t->csrf, sizeof(t->csrf));
}

/* Keeps the session cookie a Set-Cookie header sets (or clears). */
static void
term_api_cookie(struct term *t, const char *set_cookie)
{
	const char *v;
	size_t len;

	if (set_cookie == NULL || strncmp(set_cookie, TERM_COOKIE,
	    strlen(TERM_COOKIE)) != 0)
		return;
	v = set_cookie + strlen(TERM_COOKIE);
	len = strcspn(v, "; \t");
	explicit_bzero(t->cookie, sizeof(t->cookie));
	if (len < sizeof(t->cookie))
		memcpy(t->cookie, v, len);
}

static void
term_api_csrf(struct term *t, const cJSON *json)
{
	const char *csrf = term_json_str(json, "csrf");

	if (csrf != NULL && strlen(csrf) < sizeof(t->csrf)) {
		explicit_bzero(t->csrf, sizeof(t->csrf));
		memcpy(t->csrf, csrf, strlen(csrf));
	}
}

static void
term_api_done(void *arg, const struct http_response *res)
{
	struct term_call *call = arg;
	struct term *t = call->t;
	struct term_answer a = { .status = res->status };

	if ((t->quitting && !(call->flags & TERM_API_FINAL)) ||
	    call->gen != t->gen) {
		free(call);
		return;
	}
	term_api_cookie(t, http_response_header(res, "Set-Cookie"));
	if (res->status != 0)
		a.json = cJSON_ParseWithLength(res->body, res->body_len);
	term_api_csrf(t, a.json);
	if (res->status >= 400)
		a.code = term_json_str(a.json, "error");
	if (res->status == 0)
		a.code = "network";
	if (res->status == 401 && !(call->flags & TERM_API_SIGNIN))
		term_session_lost(t);
	else if (call->fn != NULL)
		call->fn(t, &a, call->arg);
	cJSON_Delete(a.json);
	free(call);
}

/* Zeroes every string in a body that held a secret. */
static void
term_json_wipe(cJSON *o)
{
	for (cJSON *c = o != NULL ? o->child : NULL; c != NULL; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring != NULL)
			explicit_bzero(c->valuestring, strlen(c->valuestring));
		term_json_wipe(c);
	}
}

bool
term_api(struct term *t, const char *method, const char *path, cJSON *body,
    unsigned flags, term_api_fn fn, void *arg)
{
	struct http_header h[6];
	struct http_request req = { .method = method, .headers = h,
	    .timeout_ms = TERM_API_TIMEOUT_MS };
	char url[1024], cookie[300];
	struct term_call *call = NULL;
	char *text = body != NULL ? cJSON_PrintUnformatted(body) : NULL;
	bool get = strcmp(method, "GET") == 0, sent = false;
	size_t n = 0;

	snprintf(url, sizeof(url), "%s%s", t->url, path);
	snprintf(cookie, sizeof(cookie), TERM_COOKIE "%s", t->cookie);
	req.url = url;
	h[n++] = (struct http_header){ "Accept", "application/json" };
	if (t->cookie[0] != '\0')
		h[n++] = (struct http_header){ "Cookie", cookie };
	if (!get && t->csrf[0] != '\0')
		h[n++] = (struct http_header){ "X-CSRF-Token", t->csrf };
	if (!get)
		h[n++] = (struct http_header){ "Content-Type",
		    "application/json" };
	if (flags & TERM_API_BACKGROUND)
		h[n++] = (struct http_header){ "X-Madoguchi-Background", "1" };
	req.n_headers = n;
	req.body = text;
	req.body_len = text != NULL ? strlen(text) : 0;
	if ((body == NULL || text != NULL) &&
	    (call = calloc(1, sizeof(*call))) != NULL) {
		*call = (struct term_call){ t, t->gen, flags, fn, arg };
		sent = http_client_send(t->http, &req, term_api_done, call);
	}
	if (!sent)
		free(call);
	explicit_bzero(cookie, sizeof(cookie));
	if (flags & TERM_API_SECRET) {
		term_json_wipe(body);
		if (text != NULL)
			explicit_bzero(text, strlen(text));
	}
	free(text);
	cJSON_Delete(body);
	return sent;
}
