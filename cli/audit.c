/*
 * audit.c - `madoguchi audit verify`: walks the audit trail's hash chain
 * outside the database and names the first entry that does not hold.
 *
 * Each entry's hash is SHA-256 over the previous entry's hash and the
 * entry's own fields, joined by U+001F (storage/migrations/006_crisis.sql,
 * audit_entry_text: the two must agree). The fields are read raw and the
 * hash recomputed here, so a database whose functions were replaced
 * cannot vouch for itself. Rewriting every hash from an altered entry on
 * would go unseen: the head printed at the end is what to keep elsewhere
 * (the daily work log) to catch that too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli.h"

#define AUDIT_PAGE	"5000"

static const char audit_usage[] =
"usage: madoguchi audit verify\n"
"  checks the audit trail's hash chain; prints the number of entries and\n"
"  the hash of the last one, or the first entry that was altered, removed\n"
"  or reordered (exit 1)\n";

/* The fields in the order they are hashed, as text; then the hashes. */
static const char audit_page_sql[] =
"SELECT id::text,"
"  to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
"  coalesce(staff_id::text, ''), actor, action, coalesce(object_type, ''),"
"  coalesce(object_id::text, ''), coalesce(detail::text, ''),"
"  coalesce(host(ip), ''), encode(prev_hash, 'hex'), encode(hash, 'hex')"
"  FROM audit_log WHERE id > $1::bigint"
" ORDER BY audit_log.id LIMIT " AUDIT_PAGE;	/* the column, not the text */

#define AUDIT_FIELDS	9

struct chain {
	unsigned char	prev[EVP_MAX_MD_SIZE];
	unsigned int	prevlen;
	long long	entries;
	char		last_id[24];
};

static void
to_hex(const unsigned char *b, unsigned int n, char *out)
{
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = '\0';
}

/* SHA-256 of the previous hash and the row's fields. */
static bool
entry_hash(const struct chain *c, const PGresult *res, int row,
    unsigned char *out, unsigned int *outlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, c->prev, c->prevlen);

	for (int f = 0; ok && f < AUDIT_FIELDS; f++)
		ok = (f == 0 || EVP_DigestUpdate(ctx, "\x1f", 1)) &&
		    EVP_DigestUpdate(ctx, PQgetvalue(res, row, f),
		    (size_t)PQgetlength(res, row, f));
	ok = ok && EVP_DigestFinal_ex(ctx, out, outlen);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Checks one row against the chain so far; false after saying why. */
static bool
entry_check(struct chain *c, const PGresult *res, int row)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	char prev_hex[2 * EVP_MAX_MD_SIZE + 1], hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int hlen;
	const char *id = PQgetvalue(res, row, 0);

	to_hex(c->prev, c->prevlen, prev_hex);
	if (strcmp(PQgetvalue(res, row, AUDIT_FIELDS), prev_hex) != 0) {
		printf("audit: entry %s does not follow entry %s: an entry "
		    "between them was removed, or %s was altered\n", id,
		    c->entries ? c->last_id : "(none)", id);
		return false;
	}
	if (!entry_hash(c, res, row, h, &hlen)) {
		fprintf(stderr, "madoguchi: cannot compute SHA-256\n");
		return false;
	}
	to_hex(h, hlen, hex);
	if (strcmp(PQgetvalue(res, row, AUDIT_FIELDS + 1), hex) != 0) {
		printf("audit: entry %s was altered: its content does not match "
		    "its hash\n", id);
		return false;
	}
	memcpy(c->prev, h, hlen);
	c->prevlen = hlen;
	c->entries++;
	snprintf(c->last_id, sizeof(c->last_id), "%s", id);
	return true;
}

static int
audit_verify(struct cli *cli)
{
	struct chain c = { .prevlen = 0, .entries = 0, .last_id = "0" };
	char head[2 * EVP_MAX_MD_SIZE + 1];
	PGconn *conn = cli_connect(cli);
	int rc = 0;

	if (conn == NULL)
		return 1;
	for (;;) {
		const char *params[1] = { c.last_id };
		PGresult *res = cli_exec(conn, audit_page_sql, 1, params);
		int n;

		if (res == NULL) {
			rc = 1;
			break;
		}
		n = PQntuples(res);
		for (int r = 0; r < n && rc == 0; r++)
			if (!entry_check(&c, res, r))
				rc = 1;
		PQclear(res);
		if (rc != 0 || n < atoi(AUDIT_PAGE))
			break;
	}
	PQfinish(conn);
	if (rc == 0) {
		to_hex(c.prev, c.prevlen, head);
		printf("audit: %lld entries, chain intact, last entry %s, "
		    "hash %s\n", c.entries, c.last_id, c.prevlen ? head : "-");
	}
	return rc;
}

int
cli_audit(struct cli *cli)
{
	if (cli->argc == 2 && strcmp(cli->argv[1], "verify") == 0)
		return audit_verify(cli);
	fputs(audit_usage, cli->argc == 2 && strcmp(cli->argv[1], "help") == 0 ?
	    stdout : stderr);
	return cli->argc == 2 && strcmp(cli->argv[1], "help") == 0 ? 0 : 2;
}
