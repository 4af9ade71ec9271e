/*
 * Secret tokens: the text form round-trips, anything but exactly 43
 * base64url characters is refused, the stored hash is SHA-256 in hex, and
 * a token is found in a cookie header among others, and only by its name.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "secret_token.h"
#include "tap.h"

static void
test_text(void)
{
	uint8_t t[SECRET_TOKEN_BYTES], back[SECRET_TOKEN_BYTES];
	char text[SECRET_TOKEN_CHARS + 1];
	bool same = true;

	for (int round = 0; round < 200; round++) {
		if (!secret_token_new(t))
			same = false;
		secret_token_text(t, text);
		if (strlen(text) != SECRET_TOKEN_CHARS ||
		    strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789-_") != SECRET_TOKEN_CHARS ||
		    !secret_token_parse(text, strlen(text), back) ||
		    memcmp(t, back, sizeof(t)) != 0)
			same = false;
		if (!same)
			break;
	}
	ok(same, "200 random tokens: 43 base64url characters, read back the same");
	ok(!secret_token_parse(text, 42, back), "one character short: refused");
	text[10] = '+';
	ok(!secret_token_parse(text, 43, back), "a '+' (plain base64): refused");
	text[10] = '=';
	ok(!secret_token_parse(text, 43, back), "padding inside: refused");
}

static void
test_hash(void)
{
	uint8_t zero[SECRET_TOKEN_BYTES] = { 0 };
	char hex[65];

	secret_token_hash_hex(zero, hex);
	is_str(hex, "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925",
	    "the hash of 32 zero bytes is their SHA-256");
}

static void
test_cookie(void)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);
	uint8_t t[SECRET_TOKEN_BYTES] = { 1, 2, 3 }, back[SECRET_TOKEN_BYTES];
	char text[SECRET_TOKEN_CHARS + 1], header[200];

	secret_token_text(t, text);
	snprintf(header, sizeof(header), "a=b; madoguchi_chat=%s; c=d", text);
	evhttp_add_header(evhttp_request_get_input_headers(req), "Cookie", header);
	ok(secret_token_from_cookie(req, "madoguchi_chat", back) &&
	    memcmp(t, back, sizeof(t)) == 0, "found among other cookies");
	ok(!secret_token_from_cookie(req, "madoguchi_session", back),
	    "not under another name");
	ok(!secret_token_from_cookie(req, "madoguchi", back),
	    "nor under a prefix of its name");
	evhttp_request_free(req);
}

int
main(void)
{
	test_text();
	test_hash();
	test_cookie();
	return done_testing();
}
