/*
 * mail.c - a plain-text e-mail as RFC 5322 text: encoded-word headers and a
 * base64 body, so nothing depends on a relay passing 8-bit text.
 */
#include "mail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* 39 bytes become 52 base64 characters: with "Subject: " and the word's
 * own 12, a line stays within 78. */
#define MAIL_WORD_BYTES	39
#define MAIL_LINE_BYTES	57	/* base64 body lines of 76 characters */

bool
mail_address_valid(const char *addr)
{
	const char *at = addr != NULL ? strchr(addr, '@') : NULL;
	size_t len = addr != NULL ? strlen(addr) : 0;

	if (at == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || len > MAIL_ADDRESS_MAX ||
	    strchr(at + 1, '.') == NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("<>()[],;:\\\"", *p))
			return false;
	return true;
}

static void
base64_add(struct evbuffer *out, const unsigned char *in, size_t len)
{
	unsigned char enc[4 * ((MAIL_LINE_BYTES + 2) / 3) + 1];

	EVP_EncodeBlock(enc, in, (int)len);
	evbuffer_add(out, enc, strlen((char *)enc));
}

/* Bytes of s to take, at most max, never ending inside a character. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n > 0 ? n : (len < max ? len : max);	/* not UTF-8: cut anyway */
}

/* One header's UTF-8 text as encoded words, folded between them. */
static void
encoded_words_add(struct evbuffer *out, const char *s)
{
	size_t len = strlen(s), n;

	for (bool first = true; first || len > 0; first = false) {
		n = utf8_cut(s, len, MAIL_WORD_BYTES);
		if (!first)
			evbuffer_add(out, "\r\n ", 3);
		evbuffer_add(out, "=?UTF-8?B?", 10);
		base64_add(out, (const unsigned char *)s, n);
		evbuffer_add(out, "?=", 2);
		s += n;
		len -= n;
	}
}

/* The body with CRLF line ends, then base64 in lines of 76. */
static bool
body_add(struct evbuffer *out, const char *body)
{
	struct evbuffer *crlf = evbuffer_new();
	unsigned char chunk[MAIL_LINE_BYTES];
	size_t n;

	if (crlf == NULL)
		return false;
	for (const char *p = body; *p; p++) {
		if (*p == '\n' && (p == body || p[-1] != '\r'))
			evbuffer_add(crlf, "\r", 1);
		evbuffer_add(crlf, p, 1);
	}
	while ((n = evbuffer_remove(crlf, chunk, sizeof(chunk))) > 0) {
		base64_add(out, chunk, n);
		evbuffer_add(out, "\r\n", 2);
	}
	evbuffer_free(crlf);
	return true;
}

/* RFC 5322 date in English whatever the locale: "Sun, 06 Dec 2026 ...". */
static void
date_add(struct evbuffer *out, int64_t us)
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	evbuffer_add_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d "
	    "+0000\r\n", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
message_id_add(struct evbuffer *out, const char *from)
{
	unsigned char id[16];

	if (RAND_bytes(id, sizeof(id)) != 1)
		return;		/* optional: the relay adds one */
	evbuffer_add(out, "Message-ID: <", 13);
	for (size_t i = 0; i < sizeof(id); i++)
		evbuffer_add_printf(out, "%02x", id[i]);
	evbuffer_add_printf(out, "%s>\r\n", strchr(from, '@'));
}

static bool
headers_add(struct evbuffer *out, const struct mail_message *m)
{
	if (!mail_address_valid(m->from) || m->n_to == 0)
		return false;
	date_add(out, m->date_us);
	evbuffer_add(out, "From: ", 6);
	if (m->from_name != NULL && m->from_name[0] != '\0') {
		encoded_words_add(out, m->from_name);
		evbuffer_add(out, "\r\n ", 3);	/* folded: any name fits */
	}
	evbuffer_add_printf(out, "<%s>\r\nTo: ", m->from);
	for (size_t i = 0; i < m->n_to; i++) {
		if (!mail_address_valid(m->to[i]))
			return false;
		evbuffer_add_printf(out, "%s%s", i > 0 ? ",\r\n " : "",
		    m->to[i]);
	}
	evbuffer_add(out, "\r\nSubject: ", 11);
	encoded_words_add(out, m->subject);
	evbuffer_add(out, "\r\n", 2);
	message_id_add(out, m->from);
	evbuffer_add_printf(out, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	return true;
}

char *
mail_compose(const struct mail_message *m, size_t *len)
{
	struct evbuffer *out = evbuffer_new();
	char *text = NULL;

	if (out != NULL && headers_add(out, m) && body_add(out, m->body) &&
	    (text = malloc(evbuffer_get_length(out) + 1)) != NULL) {
		*len = evbuffer_get_length(out);
		evbuffer_remove(out, text, *len);
		text[*len] = '\0';
	}
	if (out != NULL)
		evbuffer_free(out);
	return text;
}
