/*
 * http_client.c - outgoing HTTP on the caller's libevent loop, through
 * libcurl's multi-socket interface.
 *
 * libcurl says which sockets to watch (http_client_socket_cb) and when to
 * wake it (http_client_timer_cb); the loop tells it what happened through
 * curl_multi_socket_action, then finished transfers go to their callbacks
 * (http_client_collect). One multi handle per client keeps connections alive.
 * A stream (http_client_stream) is a transfer whose body goes to its caller
 * piece by piece instead of being kept.
 */
#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "mail.h"

#define HTTP_CLIENT_CONNECT_TIMEOUT_MS	5000
#define HTTP_CLIENT_TIMEOUT_MS		30000
#define HTTP_CLIENT_MAX_CONNECTIONS	16
#define HTTP_CLIENT_MAX_HEADER_BYTES	(64 * 1024)
#define HTTP_CLIENT_MAX_METHOD		16

/* One transfer, from http_client_send until its callback returned. */
struct http_xfer {
	struct http_response	 res;		/* first: http_response_header casts back */
	TAILQ_ENTRY(http_xfer)	 link;
	struct http_client	*client;
	CURL			*easy;
	struct curl_slist	*headers;	/* request headers */
	struct curl_slist	*rcpt;		/* mail: envelope recipients */
	char			*upload;	/* mail: the message */
	size_t			 upload_len;
	size_t			 upload_off;
	http_done_fn		 done;
	http_data_fn		 data;		/* a stream: the body's pieces */
	void			*arg;
	bool			 cancelled;	/* a stream its caller stopped */
	char			*body;		/* response body, NUL-terminated */
	size_t			 body_len;
	size_t			 body_cap;
	char			**kept;		/* response headers: "name\0value" */
	size_t			 n_kept;
	size_t			 cap_kept;
	size_t			 kept_bytes;
	const char		*why;		/* our reason for stopping it, over curl's */
	char			 errbuf[CURL_ERROR_SIZE];
	char			 why_buf[CURL_ERROR_SIZE + 32];	/* mail */
};

/* A socket libcurl asked us to watch. */
struct http_watch {
	LIST_ENTRY(http_watch)	 link;
	curl_socket_t		 fd;
	struct event		*ev;
};

struct http_client {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;		/* libcurl's single timeout */
	struct event		*reaper;	/* closes cancelled streams */
	char			*user_agent;
	char			*ca_file;
	long			 connect_timeout_ms;
	TAILQ_HEAD(, http_xfer)	 xfers;		/* in flight */
	LIST_HEAD(, http_watch)	 watches;
	size_t			 in_flight;
	unsigned		 collecting;	/* inside http_client_collect */
	bool			 closing;	/* http_client_free has begun */
};

static void	http_client_socket_event_cb(evutil_socket_t fd, short what,
		    void *arg);
static void	http_client_collect(struct http_client *c);
static void	http_client_detach(struct http_client *c, struct http_xfer *x);

static bool	curl_ready;

static void
http_xfer_forget_headers(struct http_xfer *x)
{
	for (size_t i = 0; i < x->n_kept; i++)
		free(x->kept[i]);
	x->n_kept = 0;
	x->kept_bytes = 0;
}

static void
http_xfer_free(struct http_xfer *x)
{
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	curl_slist_free_all(x->rcpt);
	free(x->upload);
	http_xfer_forget_headers(x);
	free(x->kept);
	free(x->body);
	free(x);
}

/* A stream's piece goes straight to its caller, with the status. */
static size_t
http_xfer_stream_cb(struct http_xfer *x, const char *data, size_t len)
{
	long status = 0;

	if (x->cancelled)
		return CURL_WRITEFUNC_ERROR;
	if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status) !=
	    CURLE_OK)
		status = 0;
	x->data(x->arg, status, data, len);
	return len;
}

