/*
 * The HTTP client against an evhttp server running in the same event loop:
 * what goes over the wire, statuses and headers, failures, many requests at
 * once, callbacks that send again or free the client, and streams (pieces
 * as they come, a silence limit but no whole-request limit, cancelling).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "http_client.h"
#include "tap.h"

#define N_CONCURRENT	200

static struct event_base *base;
static struct evhttp *server;
static char url_base[64];
static int n_done, n_want;

/* The last request the server saw. */
static struct {
	char	 method[16];
	char	 uri[256];
	char	*body;
	size_t	 body_len;
	char	 request_id[64];
	char	 content_type[128];
	char	 content_length[32];
	char	 user_agent[64];
	unsigned short peer_port;	/* the client's end of the connection */
	bool	 has_empty;		/* X-Empty, with an empty value */
	bool	 has_expect;
} seen;

/* What a callback got, copied out: res dies when the callback returns. */
struct got {
	int	 calls;
	long	 status;
	char	 error[256];
	bool	 has_error;
	bool	 timed_out;
	char	*body;
	size_t	 body_len;
	char	 echo_method[16];	/* X-Echo-Method */
	char	 conflict_id[32];	/* X-Conflict-Id, asked for in capitals */
	char	 dup[16];		/* X-Dup, sent twice */
	char	 retry_after[16];
	bool	 has_missing;		/* a header never sent */
};

static void
copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static const char *
server_method(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "?";
	}
}

/* /echo: records the request, answers its body and method. */
static void
server_echo(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	struct evbuffer *out = evbuffer_new();
	const char *empty = evhttp_find_header(in, "X-Empty");
	char *peer;

	copy_str(seen.method, sizeof(seen.method), server_method(req));
	copy_str(seen.uri, sizeof(seen.uri), evhttp_request_get_uri(req));
	copy_str(seen.request_id, sizeof(seen.request_id),
	    evhttp_find_header(in, "X-Request-Id"));
	copy_str(seen.content_type, sizeof(seen.content_type),
	    evhttp_find_header(in, "Content-Type"));
	copy_str(seen.content_length, sizeof(seen.content_length),
	    evhttp_find_header(in, "Content-Length"));
	copy_str(seen.user_agent, sizeof(seen.user_agent),
	    evhttp_find_header(in, "User-Agent"));
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer,
	    &seen.peer_port);
	seen.has_empty = empty != NULL && empty[0] == '\0';
	seen.has_expect = evhttp_find_header(in, "Expect") != NULL;
	free(seen.body);
	seen.body_len = evbuffer_get_length(body);
	seen.body = malloc(seen.body_len + 1);
	evbuffer_copyout(body, seen.body, seen.body_len);
	evbuffer_add_buffer(out, body);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "X-Echo-Method", server_method(req));
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* /status/NNN: that status, with headers to read back. */
static void
server_status(struct evhttp_request *req, int status)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evbuffer_new();

	if (status == 409) {
		evhttp_add_header(out, "X-Conflict-Id", "abc-123");
		evhttp_add_header(out, "X-Dup", "first");
		evhttp_add_header(out, "X-Dup", "second");
		evbuffer_add_printf(body, "{\"error\":\"conflict\"}");
	} else if (status == 429)
		evhttp_add_header(out, "Retry-After", "7");
	else if (status == 200)
		evbuffer_add_printf(body, "fine");
	evhttp_send_reply(req, status, "Status", body);
	evbuffer_free(body);
}

/* /big/N: N bytes. */
static void
server_big(struct evhttp_request *req, size_t n)
{
	struct evbuffer *body = evbuffer_new();
	char chunk[4096];

	memset(chunk, 'x', sizeof(chunk));
	for (size_t left = n; left > 0;) {
		size_t k = left < sizeof(chunk) ? left : sizeof(chunk);

		evbuffer_add(body, chunk, k);
		left -= k;
	}
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
}

/*
 * /drip/N/MS/END: N pieces "piece i\n", one every MS milliseconds, then
 * the end of the answer when END is 1, or the connection held open.
 */
