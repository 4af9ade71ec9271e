/*
 * term_sse.c - a Server-Sent Events parser (the WHATWG event-stream
 * format), fed the stream in pieces however the network cut it: lines end
 * in LF, CRLF or CR (a CRLF may be split between two pieces), lines
 * starting with ':' are comments, "data" lines join with LF, a blank line
 * dispatches the event. No I/O here, so it is tested on its own.
 */
#include "term_internal.h"

#include <string.h>

void
term_sse_init(struct term_sse *p, term_sse_fn fn, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->fn = fn;
	p->arg = arg;
}

static void
term_sse_dispatch(struct term_sse *p)
{
	if (p->has_data) {
		/* The last data line's LF is not part of the data. */
		if (p->data_len > 0)
			p->data_len--;
		p->data[p->data_len] = '\0';
		p->fn(p->arg, p->event[0] != '\0' ? p->event : "message",
		    p->data, p->data_len);
	}
	p->event[0] = '\0';
	p->data_len = 0;
	p->has_data = false;
}

static bool
term_sse_field(struct term_sse *p, const char *name, const char *value,
    size_t vlen)
{
	if (strcmp(name, "event") == 0) {
		if (vlen >= sizeof(p->event))
			return false;
		memcpy(p->event, value, vlen);
		p->event[vlen] = '\0';
	} else if (strcmp(name, "data") == 0) {
		if (p->data_len + vlen + 1 >= sizeof(p->data))
			return false;
		memcpy(p->data + p->data_len, value, vlen);
		p->data_len += vlen;
		p->data[p->data_len++] = '\n';
		p->has_data = true;
	} else if (strcmp(name, "id") == 0 && vlen < sizeof(p->last_id) &&
	    memchr(value, '\0', vlen) == NULL) {
		memcpy(p->last_id, value, vlen);
		p->last_id[vlen] = '\0';
	}
	/* "retry" and unknown fields: ignored (reconnecting is ours). */
	return true;
}

/* One complete line, without its ending. */
static bool
term_sse_line(struct term_sse *p, char *line, size_t len)
{
	char *colon, *value;
	size_t vlen;

	if (len == 0) {
		term_sse_dispatch(p);
		return true;
	}
	if (line[0] == ':')
		return true;
	line[len] = '\0';
	if ((colon = memchr(line, ':', len)) == NULL) {
		value = line + len;
	} else {
		*colon = '\0';
		value = colon + 1;
		if (*value == ' ')
			value++;
	}
	vlen = (size_t)(line + len - value);
	return term_sse_field(p, line, value, vlen);
}

bool
term_sse_feed(struct term_sse *p, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];

		if (p->failed)
			return false;
		if (p->skip_lf) {
			p->skip_lf = false;
			if (ch == '\n')
				continue;
		}
		if (ch == '\r' || ch == '\n') {
			p->skip_lf = ch == '\r';
			p->failed = !term_sse_line(p, p->line, p->line_len);
			p->line_len = 0;
			continue;
		}
		if (p->line_len + 1 >= sizeof(p->line)) {
			p->failed = true;
			return false;
		}
		p->line[p->line_len++] = ch;
	}
	return !p->failed;
}