static size_t
http_xfer_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_xfer *x = arg;
	size_t len = size * n, need, cap;
	char *p;

	if (x->data != NULL)
		return http_xfer_stream_cb(x, data, len);
	if (len > HTTP_CLIENT_MAX_BODY - x->body_len) {
		x->why = "response body larger than 1 MiB";
		return CURL_WRITEFUNC_ERROR;
	}
	need = x->body_len + len + 1;
	if (need > x->body_cap) {
		cap = x->body_cap > 0 ? x->body_cap : 4096;
		while (cap < need)
			cap *= 2;
		if (cap > HTTP_CLIENT_MAX_BODY + 1)
			cap = HTTP_CLIENT_MAX_BODY + 1;
		if ((p = realloc(x->body, cap)) == NULL) {
			x->why = "out of memory";
			return CURL_WRITEFUNC_ERROR;
		}
		x->body = p;
		x->body_cap = cap;
	}
	memcpy(x->body + x->body_len, data, len);
	x->body_len += len;
	x->body[x->body_len] = '\0';
	return len;
}

/* Keeps "name: value" as "name\0value", the name lowercased. */
static bool
http_xfer_keep_header(struct http_xfer *x, const char *line, size_t len,
    size_t colon)
{
	size_t vstart = colon + 1, vend = len;
	char **kept, *h;

	while (vstart < vend && (line[vstart] == ' ' || line[vstart] == '\t'))
		vstart++;
	while (vend > vstart && strchr(" \t\r\n", line[vend - 1]) != NULL)
		vend--;
	if (x->n_kept == x->cap_kept) {
		size_t cap = x->cap_kept > 0 ? x->cap_kept * 2 : 16;

		if ((kept = reallocarray(x->kept, cap, sizeof(*kept))) == NULL)
			return false;
		x->kept = kept;
		x->cap_kept = cap;
	}
	if ((h = malloc(colon + 1 + (vend - vstart) + 1)) == NULL)
		return false;
	for (size_t i = 0; i < colon; i++)
		h[i] = (line[i] >= 'A' && line[i] <= 'Z') ? line[i] - 'A' + 'a' :
		    line[i];
	h[colon] = '\0';
	memcpy(h + colon + 1, line + vstart, vend - vstart);
	h[colon + 1 + vend - vstart] = '\0';
	x->kept[x->n_kept++] = h;
	return true;
}

static size_t
http_xfer_header_cb(char *line, size_t size, size_t n, void *arg)
{
	struct http_xfer *x = arg;
	size_t len = size * n;
	const char *colon;

	/* Each status line starts a new header block: a 100 Continue's
	 * headers are not the answer's. */
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		http_xfer_forget_headers(x);
		return len;
	}
	/* The blank line that ends a block, and obsolete folded lines. */
	if (len == 0 || line[0] == ' ' || line[0] == '\t' ||
	    (colon = memchr(line, ':', len)) == NULL || colon == line)
		return len;
	x->kept_bytes += len + sizeof(char *);
	if (x->kept_bytes > HTTP_CLIENT_MAX_HEADER_BYTES) {
		x->why = "response headers larger than 64 KiB";
		return CURL_WRITEFUNC_ERROR;
	}
	if (!http_xfer_keep_header(x, line, len, (size_t)(colon - line))) {
		x->why = "out of memory";
		return CURL_WRITEFUNC_ERROR;
	}
	return len;
}

static bool
http_token(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		unsigned char ch = (unsigned char)s[n];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch)))
			return false;
	}
	return n > 0 && n <= max;
}

static bool
http_xfer_add_header(struct http_xfer *x, const char *line)
{
	struct curl_slist *l = curl_slist_append(x->headers, line);

	if (l == NULL)
		return false;
	x->headers = l;
	return true;
}

/* The request headers as curl wants them; "Name;" sends an empty value. */
static bool
http_xfer_set_headers(struct http_xfer *x, const struct http_request *req)
{
	bool has_type = false, has_expect = false, added;

	for (size_t i = 0; i < req->n_headers; i++) {
		const char *name = req->headers[i].name;
		const char *value = req->headers[i].value;
		size_t len;
		char *line;

		if (name == NULL || value == NULL || !http_token(name, 256) ||
		    strpbrk(value, "\r\n") != NULL)
			return false;
		has_type |= strcasecmp(name, "Content-Type") == 0;
		has_expect |= strcasecmp(name, "Expect") == 0;
		len = strlen(name) + strlen(value) + 3;
		if ((line = malloc(len)) == NULL)
			return false;
		if (value[0] == '\0')
			snprintf(line, len, "%s;", name);
		else
			snprintf(line, len, "%s: %s", name, value);
		added = http_xfer_add_header(x, line);
		free(line);
		if (!added)
			return false;
	}
	/* Else curl would call any body a form, and wait up to a second for
	 * a 100 Continue before sending a large one. */
	return (has_type || http_xfer_add_header(x, "Content-Type:")) &&
	    (has_expect || http_xfer_add_header(x, "Expect:"));
}

