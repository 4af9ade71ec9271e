/*
 * settings.c - `madoguchi settings`: the desk's settings and auto-reply
 * texts. Every value is checked the way the daemon will read it before it
 * is stored, and every change is kept with who made it and when.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "autoreply.h"
#include "cli.h"
#include "console.h"
#include "crisis.h"

#define SETTINGS_FILE_MAX	(64 * 1024)

static const char settings_usage[] =
"usage: madoguchi settings <subcommand>\n"
"  list                         every setting (JSON values)\n"
"  get KEY                      one setting's JSON value\n"
"  set KEY JSON [--by WHO]      change it, e.g. set min_staff_on_duty 1\n"
"  set KEY --text TEXT          a text setting from plain text\n"
"  set KEY --file PATH          ... or from a UTF-8 file\n"
"  history [KEY]                who changed what, and when\n"
"Texts may use {desk} {audience} {hours} {next_open} {hotlines} {queue}\n"
"{ahead}; an empty text (\"\") turns that auto-reply off.\n"
"crisis_terms: the desk's own crisis lexicon lines, a JSON array of\n"
"{\"kind\", \"rule\", \"pattern\", \"flags\"} (format: crisis/crisis.h).\n";

/* $1 key, $2 value, $3 who: the desk-wide value (channel NULL). */
static const char settings_set_sql[] =
"WITH old AS ("
"  SELECT value FROM settings WHERE channel_id IS NULL AND key = $1"
"), up AS ("
"  INSERT INTO settings (key, value, updated_by) VALUES ($1, $2::jsonb, $3)"
"  ON CONFLICT ((coalesce(channel_id, 0)), key) DO UPDATE SET"
"    value = EXCLUDED.value, updated_by = EXCLUDED.updated_by,"
"    updated_at = now()"
"  RETURNING value"
") "
"INSERT INTO settings_changes (key, old_value, new_value, changed_by)"
"  SELECT $1, (SELECT value FROM old), up.value, $3 FROM up "
"RETURNING pg_notify('madoguchi_settings', $1)";

static const char settings_list_sql[] =
"SELECT key, value::text, updated_by,"
"  to_char(updated_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD HH24:MI')"
"  FROM settings WHERE channel_id IS NULL ORDER BY key";

static const char settings_history_sql[] =
"SELECT to_char(changed_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD HH24:MI:SS'),"
"  changed_by, key, coalesce(old_value::text, '-'),"
"  coalesce(new_value::text, '-')"
"  FROM settings_changes WHERE $1::text IS NULL OR key = $1"
" ORDER BY id";

static int
settings_list(struct cli *cli, const char *only)
{
	PGresult *res;
	int found = 0;

	if (cli_query(cli, settings_list_sql, 0, NULL, &res) != 0)
		return 1;
	for (int i = 0; i < PQntuples(res); i++) {
		if (only != NULL && strcmp(only, PQgetvalue(res, i, 0)) != 0)
			continue;
		found++;
		if (only != NULL)
			printf("%s\n", PQgetvalue(res, i, 1));
		else
			printf("%s\t%s\t(%s, %s JST)\n", PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
			    PQgetvalue(res, i, 3));
	}
	PQclear(res);
	if (only != NULL && found == 0) {
		fprintf(stderr, "madoguchi: no setting \"%s\" (see settings "
		    "list)\n", only);
		return 1;
	}
	return 0;
}

static int
settings_history(struct cli *cli)
{
	const char *params[1] = { cli->argc > 2 ? cli->argv[2] : NULL };
	PGresult *res;

	if (cli_query(cli, settings_history_sql, 1, params, &res) != 0)
		return 1;
	for (int i = 0; i < PQntuples(res); i++)
		printf("%s JST\t%s\t%s\t%.200s -> %.200s\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		    PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
	PQclear(res);
	return 0;
}

/* A whole file as text; NULL after saying why. */
static char *
settings_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		perror(path);
		return NULL;
	}
	buf = malloc(SETTINGS_FILE_MAX + 1);
	n = buf != NULL ? fread(buf, 1, SETTINGS_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n > SETTINGS_FILE_MAX) {
		fprintf(stderr, "madoguchi: %s: too large\n", path);
		free(buf);
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return buf;
}

