/*
 * calendar.c - `madoguchi calendar`: the desk's business calendar as the
 * daemon sees it (national holidays, hours, closures, exceptions), and the
 * administrator's changes to its dated exceptions, each one recorded with
 * who made it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoreply.h"
#include "cli.h"
#include "clock.h"

static const char calendar_usage[] =
"usage: madoguchi calendar <subcommand> [--defaults] [--by WHO]\n"
"  holidays YEAR               the year's national holidays, YYYY-MM-DD<TAB>name\n"
"  check TIME                  open or not at TIME (ISO 8601 with zone), when\n"
"                              the desk next opens, and the reply deadline\n"
"  list                        the dated exceptions\n"
"  close DATE                  close the desk on DATE\n"
"  open DATE [HH:MM-HH:MM]     open it on DATE (default: that weekday's hours)\n"
"  holiday-add DATE NAME       a national holiday the law added\n"
"  holiday-cancel DATE         a computed national holiday that is not one\n"
"  remove DATE KIND            drop an exception (closed, open, holiday_add,\n"
"                              holiday_cancel)\n"
"--defaults: the built-in calendar (Mon-Fri 11:00-20:00, holidays and\n"
"12/29-1/3 closed), no database. Changes notify running daemons.\n";

/* $1 day, $2 kind, $3 opens, $4 closes, $5 name, $6 who */
static const char calendar_add_sql[] =
"WITH old AS ("	/* what a change of an existing exception replaces */
"  SELECT day, kind, opens, closes, name FROM calendar_exceptions"
"   WHERE channel_id IS NULL AND day = $1::date AND kind = $2"
"), ins AS ("
"  INSERT INTO calendar_exceptions (day, kind, opens, closes, name, created_by)"
"  VALUES ($1::date, $2, $3::time, $4::time, $5, $6)"
"  ON CONFLICT ((coalesce(channel_id, 0)), day, kind) DO UPDATE SET"
"    opens = EXCLUDED.opens, closes = EXCLUDED.closes, name = EXCLUDED.name,"
"    created_by = EXCLUDED.created_by, created_at = now()"
"  RETURNING day, kind, opens, closes, name"
") "
"INSERT INTO settings_changes (key, old_value, new_value, changed_by)"
"  SELECT 'calendar_exceptions', (SELECT to_jsonb(old) FROM old),"
"    to_jsonb(ins), $6 FROM ins "
"RETURNING pg_notify('madoguchi_settings', 'calendar')";

/* $1 day, $2 kind, $3 who */
static const char calendar_remove_sql[] =
"WITH del AS ("
"  DELETE FROM calendar_exceptions"
"   WHERE channel_id IS NULL AND day = $1::date AND kind = $2"
"  RETURNING day, kind, opens, closes, name"
") "
"INSERT INTO settings_changes (key, old_value, changed_by)"
"  SELECT 'calendar_exceptions', to_jsonb(del), $3 FROM del "
"RETURNING pg_notify('madoguchi_settings', 'calendar')";

static const char calendar_list_sql[] =
"SELECT day::text, kind, coalesce(to_char(opens, 'HH24:MI') || '-' ||"
"  to_char(closes, 'HH24:MI'), ''), coalesce(name, ''), created_by,"
"  to_char(created_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD HH24:MI')"
"  FROM calendar_exceptions WHERE channel_id IS NULL ORDER BY day, kind";

static int
calendar_holidays(struct cli *cli, const struct desk_settings *d)
{
	struct cal_date day;
	char *end;
	long year;

	if (cli->argc != 3 || (year = strtol(cli->argv[2], &end, 10),
	    *end != '\0')) {
		fputs(calendar_usage, stderr);
		return 2;
	}
	if (year < JP_HOLIDAY_YEAR_MIN || year > JP_HOLIDAY_YEAR_MAX) {
		fprintf(stderr, "madoguchi: national holidays are computed for "
		    "%d to %d\n", JP_HOLIDAY_YEAR_MIN, JP_HOLIDAY_YEAR_MAX);
		return 2;
	}
	/* Day by day, so the desk's added and cancelled holidays count too. */
	for (day = (struct cal_date){ (int)year, 1, 1 }; day.y == year;
	    day = cal_date_add_days(day, 1)) {
		const char *name = calendar_holiday_name(&d->cal, day);

		if (name != NULL)
			printf("%04d-%02d-%02d\t%s\n", day.y, day.m, day.d, name);
	}
	return 0;
}

static void
print_instant(const char *key, int64_t t)
{
	char buf[CAL_LOCAL_ISO_LEN];

	if (t < 0) {
		printf("%s: none\n", key);
		return;
	}
	cal_format_local(t, buf);
	printf("%s: %s\n", key, buf);
}

static int
calendar_check(struct cli *cli, const struct desk_settings *d)
{
	int64_t us, t;

	if (cli->argc != 3) {
		fputs(calendar_usage, stderr);
		return 2;
	}
	if (!clock_parse_iso8601(cli->argv[2], &us)) {
		fprintf(stderr, "madoguchi: \"%s\": expected a time like "
		    "2026-12-28T20:30+09:00 (with its zone)\n", cli->argv[2]);
		return 2;
	}
	t = us / 1000000;
	printf("open: %s\n", calendar_is_open(&d->cal, t) ? "yes" : "no");
	print_instant("next_open", calendar_next_open(&d->cal, t));
	print_instant("reply_due", desk_reply_due(d, t));
	return 0;
}