struct drip {
	struct evhttp_request	*req;
	struct event		*timer;
	int			 left, sent, ms;
	bool			 end;
};

static struct drip *drips[8];
static int n_drips;

static void
drip_cb(evutil_socket_t fd, short what, void *arg)
{
	struct drip *d = arg;
	struct evbuffer *b;
	struct timeval tv = { d->ms / 1000, (d->ms % 1000) * 1000 };

	(void)fd;
	(void)what;
	if (d->left == 0) {
		if (d->end)
			evhttp_send_reply_end(d->req);
		return;
	}
	b = evbuffer_new();
	evbuffer_add_printf(b, "piece %d\n", d->sent++);
	evhttp_send_reply_chunk(d->req, b);
	evbuffer_free(b);
	d->left--;
	evtimer_add(d->timer, &tv);
}

static void
server_drip(struct evhttp_request *req, const char *spec)
{
	struct drip *d = calloc(1, sizeof(*d));
	int end = 0;

	if (n_drips == 8 || sscanf(spec, "%d/%d/%d", &d->left, &d->ms,
	    &end) != 3) {
		free(d);
		evhttp_send_error(req, 400, NULL);
		return;
	}
	d->req = req;
	d->end = end == 1;
	d->timer = evtimer_new(base, drip_cb, d);
	drips[n_drips++] = d;
	evhttp_send_reply_start(req, 200, "OK");
	drip_cb(-1, 0, d);
}

/* A reply held open is the server's to end, even after the client left:
 * evhttp frees a started reply's request only then. */
static void
drips_free(void)
{
	for (int i = 0; i < n_drips; i++) {
		if (!drips[i]->end)
			evhttp_send_reply_end(drips[i]->req);
		event_free(drips[i]->timer);
		free(drips[i]);
	}
	n_drips = 0;
}

static void
server_cb(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);

	(void)arg;
	if (strncmp(uri, "/drip/", 6) == 0)
		server_drip(req, uri + 6);
	else if (strncmp(uri, "/echo", 5) == 0)
		server_echo(req);
	else if (strncmp(uri, "/status/", 8) == 0)
		server_status(req, atoi(uri + 8));
	else if (strncmp(uri, "/big/", 5) == 0)
		server_big(req, strtoul(uri + 5, NULL, 10));
	else if (strcmp(uri, "/hang") == 0)
		return;		/* never answered; evhttp frees it with the connection */
	else
		evhttp_send_error(req, 404, NULL);
}

static void
got_cb(void *arg, const struct http_response *res)
{
	struct got *g = arg;

	g->calls++;
	g->status = res->status;
	g->has_error = res->error != NULL;
	copy_str(g->error, sizeof(g->error), res->error);
	g->timed_out = res->timed_out;
	free(g->body);
	g->body = malloc(res->body_len + 1);
	memcpy(g->body, res->body, res->body_len + 1);
	g->body_len = res->body_len;
	copy_str(g->echo_method, sizeof(g->echo_method),
	    http_response_header(res, "x-echo-method"));
	copy_str(g->conflict_id, sizeof(g->conflict_id),
	    http_response_header(res, "X-CONFLICT-ID"));
	copy_str(g->dup, sizeof(g->dup), http_response_header(res, "x-dup"));
	copy_str(g->retry_after, sizeof(g->retry_after),
	    http_response_header(res, "Retry-After"));
	g->has_missing = http_response_header(res, "x-never-sent") != NULL;
	if (++n_done >= n_want)
		event_base_loopexit(base, NULL);
}

static void
got_reset(struct got *g)
{
	free(g->body);
	memset(g, 0, sizeof(*g));
}

static void
limit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
	event_base_loopbreak(base);
}

/* Runs the loop for ms, or until n_done reaches want; false on the limit. */
static bool
run_loop(int want, long ms)
{
	bool expired = false;
	struct event *limit = evtimer_new(base, limit_cb, &expired);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	n_want = want;
	evtimer_add(limit, &tv);
	if (n_done < n_want)
		event_base_dispatch(base);
	event_free(limit);
	return !expired;
}

