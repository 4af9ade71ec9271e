/*
 * webhook.h - LINE's webhook: POST /webhook/line.
 *
 * A delivery is answered 200 only after its events are committed; 401 for a
 * bad signature, 400 for a body that is not a LINE webhook, 413/415/405 for
 * the wrong shape of request, 500 when the database could not store it (LINE
 * redelivers). The signature and the parser are public for the unit tests.
 */
#ifndef MADOGUCHI_WEBHOOK_H
#define MADOGUCHI_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

struct cJSON;
struct evhttp;

/* ---- signature.c ---- */

/*
 * True when header is base64(HMAC-SHA256(secret, body)), compared in
 * constant time. A missing header is never valid.
 */
bool	line_signature_valid(const char *secret, size_t secret_len,
	    const void *body, size_t len, const char *header);
/* Writes the 44-character signature and its NUL (for the tools). */
void	line_signature_compute(const char *secret, size_t secret_len,
	    const void *body, size_t len, char out[45]);

/* ---- line_parse.c ---- */

enum line_parse_status {
	LINE_PARSE_OK,
	LINE_PARSE_NOT_JSON,		/* not JSON at all */
	LINE_PARSE_NOT_WEBHOOK,		/* JSON, but not a LINE webhook body */
	LINE_PARSE_NO_MEMORY,		/* our failure, not the sender's */
};

/* What happened to each event, for the metrics. */
enum line_event_outcome {
	LINE_EVENT_KEPT,		/* handed to storage */
	LINE_EVENT_NOT_ONE_TO_ONE,	/* group, room, or no user id */
	LINE_EVENT_NOT_HANDLED,		/* a type the desk does not store */
	LINE_EVENT_INVALID,		/* malformed: skipped, the rest kept */
};

struct line_event_note {
	const char		*type;	/* a fixed label, or "unknown" */
	enum line_event_outcome	 outcome;
};

struct line_delivery {
	struct cJSON		*root;		/* owns the strings below */
	struct inbound_event	*events;	/* kept events, in body order */
	size_t			 nevents;
	struct line_event_note	*notes;		/* one per event in the body */
	size_t			 nnotes;
	char			(*keys)[72];	/* dedupe keys made up for events
						   without a webhookEventId */
	size_t			 ninvalid;
	char			 error[96];	/* why the last event or the body
						   was refused; no data in it */
};

/*
 * Parses a webhook body. Unknown event types and keys are skipped, never an
 * error: LINE adds them without notice. A malformed event is skipped and
 * noted, so one bad event does not cost its neighbours their delivery; a
 * body whose every event is malformed is not a webhook. received_us stands
 * in for a missing timestamp. Free with line_delivery_free whatever the
 * status.
 */
enum line_parse_status line_delivery_parse(const char *body, size_t len,
	    int64_t received_us, struct line_delivery *out);
void	line_delivery_free(struct line_delivery *d);

/* ---- webhook.c ---- */

struct webhook;

/* Registers the route; the secret is copied and wiped on free. */
struct webhook	*webhook_new(struct evhttp *http, struct ingest *ing,
		    const char *channel_secret, size_t secret_len,
		    size_t max_body);
void		 webhook_free(struct webhook *wh);

#endif
