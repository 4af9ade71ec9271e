/*
 * Webhook bodies shaped like LINE's (line-api.md section 2): compact JSON,
 * one event per body, keys in LINE's order, non-ASCII text as \uXXXX
 * escapes.  Used by `serve` (/sim/send) and by `flood`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linesim.h"

struct wh_kind {
	const char	*type;
	bool		 message;	/* a "message" event of this type */
	bool		 replyable;	/* carries a replyToken */
	void		(*fill)(cJSON *, const struct wh_spec *);
};

static const struct wh_kind	*wh_kind_find(const char *);
static void	 fill_text(cJSON *, const struct wh_spec *);
static void	 fill_image(cJSON *, const struct wh_spec *);
static void	 fill_video(cJSON *, const struct wh_spec *);
static void	 fill_audio(cJSON *, const struct wh_spec *);
static void	 fill_file(cJSON *, const struct wh_spec *);
static void	 fill_location(cJSON *, const struct wh_spec *);
static void	 fill_sticker(cJSON *, const struct wh_spec *);
static void	 fill_follow(cJSON *, const struct wh_spec *);
static void	 fill_unsend(cJSON *, const struct wh_spec *);
static void	 add_quote_token(cJSON *);
static void	 add_line_content(cJSON *);
static cJSON	*build_event(const struct wh_kind *, const struct wh_spec *,
		    struct wh_built *);

static const struct wh_kind wh_kinds[] = {
	{ "text",	true,	true,	fill_text },
	{ "image",	true,	true,	fill_image },
	{ "video",	true,	true,	fill_video },
	{ "audio",	true,	true,	fill_audio },
	{ "file",	true,	true,	fill_file },
	{ "location",	true,	true,	fill_location },
	{ "sticker",	true,	true,	fill_sticker },
	{ "follow",	false,	true,	fill_follow },
	{ "unfollow",	false,	false,	NULL },
	{ "unsend",	false,	false,	fill_unsend },
};

bool
webhook_body_known_type(const char *type)
{
	return wh_kind_find(type) != NULL;
}

/*
 * Build one body.  spec->type must be a known type (check with
 * webhook_body_known_type first).  out->body is owned by the caller.
 */
void
webhook_body_build(const char *destination, const struct wh_spec *spec,
    struct wh_built *out)
{
	const struct wh_kind	*kind = wh_kind_find(spec->type);
	cJSON			*root, *events;
	char			*utf8;

	if (kind == NULL)
		abort();
	memset(out, 0, sizeof(*out));
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "destination", destination);
	events = cJSON_AddArrayToObject(root, "events");
	cJSON_AddItemToArray(events, build_event(kind, spec, out));
	utf8 = json_print(root);
	out->body = json_ascii_escape(utf8);
	free(utf8);
	cJSON_Delete(root);
}

/*
 * The body LINE sends on redelivery: identical except for
 * "isRedelivery":true.  A textual replacement is exact: that key/value
 * text cannot occur inside a JSON string (its quotes would be escaped),
 * so every other byte, escapes included, stays as first sent.  All
 * occurrences are replaced, for raw bodies carrying several events.
 */
char *
webhook_body_redelivery(const char *body)
{
	static const char	 from[] = "\"isRedelivery\":false";
	static const char	 to[] = "\"isRedelivery\":true";
	const char		*at;
	char			*out, *o;

	/* "true" is shorter than "false": the copy never grows. */
	out = o = xmalloc(strlen(body) + 1);
	while ((at = strstr(body, from)) != NULL) {
		memcpy(o, body, (size_t)(at - body));
		o += at - body;
		memcpy(o, to, sizeof(to) - 1);
		o += sizeof(to) - 1;
		body = at + sizeof(from) - 1;
	}
	strcpy(o, body);
	return out;
}

static const struct wh_kind *
wh_kind_find(const char *type)
{
	size_t	i;

	if (type == NULL)
		return NULL;
	for (i = 0; i < sizeof(wh_kinds) / sizeof(wh_kinds[0]); i++) {
		if (strcmp(wh_kinds[i].type, type) == 0)
			return &wh_kinds[i];
	}
	return NULL;
}