static bool
wait_for(int want)
{
	return run_loop(want, 10000);
}

/* The server's URL for path; valid for the next seven calls too. */
static char *
url(const char *path)
{
	static char buf[8][128];
	static unsigned next;
	char *u = buf[next++ % 8];

	snprintf(u, sizeof(buf[0]), "%s%s", url_base, path);
	return u;
}

static bool
send_get(struct http_client *c, const char *path, long timeout_ms,
    struct got *g)
{
	struct http_request req = { .method = "GET", .url = url(path),
	    .timeout_ms = timeout_ms };

	return http_client_send(c, &req, got_cb, g);
}

static void
test_get(struct http_client *c)
{
	static const struct http_header h[] = {
		{ "X-Request-Id", "req-1" }, { "X-Empty", "" } };
	struct http_request req = { .method = "GET", .url = url("/echo?q=1"),
	    .headers = h, .n_headers = 2 };
	struct got g = { 0 };
	unsigned short port;

	n_done = 0;
	ok(http_client_send(c, &req, got_cb, &g), "GET accepted");
	is_int(http_client_in_flight(c), 1, "one in flight");
	is_int(g.calls, 0, "no callback before the loop runs");
	ok(wait_for(1), "GET finished");
	is_int(g.calls, 1, "callback once");
	is_int(g.status, 200, "GET status 200");
	ok(!g.has_error && !g.timed_out, "no error");
	is_str(seen.method, "GET", "server saw GET");
	is_str(seen.uri, "/echo?q=1", "server saw the path and query");
	is_str(seen.request_id, "req-1", "server saw X-Request-Id");
	ok(seen.has_empty, "server saw an empty X-Empty");
	is_str(seen.user_agent, "madoguchi", "default user agent");
	is_str(seen.content_type, "", "no Content-Type invented");
	is_int(seen.body_len, 0, "no request body");
	is_int(g.body_len, 0, "empty answer");
	is_str(g.body, "", "empty body is \"\"");
	is_str(g.echo_method, "GET", "response header read back");
	ok(!g.has_missing, "a header never sent is NULL");
	is_int(http_client_in_flight(c), 0, "none in flight");

	port = seen.peer_port;
	n_done = 0;
	ok(send_get(c, "/echo", 0, &g) && wait_for(1) && g.status == 200,
	    "second GET");
	is_int(seen.peer_port, port, "over the same connection, kept alive");
	got_reset(&g);
}

static void
test_post(struct http_client *c)
{
	static const char jp[] = "{\"text\":\"こんにちは、窓口です。"
	    "ヤングケアラーの相談をしたいです🙏\"}";
	static const struct http_header h[] = {
		{ "Content-Type", "application/json; charset=utf-8" },
		{ "X-Request-Id", "req-2" } };
	struct http_request req = { .method = "POST", .url = url("/echo"),
	    .headers = h, .n_headers = 2, .body = jp,
	    .body_len = sizeof(jp) - 1 };
	char blob[5000], len[32];
	struct got g = { 0 };

	n_done = 0;
	ok(http_client_send(c, &req, got_cb, &g), "POST accepted");
	ok(wait_for(1), "POST finished");
	is_int(g.status, 200, "POST status 200");
	is_str(seen.method, "POST", "server saw POST");
	is_str(seen.content_type, "application/json; charset=utf-8",
	    "server saw the Content-Type");
	is_str(seen.request_id, "req-2", "server saw X-Request-Id");
	ok(!seen.has_expect, "no Expect header");
	ok(seen.body_len == sizeof(jp) - 1 &&
	    memcmp(seen.body, jp, sizeof(jp) - 1) == 0,
	    "server saw the UTF-8 body byte for byte");
	snprintf(len, sizeof(len), "%zu", sizeof(jp) - 1);
	is_str(seen.content_length, len, "Content-Length in bytes");
	ok(g.body_len == sizeof(jp) - 1 && strcmp(g.body, jp) == 0,
	    "echo came back byte for byte");
	is_str(g.echo_method, "POST", "echoed method");

	/* Over curl's 100-continue threshold, and every byte value. */
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (char)(i * 7 % 256);
	req.headers = NULL;
	req.n_headers = 0;
	req.body = blob;
	req.body_len = sizeof(blob);
	n_done = 0;
	ok(http_client_send(c, &req, got_cb, &g), "binary POST accepted");
	ok(wait_for(1), "binary POST finished");
	ok(!seen.has_expect, "no Expect on a large body");
	is_str(seen.content_type, "", "no form Content-Type invented");
	ok(seen.body_len == sizeof(blob) &&
	    memcmp(seen.body, blob, sizeof(blob)) == 0,
	    "binary body byte for byte");
	ok(g.body_len == sizeof(blob) && memcmp(g.body, blob, sizeof(blob)) == 0,
	    "binary echo byte for byte");

	req.method = "PUT";
	req.body = "";
	req.body_len = 0;
	n_done = 0;
	ok(http_client_send(c, &req, got_cb, &g), "PUT accepted");
	ok(wait_for(1) && g.status == 200, "PUT finished");
	is_str(seen.method, "PUT", "server saw PUT");
	is_str(seen.content_length, "0", "empty body has Content-Length 0");
	got_reset(&g);
}

