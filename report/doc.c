/*
 * doc.c - a report's document (report.h): its parts, and report_finish,
 * which makes one from a statement's row.
 */
#include "report_internal.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *ja, *en; } titles[REPORT_KINDS] = {
	[REPORT_MONTHLY] = { "月次報告", "Monthly report" },
	[REPORT_ANNUAL] = { "年次報告", "Annual report" },
	[REPORT_LINE_USE] = { "LINE利用状況報告", "LINE use report" },
	[REPORT_WORKLOG] = { "業務日誌", "Daily work log" },
};

cJSON *
doc_new(const struct report_period *p, const char *title_ja,
    const char *title_en, const char *desk, const char *generated_at)
{
	cJSON *doc = cJSON_CreateObject(), *period, *title;

	cJSON_AddStringToObject(doc, "kind", report_kind_names[p->kind]);
	period = cJSON_AddObjectToObject(doc, "period");
	cJSON_AddStringToObject(period, "name", p->name);
	cJSON_AddStringToObject(period, "from", p->from);
	cJSON_AddStringToObject(period, "to", p->last);
	title = cJSON_AddObjectToObject(doc, "title");
	cJSON_AddStringToObject(title, "ja", title_ja);
	cJSON_AddStringToObject(title, "en", title_en);
	cJSON_AddStringToObject(doc, "desk", desk != NULL ? desk : "");
	cJSON_AddStringToObject(doc, "generated_at", generated_at);
	cJSON_AddArrayToObject(doc, "summary");
	cJSON_AddArrayToObject(doc, "tables");
	cJSON_AddArrayToObject(doc, "notes");
	return doc;
}

void
doc_figure(cJSON *doc, const char *key, const char *ja, const char *en,
    cJSON *value)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "key", key);
	cJSON_AddStringToObject(f, "ja", ja);
	cJSON_AddStringToObject(f, "en", en);
	cJSON_AddItemToObject(f, "value", value != NULL ? value :
	    cJSON_CreateNull());
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(doc, "summary"), f);
}

void
doc_figure_number(cJSON *doc, const char *key, const char *ja,
    const char *en, double value)
{
	doc_figure(doc, key, ja, en, cJSON_CreateNumber(value));
}

cJSON *
doc_table(cJSON *doc, const char *key, const char *ja, const char *en,
    const char *const *columns)
{
	cJSON *t = cJSON_CreateObject(), *cols;

	cJSON_AddStringToObject(t, "key", key);
	cJSON_AddStringToObject(t, "ja", ja);
	cJSON_AddStringToObject(t, "en", en);
	cols = cJSON_AddArrayToObject(t, "columns");
	for (; *columns != NULL; columns++) {
		const char *bar = strchr(*columns, '|');
		cJSON *c = cJSON_CreateObject();
		char ja_part[128];

		snprintf(ja_part, sizeof(ja_part), "%.*s", bar != NULL ?
		    (int)(bar - *columns) : (int)strlen(*columns), *columns);
		cJSON_AddStringToObject(c, "ja", ja_part);
		cJSON_AddStringToObject(c, "en", bar != NULL ? bar + 1 : ja_part);
		cJSON_AddItemToArray(cols, c);
	}
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(doc, "tables"), t);
	return cJSON_AddArrayToObject(t, "rows");
}

void
doc_note(cJSON *doc, const char *ja, const char *en)
{
	cJSON *n = cJSON_CreateObject();

	cJSON_AddStringToObject(n, "ja", ja);
	cJSON_AddStringToObject(n, "en", en);
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(doc, "notes"), n);
}

double
doc_num(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

cJSON *
report_finish(const struct report_period *p, const char *row_json,
    const char *desk_name, const struct desk_settings *desk,
    const struct keyring *keys, const char *generated_at, char *err,
    size_t errlen)
{
	cJSON *row = cJSON_Parse(row_json != NULL ? row_json : ""), *doc;

	if (!cJSON_IsObject(row) || (unsigned)p->kind >= REPORT_KINDS) {
		snprintf(err, errlen, "the report's statement gave no object");
		cJSON_Delete(row);
		return NULL;
	}
	doc = doc_new(p, titles[p->kind].ja, titles[p->kind].en, desk_name,
	    generated_at);
	switch (p->kind) {
	case REPORT_MONTHLY:
	case REPORT_ANNUAL:
		stats_finish(p, row, desk, doc);
		break;
	case REPORT_LINE_USE:
		line_use_finish(p, row, keys, doc);
		break;
	case REPORT_WORKLOG:
		worklog_finish(p, row, desk, keys, doc);
		break;
	default:
		break;
	}
	cJSON_Delete(row);
	return doc;
}
