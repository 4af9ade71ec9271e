/*
 * The terminal console's layout logic: UTF-8 made safe to show (controls,
 * escape sequences, bidi overrides and broken bytes become U+FFFD),
 * display widths with Japanese, wrapping that never splits a character,
 * countdowns and times in Asia/Tokyo, and the editable line.
 */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "tap.h"
#include "term_internal.h"

/* Decodes s (single line unless multiline) into a static buffer. */
static const wchar_t *
dec(const char *s, bool multiline, size_t *n)
{
	static wchar_t buf[256];

	*n = term_text_decode(s, strlen(s), multiline, buf, 255);
	buf[*n] = 0;
	return buf;
}

static bool
has_control(const wchar_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i] < 0x20 || (w[i] >= 0x7f && w[i] < 0xa0) ||
		    (w[i] >= 0x202a && w[i] <= 0x202e) ||
		    (w[i] >= 0x2066 && w[i] <= 0x2069))
			return true;
	return false;
}

static void
test_decode(void)
{
	size_t n;
	const wchar_t *w;

	w = dec("こんにちは", false, &n);
	ok(n == 5 && wcscmp(w, L"こんにちは") == 0, "Japanese decodes whole");
	w = dec("\x1b]0;pwned\x07\x1b[2Jok", false, &n);
	ok(!has_control(w, n), "escape sequences lose their controls");
	ok(w[0] == TERM_PLACEHOLDER && wcscmp(w + 1, L"]0;pwned\xfffd\xfffd[2Jok")
	    == 0, "each control shows as U+FFFD, the rest as text");
	w = dec("a\xc2\x9b" "31mb", false, &n);
	ok(w[1] == TERM_PLACEHOLDER && n == 6, "a C1 CSI too");
	w = dec("abc\xe2\x80\xae" "def\xe2\x81\xa6x", false, &n);
	ok(!has_control(w, n) && w[3] == TERM_PLACEHOLDER &&
	    w[7] == TERM_PLACEHOLDER, "bidi override and isolate replaced");
	w = dec("\xff\xfe" "a\xc0\xaf" "b\xed\xa0\x80" "c\xe3\x81", false, &n);
	ok(wcscmp(w, L"\xfffd\xfffd" L"a\xfffd\xfffd" L"b\xfffd\xfffd\xfffd"
	    L"c\xfffd\xfffd") == 0, "invalid, overlong, surrogate and cut "
	    "UTF-8 replaced byte by byte");
	w = dec("a\nb\r\nc\rd\te", true, &n);
	ok(wcscmp(w, L"a\nb\nc\nd e") == 0, "line breaks kept (CRLF, CR), a "
	    "tab is a space");
	w = dec("a\nb", false, &n);
	ok(wcscmp(w, L"a b") == 0, "one line: a break is a space");
	w = dec("e\xcc\x81" "x\xe2\x80\x8b" "y", false, &n);
	ok(wcscmp(w, L"exy") == 0, "zero-width characters dropped");
	ok(term_text_typable(L'あ') && term_text_typable(L'a') &&
	    !term_text_typable(27) && !term_text_typable(0x202e) &&
	    !term_text_typable(0x7f), "what may be typed");
}

static void
test_width(void)
{
	size_t n;
	const wchar_t *w = dec("aあ🙏", false, &n);

	is_int(term_text_width(w, n), 5, "ASCII 1, kana 2, emoji 2");
	is_int(term_text_fit(w, n, 2), 1, "a double-width character that "
	    "does not fit is left out");
	is_int(term_text_fit(w, n, 3), 2, "and fits when there is room");
	w = dec("ab\ncd", true, &n);
	is_int(term_text_fit(w, n, 10), 2, "fitting stops at a line break");
}

/* Every line of a wrap fits, and together they give back the text. */
static bool
wrap_sound(const wchar_t *w, size_t n, int width, size_t *count)
{
	struct term_line lines[64];
	size_t k = term_text_wrap(w, n, width, lines, 64), total = 0;

	*count = k;
	for (size_t i = 0; i < k; i++) {
		if (lines[i].width > width || lines[i].width !=
		    term_text_width(w + lines[i].start, lines[i].len))
			return false;
		total += lines[i].len;
	}
	return k <= 64 && total <= n;
}

