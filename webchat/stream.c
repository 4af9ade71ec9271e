/*
 * stream.c - the web chat's live stream, GET /chat/api/events.
 *
 * NOTIFY madoguchi_webchat reaches every madoguchid: a message for a
 * person is read once (and opened with the data key) and sent to each of
 * that person's streams held here; a session ended elsewhere closes its
 * streams. When the queue may have moved (a message in, a conversation
 * claimed or answered), every stream gets "state" at most once a second,
 * and the page asks for its state again. Every 25 s a ping keeps proxies
 * from closing the stream, and the sessions still streaming count as
 * present (a reply then waits for them here, not on LINE).
 */
#include "webchat_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http_reply.h"
#include "log.h"
#include "metrics.h"

#define STREAMS_MAX		2000
#define STREAMS_PER_SESSION	4
#define STREAM_PING_S		25
#define STREAM_BACKLOG_MAX	(256 * 1024)

/* $1 message: one for the web chat to show, and whose it is. */
static const char stream_message_sql[] =
"SELECT m.id, m.direction, m.body, m.body_key_id,"
"  to_char(m.received_at AT TIME ZONE 'UTC',"
"    'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
"  coalesce(m.contact_id, cv.contact_id)"
"  FROM messages m LEFT JOIN conversations cv ON cv.id = m.conversation_id"
" WHERE m.id = $1::bigint AND m.kind = 'text' AND m.body IS NOT NULL"
"   AND m.direction IN ('in', 'out', 'auto') " CHAT_NOT_DOORWAY("m");

/* $1 the sessions streaming here, $2 now: those still live. */
static const char stream_touch_sql[] =
"UPDATE webchat_sessions SET last_seen_at = $2::timestamptz"
" WHERE id = ANY ($1::bigint[]) AND ended_at IS NULL"
"   AND expires_at > $2::timestamptz"
" RETURNING id";

/*
 * $1 the session, $2 now: the person just opened the page. The session
 * counts as seen now, and consoles hear of it at once (their queue shows
 * who has the web chat open), not at the next message.
 */
static const char stream_arrived_sql[] =
"WITH touched AS ("
"  UPDATE webchat_sessions SET last_seen_at = $2::timestamptz"
"   WHERE id = $1::bigint AND ended_at IS NULL RETURNING contact_id"
") SELECT pg_notify('madoguchi_console', json_build_object("
"    'conversations', array_agg(cv.id), 'change', 'webchat')::text)"
"  FROM conversations cv WHERE cv.contact_id = (SELECT contact_id FROM touched)"
"   AND cv.state <> 'closed' HAVING count(*) > 0";

struct chat_stream {
	TAILQ_ENTRY(chat_stream) link;
	struct chat_streams	*hub;
	struct evhttp_request	*req;
	long long		 session_id;
	long long		 contact_id;
	int64_t			 opened_us;
};

TAILQ_HEAD(chat_stream_list, chat_stream);

struct chat_streams {
	struct webchat		*w;
	struct chat_stream_list	 list;
	int			 count;
	struct event		*ping;
	struct event		*state;		/* the once-a-second "state" */
	bool			 touching;
	int64_t			 touch_us;	/* when the touch in flight went */
};

static void
streams_gauge(const struct chat_streams *hub)
{
	metrics_set("madoguchi_webchat_streams", "", (uint64_t)hub->count);
}

static void
stream_end(struct chat_stream *s)
{
	struct chat_streams *hub = s->hub;
	struct evhttp_connection *conn = evhttp_request_get_connection(s->req);

	TAILQ_REMOVE(&hub->list, s, link);
	hub->count--;
	streams_gauge(hub);
	if (conn != NULL)
		evhttp_connection_set_closecb(conn, NULL, NULL);
	evhttp_send_reply_end(s->req);
	free(s);
}

static void
stream_closed_cb(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	stream_end(arg);
}

/* Queues text; false when the stream had to end (a reader far behind). */
static bool
stream_write(struct chat_stream *s, const char *event, const char *json)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(s->req);
	struct bufferevent *bev = conn != NULL ?
	    evhttp_connection_get_bufferevent(conn) : NULL;
	struct evbuffer *chunk;

	if ((bev != NULL && evbuffer_get_length(bufferevent_get_output(bev)) >
	    STREAM_BACKLOG_MAX) || (chunk = evbuffer_new()) == NULL) {
		stream_end(s);
		return false;
	}
	if (event == NULL)
		evbuffer_add(chunk, json, strlen(json));
	else	/* one data line: compact JSON has no newline */
		evbuffer_add_printf(chunk, "event: %s\ndata: %s\n\n", event, json);
	evhttp_send_reply_chunk(s->req, chunk);
	evbuffer_free(chunk);
	return true;
}

