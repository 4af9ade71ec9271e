/*
 * http_reply.c - answering evhttp requests, counted.
 */
#include "http_reply.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "json_write.h"
#include "metrics.h"

static const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

void
http_reply(struct evhttp_request *req, const char *route, int status,
    const char *content_type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char labels[160];

	evhttp_add_header(h, "Content-Type", content_type);
	/* kept nowhere, unless the caller said otherwise (static files) */
	if (evhttp_find_header(h, "Cache-Control") == NULL)
		evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, status, http_reason(status), body);
	snprintf(labels, sizeof(labels), "path=\"%s\",status=\"%d\"", route,
	    status);
	metrics_add("madoguchi_http_requests_total", labels, 1);
}

void
http_reply_json(struct evhttp_request *req, const char *route, int status,
    const char *json)
{
	struct evbuffer *body = evbuffer_new();

	if (body != NULL)
		evbuffer_add(body, json, strlen(json));
	http_reply(req, route, status, "application/json; charset=utf-8", body);
	if (body != NULL)
		evbuffer_free(body);
}

void
http_reply_error(struct evhttp_request *req, const char *route, int status,
    const char *message)
{
	struct evbuffer *body = evbuffer_new();

	if (body != NULL) {
		evbuffer_add_printf(body, "{\"error\":");
		json_write_string(body, message);
		evbuffer_add(body, "}", 1);
	}
	http_reply(req, route, status, "application/json; charset=utf-8", body);
	if (body != NULL)
		evbuffer_free(body);
}
