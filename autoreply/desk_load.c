/*
 * desk_load.c - reading the desk's settings and calendar exceptions out of
 * the database, for the daemon (on its loop) and the CLI (blocking) alike.
 */
#include "autoreply.h"

#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

/* $1 channel kind, $2 channel name: a desk's own values over the defaults. */
const char desk_settings_sql[] =
"WITH ch AS (SELECT id FROM channels WHERE kind = $1 AND name = $2) "
"SELECT * FROM (SELECT DISTINCT ON (key) 's', key, value::text, NULL, NULL,"
"    NULL FROM settings"
"   WHERE channel_id IS NULL OR channel_id = (SELECT id FROM ch)"
"   ORDER BY key, channel_id NULLS LAST) s "
"UNION ALL "
"SELECT 'x', day::text, kind, opens::text, closes::text, name"
"  FROM calendar_exceptions"
" WHERE channel_id IS NULL OR channel_id = (SELECT id FROM ch)";

static const char *
desk_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* A key this version does not know (a newer one wrote it) is passed over. */
static bool
desk_known_key(const char *key)
{
	for (size_t i = 0; desk_setting_keys[i] != NULL; i++)
		if (strcmp(key, desk_setting_keys[i]) == 0)
			return true;
	return false;
}

int
desk_settings_load_result(struct desk_settings *d, const PGresult *res,
    char *err, size_t errlen)
{
	int problems = 0;
	char why[256];

	for (int i = 0; i < PQntuples(res); i++) {
		bool ok;

		if (PQgetvalue(res, i, 0)[0] == 's') {
			if (!desk_known_key(PQgetvalue(res, i, 1)))
				continue;
			ok = desk_settings_apply(d, PQgetvalue(res, i, 1),
			    PQgetvalue(res, i, 2), why, sizeof(why));
		} else
			ok = desk_settings_add_exception(d, PQgetvalue(res, i, 1),
			    PQgetvalue(res, i, 2), desk_value(res, i, 3),
			    desk_value(res, i, 4), desk_value(res, i, 5), why,
			    sizeof(why));
		if (!ok && problems++ == 0)
			snprintf(err, errlen, "%s", why);
	}
	return problems;
}
