/*
 * desk.c - the desk's settings as the settings table stores them (one JSON
 * value per key), checked strictly: a setting that would not work is
 * refused when it is set, not discovered at 23:00 on a Saturday.
 */
#include "autoreply.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

const char *const autoreply_kind_names[AUTOREPLY_KINDS] = {
	[AUTOREPLY_AFTER_HOURS] = "after_hours",
	[AUTOREPLY_BUSY] = "busy",
	[AUTOREPLY_TEXT_ONLY] = "text_only",
	[AUTOREPLY_GREETING] = "greeting",
	[AUTOREPLY_WELCOME_BACK] = "welcome_back",
	[AUTOREPLY_CRISIS] = "crisis",
	[AUTOREPLY_HANDOFF] = "handoff",
	[AUTOREPLY_REPLY_WAITING] = "reply_waiting",
};

const char *const desk_setting_keys[] = {
	"desk_name", "desk_audience", "hours", "closed_on_holidays", "closures",
	"capacity_per_counsellor", "min_staff_on_duty",
	"min_supervisors_on_duty", "hotlines", "autoreply_after_hours",
	"autoreply_busy", "autoreply_text_only", "autoreply_greeting",
	"autoreply_welcome_back", "autoreply_crisis", "autoreply_handoff",
	"autoreply_reply_waiting", "reply_deadline", "line_mode",
	"autoreply_greeting_strict", "autoreply_welcome_back_strict",
	"autoreply_text_only_strict", NULL,
};

/*
 * The replies whose direct-mode wording asks the person to write on LINE:
 * in strict mode they need their own words (migration 016), pointing to
 * the hand-off button instead.
 */
static const enum autoreply_kind strict_variant_kinds[] = {
	AUTOREPLY_GREETING, AUTOREPLY_WELCOME_BACK, AUTOREPLY_TEXT_ONLY,
};

static const char *const weekday_keys[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};

#define DESK_TEXT_MAX	4000	/* bytes: a template, before filling in */

void
desk_settings_init(struct desk_settings *d)
{
	memset(d, 0, sizeof(*d));
	calendar_defaults(&d->cal);
	d->capacity_per_counsellor = 2;
	d->min_staff_on_duty = 2;
}

static void
desk_free_exceptions(struct desk_settings *d)
{
	for (size_t i = 0; i < d->nexceptions; i++)
		free(d->exception_names[i]);
	free(d->exception_names);
	free(d->exceptions);
	d->exception_names = NULL;
	d->exceptions = NULL;
	d->nexceptions = 0;
	d->cal.exceptions = NULL;
	d->cal.nexceptions = 0;
}

static void
desk_free_hotlines(struct desk_settings *d)
{
	for (size_t i = 0; i < d->nhotlines; i++) {
		free(d->hotlines[i].name);
		free(d->hotlines[i].phone);
		free(d->hotlines[i].hours);
	}
	d->nhotlines = 0;
}

void
desk_settings_free(struct desk_settings *d)
{
	free(d->desk_name);
	free(d->desk_audience);
	for (int k = 0; k < AUTOREPLY_KINDS; k++) {
		free(d->text[k]);
		free(d->text_strict[k]);
	}
	desk_free_exceptions(d);
	desk_free_hotlines(d);
	memset(d, 0, sizeof(*d));
}

