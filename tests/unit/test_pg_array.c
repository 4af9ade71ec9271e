/*
 * Arrays in PostgreSQL's binary format, byte for byte as array_recv reads
 * them (src/backend/utils/adt/arrayfuncs.c): header, NULLs, each element
 * type's wire form, and the timestamp epoch. The integration tests send
 * them to a real server; these pin the layout.
 */
#include <string.h>

#include "pg_array.h"
#include "tap.h"

static const unsigned char *
finish(struct pg_array *a, int *len)
{
	return (const unsigned char *)pg_array_finish(a, len);
}

static void
test_text_with_null(void)
{
	static const unsigned char want[] = {
		0, 0, 0, 1,		/* one dimension */
		0, 0, 0, 1,		/* has NULLs */
		0, 0, 0, 25,		/* text */
		0, 0, 0, 3, 0, 0, 0, 1,	/* three elements from 1 */
		0, 0, 0, 2, 'o', 'k',
		0xff, 0xff, 0xff, 0xff,	/* NULL */
		0, 0, 0, 6, 0xe7, 0xaa, 0x93, 0xe5, 0x8f, 0xa3,	/* 窓口 */
	};
	struct pg_array a;
	const unsigned char *got;
	int len = 0;

	ok(pg_array_init(&a, PG_OID_TEXT), "text array");
	pg_array_add_text(&a, "ok");
	pg_array_add_text(&a, NULL);
	pg_array_add_text(&a, "窓口");
	got = finish(&a, &len);
	is_int(len, (int)sizeof(want), "length: header and three elements");
	ok(got != NULL && memcmp(got, want, sizeof(want)) == 0,
	    "bytes as array_recv reads them");
	pg_array_free(&a);
}

static void
test_empty(void)
{
	static const unsigned char want[] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 17 };
	struct pg_array a;
	const unsigned char *got;
	int len = 0;

	ok(pg_array_init(&a, PG_OID_BYTEA), "bytea array");
	got = finish(&a, &len);
	ok(len == (int)sizeof(want) && got != NULL &&
	    memcmp(got, want, sizeof(want)) == 0,
	    "empty: no dimension, no bounds");
	pg_array_free(&a);
}

static void
test_scalars(void)
{
	static const unsigned char want_int2[] = { 0, 0, 0, 2, 0x01, 0x02,
	    0, 0, 0, 2, 0xff, 0xfe };
	static const unsigned char want_bool[] = { 0, 0, 0, 1, 1,
	    0, 0, 0, 1, 0 };
	static const unsigned char want_time[] = {
		0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0,	/* 2000-01-01 UTC */
		0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 8, 0, 0, 0, 0, 0x05, 0xf5, 0xe1, 0x00,
	};
	struct pg_array i2, b, t;
	const unsigned char *got;
	int len = 0;

	ok(pg_array_init(&i2, PG_OID_INT2) && pg_array_init(&b, PG_OID_BOOL) &&
	    pg_array_init(&t, PG_OID_TIMESTAMPTZ), "scalar arrays");
	pg_array_add_int2(&i2, 0x0102);
	pg_array_add_int2(&i2, -2);
	got = finish(&i2, &len);
	ok(got != NULL && len == 20 + (int)sizeof(want_int2) &&
	    got[7] == 0 && memcmp(got + 20, want_int2, sizeof(want_int2)) == 0,
	    "smallint: big-endian, two's complement; no NULLs flagged");
	pg_array_add_bool(&b, true);
	pg_array_add_bool(&b, false);
	got = finish(&b, &len);
	ok(got != NULL && len == 20 + (int)sizeof(want_bool) &&
	    memcmp(got + 20, want_bool, sizeof(want_bool)) == 0,
	    "boolean: one byte");
	pg_array_add_unix_us(&t, INT64_C(946684800000000));
	pg_array_add_unix_us(&t, INT64_C(946684799999999));
	pg_array_add_unix_us(&t, INT64_C(946684900000000));
	got = finish(&t, &len);
	ok(got != NULL && len == 20 + (int)sizeof(want_time) &&
	    got[11] == 0xa0 && got[10] == 0x04 &&	/* 1184 */
	    memcmp(got + 20, want_time, sizeof(want_time)) == 0,
	    "timestamptz: microseconds from 2000-01-01, before it negative");
	pg_array_free(&i2);
	pg_array_free(&b);
	pg_array_free(&t);
}

static void
test_raw_bytes(void)
{
	static const unsigned char sealed[] = { 0, 1, 0, 0xff };
	struct pg_array a;
	const unsigned char *got;
	int len = 0;

	ok(pg_array_init(&a, PG_OID_BYTEA), "bytea array");
	pg_array_add(&a, sealed, sizeof(sealed));
	pg_array_add(&a, NULL, 0);
	got = finish(&a, &len);
	ok(got != NULL && len == 20 + 8 + 4 && got[7] == 1 &&
	    memcmp(got + 24, sealed, sizeof(sealed)) == 0 &&
	    memcmp(got + 28, "\xff\xff\xff\xff", 4) == 0,
	    "bytes kept as they are, NUL bytes included");
	pg_array_free(&a);
}

int
main(void)
{
	test_text_with_null();
	test_empty();
	test_scalars();
	test_raw_bytes();
	return done_testing();
}