static bool
http_xfer_set_method(struct http_xfer *x, const struct http_request *req)
{
	const char *m = req->method != NULL ? req->method : "GET";
	CURL *e = x->easy;

	if (!http_token(m, HTTP_CLIENT_MAX_METHOD))
		return false;
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
		if (req->body != NULL)
			return false;
		if (m[0] == 'H')
			return curl_easy_setopt(e, CURLOPT_NOBODY, 1L) ==
			    CURLE_OK;
		return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
	}
	if (strcmp(m, "POST") != 0 &&
	    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m) != CURLE_OK)
		return false;
	/* A POST always has a body, if empty; other methods only when given. */
	if (req->body == NULL && strcmp(m, "POST") != 0)
		return true;
	return curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)(req->body != NULL ? req->body_len : 0)) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS,
	    req->body != NULL ? req->body : "") == CURLE_OK;
}

/*
 * What every transfer sets, HTTP or mail: its URL and schemes, that it is
 * ours, its time limits (timeout_ms < 0: none but the connect timeout),
 * where the answer and curl's message go.
 */
static bool
http_xfer_setopt_common(struct http_xfer *x, const char *url,
    const char *protocols, long timeout_ms)
{
	CURL *e = x->easy;

	return curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_PRIVATE, x) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols) ==
	    CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms < 0 ? 0L :
	    timeout_ms > 0 ? timeout_ms : HTTP_CLIENT_TIMEOUT_MS) ==
	    CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    x->client->connect_timeout_ms) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_xfer_write_cb) ==
	    CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, x) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) == CURLE_OK;
}

/* A stream's silence limit: libcurl counts it in whole seconds. */
static bool
http_xfer_setopt_silence(struct http_xfer *x, long silence_ms)
{
	if (silence_ms <= 0)
		return true;
	return curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_LIMIT, 1L) ==
	    CURLE_OK && curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME,
	    (silence_ms + 999) / 1000) == CURLE_OK;
}

static bool
http_xfer_setopt(struct http_xfer *x, const struct http_request *req)
{
	CURL *e = x->easy;
	bool stream = x->data != NULL;

	return http_xfer_setopt_common(x, req->url, "http,https",
	    stream ? -1 : req->timeout_ms) &&
	    (!stream || http_xfer_setopt_silence(x, req->timeout_ms)) &&
	    (x->client->ca_file == NULL || curl_easy_setopt(e,
	    CURLOPT_CAINFO, x->client->ca_file) == CURLE_OK) &&
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_USERAGENT, x->client->user_agent) ==
	    CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_xfer_header_cb) ==
	    CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, x) == CURLE_OK &&
	    http_xfer_set_method(x, req);
}

/* A mail failure names the server's last reply code, which curl's own
 * message ("Weird server reply") may not. */
static const char *
mail_failure(struct http_xfer *x, const char *why)
{
	long code = 0;

	if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code) !=
	    CURLE_OK || code <= 0)
		return why;
	snprintf(x->why_buf, sizeof(x->why_buf), "SMTP %ld: %s", code, why);
	return x->why_buf;
}

/*
 * Fills x->res from how the transfer ended (why overrides curl's message),
 * hands it to the callback, and frees x. The callback may free the client:
 * nothing of it is touched here afterwards.
 */
