/*
 * Signed webhook POSTs to madoguchid, sent asynchronously with libevent's
 * HTTP client so the simulator's event loop never blocks on the receiver.
 * Each POST gets its own connection ("flight"); finished connections are
 * freed one loop iteration later because libevent still touches the
 * connection after the request callback returns.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "linesim.h"

struct flight {
	struct webhook_sender	*ws;
	struct evhttp_connection *evcon;	/* NULL if creation failed */
	struct event		*reap;		/* deferred cleanup */
	webhook_done_cb		 cb;
	void			*arg;
	int			 status;	/* receiver's answer, 0 = none */
	struct flight		*prev, *next;
};

struct webhook_sender {
	struct event_base	*base;
	char			*addr;		/* numeric, resolved at start */
	int			 port;
	char			*host_header;
	char			*path;		/* path and query */
	const char		*secret;	/* borrowed from the config */
	struct flight		*flights;
};

static bool	 sender_parse_url(struct webhook_sender *, const char *);
static char	*resolve_numeric(const char *host);
static struct evhttp_request *flight_request(struct flight *, const char *,
		    enum sig_mode);
static void	 flight_done_cb(struct evhttp_request *, void *);
static void	 flight_reap_cb(evutil_socket_t, short, void *);
static void	 flight_schedule_reap(struct flight *);
static void	 flight_free(struct flight *);

/*
 * Parse and resolve the webhook URL once, at startup, so that sending
 * never does a blocking DNS lookup.  Only http:// is supported (the
 * simulator talks to a local madoguchid).  Returns NULL after logging.
 */
struct webhook_sender *
webhook_sender_new(struct event_base *base, const char *url,
    const char *secret)
{
	struct webhook_sender	*ws;

	ws = xcalloc(1, sizeof(*ws));
	ws->base = base;
	ws->secret = secret;
	if (!sender_parse_url(ws, url)) {
		webhook_sender_free(ws);
		return NULL;
	}
	return ws;
}

/*
 * Abandon every POST still in flight: each owner's callback gets -1 so it
 * can free its state.  NULL is a no-op.
 */
void
webhook_sender_free(struct webhook_sender *ws)
{
	struct flight	*f;

	if (ws == NULL)
		return;
	while ((f = ws->flights) != NULL) {
		/* Every listed flight is still unreported. */
		f->cb(-1, f->arg);
		flight_free(f);
	}
	free(ws->addr);
	free(ws->host_header);
	free(ws->path);
	free(ws);
}

/*
 * POST body to the webhook URL.  cb is called exactly once, from a timer
 * on the event loop (never from inside this function), with the receiver's
 * HTTP status, 0 if it could not be reached or did not answer within
 * LINESIM_WEBHOOK_TIMEOUT, or -1 at shutdown.
 */
void
webhook_send(struct webhook_sender *ws, const char *body, enum sig_mode sig,
    webhook_done_cb cb, void *arg)
{
	struct flight		*f;
	struct evhttp_request	*req;

	f = xcalloc(1, sizeof(*f));
	f->ws = ws;
	f->cb = cb;
	f->arg = arg;
	if ((f->reap = evtimer_new(ws->base, flight_reap_cb, f)) == NULL)
		abort();
	f->next = ws->flights;
	if (ws->flights != NULL)
		ws->flights->prev = f;
	ws->flights = f;

	f->evcon = evhttp_connection_base_new(ws->base, NULL, ws->addr,
	    (unsigned short)ws->port);
	if (f->evcon == NULL) {
		flight_schedule_reap(f);
		return;
	}
	evhttp_connection_set_timeout(f->evcon, LINESIM_WEBHOOK_TIMEOUT);
	evhttp_connection_set_retries(f->evcon, 0);
	req = flight_request(f, body, sig);
	/* On failure libevent has freed req; report status 0 later. */
	if (evhttp_make_request(f->evcon, req, EVHTTP_REQ_POST, ws->path) != 0)
		flight_schedule_reap(f);
}

