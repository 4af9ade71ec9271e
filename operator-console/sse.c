/*
 * sse.c - the console's live stream, GET /api/events (Server-Sent Events).
 *
 * PostgreSQL's NOTIFY reaches every madoguchid; each passes it on to the
 * streams it holds, so a message stored by any process shows on every
 * console. Events say what changed (ids, never text); the console then
 * asks the API for what it may see. A stream opens with "hello", after
 * which the console reloads what it shows, so nothing is lost across a
 * reconnect. Each stream's session is checked again every minute: a
 * signed-out or idle session loses its stream.
 */
#include "console_internal.h"

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

#define SSE_MAX_STREAMS		1000
#define SSE_PER_SESSION		8	/* tabs of one browser */
#define SSE_HEARTBEAT_S		20
#define SSE_RECHECK_US		(60 * 1000000LL)
/* A console this far behind is cut off; it reconnects and reloads. */
#define SSE_BACKLOG_MAX		(1 << 20)

static const char sse_session_sql[] =
"SELECT s.id FROM sessions s JOIN staff st ON st.id = s.staff_id"
"  WHERE s.id = $1::bigint AND s.ended_at IS NULL AND s.stage = 'full'"
"    AND s.last_seen_at > $2::timestamptz - make_interval(mins => $3::int)"
"    AND s.expires_at > $2::timestamptz AND st.disabled_at IS NULL";

struct sse_stream {
	TAILQ_ENTRY(sse_stream)	 link;
	struct sse_hub		*hub;
	struct evhttp_request	*req;
	int64_t			 session_id;
	int64_t			 staff_id;
	unsigned		 role;
	int64_t			 checked_us;
	bool			 checking;	/* a session query in flight */
};

TAILQ_HEAD(sse_list, sse_stream);

struct sse_hub {
	struct console		*c;
	struct sse_list		 streams;
	int			 count;
	struct event		*heartbeat;
	int			 checks;	/* session queries in flight */
};

static void
sse_gauge(const struct sse_hub *hub)
{
	metrics_set("madoguchi_console_streams", "", (uint64_t)hub->count);
}

/* Ends a stream: its request is answered and freed by libevent. */
static void
sse_stream_end(struct sse_stream *s)
{
	struct sse_hub *hub = s->hub;
	struct evhttp_connection *conn = evhttp_request_get_connection(s->req);

	TAILQ_REMOVE(&hub->streams, s, link);
	hub->count--;
	sse_gauge(hub);
	if (conn != NULL)
		evhttp_connection_set_closecb(conn, NULL, NULL);
	evhttp_send_reply_end(s->req);
	if (s->checking)	/* the query's callback frees it */
		s->req = NULL;
	else
		free(s);
}

static void
sse_closed_cb(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	sse_stream_end(arg);
}

static bool
sse_backlogged(const struct sse_stream *s)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(s->req);
	struct bufferevent *bev = conn != NULL ?
	    evhttp_connection_get_bufferevent(conn) : NULL;

	return bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > SSE_BACKLOG_MAX;
}

/* Queues text on the stream; false when the stream had to end. */
static bool
sse_write(struct sse_stream *s, const char *event, const char *json)
{
	struct evbuffer *chunk;

	if (sse_backlogged(s) || (chunk = evbuffer_new()) == NULL) {
		log_info("console.stream_dropped", "staff=%lld reason=backlog",
		    (long long)s->staff_id);
		sse_stream_end(s);
		return false;
	}
	if (event == NULL)
		evbuffer_add(chunk, json, strlen(json));
	else	/* one data line: payloads are compact JSON */
		evbuffer_add_printf(chunk, "event: %s\ndata: %s\n\n", event,
		    json != NULL && strchr(json, '\n') == NULL ? json : "{}");
	evhttp_send_reply_chunk(s->req, chunk);
	evbuffer_free(chunk);
	return true;
}

void
sse_hub_publish(struct sse_hub *hub, const char *event, const char *json,
    unsigned roles)
{
	struct sse_stream *s, *next;

	if (hub == NULL)
		return;
	for (s = TAILQ_FIRST(&hub->streams); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);	/* s may end */
		if ((s->role & roles) != 0)
			(void)sse_write(s, event, json);
	}
}

