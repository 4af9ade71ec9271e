/*
 * Sealing of sensitive columns: round trip, and every kind of tampering
 * detected. The key file's format and rotation.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdlib.h>
#include <unistd.h>

#include "seal.h"
#include "tap.h"

static const char text[] = "夜になると不安で眠れません 😢";

static void
test_round_trip(const struct keyring *kr)
{
	uint8_t sealed[sizeof(text) + SEAL_OVERHEAD], again[sizeof(sealed)];
	uint8_t out[sizeof(text)];
	size_t len = sizeof(text) - 1 + SEAL_OVERHEAD;
	int id, id2;

	ok(seal(kr, "messages.body", text, sizeof(text) - 1, sealed, &id),
	    "seal");
	is_int(id, 7, "sealed with the last key of the file");
	ok(memmem(sealed, len, "眠れません", strlen("眠れません")) == NULL,
	    "no plaintext in the sealed value");
	ok(unseal(kr, id, "messages.body", sealed, len, out) &&
	    memcmp(out, text, sizeof(text) - 1) == 0, "round trip");
	ok(seal(kr, "messages.body", text, sizeof(text) - 1, again, &id2) &&
	    memcmp(again, sealed, len) != 0, "fresh nonce: same text seals differently");

	for (size_t at = 0; at < len; at += len / 5) {
		sealed[at] ^= 0x01;
		ok(!unseal(kr, id, "messages.body", sealed, len, out),
		    "one flipped bit at byte %zu detected", at);
		sealed[at] ^= 0x01;
	}
	sealed[len - 1] ^= 0x80;
	ok(!unseal(kr, id, "messages.body", sealed, len, out), "altered tag detected");
	sealed[len - 1] ^= 0x80;
	ok(!unseal(kr, id, "case_records.summary", sealed, len, out),
	    "value moved to another column does not open");
	ok(!unseal(kr, 99, "messages.body", sealed, len, out),
	    "unknown key id refused");
	ok(!unseal(kr, id, "messages.body", sealed, len - 1, out),
	    "truncated value refused");
	ok(!unseal(kr, id, "messages.body", sealed, SEAL_OVERHEAD - 1, out),
	    "value shorter than nonce and tag refused");
}

static void
test_rotation(void)
{
	uint8_t key3[32] = { 3 }, sealed[64], out[16];
	struct keyring *old = keyring_from_key(3, key3), *kr;
	char err[256];
	char *path;
	int id;

	ok(seal(old, "x", "hello", 5, sealed, &id) && id == 3, "sealed with key 3");
	path = tap_temp_file("# rotated\n3:0300000000000000000000000000000000000000"
	    "000000000000000000000000\n4:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
	kr = keyring_load(path, err, sizeof(err));
	ok(kr != NULL, "rotated key file loads");
	if (kr != NULL) {
		is_int(keyring_active_id(kr), 4, "newest key seals");
		ok(unseal(kr, 3, "x", sealed, 5 + SEAL_OVERHEAD, out) &&
		    memcmp(out, "hello", 5) == 0, "old value still opens");
	}
	keyring_free(kr);
	keyring_free(old);
	unlink(path);
}

/* A key staged with "next": every process opens its values first. */
static void
test_staged(void)
{
	uint8_t sealed[5 + SEAL_OVERHEAD], out[5];
	char err[256];
	char *path = tap_temp_file("3:0300000000000000000000000000000000000000"
	    "000000000000000000000000\n4:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa next\n");
	struct keyring *kr = keyring_load(path, err, sizeof(err));
	uint8_t key4[32];
	struct keyring *writer;
	int id;

	memset(key4, 0xaa, sizeof(key4));
	writer = keyring_from_key(4, key4);
	ok(kr != NULL, "a file with a staged key loads (%s)", kr ? "" : err);
	if (kr != NULL) {
		is_int(keyring_active_id(kr), 3, "the staged key seals nothing yet");
		ok(seal(writer, "x", "hello", 5, sealed, &id) && id == 4 &&
		    unseal(kr, 4, "x", sealed, sizeof(sealed), out) &&
		    memcmp(out, "hello", 5) == 0,
		    "but what a process already on key 4 sealed opens");
	}
	keyring_free(kr);
	keyring_free(writer);
	unlink(path);
	path = tap_temp_file("4:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa next\n");
	ok(keyring_load(path, err, sizeof(err)) == NULL,
	    "a file whose every key is staged is refused (%s)", err);
	unlink(path);
}

static void
test_bad_files(void)
{
	static const char *const bad[] = {
		"", "# only a comment\n", "1:abcd\n",
		"0:0000000000000000000000000000000000000000000000000000000000000000\n",
		"1:zz00000000000000000000000000000000000000000000000000000000000000\n",
		"1:00000000000000000000000000000000000000000000000000000000000000000\n",
		"1:0000000000000000000000000000000000000000000000000000000000000000\n"
		"1:1111111111111111111111111111111111111111111111111111111111111111\n",
		"1:0000000000000000000000000000000000000000000000000000000000000000 later\n",
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *path = tap_temp_file(bad[i]);
		struct keyring *kr = keyring_load(path, err, sizeof(err));

		ok(kr == NULL && err[0] != '\0', "bad key file %zu refused (%s)",
		    i, err);
		keyring_free(kr);
		unlink(path);
	}
	ok(keyring_load("/nonexistent/key", err, sizeof(err)) == NULL,
	    "missing key file refused");
}

int
main(void)
{
	char err[256];
	char *path = tap_temp_file("1:0101010101010101010101010101010101010101010101"
	    "010101010101010101\n7:fedcba9876543210fedcba9876543210fedcba98765432"
	    "10fedcba9876543210\n");
	struct keyring *kr = keyring_load(path, err, sizeof(err));

	ok(kr != NULL, "key file loads");
	unlink(path);
	if (kr != NULL)
		test_round_trip(kr);
	keyring_free(kr);
	test_rotation();
	test_staged();
	test_bad_files();
	return done_testing();
}
