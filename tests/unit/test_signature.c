/*
 * The LINE signature check, against vectors computed independently with
 * `openssl dgst -sha256 -hmac SECRET -binary | base64`.
 */
#include "tap.h"
#include "webhook.h"

static const char secret[] = "c0ffee0123456789abcdef0123456789";
static const char verify_body[] =
    "{\"destination\":\"U0123456789abcdef0123456789abcdef\",\"events\":[]}";
static const char verify_sig[] = "NLKNgViF2eg0Z66JUzq7J/YISj8DdNueJFrHDc/iZ6U=";
/* Escaped non-ASCII, as LINE sends it: the raw bytes are what is signed. */
static const char escaped_body[] = "{\"events\":[{\"type\":\"message\",\"message\":"
    "{\"type\":\"text\",\"text\":\"\\u3053\\u3093\\u306b\\u3061\\u306f\"}}]}";
static const char escaped_sig[] = "7Bja4HIkgs65svdTnAA1P+U76BDE3UNIBNkutzlibgE=";

static int
check(const char *body, const char *sig)
{
	return line_signature_valid(secret, strlen(secret), body, strlen(body), sig);
}

int
main(void)
{
	char computed[45], tampered[sizeof(verify_body)];

	line_signature_compute(secret, strlen(secret), verify_body,
	    strlen(verify_body), computed);
	is_str(computed, verify_sig, "compute matches openssl dgst");
	ok(check(verify_body, verify_sig), "verification body accepted");
	ok(check(escaped_body, escaped_sig), "\\u-escaped body accepted as sent");
	ok(!check(verify_body, NULL), "missing header rejected");
	ok(!check(verify_body, ""), "empty header rejected");
	ok(!check(verify_body, "NLKNgViF2eg0Z66JUzq7J/YISj8DdNueJFrHDc/iZ6U"),
	    "header without padding rejected");
	ok(!check(verify_body, "NLKNgViF2eg0Z66JUzq7J/YISj8DdNueJFrHDc/iZ6U=x"),
	    "header with extra byte rejected");
	ok(!check(verify_body, "MLKNgViF2eg0Z66JUzq7J/YISj8DdNueJFrHDc/iZ6U="),
	    "one changed character rejected");
	memcpy(tampered, verify_body, sizeof(verify_body));
	tampered[10] ^= 1;
	ok(!check(tampered, verify_sig), "tampered body rejected");
	ok(!line_signature_valid("other-secret", 12, verify_body,
	    strlen(verify_body), verify_sig), "other channel's secret rejected");
	ok(line_signature_valid(secret, strlen(secret), "", 0,
	    "IApt4uUnYuwBy7Ua6jmixPgz0BuTbj+g3/ReavMDCJw="),
	    "empty body has its own signature");
	return done_testing();
}