static void
http_xfer_deliver(struct http_xfer *x, CURLcode rc, const char *why)
{
	struct http_response *res = &x->res;
	long status = 0;

	if (why == NULL && rc == CURLE_OK &&
	    (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status) !=
	    CURLE_OK || status <= 0))
		why = "no HTTP status";
	if (why == NULL && rc != CURLE_OK)
		why = x->why != NULL ? x->why : x->errbuf[0] != '\0' ?
		    x->errbuf : curl_easy_strerror(rc);
	if (why != NULL && x->rcpt != NULL)
		why = mail_failure(x, why);
	res->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	if (x->data != NULL)
		x->body_len = 0;	/* its pieces went to the caller */
	if (why != NULL) {
		log_debug("http_client_failed", "curl_code=%d reason=\"%s\"",
		    (int)rc, curl_easy_strerror(rc));
		res->error = why;
		x->body_len = 0;
		http_xfer_forget_headers(x);
	} else
		res->status = status;
	res->body = x->body != NULL && x->body_len > 0 ? x->body : "";
	res->body_len = x->body_len;
	x->done(x->arg, res);
	http_xfer_free(x);
}

/* Takes x off the client before its callback, which may count or free. */
static void
http_client_detach(struct http_client *c, struct http_xfer *x)
{
	TAILQ_REMOVE(&c->xfers, x, link);
	c->in_flight--;
	curl_multi_remove_handle(c->multi, x->easy);
}

static void
http_watch_free(struct http_watch *w)
{
	LIST_REMOVE(w, link);
	if (w->ev != NULL)
		event_free(w->ev);
	free(w);
}

static struct http_watch *
http_watch_find(struct http_client *c, curl_socket_t fd)
{
	struct http_watch *w;

	LIST_FOREACH(w, &c->watches, link)
		if (w->fd == fd)
			return w;
	return NULL;
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what libcurl waits for. */
static int
http_client_socket_cb(CURL *easy, curl_socket_t fd, int what, void *clientp,
    void *socketp)
{
	struct http_client *c = clientp;
	struct http_watch *w = socketp, *stale;
	short events = EV_PERSIST;

	(void)easy;
	/* libcurl can forget a socket without CURL_POLL_REMOVE (one closed
	 * from its connection cache): a new socket with the same number must
	 * not inherit that watch, whose EV_WRITE would spin the loop. */
	if (w == NULL && (stale = http_watch_find(c, fd)) != NULL)
		http_watch_free(stale);
	if (what == CURL_POLL_REMOVE) {
		if (w != NULL)
			http_watch_free(w);
		return 0;
	}
	if (w == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			return -1;
		w->fd = fd;
		LIST_INSERT_HEAD(&c->watches, w, link);
		if (curl_multi_assign(c->multi, fd, w) != CURLM_OK) {
			http_watch_free(w);
			return -1;
		}
	} else if (w->ev != NULL) {
		event_free(w->ev);
		w->ev = NULL;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	/* The event's argument is the client, not w: libcurl may drop w
	 * while this very event is being handled. */
	w->ev = event_new(c->base, fd, events, http_client_socket_event_cb, c);
	if (w->ev == NULL || event_add(w->ev, NULL) != 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl must not be called from here, only later. */
static int
http_client_timer_cb(CURLM *multi, long timeout_ms, void *clientp)
{
	struct http_client *c = clientp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(c->timer) == 0 ? 0 : -1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

static void
http_client_socket_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(c->multi, fd, action, &running);
	http_client_collect(c);
}

/* Closes the streams their callers cancelled, outside libcurl's callbacks. */
static void
http_client_reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	struct http_xfer *x, *next;

	(void)fd;
	(void)what;
	for (x = TAILQ_FIRST(&c->xfers); x != NULL; x = next) {
		next = TAILQ_NEXT(x, link);
		if (!x->cancelled)
			continue;
		http_client_detach(c, x);
		http_xfer_free(x);
	}
}

static void
http_client_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_client_collect(c);
}

/*
 * Hands finished transfers to their callbacks. A callback may free the
 * client: that tears everything down but leaves the struct to be freed here,
 * so this must be the last thing its caller does with c.
 */
static void
http_client_collect(struct http_client *c)
{
	struct http_xfer *x;
	CURLMsg *msg;
	CURLcode rc;
	void *priv;
	int left;

	c->collecting++;
	while (!c->closing &&
	    (msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg dies with curl_multi_remove_handle. */
		rc = msg->data.result;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    &priv) != CURLE_OK || priv == NULL)
			continue;
		x = priv;
		http_client_detach(c, x);
		if (x->cancelled)
			http_xfer_free(x);
		else
			http_xfer_deliver(x, rc, NULL);
	}
	if (--c->collecting == 0 && c->closing)
		free(c);
}

struct http_client *
http_client_new(struct event_base *base, const struct http_client_options *opt)
{
	const char *ua = opt != NULL && opt->user_agent != NULL ?
	    opt->user_agent : "madoguchi";
	long maxconn = opt != NULL && opt->max_connections > 0 ?
	    opt->max_connections : HTTP_CLIENT_MAX_CONNECTIONS;
	struct http_client *c;

	/* Once per process; we never call curl_global_cleanup, as another
	 * client may come later. */
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_ready = true;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->connect_timeout_ms = opt != NULL && opt->connect_timeout_ms > 0 ?
	    opt->connect_timeout_ms : HTTP_CLIENT_CONNECT_TIMEOUT_MS;
	TAILQ_INIT(&c->xfers);
	LIST_INIT(&c->watches);
	if ((c->user_agent = strdup(ua)) == NULL ||
	    (opt != NULL && opt->ca_file != NULL &&
	    (c->ca_file = strdup(opt->ca_file)) == NULL) ||
	    (c->timer = evtimer_new(base, http_client_timer_event_cb, c)) ==
	    NULL || (c->reaper = event_new(base, -1, 0, http_client_reaper_cb,
	    c)) == NULL || (c->multi = curl_multi_init()) == NULL ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION,
	    http_client_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION,
	    http_client_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    maxconn) != CURLM_OK) {
		http_client_free(c);
		return NULL;
	}
	return c;
}

