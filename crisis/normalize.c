/*
 * normalize.c - Japanese text into the form the lexicon is matched in.
 *
 * ｼﾆﾀｲ, シニタイ, し に た い, しにたいーーー and ｓｈｉｎｉｔａｉ must all meet
 * one lexicon entry. libunistring does the part that needs Unicode's
 * tables: NFKC with case folding (half-width kana and their voiced marks,
 * full-width letters, upper case) and the letter and digit categories.
 * (ICU did it first; libunistring, plain C and already loaded by libcurl's
 * own dependencies, keeps ICU's 2.7 MB of libraries out of an idle
 * daemon's resident memory.) The rest is plain code point work: katakana read
 * as hiragana, elongation dropped (ー, and small vowels such as the ぁ of
 * つらぁい), other small kana read as large ones (っ as つ), everything that
 * is not a letter or a digit dropped (spaces, punctuation, emoji), and
 * runs of one character collapsed (つらすぎいいい).
 */
#include "crisis_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

bool
crisis_text_push(struct crisis_text *t, crisis_char c)
{
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		crisis_char *p = realloc(t->cp, cap * sizeof(*p));

		if (p == NULL)
			return false;
		t->cp = p;
		t->cap = cap;
	}
	t->cp[t->len++] = c;
	return true;
}

bool
crisis_text_append(struct crisis_text *t, const crisis_char *cp, size_t n)
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
	(void)why;
	(void)whylen;
	memset(n, 0, sizeof(*n));
	return true;
}

void
crisis_norm_free(struct crisis_norm *n)
{
	free(n->in);
	free(n->out);
	memset(n, 0, sizeof(*n));
}

/*
 * Invisible characters, such as the Hangul filler ㅤ that people paste as a
 * "blank" or a zero-width space, go before the fold, as NFKC_Casefold
 * removes them: 死ㅤにㅤたㅤい must not hide, and こ<ZWSP>ﾞ must still
 * join. (libunistring's fold keeps them; ㅤ even counts as a letter.)
 * Kana and kanji are never such characters: skip the lookup for them.
 */
static bool
default_ignorable(ucs4_t c)
{
	return c >= 0xAD && !(c >= 0x3041 && c <= 0x30FF) &&
	    !(c >= 0x4E00 && c <= 0x9FFF) &&
	    uc_is_property_default_ignorable_code_point(c);
}

/* text (UTF-8) into n->in, U+FFFD for what is not UTF-8, invisible
 * characters left out; the length. */
static bool
decode(struct crisis_norm *n, const char *text, size_t len, size_t *out)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t w = 0;

	/* Never more code points than bytes. */
	if (len + 1 > n->incap) {
		uint32_t *p = realloc(n->in, (len + 1) * sizeof(*p));

		if (p == NULL)
			return false;
		n->in = p;
		n->incap = len + 1;
	}
	for (size_t i = 0; i < len;) {
		ucs4_t c;

		i += (size_t)u8_mbtouc(&c, s + i, len - i);
		if (!default_ignorable(c))
			n->in[w++] = c;
	}
	*out = w;
	return true;
}

/*
 * What NFKC with case folding makes of a character that needs neither its
 * neighbours nor Unicode's tables: itself for lower-case ASCII letters and
 * digits, hiragana, katakana (not ヿ), ー, 々 and the common kanji; the
 * small letter for a capital; ASCII for a full-width letter or digit.
 * 0: the full fold is needed.
 */
static uint32_t
fold_simple(uint32_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c >= 0x3041 && c <= 0x3096) || (c >= 0x30A1 && c <= 0x30FA) ||
	    (c >= 0x30FC && c <= 0x30FE) || c == 0x3005 ||
	    (c >= 0x4E00 && c <= 0x9FFF))
		return c;
	if (c >= 'A' && c <= 'Z')
		return c + 0x20;
	if ((c >= 0xFF10 && c <= 0xFF19) || (c >= 0xFF41 && c <= 0xFF5A))
		return c - 0xFEE0;
	if (c >= 0xFF21 && c <= 0xFF3A)
		return c - 0xFEE0 + 0x20;
	return 0;
}

