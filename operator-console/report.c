/*
 * report.c - the reports in the console (admin, supervisor): the same
 * documents as `madoguchi report` (report/), as JSON for the console's
 * own charts, or as files (CSV, xlsx, the month's work logs in an AES-256
 * ZIP). Every report asked for is written to the audit trail first: if
 * that cannot be written, no report is given. The files are made on the
 * offload threads, never on the loop.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "autoreply.h"
#include "log.h"
#include "offload.h"
#include "report.h"

#define REPORT_PASSWORD_MIN	8
#define REPORT_PASSWORD_MAX	128
#define REPORT_NOTE_MAX		8000	/* bytes */

enum report_format { FORMAT_JSON, FORMAT_CSV, FORMAT_XLSX, FORMAT_ZIP };

static const char *const format_names[] = { "json", "csv", "xlsx", "zip" };

/* $1 staff, $2 actor, $3 now, $4 kind, $5 period, $6 format, $7 ip */
static const char report_audit_sql[] =
"INSERT INTO audit_log (at, staff_id, actor, action, object_type, detail, ip)"
" VALUES ($3::timestamptz, $1::bigint, $2, CASE $6 WHEN 'json'"
"   THEN 'report.view' ELSE 'report.export' END, 'report',"
"   json_build_object('kind', $4::text, 'period', $5::text,"
"     'format', $6::text), $7::inet)";

struct report_job {
	struct report_period	 period;
	enum report_format	 format;
	struct desk_settings	 desk;
	char			*rows[31];	/* the statements' answers */
	size_t			 nrows;
	cJSON			*docs[31];
	size_t			 ndocs;
	struct report_period	 days[31];	/* worklog export: the month */
	size_t			 ndays;
	char			 password[REPORT_PASSWORD_MAX + 1];
	/* made on an offload thread */
	char			*file;
	size_t			 file_len;
	char			 err[256];
};

static void
job_free(struct report_job *j)
{
	if (j == NULL)
		return;
	desk_settings_free(&j->desk);
	for (size_t i = 0; i < j->ndocs; i++)
		cJSON_Delete(j->docs[i]);
	for (size_t i = 0; i < j->nrows; i++)
		free(j->rows[i]);
	OPENSSL_cleanse(j->password, sizeof(j->password));
	free(j->file);
	free(j);
}

static void
job_error(struct api_call *call, int status, const char *code,
    const char *message)
{
	job_free(call->state);
	call->state = NULL;
	api_error(call, status, code, message);
}

static void
job_db_error(struct api_call *call, const char *what, const PGresult *res,
    const char *why)
{
	job_free(call->state);
	call->state = NULL;
	api_db_error(call, what, res, why);
}

/* ---- answering ---- */

static void
reply_file(struct api_call *call, const char *type, const char *ext)
{
	struct report_job *j = call->state;
	char name[128];

	report_file_name(j->docs[0], ext, name, sizeof(name));
	if (j->format == FORMAT_ZIP)
		snprintf(name, sizeof(name), "madoguchi-worklog-%s.zip",
		    j->period.name);
	api_reply_file(call, type, name, j->file, j->file_len);
	job_free(j);
}

/* The documents from the statements' rows. */
static bool
make_docs(struct api_call *call, struct report_job *j)
{
	for (size_t i = 0; i < j->nrows; i++) {
		const struct report_period *p = j->ndays > 0 ? &j->days[i] :
		    &j->period;

		if ((j->docs[j->ndocs] = report_finish(p, j->rows[i],
		    j->desk.desk_name, &j->desk, call->c->keys, call->now,
		    j->err, sizeof(j->err))) == NULL)
			return false;
		j->ndocs++;
	}
	return true;
}

