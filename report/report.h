/*
 * report.h - the desk's reports (issue 9): monthly and annual statistics,
 * the monthly LINE-use report for the commissioner, the daily work log
 * (業務日誌), and their exports: CSV that Excel opens (UTF-8 with a BOM),
 * an .xlsx workbook, and a month's logs in an AES-256 encrypted ZIP. They
 * are built from the records alone, and no report holds what anyone wrote
 * in a consultation.
 *
 * A report is made in two steps, so the daemon (on its loop) and the CLI
 * (blocking) share everything but the waiting: the kind's statement
 * (report_sql) runs with report_params and gives one JSON row; report_finish
 * turns it, with the desk's settings (calendar, reply deadline) and keys,
 * into the report's document, a cJSON object every renderer takes:
 *
 *   {"kind", "period": {"name", "from", "to"}, "title": {"ja", "en"},
 *    "desk", "generated_at",
 *    "summary": [{"key", "ja", "en", "value"}],	number, text or null
 *    "tables": [{"key", "ja", "en", "columns": [{"ja", "en"}],
 *                "rows": [[cell, ...]]}],
 *    "notes": [{"ja", "en"}]}			how figures are counted
 */
#ifndef MADOGUCHI_REPORT_H
#define MADOGUCHI_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct desk_settings;
struct keyring;

enum report_kind {
	REPORT_MONTHLY,		/* "2026-11" */
	REPORT_ANNUAL,		/* "2026": the fiscal year April 2026 - March 2027 */
	REPORT_LINE_USE,	/* "2026-11" */
	REPORT_WORKLOG,		/* "2026-11-05": one day's work log */
	REPORT_KINDS
};

/* "monthly", "annual", "line-use", "worklog" */
extern const char *const report_kind_names[REPORT_KINDS];

/* A period in Asia/Tokyo days: [from, until). */
struct report_period {
	enum report_kind kind;
	char		 name[11];	/* as given: "2026-11", "2026", "2026-11-05" */
	char		 from[11];	/* first day, YYYY-MM-DD */
	char		 until[11];	/* the day after the last */
	char		 last[11];	/* the last day */
};

/* Parses a period of kind; false with err set (for the person) if invalid. */
bool	report_period_parse(enum report_kind kind, const char *text,
	    struct report_period *p, char *err, size_t errlen);

/*
 * The statement of a kind and its four parameters: $1 from, $2 until,
 * $3 the channel's kind, $4 its name (the desk this process serves).
 * It returns one row of one column: JSON for report_finish.
 */
const char *report_sql(enum report_kind kind);
#define REPORT_NPARAMS	4
void	report_params(const struct report_period *p, const char *channel_kind,
	    const char *channel_name, const char *params[REPORT_NPARAMS]);

/*
 * The report's document from the statement's row; NULL with err set when
 * the row is not what the statement gives. desk: the figures that depend
 * on opening hours and the reply deadline; keys: the sealed notes and
 * reasons some reports show (an emergency exception's why, the work log's
 * note). generated_at: ISO-8601.
 */
cJSON	*report_finish(const struct report_period *p, const char *row_json,
	    const char *desk_name, const struct desk_settings *desk,
	    const struct keyring *keys, const char *generated_at,
	    char *err, size_t errlen);

/* ---- render.c: exports ---- */

/* CSV as Excel opens it: UTF-8 with a BOM, CRLF, every section in turn. */
char	*report_csv(const cJSON *doc, size_t *len);
/* An .xlsx workbook at path: a summary sheet, then one sheet per table. */
bool	report_xlsx(const cJSON *doc, const char *path, char *err,
	    size_t errlen);
/*
 * A ZIP at path holding each document as CSV (named by its period),
 * every entry AES-256 encrypted with password, which is not kept.
 */
bool	report_zip(const cJSON *const *docs, size_t n, const char *password,
	    const char *path, char *err, size_t errlen);
/* A file name for a document: "madoguchi-monthly-2026-11.csv". */
void	report_file_name(const cJSON *doc, const char *ext, char *out,
	    size_t outlen);

#endif
