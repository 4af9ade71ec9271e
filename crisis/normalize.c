/*
 * normalize.c - Japanese text into the form the lexicon is matched in.
 *
 * ｼﾆﾀｲ, シニタイ, し に た い, しにたいーーー and ｓｈｉｎｉｔａｉ must all meet
 * one lexicon entry. ICU does the part that needs Unicode's tables: NFKC
 * with case folding (half-width kana and their voiced marks, full-width
 * letters, upper case). The rest is plain code point work: katakana read
 * as hiragana, elongation dropped (ー, and small vowels such as the ぁ of
 * つらぁい), other small kana read as large ones (っ as つ), everything that
 * is not a letter or a digit dropped (spaces, punctuation, emoji), and
 * runs of one character collapsed (つらすぎいいい).
 */
#include "crisis_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

bool
crisis_text_push(struct crisis_text *t, UChar32 c)
{
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		UChar32 *p = realloc(t->cp, cap * sizeof(*p));

		if (p == NULL)
			return false;
		t->cp = p;
		t->cap = cap;
	}
	t->cp[t->len++] = c;
	return true;
}

bool
crisis_text_append(struct crisis_text *t, const UChar32 *cp, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!crisis_text_push(t, cp[k]))
			return false;
	return true;
}

void
crisis_text_free(struct crisis_text *t)
{
	free(t->cp);
	memset(t, 0, sizeof(*t));
}

bool
crisis_norm_init(struct crisis_norm *n, char *why, size_t whylen)
{
	UErrorCode err = U_ZERO_ERROR;

	memset(n, 0, sizeof(*n));
	n->nfkc = unorm2_getNFKCCasefoldInstance(&err);
	if (U_FAILURE(err)) {
		snprintf(why, whylen, "ICU: %s", u_errorName(err));
		return false;
	}
	return true;
}

void
crisis_norm_free(struct crisis_norm *n)
{
	free(n->a);
	free(n->b);
	memset(n, 0, sizeof(*n));
}

static bool
grow(UChar **buf, int32_t *cap, int32_t need)
{
	UChar *p;

	if (need <= *cap)
		return true;
	p = realloc(*buf, (size_t)need * sizeof(**buf));
	if (p == NULL)
		return false;
	*buf = p;
	*cap = need;
	return true;
}

/* text (UTF-8) into n->a; the length, or -1. */
static int32_t
to_utf16(struct crisis_norm *n, const char *text, size_t len)
{
	UErrorCode err = U_ZERO_ERROR;
	int32_t out = 0;

	if (len > INT32_MAX / 2)
		return -1;
	/* UTF-8 never takes fewer bytes than UTF-16 units. */
	if (!grow(&n->a, &n->acap, (int32_t)len + 1))
		return -1;
	u_strFromUTF8WithSub(n->a, n->acap, &out, text, (int32_t)len, 0xFFFD,
	    NULL, &err);
	return U_SUCCESS(err) ? out : -1;
}

/* n->a (alen units) through NFKC-casefold into n->b; the length, or -1. */
static int32_t
fold(struct crisis_norm *n, int32_t alen)
{
	for (int tries = 0; tries < 2; tries++) {
		UErrorCode err = U_ZERO_ERROR;
		int32_t out = unorm2_normalize(n->nfkc, n->a, alen, n->b,
		    n->bcap, &err);

		if (U_SUCCESS(err))
			return out;
		if (err != U_BUFFER_OVERFLOW_ERROR ||
		    !grow(&n->b, &n->bcap, out + 1))
			return -1;
	}
	return -1;
}

/*
 * Katakana to hiragana: the two blocks are laid out alike, 0x60 apart,
 * from ァ to ヶ and for the iteration marks ヽ ヾ; ヷ to ヺ have no
 * hiragana and stay. ICU's Katakana-Hiragana transliterator does the same
 * but cost more than the rest of the check together (bench/, 2026-11).
 */
static UChar32
to_hiragana(UChar32 c)
{
	if ((c >= 0x30A1 && c <= 0x30F6) || c == 0x30FD || c == 0x30FE)
		return c - 0x60;
	return c;
}

/*
 * Small kana: a small vowel only stretches the sound before it (つらぁい,
 * ふぁ), so it goes, as ー does; っ, ゃ, ゅ, ょ, ゎ read as large ones, which
 * changes no word here. 0 means "drop".
 */
static UChar32
large_kana(UChar32 c)
{
	switch (c) {
	case 0x3041: case 0x3043: case 0x3045: case 0x3047: case 0x3049:
	case 0x30FC:
		return 0;
	case 0x3063: case 0x3083: case 0x3085: case 0x3087: case 0x308E:
		return c + 1;
	case 0x3095:
		return 0x304B;	/* ゕ → か */
	case 0x3096:
		return 0x3051;	/* ゖ → け */
	default:
		return c;
	}
}

static bool
kept(UChar32 c)
{
	return c != 0 && (u_isalpha(c) || u_isdigit(c));
}

void
crisis_collapse_runs(struct crisis_text *t)
{
	size_t w = 0;

	for (size_t r = 0; r < t->len; r++)
		if (w == 0 || t->cp[r] != t->cp[w - 1] ||
		    t->cp[r] == CRISIS_GAP)
			t->cp[w++] = t->cp[r];
	t->len = w;
}

bool
crisis_normalize(struct crisis_norm *n, const char *text, size_t len,
    struct crisis_text *out)
{
	int32_t alen, blen, i = 0;

	out->len = 0;
	if ((alen = to_utf16(n, text, len)) < 0 ||
	    !grow(&n->b, &n->bcap, alen + 16) || (blen = fold(n, alen)) < 0)
		return false;
	while (i < blen) {
		UChar32 c;

		U16_NEXT(n->b, i, blen, c);
		c = large_kana(to_hiragana(c));
		if (kept(c) && (out->len == 0 || out->cp[out->len - 1] != c) &&
		    !crisis_text_push(out, c))
			return false;
	}
	return true;
}