static void
test_statuses(struct http_client *c)
{
	static const int codes[] = { 200, 409, 429, 500 };
	struct got g[4] = { { 0 } };
	char path[32];

	n_done = 0;
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/status/%d", codes[i]);
		ok(send_get(c, path, 0, &g[i]), "GET %s accepted", path);
	}
	ok(wait_for(4), "all four answered");
	for (int i = 0; i < 4; i++) {
		is_int(g[i].calls, 1, "%d: callback once", codes[i]);
		is_int(g[i].status, codes[i], "status %d", codes[i]);
		ok(!g[i].has_error, "%d: no error", codes[i]);
	}
	is_str(g[0].body, "fine", "200 body");
	is_str(g[1].conflict_id, "abc-123", "409 header, any case");
	is_str(g[1].dup, "second", "last of a repeated header wins");
	is_str(g[1].body, "{\"error\":\"conflict\"}", "409 body");
	is_str(g[2].retry_after, "7", "429 Retry-After");
	ok(g[3].body_len == 0 && g[3].body[0] == '\0', "500 with no body");
	for (int i = 0; i < 4; i++)
		got_reset(&g[i]);
}

static double
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

static void
test_timeout(struct http_client *c)
{
	struct got g = { 0 };
	double t0 = now_ms(), took;

	n_done = 0;
	ok(send_get(c, "/hang", 200, &g), "GET /hang accepted");
	ok(wait_for(1), "hanging request ended");
	took = now_ms() - t0;
	is_int(g.calls, 1, "callback once");
	is_int(g.status, 0, "no status");
	ok(g.timed_out, "timed_out set");
	ok(g.has_error && g.error[0] != '\0', "error set (%s)", g.error);
	ok(took >= 150 && took < 3000, "after about 200 ms (%.0f ms)", took);
	is_str(g.body, "", "no body");
	got_reset(&g);
}

