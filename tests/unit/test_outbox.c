/*
 * The outbox's pure parts: cutting a long text for LINE (split.c), what an
 * answer from the Messaging API means, and the wait before a retry
 * (sender.c).
 */
#include <limits.h>
#include <stdint.h>

#include "outbox.h"
#include "tap.h"

#define PIECES	64

/* ---- helpers: independent of split.c ---- */

/* Whether byte c continues a UTF-8 sequence (10xxxxxx). */
static int
is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* UTF-16 code units of valid UTF-8: 4-byte sequences are surrogate pairs. */
static size_t
u16_units(const char *s, size_t len)
{
	size_t units = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_cont(c))
			continue;
		units += c >= 0xf0 ? 2 : 1;
	}
	return units;
}

/* Whether the pieces are a faithful cut of text (the invariants). */
static int
pieces_sound(const char *text, size_t len, size_t limit,
    const struct outbox_piece *p, size_t n, const char *what)
{
	const char *at = text;
	int sound = 1;

	for (size_t i = 0; i < n; i++) {
		if (p[i].text != at) {
			printf("# %s: piece %zu does not follow the one before\n",
			    what, i);
			sound = 0;
			break;
		}
		if (p[i].len == 0) {
			printf("# %s: piece %zu is empty\n", what, i);
			sound = 0;
		}
		if (u16_units(p[i].text, p[i].len) > limit) {
			printf("# %s: piece %zu has %zu units > %zu\n", what, i,
			    u16_units(p[i].text, p[i].len), limit);
			sound = 0;
		}
		if (p[i].len > 0 && is_cont((unsigned char)p[i].text[0])) {
			printf("# %s: piece %zu starts inside a character\n",
			    what, i);
			sound = 0;
		}
		if (p[i].text + p[i].len < text + len &&
		    is_cont((unsigned char)p[i].text[p[i].len])) {
			printf("# %s: piece %zu ends inside a character\n",
			    what, i);
			sound = 0;
		}
		at += p[i].len;
	}
	if (sound && (at != text + len)) {
		printf("# %s: the pieces cover %zu of %zu bytes\n", what,
		    (size_t)(at - text), len);
		sound = 0;
	}
	return sound;
}

/* Splits s and checks the invariants; the number of pieces. */
static size_t
split_checked(const char *s, size_t limit, struct outbox_piece *p,
    const char *what)
{
	size_t len = strlen(s), n;

	n = outbox_split(s, len, limit, p, PIECES);
	ok(n > 0 && pieces_sound(s, len, limit, p, n, what),
	    "%s: %zu pieces, joined they are the text, each <= %zu units",
	    what, n, limit);
	return n;
}

/* Whether piece i is exactly want. */
static int
piece_is(const struct outbox_piece *p, size_t i, const char *want)
{
	size_t wl = strlen(want);

	if (p[i].len == wl && memcmp(p[i].text, want, wl) == 0)
		return 1;
	printf("#   piece %zu is \"%.*s\", want \"%s\"\n", i, (int)p[i].len,
	    p[i].text, want);
	return 0;
}

/* Whether no piece boundary falls inside [from, from + len) of s. */
static int
kept_whole(const char *s, const char *part, const struct outbox_piece *p,
    size_t n)
{
	const char *at = strstr(s, part);
	size_t len = strlen(part);

	if (at == NULL)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (p[i].text > at && p[i].text < at + len) {
			printf("#   cut at byte %zu, inside \"%s\"\n",
			    (size_t)(p[i].text - s), part);
			return 0;
		}
	return 1;
}

/* ---- outbox_split ---- */

static void
test_split_basics(void)
{
	struct outbox_piece p[PIECES];
	size_t n;

	n = split_checked("hello", 10, p, "short ASCII");
	is_int(n, 1, "a short text is one piece");
	ok(n == 1 && p[0].len == 5, "the whole of it");

	n = split_checked("あいうえおかきくけこ", 10, p, "exactly 10 kana");
	is_int(n, 1, "10 kana at limit 10 are one piece (units, not bytes)");

	n = split_checked("😀😀😀😀😀", 10, p, "5 emoji");
	is_int(n, 1, "5 emoji outside the BMP are 10 units: one piece");
	n = split_checked("😀😀😀😀😀😀", 10, p, "6 emoji");
	is_int(n, 2, "6 emoji (12 units) at limit 10 are two pieces");
	ok(n == 2 && p[0].len % 4 == 0, "not cut inside a surrogate pair");

	n = split_checked("a😀b😀c😀d😀e😀f", 10, p, "mixed widths");
	ok(n == 2, "an emoji that would make 11 units goes to the next piece");

	n = split_checked("abcdefghijklmnopqrstuvwxyz", 10, p, "no cut points");
	is_int(n, 3, "no spaces or sentences: cut anywhere");

	is_int(outbox_split("", 0, 10, p, PIECES), 0, "an empty text is no pieces");

	/* more pieces than max */
	is_int(outbox_split("abcdefghijklmnopqrstuvwxyz", 26, 10, p, 2), 0,
	    "three pieces needed, two allowed: 0");
	is_int(outbox_split("abcdefghijklmnopqrstuvwxyz", 26, 10, p, 3), 3,
	    "three pieces needed, three allowed");
	is_int(outbox_split("abcdefghij", 10, 10, p, 1), 1,
	    "one piece needed, one allowed");
}