/* The JSON to store: as given, or a plain text made a JSON string. */
static char *
settings_value(const char *json, const char *text, const char *file)
{
	char *plain = NULL, *out;
	cJSON *s;

	if (json != NULL)
		return strdup(json);
	if (file != NULL && (plain = settings_read_file(file)) == NULL)
		return NULL;
	s = cJSON_CreateString(plain != NULL ? plain : text);
	out = s != NULL ? cJSON_PrintUnformatted(s) : NULL;
	cJSON_Delete(s);
	free(plain);
	return out;
}

static int
settings_set(struct cli *cli, const char *by)
{
	const char *text = NULL, *file = NULL, *params[3];
	struct desk_settings scratch;
	char err[256], *value;
	PGresult *res;
	bool ok;
	int rc;

	(void)cli_take_flag(cli, "--text", true, &text);
	(void)cli_take_flag(cli, "--file", true, &file);
	if (cli->argc != 3 + (text == NULL && file == NULL) ||
	    (text != NULL && file != NULL)) {
		fputs(settings_usage, stderr);
		return 2;
	}
	value = settings_value(text == NULL && file == NULL ? cli->argv[3] :
	    NULL, text, file);
	if (value == NULL)
		return 1;
	desk_settings_init(&scratch);
	ok = desk_settings_apply(&scratch, cli->argv[2], value, err, sizeof(err));
	desk_settings_free(&scratch);
	if (!ok && strcmp(cli->argv[2], "crisis_terms") == 0)
		ok = crisis_terms_valid(cli->cfg.crisis_lexicon, value, err,
		    sizeof(err));
	else if (!ok && strcmp(cli->argv[2], "crisis_alert") == 0)
		ok = crisis_alert_setting_valid(value, err, sizeof(err));
	else if (!ok && strstr(err, "no such setting") != NULL)	/* the console's? */
		ok = console_setting_valid(cli->argv[2], value, err,
		    sizeof(err));
	if (ok && strcmp(cli->argv[2], "line_mode") == 0 &&
	    strstr(value, "strict") != NULL && cli->cfg.public_url[0] == '\0') {
		/* Nobody could open the web chat, nor read a reply in it. */
		snprintf(err, sizeof(err), "line_mode: strict needs public_url "
		    "(the https address people reach the desk at) in the "
		    "configuration first");
		ok = false;
	}
	if (!ok) {
		fprintf(stderr, "madoguchi: %s\n", err);
		free(value);
		return 2;
	}
	params[0] = cli->argv[2];
	params[1] = value;
	params[2] = cli_actor(by);
	rc = cli_query(cli, settings_set_sql, 3, params, &res);
	if (rc == 0) {
		printf("%s: changed by %s\n", cli->argv[2], params[2]);
		PQclear(res);
	}
	free(value);
	return rc;
}

int
cli_settings(struct cli *cli)
{
	const char *by = NULL, *sub;

	(void)cli_take_flag(cli, "--by", true, &by);
	sub = cli->argc > 1 ? cli->argv[1] : "help";
	if (strcmp(sub, "list") == 0 && cli->argc == 2)
		return settings_list(cli, NULL);
	if (strcmp(sub, "get") == 0 && cli->argc == 3)
		return settings_list(cli, cli->argv[2]);
	if (strcmp(sub, "set") == 0)
		return settings_set(cli, by);
	if (strcmp(sub, "history") == 0 && cli->argc <= 3)
		return settings_history(cli);
	fputs(settings_usage, strcmp(sub, "help") == 0 ? stdout : stderr);
	return strcmp(sub, "help") == 0 ? 0 : 2;
}