/* xlsx and ZIP, in memory (libxlsxwriter and libzip write to a path). */
static void
make_file(struct report_job *j)
{
	const char *dir = getenv("TMPDIR");
	char path[256];
	FILE *fp;
	long n;
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/madoguchi-report-XXXXXX",
	    dir != NULL && dir[0] == '/' ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0) {
		snprintf(j->err, sizeof(j->err), "no temporary file");
		return;
	}
	close(fd);
	ok = j->format == FORMAT_XLSX ?
	    report_xlsx(j->docs[0], path, j->err, sizeof(j->err)) :
	    report_zip((const cJSON *const *)j->docs, j->ndocs, j->password,
	    path, j->err, sizeof(j->err));
	if (ok && (fp = fopen(path, "rb")) != NULL) {
		if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 &&
		    fseek(fp, 0, SEEK_SET) == 0 &&
		    (j->file = malloc((size_t)n)) != NULL &&
		    fread(j->file, 1, (size_t)n, fp) == (size_t)n)
			j->file_len = (size_t)n;
		fclose(fp);
	}
	unlink(path);
}

/* On an offload thread: the documents, then the file asked for. */
static void
make_work(void *arg)
{
	struct api_call *call = arg;
	struct report_job *j = call->state;

	if (make_docs(call, j)) {
		if (j->format == FORMAT_CSV)
			j->file = report_csv(j->docs[0], &j->file_len);
		else if (j->format != FORMAT_JSON)
			make_file(j);
	}
	OPENSSL_cleanse(j->password, sizeof(j->password));
	if (j->file_len == 0 && j->format != FORMAT_JSON && j->err[0] == '\0')
		snprintf(j->err, sizeof(j->err), "the file could not be made");
}

static void
made(void *arg)
{
	struct api_call *call = arg;
	struct report_job *j = call->state;
	cJSON *doc;

	if (j->ndocs < j->nrows || (j->format != FORMAT_JSON &&
	    j->file_len == 0)) {
		log_warn("console.report_failed", "format=%s reason=\"%s\"",
		    format_names[j->format], j->err);
		job_error(call, 500, "report", "the report could not be made");
	} else if (j->format == FORMAT_JSON) {
		doc = j->docs[0];
		j->docs[0] = NULL;
		job_free(j);
		api_reply(call, 200, doc);
	} else if (j->format == FORMAT_CSV)
		reply_file(call, "text/csv; charset=utf-8", "csv");
	else
		reply_file(call, j->format == FORMAT_XLSX ?
		    "application/vnd.openxmlformats-officedocument."
		    "spreadsheetml.sheet" : "application/zip",
		    j->format == FORMAT_XLSX ? "xlsx" : "zip");
}

/* ---- the statements, one after another ---- */

static void report_next(struct api_call *call);

static void
report_ran(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct report_job *j = call->state;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		job_db_error(call, "report", res, why);
		return;
	}
	if ((j->rows[j->nrows] = strdup(PQgetvalue(res, 0, 0))) == NULL) {
		job_error(call, 500, "no_memory", "out of memory");
		return;
	}
	j->nrows++;
	report_next(call);
}

/* The next period's statement, or the answer when all are done. */
static void
report_next(struct api_call *call)
{
	struct report_job *j = call->state;
	size_t want = j->ndays > 0 ? j->ndays : 1;
	const char *params[REPORT_NPARAMS];
	const struct report_period *p;

	if (j->nrows == want) {
		if (!offload_submit(call->c->offload, make_work, made, call))
			job_error(call, 503, "busy", "the server is busy; try "
			    "again");
		return;
	}
	p = j->ndays > 0 ? &j->days[j->nrows] : &j->period;
	report_params(p, call->c->opt.channel_kind, call->c->opt.channel_name,
	    params);
	if (!api_query(call, report_sql(p->kind), REPORT_NPARAMS, params,
	    report_ran))
		job_db_error(call, "report", NULL, "no connection");
}

static void
desk_loaded(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct report_job *j = call->state;
	char err[256];

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		job_db_error(call, "desk settings", res, why);
		return;
	}
	if (desk_settings_load_result(&j->desk, res, err, sizeof(err)) > 0)
		log_warn("console.report_settings", "reason=\"%s\"", err);
	report_next(call);
}

static void
audited(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	const char *params[2] = { call->c->opt.channel_kind,
	    call->c->opt.channel_name };

	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		job_db_error(call, "audit", res, why);
		return;
	}
	if (!api_query(call, desk_settings_sql, 2, params, desk_loaded))
		job_db_error(call, "desk settings", NULL, "no connection");
}

