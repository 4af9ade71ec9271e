/*
 * keys.c - `madoguchi keys`: the data keys that seal what people told the
 * desk. `rotate` re-seals every sealed value under the key file's active
 * (last) key, in small batches, each its own short transaction that skips
 * rows the daemons hold, so the desk keeps working meanwhile; `status`
 * counts values per key; `retire ID` says whether a key may leave the file.
 *
 * The procedure (deploy/README.md): add the new key's line at the end of
 * the key file, restart every madoguchid (they seal new values with it),
 * run `keys rotate`, check `keys retire OLD`, remove the old line, restart.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "seal.h"

/* A whole number from lo to hi, all of s; -1 otherwise. */
static long
whole_number(const char *s, long lo, long hi)
{
	char *end;
	long n;

	if (s == NULL || *s == '\0')
		return -1;
	n = strtol(s, &end, 10);
	return *end == '\0' && n >= lo && n <= hi ? n : -1;
}

static const char keys_usage[] =
"usage: madoguchi keys status | rotate [--batch N] | retire ID\n"
"  status     how many sealed values each data key holds, column by column\n"
"  rotate     re-seal every value under the key file's last key, in batches\n"
"             (default 200) that skip rows in use; the desk keeps working\n"
"  retire ID  exit 0 when no value is sealed with key ID any more (its line\n"
"             may then leave the key file), else 1 with what remains\n";

/* Every sealed column: table, value, key id, and its seal's name (aad). */
static const struct sealed_column {
	const char	*table, *value, *key_id, *aad;
} sealed_columns[] = {
	{ "messages", "body", "body_key_id", "messages.body" },
	{ "outbox", "payload", "payload_key_id", "outbox.payload" },
	{ "staff", "totp_secret", "totp_key_id", "staff.totp_secret" },
	{ "contacts", "nickname", "nickname_key_id", "contacts.nickname" },
	{ "conversation_events", "body", "body_key_id",
	    "conversation_events.body" },
	{ "case_records", "summary", "summary_key_id", "case_records.summary" },
	{ "referrals", "note", "note_key_id", "referrals.note" },
	{ "follow_ups", "plan", "plan_key_id", "follow_ups.plan" },
	{ "contact_restrictions", "reason", "reason_key_id",
	    "contact_restrictions.reason" },
	{ "crisis_events", "reason", "reason_key_id", "crisis_events.reason" },
	{ "escalation_steps", "detail", "detail_key_id",
	    "escalation_steps.detail" },
	{ "strict_exceptions", "reason", "reason_key_id",
	    "strict_exceptions.reason" },
	{ "work_log_notes", "note", "note_key_id", "work_log_notes.note" },
};
#define NCOLUMNS (sizeof(sealed_columns) / sizeof(sealed_columns[0]))

#define ROTATE_WAIT_S	120	/* rows held by the desk: retried this long */

/* tmpl with {t}, {v} and {k} replaced by the column's table, value and
 * key id: names from the table above, never from input. */
static PGresult *
column_exec(PGconn *conn, const struct sealed_column *c, const char *tmpl,
    int nparams, const char *const *params)
{
	struct evbuffer *sql = evbuffer_new();
	PGresult *res = NULL;

	if (sql == NULL)
		return NULL;
	for (const char *p = tmpl; *p != '\0'; p++) {
		const char *name = p[0] != '{' || p[1] == '\0' || p[2] != '}' ?
		    NULL : p[1] == 't' ? c->table : p[1] == 'v' ? c->value :
		    p[1] == 'k' ? c->key_id : NULL;

		if (name != NULL) {
			evbuffer_add(sql, name, strlen(name));
			p += 2;
		} else
			evbuffer_add(sql, p, 1);
	}
	evbuffer_add(sql, "", 1);
	res = cli_exec(conn, (const char *)evbuffer_pullup(sql, -1), nparams,
	    params);
	evbuffer_free(sql);
	return res;
}

static int
keys_status(PGconn *conn)
{
	for (size_t i = 0; i < NCOLUMNS; i++) {
		const struct sealed_column *c = &sealed_columns[i];
		PGresult *res = column_exec(conn, c, "SELECT {k}, count(*) FROM {t}"
		    " WHERE {v} IS NOT NULL GROUP BY {k} ORDER BY 1", 0, NULL);

		if (res == NULL)
			return 1;
		printf("%s.%s:", c->table, c->value);
		for (int r = 0; r < PQntuples(res); r++)
			printf(" key %s: %s", PQgetvalue(res, r, 0),
			    PQgetvalue(res, r, 1));
		printf("%s\n", PQntuples(res) == 0 ? " none" : "");
		PQclear(res);
	}
	return 0;
}

