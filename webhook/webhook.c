/*
 * webhook.c - the HTTP side of LINE's webhook.
 *
 * Checks run cheapest first and before anything is parsed: method, content
 * type, size, signature over the raw bytes. The reply waits for storage:
 * LINE hears 200 only once the events are committed.
 */
#include "webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "clock.h"
#include "http_reply.h"
#include "log.h"
#include "metrics.h"

#define WEBHOOK_ROUTE "/webhook/line"

struct webhook {
	struct ingest	*ingest;
	char		*secret;
	size_t		 secret_len;
	size_t		 max_body;
};

static void
webhook_reject(struct evhttp_request *req, int status, const char *reason,
    const char *message)
{
	char labels[64];

	snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
	metrics_add("madoguchi_webhook_rejected_total", labels, 1);
	/* A bad signature is someone other than LINE knocking: worth a warning. */
	log_event(status == 401 ? LOG_WARN : LOG_INFO, "webhook.rejected",
	    "status=%d reason=%s bytes=%zu", status, reason,
	    evbuffer_get_length(evhttp_request_get_input_buffer(req)));
	http_reply_error(req, WEBHOOK_ROUTE, status, message);
}

/* application/json, with or without parameters such as charset. */
static bool
webhook_is_json(const char *content_type)
{
	static const char json[] = "application/json";
	size_t n = sizeof(json) - 1;

	if (content_type == NULL || strncasecmp(content_type, json, n) != 0)
		return false;
	return content_type[n] == '\0' || content_type[n] == ';' ||
	    content_type[n] == ' ';
}

static void
webhook_count_events(const struct line_delivery *d)
{
	static const char *const outcomes[] = {
		[LINE_EVENT_KEPT] = "kept",
		[LINE_EVENT_NOT_ONE_TO_ONE] = "ignored_not_one_to_one",
		[LINE_EVENT_NOT_HANDLED] = "ignored_type",
		[LINE_EVENT_INVALID] = "invalid",
	};
	char labels[96];

	for (size_t i = 0; i < d->nnotes; i++) {
		snprintf(labels, sizeof(labels), "type=\"%s\",outcome=\"%s\"",
		    d->notes[i].type, outcomes[d->notes[i].outcome]);
		metrics_add("madoguchi_webhook_events_total", labels, 1);
	}
}

static void
webhook_stored_cb(void *arg, enum ingest_outcome outcome)
{
	struct evhttp_request *req = arg;

	if (outcome == INGEST_COMMITTED)
		http_reply_json(req, WEBHOOK_ROUTE, 200, "{}");
	else
		webhook_reject(req, 500, "storage",
		    "not stored; LINE will redeliver");
}

/* Signature checked: parse, then hand the events to storage. */
static void
webhook_accept(struct webhook *wh, struct evhttp_request *req,
    const char *body, size_t len)
{
	struct line_delivery d;
	char message[128];

	switch (line_delivery_parse(body, len, clock_now_us(), &d)) {
	case LINE_PARSE_NOT_JSON:
		webhook_reject(req, 400, "malformed", "body is not JSON");
		goto done;
	case LINE_PARSE_NOT_WEBHOOK:
		snprintf(message, sizeof(message), "not a LINE webhook: %s",
		    d.error);
		webhook_reject(req, 400, "not_webhook", message);
		goto done;
	case LINE_PARSE_NO_MEMORY:
		webhook_reject(req, 500, "no_memory", "out of memory; LINE will "
		    "redeliver");
		goto done;
	case LINE_PARSE_OK:
		break;
	}
	webhook_count_events(&d);
	if (d.ninvalid > 0)
		log_warn("webhook.invalid_events", "skipped=%zu kept=%zu last=\"%s\"",
		    d.ninvalid, d.nevents, d.error);
	if (d.nevents == 0)	/* LINE's verification, or nothing to keep */
		http_reply_json(req, WEBHOOK_ROUTE, 200, "{}");
	else if (!ingest_submit(wh->ingest, d.events, d.nevents,
	    webhook_stored_cb, req))
		webhook_reject(req, 500, "storage",
		    "database unavailable; LINE will redeliver");
done:
	line_delivery_free(&d);
}

static void
webhook_line_cb(struct evhttp_request *req, void *arg)
{
	struct webhook *wh = arg;
	struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *body;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "POST");
		webhook_reject(req, 405, "method", "use POST");
		return;
	}
	if (!webhook_is_json(evhttp_find_header(headers, "Content-Type"))) {
		webhook_reject(req, 415, "content_type",
		    "Content-Type must be application/json");
		return;
	}
	if (len > wh->max_body) {
		webhook_reject(req, 413, "too_large", "body too large");
		return;
	}
	body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	if (!line_signature_valid(wh->secret, wh->secret_len, body, len,
	    evhttp_find_header(headers, "x-line-signature"))) {
		webhook_reject(req, 401, "signature",
		    "missing or wrong x-line-signature");
		return;
	}
	webhook_accept(wh, req, body, len);
}

struct webhook *
webhook_new(struct evhttp *http, struct ingest *ing, const char *secret,
    size_t secret_len, size_t max_body)
{
	struct webhook *wh = calloc(1, sizeof(*wh));

	if (wh == NULL || (wh->secret = malloc(secret_len + 1)) == NULL) {
		free(wh);
		return NULL;
	}
	memcpy(wh->secret, secret, secret_len);
	wh->secret[secret_len] = '\0';
	wh->secret_len = secret_len;
	wh->ingest = ing;
	wh->max_body = max_body;
	metrics_describe("madoguchi_webhook_events_total", "counter",
	    "Webhook events received, by LINE type and what was done");
	metrics_describe("madoguchi_webhook_rejected_total", "counter",
	    "Webhook requests refused, by reason");
	if (evhttp_set_cb(http, WEBHOOK_ROUTE, webhook_line_cb, wh) != 0) {
		webhook_free(wh);
		return NULL;
	}
	return wh;
}

void
webhook_free(struct webhook *wh)
{
	if (wh == NULL)
		return;
	OPENSSL_cleanse(wh->secret, wh->secret_len);
	free(wh->secret);
	free(wh);
}