static void
test_refused(struct http_client *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct http_request req = { .method = "GET" };
	struct got g = { 0 };
	char where[64];
	int fd;

	/* Bound but not listening: the port is ours and refuses. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		ok(0, "could not reserve a port");
		return;
	}
	snprintf(where, sizeof(where), "http://127.0.0.1:%d/",
	    ntohs(sin.sin_port));
	req.url = where;
	n_done = 0;
	ok(http_client_send(c, &req, got_cb, &g), "GET to a closed port accepted");
	ok(wait_for(1), "refused request ended");
	is_int(g.calls, 1, "callback once");
	is_int(g.status, 0, "no status");
	ok(g.has_error && g.error[0] != '\0', "error set (%s)", g.error);
	ok(!g.timed_out, "not a timeout");
	close(fd);
	got_reset(&g);
}

static void
test_refused_at_send(struct http_client *c)
{
	static const struct http_header spaced[] = { { "X Bad", "v" } };
	static const struct http_header crlf[] = {
		{ "X-Ok", "v\r\nX-Injected: 1" } };
	struct http_request req = { .method = "GET", .url = url("/echo") };
	struct got g[2] = { { 0 } };

	n_done = 0;
	req.url = NULL;
	ok(!http_client_send(c, &req, got_cb, &g[0]), "no URL refused");
	req.url = url("/echo");
	req.headers = spaced;
	req.n_headers = 1;
	ok(!http_client_send(c, &req, got_cb, &g[0]), "bad header name refused");
	req.headers = crlf;
	ok(!http_client_send(c, &req, got_cb, &g[0]),
	    "line break in a header value refused");
	req.headers = NULL;
	req.n_headers = 0;
	req.body = "x";
	req.body_len = 1;
	ok(!http_client_send(c, &req, got_cb, &g[0]), "GET with a body refused");
	req.method = "PO ST";
	ok(!http_client_send(c, &req, got_cb, &g[0]), "bad method refused");
	is_int(http_client_in_flight(c), 0, "nothing in flight");

	req = (struct http_request){ .method = "GET", .url = "ftp://127.0.0.1/" };
	ok(http_client_send(c, &req, got_cb, &g[0]), "ftp URL accepted");
	req.url = "http://[::1";
	ok(http_client_send(c, &req, got_cb, &g[1]), "broken URL accepted");
	ok(wait_for(2), "both ended");
	ok(g[0].calls == 1 && g[0].status == 0 && g[0].has_error,
	    "ftp fails in the callback (%s)", g[0].error);
	ok(g[1].calls == 1 && g[1].status == 0 && g[1].has_error,
	    "broken URL fails in the callback (%s)", g[1].error);
	got_reset(&g[0]);
	got_reset(&g[1]);
}

static void
test_big(struct http_client *c)
{
	struct got g[2] = { { 0 } };
	char path[32];

	n_done = 0;
	snprintf(path, sizeof(path), "/big/%d", HTTP_CLIENT_MAX_BODY);
	ok(send_get(c, path, 0, &g[0]), "GET 1 MiB accepted");
	snprintf(path, sizeof(path), "/big/%d", HTTP_CLIENT_MAX_BODY + 1);
	ok(send_get(c, path, 0, &g[1]), "GET 1 MiB + 1 accepted");
	ok(wait_for(2), "both ended");
	ok(g[0].status == 200 && g[0].body_len == HTTP_CLIENT_MAX_BODY &&
	    strlen(g[0].body) == HTTP_CLIENT_MAX_BODY, "1 MiB body kept whole");
	is_int(g[1].status, 0, "one byte more fails");
	ok(g[1].has_error && strstr(g[1].error, "1 MiB") != NULL,
	    "with a clear error (%s)", g[1].error);
	is_int(g[1].body_len, 0, "and no partial body");
	got_reset(&g[0]);
	got_reset(&g[1]);
}

static struct {
	int	 calls[N_CONCURRENT];
	bool	 right[N_CONCURRENT];
} many;

static void
many_cb(void *arg, const struct http_response *res)
{
	int i = (int)(intptr_t)arg;
	char want[32];

	snprintf(want, sizeof(want), "n=%d", i);
	many.calls[i]++;
	many.right[i] = res->status == 200 && strcmp(res->body, want) == 0;
	if (++n_done >= n_want)
		event_base_loopexit(base, NULL);
}

static void
test_concurrent(struct http_client *c)
{
	struct http_request req = { .method = "POST", .url = url("/echo") };
	int sent = 0, once = 0, right = 0;
	char body[32];

	n_done = 0;
	for (int i = 0; i < N_CONCURRENT; i++) {
		snprintf(body, sizeof(body), "n=%d", i);
		req.body = body;
		req.body_len = strlen(body);
		sent += http_client_send(c, &req, many_cb, (void *)(intptr_t)i);
	}
	is_int(sent, N_CONCURRENT, "%d requests accepted", N_CONCURRENT);
	is_int(http_client_in_flight(c), N_CONCURRENT, "all in flight");
	ok(wait_for(N_CONCURRENT), "all finished");
	for (int i = 0; i < N_CONCURRENT; i++) {
		once += many.calls[i] == 1;
		right += many.right[i];
	}
	is_int(once, N_CONCURRENT, "each callback called exactly once");
	is_int(right, N_CONCURRENT, "each got its own answer");
	is_int(http_client_in_flight(c), 0, "none left in flight");
}

static struct got follow_first, follow_second;

static void
follow_cb(void *arg, const struct http_response *res)
{
	struct http_client *c = arg;

	follow_first.calls++;
	follow_first.status = res->status;
	ok(send_get(c, "/status/429", 0, &follow_second),
	    "follow-up sent from the callback");
}

static void
test_follow_up(struct http_client *c)
{
	struct http_request req = { .method = "GET", .url = url("/status/200") };

	n_done = 0;
	ok(http_client_send(c, &req, follow_cb, c), "first request accepted");
	ok(wait_for(1), "follow-up finished");
	is_int(follow_first.calls, 1, "first callback once");
	is_int(follow_first.status, 200, "first got 200");
	is_int(follow_second.calls, 1, "follow-up callback once");
	is_int(follow_second.status, 429, "follow-up got 429");
	is_int(http_client_in_flight(c), 0, "none in flight");
	got_reset(&follow_second);
}

static void
test_free_in_flight(void)
{
	struct http_client_options opt = { .user_agent = "madoguchi-test/1" };
	struct http_client *c = http_client_new(base, &opt);
	struct http_request req = { .method = "GET", .url = url("/echo") };
	struct got g[5] = { { 0 } };
	int once = 0, cancelled = 0;

	n_done = 0;
	ok(http_client_send(c, &req, got_cb, &g[0]) && wait_for(1),
	    "own client answers");
	is_str(seen.user_agent, "madoguchi-test/1", "user agent from options");
	got_reset(&g[0]);

	n_done = 0;
	for (int i = 0; i < 5; i++)
		ok(send_get(c, "/hang", 0, &g[i]), "hanging request %d sent", i);
	run_loop(100, 150);	/* long enough for them to be on the wire */
	is_int(http_client_in_flight(c), 5, "five in flight");
	http_client_free(c);
	for (int i = 0; i < 5; i++) {
		once += g[i].calls == 1;
		cancelled += g[i].status == 0 && strcmp(g[i].error,
		    "cancelled") == 0;
		got_reset(&g[i]);
	}
	is_int(once, 5, "each called once by http_client_free");
	is_int(cancelled, 5, "each with \"cancelled\"");

	/* Freed before the loop ever ran them. */
	c = http_client_new(base, NULL);
	for (int i = 0; i < 3; i++)
		ok(send_get(c, "/status/200", 0, &g[i]), "request %d sent", i);
	http_client_free(c);
	once = 0;
	for (int i = 0; i < 3; i++) {
		once += g[i].calls == 1 && strcmp(g[i].error, "cancelled") == 0;
		got_reset(&g[i]);
	}
	is_int(once, 3, "unstarted requests cancelled once each");
	run_loop(1000, 100);
	is_int(g[0].calls, 0, "no callback after the client is gone");
}