/* Opens one value (as PostgreSQL prints a bytea) and seals it anew. */
static char *
reseal(const struct keyring *kr, const struct sealed_column *c,
    const char *hex, int key_id, int *new_id)
{
	size_t len;
	char *plain = unseal_pg_hex(kr, key_id, c->aad, hex, &len), *out;

	if (plain == NULL)
		return NULL;
	out = seal_base64(kr, c->aad, plain, len, new_id);
	OPENSSL_cleanse(plain, len);
	free(plain);
	return out;
}

/*
 * One batch: rows not under the active key, locked (NO KEY UPDATE: rows
 * pointing at them, which take KEY SHARE, need not wait), re-sealed,
 * written.
 */
static int
rotate_batch(PGconn *conn, const struct keyring *kr,
    const struct sealed_column *c, const char *active, const char *batch,
    long *done, long *unreadable)
{
	const char *params[2] = { active, batch };
	struct evbuffer *tids = evbuffer_new(), *vals = evbuffer_new();
	PGresult *res, *up;
	int n = -1, new_id = 0;

	if (tids == NULL || vals == NULL)
		goto out;
	PQclear(cli_exec(conn, "BEGIN", 0, NULL));
	res = column_exec(conn, c, "SELECT ctid, {v}::text, {k} FROM {t}"
	    " WHERE {k} <> $1::int AND {v} IS NOT NULL"
	    " LIMIT $2::int FOR NO KEY UPDATE SKIP LOCKED", 2, params);
	if (res == NULL)
		goto rollback;
	n = PQntuples(res);
	for (int r = 0; r < n; r++) {
		char *v = reseal(kr, c, PQgetvalue(res, r, 1),
		    atoi(PQgetvalue(res, r, 2)), &new_id);

		if (v == NULL) {	/* its key is not in the file */
			(*unreadable)++;
			continue;
		}
		evbuffer_add_printf(tids, "%s\"%s\"", evbuffer_get_length(tids) ?
		    "," : "{", PQgetvalue(res, r, 0));
		evbuffer_add_printf(vals, "%s\"%s\"", evbuffer_get_length(vals) ?
		    "," : "{", v);
		free(v);
		(*done)++;
	}
	PQclear(res);
	if (evbuffer_get_length(tids) > 0) {
		char kid[16];
		const char *up_params[3];

		evbuffer_add(tids, "}", 2);
		evbuffer_add(vals, "}", 2);
		snprintf(kid, sizeof(kid), "%d", new_id);
		up_params[0] = (const char *)evbuffer_pullup(tids, -1);
		up_params[1] = (const char *)evbuffer_pullup(vals, -1);
		up_params[2] = kid;
		up = column_exec(conn, c, "UPDATE {t} t SET {v} ="
		    " decode(u.v, 'base64'), {k} = $3::smallint"
		    " FROM unnest($1::tid[], $2::text[]) AS u(tid, v)"
		    " WHERE t.ctid = u.tid", 3, up_params);
		if (up == NULL) {
			n = -1;
			goto rollback;
		}
		PQclear(up);
	}
	PQclear(cli_exec(conn, "COMMIT", 0, NULL));
	goto out;
rollback:
	PQclear(cli_exec(conn, "ROLLBACK", 0, NULL));
out:
	if (tids != NULL)
		evbuffer_free(tids);
	if (vals != NULL)
		evbuffer_free(vals);
	return n;
}

/* Rows of a column still under another key (held ones included). */
static long
column_remaining(PGconn *conn, const struct sealed_column *c,
    const char *active)
{
	const char *params[1] = { active };
	PGresult *res = column_exec(conn, c, "SELECT count(*) FROM {t}"
	    " WHERE {k} <> $1::int AND {v} IS NOT NULL", 1, params);
	long n = res != NULL ? atol(PQgetvalue(res, 0, 0)) : -1;

	PQclear(res);
	return n;
}

