/*
 * term_text.c - what the terminal console needs to lay text out, with no
 * terminal involved: UTF-8 turned into characters that are safe to show,
 * display widths (Japanese takes two columns), wrapping at a width without
 * splitting a character, deadline countdowns and times in Asia/Tokyo.
 *
 * Text from people is hostile: control characters, escape sequences, bidi
 * overrides and broken UTF-8 never reach the terminal; each becomes a
 * visible U+FFFD. Characters of no width are dropped, since terminals
 * disagree on how they combine and the layout would drift.
 */
#include "term_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#define JST_OFFSET_MS	(9 * 3600 * 1000LL)

/* Direction overrides and isolates (and the invisible marks) reorder what
 * follows them: a message could make a reply look like something else. */
static bool
term_text_bidi(unsigned long c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x200e || c == 0x200f || c == 0x061c;
}

/*
 * One code point as shown: itself, a space, a line break (multiline),
 * the placeholder, or 0 to drop it.
 */
static wchar_t
term_text_shown(unsigned long c, bool multiline)
{
	int w;

	if (c == '\n')
		return multiline ? L'\n' : L' ';
	if (c == '\t')
		return L' ';
	if (c < 0x20 || (c >= 0x7f && c < 0xa0) || term_text_bidi(c))
		return TERM_PLACEHOLDER;
	w = wcwidth((wchar_t)c);
	if (w < 0)
		return TERM_PLACEHOLDER;
	return w == 0 ? 0 : (wchar_t)c;
}

/*
 * The code point at s (len bytes left), or -1 when the bytes there are not
 * valid UTF-8 (overlong, a surrogate, past U+10FFFF, cut short); *used is
 * how many bytes it took (1 for an invalid one).
 */