static struct got freer_got[3];

static void
freer_cb(void *arg, const struct http_response *res)
{
	struct http_client *c = arg;

	freer_got[0].calls++;
	freer_got[0].status = res->status;
	http_client_free(c);
	if (++n_done >= n_want)
		event_base_loopexit(base, NULL);
}

static void
refused_send_cb(void *arg, const struct http_response *res)
{
	struct http_client *c = arg;

	(void)res;
	freer_got[2].calls++;
	freer_got[2].has_error = !send_get(c, "/echo", 0, &freer_got[0]);
	http_client_free(c);	/* already being freed: ignored */
	if (++n_done >= n_want)
		event_base_loopexit(base, NULL);
}

static void
test_free_in_callback(void)
{
	struct http_client *c = http_client_new(base, NULL);
	struct http_request hang = { .method = "GET", .url = url("/hang") };
	struct http_request fine = { .method = "GET",
	    .url = url("/status/200") };

	n_done = 0;
	ok(send_get(c, "/hang", 0, &freer_got[1]), "hanging request sent");
	ok(http_client_send(c, &hang, refused_send_cb, c),
	    "hanging request whose callback sends sent");
	ok(http_client_send(c, &fine, freer_cb, c),
	    "request whose callback frees sent");
	ok(wait_for(3), "all three called back");
	is_int(freer_got[0].calls, 1, "freeing callback once");
	is_int(freer_got[0].status, 200, "it had its answer");
	is_int(freer_got[1].calls, 1, "hanging request called once");
	is_str(freer_got[1].error, "cancelled", "cancelled");
	is_int(freer_got[2].calls, 1, "other hanging request called once");
	ok(freer_got[2].has_error, "send while freeing is refused");
	got_reset(&freer_got[1]);
}