/*
 * Characters that fold to no letter or digit and join with no neighbour:
 * punctuation (ASCII, general, CJK, full and half width), spaces,
 * arrows, shapes, dingbats, emoji and their variation selectors. They
 * would be dropped after the fold anyway. (Enclosed letters and digits,
 * ① or 🄰, fold to letters: they are not here.)
 */
static bool
fold_dropped(uint32_t c)
{
	return (c < 0x80 && !(c >= 'a' && c <= 'z') && !(c >= 'A' &&
	    c <= 'Z') && !(c >= '0' && c <= '9')) ||
	    (c >= 0x2000 && c <= 0x206F) || (c >= 0x2190 && c <= 0x21FF) ||
	    (c >= 0x2500 && c <= 0x27BF) || (c >= 0x3000 && c <= 0x3003) ||
	    (c >= 0x3008 && c <= 0x3011) || (c >= 0x3014 && c <= 0x301F) ||
	    c == 0x30FB || c == 0xFE0E || c == 0xFE0F ||
	    (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
	    (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65) ||
	    (c >= 0x1F300 && c <= 0x1FAFF);
}

/*
 * Most messages hold nothing but the two kinds above, and then the full
 * fold (more than half a check's time) is skipped: what would be dropped
 * goes now, the rest is mapped in place.
 */
static bool
fold_skip(struct crisis_norm *n, size_t inlen, size_t *outlen)
{
	size_t w = 0;

	for (size_t i = 0; i < inlen; i++)
		if (fold_simple(n->in[i]) == 0 && !fold_dropped(n->in[i]))
			return false;
	for (size_t i = 0; i < inlen; i++)
		if (fold_simple(n->in[i]) != 0)
			n->in[w++] = fold_simple(n->in[i]);
	*outlen = w;
	return true;
}

/* n->in through NFKC with case folding; the result and its length. */
static const uint32_t *
fold(struct crisis_norm *n, size_t inlen, size_t *outlen)
{
	uint32_t *r;

	if (fold_skip(n, inlen, outlen))
		return n->in;

	*outlen = n->outcap;
	r = u32_casefold(n->in, inlen, NULL, UNINORM_NFKC, n->out, outlen);
	if (r != NULL && r != n->out) {		/* it did not fit: keep the larger */
		free(n->out);
		n->out = r;
		n->outcap = *outlen;
	}
	return r;
}

/*
 * Katakana to hiragana: the two blocks are laid out alike, 0x60 apart,
 * from ァ to ヶ and for the iteration marks ヽ ヾ; ヷ to ヺ have no
 * hiragana and stay. ICU's Katakana-Hiragana transliterator did the same
 * but cost more than the rest of the check together (bench/, 2026-11).
 */
static crisis_char
to_hiragana(crisis_char c)
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
static crisis_char
large_kana(crisis_char c)
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

/* Letters (general category L) and decimal digits (Nd). */
static bool
kept(crisis_char c)
{
	return c > 0 && (uc_is_general_category((ucs4_t)c, UC_CATEGORY_L) ||
	    uc_is_general_category((ucs4_t)c, UC_CATEGORY_Nd));
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
	const uint32_t *f;
	size_t inlen, flen;
	uint64_t present = 0;

	out->len = 0;
	out->absent = 0;
	if (!decode(n, text, len, &inlen) ||
	    (f = fold(n, inlen, &flen)) == NULL)
		return false;
	for (size_t i = 0; i < flen; i++) {
		crisis_char c = large_kana(to_hiragana((crisis_char)f[i]));

		if (kept(c) && (out->len == 0 || out->cp[out->len - 1] != c)) {
			if (!crisis_text_push(out, c))
				return false;
			present |= crisis_char_bit(c);
		}
	}
	out->absent = ~present;
	return true;
}
