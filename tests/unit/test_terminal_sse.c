/*
 * The terminal console's Server-Sent Events parser: fields, events named
 * or not, data on several lines, comments, LF, CRLF and CR line ends, and
 * the same stream cut into pieces at every possible place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "term_internal.h"

/* What the parser dispatched, as "event=data|" lines. */
static char got[4096];

static void
on_event(void *arg, const char *event, const char *data, size_t len)
{
	size_t used = strlen(got);

	(void)arg;
	snprintf(got + used, sizeof(got) - used, "%s=%.*s|", event, (int)len,
	    data);
}

static struct term_sse parser;

static bool
feed_whole(const char *s)
{
	got[0] = '\0';
	term_sse_init(&parser, on_event, NULL);
	return term_sse_feed(&parser, s, strlen(s));
}

static void
test_fields(void)
{
	ok(feed_whole("event: hello\ndata: {}\n\n"), "a plain event");
	is_str(got, "hello={}|", "its name and data");
	feed_whole("data: a\n\n");
	is_str(got, "message=a|", "no name: message");
	feed_whole("event: inbound\ndata: {\"conversations\":\ndata: [1,2]}\n\n");
	is_str(got, "inbound={\"conversations\":\n[1,2]}|",
	    "data lines join with a line feed");
	feed_whole(": heartbeat\n\n: another\nevent: x\ndata:y\n\n");
	is_str(got, "x=y|", "comments ignored; no space after the colon is fine");
	feed_whole("event: a\n\nevent: b\ndata: 1\n\n");
	is_str(got, "b=1|", "an event without data is not dispatched");
	feed_whole("data\n\n");
	is_str(got, "message=|", "a field with no colon: empty value");
	feed_whole("id: 7\nretry: 100\nfoo: bar\ndata:  two spaces\n\n");
	is_str(got, "message= two spaces|", "only one space is removed");
	is_str(parser.last_id, "7", "the id is kept");
	feed_whole("event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r");
	is_str(got, "a=1|b=2|", "CRLF and CR end lines too");
	feed_whole("data: unfinished\n");
	is_str(got, "", "nothing before the blank line");
}

/* The stream cut in two at every place, and fed a byte at a time. */
static void
test_pieces(void)
{
	static const char stream[] = ": hi\r\nevent: hello\r\ndata: {}\r\n"
	    "\r\nevent: crisis_alert\ndata: {\"conversation\":3,\n"
	    "data: \"round\":1}\n\nevent: resync\rdata: {}\r\r";
	static const char want[] = "hello={}|crisis_alert={\"conversation\":3,"
	    "\n\"round\":1}|resync={}|";
	size_t len = strlen(stream);
	int right = 0;

	for (size_t cut = 0; cut <= len; cut++) {
		got[0] = '\0';
		term_sse_init(&parser, on_event, NULL);
		term_sse_feed(&parser, stream, cut);
		term_sse_feed(&parser, stream + cut, len - cut);
		right += strcmp(got, want) == 0;
	}
	is_int(right, (int)len + 1, "the same events wherever the stream is cut");
	got[0] = '\0';
	term_sse_init(&parser, on_event, NULL);
	for (size_t i = 0; i < len; i++)
		term_sse_feed(&parser, stream + i, 1);
	is_str(got, want, "and a byte at a time");
}

static void
test_limits(void)
{
	size_t big = sizeof(parser.line) + 10;
	char *s = malloc(big + 8);

	memcpy(s, "data: ", 6);
	memset(s + 6, 'x', big);
	s[big + 6] = '\0';
	ok(!feed_whole(s), "a line over the limit fails the stream");
	ok(!term_sse_feed(&parser, "\n\n", 2), "and it stays failed");
	is_str(got, "", "nothing was dispatched");
	free(s);
}

int
main(void)
{
	test_fields();
	test_pieces();
	test_limits();
	return done_testing();
}