static void
sse_checked(void *arg, const PGresult *res, const char *why)
{
	struct sse_stream *s = arg;

	(void)why;
	s->checking = false;
	s->hub->checks--;
	if (s->req == NULL) {	/* ended while the query ran */
		free(s);
		return;
	}
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 0) {
		if (sse_write(s, "signed_out", "{}"))
			sse_stream_end(s);
	}
}

static void
sse_recheck(struct sse_hub *hub, struct sse_stream *s, int64_t now_us)
{
	char sid[24], now[CLOCK_ISO_LEN], idle[12];
	const char *params[3] = { sid, now, idle };

	snprintf(sid, sizeof(sid), "%lld", (long long)s->session_id);
	clock_format_utc(now_us, now);
	snprintf(idle, sizeof(idle), "%d", hub->c->settings.idle_minutes);
	s->checked_us = now_us;
	if (db_query(hub->c->pool, sse_session_sql, 3, params, sse_checked, s)) {
		s->checking = true;
		hub->checks++;
	}
}

static void
sse_heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sse_hub *hub = arg;
	struct sse_stream *s, *next;
	int64_t now_us = clock_now_us();

	(void)fd;
	(void)what;
	for (s = TAILQ_FIRST(&hub->streams); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);	/* s may end */
		if (sse_write(s, NULL, ": ping\n\n") && !s->checking &&
		    now_us - s->checked_us > SSE_RECHECK_US)
			sse_recheck(hub, s, now_us);
	}
}

/* One signed-in session must not take every stream of the process. */
static int
sse_session_streams(const struct sse_hub *hub, int64_t session_id)
{
	const struct sse_stream *s;
	int n = 0;

	TAILQ_FOREACH(s, &hub->streams, link)
		n += s->session_id == session_id;
	return n;
}

/* GET /api/events: the stream stays open; the call is done with. */
void
sse_open(struct api_call *call)
{
	struct sse_hub *hub = call->c->sse;
	struct evkeyvalq *h = evhttp_request_get_output_headers(call->req);
	struct evhttp_connection *conn =
	    evhttp_request_get_connection(call->req);
	struct sse_stream *s;

	if (sse_session_streams(hub, call->session_id) >= SSE_PER_SESSION) {
		api_error(call, 429, "too_many_streams", "this session already "
		    "has its streams open; close a tab");
		return;
	}
	if (call->c->closing || hub->count >= SSE_MAX_STREAMS || conn == NULL ||
	    (s = calloc(1, sizeof(*s))) == NULL) {
		api_error(call, 503, "busy", "cannot open a stream now");
		return;
	}
	s->hub = hub;
	s->req = call->req;
	s->session_id = call->session_id;
	s->staff_id = call->staff.id;
	s->role = call->staff.role;
	s->checked_us = call->now_us;
	evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Accel-Buffering", "no");	/* nginx */
	evhttp_send_reply_start(s->req, 200, "OK");
	evhttp_connection_set_closecb(conn, sse_closed_cb, s);
	TAILQ_INSERT_TAIL(&hub->streams, s, link);
	hub->count++;
	sse_gauge(hub);
	metrics_add("madoguchi_http_requests_total",
	    "route=\"/api/events\",status=\"200\"", 1);
	if (sse_write(s, NULL, "retry: 2000\n\n"))
		(void)sse_write(s, "hello", "{}");
	api_call_release(call);
}

struct sse_hub *
sse_hub_new(struct console *c)
{
	struct sse_hub *hub = calloc(1, sizeof(*hub));
	struct timeval tv = { SSE_HEARTBEAT_S, 0 };

	if (hub == NULL)
		return NULL;
	hub->c = c;
	TAILQ_INIT(&hub->streams);
	hub->heartbeat = event_new(c->base, -1, EV_PERSIST, sse_heartbeat_cb,
	    hub);
	if (hub->heartbeat == NULL || event_add(hub->heartbeat, &tv) != 0) {
		sse_hub_free(hub);
		return NULL;
	}
	metrics_describe("madoguchi_console_streams", "gauge",
	    "Console event streams open in this process");
	sse_gauge(hub);
	return hub;
}

void
sse_hub_close(struct sse_hub *hub)
{
	struct sse_stream *s;

	if (hub == NULL)
		return;
	while ((s = TAILQ_FIRST(&hub->streams)) != NULL)
		sse_stream_end(s);
}

void
sse_hub_free(struct sse_hub *hub)
{
	if (hub == NULL)
		return;
	sse_hub_close(hub);
	if (hub->heartbeat != NULL)
		event_free(hub->heartbeat);
	free(hub);
}
