/*
 * split.c - cutting a long text into pieces a channel accepts, at the most
 * natural place: a paragraph, else a sentence, else a space, else any
 * character boundary that does not break a visible character apart.
 */
#include "outbox.h"

#include <stdint.h>
#include <string.h>

/* Length of the UTF-8 sequence starting with byte c (1 for a stray byte). */
static size_t
utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	if (c >= 0xc0)
		return 2;
	return 1;
}

static uint32_t
utf8_decode(const unsigned char *s, size_t n)
{
	switch (n) {
	case 2:
		return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	case 3:
		return (uint32_t)(s[0] & 0x0f) << 12 |
		    (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	case 4:
		return (uint32_t)(s[0] & 0x07) << 18 |
		    (uint32_t)(s[1] & 0x3f) << 12 |
		    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	default:
		return s[0];
	}
}

/* Code points that belong to the character before them. */
static bool
joins_previous(uint32_t cp)
{
	return cp == 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f) ||
	    (cp >= 0x1f3fb && cp <= 0x1f3ff) || (cp >= 0x0300 && cp <= 0x036f) ||
	    cp == 0x3099 || cp == 0x309a || (cp >= 0xe0020 && cp <= 0xe007f) ||
	    cp == 0x20e3;
}

/* Flags are pairs of these; a run of flags is kept whole. */
static bool
regional_indicator(uint32_t cp)
{
	return cp >= 0x1f1e6 && cp <= 0x1f1ff;
}

static bool
ends_sentence(uint32_t cp)
{
	switch (cp) {
	case 0x3002: case 0xff01: case 0xff1f: case '!': case '?': case '.':
	case 0xff0e: case 0x2026:
		return true;
	default:
		return false;
	}
}

/* Closing brackets and quotes stay with the sentence they end. */
static bool
closes(uint32_t cp)
{
	return cp == 0x300d || cp == 0x300f || cp == 0xff09 || cp == ')' ||
	    cp == 0x3011 || cp == '"' || cp == 0x201d;
}

enum split_rank { RANK_NONE, RANK_CHAR, RANK_SPACE, RANK_SENTENCE, RANK_PARAGRAPH };

/* How good a cut before cp (at byte i, after prev) would be. */
static enum split_rank
cut_rank(size_t i, uint32_t prev, uint32_t cp)
{
	if (i == 0 || joins_previous(cp) || closes(cp) || prev == 0x200d ||
	    (prev == '\r' && cp == '\n') ||
	    (regional_indicator(prev) && regional_indicator(cp)))
		return RANK_NONE;
	if (prev == '\n')
		return RANK_PARAGRAPH;
	if (ends_sentence(prev) || closes(prev))
		return RANK_SENTENCE;
	if (prev == ' ' || prev == 0x3000 || prev == '\t')
		return RANK_SPACE;
	return RANK_CHAR;
}

/*
 * The length in bytes of the first piece of s[0..n) that fits in limit
 * UTF-16 code units. The best kind of cut in the piece's second half wins,
 * so a paragraph break near the start does not leave a tiny piece.
 */
static size_t
split_first(const char *s, size_t n, size_t limit)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, units = 0, last[RANK_PARAGRAPH + 1] = { 0 };
	size_t last_units[RANK_PARAGRAPH + 1] = { 0 };
	uint32_t prev = 0;

	while (i < n) {
		size_t len = utf8_len(u[i]);
		uint32_t cp;
		enum split_rank rank;

		if (len > n - i)
			len = n - i;
		cp = utf8_decode(u + i, len);
		/* A cut before cp leaves units in the piece: always within limit. */
		rank = cut_rank(i, prev, cp);
		if (rank != RANK_NONE) {
			last[rank] = i;
			last_units[rank] = units;
		}
		if (units + (cp >= 0x10000 ? 2 : 1) > limit)
			break;
		units += cp >= 0x10000 ? 2 : 1;
		prev = cp;
		i += len;
	}
	if (i >= n)
		return n;
	for (int r = RANK_PARAGRAPH; r > RANK_NONE; r--)
		if (last[r] > 0 && last_units[r] >= limit / 2)
			return last[r];
	for (int r = RANK_PARAGRAPH; r > RANK_NONE; r--)
		if (last[r] > 0)
			return last[r];
	return i > 0 ? i : utf8_len(u[0]);	/* limit below one character */
}

size_t
outbox_split(const char *text, size_t len, size_t limit,
    struct outbox_piece *pieces, size_t max)
{
	size_t n = 0;

	while (len > 0 && n < max) {
		size_t cut = split_first(text, len, limit);

		pieces[n].text = text;
		pieces[n].len = cut;
		n++;
		text += cut;
		len -= cut;
	}
	return len > 0 ? 0 : n;
}