/* How many of the person's streams took it. */
static int
streams_send_contact(struct chat_streams *hub, long long contact,
    const char *event, const char *json)
{
	struct chat_stream *s, *next;
	int n = 0;

	for (s = TAILQ_FIRST(&hub->list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);	/* s may end */
		if (s->contact_id == contact)
			n += stream_write(s, event, json);
	}
	return n;
}

static void
streams_end_session(struct chat_streams *hub, long long session)
{
	struct chat_stream *s, *next;

	for (s = TAILQ_FIRST(&hub->list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		if (s->session_id == session && stream_write(s, "ended", "{}"))
			stream_end(s);
	}
}

/* ---- a message to show ---- */

static void
stream_message_read(void *arg, const PGresult *res, const char *why)
{
	struct chat_streams *hub = arg;
	cJSON *o;
	char *text, *json;

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1 ||
	    (text = chat_unseal(hub->w, res, 0, 2, 3)) == NULL)
		return;		/* the page's next state read has it anyway */
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", atof(PQgetvalue(res, 0, 0)));
	cJSON_AddStringToObject(o, "from", strcmp(PQgetvalue(res, 0, 1), "in") ==
	    0 ? "me" : "desk");
	cJSON_AddStringToObject(o, "text", text);
	cJSON_AddStringToObject(o, "at", PQgetvalue(res, 0, 4));
	if ((json = cJSON_PrintUnformatted(o)) != NULL &&
	    streams_send_contact(hub, atoll(PQgetvalue(res, 0, 5)), "message",
	    json) > 0 && strcmp(PQgetvalue(res, 0, 1), "out") == 0)
		chat_mark_seen(hub->w, PQgetvalue(res, 0, 5),
		    PQgetvalue(res, 0, 0));
	free(json);
	cJSON_Delete(o);
	free(text);
}

static bool
streams_for_contact(const struct chat_streams *hub, long long contact)
{
	const struct chat_stream *s;

	TAILQ_FOREACH(s, &hub->list, link)
		if (s->contact_id == contact)
			return true;
	return false;
}

static void
streams_webchat_notice(struct chat_streams *hub, const char *payload)
{
	cJSON *p = cJSON_Parse(payload);
	const cJSON *contact = cJSON_GetObjectItemCaseSensitive(p, "contact");
	const cJSON *message = cJSON_GetObjectItemCaseSensitive(p, "message");
	const cJSON *session = cJSON_GetObjectItemCaseSensitive(p, "session");
	char id[24];
	const char *params[1] = { id };

	if (cJSON_IsNumber(session))
		streams_end_session(hub, (long long)session->valuedouble);
	else if (cJSON_IsNumber(contact) && cJSON_IsNumber(message) &&
	    streams_for_contact(hub, (long long)contact->valuedouble)) {
		snprintf(id, sizeof(id), "%.0f", message->valuedouble);
		if (!db_query(hub->w->pool, stream_message_sql, 1, params,
		    stream_message_read, hub))	/* the page's next state has it */
			log_warn("webchat.stream_read_failed", "message=%s", id);
	}
	cJSON_Delete(p);
}

/* ---- "state": the queue may have moved ---- */

static void
stream_state_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chat_streams *hub = arg;
	struct chat_stream *s, *next;

	(void)fd;
	(void)what;
	for (s = TAILQ_FIRST(&hub->list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		(void)stream_write(s, "state", "{}");
	}
}

void
chat_streams_notify(struct chat_streams *hub, const char *channel,
    const char *payload)
{
	struct timeval second = { 1, 0 };

	if (hub == NULL)
		return;
	if (channel != NULL && strcmp(channel, "madoguchi_webchat") == 0) {
		streams_webchat_notice(hub, payload);
		return;
	}
	if (hub->count > 0 && !evtimer_pending(hub->state, NULL))
		evtimer_add(hub->state, &second);
}

/* ---- presence and pings ---- */

static void
stream_touched(void *arg, const PGresult *res, const char *why)
{
	struct chat_streams *hub = arg;
	struct chat_stream *s, *next;

	(void)why;
	hub->touching = false;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		return;
	for (s = TAILQ_FIRST(&hub->list); s != NULL; s = next) {
		bool live = false;

		next = TAILQ_NEXT(s, link);
		if (s->opened_us >= hub->touch_us)
			continue;	/* opened after the touch left: not asked */
		for (int i = 0; i < PQntuples(res) && !live; i++)
			live = atoll(PQgetvalue(res, i, 0)) == s->session_id;
		if (!live && stream_write(s, "ended", "{}"))
			stream_end(s);
	}
}