void
http_client_free(struct http_client *c)
{
	struct http_xfer *x;
	struct http_watch *w;

	if (c == NULL || c->closing)
		return;
	c->closing = true;
	/* Callbacks run now may send (refused) or free (ignored) again. */
	while ((x = TAILQ_FIRST(&c->xfers)) != NULL) {
		http_client_detach(c, x);
		if (x->cancelled)
			http_xfer_free(x);
		else
			http_xfer_deliver(x, CURLE_ABORTED_BY_CALLBACK,
			    "cancelled");
	}
	/* libcurl may still report sockets while it closes its connections. */
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	c->multi = NULL;
	while ((w = LIST_FIRST(&c->watches)) != NULL)
		http_watch_free(w);
	if (c->timer != NULL)
		event_free(c->timer);
	c->timer = NULL;
	if (c->reaper != NULL)
		event_free(c->reaper);
	c->reaper = NULL;
	free(c->user_agent);
	c->user_agent = NULL;
	free(c->ca_file);
	c->ca_file = NULL;
	if (c->collecting == 0)
		free(c);
}

static struct http_xfer *
http_xfer_new(struct http_client *c, http_done_fn done, void *arg)
{
	struct http_xfer *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->client = c;
	x->done = done;
	x->arg = arg;
	if ((x->easy = curl_easy_init()) == NULL) {
		http_xfer_free(x);
		return NULL;
	}
	return x;
}

static bool
http_client_start(struct http_client *c, struct http_xfer *x)
{
	if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
		http_xfer_free(x);
		return false;
	}
	TAILQ_INSERT_TAIL(&c->xfers, x, link);
	c->in_flight++;
	return true;
}

bool
http_client_send(struct http_client *c, const struct http_request *req,
    http_done_fn done, void *arg)
{
	struct http_xfer *x;

	if (c->closing || req->url == NULL || done == NULL ||
	    (req->body == NULL && req->body_len > 0))
		return false;
	if ((x = http_xfer_new(c, done, arg)) == NULL)
		return false;
	if (!http_xfer_set_headers(x, req) || !http_xfer_setopt(x, req)) {
		http_xfer_free(x);
		return false;
	}
	return http_client_start(c, x);
}

