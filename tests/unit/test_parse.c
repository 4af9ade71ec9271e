/*
 * The webhook parser: what the desk keeps, what it skips, and what is not
 * a webhook at all.
 */
#include <stdlib.h>

#include "tap.h"
#include "webhook.h"

#define USER "U4f3e2d1c0b9a89786756453423120f1e"
#define EVENT(type, extra) "{\"type\":\"" type "\",\"mode\":\"active\"," \
	"\"timestamp\":1718000000123,\"source\":{\"type\":\"user\"," \
	"\"userId\":\"" USER "\"},\"webhookEventId\":\"01J0ABCDEFGHJKMNPQRSTVWXYZ\"," \
	"\"deliveryContext\":{\"isRedelivery\":true}" extra "}"
#define BODY(...) "{\"destination\":\"U0\",\"events\":[" __VA_ARGS__ "]}"

static enum line_parse_status
parse(const char *body, struct line_delivery *d)
{
	return line_delivery_parse(body, strlen(body), 42000000, d);
}

static void
test_text(void)
{
	struct line_delivery d;

	is_int(parse(BODY(EVENT("message", ",\"replyToken\":\"b60d4328\","
	    "\"message\":{\"type\":\"text\",\"id\":\"5123\",\"text\":"
	    "\"\\u3053\\u3093 \\uD83D\\uDE4F\",\"emojis\":[],\"newKey\":1}")), &d),
	    LINE_PARSE_OK, "text message parses");
	is_int(d.nevents, 1, "one event kept");
	is_int(d.events[0].kind, INBOUND_MESSAGE, "as a message");
	is_str(d.events[0].message_kind, "text", "of kind text");
	is_str(d.events[0].text, "こん 🙏", "surrogate pair decoded to one UTF-8 emoji");
	is_int(d.events[0].text_len, strlen("こん 🙏"), "text length in bytes");
	is_str(d.events[0].event_key, "01J0ABCDEFGHJKMNPQRSTVWXYZ", "webhookEventId is the key");
	is_str(d.events[0].contact_ref, USER, "user id");
	is_str(d.events[0].message_ref, "5123", "message id");
	is_str(d.events[0].reply_token, "b60d4328", "reply token");
	is_int(d.events[0].occurred_us, 1718000000123000LL, "timestamp in microseconds");
	ok(d.events[0].redelivery, "redelivery flag");
	is_int(d.notes[0].outcome, LINE_EVENT_KEPT, "noted as kept");
	line_delivery_free(&d);
}

static void
test_not_accepted_kinds(void)
{
	static const char *const kinds[] = { "image", "video", "audio", "file",
	    "location", "sticker" };
	struct line_delivery d;
	char body[1024];

	for (size_t i = 0; i < 6; i++) {
		snprintf(body, sizeof(body), BODY(EVENT("message",
		    ",\"message\":{\"type\":\"%s\",\"id\":\"9\",\"contentProvider\":"
		    "{\"type\":\"line\"}}")), kinds[i]);
		is_int(parse(body, &d), LINE_PARSE_OK, "%s parses", kinds[i]);
		ok(d.nevents == 1 && strcmp(d.events[0].message_kind, kinds[i]) == 0 &&
		    d.events[0].text == NULL, "%s kept as a %s, no text", kinds[i],
		    kinds[i]);
		line_delivery_free(&d);
	}
	is_int(parse(BODY(EVENT("message", ",\"message\":{\"type\":\"poll\","
	    "\"id\":\"9\"}")), &d), LINE_PARSE_OK, "a future message type parses");
	is_str(d.nevents ? d.events[0].message_kind : NULL, "other", "kept as other");
	line_delivery_free(&d);
}

static void
test_follow_unfollow_unsend(void)
{
	struct line_delivery d;

	is_int(parse(BODY(EVENT("follow", ",\"replyToken\":\"rt\",\"follow\":"
	    "{\"isUnblocked\":true}") "," EVENT("unfollow", "") ","
	    EVENT("unsend", ",\"unsend\":{\"messageId\":\"777\"}")), &d),
	    LINE_PARSE_OK, "follow, unfollow, unsend parse");
	is_int(d.nevents, 3, "all three kept");
	ok(d.events[0].kind == INBOUND_FOLLOW && d.events[0].unblocked, "follow, unblocked");
	ok(d.events[1].kind == INBOUND_UNFOLLOW, "unfollow");
	ok(d.events[2].kind == INBOUND_UNSEND &&
	    strcmp(d.events[2].message_ref, "777") == 0, "unsend names the message");
	line_delivery_free(&d);
}

static void
test_skipped(void)
{
	struct line_delivery d;

	is_int(parse(BODY("{\"type\":\"message\",\"source\":{\"type\":\"group\","
	    "\"groupId\":\"C1\",\"userId\":\"" USER "\"},\"message\":{\"type\":"
	    "\"text\",\"id\":\"1\",\"text\":\"hi\"}}" ","
	    EVENT("postback", ",\"postback\":{\"data\":\"a=b\"}") ","
	    EVENT("somethingNew2030", ",\"x\":{}")), &d), LINE_PARSE_OK,
	    "group message, postback and an unknown type parse");
	is_int(d.nevents, 0, "none kept");
	is_int(d.nnotes, 3, "all three noted");
	ok(d.notes[0].outcome == LINE_EVENT_NOT_ONE_TO_ONE, "group: not one-to-one");
	ok(d.notes[1].outcome == LINE_EVENT_NOT_HANDLED &&
	    strcmp(d.notes[1].type, "postback") == 0, "postback: not handled");
	ok(d.notes[2].outcome == LINE_EVENT_NOT_HANDLED &&
	    strcmp(d.notes[2].type, "unknown") == 0, "unknown type labelled unknown");
	line_delivery_free(&d);

	is_int(parse("{\"destination\":\"U0\",\"events\":[]}", &d), LINE_PARSE_OK,
	    "verification request parses");
	is_int(d.nevents, 0, "with nothing to keep");
	line_delivery_free(&d);
}

