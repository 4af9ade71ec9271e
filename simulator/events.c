/*
 * The webhook events the simulator has sent: their bodies (for
 * redelivery) and their reply tokens (for validating /message/reply).
 * Bounded: the oldest event is forgotten once LINESIM_EVENTS_MAX are
 * kept, and with it its reply token.
 */
#include <stdlib.h>

#include "linesim.h"

struct events {
	struct strmap	*by_id;		/* owns the sim_event values */
	struct strmap	*by_token;	/* index into by_id */
};

static void	 sim_event_free(void *);
static void	 events_remove(struct events *, struct sim_event *);

struct events *
events_new(void)
{
	struct events	*ev;

	ev = xcalloc(1, sizeof(*ev));
	ev->by_id = strmap_new(sim_event_free);
	ev->by_token = strmap_new(NULL);
	return ev;
}

void
events_free(struct events *ev)
{
	if (ev == NULL)
		return;
	strmap_free(ev->by_token);
	strmap_free(ev->by_id);
	free(ev);
}

/*
 * Remember a sent event; its reply token is issued now.  NULL for the
 * optional fields.  An event id seen before replaces the older event.
 */
void
events_add(struct events *ev, const char *event_id, const char *reply_token,
    const char *user, const char *message_id, const char *body)
{
	struct sim_event	*e;

	if ((e = strmap_get(ev->by_id, event_id)) != NULL)
		events_remove(ev, e);
	if (strmap_count(ev->by_id) >= LINESIM_EVENTS_MAX)
		events_remove(ev, strmap_get(ev->by_id,
		    strmap_oldest_key(ev->by_id)));
	e = xcalloc(1, sizeof(*e));
	e->event_id = xstrdup(event_id);
	e->reply_token = reply_token ? xstrdup(reply_token) : NULL;
	e->user = user ? xstrdup(user) : NULL;
	e->message_id = message_id ? xstrdup(message_id) : NULL;
	e->body = xstrdup(body);
	e->issued_ms = now_monotonic_ms();
	strmap_put(ev->by_id, e->event_id, e);
	if (e->reply_token != NULL)
		strmap_put(ev->by_token, e->reply_token, e);
}

struct sim_event *
events_by_id(struct events *ev, const char *id)
{
	return strmap_get(ev->by_id, id);
}

struct sim_event *
events_by_token(struct events *ev, const char *token)
{
	return strmap_get(ev->by_token, token);
}

static void
events_remove(struct events *ev, struct sim_event *e)
{
	/* A raw body may reuse a token: drop the index only if it is ours,
	 * so that no entry is ever left pointing at a freed event. */
	if (e->reply_token != NULL &&
	    strmap_get(ev->by_token, e->reply_token) == e)
		(void)strmap_del(ev->by_token, e->reply_token);
	(void)strmap_del(ev->by_id, e->event_id);
}

static void
sim_event_free(void *p)
{
	struct sim_event	*e = p;

	free(e->event_id);
	free(e->reply_token);
	free(e->user);
	free(e->message_id);
	free(e->body);
	free(e);
}
