/*
 * totp.c - TOTP codes through liboath; our own loop over the window so that
 * every candidate is compared with CRYPTO_memcmp (liboath's validate
 * functions compare with strcmp) and a replayed step can be told apart.
 */
#include "totp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

/* Far enough from INT64_MAX that step arithmetic cannot overflow. */
#define TOTP_MAX_NOW	((int64_t)1 << 48)

static pthread_once_t	totp_once = PTHREAD_ONCE_INIT;
static bool		totp_ready;

static void
totp_init_once(void)
{
	totp_ready = oath_init() == OATH_OK;
}

/* liboath wants oath_init before use; it is process-wide, so once. */
static bool
totp_init(void)
{
	pthread_once(&totp_once, totp_init_once);
	return totp_ready;
}

bool
totp_secret_new(unsigned char secret[TOTP_SECRET_BYTES])
{
	return RAND_bytes(secret, TOTP_SECRET_BYTES) == 1;
}

char *
totp_secret_base32(const unsigned char *secret, size_t len)
{
	char *out = NULL, *pad;
	size_t outlen;

	if (secret == NULL || len == 0 || !totp_init())
		return NULL;
	if (oath_base32_encode((const char *)secret, len, &out, &outlen) !=
	    OATH_OK)
		return NULL;
	if ((pad = strchr(out, '=')) != NULL)
		*pad = '\0';
	return out;
}

/* s percent-encoded (RFC 3986: all but the unreserved characters), malloc'd. */
static char *
totp_percent_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(s), at = 0;
	char *out;

	if ((out = malloc(3 * len + 1)) == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			out[at++] = (char)*p;
		} else {
			out[at++] = '%';
			out[at++] = hex[*p >> 4];
			out[at++] = hex[*p & 0x0f];
		}
	}
	out[at] = '\0';
	return out;
}

char *
totp_uri(const unsigned char *secret, size_t len, const char *issuer,
    const char *account)
{
	static const char fmt[] = "otpauth://totp/%s:%s?secret=%s&issuer=%s"
	    "&algorithm=SHA1&digits=6&period=30";
	char *b32 = NULL, *iss = NULL, *acc = NULL, *uri = NULL;
	int n;

	if (issuer == NULL || account == NULL || issuer[0] == '\0' ||
	    account[0] == '\0')
		return NULL;
	if ((b32 = totp_secret_base32(secret, len)) == NULL ||
	    (iss = totp_percent_encode(issuer)) == NULL ||
	    (acc = totp_percent_encode(account)) == NULL)
		goto done;
	n = snprintf(NULL, 0, fmt, iss, acc, b32, iss);
	if (n > 0 && (uri = malloc((size_t)n + 1)) != NULL)
		snprintf(uri, (size_t)n + 1, fmt, iss, acc, b32, iss);
done:
	/* The base32 secret is as good as the secret. */
	if (b32 != NULL)
		OPENSSL_cleanse(b32, strlen(b32));
	free(b32);
	free(iss);
	free(acc);
	return uri;
}

static bool
totp_code_wellformed(const char *code)
{
	if (code == NULL)
		return false;
	for (int i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return code[TOTP_DIGITS] == '\0';
}

int64_t
totp_verify(const unsigned char *secret, size_t len, const char *code,
    int64_t now, int window, int64_t last_step)
{
	char want[TOTP_DIGITS + 1];
	int64_t step, matched = -1;

	if (secret == NULL || len == 0 || !totp_code_wellformed(code) ||
	    now < 0 || now > TOTP_MAX_NOW || window < 0 ||
	    window > TOTP_MAX_WINDOW || !totp_init())
		return -1;
	/*
	 * No early exit: every step in the window is generated and compared,
	 * so the time taken says nothing about which step or digit matched.
	 */
	for (step = now / TOTP_STEP_SECONDS - window;
	    step <= now / TOTP_STEP_SECONDS + window; step++) {
		if (step < 0)
			continue;
		if (oath_totp_generate2((const char *)secret, len,
		    (time_t)(step * TOTP_STEP_SECONDS), TOTP_STEP_SECONDS, 0,
		    TOTP_DIGITS, 0, want) != OATH_OK) {
			matched = -1;
			break;
		}
		if (CRYPTO_memcmp(want, code, TOTP_DIGITS) == 0 &&
		    step > last_step)
			matched = step;
	}
	OPENSSL_cleanse(want, sizeof(want));
	return matched;
}
