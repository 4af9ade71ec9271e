/*
 * totp.h - the second factor of staff sign-in: RFC 6238 time-based codes
 * (HMAC-SHA1, 6 digits, 30-second steps), as authenticator apps make them.
 *
 * A secret is TOTP_SECRET_BYTES random bytes, shown once to the person as
 * base32 or an otpauth:// URI (in a QR code, see qr_svg.h) and stored
 * sealed. Each accepted code's time step is stored too, so that
 * totp_verify can refuse the same code a second time.
 */
#ifndef MADOGUCHI_TOTP_H
#define MADOGUCHI_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_BYTES	20
#define TOTP_STEP_SECONDS	30
#define TOTP_DIGITS		6
#define TOTP_MAX_WINDOW		10	/* steps either side of now */

/* A new random secret from RAND_bytes; false when randomness failed. */
bool	totp_secret_new(unsigned char secret[TOTP_SECRET_BYTES])
	    __attribute__((warn_unused_result));

/*
 * The secret in RFC 4648 base32 without '=' padding, as apps take it
 * when typed in. Malloc'd; NULL on failure.
 */
char	*totp_secret_base32(const unsigned char *secret, size_t len);

/*
 * otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1
 * &digits=6&period=30, with issuer and account percent-encoded byte by
 * byte (UTF-8, so "LINE相談" works), everything but A-Z a-z 0-9 - . _ ~
 * escaped (a ':' in the issuer cannot split the label). Malloc'd; NULL
 * when an argument is NULL or empty, or memory ran out.
 */
char	*totp_uri(const unsigned char *secret, size_t len, const char *issuer,
	    const char *account);

/*
 * Checks code, which must be exactly 6 ASCII digits, against the steps
 * now / 30 - window .. now / 30 + window (window 0..TOTP_MAX_WINDOW; 1
 * allows for a phone clock 30 seconds off). Returns the matched time step,
 * to be stored and passed as last_step next time, or -1 when nothing
 * matched, the code is malformed, or the only match is a step <= last_step
 * (a replay; pass -1 when no code was accepted yet). Every candidate is
 * compared in full, in constant time.
 */
int64_t	totp_verify(const unsigned char *secret, size_t len, const char *code,
	    int64_t now, int window, int64_t last_step);

#endif
