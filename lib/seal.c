/*
 * seal.c - AES-256-GCM through OpenSSL's EVP interface, and the key file.
 */
#include "seal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define SEAL_MAX_KEYS 64

struct seal_key {
	int	id;
	bool	staged;		/* "next": opens values, seals none yet */
	uint8_t	bytes[32];
};

struct keyring {
	struct seal_key	keys[SEAL_MAX_KEYS];
	int		nkeys;
	int		active;		/* keys[active] seals: the last not staged */
};

static const struct seal_key *keyring_find(const struct keyring *kr, int id);

static int
seal_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * "ID:HEX64", or "ID:HEX64 next" for a key staged to open values before it
 * seals any (so every process can read it before the first one writes
 * with it), into key; false if it is neither.
 */
static bool
seal_parse_key(const char *line, struct seal_key *key)
{
	char *end;
	long id;

	errno = 0;
	id = strtol(line, &end, 10);
	if (errno != 0 || end == line || *end != ':' || id < 1 || id > 32767)
		return false;
	line = end + 1;
	for (int i = 0; i < 32; i++) {
		int hi = seal_hex_value((unsigned char)line[2 * i]);
		int lo = hi < 0 ? -1 : seal_hex_value((unsigned char)line[2 * i + 1]);

		if (lo < 0)
			return false;
		key->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	line += 64;
	while (isspace((unsigned char)*line))
		line++;
	key->id = (int)id;
	key->staged = strncmp(line, "next", 4) == 0;
	if (key->staged)
		for (line += 4; isspace((unsigned char)*line); line++)
			;
	return *line == '\0';
}

struct keyring *
keyring_load(const char *path, char *err, size_t errlen)
{
	struct keyring *kr;
	char line[256];
	unsigned lineno = 0;
	FILE *f;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "no data key file configured");
		return NULL;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((kr = calloc(1, sizeof(*kr))) == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line;

		lineno++;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (kr->nkeys == SEAL_MAX_KEYS ||
		    !seal_parse_key(p, &kr->keys[kr->nkeys])) {
			snprintf(err, errlen, "%s:%u: expected ID:64-hex-digit key",
			    path, lineno);
			goto fail;
		}
		/* Two keys under one id: values sealed by one would not open. */
		if (keyring_find(kr, kr->keys[kr->nkeys].id) != NULL) {
			snprintf(err, errlen, "%s:%u: key id %d used twice", path,
			    lineno, kr->keys[kr->nkeys].id);
			goto fail;
		}
		kr->nkeys++;
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	for (kr->active = kr->nkeys - 1; kr->active >= 0 &&
	    kr->keys[kr->active].staged; kr->active--)
		;
	if (kr->active < 0) {
		snprintf(err, errlen, "%s: no key that seals (every line is "
		    "\"next\")", path);
		keyring_free(kr);
		return NULL;
	}
	return kr;
fail:
	explicit_bzero(line, sizeof(line));
	fclose(f);
	keyring_free(kr);
	return NULL;
}

struct keyring *
keyring_from_key(int id, const uint8_t key[32])
{
	struct keyring *kr = calloc(1, sizeof(*kr));

	if (kr == NULL)
		return NULL;
	kr->keys[0].id = id;
	memcpy(kr->keys[0].bytes, key, 32);
	kr->nkeys = 1;
	return kr;
}

void
keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	OPENSSL_cleanse(kr, sizeof(*kr));
	free(kr);
}

int
keyring_active_id(const struct keyring *kr)
{
	return kr->keys[kr->active].id;
}

static const struct seal_key *
keyring_find(const struct keyring *kr, int id)
{
	for (int i = 0; i < kr->nkeys; i++)
		if (kr->keys[i].id == id)
			return &kr->keys[i];
	return NULL;
}

bool
seal(const struct keyring *kr, const char *aad, const void *plain, size_t len,
    uint8_t *out, int *key_id)
{
	const struct seal_key *key = &kr->keys[kr->active];
	EVP_CIPHER_CTX *ctx;
	uint8_t *ct = out + SEAL_NONCE_LEN;
	int n, m;
	bool ok = false;

	if (len > (size_t)INT32_MAX || RAND_bytes(out, SEAL_NONCE_LEN) != 1)
		return false;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return false;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->bytes, out) == 1 &&
	    EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
	    EVP_EncryptUpdate(ctx, ct, &n, plain, (int)len) == 1 &&
	    EVP_EncryptFinal_ex(ctx, ct + n, &m) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN,
	    ct + n + m) == 1) {
		*key_id = key->id;
		ok = true;
	}
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

bool
unseal(const struct keyring *kr, int key_id, const char *aad,
    const uint8_t *sealed, size_t len, uint8_t *out)
{
	const struct seal_key *key = keyring_find(kr, key_id);
	size_t ctlen = len - SEAL_OVERHEAD;
	const uint8_t *ct = sealed + SEAL_NONCE_LEN;
	EVP_CIPHER_CTX *ctx;
	int n, m;
	bool ok = false;

	if (key == NULL || len < SEAL_OVERHEAD || ctlen > (size_t)INT32_MAX)
		return false;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return false;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->bytes, sealed) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
	    EVP_DecryptUpdate(ctx, out, &n, ct, (int)ctlen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
	    (void *)(ct + ctlen)) == 1 &&
	    EVP_DecryptFinal_ex(ctx, out + n, &m) == 1)
		ok = true;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		OPENSSL_cleanse(out, ctlen);
	return ok;
}

char *
seal_base64(const struct keyring *kr, const char *aad, const void *plain,
    size_t len, int *key_id)
{
	size_t sealed_len = len + SEAL_OVERHEAD;
	uint8_t *sealed = malloc(sealed_len);
	char *b64 = malloc(4 * ((sealed_len + 2) / 3) + 1);

	if (sealed == NULL || b64 == NULL ||
	    !seal(kr, aad, plain, len, sealed, key_id)) {
		free(sealed);
		free(b64);
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)b64, sealed, (int)sealed_len);
	free(sealed);
	return b64;
}

char *
unseal_pg_hex(const struct keyring *kr, int key_id, const char *aad,
    const char *hex, size_t *len_out)
{
	size_t n = strlen(hex), len;
	uint8_t *sealed;
	char *plain;

	if (n < 2 || hex[0] != '\\' || hex[1] != 'x' || (n - 2) % 2 != 0 ||
	    (len = (n - 2) / 2) < SEAL_OVERHEAD)
		return NULL;
	if ((sealed = malloc(len)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi = seal_hex_value((unsigned char)hex[2 + 2 * i]);
		int lo = seal_hex_value((unsigned char)hex[3 + 2 * i]);

		if (hi < 0 || lo < 0) {
			free(sealed);
			return NULL;
		}
		sealed[i] = (uint8_t)(hi << 4 | lo);
	}
	plain = malloc(len - SEAL_OVERHEAD + 1);
	if (plain != NULL && unseal(kr, key_id, aad, sealed, len,
	    (uint8_t *)plain)) {
		plain[len - SEAL_OVERHEAD] = '\0';
		if (len_out != NULL)
			*len_out = len - SEAL_OVERHEAD;
	} else {
		free(plain);
		plain = NULL;
	}
	free(sealed);
	return plain;
}