static void
test_split_where(void)
{
	struct outbox_piece p[PIECES];
	size_t n;

	/* paragraph beats sentence beats space */
	n = split_checked("ab cd. e\nfgh ij. kl", 10, p, "paragraph");
	ok(n >= 2 && piece_is(p, 0, "ab cd. e\n"),
	    "cut after the paragraph break");

	n = split_checked("abc. efg hijklmno", 10, p, "sentence");
	ok(n >= 2 && piece_is(p, 0, "abc. efg "),
	    "a space after the sentence end is later: the space wins");
	n = split_checked("ab cd ef. ghijklmno", 10, p, "sentence over space");
	ok(n >= 2 && piece_is(p, 0, "ab cd ef."),
	    "a sentence end beats an earlier space");
	n = split_checked("Ready? Go on now", 10, p, "sentence over space 2");
	ok(n >= 2 && piece_is(p, 0, "Ready?"),
	    "a sentence end in the second half beats a later space");
	n = split_checked("ab cdefghijklmno", 10, p, "space");
	ok(n >= 2 && p[0].len > 3, "a space in the first half: not used");
	n = split_checked("abcdef ghijklmno", 10, p, "space 2nd half");
	ok(n >= 2 && piece_is(p, 0, "abcdef "), "cut after the space");

	n = split_checked("これは例です。次の文があります。", 10, p,
	    "Japanese sentence");
	ok(n >= 2 && piece_is(p, 0, "これは例です。"), "cut after 。");
	n = split_checked("本当ですか？はい、そうです。", 10, p, "full-width ?");
	ok(n >= 2 && piece_is(p, 0, "本当ですか？"), "cut after ？");
	n = split_checked("すごい！ありがとうございます", 10, p, "full-width !");
	ok(n == 2 && p[0].len > strlen("すごい！"),
	    "！ in the first half: not the cut");
	n = split_checked("そうですね…わかりました。", 10, p, "ellipsis");
	ok(n >= 2 && piece_is(p, 0, "そうですね…"), "cut after …");
	n = split_checked("Really? Yes it is.", 10, p, "ASCII ?");
	ok(n >= 2 && piece_is(p, 0, "Really?"), "cut after ?");
	n = split_checked("Yes!Indeed it is", 10, p, "ASCII ! (first half)");
	ok(n >= 2 && p[0].len > 4,
	    "a sentence end in the first half is not used");
	n = split_checked("Wow, great!That works", 12, p, "ASCII !");
	ok(n >= 2 && piece_is(p, 0, "Wow, great!"), "cut after !");
	n = split_checked("Fine. Thanks a lot", 10, p, "ASCII .");
	ok(n >= 2 && piece_is(p, 0, "Fine."),
	    "a sentence end at exactly half the limit counts");
	n = split_checked("Ok. Thx abcdef", 10, p, "ASCII . first half");
	ok(n >= 2 && piece_is(p, 0, "Ok. Thx "),
	    "a sentence end in the first half loses to a space in the second");
	n = split_checked("たぶん．そうだと思う", 8, p, "full-width ．");
	ok(n >= 2 && piece_is(p, 0, "たぶん．"), "cut after ．");

	/* only within the second half of the limit */
	n = split_checked("a\nbcdefghijklmnop", 10, p, "early paragraph");
	ok(n >= 2 && p[0].len > 2,
	    "an early paragraph break does not leave a tiny piece");
	n = split_checked("あ。いうえおかきくけこさしす", 10, p, "early sentence");
	ok(n >= 2 && u16_units(p[0].text, p[0].len) > 2,
	    "an early sentence end neither");
	n = split_checked("ab\ncdefghijklm\nop", 10, p, "only early break");
	ok(n >= 2 && p[0].len > 3, "nor the only one in the piece");
	n = split_checked("abcd\nefghijklmnop", 10, p, "paragraph at 5 units");
	ok(n >= 2 && piece_is(p, 0, "abcd\n"),
	    "a paragraph break at exactly half the limit is used");

	/* closing brackets stay with their sentence */
	n = split_checked("彼は「そうだ。」と言った", 10, p, "」");
	ok(n >= 2 && piece_is(p, 0, "彼は「そうだ。」"),
	    "」 stays with the sentence it ends");
	n = split_checked("彼は『はい。』と答えた", 10, p, "』");
	ok(n >= 2 && piece_is(p, 0, "彼は『はい。』"), "』 too");
	n = split_checked("明日（休み。）の予定です", 10, p, "full-width ）");
	ok(n >= 2 && piece_is(p, 0, "明日（休み。）"), "） too");
	n = split_checked("Go (now!) ok", 10, p, ")");
	ok(n >= 2 && piece_is(p, 0, "Go (now!)"), ") too");
	n = split_checked("あいう「そう。」えおかき", 7, p, "」 past 。");
	ok(n >= 2 && piece_is(p, 0, "あいう「そう"),
	    "when the 」 does not fit, the cut is not between 。 and 」");
}

