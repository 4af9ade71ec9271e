/*
 * Webhook signatures: x-line-signature is
 * base64(HMAC-SHA256(key = channel secret, data = raw body bytes)).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "linesim.h"

/* out receives the 44-character padded base64 text and a NUL. */
void
sign_body(const char *secret, const char *body, size_t len, char out[45])
{
	unsigned char	mac[EVP_MAX_MD_SIZE];
	unsigned int	maclen = 0;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)body, len, mac, &maclen) == NULL ||
	    maclen != 32) {
		sim_log("HMAC-SHA256 failed");
		abort();
	}
	EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
	explicit_bzero(mac, sizeof(mac));
}
