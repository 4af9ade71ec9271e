/*
 * term_live.c - the live stream, GET /api/events, read as it arrives
 * (http_client_stream) and parsed by term_sse. Events carry ids only: each
 * asks for reloads. Parsing runs inside libcurl, where no request may be
 * sent, so events only set flags here and live_ev acts on them from the
 * loop. A stream that ends is opened again after 1 s, doubling to 15 s;
 * "hello" says it is back and everything is reloaded.
 */
#include "term_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curses.h>
#include <event2/event.h>

#include "http_client.h"

#define TERM_LIVE_SILENCE_MS	60000	/* the server's heartbeat is 20 s */
#define TERM_LIVE_BACKOFF_MAX_S	15

static bool
term_live_lists(const cJSON *o, const char *name, long long id)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, name))
		if (cJSON_IsNumber(v) && (long long)v->valuedouble == id)
			return true;
	return false;
}

/* A crisis_alert: shown at once, before the alerts list is read again. */
static void
term_live_alert(struct term *t, const cJSON *o)
{
	long long conv = term_json_int(o, "conversation");
	const struct term_conv *c = term_queue_find(t, conv);
	size_t i;

	for (i = 0; i < t->n_alerts && t->alerts[i].conv != conv; i++)
		;
	if (i == t->n_alerts) {
		if (i == TERM_MAX_ALERTS)
			return;
		memset(&t->alerts[i], 0, sizeof(t->alerts[i]));
		t->alerts[i].conv = conv;
		if (c != NULL)
			snprintf(t->alerts[i].case_number,
			    sizeof(t->alerts[i].case_number), "%s",
			    c->case_number);
		t->n_alerts++;
	}
	t->alerts[i].round = (int)term_json_int(o, "round");
	t->ev_beep = true;
}

/* Which reloads one event asks for. */
static void
term_live_apply(struct term *t, const char *event, const cJSON *o)
{
	long long open = t->open_id;
	bool all = strcmp(event, "hello") == 0 || strcmp(event, "resync") == 0;

	if (strcmp(event, "hello") == 0) {
		t->conn = CONN_LIVE;
		t->backoff_s = 1;
	}
	if (all) {
		t->ev_queue = t->ev_conv = t->ev_alerts = true;
	} else if (strcmp(event, "inbound") == 0) {
		t->ev_queue = true;
		t->ev_conv |= term_live_lists(o, "conversations", open);
	} else if (strcmp(event, "conversation") == 0) {
		t->ev_queue = true;
		t->ev_conv |= term_json_int(o, "id") == open ||
		    (t->open.contact_id != 0 &&
		    term_json_int(o, "contact") == t->open.contact_id) ||
		    term_live_lists(o, "conversations", open);
	} else if (strcmp(event, "crisis") == 0) {
		t->ev_queue = t->ev_alerts = true;
		t->ev_conv |= term_json_int(o, "conversation") == open;
	} else if (strcmp(event, "crisis_alert") == 0) {
		term_live_alert(t, o);
		t->ev_queue = t->ev_alerts = true;
	} else if (strcmp(event, "signed_out") == 0) {
		t->ev_lost = true;
	}
}

static void
term_live_event(void *arg, const char *event, const char *data, size_t len)
{
	struct term *t = arg;
	cJSON *o = cJSON_ParseWithLength(data, len);

	term_live_apply(t, event, o);
	cJSON_Delete(o);
	event_active(t->live_ev, 0, 1);
}

static void
term_live_data(void *arg, long status, const char *data, size_t len)
{
	struct term *t = arg;

	t->stream_status = status;
	if (status != 200 || t->stream == NULL)
		return;
	if (!term_sse_feed(&t->sse, data, len)) {
		/* Not the stream we know: drop it and start again. */
		http_stream_cancel(t->stream);
		t->stream = NULL;
		t->ev_broken = true;
		event_active(t->live_ev, 0, 1);
	}
}

static void
term_live_retry(struct term *t)
{
	struct timeval tv = { t->backoff_s, 0 };

	t->conn = CONN_WAITING;
	t->retry_at = term_clock_ms() + t->backoff_s * 1000LL;
	evtimer_add(t->reconnect_ev, &tv);
	t->backoff_s = t->backoff_s * 2 > TERM_LIVE_BACKOFF_MAX_S ?
	    TERM_LIVE_BACKOFF_MAX_S : t->backoff_s * 2;
}

static void
term_live_done(void *arg, const struct http_response *res)
{
	struct term *t = arg;

	t->stream = NULL;
	if (t->quitting)
		return;
	if (res->status == 401) {
		term_session_lost(t);
		return;
	}
	if (res->status == 429)
		term_say(t, true, term_w(t, "err.too_many_streams"));
	term_live_retry(t);
	term_redraw(t);
}

/* live_ev: acts on what the stream's events asked for. */
static void
term_live_fire(evutil_socket_t fd, short what, void *arg)
{
	struct term *t = arg;

	(void)fd;
	(void)what;
	if (t->ev_lost) {
		t->ev_lost = false;
		term_session_lost(t);
		return;
	}
	if (t->ev_broken) {
		t->ev_broken = false;
		term_live_retry(t);
	}
	if (t->ev_beep)
		beep();
	term_want(t, t->ev_queue, t->ev_conv, t->ev_alerts);
	t->ev_queue = t->ev_conv = t->ev_alerts = t->ev_beep = false;
	term_redraw(t);
}

static void
term_live_reconnect(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	term_live_start(arg);
}

void
term_live_start(struct term *t)
{
	char url[1024], cookie[300];
	struct http_header h[2] = {
		{ "Accept", "text/event-stream" }, { "Cookie", cookie } };
	struct http_request req = { .method = "GET", .url = url,
	    .headers = h, .n_headers = 2, .timeout_ms = TERM_LIVE_SILENCE_MS };

	if (t->live_ev == NULL) {
		t->live_ev = event_new(t->base, -1, 0, term_live_fire, t);
		t->reconnect_ev = evtimer_new(t->base, term_live_reconnect, t);
	}
	if (t->stream != NULL || t->quitting || t->live_ev == NULL)
		return;
	if (t->backoff_s == 0)
		t->backoff_s = 1;
	snprintf(url, sizeof(url), "%s/api/events", t->url);
	snprintf(cookie, sizeof(cookie), "madoguchi_session=%s", t->cookie);
	term_sse_init(&t->sse, term_live_event, t);
	t->stream_status = 0;
	t->stream = http_client_stream(t->http, &req, term_live_data,
	    term_live_done, t);
	explicit_bzero(cookie, sizeof(cookie));
	if (t->stream == NULL) {
		term_live_retry(t);
		return;
	}
	if (t->conn != CONN_LIVE)
		t->conn = CONN_CONNECTING;
}

void
term_live_stop(struct term *t)
{
	http_stream_cancel(t->stream);
	t->stream = NULL;
	if (t->reconnect_ev != NULL)
		evtimer_del(t->reconnect_ev);
	if (t->live_ev != NULL)
		event_del(t->live_ev);
	t->ev_queue = t->ev_conv = t->ev_alerts = t->ev_beep = false;
	t->ev_lost = t->ev_broken = false;
	t->conn = CONN_OFF;
	t->backoff_s = 1;
}