static void
report_start(struct api_call *call)
{
	struct report_job *j = call->state;
	char staff[24];
	const char *params[7] = { staff, call->staff.login, call->now,
	    j->ndays > 0 ? "worklog-month" : report_kind_names[j->period.kind],
	    j->period.name, format_names[j->format], api_ip(call) };

	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	if (!api_query(call, report_audit_sql, 7, params, audited))
		job_db_error(call, "audit", NULL, "no connection");
}

/* ---- the routes ---- */

static struct report_job *
job_new(struct api_call *call)
{
	struct report_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		api_error(call, 500, "no_memory", "out of memory");
		return NULL;
	}
	desk_settings_init(&j->desk);
	call->state = j;
	return j;
}

/* The value of name in the request's query string, copied; "" if none. */
static void
query_value(const struct api_call *call, const char *name, char *out,
    size_t outlen)
{
	struct evhttp_uri *uri = evhttp_uri_parse(evhttp_request_get_uri(
	    call->req));
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq kv;
	const char *v;

	out[0] = '\0';
	TAILQ_INIT(&kv);
	if (q != NULL && evhttp_parse_query_str(q, &kv) == 0 &&
	    (v = evhttp_find_header(&kv, name)) != NULL)
		snprintf(out, outlen, "%s", v);
	evhttp_clear_headers(&kv);
	if (uri != NULL)
		evhttp_uri_free(uri);
}

/* GET /api/reports/{monthly,annual,line-use,worklog}?period=&format= */
static void
report_get(struct api_call *call)
{
	const char *kind = strrchr(call->route->pattern, '/') + 1;
	char period[32], format[16], err[160];
	struct report_job *j;
	int k = 0;

	while (k < REPORT_KINDS && strcmp(report_kind_names[k], kind) != 0)
		k++;
	query_value(call, "period", period, sizeof(period));
	query_value(call, "format", format, sizeof(format));
	if ((j = job_new(call)) == NULL)
		return;
	j->format = format[0] == '\0' || strcmp(format, "json") == 0 ?
	    FORMAT_JSON : strcmp(format, "csv") == 0 ? FORMAT_CSV :
	    strcmp(format, "xlsx") == 0 ? FORMAT_XLSX : FORMAT_ZIP;
	if (j->format == FORMAT_ZIP) {
		job_error(call, 400, "invalid", "format: json, csv or xlsx");
		return;
	}
	if (!report_period_parse((enum report_kind)k, period, &j->period, err,
	    sizeof(err))) {
		job_error(call, 400, "invalid", err);
		return;
	}
	report_start(call);
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* POST /api/reports/worklog/export {"month", "password"}: an AES-256 ZIP. */
static void
report_worklog_export(struct api_call *call)
{
	const char *month = api_body_string(call, "month");
	const char *pw = api_body_string(call, "password");
	struct report_job *j;
	char err[160];

	if ((j = job_new(call)) == NULL)
		return;
	j->format = FORMAT_ZIP;
	if (month == NULL || !report_period_parse(REPORT_MONTHLY, month,
	    &j->period, err, sizeof(err))) {
		job_error(call, 400, "invalid", "month: expected 2026-11");
		return;
	}
	if (pw == NULL || utf8_chars(pw) < REPORT_PASSWORD_MIN ||
	    strlen(pw) > REPORT_PASSWORD_MAX) {
		job_error(call, 400, "password", "the password needs at least 8 "
		    "characters and at most 128 bytes");
		return;
	}
	snprintf(j->password, sizeof(j->password), "%s", pw);
	/* the body's copy goes now, not when the call is freed */
	OPENSSL_cleanse((char *)pw, strlen(pw));
	for (int d = 1; d <= 31; d++) {
		char day[32];

		snprintf(day, sizeof(day), "%.7s-%02d", j->period.from, d);
		if (strcmp(day, j->period.last) > 0 || !report_period_parse(
		    REPORT_WORKLOG, day, &j->days[j->ndays], err, sizeof(err)))
			break;
		j->ndays++;
	}
	report_start(call);
}

/*
 * $1 channel kind, $2 name, $3 day, $4 sealed note, $5 key, $6 version the
 * edit started from (0: none yet), $7 now, $8 staff, $9 actor, $10 ip.
 */
static const char note_save_sql[] =
"WITH ch AS (SELECT id FROM channels WHERE kind = $1 AND name = $2),"
" updated AS ("
"  UPDATE work_log_notes SET note = decode($4, 'base64'),"
"      note_key_id = $5::smallint, version = version + 1,"
"      updated_at = $7::timestamptz, updated_by = $8::bigint"
"   WHERE channel_id = (SELECT id FROM ch) AND day = $3::date"
"     AND version = $6::int AND $6::int > 0"
"  RETURNING version"
"), inserted AS ("
"  INSERT INTO work_log_notes (channel_id, day, note, note_key_id,"
"      version, updated_at, updated_by)"
"  SELECT id, $3::date, decode($4, 'base64'), $5::smallint, 1,"
"      $7::timestamptz, $8::bigint FROM ch WHERE $6::int = 0"
"  ON CONFLICT (channel_id, day) DO NOTHING"
"  RETURNING version"
"), saved AS ("
"  SELECT version FROM updated UNION ALL SELECT version FROM inserted"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type, detail,"
"      ip)"
"  SELECT $7::timestamptz, $8::bigint, $9, 'worklog.note', 'worklog',"
"      json_build_object('day', $3::text, 'version', version), $10::inet"
"    FROM saved"
") SELECT version FROM saved";

static void
note_saved(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "worklog note", res, why);
		return;
	}
	if (PQntuples(res) != 1) {
		api_error(call, 409, "stale", "someone saved the note in "
		    "between; reload it");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "version", atof(PQgetvalue(res, 0, 0)));
	api_reply(call, 200, o);
}

