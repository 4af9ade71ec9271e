/*
 * password.h - staff passwords: Argon2id hashes, the desk's policy for a
 * password a person chooses, and one-time passwords an admin hands out.
 *
 * Hashing takes about 30 ms of CPU and 19 MiB of memory on purpose; call
 * password_hash and password_verify through offload, never on the loop.
 */
#ifndef MADOGUCHI_PASSWORD_H
#define MADOGUCHI_PASSWORD_H

#include <stdbool.h>

/* The policy, in bytes and UTF-8 code points. */
#define PASSWORD_MIN_CHARS	12
#define PASSWORD_MAX_BYTES	1024

/*
 * The Argon2id hash of password (m=19456 KiB, t=2, p=1, a 16-byte random
 * salt, a 32-byte hash) as a malloc'd "$argon2id$v=19$m=..." string;
 * NULL when memory or randomness ran out.
 */
char	*password_hash(const char *password);

/*
 * Whether password is the one encoded hashes. False, never a crash, for a
 * NULL or malformed encoded string, or one whose parameters would cost
 * more than 256 MiB or 16 passes (a hash from elsewhere must not make
 * the process allocate gigabytes). The comparison is libargon2's,
 * constant-time.
 */
bool	password_verify(const char *encoded, const char *password);

/*
 * Whether a person may choose password: valid UTF-8, at most
 * PASSWORD_MAX_BYTES bytes, at least PASSWORD_MIN_CHARS code points (so a
 * Japanese passphrase counts by characters, not bytes), no control
 * characters, not one character repeated. When it may not and why is not
 * NULL, *why is a stable reason code, which the UI translates:
 *	"too_long"		more than 1024 bytes
 *	"invalid_utf8"		not valid UTF-8
 *	"control_character"	a control character (C0, DEL, C1)
 *	"too_short"		fewer than 12 characters
 *	"repeated"		one character repeated
 * The checks run in that order, so the first that fails is reported.
 */
bool	password_acceptable(const char *password, const char **why);

/*
 * A one-time password an admin reads out or pastes: 16 characters from
 * "23456789abcdefghjkmnpqrstuvwxyz" (no 0/o/1/l/i, one case, so it can be
 * read aloud) as xxxx-xxxx-xxxx-xxxx, about 79 bits from RAND_bytes.
 * Malloc'd; NULL when randomness failed. It passes password_acceptable.
 */
char	*password_generate(void);

/* Wipes a password (NUL-terminated, malloc'd) and frees it; NULL is fine. */
void	password_free(char *password);

#endif