static long
term_text_utf8(const unsigned char *s, size_t len, size_t *used)
{
	static const unsigned long min[4] = { 0, 0x80, 0x800, 0x10000 };
	unsigned long c;
	size_t n;

	*used = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 1, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 2, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 3, c = s[0] & 0x07;
	else
		return -1;
	if (n >= len)
		return -1;
	for (size_t i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*used = n + 1;
	return (long)c;
}

bool
term_text_typable(wint_t c)
{
	return c >= 0x20 && c <= 0x10ffff && term_text_shown((unsigned long)c,
	    false) == (wchar_t)c;
}

size_t
term_text_decode(const char *s, size_t len, bool multiline, wchar_t *out,
    size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n = 0, used;
	long c;
	wchar_t w;

	while (i < len && n < cap) {
		c = term_text_utf8(p + i, len - i, &used);
		/* CR LF is one line break; a lone CR one too. */
		if (c == '\r')
			c = i + 1 < len && p[i + 1] == '\n' ? -2 : '\n';
		i += used;
		if (c == -2)
			continue;
		w = c < 0 ? TERM_PLACEHOLDER : term_text_shown((unsigned long)c,
		    multiline);
		if (w != 0)
			out[n++] = w;
	}
	return n;
}

wchar_t *
term_text_wide(const char *s, bool multiline, size_t *n)
{
	size_t len = s != NULL ? strlen(s) : 0;
	wchar_t *w = calloc(len + 1, sizeof(*w));

	*n = 0;
	if (w == NULL)
		return NULL;
	*n = term_text_decode(s != NULL ? s : "", len, multiline, w, len);
	return w;
}

int
term_text_cwidth(wchar_t c)
{
	int w;

	if (c == L'\n')
		return 0;
	w = wcwidth(c);
	return w < 0 ? 1 : w;
}

int
term_text_width(const wchar_t *s, size_t n)
{
	int w = 0;

	for (size_t i = 0; i < n; i++)
		w += term_text_cwidth(s[i]);
	return w;
}

size_t
term_text_fit(const wchar_t *s, size_t n, int width)
{
	size_t i;
	int w = 0, cw;

	for (i = 0; i < n && s[i] != L'\n'; i++) {
		cw = term_text_cwidth(s[i]);
		if (w + cw > width)
			break;
		w += cw;
	}
	return i;
}

static bool
term_text_wordy(wchar_t c)
{
	return c < 0x80 && c != L' ' && c != L'\n';
}

/*
 * Where a line that must end before s[end] should end: after the last
 * space of the line when end falls inside a Latin word (Japanese breaks
 * anywhere), else at end.
 */
static size_t
term_text_break(const wchar_t *s, size_t start, size_t end)
{
	if (!term_text_wordy(s[end]) || !term_text_wordy(s[end - 1]))
		return end;
	for (size_t i = end - 1; i > start; i--)
		if (s[i] == L' ')
			return i + 1;
	return end;
}

size_t
term_text_wrap(const wchar_t *s, size_t n, int width,
    struct term_line *lines, size_t cap)
{
	size_t count = 0, start = 0, i = 0;
	int w = 0, cw;

	if (width < 2)
		width = 2;	/* room for one double-width character */
	for (;;) {
		if (i == n || s[i] == L'\n') {
			if (count < cap)
				lines[count] = (struct term_line){ start, i - start,
				    w };
			count++;
			if (i == n)
				return count;
			start = ++i;
			w = 0;
			continue;
		}
		cw = term_text_cwidth(s[i]);
		if (w + cw <= width || i == start) {
			w += cw;
			i++;
			continue;
		}
		i = term_text_break(s, start, i);
		if (count < cap)
			lines[count] = (struct term_line){ start, i - start,
			    term_text_width(s + start, i - start) };
		count++;
		if (s[i] == L' ')
			i++;	/* the space a soft break replaces */
		start = i;
		w = 0;
	}
}

void
term_text_countdown(char *buf, size_t len, long long seconds, bool en)
{
	bool over = seconds < 0;
	long long s = over ? -seconds : seconds;
	long long m = s / 60, h = m / 60, d = h / 24;

	if (en) {
		const char *tail = over ? "over" : "left";

		if (s < 60)
			snprintf(buf, len, "%llds %s", s, tail);
		else if (m < 60)
			snprintf(buf, len, "%lld min %s", m, tail);
		else if (h < 24)
			snprintf(buf, len, "%lldh%02lldm %s", h, m % 60, tail);
		else
			snprintf(buf, len, "%lldd%lldh %s", d, h % 24, tail);
		return;
	}
	const char *head = over ? "超過" : "残り";

	if (s < 60)
		snprintf(buf, len, "%s %lld秒", head, s);
	else if (m < 60)
		snprintf(buf, len, "%s %lld分", head, m);
	else if (h < 24)
		snprintf(buf, len, "%s %lld時間%lld分", head, h, m % 60);
	else
		snprintf(buf, len, "%s %lld日%lld時間", head, d, h % 24);
}

bool
term_text_parse_time(const char *iso, int64_t *ms)
{
	struct tm tm = { 0 };
	int frac = 0, used = 0;
	time_t t;

	if (iso == NULL || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &used) != 6)
		return false;
	iso += used;
	if (*iso == '.') {
		int digits = 0;

		for (iso++; *iso >= '0' && *iso <= '9'; iso++)
			if (digits++ < 3)
				frac = frac * 10 + (*iso - '0');
		while (digits++ < 3)
			frac *= 10;
	}
	if (strcmp(iso, "Z") != 0)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return false;
	*ms = (int64_t)t * 1000 + frac;
	return true;
}

void
term_text_jst(char *buf, size_t len, int64_t ms, enum term_jst what)
{
	time_t t = (time_t)((ms + JST_OFFSET_MS) / 1000);
	struct tm tm;
	size_t n = 0;

	if (gmtime_r(&t, &tm) != NULL) {
		switch (what) {
		case TERM_JST_STAMP:
			n = strftime(buf, len, "%m/%d %H:%M", &tm);
			break;
		case TERM_JST_DATE:
			n = strftime(buf, len, "%m/%d", &tm);
			break;
		case TERM_JST_TIME:
			n = strftime(buf, len, "%H:%M:%S", &tm);
			break;
		case TERM_JST_WDAY:
			n = strftime(buf, len, "%w", &tm);
			break;
		}
	}
	if (n == 0)
		snprintf(buf, len, "--");
}
