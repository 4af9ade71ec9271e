/*
 * line_parse.c - a LINE webhook body into channel-neutral inbound events.
 *
 * The desk keeps one-to-one events from users: messages (text is accepted;
 * images, stickers and the rest are recorded as received, never fetched),
 * follow, unfollow and unsend. Everything else LINE sends (group and room
 * events, postbacks, beacons, types added later) is noted for the metrics
 * and skipped.
 */
#include "webhook.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/sha.h>

#define LINE_ID_MAX 128

/* Event types LINE documents; anything else is labelled "unknown". */
static const char *const line_event_types[] = {
	"message", "follow", "unfollow", "unsend", "postback", "join", "leave",
	"memberJoined", "memberLeft", "videoPlayComplete", "beacon",
	"accountLink", "membership", "module", "activated", "deactivated",
	"botSuspended", "botResumed", "delivery", "things",
};

/* Message kinds the schema knows; others are stored as "other". */
static const char *const line_message_kinds[] = {
	"text", "image", "video", "audio", "file", "location", "sticker",
};

static const char *
line_label(const char *s, const char *const *set, size_t n, const char *other)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return set[i];
	return other;
}

/* Ids are short printable ASCII: anything else is not from LINE. */
static bool
line_id_valid(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (n >= LINE_ID_MAX || s[n] <= 0x20 || s[n] >= 0x7f)
			return false;
	return n > 0;
}

static const char *
line_string(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool
line_bool(const cJSON *obj, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static bool
line_fail(struct line_delivery *d, size_t i, const char *what)
{
	snprintf(d->error, sizeof(d->error), "events[%zu]: %s", i, what);
	return false;
}

/*
 * The dedupe key of an event without webhookEventId (older bodies): a hash
 * of the event as LINE wrote it, less deliveryContext, which a redelivery
 * changes.
 */
static bool
line_hash_key(const cJSON *event, char out[72])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	cJSON *copy = cJSON_Duplicate(event, true);
	char *text;

	if (copy == NULL)
		return false;
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "deliveryContext");
	text = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	if (text == NULL)
		return false;
	SHA256((const unsigned char *)text, strlen(text), digest);
	cJSON_free(text);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", digest[i]);
	return true;
}

static bool
line_parse_message(struct line_delivery *d, size_t i, const cJSON *event,
    struct inbound_event *ev)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(event, "message");
	const char *type;

	if (!cJSON_IsObject(msg) || (type = line_string(msg, "type")) == NULL)
		return line_fail(d, i, "message without a type");
	ev->kind = INBOUND_MESSAGE;
	ev->message_kind = line_label(type, line_message_kinds,
	    sizeof(line_message_kinds) / sizeof(line_message_kinds[0]), "other");
	ev->message_ref = line_string(msg, "id");
	if (ev->message_ref != NULL && !line_id_valid(ev->message_ref))
		return line_fail(d, i, "message id is not a LINE id");
	if (strcmp(ev->message_kind, "text") == 0) {
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(msg, "text");

		if (!cJSON_IsString(text))
			return line_fail(d, i, "text message without text");
		ev->text = text->valuestring;
		ev->text_len = strlen(text->valuestring);
	}
	return true;
}

static bool
line_parse_kind(struct line_delivery *d, size_t i, const cJSON *event,
    const char *type, struct inbound_event *ev)
{
	if (strcmp(type, "message") == 0)
		return line_parse_message(d, i, event, ev);
	if (strcmp(type, "follow") == 0) {
		ev->kind = INBOUND_FOLLOW;
		ev->unblocked = line_bool(cJSON_GetObjectItemCaseSensitive(event,
		    "follow"), "isUnblocked");
		return true;
	}
	if (strcmp(type, "unfollow") == 0) {
		ev->kind = INBOUND_UNFOLLOW;
		return true;
	}
	/* unsend */
	ev->kind = INBOUND_UNSEND;
	ev->message_ref = line_string(cJSON_GetObjectItemCaseSensitive(event,
	    "unsend"), "messageId");
	if (ev->message_ref == NULL || !line_id_valid(ev->message_ref))
		return line_fail(d, i, "unsend without a message id");
	return true;
}

static bool
line_kept_type(const char *type)
{
	return strcmp(type, "message") == 0 || strcmp(type, "follow") == 0 ||
	    strcmp(type, "unfollow") == 0 || strcmp(type, "unsend") == 0;
}

