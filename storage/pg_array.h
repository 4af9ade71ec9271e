/*
 * pg_array.h - one-dimensional arrays in PostgreSQL's binary wire format,
 * for statement parameters (array_recv reads them). Text crosses as its
 * bytes, numbers and timestamps as their binary values: the server parses
 * nothing, where the same rows as one JSON text cost it a sixth of the
 * ingest's time. Internal to storage/.
 */
#ifndef MADOGUCHI_PG_ARRAY_H
#define MADOGUCHI_PG_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Element types, by their fixed OIDs (PostgreSQL's pg_type.dat). */
#define PG_OID_BOOL		16
#define PG_OID_BYTEA		17
#define PG_OID_INT2		21
#define PG_OID_TEXT		25
#define PG_OID_TIMESTAMPTZ	1184

struct evbuffer;

struct pg_array {
	struct evbuffer	*elems;		/* each: length, then its bytes */
	uint32_t	 oid;
	int32_t		 n;
	bool		 has_null;
	bool		 failed;	/* out of memory: finish says so */
};

bool	pg_array_init(struct pg_array *a, uint32_t elem_oid);
void	pg_array_free(struct pg_array *a);
/* len bytes of the element's binary form; NULL data is SQL NULL. */
void	pg_array_add(struct pg_array *a, const void *data, size_t len);
void	pg_array_add_text(struct pg_array *a, const char *s);	/* NULL ok */
void	pg_array_add_int2(struct pg_array *a, int16_t v);
void	pg_array_add_bool(struct pg_array *a, bool v);
/* A timestamptz from microseconds since the Unix epoch. */
void	pg_array_add_unix_us(struct pg_array *a, int64_t unix_us);
/*
 * The whole array (header and elements), contiguous, and its length;
 * valid until pg_array_free. Called once: it puts the header in front.
 * NULL when memory ran out on the way.
 */
const char *pg_array_finish(struct pg_array *a, int *len);

#endif
