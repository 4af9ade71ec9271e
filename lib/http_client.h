/*
 * http_client.h - outgoing HTTP requests on the caller's libevent loop
 * (libcurl's multi-socket interface underneath): no threads of our own, and
 * nothing here ever blocks the loop. Connections are kept alive and reused
 * between requests to the same host.
 *
 * Only http and https URLs are accepted; redirects are not followed.
 * Request and response bodies are never logged. Mail (SMTP) rides on the
 * same machinery: see http_client_send_mail.
 */
#ifndef MADOGUCHI_HTTP_CLIENT_H
#define MADOGUCHI_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_CLIENT_MAX_BODY	(1024 * 1024)	/* largest response body kept */

struct event_base;
struct http_client;

struct http_client_options {
	long		 connect_timeout_ms;	/* default 5000 when 0 */
	long		 max_connections;	/* per host, 0 = 16 */
	const char	*user_agent;		/* NULL = "madoguchi"; copied */
	const char	*ca_file;		/* https: trust these CAs instead
						 * of the system's; NULL = the
						 * system's; copied */
};

struct http_header {
	const char	*name;
	const char	*value;
};

struct http_request {
	const char	*method;	/* "GET" (also when NULL), "POST", "PUT", ... */
	const char	*url;
	const struct http_header *headers;	/* n_headers entries, copied */
	size_t		 n_headers;
	const char	*body;		/* copied; NULL = none (GET and HEAD take none) */
	size_t		 body_len;
	long		 timeout_ms;	/* whole request; 0 = 30000 */
};

/*
 * A finished request. status and error exclude each other: either an HTTP
 * answer came whole (status set, error NULL) or the transfer failed (status
 * 0, error set, body "" and no headers).
 */
struct http_response {
	long		 status;	/* 0 when no HTTP answer came (then error is set) */
	const char	*error;		/* NULL, or why the transfer failed (curl's message) */
	bool		 timed_out;	/* the transfer hit timeout_ms or the connect timeout */
	const char	*body;		/* NUL-terminated; "" when none */
	size_t		 body_len;
};

/*
 * A response header's value (case-insensitive name; last one wins), or NULL.
 * Valid only during the callback.
 */
const char *http_response_header(const struct http_response *res,
	    const char *name);

/*
 * Called exactly once per accepted request, from the loop (or from
 * http_client_free); res is freed after it returns.
 */
typedef void (*http_done_fn)(void *arg, const struct http_response *res);

/*
 * A client whose transfers run on base. The first call also runs
 * curl_global_init, which is not thread-safe: create the first client before
 * starting any other thread. NULL when out of memory or libcurl fails.
 */
struct http_client *http_client_new(struct event_base *base,
	    const struct http_client_options *opt);
/*
 * Requests still in flight get their callback now, with status 0 and error
 * "cancelled". Safe from inside a done callback, and with NULL.
 */
void	http_client_free(struct http_client *c);
/*
 * Starts the request; false (and no callback ever) when it could not even be
 * started: out of memory, a client being freed, no URL, a method or header
 * that is not a plain token or holds a line break, a body on GET or HEAD.
 * Everything else (a bad URL, refused, timed out) comes to the callback.
 * Without a Content-Type header none is sent. May be called from a callback.
 */
bool	http_client_send(struct http_client *c, const struct http_request *req,
	    http_done_fn done, void *arg) __attribute__((warn_unused_result));
/*
 * Mail goes out through the same loop and multi handle (libcurl's SMTP):
 * one message to its recipients. The callback's status is the server's
 * last SMTP reply code (250 when accepted); error is set otherwise.
 */
struct mail_request {
	const char	*url;		/* smtp://host:587 or smtps://host:465 */
	const char	*user;		/* NULL or "": no AUTH */
	const char	*password;
	bool		 require_tls;	/* smtp://: STARTTLS or fail (else TLS
					 * when offered) */
	const char	*from;		/* envelope sender */
	const char *const *to;		/* n_to envelope recipients */
	size_t		 n_to;
	const char	*message;	/* RFC 5322 text, CRLF lines; copied */
	size_t		 message_len;
	long		 timeout_ms;	/* whole submission; 0 = 30000 */
};

/*
 * As http_client_send, for a mail submission (smtp and smtps URLs only);
 * false too when the sender or a recipient is not mail_address_valid.
 */
bool	http_client_send_mail(struct http_client *c,
	    const struct mail_request *req, http_done_fn done, void *arg)
	    __attribute__((warn_unused_result));
/*
 * A streaming request (Server-Sent Events, say): each piece of the answer's
 * body goes to data as it arrives, with the answer's status, and is not
 * kept. There is no limit on the whole request, only the connect timeout
 * and, when req->timeout_ms is set, on silence: no byte for that long ends
 * it as timed out. done is called once when it ends (the server closed it,
 * it failed, or the client was freed: "cancelled"), with the status and an
 * empty body; never after http_stream_cancel. data runs inside libcurl: it
 * must not send requests or free the client (schedule that on the loop
 * instead); it may cancel its own stream. Refused as http_client_send is.
 */
struct http_stream;
typedef void (*http_data_fn)(void *arg, long status, const char *data,
	    size_t len);
struct http_stream *http_client_stream(struct http_client *c,
	    const struct http_request *req, http_data_fn data,
	    http_done_fn done, void *arg) __attribute__((warn_unused_result));
/*
 * Stops a stream: no callback of it runs any more, and its connection is
 * closed from the loop soon after. Safe from any callback, and with NULL;
 * s must not be used afterwards.
 */
void	http_stream_cancel(struct http_stream *s);

/* Requests accepted whose callback has not run yet (a cancelled stream
 * counts until the loop has closed it). */
size_t	http_client_in_flight(const struct http_client *c);

#endif