static struct evhttp_request *
flight_request(struct flight *f, const char *body, enum sig_mode sig)
{
	struct evhttp_request	*req;
	struct evkeyvalq	*h;
	char			 signature[45];
	size_t			 len = strlen(body);

	if ((req = evhttp_request_new(flight_done_cb, f)) == NULL)
		abort();
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", f->ws->host_header);
	evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
	evhttp_add_header(h, "User-Agent", "LineBotWebhook/2.0");
	evhttp_add_header(h, "Connection", "close");
	if (sig != SIG_NONE) {
		/* A wrong key gives a well-formed but wrong signature. */
		sign_body(sig == SIG_GOOD ? f->ws->secret : "not-the-secret",
		    body, len, signature);
		evhttp_add_header(h, "x-line-signature", signature);
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	return req;
}

static void
flight_done_cb(struct evhttp_request *req, void *arg)
{
	struct flight	*f = arg;

	/* Report from the reap timer: the owner may free things libevent
	 * is still using further up this call stack. */
	if (req != NULL && f->status == 0)
		f->status = evhttp_request_get_response_code(req);
	flight_schedule_reap(f);
}

static void
flight_schedule_reap(struct flight *f)
{
	struct timeval	now = { 0, 0 };

	evtimer_add(f->reap, &now);
}

static void
flight_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flight	*f = arg;

	(void)fd;
	(void)what;
	f->cb(f->status, f->arg);
	flight_free(f);
}

static void
flight_free(struct flight *f)
{
	if (f->prev != NULL)
		f->prev->next = f->next;
	else
		f->ws->flights = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	if (f->evcon != NULL)
		evhttp_connection_free(f->evcon);
	event_free(f->reap);
	free(f);
}

static bool
sender_parse_url(struct webhook_sender *ws, const char *url)
{
	struct evhttp_uri	*u;
	const char		*scheme, *host, *path, *query;
	char			 hostport[300];
	bool			 ok = false;

	if ((u = evhttp_uri_parse(url)) == NULL) {
		sim_log("webhook URL %s: cannot parse", url);
		return false;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	if (scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL ||
	    *host == '\0' || strlen(host) > 255) {
		sim_log("webhook URL %s: need http://HOST[:PORT]/PATH", url);
		goto done;
	}
	if ((ws->addr = resolve_numeric(host)) == NULL)
		goto done;
	ws->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	snprintf(hostport, sizeof(hostport), evhttp_uri_get_port(u) > 0 ?
	    "%s:%d" : "%s", host, ws->port);
	ws->host_header = xstrdup(hostport);
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	if (path == NULL || *path == '\0')
		path = "/";
	ws->path = xmalloc(strlen(path) + (query ? strlen(query) + 1 : 0) + 1);
	sprintf(ws->path, "%s%s%s", path, query ? "?" : "", query ? query : "");
	ok = true;
done:
	evhttp_uri_free(u);
	return ok;
}

/* Resolve host (brackets allowed for IPv6) to a numeric address string. */
static char *
resolve_numeric(const char *host)
{
	struct addrinfo	 hints, *res = NULL;
	char		 name[300], num[NI_MAXHOST];
	size_t		 len = strlen(host);
	int		 rc;

	if (host[0] == '[' && len > 2 && host[len - 1] == ']')
		snprintf(name, sizeof(name), "%.*s", (int)(len - 2), host + 1);
	else
		snprintf(name, sizeof(name), "%s", host);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(name, NULL, &hints, &res)) != 0) {
		sim_log("webhook host %s: %s", name, gai_strerror(rc));
		return NULL;
	}
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, num, sizeof(num),
	    NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	if (rc != 0) {
		sim_log("webhook host %s: %s", name, gai_strerror(rc));
		return NULL;
	}
	return xstrdup(num);
}
