/*
 * render.c - a report's document as files: CSV that Excel opens as it is
 * (UTF-8 with a BOM, CRLF), an .xlsx workbook (libxlsxwriter), and a ZIP
 * of documents whose every entry is AES-256 encrypted (libzip). Japanese
 * labels: the files go to a Japanese commissioner.
 */
#include "report_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <xlsxwriter.h>
#include <zip.h>

static const char *
str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* A number as a person writes it: 12, 0.75, 1234.5 (never 1.23e+03). */
static void
number_text(double v, char *out, size_t outlen)
{
	if (v == (double)(long long)v)
		snprintf(out, outlen, "%lld", (long long)v);
	else
		snprintf(out, outlen, "%.10g", v);
}

/*
 * One CSV field. A text that a spreadsheet would take for a formula
 * (=, +, -, @ first) gets a leading apostrophe: labels and names come
 * from settings and staff accounts, not from this code.
 */
static void
csv_field(struct evbuffer *out, const cJSON *v)
{
	char num[64];
	const char *s;

	if (cJSON_IsNumber(v)) {
		number_text(v->valuedouble, num, sizeof(num));
		evbuffer_add(out, num, strlen(num));
		return;
	}
	if (!cJSON_IsString(v))
		return;
	s = v->valuestring;
	evbuffer_add(out, "\"", 1);
	if (strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0')
		evbuffer_add(out, "'", 1);
	for (; *s != '\0'; s++)
		evbuffer_add(out, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
	evbuffer_add(out, "\"", 1);
}

static void
csv_row(struct evbuffer *out, const cJSON *const *cells, int n)
{
	for (int i = 0; i < n; i++) {
		if (i > 0)
			evbuffer_add(out, ",", 1);
		csv_field(out, cells[i]);
	}
	evbuffer_add(out, "\r\n", 2);
}

static void
csv_pair(struct evbuffer *out, const char *a, const cJSON *b)
{
	cJSON *label = cJSON_CreateString(a);
	const cJSON *cells[2] = { label, b };

	csv_row(out, cells, 2);
	cJSON_Delete(label);
}

static void
csv_head(struct evbuffer *out, const cJSON *doc)
{
	const cJSON *period = cJSON_GetObjectItemCaseSensitive(doc, "period");
	char range[64];
	cJSON *v;

	v = cJSON_CreateString(str_of(cJSON_GetObjectItemCaseSensitive(doc,
	    "title"), "ja"));
	csv_pair(out, "報告", v);
	cJSON_Delete(v);
	v = cJSON_CreateString(str_of(doc, "desk"));
	csv_pair(out, "窓口", v);
	cJSON_Delete(v);
	snprintf(range, sizeof(range), "%s〜%s", str_of(period, "from"),
	    str_of(period, "to"));
	v = cJSON_CreateString(range);
	csv_pair(out, "期間", v);
	cJSON_Delete(v);
	v = cJSON_CreateString(str_of(doc, "generated_at"));
	csv_pair(out, "作成日時（UTC）", v);
	cJSON_Delete(v);
	evbuffer_add(out, "\r\n", 2);
}

static void
csv_table(struct evbuffer *out, const cJSON *t)
{
	const cJSON *c, *r;
	cJSON *heads = cJSON_CreateArray();
	const cJSON *cells[32];
	int n = 0;

	cJSON_AddItemToArray(heads, cJSON_CreateString(str_of(t, "ja")));
	cells[0] = cJSON_GetArrayItem(heads, 0);
	csv_row(out, cells, 1);	/* the table's title, then its columns */
	cJSON_DeleteItemFromArray(heads, 0);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(t, "columns"))
		cJSON_AddItemToArray(heads, cJSON_CreateString(str_of(c, "ja")));
	cJSON_ArrayForEach(c, heads)
		if (n < 32)
			cells[n++] = c;
	csv_row(out, cells, n);
	cJSON_Delete(heads);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(t, "rows")) {
		int k = 0;

		cJSON_ArrayForEach(c, r)
			if (k < 32)
				cells[k++] = c;
		csv_row(out, cells, k);
	}
	evbuffer_add(out, "\r\n", 2);
}

char *
report_csv(const cJSON *doc, size_t *len)
{
	struct evbuffer *out = evbuffer_new();
	const cJSON *f, *t;
	char *s;

	if (out == NULL)
		return NULL;
	evbuffer_add(out, "\xEF\xBB\xBF", 3);	/* Excel reads UTF-8 by it */
	csv_head(out, doc);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "summary"))
		csv_pair(out, str_of(f, "ja"),
		    cJSON_GetObjectItemCaseSensitive(f, "value"));
	evbuffer_add(out, "\r\n", 2);
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, "tables"))
		csv_table(out, t);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "notes")) {
		cJSON *v = cJSON_CreateString(str_of(f, "ja"));

		csv_pair(out, "注", v);
		cJSON_Delete(v);
	}
	*len = evbuffer_get_length(out);
	if ((s = malloc(*len + 1)) != NULL) {
		evbuffer_remove(out, s, *len);
		s[*len] = '\0';
	}
	evbuffer_free(out);
	return s;
}

/* ---- xlsx ---- */

/* A sheet name Excel takes: at most 31 characters, none of []:*?/\ */
static void
sheet_name(const char *title, int index, char *out, size_t outlen)
{
	size_t n = 0, chars = 0;

	for (const char *s = title; *s != '\0' && chars < 24 && n + 4 < outlen;) {
		size_t k = 1;

		while ((s[k] & 0xC0) == 0x80)
			k++;
		if (strncmp(s, "（", k) == 0 && k == 3)
			break;
		if (k == 1 && strchr("[]:*?/\\'", *s) != NULL) {
			s++;
			continue;
		}
		memcpy(out + n, s, k);
		n += k;
		s += k;
		chars++;
	}
	out[n] = '\0';
	if (n == 0)
		snprintf(out, outlen, "表%d", index);
}

