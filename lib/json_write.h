/*
 * json_write.h - appending JSON strings to an evbuffer, escaped.
 *
 * For hot paths that build JSON text directly instead of through a cJSON
 * tree. Input must be UTF-8; it is copied as is apart from the escapes JSON
 * requires (quote, backslash, control characters).
 */
#ifndef MADOGUCHI_JSON_WRITE_H
#define MADOGUCHI_JSON_WRITE_H

#include <stddef.h>

struct evbuffer;

void	json_write_string(struct evbuffer *out, const char *s);
void	json_write_string_len(struct evbuffer *out, const char *s, size_t len);

#endif
