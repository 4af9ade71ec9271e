/*
 * pg_array.c - arrays in PostgreSQL's binary format (see pg_array.h).
 *
 * The layout array_recv expects, every integer big-endian: the number of
 * dimensions (1, or 0 for an empty array), a has-nulls flag, the element
 * type's OID, then per dimension its length and lower bound (1); then
 * each element as a 4-byte length (-1 for NULL) and its bytes.
 */
#include "pg_array.h"

#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>

/* PostgreSQL counts time from 2000-01-01, not 1970-01-01. */
#define PG_EPOCH_UNIX_US	INT64_C(946684800000000)

bool
pg_array_init(struct pg_array *a, uint32_t elem_oid)
{
	memset(a, 0, sizeof(*a));
	a->oid = elem_oid;
	return (a->elems = evbuffer_new()) != NULL;
}

void
pg_array_free(struct pg_array *a)
{
	if (a->elems != NULL)
		evbuffer_free(a->elems);
	a->elems = NULL;
}

static void
put_int32(struct pg_array *a, int32_t v)
{
	uint32_t be = htonl((uint32_t)v);

	if (evbuffer_add(a->elems, &be, 4) != 0)
		a->failed = true;
}

void
pg_array_add(struct pg_array *a, const void *data, size_t len)
{
	a->n++;
	if (data == NULL) {
		a->has_null = true;
		put_int32(a, -1);
		return;
	}
	put_int32(a, (int32_t)len);
	if (evbuffer_add(a->elems, data, len) != 0)
		a->failed = true;
}

void
pg_array_add_text(struct pg_array *a, const char *s)
{
	pg_array_add(a, s, s != NULL ? strlen(s) : 0);
}

void
pg_array_add_int2(struct pg_array *a, int16_t v)
{
	uint16_t be = htons((uint16_t)v);

	pg_array_add(a, &be, 2);
}

void
pg_array_add_bool(struct pg_array *a, bool v)
{
	unsigned char b = v ? 1 : 0;

	pg_array_add(a, &b, 1);
}

void
pg_array_add_unix_us(struct pg_array *a, int64_t unix_us)
{
	/* Unsigned: wraps, never overflows; read back as two's complement. */
	uint64_t v = (uint64_t)unix_us - (uint64_t)PG_EPOCH_UNIX_US;
	unsigned char be[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		be[i] = (unsigned char)(v & 0xff);
	pg_array_add(a, be, 8);
}

const char *
pg_array_finish(struct pg_array *a, int *len)
{
	uint32_t head[5] = { htonl(a->n > 0 ? 1 : 0), htonl(a->has_null),
	    htonl(a->oid), htonl((uint32_t)a->n), htonl(1) };
	size_t head_len = a->n > 0 ? sizeof(head) : 3 * sizeof(head[0]);

	if (a->failed || evbuffer_prepend(a->elems, head, head_len) != 0 ||
	    evbuffer_get_length(a->elems) > INT32_MAX)
		return NULL;
	*len = (int)evbuffer_get_length(a->elems);
	return (const char *)evbuffer_pullup(a->elems, -1);
}
