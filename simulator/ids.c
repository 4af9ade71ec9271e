/*
 * Random identifiers shaped like LINE's: hex request ids and reply
 * tokens, ULID webhookEventIds, 18-digit message ids and quote tokens.
 * All randomness comes from OpenSSL's CSPRNG so that two simulators (or a
 * simulator and the flood tool) never hand out the same ids.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "linesim.h"

static void	 random_bytes(unsigned char *, size_t);

static void
random_bytes(unsigned char *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1) {
		/* No entropy means every id could collide: stop. */
		sim_log("RAND_bytes failed");
		abort();
	}
}

/* Write nhex random lowercase hex digits and a NUL to out. */
void
ids_hex(char *out, size_t nhex)
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 buf[64];
	size_t			 i;

	if (nhex > 2 * sizeof(buf))
		abort();
	random_bytes(buf, (nhex + 1) / 2);
	for (i = 0; i < nhex; i++)
		out[i] = digits[(buf[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[nhex] = '\0';
}

/*
 * ULID: 48-bit millisecond time then 80 random bits, Crockford base32,
 * 26 characters.  Time first makes them sort by creation like LINE's.
 */
void
ids_ulid(char out[27])
{
	static const char	 enc[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char		 rnd[10];
	uint64_t		 t = (uint64_t)now_realtime_ms();
	unsigned int		 acc = 0, bits = 0;
	size_t			 i, o = 10, r = 0;

	for (i = 10; i > 0; i--) {
		out[i - 1] = enc[t & 31];
		t >>= 5;
	}
	random_bytes(rnd, sizeof(rnd));
	while (o < 26) {
		if (bits < 5) {
			acc = (acc << 8) | rnd[r++];
			bits += 8;
		}
		out[o++] = enc[(acc >> (bits - 5)) & 31];
		bits -= 5;
	}
	out[26] = '\0';
}

/* 18 decimal digits, no leading zero. */
void
ids_message_id(char out[19])
{
	unsigned char	rnd[8];
	uint64_t	v = 0;
	size_t		i;

	random_bytes(rnd, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		v = (v << 8) | rnd[i];
	v = 100000000000000000ULL + v % 900000000000000000ULL;
	snprintf(out, 19, "%018llu", (unsigned long long)v);
}

/* 64 base64url characters, the look of LINE's opaque quote tokens. */
void
ids_quote_token(char out[65])
{
	static const char	 enc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char		 rnd[64];
	size_t			 i;

	random_bytes(rnd, sizeof(rnd));
	for (i = 0; i < 64; i++)
		out[i] = enc[rnd[i] & 63];
	out[64] = '\0';
}

/* 8-4-4-4-12 hex digits, either case (X-Line-Retry-Key). */
bool
ids_is_uuid(const char *s)
{
	static const char	 shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t			 i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == '-' ? s[i] != '-' :
		    !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[i] == '\0';
}