/* "HH:MM", 00:00 to 24:00, as minutes after midnight; -1 if not. */
static int
desk_parse_hhmm(const char *s)
{
	int h, m;
	char tail;

	if (s == NULL || strlen(s) != 5 || s[2] != ':' || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]) ||
	    sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2)
		return -1;
	if (h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

static bool
desk_fail(char *err, size_t errlen, const char *key, const char *why)
{
	snprintf(err, errlen, "%s: %s", key, why);
	return false;
}

static bool
desk_apply_hours(struct desk_settings *d, const cJSON *v, char *err,
    size_t errlen)
{
	int hours[7][2];

	if (!cJSON_IsObject(v))
		return desk_fail(err, errlen, "hours",
		    "expected {\"mon\": [\"11:00\", \"20:00\"], ..., \"sun\": null}");
	for (const cJSON *it = v->child; it != NULL; it = it->next) {
		bool known = false;

		for (int w = 0; w < 7; w++)
			known |= strcmp(it->string, weekday_keys[w]) == 0;
		if (!known)
			return desk_fail(err, errlen, "hours",
			    "days are mon, tue, wed, thu, fri, sat, sun");
	}
	for (int w = 0; w < 7; w++) {
		const cJSON *day = cJSON_GetObjectItemCaseSensitive(v,
		    weekday_keys[w]);

		hours[w][0] = hours[w][1] = 0;	/* closed */
		if (day == NULL || cJSON_IsNull(day))
			continue;
		if (!cJSON_IsArray(day) || cJSON_GetArraySize(day) != 2 ||
		    (hours[w][0] = desk_parse_hhmm(cJSON_GetStringValue(
		    cJSON_GetArrayItem(day, 0)))) < 0 ||
		    (hours[w][1] = desk_parse_hhmm(cJSON_GetStringValue(
		    cJSON_GetArrayItem(day, 1)))) < 0 ||
		    hours[w][0] >= hours[w][1])
			return desk_fail(err, errlen, "hours", "each day is null "
			    "or [\"HH:MM\", \"HH:MM\"], opening before closing, "
			    "within one day");
	}
	memcpy(d->cal.hours, hours, sizeof(hours));
	return true;
}

/* "MM-DD" of a date that exists in some year (02-29 included). */
static bool
desk_parse_month_day(const char *s, int *m, int *day)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	char tail;

	if (s == NULL || strlen(s) != 5 || s[2] != '-' ||
	    !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]) ||
	    sscanf(s, "%2d-%2d%c", m, day, &tail) != 2)
		return false;
	return *m >= 1 && *m <= 12 && *day >= 1 && *day <= mdays[*m - 1];
}

static bool
desk_apply_closures(struct desk_settings *d, const cJSON *v, char *err,
    size_t errlen)
{
	struct cal_closure c[CAL_CLOSURES_MAX] = { { 0, 0, 0, 0 } };
	size_t n = 0;
	const cJSON *it;

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > CAL_CLOSURES_MAX)
		return desk_fail(err, errlen, "closures",
		    "expected [[\"12-29\", \"01-03\"], ...], at most 16");
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 ||
		    !desk_parse_month_day(cJSON_GetStringValue(
		    cJSON_GetArrayItem(it, 0)), &c[n].from_m, &c[n].from_d) ||
		    !desk_parse_month_day(cJSON_GetStringValue(
		    cJSON_GetArrayItem(it, 1)), &c[n].to_m, &c[n].to_d))
			return desk_fail(err, errlen, "closures",
			    "each closure is [\"MM-DD\", \"MM-DD\"], inclusive");
		n++;
	}
	memcpy(d->cal.closures, c, sizeof(c));
	d->cal.nclosures = n;
	return true;
}

static char *
desk_strdup_or_null(const cJSON *v)
{
	const char *s = cJSON_GetStringValue(v);

	return s != NULL ? strdup(s) : NULL;
}

static bool
desk_apply_hotlines(struct desk_settings *d, const cJSON *v, char *err,
    size_t errlen)
{
	struct desk_settings scratch = { .nhotlines = 0 };
	const cJSON *it;

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > DESK_HOTLINES_MAX)
		return desk_fail(err, errlen, "hotlines", "expected [{\"name\": "
		    "..., \"phone\": ..., \"hours\": ...}, ...], at most 16");
	cJSON_ArrayForEach(it, v) {
		struct hotline *h = &scratch.hotlines[scratch.nhotlines];
		const cJSON *hours = cJSON_GetObjectItemCaseSensitive(it, "hours");

		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "name")) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "phone")) ||
		    (hours != NULL && !cJSON_IsString(hours))) {
			desk_free_hotlines(&scratch);
			return desk_fail(err, errlen, "hotlines",
			    "each needs a name and a phone (hours optional)");
		}
		h->name = desk_strdup_or_null(cJSON_GetObjectItemCaseSensitive(it,
		    "name"));
		h->phone = desk_strdup_or_null(cJSON_GetObjectItemCaseSensitive(it,
		    "phone"));
		h->hours = desk_strdup_or_null(hours);
		scratch.nhotlines++;
	}
	desk_free_hotlines(d);
	memcpy(d->hotlines, scratch.hotlines, sizeof(scratch.hotlines));
	d->nhotlines = scratch.nhotlines;
	return true;
}

