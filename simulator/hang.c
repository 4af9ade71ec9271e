/*
 * Requests held open by a "hang" fault.  libevent stops reading a server
 * connection once the request is complete, so it would never notice the
 * client giving up; we watch the socket ourselves and free the connection
 * (and the request with it) when the peer closes.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>

#include "linesim.h"

struct hang {
	struct hangs		*hs;
	struct evhttp_request	*req;	/* owned by libevent's connection */
	struct event		*watch;
	struct hang		*prev, *next;
};

struct hangs {
	struct event_base	*base;
	struct hang		*list;
	size_t			 count;
};

static void	 hang_watch_cb(evutil_socket_t, short, void *);
static void	 hang_unlink_free(struct hang *);

struct hangs *
hangs_new(struct event_base *base)
{
	struct hangs	*hs;

	hs = xcalloc(1, sizeof(*hs));
	hs->base = base;
	return hs;
}

/*
 * Forget every held request.  The requests themselves belong to their
 * connections, which evhttp_free() releases: call this before it.
 */
void
hangs_free(struct hangs *hs)
{
	if (hs == NULL)
		return;
	while (hs->list != NULL)
		hang_unlink_free(hs->list);
	free(hs);
}

/* Never answer req; release it when the client disconnects. */
void
hangs_hold(struct hangs *hs, struct evhttp_request *req)
{
	struct evhttp_connection	*conn;
	struct hang			*h;
	evutil_socket_t			 fd;

	conn = evhttp_request_get_connection(req);
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(conn));
	h = xcalloc(1, sizeof(*h));
	h->hs = hs;
	h->req = req;
	h->watch = event_new(hs->base, fd, EV_READ | EV_PERSIST,
	    hang_watch_cb, h);
	if (h->watch == NULL)
		abort();
	event_add(h->watch, NULL);
	h->next = hs->list;
	if (hs->list != NULL)
		hs->list->prev = h;
	hs->list = h;
	hs->count++;
}

size_t
hangs_count(const struct hangs *hs)
{
	return hs->count;
}

static void
hang_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hang			*h = arg;
	struct evhttp_connection	*conn;
	char				 c;
	ssize_t				 n;

	(void)what;
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n > 0) {
		/*
		 * The client sent more (pipelining).  We cannot tell a
		 * close from here without consuming its data, so stop
		 * watching; evhttp_free() releases it at exit.
		 */
		event_del(h->watch);
		return;
	}
	conn = evhttp_request_get_connection(h->req);
	hang_unlink_free(h);
	/* Frees the request too: it is still queued on the connection. */
	evhttp_connection_free(conn);
}

static void
hang_unlink_free(struct hang *h)
{
	struct hangs	*hs = h->hs;

	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		hs->list = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	hs->count--;
	event_free(h->watch);
	free(h);
}