/*
 * A cut exactly at the limit: the piece may be as long as the limit, and
 * the best cut may be the one that reaches it.
 */
static void
test_split_at_limit(void)
{
	struct outbox_piece p[PIECES];
	size_t n;

	n = split_checked("abcdefghijklmnopqrstuvwxyz", 10, p, "26 letters");
	ok(n == 3 && p[0].len == 10 && p[1].len == 10 && p[2].len == 6,
	    "no cut points: pieces of 10, 10, 6");
	n = split_checked("😀😀😀😀😀😀", 10, p, "6 emoji, full");
	ok(n == 2 && p[0].len == 20 && p[1].len == 4,
	    "6 emoji at limit 10: 5 + 1");
	n = split_checked("123456789\nabc", 10, p, "paragraph at the limit");
	ok(n == 2 && piece_is(p, 0, "123456789\n"),
	    "a paragraph break ending at the limit is the cut "
	    "(not a piece starting with \"\\n\")");
	n = split_checked("あいうえおかきくけ。こさし", 10, p, "。 at the limit");
	ok(n == 2 && piece_is(p, 0, "あいうえおかきくけ。"),
	    "a sentence ending at the limit is the cut "
	    "(not a piece starting with 。)");
}

static void
test_split_glued(void)
{
	static const struct { const char *what, *text, *glued; size_t limit; }
	    cases[] = {
		/* 👍🏽: U+1F44D U+1F3FD, 4 units */
		{ "skin tone", "abcdefg\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd" "xyz",
		    "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 10 },
		{ "skin tone, 2nd", "abcdef\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd" "xyz",
		    "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 9 },
		/* 👨‍👩‍👧: man ZWJ woman ZWJ girl, 8 units */
		{ "ZWJ family",
		    "abc\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
		    "\xf0\x9f\x91\xa7" "xyz",
		    "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
		    "\xf0\x9f\x91\xa7", 8 },
		{ "ZWJ family, limit 10",
		    "abcde\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
		    "\xf0\x9f\x91\xa7" "xyz",
		    "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
		    "\xf0\x9f\x91\xa7", 10 },
		{ "ZWJ family, cut before the ZWJ",
		    "abcdefgh\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9"
		    "\xe2\x80\x8d\xf0\x9f\x91\xa7" "xyz",
		    "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
		    "\xf0\x9f\x91\xa7", 10 },
		/* ❤️: U+2764 U+FE0F */
		{ "variation selector", "abcdefghi\xe2\x9d\xa4\xef\xb8\x8f" "xyz",
		    "\xe2\x9d\xa4\xef\xb8\x8f", 10 },
		/* 1️⃣: '1' U+FE0F U+20E3 */
		{ "keycap", "abcdefghi1\xef\xb8\x8f\xe2\x83\xa3" "xyz",
		    "1\xef\xb8\x8f\xe2\x83\xa3", 10 },
		{ "keycap, 2nd", "abcdefgh1\xef\xb8\x8f\xe2\x83\xa3" "xyz",
		    "1\xef\xb8\x8f\xe2\x83\xa3", 10 },
		{ "CRLF", "abcdefghi\r\nxyz", "\r\n", 10 },
		{ "CRLF, sentence before", "abcdefgh.\r\nxyz", "\r\n", 10 },
	};
	struct outbox_piece p[PIECES];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = split_checked(cases[i].text, cases[i].limit, p,
		    cases[i].what);

		ok(n >= 2 && kept_whole(cases[i].text, cases[i].glued, p, n),
		    "%s: never split apart", cases[i].what);
	}
}

/* Every cut limit from 4 to 24 over a text full of glued sequences. */
static void
test_split_sweep(void)
{
	static const char text[] =
	    "こんにちは\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd。今日は"
	    "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
	    "\xf0\x9f\x91\xa7で来ました\xe2\x9d\xa4\xef\xb8\x8f！\r\n"
	    "番号は1\xef\xb8\x8f\xe2\x83\xa3です。「はい。」と言って "
	    "ok? \xf0\x9f\x98\x80\xf0\x9f\x98\x80 end.";
	static const char *const glued[] = {
		"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",
		"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
		    "\xf0\x9f\x91\xa7",
		"\xe2\x9d\xa4\xef\xb8\x8f", "1\xef\xb8\x8f\xe2\x83\xa3", "\r\n",
		"。」",
	};
	struct outbox_piece p[PIECES];
	int sound = 1, whole = 1;

	for (size_t limit = 8; limit <= 24; limit++) {
		size_t n = outbox_split(text, strlen(text), limit, p, PIECES);
		char what[32];

		snprintf(what, sizeof(what), "limit %zu", limit);
		if (n == 0 || !pieces_sound(text, strlen(text), limit, p, n,
		    what))
			sound = 0;
		for (size_t g = 0; g < sizeof(glued) / sizeof(glued[0]); g++)
			if (!kept_whole(text, glued[g], p, n)) {
				printf("#   (at limit %zu)\n", limit);
				whole = 0;
			}
	}
	ok(sound, "limits 8..24: sound pieces every time");
	ok(whole, "limits 8..24: no glued sequence split apart");
}

/* 12,000 characters of Japanese at LINE's real limit. */
static void
test_split_realistic(void)
{
	/* 30 characters, ending a sentence. */
	static const char sentence[] =
	    "今日は相談してくれてありがとうございます。また話しましょう。";
	struct outbox_piece p[PIECES];
	size_t slen = strlen(sentence), su = u16_units(sentence, slen);
	size_t reps = 12000 / su, len = slen * reps, n;
	char *text = malloc(len + 1);
	int at_sentence = 1;

	is_int(su, 30, "(the sentence is 30 characters)");
	if (text == NULL)
		return;
	for (size_t i = 0; i < reps; i++)
		memcpy(text + i * slen, sentence, slen);
	text[len] = '\0';
	is_int(u16_units(text, len), 12000, "(12,000 characters)");
	n = outbox_split(text, len, OUTBOX_TEXT_MAX_UNITS, p, OUTBOX_PIECES_MAX);
	is_int(n, 3, "12,000 characters at 5,000 units: 3 pieces");
	ok(n > 0 && pieces_sound(text, len, OUTBOX_TEXT_MAX_UNITS, p, n,
	    "realistic"), "each at most 5,000 units, joined they are the text");
	for (size_t i = 0; i + 1 < n; i++) {
		static const char maru[] = "。";

		if (p[i].len < 3 || memcmp(p[i].text + p[i].len - 3, maru, 3) != 0)
			at_sentence = 0;
	}
	ok(n == 3 && at_sentence, "cut at sentence ends");
	ok(n == 3 && u16_units(p[0].text, p[0].len) == 4980 &&
	    u16_units(p[1].text, p[1].len) == 4980 &&
	    u16_units(p[2].text, p[2].len) == 2040,
	    "at the last sentence end that fits: 4980, 4980, 2040 units");
	free(text);
}

/* ---- outbox_verdict ---- */

static void
test_verdict(void)
{
	static const struct {
		bool reply; long status; const char *msg;
		enum outbox_verdict want;
	} cases[] = {
		{ true, 200, NULL, OUTBOX_SENT },
		{ false, 200, NULL, OUTBOX_SENT },
		{ false, 409, "The retry key is already accepted", OUTBOX_SENT },
		{ true, 400, "Invalid reply token", OUTBOX_PUSH_NOW },
		{ false, 400, "Invalid reply token", OUTBOX_FAILED },
		{ true, 400, "The request body has 1 error(s)", OUTBOX_FAILED },
		{ false, 400, "The request body has 1 error(s)", OUTBOX_FAILED },
		{ true, 400, NULL, OUTBOX_FAILED },
		{ false, 429, "You have reached your monthly limit.", OUTBOX_RETRY },
		{ true, 429, NULL, OUTBOX_RETRY },
		{ false, 500, NULL, OUTBOX_RETRY },
		{ false, 502, NULL, OUTBOX_RETRY },
		{ true, 503, NULL, OUTBOX_RETRY },
		{ false, 0, NULL, OUTBOX_RETRY },
		{ true, 0, NULL, OUTBOX_RETRY },
		{ false, 401, "Authentication failed", OUTBOX_RETRY },
		{ false, 404, "Not found", OUTBOX_UNDELIVERABLE },
		{ false, 403, "Access to this API is not available", OUTBOX_FAILED },
		{ false, 413, NULL, OUTBOX_FAILED },
		{ true, 413, NULL, OUTBOX_FAILED },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(outbox_verdict(cases[i].reply, cases[i].status,
		    cases[i].msg), cases[i].want, "%s %ld \"%s\"",
		    cases[i].reply ? "reply" : "push", cases[i].status,
		    cases[i].msg ? cases[i].msg : "");
}

/* ---- outbox_backoff_ms ---- */

static void
test_backoff(void)
{
	static const uint32_t randoms[] = { 0, 1, 2, 999, 1000, 1001, 123456789,
	    0x7fffffff, 0x80000000u, UINT32_MAX };
	const int64_t min = 1000, max = 60000;
	int within = 1, doubles = 1, capped = 1;

	is_int(outbox_backoff_ms(1, min, max, 0), 500, "attempt 1, random 0: min/2");
	is_int(outbox_backoff_ms(1, min, max, 500), 1000,
	    "attempt 1, random 500: min");
	ok(outbox_backoff_ms(1, min, max, UINT32_MAX) >= 500 &&
	    outbox_backoff_ms(1, min, max, UINT32_MAX) <= 1000,
	    "attempt 1, random UINT32_MAX: within [min/2, min]");
	for (int a = 1; a <= 12; a++) {
		int64_t d = min << (a - 1);

		if (d > max)
			d = max;
		if (outbox_backoff_ms(a, min, max, 0) != d / 2) {
			printf("#   attempt %d, random 0: %lld, want %lld\n", a,
			    (long long)outbox_backoff_ms(a, min, max, 0),
			    (long long)(d / 2));
			doubles = 0;
		}
		for (size_t r = 0; r < sizeof(randoms) / sizeof(randoms[0]); r++) {
			int64_t w = outbox_backoff_ms(a, min, max, randoms[r]);

			if (w < d / 2 || w > d) {
				printf("#   attempt %d, random %u: %lld not in "
				    "[%lld, %lld]\n", a, randoms[r], (long long)w,
				    (long long)(d / 2), (long long)d);
				within = 0;
			}
			if (w > max)
				capped = 0;
		}
	}
	ok(doubles, "the lower bound doubles each attempt up to max/2");
	ok(within, "every wait within [d/2, d], d = min * 2^(attempts-1) "
	    "capped at max");
	ok(capped, "never above max");
	is_int(outbox_backoff_ms(2, min, max, 0), 1000, "attempt 2: from 1000");
	is_int(outbox_backoff_ms(3, min, max, 0), 2000, "attempt 3: from 2000");
	is_int(outbox_backoff_ms(7, min, max, 0), 30000, "attempt 7: max/2");

	for (int i = 0; i < 2; i++) {
		int a = i == 0 ? 100 : INT_MAX;
		int64_t lo = outbox_backoff_ms(a, min, max, 0);
		int64_t hi = outbox_backoff_ms(a, min, max, UINT32_MAX);

		ok(lo == max / 2 && hi >= max / 2 && hi <= max,
		    "attempt %d: within [max/2, max], no overflow", a);
	}
	ok(outbox_backoff_ms(62, 1000, INT64_MAX / 4, UINT32_MAX) > 0 &&
	    outbox_backoff_ms(62, 1000, INT64_MAX / 4, UINT32_MAX) <=
	    INT64_MAX / 4, "a huge max: no overflow either");
	ok(outbox_backoff_ms(0, min, max, 0) >= 0 &&
	    outbox_backoff_ms(0, min, max, UINT32_MAX) <= min,
	    "attempt 0 is treated as attempt 1");
}

int
main(void)
{
	test_split_basics();
	test_split_where();
	test_split_at_limit();
	test_split_glued();
	test_split_sweep();
	test_split_realistic();
	test_verdict();
	test_backoff();
	return done_testing();
}
