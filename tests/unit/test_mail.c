/*
 * E-mail composition: plain addresses only, CRLF lines of at most 78
 * characters, a Japanese subject split into encoded words that each decode
 * to whole characters, the body back intact from its base64, and a date in
 * English whatever the locale.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdbool.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "mail.h"
#include "tap.h"

static const char *to[] = { "oncall@desk.example.jp", "chief@desk.example.jp" };
static const char subject[] = "【緊急】こども・若者LINE相談窓口: 命の危険を示す"
    "メッセージが届きました（相談 No.000042、2回目の通知）";
static const char body[] = "相談 No.000042 で命の危険を示すメッセージが"
    "届きました。\nコンソールで確認し、対応してください。\n";

/* base64 text of len characters, decoded into out; its length or -1. */
static int
unbase64(const char *in, size_t len, unsigned char *out)
{
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);

	if (n < 0)
		return -1;
	while (len > 0 && in[len - 1] == '=') {
		len--;
		n--;
	}
	return n;
}

static bool
utf8_whole(const unsigned char *s, int n)
{
	return n > 0 && (s[0] & 0xc0) != 0x80 &&
	    ((s[n - 1] & 0x80) == 0 || (s[n - 1] & 0xc0) == 0x80);
}

/* The subject header's encoded words, decoded and joined. */
static bool
subject_decoded(const char *msg, char *out, size_t cap, bool *whole)
{
	const char *p = strstr(msg, "\r\nSubject: "), *end;
	size_t used = 0;
	unsigned char buf[256];
	int n;

	*whole = true;
	if (p == NULL)
		return false;
	/* Folded lines start with a space: the header ends at the first
	 * line break not followed by one. */
	for (end = p + 2; (end = strstr(end, "\r\n")) != NULL &&
	    end[2] == ' '; end += 2)
		;
	if (end == NULL)
		return false;
	while ((p = strstr(p, "=?UTF-8?B?")) != NULL && p < end) {
		const char *q = strstr(p + 10, "?=");

		if (q == NULL || (n = unbase64(p + 10, q - p - 10, buf)) < 0 ||
		    used + n >= cap)
			return false;
		*whole = *whole && utf8_whole(buf, n);
		memcpy(out + used, buf, n);
		used += n;
		p = q + 2;
	}
	out[used] = '\0';
	return true;
}

static bool
lines_ok(const char *msg, size_t len)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			return false;
		col = msg[i] == '\n' ? 0 : col + 1;
		if (col > 79)	/* 78 characters and the CR */
			return false;
	}
	return true;
}

static void
test_addresses(void)
{
	ok(mail_address_valid("oncall@desk.example.jp"), "a plain address");
	ok(!mail_address_valid("oncall@desk"), "a domain needs a dot");
	ok(!mail_address_valid("@desk.example.jp"), "a local part is needed");
	ok(!mail_address_valid("a@b@example.jp"), "one @");
	ok(!mail_address_valid("Sato <sato@example.jp>"), "no display name");
	ok(!mail_address_valid("sato@example.jp\r\nRCPT TO:<x@evil.example>"),
	    "no line break (no command smuggled into the session)");
	ok(!mail_address_valid("佐藤@example.jp"), "ASCII only");
	ok(!mail_address_valid(NULL), "NULL");
}

static void
test_compose(void)
{
	struct mail_message m = { .from = "madoguchi@desk.example.jp",
	    .from_name = "相談窓口", .to = to, .n_to = 2, .subject = subject,
	    .body = body, .date_us = 1795132800LL * 1000000 };
	char got[512], *msg, *p;
	unsigned char dec[1024];
	size_t len, used = 0;
	bool whole;
	int n;

	msg = mail_compose(&m, &len);
	ok(msg != NULL && strlen(msg) == len, "composed");
	if (msg == NULL)
		return;
	ok(lines_ok(msg, len), "CRLF lines of at most 78 characters");
	ok(strstr(msg, "Date: Fri, 20 Nov 2026 00:00:00 +0000\r\n") != NULL,
	    "the date in English, UTC");
	ok(strstr(msg, "To: oncall@desk.example.jp,\r\n chief@desk.example.jp\r\n")
	    != NULL, "both recipients");
	ok(strstr(msg, "<madoguchi@desk.example.jp>\r\n") != NULL, "the sender");
	ok(strstr(msg, "Message-ID: <") != NULL && strstr(msg,
	    "@desk.example.jp>\r\n") != NULL, "a message id in the sender's domain");
	ok(strstr(msg, "Content-Type: text/plain; charset=UTF-8\r\n") != NULL,
	    "plain text, UTF-8");
	ok(subject_decoded(msg, got, sizeof(got), &whole), "the subject decodes");
	is_str(got, subject, "to what was given");
	ok(whole, "each encoded word holds whole characters");
	ok(memmem(msg, len, "緊急", strlen("緊急")) == NULL,
	    "no raw 8-bit text in the headers or body");
	p = strstr(msg, "\r\n\r\n");
	for (p = p + 4; *p; p = strstr(p, "\r\n") + 2) {
		n = unbase64(p, strstr(p, "\r\n") - p, dec + used);
		if (n < 0)
			break;
		used += n;
	}
	dec[used] = '\0';
	is_str((char *)dec, "相談 No.000042 で命の危険を示すメッセージが"
	    "届きました。\r\nコンソールで確認し、対応してください。\r\n",
	    "the body back from base64, with CRLF line ends");
	free(msg);

	m.to = (const char *[]){ "x@example.jp\r\nBcc: y@example.jp" };
	m.n_to = 1;
	ok(mail_compose(&m, &len) == NULL, "a recipient with a line break is refused");
	m.to = to;
	m.from = "nobody";
	ok(mail_compose(&m, &len) == NULL, "so is a sender that is no address");
}

int
main(void)
{
	test_addresses();
	test_compose();
	return done_testing();
}
