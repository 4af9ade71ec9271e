/*
 * evhttp helpers shared by the API and /sim/... handlers: reading a request
 * body and sending JSON answers.  Every handler path ends in exactly one
 * http_reply_* call (or a hang), never zero or two.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "linesim.h"

static const char	*reason_phrase(int);

/*
 * The request body as a NUL-terminated copy (it may also contain NULs;
 * *len is the real length).  Bodies are capped by evhttp's
 * max_body_size, so this cannot grow without bound.
 */
char *
http_body_string(struct evhttp_request *req, size_t *len)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	char		*s;

	*len = evbuffer_get_length(in);
	s = xmalloc(*len + 1);
	if (evbuffer_copyout(in, s, *len) != (ev_ssize_t)*len)
		abort();
	s[*len] = '\0';
	return s;
}

void
http_reply_json(struct evhttp_request *req, int status, const char *json)
{
	struct evbuffer	*out;

	if ((out = evbuffer_new()) == NULL)
		abort();
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json; charset=UTF-8");
	evbuffer_add(out, json, strlen(json));
	evhttp_send_reply(req, status, reason_phrase(status), out);
	evbuffer_free(out);
}

/* The request body parsed as a JSON object (caller deletes), or NULL. */
cJSON *
http_body_object(struct evhttp_request *req)
{
	cJSON	*json;
	char	*body;
	size_t	 len;

	body = http_body_string(req, &len);
	json = cJSON_ParseWithLength(body, len);
	free(body);
	if (json != NULL && !cJSON_IsObject(json)) {
		cJSON_Delete(json);
		json = NULL;
	}
	return json;
}

/* Reply with obj as compact JSON and delete obj. */
void
http_reply_cjson(struct evhttp_request *req, int status, cJSON *obj)
{
	char	*s = json_print(obj);

	http_reply_json(req, status, s);
	free(s);
	cJSON_Delete(obj);
}

/* Reply {"message": message}, the shape of LINE's error bodies. */
void
http_reply_message(struct evhttp_request *req, int status,
    const char *message)
{
	char	*s = json_message(message);

	http_reply_json(req, status, s);
	free(s);
}

char *
json_message(const char *message)
{
	cJSON	*o = cJSON_CreateObject();
	char	*s;

	cJSON_AddStringToObject(o, "message", message);
	s = json_print(o);
	cJSON_Delete(o);
	return s;
}

const char *
http_method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	default:
		return "OTHER";
	}
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return status < 400 ? "OK" : "Error";
	}
}