/* PUT /api/reports/worklog/note {"day", "note", "version"} (supervisor) */
static void
report_note_put(struct api_call *call)
{
	const char *day = api_body_string(call, "day");
	const char *note = api_body_string(call, "note");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(call->body, "version");
	char staff[24], key[8], version[16], *sealed;
	const char *params[10];

	if (day == NULL || !api_date_ok(day) || note == NULL || note[0] == '\0' ||
	    strlen(note) > REPORT_NOTE_MAX || !cJSON_IsNumber(v) ||
	    v->valuedouble < 0 || v->valuedouble > 1e9 ||
	    v->valuedouble != (double)(int)v->valuedouble) {
		api_error(call, 400, "invalid", "expected day (YYYY-MM-DD), a "
		    "note of 1 to 8000 bytes and the version it started from");
		return;
	}
	if (!api_seal(call, "work_log_notes.note", note, &sealed, key))
		return;
	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	snprintf(version, sizeof(version), "%d", v->valueint);
	params[0] = call->c->opt.channel_kind;
	params[1] = call->c->opt.channel_name;
	params[2] = day;
	params[3] = sealed;
	params[4] = key;
	params[5] = version;
	params[6] = call->now;
	params[7] = staff;
	params[8] = call->staff.login;
	params[9] = api_ip(call);
	if (!api_query(call, note_save_sql, 10, params, note_saved))
		api_db_error(call, "worklog note", NULL, "no connection");
	free(sealed);
}

#define REPORT_ROLES	(ROLE_ADMIN | ROLE_SUPERVISOR)

const struct api_route report_routes[] = {
	{ "GET", "/api/reports/monthly", REPORT_ROLES, STAGE_FULL, report_get },
	{ "GET", "/api/reports/annual", REPORT_ROLES, STAGE_FULL, report_get },
	{ "GET", "/api/reports/line-use", REPORT_ROLES, STAGE_FULL, report_get },
	{ "GET", "/api/reports/worklog", REPORT_ROLES, STAGE_FULL, report_get },
	{ "POST", "/api/reports/worklog/export", REPORT_ROLES, STAGE_FULL,
	    report_worklog_export },
	{ "PUT", "/api/reports/worklog/note", ROLE_SUPERVISOR, STAGE_FULL,
	    report_note_put },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