static void
stream_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chat_streams *hub = arg;
	struct chat_stream *s, *next;
	struct evbuffer *ids = evbuffer_new();
	char now[CLOCK_ISO_LEN];
	const char *params[2];

	(void)fd;
	(void)what;
	if (ids == NULL)
		return;
	evbuffer_add(ids, "{", 1);
	for (s = TAILQ_FIRST(&hub->list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		if (stream_write(s, NULL, ": ping\n\n"))
			evbuffer_add_printf(ids, "%s%lld",
			    evbuffer_get_length(ids) > 1 ? "," : "",
			    s->session_id);
	}
	evbuffer_add(ids, "}", 2);	/* with its NUL */
	clock_format_utc(clock_now_us(), now);
	params[0] = (const char *)evbuffer_pullup(ids, -1);
	params[1] = now;
	if (hub->count > 0 && !hub->touching) {
		hub->touch_us = clock_now_us();
		hub->touching = db_query(hub->w->pool, stream_touch_sql, 2,
		    params, stream_touched, hub);
	}
	evbuffer_free(ids);
}

/* ---- opening ---- */

static void
stream_arrived(void *arg, const PGresult *res, const char *why)
{
	(void)arg;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		log_warn("webchat.arrival_not_told", "sqlstate=%s reason=\"%s\"",
		    db_sqlstate(res), res != NULL ? "rejected by server" : why);
}

static bool
contact_streaming(const struct chat_streams *hub, long long contact)
{
	const struct chat_stream *s;

	TAILQ_FOREACH(s, &hub->list, link)
		if (s->contact_id == contact)
			return true;
	return false;
}

static int
streams_of_session(const struct chat_streams *hub, long long session)
{
	const struct chat_stream *s;
	int n = 0;

	TAILQ_FOREACH(s, &hub->list, link)
		n += s->session_id == session;
	return n;
}

void
chat_stream_open(struct chat_call *call)
{
	struct chat_streams *hub = call->w->streams;
	struct evhttp_connection *conn =
	    evhttp_request_get_connection(call->req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(call->req);
	long long session = atoll(call->session_id);
	struct chat_stream *s;

	if (streams_of_session(hub, session) >= STREAMS_PER_SESSION) {
		chat_error(call, 429, "too_many_streams", "このページを開いている"
		    "タブが多すぎます。ほかのタブを閉じてください。");
		return;
	}
	if (call->w->closing || hub->count >= STREAMS_MAX || conn == NULL ||
	    (s = calloc(1, sizeof(*s))) == NULL) {
		chat_error(call, 503, "busy", "いまは接続できません。少し待って"
		    "ください。");
		return;
	}
	s->hub = hub;
	s->req = call->req;
	s->session_id = session;
	s->contact_id = atoll(call->contact_id);
	s->opened_us = call->now_us;
	if (!contact_streaming(hub, s->contact_id)) {
		const char *params[2] = { call->session_id, call->now };

		/* best effort: the console learns it at the next event anyway */
		if (!db_query(call->w->pool, stream_arrived_sql, 2, params,
		    stream_arrived, NULL))
			log_warn("webchat.arrival_not_told", "reason=\"no "
			    "connection\"");
	}
	evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Accel-Buffering", "no");	/* nginx */
	evhttp_send_reply_start(s->req, 200, "OK");
	evhttp_connection_set_closecb(conn, stream_closed_cb, s);
	TAILQ_INSERT_TAIL(&hub->list, s, link);
	hub->count++;
	streams_gauge(hub);
	metrics_add("madoguchi_http_requests_total",
	    "route=\"/chat/api/events\",status=\"200\"", 1);
	if (stream_write(s, NULL, "retry: 2000\n\n"))
		(void)stream_write(s, "hello", "{}");
	chat_call_free(call);	/* the request stays open: the stream's */
}

struct chat_streams *
chat_streams_new(struct webchat *w)
{
	struct chat_streams *hub = calloc(1, sizeof(*hub));
	struct timeval ping = { STREAM_PING_S, 0 };

	if (hub == NULL)
		return NULL;
	hub->w = w;
	TAILQ_INIT(&hub->list);
	hub->ping = event_new(w->base, -1, EV_PERSIST, stream_ping_cb, hub);
	hub->state = evtimer_new(w->base, stream_state_cb, hub);
	if (hub->ping == NULL || hub->state == NULL ||
	    event_add(hub->ping, &ping) != 0) {
		chat_streams_free(hub);
		return NULL;
	}
	metrics_describe("madoguchi_webchat_streams", "gauge",
	    "Web-chat event streams open in this process");
	streams_gauge(hub);
	return hub;
}

void
chat_streams_close(struct chat_streams *hub)
{
	struct chat_stream *s;

	if (hub == NULL)
		return;
	while ((s = TAILQ_FIRST(&hub->list)) != NULL)
		stream_end(s);
}

void
chat_streams_free(struct chat_streams *hub)
{
	if (hub == NULL)
		return;
	chat_streams_close(hub);
	if (hub->ping != NULL)
		event_free(hub->ping);
	if (hub->state != NULL)
		event_free(hub->state);
	free(hub);
}