static bool
rotate_column(PGconn *conn, const struct keyring *kr,
    const struct sealed_column *c, const char *active, const char *batch)
{
	long done = 0, unreadable = 0, left;
	time_t until = time(NULL) + ROTATE_WAIT_S;
	int n;

	for (;;) {
		while ((n = rotate_batch(conn, kr, c, active, batch, &done,
		    &unreadable)) > 0 && unreadable == 0)
			;
		if (n < 0 || unreadable > 0)
			break;
		/* none free: some may be held by the desk for a moment */
		if ((left = column_remaining(conn, c, active)) <= 0 ||
		    time(NULL) >= until)
			break;
		nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
	}
	left = column_remaining(conn, c, active);
	printf("%s.%s: %ld re-sealed, %ld left%s\n", c->table, c->value, done,
	    left, unreadable > 0 ? " (sealed with a key not in the file)" : "");
	return n >= 0 && left == 0;
}

static int
keys_rotate(struct cli *cli, PGconn *conn, const struct keyring *kr)
{
	const char *batch = "200";
	char active[16], detail[64];
	const char *params[2] = { cli_actor(NULL), detail };
	bool ok = true;

	(void)cli_take_flag(cli, "--batch", true, &batch);
	if (whole_number(batch, 1, 10000) < 0) {
		fprintf(stderr, "madoguchi: --batch: 1 to 10000\n");
		return 2;
	}
	snprintf(active, sizeof(active), "%d", keyring_active_id(kr));
	printf("re-sealing under key %s\n", active);
	for (size_t i = 0; i < NCOLUMNS; i++)
		ok = rotate_column(conn, kr, &sealed_columns[i], active, batch) &&
		    ok;
	snprintf(detail, sizeof(detail), "{\"key\": %s, \"complete\": %s}",
	    active, ok ? "true" : "false");
	PQclear(cli_exec(conn, "INSERT INTO audit_log (actor, action, detail)"
	    " VALUES ($1, 'keys.rotate', $2::jsonb)", 2, params));
	return ok ? 0 : 1;
}

static int
keys_retire(PGconn *conn, const struct keyring *kr, const char *id)
{
	const char *params[1] = { id };
	long total = 0;

	if (atoi(id) == keyring_active_id(kr)) {
		fprintf(stderr, "madoguchi: key %s is the active one (the key "
		    "file's last line): it seals every new value\n", id);
		return 1;
	}
	for (size_t i = 0; i < NCOLUMNS; i++) {
		const struct sealed_column *c = &sealed_columns[i];
		PGresult *res = column_exec(conn, c, "SELECT count(*) FROM {t}"
		    " WHERE {k} = $1::int AND {v} IS NOT NULL", 1, params);
		long n;

		if (res == NULL)
			return 1;
		if ((n = atol(PQgetvalue(res, 0, 0))) > 0)
			printf("%s.%s: %ld sealed with key %s\n", c->table,
			    c->value, n, id);
		total += n;
		PQclear(res);
	}
	if (total > 0) {
		printf("key %s still holds %ld values: run madoguchi keys rotate\n",
		    id, total);
		return 1;
	}
	printf("no value is sealed with key %s: its line may leave the key "
	    "file (restart every madoguchid after)\n", id);
	return 0;
}

int
cli_keys(struct cli *cli)
{
	const char *sub = cli->argc > 1 ? cli->argv[1] : "";
	struct keyring *kr = NULL;
	PGconn *conn = NULL;
	char err[256];
	int rc = 1;

	if (strcmp(sub, "status") != 0 && strcmp(sub, "rotate") != 0 &&
	    !(strcmp(sub, "retire") == 0 && cli->argc == 3 &&
	    whole_number(cli->argv[2], 1, 32767) > 0)) {
		fputs(keys_usage, strcmp(sub, "help") == 0 ? stdout : stderr);
		return strcmp(sub, "help") == 0 ? 0 : 2;
	}
	if (strcmp(sub, "status") != 0 && (kr = keyring_load(
	    cli->cfg.data_key_file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "madoguchi: %s\n", err);
		return 1;
	}
	if ((conn = cli_connect(cli)) != NULL)
		rc = strcmp(sub, "status") == 0 ? keys_status(conn) :
		    strcmp(sub, "rotate") == 0 ? keys_rotate(cli, conn, kr) :
		    keys_retire(conn, kr, cli->argv[2]);
	PQfinish(conn);
	keyring_free(kr);
	return rc;
}
