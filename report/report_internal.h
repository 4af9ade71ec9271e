/*
 * report_internal.h - what the files of report/ share; report.h is the
 * module's public face.
 */
#ifndef MADOGUCHI_REPORT_INTERNAL_H
#define MADOGUCHI_REPORT_INTERNAL_H

#include "autoreply.h"
#include "calendar.h"
#include "report.h"

/* The statements (report_sql), each with REPORT_NPARAMS parameters. */
extern const char report_stats_sql[];
extern const char report_line_use_sql[];
extern const char report_worklog_sql[];

/*
 * SQL pieces the statements share. REPORT_PERIOD: the period's instants
 * and the desk's channel, as CTE "p" (f, t, ch). REPORT_LABELS: every
 * code list of the desk's settings with its labels, as CTE "lab" (list,
 * code, ja, en, ord); attribute lists are named by their key (age_band).
 */
#define REPORT_PERIOD \
"p AS (SELECT ($1::date::timestamp AT TIME ZONE 'Asia/Tokyo') AS f,"\
"  ($2::date::timestamp AT TIME ZONE 'Asia/Tokyo') AS t,"\
"  (SELECT id FROM channels WHERE kind = $3 AND name = $4) AS ch)"
#define REPORT_SETTING(key) \
"(SELECT s.value FROM settings s WHERE s.key = '" key "'"\
"   AND (s.channel_id IS NULL OR s.channel_id = (SELECT ch FROM p))"\
" ORDER BY s.channel_id NULLS LAST LIMIT 1)"
#define REPORT_LABELS \
"lab AS ("\
"  SELECT l.list, x.value->>'code' AS code, x.value->>'ja' AS ja,"\
"      x.value->>'en' AS en, x.ordinality AS ord"\
"    FROM (VALUES ('category', " REPORT_SETTING("case_categories") "),"\
"                 ('agency', " REPORT_SETTING("referral_agencies") "),"\
"                 ('step', " REPORT_SETTING("crisis_protocol") ")) l(list, v),"\
"    jsonb_array_elements(l.v) WITH ORDINALITY x"\
"  UNION ALL "\
"  SELECT a.key, x.value->>0, x.value->>1, x.value->>2, x.ordinality"\
"    FROM jsonb_each(" REPORT_SETTING("case_attributes") ") a,"\
"    jsonb_array_elements(a.value) WITH ORDINALITY x)"

/* ---- doc.c: building a report's document ---- */

/* {"kind", "period", "title", "desk", "generated_at", "summary": [],
 * "tables": [], "notes": []} */
cJSON	*doc_new(const struct report_period *p, const char *title_ja,
	    const char *title_en, const char *desk, const char *generated_at);
/* Appends {"key", "ja", "en", "value"} to summary; value is taken. */
void	doc_figure(cJSON *doc, const char *key, const char *ja,
	    const char *en, cJSON *value);
void	doc_figure_number(cJSON *doc, const char *key, const char *ja,
	    const char *en, double value);
/* A table with its columns ("ja|en" each, NULL-terminated); returns rows. */
cJSON	*doc_table(cJSON *doc, const char *key, const char *ja,
	    const char *en, const char *const *columns);
void	doc_note(cJSON *doc, const char *ja, const char *en);
/* The number at key of obj (0 when missing or not a number). */
double	doc_num(const cJSON *obj, const char *key);

/* ---- the kinds' documents ---- */

cJSON	*stats_finish(const struct report_period *p, cJSON *row,
	    const struct desk_settings *desk, cJSON *doc);
cJSON	*line_use_finish(const struct report_period *p, cJSON *row,
	    const struct keyring *keys, cJSON *doc);
cJSON	*worklog_finish(const struct report_period *p, cJSON *row,
	    const struct desk_settings *desk, const struct keyring *keys,
	    cJSON *doc);

#endif