static bool
desk_apply_int(int *out, const cJSON *v, const char *key, int max, char *err,
    size_t errlen)
{
	char why[64];

	snprintf(why, sizeof(why), "expected a whole number from 0 to %d", max);
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)v->valueint ||
	    v->valueint < 0 || v->valueint > max)
		return desk_fail(err, errlen, key, why);
	*out = v->valueint;
	return true;
}

/* A text setting: a string ("" turns that reply off). */
static bool
desk_apply_text(char **out, const cJSON *v, const char *key, bool template,
    char *err, size_t errlen)
{
	char why[160];
	char *copy;

	if (!cJSON_IsString(v) || strlen(v->valuestring) > DESK_TEXT_MAX)
		return desk_fail(err, errlen, key, "expected a text of at most "
		    "4000 bytes");
	if (template && !autoreply_template_valid(v->valuestring, why,
	    sizeof(why)))
		return desk_fail(err, errlen, key, why);
	if ((copy = strdup(v->valuestring)) == NULL)
		return desk_fail(err, errlen, key, "out of memory");
	free(*out);
	*out = copy;
	return true;
}

/*
 * {"kind": "next_business_day_end"} (the desks' usual promise, a first
 * brief reply counting) or {"kind": "business_minutes", "minutes": N}.
 */
static bool
desk_apply_deadline(struct desk_settings *d, const cJSON *v, char *err,
    size_t errlen)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(v, "kind");
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(v, "minutes");

	if (cJSON_IsString(kind) &&
	    strcmp(kind->valuestring, "next_business_day_end") == 0) {
		d->reply_business_minutes = 0;
		return true;
	}
	if (cJSON_IsString(kind) &&
	    strcmp(kind->valuestring, "business_minutes") == 0 &&
	    cJSON_IsNumber(min) && min->valueint >= 1 &&
	    min->valueint <= 60 * 24 * 5 && min->valuedouble == min->valueint) {
		d->reply_business_minutes = min->valueint;
		return true;
	}
	return desk_fail(err, errlen, "reply_deadline", "expected {\"kind\": "
	    "\"next_business_day_end\"} or {\"kind\": \"business_minutes\", "
	    "\"minutes\": N} (1..7200)");
}

int64_t
desk_reply_due(const struct desk_settings *d, int64_t t)
{
	if (d->reply_business_minutes > 0)
		return calendar_add_business_minutes(&d->cal, t,
		    d->reply_business_minutes);
	return calendar_reply_due(&d->cal, t);
}

static bool
desk_apply_value(struct desk_settings *d, const char *key, const cJSON *v,
    char *err, size_t errlen)
{
	if (strcmp(key, "desk_name") == 0)
		return desk_apply_text(&d->desk_name, v, key, false, err, errlen);
	if (strcmp(key, "desk_audience") == 0)
		return desk_apply_text(&d->desk_audience, v, key, false, err,
		    errlen);
	if (strcmp(key, "hours") == 0)
		return desk_apply_hours(d, v, err, errlen);
	if (strcmp(key, "closed_on_holidays") == 0) {
		if (!cJSON_IsBool(v))
			return desk_fail(err, errlen, key, "expected true or false");
		d->cal.closed_on_holidays = cJSON_IsTrue(v);
		return true;
	}
	if (strcmp(key, "closures") == 0)
		return desk_apply_closures(d, v, err, errlen);
	if (strcmp(key, "capacity_per_counsellor") == 0)
		return desk_apply_int(&d->capacity_per_counsellor, v, key, 50,
		    err, errlen);
	if (strcmp(key, "min_staff_on_duty") == 0)
		return desk_apply_int(&d->min_staff_on_duty, v, key, 50, err,
		    errlen);
	if (strcmp(key, "min_supervisors_on_duty") == 0)
		return desk_apply_int(&d->min_supervisors_on_duty, v, key, 50,
		    err, errlen);
	if (strcmp(key, "hotlines") == 0)
		return desk_apply_hotlines(d, v, err, errlen);
	if (strcmp(key, "reply_deadline") == 0)
		return desk_apply_deadline(d, v, err, errlen);
	if (strcmp(key, "line_mode") == 0) {	/* migration 012 */
		if (!cJSON_IsString(v) || (strcmp(v->valuestring, "direct") != 0 &&
		    strcmp(v->valuestring, "strict") != 0))
			return desk_fail(err, errlen, key, "expected \"direct\" "
			    "or \"strict\"");
		d->strict = strcmp(v->valuestring, "strict") == 0;
		return true;
	}
	for (int k = 0; k < AUTOREPLY_KINDS; k++) {
		char name[64];

		snprintf(name, sizeof(name), "autoreply_%s",
		    autoreply_kind_names[k]);
		if (strcmp(key, name) == 0)
			return desk_apply_text(&d->text[k], v, key, true, err,
			    errlen);
	}
	for (size_t i = 0; i < sizeof(strict_variant_kinds) /
	    sizeof(strict_variant_kinds[0]); i++) {
		enum autoreply_kind k = strict_variant_kinds[i];
		char name[64];

		snprintf(name, sizeof(name), "autoreply_%s_strict",
		    autoreply_kind_names[k]);
		if (strcmp(key, name) == 0)
			return desk_apply_text(&d->text_strict[k], v, key, true,
			    err, errlen);
	}
	return desk_fail(err, errlen, key, "no such setting");
}