/* What a stream's callbacks saw; end first, as both get the same arg. */
struct streamed {
	struct got		 end;
	char			 text[256];
	size_t			 len;
	int			 pieces;
	long			 data_status;
	struct http_stream	*s;
	bool			 cancel_on_data;	/* cancel at the first piece */
};

static void
streamed_data_cb(void *arg, long status, const char *data, size_t len)
{
	struct streamed *st = arg;

	st->pieces++;
	st->data_status = status;
	if (st->len + len < sizeof(st->text)) {
		memcpy(st->text + st->len, data, len);
		st->len += len;
	}
	if (st->cancel_on_data) {
		http_stream_cancel(st->s);
		if (++n_done >= n_want)
			event_base_loopexit(base, NULL);
	}
}

static struct http_stream *
stream_get(struct http_client *c, const char *path, long silence_ms,
    struct streamed *st)
{
	struct http_request req = { .method = "GET", .url = url(path),
	    .timeout_ms = silence_ms };

	st->s = http_client_stream(c, &req, streamed_data_cb, got_cb, &st->end);
	return st->s;
}

static void
test_stream_pieces(struct http_client *c)
{
	struct streamed st = { 0 };
	double t0 = now_ms(), took;

	n_done = 0;
	ok(stream_get(c, "/drip/3/100/1", 0, &st) != NULL, "stream accepted");
	ok(wait_for(1), "stream ended");
	took = now_ms() - t0;
	is_str(st.text, "piece 0\npiece 1\npiece 2\n", "every piece, in order");
	ok(st.pieces >= 3, "as they came (%d pieces)", st.pieces);
	is_int(st.data_status, 200, "pieces come with the status");
	is_int(st.end.calls, 1, "its end reported once");
	is_int(st.end.status, 200, "with the status");
	ok(!st.end.has_error, "and no error");
	is_int(st.end.body_len, 0, "the body is not kept");
	ok(took >= 250, "no earlier than the last piece (%.0f ms)", took);
	got_reset(&st.end);
}

static void
test_stream_silence(struct http_client *c)
{
	struct streamed st[2];
	double t0 = now_ms(), took;

	memset(st, 0, sizeof(st));
	/* Pieces every 400 ms for 2.4 s, under a 1.5 s silence limit: a whole
	 * request limit would have ended it. */
	n_done = 0;
	ok(stream_get(c, "/drip/6/400/1", 1500, &st[0]) != NULL,
	    "a stream talking all the time accepted");
	ok(stream_get(c, "/drip/1/10/0", 1000, &st[1]) != NULL,
	    "a stream falling silent accepted");
	ok(wait_for(2), "both ended");
	took = now_ms() - t0;
	ok(st[0].end.calls == 1 && st[0].end.status == 200 &&
	    !st[0].end.timed_out, "a long stream is not cut short");
	is_int(st[0].len, 6 * strlen("piece 0\n"), "with every piece");
	ok(took >= 2000, "it ran %.0f ms", took);
	is_int(st[1].end.calls, 1, "the silent one ended once");
	ok(st[1].end.timed_out && st[1].end.has_error,
	    "as timed out (%s)", st[1].end.error);
	is_str(st[1].text, "piece 0\n", "after what it did say");
	got_reset(&st[0].end);
	got_reset(&st[1].end);
}

