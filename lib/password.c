/*
 * password.c - Argon2id through libargon2, randomness from OpenSSL, and the
 * UTF-8 checks of the password policy.
 */
#include "password.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

/* OWASP's Argon2id recommendation (2023): 19 MiB, two passes, one lane. */
#define PASSWORD_M_COST		19456
#define PASSWORD_T_COST		2
#define PASSWORD_LANES		1
#define PASSWORD_SALT_LEN	16
#define PASSWORD_HASH_LEN	32

/* Bounds on what a stored hash may ask of password_verify. */
#define PASSWORD_MAX_M_COST	262144	/* 256 MiB */
#define PASSWORD_MAX_T_COST	16
#define PASSWORD_MAX_LANES	16
#define PASSWORD_MAX_ENCODED	512

#define PASSWORD_GEN_CHARS	16
#define PASSWORD_GEN_GROUP	4

static const char password_alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";

char *
password_hash(const char *password)
{
	uint8_t salt[PASSWORD_SALT_LEN];
	size_t len;
	char *encoded;

	if (password == NULL)
		return NULL;
	len = argon2_encodedlen(PASSWORD_T_COST, PASSWORD_M_COST,
	    PASSWORD_LANES, PASSWORD_SALT_LEN, PASSWORD_HASH_LEN, Argon2_id);
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    (encoded = malloc(len)) == NULL)
		return NULL;
	if (argon2id_hash_encoded(PASSWORD_T_COST, PASSWORD_M_COST,
	    PASSWORD_LANES, password, strlen(password), salt, sizeof(salt),
	    PASSWORD_HASH_LEN, encoded, len) != ARGON2_OK) {
		free(encoded);
		return NULL;
	}
	return encoded;
}

/* A decimal number in 1..max at *s, which is left after it. */
static bool
password_param(const char **s, const char *key, unsigned long max)
{
	size_t klen = strlen(key);
	unsigned long v = 0;
	const char *p;

	if (strncmp(*s, key, klen) != 0)
		return false;
	p = *s + klen;
	if (*p < '1' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned long)(*p++ - '0');
		if (v > max)
			return false;
	}
	*s = p;
	return true;
}

/*
 * libargon2 would allocate whatever m= says before it compares anything,
 * so the parameters are bounded first.
 */
static bool
password_encoded_sane(const char *encoded)
{
	const char *p = encoded;

	if (strnlen(encoded, PASSWORD_MAX_ENCODED) == PASSWORD_MAX_ENCODED)
		return false;
	if (strncmp(p, "$argon2id$v=19", 14) != 0)
		return false;
	p += 14;
	return password_param(&p, "$m=", PASSWORD_MAX_M_COST) &&
	    password_param(&p, ",t=", PASSWORD_MAX_T_COST) &&
	    password_param(&p, ",p=", PASSWORD_MAX_LANES) && *p == '$';
}

bool
password_verify(const char *encoded, const char *password)
{
	if (encoded == NULL || password == NULL ||
	    !password_encoded_sane(encoded))
		return false;
	return argon2id_verify(encoded, password, strlen(password)) ==
	    ARGON2_OK;
}

/*
 * Decodes the code point at s into *cp: its length in bytes, or 0 when s
 * is not valid UTF-8 there (overlong forms, surrogates, past U+10FFFF).
 * Never reads past the NUL, which is not a continuation byte.
 */
static size_t
password_utf8_next(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static bool
password_is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

static bool
password_refuse(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return false;
}

bool
password_acceptable(const char *password, const char **why)
{
	const unsigned char *p = (const unsigned char *)password;
	uint32_t cp, first = 0;
	size_t n, chars = 0;
	bool repeated = true;

	if (password == NULL)
		return password_refuse(why, "too_short");
	if (strnlen(password, PASSWORD_MAX_BYTES + 1) > PASSWORD_MAX_BYTES)
		return password_refuse(why, "too_long");
	for (; *p != '\0'; p += n) {
		if ((n = password_utf8_next(p, &cp)) == 0)
			return password_refuse(why, "invalid_utf8");
		if (password_is_control(cp))
			return password_refuse(why, "control_character");
		if (chars++ == 0)
			first = cp;
		else if (cp != first)
			repeated = false;
	}
	if (chars < PASSWORD_MIN_CHARS)
		return password_refuse(why, "too_short");
	if (repeated)
		return password_refuse(why, "repeated");
	if (why != NULL)
		*why = NULL;
	return true;
}

char *
password_generate(void)
{
	const size_t nsym = sizeof(password_alphabet) - 1;
	/* Bytes at or above the last multiple of nsym would favour some. */
	const unsigned limit = 256 - 256 % nsym;
	uint8_t rnd[64];
	size_t used = sizeof(rnd), got = 0, at = 0;
	char *out;

	if ((out = malloc(PASSWORD_GEN_CHARS + PASSWORD_GEN_CHARS /
	    PASSWORD_GEN_GROUP)) == NULL)
		return NULL;
	while (got < PASSWORD_GEN_CHARS) {
		if (used == sizeof(rnd)) {
			if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
				OPENSSL_cleanse(out, at);
				free(out);
				out = NULL;
				break;
			}
			used = 0;
		}
		if (rnd[used] >= limit) {
			used++;
			continue;
		}
		if (got > 0 && got % PASSWORD_GEN_GROUP == 0)
			out[at++] = '-';
		out[at++] = password_alphabet[rnd[used++] % nsym];
		got++;
	}
	if (out != NULL)
		out[at] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return out;
}

void
password_free(char *password)
{
	if (password == NULL)
		return;
	OPENSSL_cleanse(password, strlen(password));
	free(password);
}