/* Fills the fields every kept event has; false if they are malformed. */
static bool
line_parse_common(struct line_delivery *d, size_t i, const cJSON *event,
    int64_t received_us, struct inbound_event *ev)
{
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(event, "timestamp");
	const char *id = line_string(event, "webhookEventId");

	ev->contact_ref = line_string(cJSON_GetObjectItemCaseSensitive(event,
	    "source"), "userId");
	if (!line_id_valid(ev->contact_ref))
		return line_fail(d, i, "userId is not a LINE id");
	if (id != NULL) {
		if (!line_id_valid(id))
			return line_fail(d, i, "webhookEventId is not a LINE id");
		ev->event_key = id;
	} else {
		if (!line_hash_key(event, d->keys[i]))
			return line_fail(d, i, "out of memory");
		ev->event_key = d->keys[i];
	}
	ev->occurred_us = received_us;
	if (cJSON_IsNumber(ts) && isfinite(ts->valuedouble) &&
	    ts->valuedouble > 0 && ts->valuedouble < 1e14)
		ev->occurred_us = (int64_t)ts->valuedouble * 1000;
	ev->reply_token = line_string(event, "replyToken");
	if (ev->reply_token != NULL && !line_id_valid(ev->reply_token))
		return line_fail(d, i, "replyToken is not a LINE token");
	ev->redelivery = line_bool(cJSON_GetObjectItemCaseSensitive(event,
	    "deliveryContext"), "isRedelivery");
	return true;
}

static bool
line_parse_event(struct line_delivery *d, size_t i, const cJSON *event,
    int64_t received_us)
{
	struct line_event_note *note = &d->notes[i];
	struct inbound_event *ev = &d->events[d->nevents];
	const cJSON *source;
	const char *type;

	note->type = "unknown";
	note->outcome = LINE_EVENT_INVALID;
	if (!cJSON_IsObject(event) || (type = line_string(event, "type")) == NULL)
		return line_fail(d, i, "not an event with a type");
	note->type = line_label(type, line_event_types,
	    sizeof(line_event_types) / sizeof(line_event_types[0]), "unknown");
	if (!line_kept_type(type)) {
		note->outcome = LINE_EVENT_NOT_HANDLED;
		return true;
	}
	source = cJSON_GetObjectItemCaseSensitive(event, "source");
	if (!cJSON_IsObject(source) || line_string(source, "type") == NULL ||
	    strcmp(line_string(source, "type"), "user") != 0 ||
	    line_string(source, "userId") == NULL) {
		note->outcome = LINE_EVENT_NOT_ONE_TO_ONE;
		return true;
	}
	memset(ev, 0, sizeof(*ev));
	if (!line_parse_common(d, i, event, received_us, ev) ||
	    !line_parse_kind(d, i, event, type, ev))
		return false;
	note->outcome = LINE_EVENT_KEPT;
	d->nevents++;
	return true;
}

enum line_parse_status
line_delivery_parse(const char *body, size_t len, int64_t received_us,
    struct line_delivery *d)
{
	const cJSON *events, *event;
	size_t n, i = 0;

	memset(d, 0, sizeof(*d));
	if (body == NULL || (d->root = cJSON_ParseWithLength(body, len)) == NULL)
		return LINE_PARSE_NOT_JSON;
	events = cJSON_GetObjectItemCaseSensitive(d->root, "events");
	if (!cJSON_IsObject(d->root) || !cJSON_IsArray(events)) {
		snprintf(d->error, sizeof(d->error), "no events array");
		return LINE_PARSE_NOT_WEBHOOK;
	}
	if ((n = (size_t)cJSON_GetArraySize(events)) == 0)
		return LINE_PARSE_OK;
	d->events = calloc(n, sizeof(*d->events));
	d->notes = calloc(n, sizeof(*d->notes));
	d->keys = calloc(n, sizeof(*d->keys));
	if (d->events == NULL || d->notes == NULL || d->keys == NULL)
		return LINE_PARSE_NO_MEMORY;
	cJSON_ArrayForEach(event, events) {
		if (!line_parse_event(d, i, event, received_us))
			d->ninvalid++;
		i++;
	}
	d->nnotes = n;
	return d->ninvalid == n ? LINE_PARSE_NOT_WEBHOOK : LINE_PARSE_OK;
}

void
line_delivery_free(struct line_delivery *d)
{
	cJSON_Delete(d->root);
	free(d->events);
	free(d->notes);
	free(d->keys);
	memset(d, 0, sizeof(*d));
}
