/*
 * seal.h - application-level encryption of sensitive columns.
 *
 * AES-256-GCM with a random 96-bit nonce per value. A sealed value is
 * nonce (12) || ciphertext || tag (16); the id of the key that sealed it is
 * stored beside it, so keys can rotate: new values use the newest key, old
 * ones stay readable while their key is in the key file.
 *
 * Key file: one key a line, "ID:HEX" with ID 1..32767 and 64 hex digits
 * (32 bytes); "#" starts a comment. The last key in the file seals.
 */
#ifndef MADOGUCHI_SEAL_H
#define MADOGUCHI_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_NONCE_LEN	12
#define SEAL_TAG_LEN	16
#define SEAL_OVERHEAD	(SEAL_NONCE_LEN + SEAL_TAG_LEN)

struct keyring;

struct keyring	*keyring_load(const char *path, char *err, size_t errlen);
/* A keyring with one key, for tests and tools. */
struct keyring	*keyring_from_key(int id, const uint8_t key[32]);
void		 keyring_free(struct keyring *kr);	/* wipes the keys */
int		 keyring_active_id(const struct keyring *kr);

/*
 * Seals len bytes into out, which must hold len + SEAL_OVERHEAD bytes.
 * aad names what the value is (e.g. "messages.body"), so a sealed value
 * copied into another column does not open there.
 */
bool	seal(const struct keyring *kr, const char *aad, const void *plain,
	    size_t len, uint8_t *out, int *key_id) __attribute__((warn_unused_result));

/*
 * Opens a sealed value into out (len - SEAL_OVERHEAD bytes). False, with
 * out wiped, when the key is unknown or the value or its aad was altered.
 */
bool	unseal(const struct keyring *kr, int key_id, const char *aad,
	    const uint8_t *sealed, size_t len, uint8_t *out)
	    __attribute__((warn_unused_result));

/*
 * For a bytea column written through a text parameter: the sealed value
 * in base64 (decode($n, 'base64') in SQL), malloc'd; NULL on failure.
 */
char	*seal_base64(const struct keyring *kr, const char *aad,
	    const void *plain, size_t len, int *key_id);
/*
 * And back: a bytea as PostgreSQL prints it ("\x" and hex digits) opened
 * into a malloc'd, NUL-terminated text of *len_out bytes; NULL when it
 * does not open (see unseal).
 */
char	*unseal_pg_hex(const struct keyring *kr, int key_id, const char *aad,
	    const char *hex, size_t *len_out);

#endif