static void
test_stream_cancel(struct http_client *c)
{
	struct streamed st = { .cancel_on_data = true };
	struct streamed later = { 0 };

	n_done = 0;
	ok(stream_get(c, "/drip/1/10/0", 0, &st) != NULL,
	    "a stream held open accepted");
	ok(wait_for(1), "its first piece came");
	run_loop(1000, 200);
	is_int(st.end.calls, 0, "a cancelled stream's end is never reported");
	is_int(st.pieces, 1, "nor any more pieces");
	is_int(http_client_in_flight(c), 0, "and it is closed");

	n_done = 0;
	ok(stream_get(c, "/drip/1/10/0", 0, &later) != NULL, "another held open");
	run_loop(1000, 150);
	http_stream_cancel(later.s);
	http_stream_cancel(NULL);
	run_loop(1000, 150);
	ok(later.pieces == 1 && later.end.calls == 0,
	    "cancelled from the loop: silent too");
	is_int(http_client_in_flight(c), 0, "and closed");
}

static void
test_stream_ends(struct http_client *c)
{
	struct http_request bad = { .method = "GET", .url = url("/echo"),
	    .body = "x", .body_len = 1 };
	struct streamed st[2];
	struct http_client *own = http_client_new(base, NULL);

	memset(st, 0, sizeof(st));
	ok(http_client_stream(c, &bad, streamed_data_cb, got_cb, &st[0].end) ==
	    NULL, "a stream with a GET body refused");
	n_done = 0;
	ok(stream_get(c, "/status/409", 0, &st[0]) != NULL,
	    "a stream answered 409 accepted");
	ok(wait_for(1), "it ended");
	is_int(st[0].data_status, 409, "its body came with 409");
	is_str(st[0].text, "{\"error\":\"conflict\"}", "the body");
	ok(st[0].end.calls == 1 && st[0].end.status == 409,
	    "its end once, with 409");
	got_reset(&st[0].end);

	n_done = 0;
	ok(stream_get(own, "/drip/1/10/0", 0, &st[1]) != NULL,
	    "a stream on a client about to be freed");
	run_loop(1000, 150);
	http_client_free(own);
	ok(st[1].end.calls == 1 && strcmp(st[1].end.error, "cancelled") == 0,
	    "freeing the client ends it once, cancelled");
	got_reset(&st[1].end);
}

int
main(void)
{
	struct evhttp_bound_socket *bound;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct http_client *c;

	base = event_base_new();
	server = evhttp_new(base);
	evhttp_set_allowed_methods(server, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE);
	evhttp_set_max_body_size(server, 2 * 1024 * 1024);
	evhttp_set_gencb(server, server_cb, NULL);
	bound = evhttp_bind_socket_with_handle(server, "127.0.0.1", 0);
	if (bound == NULL || getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&sin, &len) != 0) {
		ok(0, "server listens");
		return done_testing();
	}
	snprintf(url_base, sizeof(url_base), "http://127.0.0.1:%d",
	    ntohs(sin.sin_port));
	c = http_client_new(base, NULL);
	ok(c != NULL, "client created");

	test_get(c);
	test_post(c);
	test_statuses(c);
	test_timeout(c);
	test_refused(c);
	test_refused_at_send(c);
	test_big(c);
	test_concurrent(c);
	test_follow_up(c);
	test_free_in_flight();
	test_free_in_callback();
	test_stream_pieces(c);
	test_stream_silence(c);
	test_stream_cancel(c);
	test_stream_ends(c);

	http_client_free(c);
	http_client_free(NULL);
	drips_free();
	evhttp_free(server);
	event_base_free(base);
	free(seen.body);
	return done_testing();
}