static cJSON *
build_event(const struct wh_kind *kind, const struct wh_spec *spec,
    struct wh_built *out)
{
	cJSON	*ev, *src, *ctx, *msg;
	char	 ts[24];

	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", kind->message ? "message" :
	    kind->type);
	cJSON_AddStringToObject(ev, "mode", spec->mode ? spec->mode : "active");
	/* Raw: cJSON would print a 13-digit double through "%g". */
	snprintf(ts, sizeof(ts), "%lld", (long long)(spec->timestamp ?
	    spec->timestamp : now_realtime_ms()));
	cJSON_AddRawToObject(ev, "timestamp", ts);
	src = cJSON_AddObjectToObject(ev, "source");
	cJSON_AddStringToObject(src, "type", "user");
	cJSON_AddStringToObject(src, "userId", spec->user);
	ids_ulid(out->event_id);
	cJSON_AddStringToObject(ev, "webhookEventId", out->event_id);
	ctx = cJSON_AddObjectToObject(ev, "deliveryContext");
	cJSON_AddFalseToObject(ctx, "isRedelivery");
	if (kind->replyable) {
		ids_hex(out->reply_token, 32);
		cJSON_AddStringToObject(ev, "replyToken", out->reply_token);
	}
	if (kind->message) {
		msg = cJSON_AddObjectToObject(ev, "message");
		cJSON_AddStringToObject(msg, "type", kind->type);
		ids_message_id(out->message_id);
		cJSON_AddStringToObject(msg, "id", out->message_id);
		kind->fill(msg, spec);
	} else if (kind->fill != NULL)
		kind->fill(ev, spec);
	return ev;
}

static void
add_quote_token(cJSON *msg)
{
	char	qt[65];

	ids_quote_token(qt);
	cJSON_AddStringToObject(msg, "quoteToken", qt);
}

static void
add_line_content(cJSON *msg)
{
	cJSON	*cp = cJSON_AddObjectToObject(msg, "contentProvider");

	cJSON_AddStringToObject(cp, "type", "line");
}

static void
fill_text(cJSON *msg, const struct wh_spec *spec)
{
	add_quote_token(msg);
	cJSON_AddStringToObject(msg, "text",
	    spec->text != NULL ? spec->text : "こんにちは");
}

static void
fill_image(cJSON *msg, const struct wh_spec *spec)
{
	(void)spec;
	add_quote_token(msg);
	add_line_content(msg);
}

static void
fill_video(cJSON *msg, const struct wh_spec *spec)
{
	(void)spec;
	add_quote_token(msg);
	cJSON_AddNumberToObject(msg, "duration", 8000);
	add_line_content(msg);
}

static void
fill_audio(cJSON *msg, const struct wh_spec *spec)
{
	(void)spec;
	cJSON_AddNumberToObject(msg, "duration", 5000);
	add_line_content(msg);
}

static void
fill_file(cJSON *msg, const struct wh_spec *spec)
{
	(void)spec;
	cJSON_AddStringToObject(msg, "fileName", "相談資料.pdf");
	cJSON_AddNumberToObject(msg, "fileSize", 123456);
}

static void
fill_location(cJSON *msg, const struct wh_spec *spec)
{
	(void)spec;
	cJSON_AddStringToObject(msg, "title", "東京駅");
	cJSON_AddStringToObject(msg, "address",
	    "東京都千代田区丸の内1丁目");
	cJSON_AddNumberToObject(msg, "latitude", 35.681236);
	cJSON_AddNumberToObject(msg, "longitude", 139.767125);
}

static void
fill_sticker(cJSON *msg, const struct wh_spec *spec)
{
	(void)spec;
	add_quote_token(msg);
	cJSON_AddStringToObject(msg, "stickerId", "52002734");
	cJSON_AddStringToObject(msg, "packageId", "11537");
	cJSON_AddStringToObject(msg, "stickerResourceType", "STATIC");
}

static void
fill_follow(cJSON *ev, const struct wh_spec *spec)
{
	cJSON	*f = cJSON_AddObjectToObject(ev, "follow");

	cJSON_AddBoolToObject(f, "isUnblocked", spec->unblocked);
}

static void
fill_unsend(cJSON *ev, const struct wh_spec *spec)
{
	cJSON	*u = cJSON_AddObjectToObject(ev, "unsend");

	cJSON_AddStringToObject(u, "messageId",
	    spec->unsend_id != NULL ? spec->unsend_id : "");
}
