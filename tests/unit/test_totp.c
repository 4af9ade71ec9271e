/*
 * TOTP: the RFC 6238 Appendix B SHA-1 vectors, the window, replays and
 * malformed codes refused, base32 and the otpauth URI, and a code checked
 * against the oathtool program when it is installed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "totp.h"
#include "tap.h"

static const unsigned char rfc[] = "12345678901234567890";
#define RFC_LEN	20
#define RFC_B32	"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static void
test_rfc_vectors(void)
{
	static const struct {
		int64_t		 t;
		const char	*code;	/* last 6 of the RFC's 8 digits */
	} v[] = {
		{ 59, "287082" },
		{ 1111111109, "081804" },
		{ 1111111111, "050471" },
		{ 1234567890, "005924" },
		{ 2000000000, "279037" },
		{ 20000000000, "353130" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		is_int(totp_verify(rfc, RFC_LEN, v[i].code, v[i].t, 0, -1),
		    v[i].t / 30, "RFC 6238 T=%lld: %s", (long long)v[i].t,
		    v[i].code);
	is_int(totp_verify(rfc, RFC_LEN, "287083", 59, 1, -1), -1,
	    "a code one off refused");
}

static void
test_window(void)
{
	const int64_t t = 1111111111, step = t / 30;

	is_int(totp_verify(rfc, RFC_LEN, "050471", t + 30, 1, -1), step,
	    "one step later, window 1: accepted");
	is_int(totp_verify(rfc, RFC_LEN, "050471", t - 30, 1, -1), step,
	    "one step earlier, window 1: accepted");
	is_int(totp_verify(rfc, RFC_LEN, "050471", t + 60, 1, -1), -1,
	    "two steps later, window 1: refused");
	is_int(totp_verify(rfc, RFC_LEN, "050471", t - 60, 1, -1), -1,
	    "two steps earlier, window 1: refused");
	is_int(totp_verify(rfc, RFC_LEN, "050471", t + 60, 2, -1), step,
	    "two steps later, window 2: accepted");
	is_int(totp_verify(rfc, RFC_LEN, "050471", t + 30, 0, -1), -1,
	    "one step later, window 0: refused");
	is_int(totp_verify(rfc, RFC_LEN, "050471", t, -1, -1), -1,
	    "negative window refused");
	is_int(totp_verify(rfc, RFC_LEN, "050471", t, TOTP_MAX_WINDOW + 1, -1),
	    -1, "window past the maximum refused");
	is_int(totp_verify(rfc, RFC_LEN, "287082", 59 - 30, 1, -1), 1,
	    "window reaching before the epoch");
	is_int(totp_verify(rfc, RFC_LEN, "287082", -1, 1, -1), -1,
	    "time before the epoch refused");
}

static void
test_replay(void)
{
	const int64_t t = 1111111111;
	int64_t step = totp_verify(rfc, RFC_LEN, "050471", t, 1, -1);

	is_int(step, t / 30, "first use accepted");
	is_int(totp_verify(rfc, RFC_LEN, "050471", t, 1, step), -1,
	    "same code again refused");
	is_int(totp_verify(rfc, RFC_LEN, "050471", t + 30, 1, step), -1,
	    "same code a step later refused");
	is_int(totp_verify(rfc, RFC_LEN, "081804", t, 1, step), -1,
	    "the previous step's code, after this one, refused");
	is_int(totp_verify(rfc, RFC_LEN, "050471", t, 1, step - 1), step,
	    "accepted when only older steps were used");
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"", "28708", "2870820", "28708a", " 287082", "287082 ",
		"287082\n", "+87082", "-87082", "２８７０８２", "28 082",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(totp_verify(rfc, RFC_LEN, bad[i], 59, 1, -1), -1,
		    "malformed code %zu refused", i);
	is_int(totp_verify(rfc, RFC_LEN, NULL, 59, 1, -1), -1, "NULL code");
	is_int(totp_verify(NULL, RFC_LEN, "287082", 59, 1, -1), -1,
	    "NULL secret");
	is_int(totp_verify(rfc, 0, "287082", 59, 1, -1), -1, "empty secret");
}

static void
test_encoding(void)
{
	unsigned char s1[TOTP_SECRET_BYTES], s2[TOTP_SECRET_BYTES];
	char *b32, *uri;

	b32 = totp_secret_base32(rfc, RFC_LEN);
	is_str(b32, RFC_B32, "base32 of the RFC secret");
	free(b32);
	b32 = totp_secret_base32((const unsigned char *)"a", 1);
	is_str(b32, "ME", "padding stripped");
	free(b32);
	ok(totp_secret_new(s1) && totp_secret_new(s2) &&
	    memcmp(s1, s2, sizeof(s1)) != 0, "two new secrets differ");
	b32 = totp_secret_base32(s1, sizeof(s1));
	ok(b32 != NULL && strlen(b32) == 32, "160-bit secret: 32 characters");
	free(b32);

	uri = totp_uri(rfc, RFC_LEN, "LINE相談", "sato@example.jp");
	is_str(uri, "otpauth://totp/LINE%E7%9B%B8%E8%AB%87:sato%40example.jp"
	    "?secret=" RFC_B32 "&issuer=LINE%E7%9B%B8%E8%AB%87"
	    "&algorithm=SHA1&digits=6&period=30", "URI with a Japanese issuer");
	free(uri);
	uri = totp_uri(rfc, RFC_LEN, "Desk: A&B", "佐藤 花子");
	is_str(uri, "otpauth://totp/Desk%3A%20A%26B:%E4%BD%90%E8%97%A4%20%E8"
	    "%8A%B1%E5%AD%90?secret=" RFC_B32 "&issuer=Desk%3A%20A%26B"
	    "&algorithm=SHA1&digits=6&period=30",
	    "':', ' ' and '&' escaped in issuer and account");
	free(uri);
	ok(totp_uri(rfc, RFC_LEN, NULL, "x") == NULL &&
	    totp_uri(rfc, RFC_LEN, "x", "") == NULL, "no URI without names");
}

/* A fresh secret's code from oathtool, accepted by totp_verify. */
static void
test_oathtool(void)
{
	const int64_t now = 1767225600;	/* 2026-01-01T00:00:00Z */
	unsigned char secret[TOTP_SECRET_BYTES];
	char cmd[160], code[16] = "";
	char *b32;
	FILE *p;
	int status;

	if (!totp_secret_new(secret) ||
	    (b32 = totp_secret_base32(secret, sizeof(secret))) == NULL) {
		ok(0, "secret for oathtool");
		return;
	}
	snprintf(cmd, sizeof(cmd), "oathtool --totp -b %s --now @%lld "
	    "2>/dev/null", b32, (long long)now);
	free(b32);
	if ((p = popen(cmd, "r")) == NULL) {
		ok(1, "oathtool agrees # SKIP cannot run a shell");
		return;
	}
	if (fgets(code, sizeof(code), p) != NULL)
		code[strcspn(code, "\n")] = '\0';
	status = pclose(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 127) {
		ok(1, "oathtool agrees # SKIP oathtool not installed");
		return;
	}
	is_int(totp_verify(secret, sizeof(secret), code, now, 0, -1), now / 30,
	    "oathtool's code for a new secret accepted (%s)", code);
}

int
main(void)
{
	test_rfc_vectors();
	test_window();
	test_replay();
	test_malformed();
	test_encoding();
	test_oathtool();
	return done_testing();
}
