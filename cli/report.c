/*
 * report.c - `madoguchi report`: the desk's reports from the command line,
 * the same documents and files the console gives (report/), each one
 * written to the audit trail.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "autoreply.h"
#include "clock.h"
#include "report.h"
#include "seal.h"

static const char report_usage[] =
"usage: madoguchi report KIND PERIOD [--format text|csv|xlsx|json] [--output FILE]\n"
"       madoguchi report worklog-month MONTH --output FILE.zip [--password-file FILE]\n"
"  KIND and PERIOD:\n"
"    monthly 2026-11     the month's statistics\n"
"    annual 2026         the fiscal year April 2026 to March 2027\n"
"    line-use 2026-11    the month's LINE use, for the commissioner\n"
"    worklog 2026-11-05  one day's work log\n"
"  --format: text (the default) and json print; csv and xlsx need --output\n"
"  unless csv goes to standard output. worklog-month writes every day's log\n"
"  of the month as CSV into an AES-256 encrypted ZIP; its password is read\n"
"  from --password-file (first line) or asked for on the terminal, and\n"
"  kept nowhere. Every report made is written to the audit trail.\n";

static const char report_audit_sql[] =
"INSERT INTO audit_log (actor, action, object_type, detail)"
" VALUES ($1, 'report.export', 'report', json_build_object('kind', $2::text,"
"   'period', $3::text, 'format', $4::text))";

struct report_run {
	struct cli		*cli;
	PGconn			*conn;
	struct desk_settings	 desk;
	struct keyring		*keys;
	char			 now[CLOCK_ISO_LEN];
};

/* The document of one period, or NULL after saying why. */
static cJSON *
report_make(struct report_run *r, const struct report_period *p)
{
	const char *params[REPORT_NPARAMS];
	char err[256];
	PGresult *res;
	cJSON *doc;

	report_params(p, "line", r->cli->cfg.channel_name, params);
	if ((res = cli_exec(r->conn, report_sql(p->kind), REPORT_NPARAMS,
	    params)) == NULL)
		return NULL;
	doc = report_finish(p, PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) :
	    NULL, r->desk.desk_name, &r->desk, r->keys, r->now, err,
	    sizeof(err));
	PQclear(res);
	if (doc == NULL)
		fprintf(stderr, "madoguchi: %s\n", err);
	return doc;
}

static bool
report_audit(struct report_run *r, const char *kind, const char *period,
    const char *format)
{
	const char *params[4] = { cli_actor(NULL), kind, period, format };
	PGresult *res = cli_exec(r->conn, report_audit_sql, 4, params);

	PQclear(res);
	return res != NULL;
}

/* Staff wrote some of it (notes, reasons, names): it must not drive the
 * admin's terminal. */
static void
print_inert(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 && *s != '\n' ? ' ' :
		    *s == 0x7f ? ' ' : *s);
}

static void
print_value(const cJSON *v)
{
	if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble)
		printf("%lld", (long long)v->valuedouble);
	else if (cJSON_IsNumber(v))
		printf("%.10g", v->valuedouble);
	else if (cJSON_IsString(v))
		print_inert(v->valuestring);
	else
		fputs("-", stdout);
}

/* For a person at a terminal: figures, then each table tab-separated. */
static void
print_text(const cJSON *doc)
{
	const cJSON *period = cJSON_GetObjectItemCaseSensitive(doc, "period");
	const cJSON *f, *t, *c, *row;

	printf("%s  %s  %s〜%s\n\n",
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    doc, "title"), "ja")->valuestring,
	    cJSON_GetObjectItemCaseSensitive(doc, "desk")->valuestring,
	    cJSON_GetObjectItemCaseSensitive(period, "from")->valuestring,
	    cJSON_GetObjectItemCaseSensitive(period, "to")->valuestring);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "summary")) {
		printf("%s: ", cJSON_GetObjectItemCaseSensitive(f, "ja")->valuestring);
		print_value(cJSON_GetObjectItemCaseSensitive(f, "value"));
		putchar('\n');
	}
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, "tables")) {
		int i = 0;

		printf("\n[%s]\n", cJSON_GetObjectItemCaseSensitive(t, "ja")->valuestring);
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(t, "columns"))
			printf("%s%s", i++ > 0 ? "\t" : "",
			    cJSON_GetObjectItemCaseSensitive(c, "ja")->valuestring);
		putchar('\n');
		cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(t, "rows")) {
			cJSON_ArrayForEach(c, row) {
				if (c != row->child)
					putchar('\t');
				print_value(c);
			}
			putchar('\n');
		}
	}
}

