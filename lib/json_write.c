/*
 * json_write.c - JSON string escaping into an evbuffer.
 */
#include "json_write.h"

#include <stdio.h>

#include <event2/buffer.h>

void
json_write_string(struct evbuffer *out, const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	json_write_string_len(out, s, n);
}

void
json_write_string_len(struct evbuffer *out, const char *s, size_t len)
{
	size_t run = 0;	/* start of the pending run that needs no escape */

	evbuffer_add(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		evbuffer_add(out, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': evbuffer_add(out, "\\\"", 2); break;
		case '\\': evbuffer_add(out, "\\\\", 2); break;
		case '\n': evbuffer_add(out, "\\n", 2); break;
		case '\r': evbuffer_add(out, "\\r", 2); break;
		case '\t': evbuffer_add(out, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			evbuffer_add(out, esc, 6);
		}
	}
	evbuffer_add(out, s + run, len - run);
	evbuffer_add(out, "\"", 1);
}