static void
test_wrap(void)
{
	struct term_line l[16];
	size_t n, k = 0;
	const wchar_t *w = dec("あいうえおかきくけこ", false, &n);
	bool sound = wrap_sound(w, n, 7, &k);

	ok(sound && k == 4, "10 kana at 7 columns: 3 a line (%zu lines)", k);
	term_text_wrap(w, n, 7, l, 16);
	ok(l[0].len == 3 && l[0].width == 6 && l[1].start == 3,
	    "the fourth kana goes to the next line, not split at the edge");
	w = dec("aあ", false, &n);
	term_text_wrap(w, n, 2, l, 16);
	ok(l[0].len == 1 && l[1].len == 1 && l[1].width == 2,
	    "a double-width character in the last column moves down");
	w = dec("one\n\nthree", true, &n);
	k = term_text_wrap(w, n, 20, l, 16);
	ok(k == 3 && l[1].len == 0 && l[2].len == 5, "line breaks make lines, "
	    "empty ones too");
	w = dec("hello wonderful world", false, &n);
	k = term_text_wrap(w, n, 12, l, 16);
	ok(k == 3 && l[0].len == 6 && l[1].start == 6 && l[2].start == 16,
	    "Latin words move whole, after their space (%zu lines)", k);
	w = dec("", false, &n);
	is_int(term_text_wrap(w, n, 10, l, 16), 1, "empty text: one line");
	is_int(term_text_wrap(w, 0, 10, NULL, 0), 1, "counting without room");
	w = dec("今から死にます。もう無理です。誰にも言えなかったことを書きます。",
	    false, &n);
	for (int width = 2; width < 40; width++) {
		if (!wrap_sound(w, n, width, &k)) {
			ok(0, "a long Japanese text wraps soundly at %d", width);
			return;
		}
	}
	ok(1, "a long Japanese text wraps soundly at every width 2 to 39");
}

static void
test_countdown(void)
{
	char b[64];

	term_text_countdown(b, sizeof(b), 12 * 60 + 30, false);
	is_str(b, "残り 12分", "12 minutes left");
	term_text_countdown(b, sizeof(b), -(5 * 60 + 1), false);
	is_str(b, "超過 5分", "5 minutes over");
	term_text_countdown(b, sizeof(b), 45, false);
	is_str(b, "残り 45秒", "seconds in the last minute");
	term_text_countdown(b, sizeof(b), 3 * 3600 + 7 * 60, false);
	is_str(b, "残り 3時間7分", "hours");
	term_text_countdown(b, sizeof(b), 29 * 3600, false);
	is_str(b, "残り 1日5時間", "days");
	term_text_countdown(b, sizeof(b), -90 * 60, true);
	is_str(b, "1h30m over", "English");
}

static void
test_time(void)
{
	int64_t ms = 0;
	char b[32];

	ok(term_text_parse_time("2026-11-23T10:15:00.250Z", &ms) &&
	    ms == 1795428900250LL, "an API time");
	ok(!term_text_parse_time("2026-11-23 10:15", &ms) &&
	    !term_text_parse_time(NULL, &ms), "not one: refused");
	term_text_parse_time("2026-11-23T15:30:05Z", &ms);
	term_text_jst(b, sizeof(b), ms, TERM_JST_STAMP);
	is_str(b, "11/24 00:30", "shown in Asia/Tokyo, the next day");
	term_text_jst(b, sizeof(b), ms, TERM_JST_TIME);
	is_str(b, "00:30:05", "the clock");
	term_text_jst(b, sizeof(b), ms, TERM_JST_WDAY);
	is_str(b, "2", "a Tuesday there");
}

static void
test_edit(void)
{
	struct term_edit e = { 0 };
	char *s;

	for (const wchar_t *p = L"あいう"; *p; p++)
		term_edit_insert(&e, *p);
	term_edit_move(&e, -1);
	term_edit_backspace(&e);
	s = term_edit_utf8(&e, false);
	is_str(s, "あう", "Backspace removes one character before the cursor");
	free(s);
	term_edit_insert(&e, L'\n');
	term_edit_home(&e);
	is_int(e.cur, 2, "Home: the start of the cursor's line");
	term_edit_move(&e, -10);
	term_edit_delete(&e);
	term_edit_end(&e);
	is_int(e.cur, 0, "End: the end of the (empty) line");
	term_edit_insert(&e, L' ');
	s = term_edit_utf8(&e, true);
	is_str(s, "う", "trimmed of blanks around");
	free(s);
	ok(!term_edit_blank(&e), "not blank");
	term_edit_clear(&e);
	ok(e.buf == NULL && e.len == 0 && term_edit_blank(&e), "cleared");
	for (int i = 0; i < 1000; i++)
		term_edit_insert(&e, L'x');
	is_int(e.len, 1000, "grows");
	term_edit_clear(&e);
}

int
main(void)
{
	if (setlocale(LC_ALL, "C.UTF-8") == NULL) {
		printf("1..0 # SKIP no C.UTF-8 locale\n");
		return 0;
	}
	test_decode();
	test_width();
	test_wrap();
	test_countdown();
	test_time();
	test_edit();
	return done_testing();
}
