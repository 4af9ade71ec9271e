/*
 * secret_token.c - random tokens, their text form, their stored hash, and
 * reading one back from a cookie.
 */
#include "secret_token.h"

#include <string.h>

#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

bool
secret_token_new(uint8_t token[SECRET_TOKEN_BYTES])
{
	return RAND_bytes(token, SECRET_TOKEN_BYTES) == 1;
}

void
secret_token_text(const uint8_t token[SECRET_TOKEN_BYTES],
    char out[SECRET_TOKEN_CHARS + 1])
{
	char std[48];

	EVP_EncodeBlock((unsigned char *)std, token, SECRET_TOKEN_BYTES);
	for (int i = 0; i < SECRET_TOKEN_CHARS; i++)
		out[i] = std[i] == '+' ? '-' : std[i] == '/' ? '_' : std[i];
	out[SECRET_TOKEN_CHARS] = '\0';
	OPENSSL_cleanse(std, sizeof(std));
}

bool
secret_token_parse(const char *in, size_t n, uint8_t token[SECRET_TOKEN_BYTES])
{
	char std[SECRET_TOKEN_CHARS + 2];
	unsigned char buf[36];

	if (n != SECRET_TOKEN_CHARS)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
		std[i] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
	}
	std[SECRET_TOKEN_CHARS] = '=';
	std[SECRET_TOKEN_CHARS + 1] = '\0';
	/* 44 characters decode to 33 bytes, the last one padding. */
	if (EVP_DecodeBlock(buf, (unsigned char *)std, 44) != 33)
		return false;
	memcpy(token, buf, SECRET_TOKEN_BYTES);
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(std, sizeof(std));
	return true;
}

void
secret_token_hash_hex(const uint8_t token[SECRET_TOKEN_BYTES], char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t digest[32];
	unsigned int len = 0;

	EVP_Digest(token, SECRET_TOKEN_BYTES, digest, &len, EVP_sha256(), NULL);
	for (size_t i = 0; i < sizeof(digest); i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[64] = '\0';
}

bool
secret_token_from_cookie(struct evhttp_request *req, const char *name,
    uint8_t token[SECRET_TOKEN_BYTES])
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Cookie");
	const size_t namelen = strlen(name);

	while (h != NULL && *h != '\0') {
		const char *end;

		while (*h == ' ' || *h == ';')
			h++;
		end = strchr(h, ';');
		if (end == NULL)
			end = h + strlen(h);
		if ((size_t)(end - h) > namelen && h[namelen] == '=' &&
		    strncmp(h, name, namelen) == 0)
			return secret_token_parse(h + namelen + 1,
			    (size_t)(end - h) - namelen - 1, token);
		h = end;
	}
	return false;
}
