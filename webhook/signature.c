/*
 * signature.c - LINE's x-line-signature: base64(HMAC-SHA256(channel secret,
 * the raw body bytes)).
 */
#include "webhook.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void
line_signature_compute(const char *secret, size_t secret_len, const void *body,
    size_t len, char out[45])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (HMAC(EVP_sha256(), secret, (int)secret_len, body, len, mac,
	    &maclen) == NULL || maclen != 32) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, mac, 32);	/* 44 chars + NUL */
	OPENSSL_cleanse(mac, sizeof(mac));
}

bool
line_signature_valid(const char *secret, size_t secret_len, const void *body,
    size_t len, const char *header)
{
	char expected[45];
	bool ok;

	if (header == NULL || strlen(header) != 44)
		return false;
	line_signature_compute(secret, secret_len, body, len, expected);
	ok = expected[0] != '\0' && CRYPTO_memcmp(expected, header, 44) == 0;
	OPENSSL_cleanse(expected, sizeof(expected));
	return ok;
}
