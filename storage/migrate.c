/*
 * migrate.c - forward-only migrations, applied by the CLI.
 *
 * Each migration runs in its own transaction together with the row that
 * records it in schema_migrations, so a failed migration leaves nothing
 * half done. This file blocks on libpq: it is never linked into the loop's
 * request path.
 */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

/* Any constant; it only has to be the same for every migrator. */
#define MIGRATION_LOCK_KEY 0x6d61646fL

const char migrations_version_sql[] =
    "SELECT coalesce(max(version), 0) FROM schema_migrations";

int
migrations_latest(void)
{
	if (storage_migrations_count == 0)
		return 0;
	return storage_migrations[storage_migrations_count - 1].version;
}

/* Runs sql; false with err set unless the server answered OK. */
static bool
migrate_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

int
migrations_applied(PGconn *conn, char *err, size_t errlen)
{
	PGresult *res;
	int v = -1;

	/* A fresh database has no schema_migrations yet: that is version 0. */
	res = PQexec(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		return 0;
	}
	PQclear(res);
	res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		v = atoi(PQgetvalue(res, 0, 0));
	else
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
	PQclear(res);
	return v;
}

static bool
migrate_one(PGconn *conn, const struct migration *m, char *err, size_t errlen)
{
	char version[16];
	const char *params[2] = { version, m->name };
	PGresult *res;
	bool ok;

	if (!migrate_exec(conn, "BEGIN", err, errlen))
		return false;
	if (!migrate_exec(conn, m->sql, err, errlen))
		goto rollback;
	snprintf(version, sizeof(version), "%d", m->version);
	res = PQexecParams(conn, "INSERT INTO schema_migrations (version, name) "
	    "VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
	PQclear(res);
	if (ok && migrate_exec(conn, "COMMIT", err, errlen))
		return true;
rollback:
	{
		char ignored[256];

		(void)migrate_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
	}
	return false;
}

bool
migrations_apply(PGconn *conn, FILE *out, char *err, size_t errlen)
{
	char why[512];
	bool ok = true;
	int have;

	/* The lock first: two migrators on a fresh database must not race. */
	snprintf(why, sizeof(why), "SELECT pg_advisory_lock(%ld)", MIGRATION_LOCK_KEY);
	if (!migrate_exec(conn, "SET client_min_messages = warning", err, errlen) ||
	    !migrate_exec(conn, why, err, errlen))
		return false;
	if (!migrate_exec(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())", err, errlen)) {
		ok = false;
		goto unlock;
	}
	if ((have = migrations_applied(conn, err, errlen)) < 0) {
		ok = false;
		goto unlock;
	}
	for (size_t i = 0; i < storage_migrations_count && ok; i++) {
		const struct migration *m = &storage_migrations[i];

		if (m->version <= have)
			continue;
		if (!migrate_one(conn, m, why, sizeof(why))) {
			snprintf(err, errlen, "migration %03d_%s failed: %s",
			    m->version, m->name, why);
			ok = false;
			break;
		}
		fprintf(out, "applied %03d_%s\n", m->version, m->name);
	}
	if (ok && have == migrations_latest())
		fprintf(out, "schema is current (version %d)\n", have);
unlock:
	snprintf(why, sizeof(why), "SELECT pg_advisory_unlock(%ld)", MIGRATION_LOCK_KEY);
	(void)migrate_exec(conn, why, why, sizeof(why));
	return ok;
}
