/*
 * term_edit.c - an editable line (or lines) of text, as characters, so the
 * cursor moves and Backspace deletes one character whatever its width.
 * Passwords pass through it too: memory it gives up is zeroed first.
 */
#include "term_internal.h"

#include <stdlib.h>
#include <string.h>

#define TERM_EDIT_MAX	20000	/* characters; the API refuses long texts */

static void
term_wipe(void *p, size_t len)
{
	if (p != NULL)
		explicit_bzero(p, len);
}

/* Grows by copying, so no old copy of a secret is left behind by realloc. */
static bool
term_edit_grow(struct term_edit *e)
{
	size_t cap = e->cap > 0 ? e->cap * 2 : 64;
	wchar_t *buf;

	if (e->len + 1 < e->cap)
		return true;
	if (e->len >= TERM_EDIT_MAX || (buf = calloc(cap, sizeof(*buf))) ==
	    NULL)
		return false;
	if (e->buf != NULL)
		memcpy(buf, e->buf, e->len * sizeof(*buf));
	term_wipe(e->buf, e->cap * sizeof(*e->buf));
	free(e->buf);
	e->buf = buf;
	e->cap = cap;
	return true;
}

bool
term_edit_insert(struct term_edit *e, wchar_t c)
{
	if (!term_edit_grow(e))
		return false;
	memmove(e->buf + e->cur + 1, e->buf + e->cur,
	    (e->len - e->cur) * sizeof(*e->buf));
	e->buf[e->cur++] = c;
	e->len++;
	return true;
}

void
term_edit_backspace(struct term_edit *e)
{
	if (e->cur == 0)
		return;
	e->cur--;
	term_edit_delete(e);
}

void
term_edit_delete(struct term_edit *e)
{
	if (e->cur >= e->len)
		return;
	memmove(e->buf + e->cur, e->buf + e->cur + 1,
	    (e->len - e->cur - 1) * sizeof(*e->buf));
	e->buf[--e->len] = 0;
}

void
term_edit_move(struct term_edit *e, int by)
{
	if (by < 0 && (size_t)-by > e->cur)
		e->cur = 0;
	else if (by > 0 && e->cur + (size_t)by > e->len)
		e->cur = e->len;
	else
		e->cur = (size_t)((long)e->cur + by);
}

/* Home and End go to the start and end of the cursor's line. */
void
term_edit_home(struct term_edit *e)
{
	while (e->cur > 0 && e->buf[e->cur - 1] != L'\n')
		e->cur--;
}

void
term_edit_end(struct term_edit *e)
{
	while (e->cur < e->len && e->buf[e->cur] != L'\n')
		e->cur++;
}

void
term_edit_clear(struct term_edit *e)
{
	term_wipe(e->buf, e->cap * sizeof(*e->buf));
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

void
term_edit_take(struct term_edit *dst, struct term_edit *src)
{
	term_edit_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

bool
term_edit_blank(const struct term_edit *e)
{
	for (size_t i = 0; i < e->len; i++)
		if (e->buf[i] != L' ' && e->buf[i] != L'\n' &&
		    e->buf[i] != 0x3000)
			return false;
	return true;
}

static size_t
term_utf8_put(char *out, unsigned long c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static bool
term_edit_space(wchar_t c)
{
	return c == L' ' || c == L'\n' || c == 0x3000;
}

char *
term_edit_utf8(const struct term_edit *e, bool trim)
{
	size_t from = 0, to = e->len, n = 0;
	char *s;

	while (trim && from < to && term_edit_space(e->buf[from]))
		from++;
	while (trim && to > from && term_edit_space(e->buf[to - 1]))
		to--;
	if ((s = malloc((to - from) * 4 + 1)) == NULL)
		return NULL;
	for (size_t i = from; i < to; i++)
		n += term_utf8_put(s + n, (unsigned long)e->buf[i]);
	s[n] = '\0';
	return s;
}