static bool
write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	bool ok;

	if (fp == NULL) {
		fprintf(stderr, "madoguchi: %s: %s\n", path, strerror(errno));
		return false;
	}
	ok = fwrite(data, 1, len, fp) == len;
	if (fp != stdout)
		ok = fclose(fp) == 0 && ok;
	else
		ok = fflush(fp) == 0 && ok;
	if (!ok)
		fprintf(stderr, "madoguchi: %s: cannot write\n", path);
	return ok;
}

static int
report_output(const cJSON *doc, const char *format, const char *output)
{
	char err[256], *s;
	size_t len;
	bool ok;

	if (strcmp(format, "text") == 0 || strcmp(format, "json") == 0) {
		if (strcmp(format, "text") == 0)
			print_text(doc);
		else {
			s = cJSON_Print(doc);
			puts(s != NULL ? s : "null");
			free(s);
		}
		return 0;
	}
	if (strcmp(format, "csv") == 0) {
		if ((s = report_csv(doc, &len)) == NULL)
			return 1;
		ok = write_file(output != NULL ? output : "-", s, len);
		free(s);
		return ok ? 0 : 1;
	}
	if (output == NULL || strcmp(output, "-") == 0) {
		fprintf(stderr, "madoguchi: xlsx needs --output FILE\n");
		return 2;
	}
	if (!report_xlsx(doc, output, err, sizeof(err))) {
		fprintf(stderr, "madoguchi: %s\n", err);
		return 1;
	}
	return 0;
}

/* A line read with the terminal's echo off. */
static bool
ask_hidden(const char *prompt, char *buf, size_t len)
{
	struct termios was, quiet;
	bool ok;

	fputs(prompt, stderr);
	if (tcgetattr(STDIN_FILENO, &was) != 0)
		return false;
	quiet = was;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	ok = fgets(buf, (int)len, stdin) != NULL;
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &was);
	fputc('\n', stderr);
	buf[strcspn(buf, "\r\n")] = '\0';
	return ok;
}

/* The ZIP's password: from a file, or asked twice; at least 8 bytes. */
static bool
zip_password(const char *file, char *pw, size_t len)
{
	char again[256];
	FILE *fp;
	bool ok;

	if (file != NULL) {
		if ((fp = fopen(file, "r")) == NULL) {
			fprintf(stderr, "madoguchi: %s: %s\n", file, strerror(errno));
			return false;
		}
		ok = fgets(pw, (int)len, fp) != NULL;
		fclose(fp);
		pw[ok ? strcspn(pw, "\r\n") : 0] = '\0';
	} else if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "madoguchi: no terminal to ask the password on: "
		    "give --password-file\n");
		return false;
	} else {
		ok = ask_hidden("password for the ZIP: ", pw, len) &&
		    ask_hidden("the same again: ", again, sizeof(again));
		if (ok && strcmp(pw, again) != 0) {
			fprintf(stderr, "madoguchi: the two passwords differ\n");
			ok = false;
		}
		OPENSSL_cleanse(again, sizeof(again));
	}
	if (ok && strlen(pw) < 8) {
		fprintf(stderr, "madoguchi: the password needs at least 8 "
		    "characters\n");
		ok = false;
	}
	return ok;
}