static void
xlsx_cell(lxw_worksheet *ws, int row, int col, const cJSON *v,
    lxw_format *fmt)
{
	if (cJSON_IsNumber(v))
		worksheet_write_number(ws, row, col, v->valuedouble, fmt);
	else if (cJSON_IsString(v))
		worksheet_write_string(ws, row, col, v->valuestring, fmt);
}

static void
xlsx_summary(lxw_workbook *wb, const cJSON *doc, lxw_format *bold)
{
	const cJSON *period = cJSON_GetObjectItemCaseSensitive(doc, "period");
	lxw_worksheet *ws = workbook_add_worksheet(wb, "概要");
	const cJSON *f;
	char range[64];
	int row = 4;

	worksheet_set_column(ws, 0, 0, 48, NULL);
	worksheet_set_column(ws, 1, 1, 40, NULL);
	worksheet_write_string(ws, 0, 0, str_of(cJSON_GetObjectItemCaseSensitive(
	    doc, "title"), "ja"), bold);
	worksheet_write_string(ws, 1, 0, "窓口", NULL);
	worksheet_write_string(ws, 1, 1, str_of(doc, "desk"), NULL);
	snprintf(range, sizeof(range), "%s〜%s", str_of(period, "from"),
	    str_of(period, "to"));
	worksheet_write_string(ws, 2, 0, "期間", NULL);
	worksheet_write_string(ws, 2, 1, range, NULL);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "summary")) {
		worksheet_write_string(ws, row, 0, str_of(f, "ja"), NULL);
		xlsx_cell(ws, row++, 1, cJSON_GetObjectItemCaseSensitive(f,
		    "value"), NULL);
	}
	row++;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "notes"))
		worksheet_write_string(ws, row++, 0, str_of(f, "ja"), NULL);
}

static void
xlsx_table(lxw_workbook *wb, const cJSON *t, int index, lxw_format *bold)
{
	char name[128];
	lxw_worksheet *ws;
	const cJSON *c, *r;
	int col = 0, row = 1;

	sheet_name(str_of(t, "ja"), index, name, sizeof(name));
	if ((ws = workbook_add_worksheet(wb, name)) == NULL &&
	    (snprintf(name, sizeof(name), "表%d", index),
	    ws = workbook_add_worksheet(wb, name)) == NULL)
		return;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(t, "columns")) {
		worksheet_set_column(ws, col, col, col == 0 ? 24 : 14, NULL);
		worksheet_write_string(ws, 0, col++, str_of(c, "ja"), bold);
	}
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(t, "rows")) {
		col = 0;
		cJSON_ArrayForEach(c, r)
			xlsx_cell(ws, row, col++, c, NULL);
		row++;
	}
}

bool
report_xlsx(const cJSON *doc, const char *path, char *err, size_t errlen)
{
	lxw_workbook *wb = workbook_new(path);
	lxw_format *bold;
	const cJSON *t;
	lxw_error e;
	int i = 1;

	if (wb == NULL) {
		snprintf(err, errlen, "cannot create the workbook");
		return false;
	}
	bold = workbook_add_format(wb);
	format_set_bold(bold);
	xlsx_summary(wb, doc, bold);
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, "tables"))
		xlsx_table(wb, t, i++, bold);
	if ((e = workbook_close(wb)) != LXW_NO_ERROR) {
		snprintf(err, errlen, "workbook: %s", lxw_strerror(e));
		return false;
	}
	return true;
}

/* ---- zip ---- */

void
report_file_name(const cJSON *doc, const char *ext, char *out, size_t outlen)
{
	snprintf(out, outlen, "madoguchi-%s-%s.%s", str_of(doc, "kind"),
	    str_of(cJSON_GetObjectItemCaseSensitive(doc, "period"), "name"), ext);
}

static bool
zip_add_doc(zip_t *za, const cJSON *doc, const char *password, char *err,
    size_t errlen)
{
	char name[128];
	size_t len;
	char *csv = report_csv(doc, &len);
	zip_source_t *src;
	zip_int64_t idx;

	report_file_name(doc, "csv", name, sizeof(name));
	if (csv == NULL || (src = zip_source_buffer(za, csv, len, 1)) == NULL) {
		free(csv);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	if ((idx = zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8)) < 0) {
		zip_source_free(src);
		snprintf(err, errlen, "zip: %s", zip_strerror(za));
		return false;
	}
	if (zip_file_set_encryption(za, (zip_uint64_t)idx, ZIP_EM_AES_256,
	    password) < 0) {
		snprintf(err, errlen, "zip: %s", zip_strerror(za));
		return false;
	}
	return true;
}

bool
report_zip(const cJSON *const *docs, size_t n, const char *password,
    const char *path, char *err, size_t errlen)
{
	int zerr = 0;
	zip_t *za;

	if (!zip_encryption_method_supported(ZIP_EM_AES_256, 1)) {
		snprintf(err, errlen, "this libzip cannot encrypt with AES-256");
		return false;
	}
	if ((za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr)) == NULL) {
		snprintf(err, errlen, "cannot create the zip file (%d)", zerr);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!zip_add_doc(za, docs[i], password, err, errlen)) {
			zip_discard(za);
			return false;
		}
	if (zip_close(za) < 0) {
		snprintf(err, errlen, "zip: %s", zip_strerror(za));
		zip_discard(za);
		return false;
	}
	return true;
}
