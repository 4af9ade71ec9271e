/*
 * http_reply.h - the one way madoguchid answers an HTTP request: it sets
 * the content type, sends, and counts the answer by route and status for
 * /metrics. Each request gets exactly one call.
 */
#ifndef MADOGUCHI_HTTP_REPLY_H
#define MADOGUCHI_HTTP_REPLY_H

struct evbuffer;
struct evhttp_request;

/* route is a fixed label ("/webhook/line", "other"), never the raw URI. */
void	http_reply(struct evhttp_request *req, const char *route, int status,
	    const char *content_type, struct evbuffer *body);
/* Answers {"error": message} (or the given JSON when message is NULL). */
void	http_reply_json(struct evhttp_request *req, const char *route,
	    int status, const char *json);
void	http_reply_error(struct evhttp_request *req, const char *route,
	    int status, const char *message);

#endif
