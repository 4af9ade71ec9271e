/*
 * console.h - the operator console's server side: the JSON API under
 * /api/, its live event stream, and the web UI's static files under
 * /console/, all on madoguchid's own HTTP server.
 *
 * Every API call but signing in needs a session (cookie), every change a
 * CSRF token, and each endpoint names the roles that may call it; the
 * checks run on the server before any handler. Nothing a console shows is
 * kept only in this process: sessions, claims and events live in
 * PostgreSQL, and live updates arrive by LISTEN/NOTIFY.
 */
#ifndef MADOGUCHI_CONSOLE_H
#define MADOGUCHI_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

struct db_pool;
struct event_base;
struct evhttp_request;
struct keyring;
struct offload;

struct console_options {
	const char	*static_dir;	/* operator-console/web */
	bool		 cookie_secure;	/* false only for a demo over http */
	const char	*channel_kind;	/* the channel this process serves */
	const char	*channel_name;
	long		 give_up_s;	/* a reply not sent by then fails */
	/*
	 * Addresses of proxies in front (comma-separated): from them, the
	 * client is the nearest address in X-Forwarded-For that is not one.
	 */
	const char	*trusted_proxies;
	const char	*public_url;	/* hand-off links in strict mode; "" none */
};

struct console;

struct console	*console_new(struct event_base *base, struct db_pool *pool,
		    const struct keyring *keys, struct offload *offload,
		    const struct console_options *opt);
/* Answers the request if its path is the console's; false otherwise. */
bool		 console_route(struct console *c, struct evhttp_request *req);
/*
 * A notification on madoguchi_inbound, madoguchi_console or
 * madoguchi_settings (channel NULL: the listening session reconnected and
 * may have missed some).
 */
void		 console_notify(struct console *c, const char *channel,
		    const char *payload);
/* Checks a value for one of the console's settings (the CLI's settings set). */
bool		 console_setting_valid(const char *key, const char *json,
		    char *err, size_t errlen);
/* Ends event streams: the process is stopping. */
void		 console_close(struct console *c);
void		 console_free(struct console *c);

#endif
