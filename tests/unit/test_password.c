/*
 * Staff passwords: Argon2id hashes checked against the reference
 * implementation's vectors and libargon2's raw output, malformed hashes
 * refused, the policy counted in characters, and generated one-time
 * passwords.
 */
#include <stdint.h>
#include <stdlib.h>

#include <argon2.h>
#include <openssl/evp.h>

#include "password.h"
#include "tap.h"

#define PREFIX "$argon2id$v=19$m=19456,t=2,p=1$"

/* From phc-winner-argon2 (src/test.c): "password", salt "somesalt". */
static const char ref_64m[] = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
    "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
static const char ref_256k[] = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$"
    "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";

static void
test_round_trip(void)
{
	const char *pw = "窓口の合言葉は ひみつ です";
	char *h = password_hash(pw), *h2 = password_hash(pw);
	const char *salt, *hash;

	ok(h != NULL && h2 != NULL, "hash");
	if (h == NULL || h2 == NULL)
		goto done;
	ok(strncmp(h, PREFIX, strlen(PREFIX)) == 0, "OWASP parameters");
	salt = h + strlen(PREFIX);
	hash = strchr(salt, '$');
	ok(hash != NULL && hash - salt == 22 && strlen(hash + 1) == 43,
	    "16-byte salt, 32-byte hash (unpadded base64)");
	ok(strcmp(h, h2) != 0, "fresh salt: same password hashes differently");
	ok(password_verify(h, pw), "right password verifies");
	ok(password_verify(h2, pw), "and against the other hash");
	ok(!password_verify(h, "窓口の合言葉は ひみつ でず"),
	    "wrong password refused");
	ok(!password_verify(h, ""), "empty password refused");
	ok(!password_verify(h, NULL), "NULL password refused");
	ok(password_hash(NULL) == NULL, "NULL password does not hash");
done:
	free(h);
	free(h2);
}

/* Base64 without padding, as in the PHC string format. */
static void
b64_unpadded(const uint8_t *in, int len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, len);

	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
}

static void
test_vectors(void)
{
	const char *salt = "madoguchi-salt16";
	const char *pw = "correct horse battery staple";
	uint8_t raw[32];
	char b64salt[32], b64hash[64], encoded[160];

	ok(password_verify(ref_64m, "password"), "reference vector m=65536");
	ok(password_verify(ref_256k, "password"), "reference vector m=256");
	ok(!password_verify(ref_64m, "passwore"),
	    "reference vector, wrong password");

	/* Our parameters through the raw API, encoded by OpenSSL's base64. */
	ok(argon2id_hash_raw(2, 19456, 1, pw, strlen(pw), salt, strlen(salt),
	    raw, sizeof(raw)) == ARGON2_OK, "raw Argon2id");
	b64_unpadded((const uint8_t *)salt, (int)strlen(salt), b64salt);
	b64_unpadded(raw, sizeof(raw), b64hash);
	snprintf(encoded, sizeof(encoded), "%s%s$%s", PREFIX, b64salt, b64hash);
	ok(password_verify(encoded, pw), "raw hash with fixed salt verifies");
	ok(!password_verify(encoded, "correct horse battery stapler"),
	    "and not for another password");
}

/* The reference vector's salt and hash, to build variants from. */
#define SALT	"$c29tZXNhbHQ"
#define HASH	"$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
#define PARAMS	"$argon2id$v=19$m=65536,t=2,p=1"

static void
test_malformed(void)
{
	static const struct {
		const char	*hash;
		const char	*what;
	} bad[] = {
		{ "", "empty" },
		{ "x", "not a hash" },
		{ "$argon2id$", "type only" },
		{ PARAMS SALT "$", "no hash" },
		{ PARAMS SALT, "no hash, no '$'" },
		{ PARAMS SALT "$CTFhFdXPJO1aFaMaO6Mm5c8y", "short hash" },
		{ PARAMS SALT "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph9ArZWb2GRPPc",
		    "one hash character changed" },
		{ PARAMS SALT "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPd",
		    "non-canonical base64 (padding bits set)" },
		{ PARAMS SALT "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPP!",
		    "not base64" },
		{ PARAMS "$c2*tZXNhbHQ" HASH, "salt not base64" },
		{ "$argon2i$v=19$m=65536,t=2,p=1" SALT HASH, "Argon2i" },
		{ "$argon2id$v=16$m=65536,t=2,p=1" SALT HASH, "version 16" },
		{ "$argon2id$m=65536,t=2,p=1" SALT HASH, "no version" },
		{ "$argon2id$v=19$m=065536,t=2,p=1" SALT HASH, "leading zero" },
		{ "$argon2id$v=19$m=-65536,t=2,p=1" SALT HASH, "negative m" },
		{ "$argon2id$v=19$m=65536,t=0,p=1" SALT HASH, "t=0" },
		{ "$argon2id$v=19$m=65536,t=2,p=0" SALT HASH, "p=0" },
		{ "$argon2id$v=19$t=2,m=65536,p=1" SALT HASH, "t before m" },
		/* Refused before libargon2 allocates what they ask for. */
		{ "$argon2id$v=19$m=4194304,t=2,p=1" SALT HASH, "m=4 GiB" },
		{ "$argon2id$v=19$m=99999999999999999999,t=2,p=1" SALT HASH,
		    "m past 64 bits" },
		{ "$argon2id$v=19$m=65536,t=1000,p=1" SALT HASH, "t=1000" },
		{ "$argon2id$v=19$m=65536,t=2,p=255" SALT HASH, "p=255" },
		{ "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		    "bcrypt" },
	};
	char longer[600];

	ok(password_verify(PARAMS SALT HASH, "password"),
	    "the unchanged vector verifies");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!password_verify(bad[i].hash, "password"), "malformed hash "
		    "refused: %s", bad[i].what);
	ok(!password_verify(NULL, "password"), "NULL hash refused");
	memset(longer, 'A', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, ref_64m, strlen(ref_64m));
	ok(!password_verify(longer, "password"), "overlong hash refused");
}