static int
calendar_list(struct cli *cli)
{
	PGconn *conn = cli_connect(cli);
	PGresult *res;

	if (conn == NULL)
		return 1;
	if ((res = cli_exec(conn, calendar_list_sql, 0, NULL)) == NULL) {
		PQfinish(conn);
		return 1;
	}
	for (int i = 0; i < PQntuples(res); i++)
		printf("%s\t%s\t%s\t%s\t(%s, %s JST)\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		    PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
		    PQgetvalue(res, i, 5));
	if (PQntuples(res) == 0)
		printf("no exceptions: the weekly hours, closures and national "
		    "holidays apply\n");
	PQclear(res);
	PQfinish(conn);
	return 0;
}

/* Runs one change; says what happened. */
static int
calendar_change(struct cli *cli, const char *sql, int n,
    const char *const *params, const char *done)
{
	PGconn *conn = cli_connect(cli);
	PGresult *res;
	int rc = 1;

	if (conn == NULL)
		return 1;
	if ((res = cli_exec(conn, sql, n, params)) != NULL) {
		if (PQntuples(res) == 0)
			fprintf(stderr, "madoguchi: no such exception\n");
		else {
			printf("%s\n", done);
			rc = 0;
		}
		PQclear(res);
	}
	PQfinish(conn);
	return rc;
}

/* "11:00-15:00" into its two halves. */
static bool
split_hours(const char *s, char opens[6], char closes[6])
{
	if (strlen(s) != 11 || s[5] != '-')
		return false;
	memcpy(opens, s, 5);
	opens[5] = '\0';
	memcpy(closes, s + 6, 5);
	closes[5] = '\0';
	return true;
}

static int
calendar_add(struct cli *cli, const char *kind, const char *by)
{
	const char *day = cli->argc > 2 ? cli->argv[2] : NULL, *name = NULL;
	char opens[6], closes[6], err[256], done[160];
	const char *params[6];
	struct desk_settings scratch;
	bool hours = false, ok;

	if (strcmp(kind, "holiday_add") == 0)
		name = cli->argc == 4 ? cli->argv[3] : NULL;
	else if (strcmp(kind, "open") == 0 && cli->argc == 4)
		hours = split_hours(cli->argv[3], opens, closes);
	if (day == NULL || (name == NULL && strcmp(kind, "holiday_add") == 0) ||
	    (cli->argc == 4 && name == NULL && !hours) || cli->argc > 4) {
		fputs(calendar_usage, stderr);
		return 2;
	}
	desk_settings_init(&scratch);
	ok = desk_settings_add_exception(&scratch, day, kind, hours ? opens :
	    NULL, hours ? closes : NULL, name, err, sizeof(err));
	desk_settings_free(&scratch);
	if (!ok) {
		fprintf(stderr, "madoguchi: %s (DATE is YYYY-MM-DD; hours "
		    "HH:MM-HH:MM, opening first)\n", err);
		return 2;
	}
	params[0] = day;
	params[1] = kind;
	params[2] = hours ? opens : NULL;
	params[3] = hours ? closes : NULL;
	params[4] = name;
	params[5] = cli_actor(by);
	snprintf(done, sizeof(done), "%s %s: recorded by %s", day, kind,
	    params[5]);
	return calendar_change(cli, calendar_add_sql, 6, params, done);
}

static int
calendar_remove(struct cli *cli, const char *by)
{
	const char *params[3];
	char done[160];

	if (cli->argc != 4) {
		fputs(calendar_usage, stderr);
		return 2;
	}
	params[0] = cli->argv[2];
	params[1] = cli->argv[3];
	params[2] = cli_actor(by);
	snprintf(done, sizeof(done), "%s %s: removed by %s", params[0],
	    params[1], params[2]);
	return calendar_change(cli, calendar_remove_sql, 3, params, done);
}

int
cli_calendar(struct cli *cli)
{
	static const struct { const char *sub, *kind; } adds[] = {
		{ "close", "closed" }, { "open", "open" },
		{ "holiday-add", "holiday_add" },
		{ "holiday-cancel", "holiday_cancel" },
	};
	bool defaults = cli_take_flag(cli, "--defaults", false, NULL);
	const char *by = NULL, *sub;
	struct desk_settings d;
	int rc;

	(void)cli_take_flag(cli, "--by", true, &by);
	sub = cli->argc > 1 ? cli->argv[1] : "help";
	if (strcmp(sub, "holidays") == 0 || strcmp(sub, "check") == 0) {
		if (!cli_desk_load(cli, !defaults, &d))
			return 1;
		rc = sub[0] == 'h' ? calendar_holidays(cli, &d) :
		    calendar_check(cli, &d);
		desk_settings_free(&d);
		return rc;
	}
	if (strcmp(sub, "list") == 0)
		return calendar_list(cli);
	if (strcmp(sub, "remove") == 0)
		return calendar_remove(cli, by);
	for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++)
		if (strcmp(sub, adds[i].sub) == 0)
			return calendar_add(cli, adds[i].kind, by);
	fputs(calendar_usage, strcmp(sub, "help") == 0 ? stdout : stderr);
	return strcmp(sub, "help") == 0 ? 0 : 2;
}