struct http_stream *
http_client_stream(struct http_client *c, const struct http_request *req,
    http_data_fn data, http_done_fn done, void *arg)
{
	struct http_xfer *x;

	if (c->closing || req->url == NULL || done == NULL || data == NULL ||
	    (req->body == NULL && req->body_len > 0))
		return NULL;
	if ((x = http_xfer_new(c, done, arg)) == NULL)
		return NULL;
	x->data = data;
	if (!http_xfer_set_headers(x, req) || !http_xfer_setopt(x, req)) {
		http_xfer_free(x);
		return NULL;
	}
	if (!http_client_start(c, x))
		return NULL;
	/* The handle is the transfer itself, opaque to the caller. */
	return (struct http_stream *)(void *)x;
}

void
http_stream_cancel(struct http_stream *s)
{
	struct http_xfer *x = (struct http_xfer *)(void *)s;

	if (x == NULL || x->cancelled)
		return;
	x->cancelled = true;
	/* libcurl must not be called from its own callbacks, where this may
	 * run: the loop closes it right after. */
	event_active(x->client->reaper, 0, 1);
}

/* ---- mail ---- */

static size_t
mail_read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct http_xfer *x = arg;
	size_t len = x->upload_len - x->upload_off;

	if (len > size * n)
		len = size * n;
	memcpy(buf, x->upload + x->upload_off, len);
	x->upload_off += len;
	return len;
}

static bool
mail_setopt(struct http_xfer *x, const struct mail_request *req)
{
	CURL *e = x->easy;
	bool auth = req->user != NULL && req->user[0] != '\0';

	return http_xfer_setopt_common(x, req->url, "smtp,smtps",
	    req->timeout_ms) &&
	    /* Without require_tls, still TLS whenever the server offers it. */
	    curl_easy_setopt(e, CURLOPT_USE_SSL, req->require_tls ?
	    (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY) == CURLE_OK &&
	    /* Alerts are minutes apart, and a server that has closed an idle
	     * connection with 421 would fail the next one on it. */
	    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK &&
	    (!auth || (curl_easy_setopt(e, CURLOPT_USERNAME, req->user) ==
	    CURLE_OK && curl_easy_setopt(e, CURLOPT_PASSWORD,
	    req->password != NULL ? req->password : "") == CURLE_OK)) &&
	    curl_easy_setopt(e, CURLOPT_MAIL_FROM, req->from) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, x->rcpt) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)x->upload_len) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_READFUNCTION, mail_read_cb) ==
	    CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_READDATA, x) == CURLE_OK;
}

bool
http_client_send_mail(struct http_client *c, const struct mail_request *req,
    http_done_fn done, void *arg)
{
	struct http_xfer *x;
	struct curl_slist *l;

	if (c->closing || req->url == NULL || done == NULL ||
	    !mail_address_valid(req->from) || req->n_to == 0 ||
	    req->message == NULL)
		return false;
	if ((x = http_xfer_new(c, done, arg)) == NULL)
		return false;
	for (size_t i = 0; i < req->n_to; i++) {
		/* mail_address_valid: no line break reaches an SMTP command. */
		if (!mail_address_valid(req->to[i]) ||
		    (l = curl_slist_append(x->rcpt, req->to[i])) == NULL) {
			http_xfer_free(x);
			return false;
		}
		x->rcpt = l;
	}
	if ((x->upload = malloc(req->message_len + 1)) == NULL) {
		http_xfer_free(x);
		return false;
	}
	memcpy(x->upload, req->message, req->message_len);
	x->upload_len = req->message_len;
	if (!mail_setopt(x, req)) {
		http_xfer_free(x);
		return false;
	}
	return http_client_start(c, x);
}

size_t
http_client_in_flight(const struct http_client *c)
{
	return c->in_flight;
}

const char *
http_response_header(const struct http_response *res, const char *name)
{
	const struct http_xfer *x = (const struct http_xfer *)(const void *)res;

	for (size_t i = x->n_kept; i-- > 0;)
		if (strcasecmp(x->kept[i], name) == 0)
			return x->kept[i] + strlen(x->kept[i]) + 1;
	return NULL;
}
