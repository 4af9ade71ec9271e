/*
 * secret_token.h - the random secrets that stand for someone: a console
 * session, a web-chat session, a single-use hand-off link. 32 random bytes,
 * carried as 43 characters of base64url; only their SHA-256 is stored, so
 * a copy of the database opens nothing.
 */
#ifndef MADOGUCHI_SECRET_TOKEN_H
#define MADOGUCHI_SECRET_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECRET_TOKEN_BYTES	32
#define SECRET_TOKEN_CHARS	43	/* base64url, no padding */

struct evhttp_request;

bool	secret_token_new(uint8_t token[SECRET_TOKEN_BYTES]);
/* base64url of any 32 bytes, NUL-terminated. */
void	secret_token_text(const uint8_t token[SECRET_TOKEN_BYTES],
	    char out[SECRET_TOKEN_CHARS + 1]);
/* Its inverse: false unless in[0..n) is exactly such a text. */
bool	secret_token_parse(const char *in, size_t n,
	    uint8_t token[SECRET_TOKEN_BYTES]);
/* Lowercase hex of the token's SHA-256: what the database keeps. */
void	secret_token_hash_hex(const uint8_t token[SECRET_TOKEN_BYTES],
	    char hex[65]);
/* The token in the request's cookie of that name; false if none is valid. */
bool	secret_token_from_cookie(struct evhttp_request *req, const char *name,
	    uint8_t token[SECRET_TOKEN_BYTES]);

#endif
