/*
 * webchat.h - the desk's own web chat, for strict mode: LINE hands the
 * person a single-use link, and the consultation goes on here, in the
 * desk's database and nowhere else. Served by madoguchid under /chat/
 * (webchat/API.md); messages take the same path as LINE's (the ingest:
 * sealed, crisis-checked, queued, on the console), and the person sees
 * the desk's answers live.
 */
#ifndef MADOGUCHI_WEBCHAT_H
#define MADOGUCHI_WEBCHAT_H

#include <stdbool.h>

struct autoreply;
struct db_pool;
struct event_base;
struct evhttp_request;
struct ingest;
struct keyring;

struct webchat_options {
	const char	*web_dir;	/* webchat/web: the page's files */
	bool		 cookie_secure;	/* false only for a demo over http */
	const char	*public_url;	/* the origin people reach; "" unknown */
	const char	*channel_kind;	/* the desk this process serves */
	const char	*channel_name;
};

struct webchat;

struct webchat	*webchat_new(struct event_base *base, struct db_pool *pool,
		    const struct keyring *keys, struct ingest *ingest,
		    const struct autoreply *desk,
		    const struct webchat_options *opt);
/* Answers the request if its path is under /chat; false otherwise. */
bool		 webchat_route(struct webchat *w, struct evhttp_request *req);
/*
 * A notification on madoguchi_webchat ({"contact", "message"?}) or
 * madoguchi_console (the queue moved), or NULL: the listening session
 * reconnected and may have missed some.
 */
void		 webchat_notify(struct webchat *w, const char *channel,
		    const char *payload);
/* Ends the streams: the process is stopping. */
void		 webchat_close(struct webchat *w);
void		 webchat_free(struct webchat *w);

#endif