bool
desk_settings_apply(struct desk_settings *d, const char *key,
    const char *json, char *err, size_t errlen)
{
	cJSON *v = cJSON_Parse(json);
	bool ok;

	if (v == NULL)
		return desk_fail(err, errlen, key, "not valid JSON (a text "
		    "needs its quotes: '\"...\"')");
	ok = desk_apply_value(d, key, v, err, errlen);
	cJSON_Delete(v);
	return ok;
}

static bool
desk_exception_kind(const char *s, enum cal_exception_kind *out)
{
	static const struct { const char *name; enum cal_exception_kind kind; }
	    kinds[] = { { "closed", CAL_CLOSED }, { "open", CAL_OPEN },
	    { "holiday_add", CAL_HOLIDAY_ADD },
	    { "holiday_cancel", CAL_HOLIDAY_CANCEL } };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (s != NULL && strcmp(s, kinds[i].name) == 0) {
			*out = kinds[i].kind;
			return true;
		}
	return false;
}

/* "11:00" or "11:00:00" (as PostgreSQL prints a time); NULL is -1. */
static bool
desk_parse_time(const char *s, int *out)
{
	char hhmm[6];

	*out = -1;
	if (s == NULL)
		return true;
	if (strlen(s) != 5 && !(strlen(s) == 8 && strcmp(s + 5, ":00") == 0))
		return false;
	memcpy(hhmm, s, 5);
	hhmm[5] = '\0';
	return (*out = desk_parse_hhmm(hhmm)) >= 0;
}

bool
desk_settings_add_exception(struct desk_settings *d, const char *day,
    const char *kind, const char *opens, const char *closes,
    const char *name, char *err, size_t errlen)
{
	struct cal_exception ex = { .open_min = -1, .close_min = -1 };
	struct cal_exception *exs;
	char **names;

	if (!cal_date_parse(day, &ex.date) || !desk_exception_kind(kind,
	    &ex.kind) || !desk_parse_time(opens, &ex.open_min) ||
	    !desk_parse_time(closes, &ex.close_min) ||
	    (ex.open_min < 0) != (ex.close_min < 0) ||
	    (ex.open_min >= 0 && ex.open_min >= ex.close_min) ||
	    (ex.kind == CAL_HOLIDAY_ADD && (name == NULL || *name == '\0')))
		return desk_fail(err, errlen, "calendar exception",
		    "bad date, kind, hours or name");
	if (d->nexceptions >= DESK_EXCEPTIONS_MAX)
		return desk_fail(err, errlen, "calendar exception", "too many");
	exs = realloc(d->exceptions, (d->nexceptions + 1) * sizeof(*exs));
	if (exs == NULL)
		return desk_fail(err, errlen, "calendar exception", "no memory");
	d->exceptions = exs;
	names = realloc(d->exception_names, (d->nexceptions + 1) *
	    sizeof(*names));
	if (names == NULL)
		return desk_fail(err, errlen, "calendar exception", "no memory");
	d->exception_names = names;
	names[d->nexceptions] = name != NULL ? strdup(name) : NULL;
	ex.name = names[d->nexceptions];
	exs[d->nexceptions++] = ex;
	/* realloc may have moved them: the calendar borrows the array. */
	for (size_t i = 0; i < d->nexceptions; i++)
		exs[i].name = names[i];
	d->cal.exceptions = exs;
	d->cal.nexceptions = d->nexceptions;
	return true;
}