/* Every day of the month's log, then the ZIP. */
static int
report_worklog_month(struct report_run *r, const char *month,
    const char *output, const char *password_file)
{
	struct report_period m, day;
	cJSON *docs[31];
	char err[256], pw[256] = "";
	size_t n = 0;
	int rc = 1;

	if (!report_period_parse(REPORT_MONTHLY, month, &m, err, sizeof(err))) {
		fprintf(stderr, "madoguchi: %s\n", err);
		return 2;
	}
	if (output == NULL) {
		fprintf(stderr, "madoguchi: worklog-month needs --output FILE.zip\n");
		return 2;
	}
	if (!zip_password(password_file, pw, sizeof(pw)))
		return 2;
	for (int d = 1; d <= 31; d++) {
		char text[32];

		snprintf(text, sizeof(text), "%.7s-%02d", m.from, d);
		if (strcmp(text, m.last) > 0 || !report_period_parse(
		    REPORT_WORKLOG, text, &day, err, sizeof(err)))
			break;
		if ((docs[n] = report_make(r, &day)) == NULL)
			goto out;
		n++;
	}
	if (!report_audit(r, "worklog-month", month, "zip"))
		goto out;
	if (!report_zip((const cJSON *const *)docs, n, pw, output, err,
	    sizeof(err)))
		fprintf(stderr, "madoguchi: %s\n", err);
	else
		rc = 0;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	while (n > 0)
		cJSON_Delete(docs[--n]);
	return rc;
}

static int
report_kind_of(const char *name)
{
	for (int k = 0; k < REPORT_KINDS; k++)
		if (strcmp(name, report_kind_names[k]) == 0)
			return k;
	return -1;
}

static int
report_one(struct report_run *r, int kind, const char *period,
    const char *format, const char *output)
{
	struct report_period p;
	char err[256];
	cJSON *doc;
	int rc;

	if (!report_period_parse((enum report_kind)kind, period, &p, err,
	    sizeof(err))) {
		fprintf(stderr, "madoguchi: %s\n", err);
		return 2;
	}
	if ((doc = report_make(r, &p)) == NULL)
		return 1;
	/* on record before anyone can read it */
	rc = report_audit(r, report_kind_names[kind], period, format) ?
	    report_output(doc, format, output) : 1;
	cJSON_Delete(doc);
	return rc;
}

int
cli_report(struct cli *cli)
{
	const char *format = "text", *output = NULL, *pwfile = NULL;
	struct report_run r = { .cli = cli };
	char err[256];
	int kind = -1, rc = 2;

	(void)cli_take_flag(cli, "--format", true, &format);
	(void)cli_take_flag(cli, "--output", true, &output);
	(void)cli_take_flag(cli, "--password-file", true, &pwfile);
	if (cli->argc == 3)
		kind = report_kind_of(cli->argv[1]);
	if (cli->argc != 3 || (kind < 0 && strcmp(cli->argv[1],
	    "worklog-month") != 0) || (strcmp(format, "text") != 0 &&
	    strcmp(format, "csv") != 0 && strcmp(format, "xlsx") != 0 &&
	    strcmp(format, "json") != 0)) {
		fputs(report_usage, cli->argc == 2 && strcmp(cli->argv[1],
		    "help") == 0 ? stdout : stderr);
		return cli->argc == 2 && strcmp(cli->argv[1], "help") == 0 ? 0 : 2;
	}
	clock_format_utc(clock_now_us(), r.now);
	if ((r.keys = keyring_load(cli->cfg.data_key_file, err,
	    sizeof(err))) == NULL)
		fprintf(stderr, "madoguchi: %s (sealed notes are shown as "
		    "unreadable)\n", err);
	desk_settings_init(&r.desk);
	if (cli_desk_load(cli, true, &r.desk) && (r.conn = cli_connect(cli)) != NULL)
		rc = kind >= 0 ? report_one(&r, kind, cli->argv[2], format, output) :
		    report_worklog_month(&r, cli->argv[2], output, pwfile);
	else
		rc = 1;
	PQfinish(r.conn);
	desk_settings_free(&r.desk);
	keyring_free(r.keys);
	return rc;
}