static void
is_refused(const char *pw, const char *want, const char *what)
{
	const char *why = "unset";

	if (!ok(!password_acceptable(pw, &why) && why != NULL &&
	    strcmp(why, want) == 0, "%s: %s", what, want))
		printf("#   got %s\n", why == NULL ? "(accepted)" : why);
}

static void
test_policy(void)
{
	const char *why = "unset";
	char big[PASSWORD_MAX_BYTES + 2];

	ok(password_acceptable("あいうえおかきくけこさし", &why) && why == NULL,
	    "12 kana (36 bytes) count as 12 characters");
	is_refused("あいうえおかきくけこさ", "too_short", "11 kana");
	is_refused("abcdefghijk", "too_short", "11 ASCII");
	ok(password_acceptable("abcdefghijkl", NULL), "12 ASCII, why NULL");
	ok(password_acceptable("  spaces are fine  ", NULL), "spaces allowed");
	ok(password_acceptable("😢😢😢😢😢😢😢😢😢😢😢😀", NULL),
	    "astral-plane characters count once each");
	is_refused(NULL, "too_short", "NULL");
	is_refused("", "too_short", "empty");
	is_refused("abcdefghijkl\n", "control_character", "trailing newline");
	is_refused("abcdef\tghijkl", "control_character", "tab");
	is_refused("abcdefghijkl\x7f", "control_character", "DEL");
	is_refused("abcdefghijkl\xc2\x85", "control_character", "C1 (NEL)");
	is_refused("abcdefghijkl\xff", "invalid_utf8", "0xff byte");
	is_refused("abcdefghijkl\xc0\xaf", "invalid_utf8", "overlong '/'");
	is_refused("abcdefghijkl\xed\xa0\x80", "invalid_utf8", "surrogate");
	is_refused("abcdefghijkl\xf4\x90\x80\x80", "invalid_utf8",
	    "past U+10FFFF");
	is_refused("abcdefghijkl\xe3\x81", "invalid_utf8", "truncated");
	is_refused("abcdefghijkl\x81", "invalid_utf8", "lone continuation");
	is_refused("aaaaaaaaaaaaaaaaaaaa", "repeated", "one ASCII letter");
	is_refused("ああああああああああああ", "repeated", "one kana");
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[PASSWORD_MAX_BYTES] = '\0';
	ok(password_acceptable(big, NULL), "1024 bytes accepted");
	big[PASSWORD_MAX_BYTES] = 'x';
	big[PASSWORD_MAX_BYTES + 1] = '\0';
	is_refused(big, "too_long", "1025 bytes");
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_generate(void)
{
	static const char alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";
	enum { N = 1000 };
	char *pw[N];
	int count[256] = { 0 }, well_formed = 0, acceptable = 0, distinct = 1;
	int least = N, most = 0;

	for (int i = 0; i < N; i++) {
		bool good;

		pw[i] = password_generate();
		good = pw[i] != NULL && strlen(pw[i]) == 19;
		for (int j = 0; good && j < 19; j++) {
			if (j % 5 == 4)
				good = pw[i][j] == '-';
			else if (strchr(alphabet, pw[i][j]) == NULL)
				good = false;
			else
				count[(unsigned char)pw[i][j]]++;
		}
		well_formed += good;
		acceptable += pw[i] != NULL && password_acceptable(pw[i], NULL);
	}
	ok(pw[0] != NULL, "generated: %s", pw[0] ? pw[0] : "(null)");
	is_int(well_formed, N, "xxxx-xxxx-xxxx-xxxx from the alphabet");
	is_int(acceptable, N, "each passes the policy");
	ok(strpbrk(alphabet, "0O1lIio") == NULL, "alphabet has no 0/O/1/l/I");
	for (const char *c = alphabet; *c; c++) {
		int n = count[(unsigned char)*c];

		least = n < least ? n : least;
		most = n > most ? n : most;
	}
	/* 16,000 draws, ~516 a symbol, sd ~22: a bias would stand out. */
	ok(least > 400 && most < 640, "every symbol drawn about equally "
	    "(%d..%d)", least, most);
	if (well_formed == N) {
		qsort(pw, N, sizeof(pw[0]), cmp_str);
		for (int i = 1; i < N; i++)
			if (strcmp(pw[i - 1], pw[i]) == 0)
				distinct = 0;
	} else
		distinct = 0;
	ok(distinct, "%d generated passwords all distinct", N);
	for (int i = 0; i < N; i++)
		free(pw[i]);
}

int
main(void)
{
	test_round_trip();
	test_vectors();
	test_malformed();
	test_policy();
	test_generate();
	return done_testing();
}