static void
test_rejected(void)
{
	static const struct { const char *body; enum line_parse_status want; } cases[] = {
		{ "", LINE_PARSE_NOT_JSON },
		{ "{\"events\":[", LINE_PARSE_NOT_JSON },
		{ "not json", LINE_PARSE_NOT_JSON },
		{ "[]", LINE_PARSE_NOT_WEBHOOK },
		{ "{}", LINE_PARSE_NOT_WEBHOOK },
		{ "{\"events\":{}}", LINE_PARSE_NOT_WEBHOOK },
		{ "{\"events\":[1]}", LINE_PARSE_NOT_WEBHOOK },
		{ "{\"events\":[{\"type\":5}]}", LINE_PARSE_NOT_WEBHOOK },
		{ BODY(EVENT("message", ",\"message\":{\"type\":\"text\",\"id\":\"1\"}")),
		    LINE_PARSE_NOT_WEBHOOK },
		{ BODY(EVENT("message", "")), LINE_PARSE_NOT_WEBHOOK },
		{ BODY(EVENT("unsend", "")), LINE_PARSE_NOT_WEBHOOK },
		{ "{\"events\":[{\"type\":\"follow\",\"source\":{\"type\":\"user\","
		    "\"userId\":\"U 1\"}}]}", LINE_PARSE_NOT_WEBHOOK },
	};
	struct line_delivery d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		is_int(parse(cases[i].body, &d), cases[i].want, "bad body %zu "
		    "refused%s%s", i, d.error[0] ? ": " : "", d.error);
		line_delivery_free(&d);
	}
}

/* One malformed event costs only itself, not its neighbours. */
static void
test_one_bad_event(void)
{
	struct line_delivery d;

	is_int(parse(BODY(EVENT("message", ",\"message\":{\"type\":\"text\","
	    "\"id\":\"1\"}") "," EVENT("message", ",\"message\":{\"type\":"
	    "\"text\",\"id\":\"2\",\"text\":\"ok\"}")), &d), LINE_PARSE_OK,
	    "a body with one bad and one good event parses");
	is_int(d.nevents, 1, "the good one kept");
	is_str(d.nevents ? d.events[0].text : NULL, "ok", "with its text");
	is_int(d.ninvalid, 1, "the bad one counted");
	ok(d.notes[0].outcome == LINE_EVENT_INVALID, "and noted as invalid");
	ok(strstr(d.error, "events[0]") != NULL, "the reason names it: %s", d.error);
	line_delivery_free(&d);
}

/* Bodies without webhookEventId still dedupe: the key is a hash of the event. */
static void
test_hash_key(void)
{
	const char *body = "{\"events\":[{\"type\":\"follow\",\"timestamp\":1,"
	    "\"source\":{\"type\":\"user\",\"userId\":\"" USER "\"}}]}";
	struct line_delivery a, b;

	parse(body, &a);
	parse(body, &b);
	ok(a.nevents == 1 && strncmp(a.events[0].event_key, "sha256:", 7) == 0,
	    "made-up key for an event without an id");
	ok(a.nevents == 1 && b.nevents == 1 &&
	    strcmp(a.events[0].event_key, b.events[0].event_key) == 0,
	    "the same event gets the same key again");
	line_delivery_free(&b);
	body = "{\"events\":[{\"type\":\"follow\",\"timestamp\":1,"
	    "\"deliveryContext\":{\"isRedelivery\":true},"
	    "\"source\":{\"type\":\"user\",\"userId\":\"" USER "\"}}]}";
	parse(body, &b);
	ok(b.nevents == 1 && strcmp(a.events[0].event_key, b.events[0].event_key) == 0,
	    "and so does its redelivery");
	line_delivery_free(&a);
	line_delivery_free(&b);
}

static void
test_sdk_sample(void)
{
	struct line_delivery d;
	size_t kept_text = 0, users = 0, len;
	char *body;
	FILE *f = fopen("tests/fixtures/sdk-python-webhook.json", "r");

	if (!ok(f != NULL, "LINE Python SDK fixture found"))
		return;
	body = malloc(1 << 16);
	len = fread(body, 1, 1 << 16, f);
	fclose(f);
	is_int(line_delivery_parse(body, len, 1, &d), LINE_PARSE_OK,
	    "LINE Python SDK fixture parses");
	for (size_t i = 0; i < d.nevents; i++) {
		users += strcmp(d.events[i].contact_ref,
		    "U206d25c2ea6bd87c17655609a1c37cb8") == 0;
		kept_text += d.events[i].text != NULL;
	}
	is_int(d.nnotes, 25, "every event noted");
	is_int(d.nevents, 8, "one-to-one messages, follow and unfollow kept");
	is_int(users, d.nevents, "all kept events are the user's");
	is_int(kept_text, 1, "one text message with text");
	line_delivery_free(&d);
	free(body);
}

int
main(void)
{
	test_text();
	test_not_accepted_kinds();
	test_follow_unfollow_unsend();
	test_skipped();
	test_rejected();
	test_one_bad_event();
	test_hash_key();
	test_sdk_sample();
	return done_testing();
}
