/*
 * settings.c - the desk's settings the console obeys (session idle time,
 * sign-in lockout, the desk's name for authenticator apps), read from the
 * settings table at start, every minute, and whenever one changes.
 * Until the first read, and for a value that does not parse, the built-in
 * defaults stand.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char settings_sql[] =
"SELECT key, value::text FROM settings"
"  WHERE channel_id IS NULL AND key IN ('session_idle_minutes',"
"    'session_max_hours', 'login_lockout', 'desk_name',"
"    'due_soon_minutes', 'idle_close_minutes',"
"    'session_soft_limit_minutes')";

void
console_settings_defaults(struct console_settings *s)
{
	s->idle_minutes = 30;
	s->max_hours = 12;
	s->lockout_failures = 5;
	s->lockout_minutes = 15;
	s->ip_failures = 30;
	s->ip_minutes = 10;
	snprintf(s->issuer, sizeof(s->issuer), "madoguchi");
	s->due_soon_minutes = 60;
	s->idle_close_minutes = 1440;
	s->soft_limit_minutes = 50;
}

static bool
settings_int(const cJSON *v, int lo, int hi, int *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)v->valueint ||
	    v->valueint < lo || v->valueint > hi)
		return false;
	*out = v->valueint;
	return true;
}

static bool
settings_lockout(const cJSON *v, struct console_settings *s)
{
	struct console_settings t = *s;

	if (!cJSON_IsObject(v) ||
	    !settings_int(cJSON_GetObjectItemCaseSensitive(v, "failures"), 1,
	    100, &t.lockout_failures) ||
	    !settings_int(cJSON_GetObjectItemCaseSensitive(v, "minutes"), 1,
	    1440, &t.lockout_minutes) ||
	    !settings_int(cJSON_GetObjectItemCaseSensitive(v, "ip_failures"), 1,
	    10000, &t.ip_failures) ||
	    !settings_int(cJSON_GetObjectItemCaseSensitive(v, "ip_minutes"), 1,
	    1440, &t.ip_minutes))
		return false;
	*s = t;
	return true;
}

/* Applies one setting to s; false (s unchanged) when it does not parse. */
static bool
settings_apply(struct console_settings *s, const char *key, const cJSON *v)
{
	if (strcmp(key, "session_idle_minutes") == 0)
		return settings_int(v, 1, 24 * 60, &s->idle_minutes);
	if (strcmp(key, "session_max_hours") == 0)
		return settings_int(v, 1, 24 * 7, &s->max_hours);
	if (strcmp(key, "session_soft_limit_minutes") == 0)
		return settings_int(v, 5, 24 * 60, &s->soft_limit_minutes);
	if (strcmp(key, "due_soon_minutes") == 0)
		return settings_int(v, 1, 24 * 60, &s->due_soon_minutes);
	if (strcmp(key, "idle_close_minutes") == 0) {	/* null: never */
		if (cJSON_IsNull(v)) {
			s->idle_close_minutes = 0;
			return true;
		}
		return settings_int(v, 10, 30 * 24 * 60, &s->idle_close_minutes);
	}
	if (strcmp(key, "login_lockout") == 0)
		return settings_lockout(v, s);
	if (strcmp(key, "desk_name") == 0 && cJSON_IsString(v) &&
	    v->valuestring[0] != '\0') {
		snprintf(s->issuer, sizeof(s->issuer), "%s", v->valuestring);
		return true;
	}
	return false;
}

static void
settings_loaded(void *arg, const PGresult *res, const char *why)
{
	struct console *c = arg;
	struct console_settings s;

	c->settings_loading = false;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("console.settings_failed", "sqlstate=%s reason=\"%s\"",
		    db_sqlstate(res), res ? "rejected by server" : why);
		return;
	}
	console_settings_defaults(&s);
	for (int i = 0; i < PQntuples(res); i++) {
		cJSON *v = cJSON_Parse(PQgetvalue(res, i, 1));

		if (!settings_apply(&s, PQgetvalue(res, i, 0), v))
			log_warn("console.setting_ignored", "key=%s",
			    PQgetvalue(res, i, 0));
		cJSON_Delete(v);
	}
	c->settings = s;
	c->settings_loaded_us = clock_now_us();
}

void
console_settings_reload(struct console *c)
{
	if (c->settings_loading || db_pool_connected(c->pool) == 0)
		return;
	c->settings_loading = db_query(c->pool, settings_sql, 0, NULL,
	    settings_loaded, c);
}

/* {"code", "ja", "en"} items, codes short and unique: the desk's lists. */
static bool
settings_code_list(const cJSON *v)
{
	const cJSON *a, *b;

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0 ||
	    cJSON_GetArraySize(v) > 100)
		return false;
	cJSON_ArrayForEach(a, v) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(a, "code");

		if (!cJSON_IsString(code) || code->valuestring[0] == '\0' ||
		    strlen(code->valuestring) > 40 ||
		    strpbrk(code->valuestring, "{},\"\\ ") != NULL ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(a, "ja")) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(a, "en")))
			return false;
		for (b = v->child; b != a; b = b->next)
			if (strcmp(cJSON_GetObjectItemCaseSensitive(b,
			    "code")->valuestring, code->valuestring) == 0)
				return false;
	}
	return true;
}

/* {"age_band": [[code, ja, en], ...], "gender": [...], "family": [...]} */
static bool
settings_attributes(const cJSON *v)
{
	static const char *const names[] = { "age_band", "gender", "family" };

	if (!cJSON_IsObject(v))
		return false;
	for (size_t i = 0; i < 3; i++) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(v, names[i]);
		const cJSON *it;

		if (!cJSON_IsArray(list))
			return false;
		cJSON_ArrayForEach(it, list)
			if (cJSON_GetArraySize(it) != 3 ||
			    !cJSON_IsString(cJSON_GetArrayItem(it, 0)) ||
			    !cJSON_IsString(cJSON_GetArrayItem(it, 1)) ||
			    !cJSON_IsString(cJSON_GetArrayItem(it, 2)))
				return false;
	}
	return true;
}

static bool
settings_phrases(const cJSON *v)
{
	const cJSON *it;

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 200)
		return false;
	cJSON_ArrayForEach(it, v)
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "ja")))
			return false;
	return true;
}

static bool
settings_text(const cJSON *v, bool null_ok)
{
	return (null_ok && cJSON_IsNull(v)) || (cJSON_IsString(v) &&
	    v->valuestring[0] != '\0' && strlen(v->valuestring) <= 4000);
}

/* The escalation checklist: a code list whose steps say if required. */
static bool
settings_protocol(const cJSON *v)
{
	const cJSON *a;

	if (!settings_code_list(v) || cJSON_GetArraySize(v) > 20)
		return false;
	cJSON_ArrayForEach(a, v)
		if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(a,
		    "required")))
			return false;
	return true;
}

/* The console's settings the daemon does not hold in struct form. */
static bool
settings_valid_other(const char *key, const cJSON *v)
{
	if (strcmp(key, "close_reasons") == 0 ||
	    strcmp(key, "case_categories") == 0 ||
	    strcmp(key, "referral_agencies") == 0)
		return settings_code_list(v);
	if (strcmp(key, "case_attributes") == 0)
		return settings_attributes(v);
	if (strcmp(key, "crisis_protocol") == 0)
		return settings_protocol(v);
	if (strcmp(key, "canned_phrases") == 0)
		return settings_phrases(v);
	if (strcmp(key, "idle_close_text") == 0)
		return settings_text(v, true);
	if (strcmp(key, "handoff_minutes") == 0)	/* see migration 013 */
		return settings_int(v, 1, 60, &(int){ 0 });
	if (strcmp(key, "reply_waiting_after_seconds") == 0)	/* 014 */
		return settings_int(v, 1, 3600, &(int){ 0 });
	if (strcmp(key, "webchat_session_hours") == 0)
		return settings_int(v, 1, 48, &(int){ 0 });
	if (strcmp(key, "webchat_terms") == 0)
		return settings_text(v, false);
	if (strcmp(key, "webchat_terms_version") == 0)
		return cJSON_IsString(v) && v->valuestring[0] != '\0' &&
		    strlen(v->valuestring) <= 64;
	if (strcmp(key, "restriction_notice_cooldown") == 0 ||
	    strcmp(key, "restriction_notice_block") == 0)
		return settings_text(v, false);
	return false;
}

bool
console_setting_valid(const char *key, const char *json, char *err,
    size_t errlen)
{
	struct console_settings s;
	cJSON *v = cJSON_Parse(json);
	bool ok;

	console_settings_defaults(&s);
	ok = v != NULL && (settings_apply(&s, key, v) ||
	    settings_valid_other(key, v));
	cJSON_Delete(v);
	if (!ok)
		snprintf(err, errlen, "%s: not a valid value (see "
		    "operator-console/API.md and the migrations' defaults)", key);
	return ok;
}

/* What the console shows from the desk's settings: lists and limits. */
static const char desk_sql[] =
"SELECT key, value::text FROM settings"
"  WHERE channel_id IS NULL AND key IN ('desk_name', 'close_reasons',"
"    'case_categories', 'case_attributes', 'referral_agencies',"
"    'canned_phrases', 'session_soft_limit_minutes', 'session_idle_minutes',"
"    'due_soon_minutes', 'crisis_protocol')";

static void
desk_listed(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "desk", res, why);
		return;
	}
	o = cJSON_CreateObject();
	for (int i = 0; i < PQntuples(res); i++)
		cJSON_AddItemToObject(o, PQgetvalue(res, i, 0),
		    cJSON_Parse(PQgetvalue(res, i, 1)));
	api_reply(call, 200, o);
}

/* GET /api/desk */
static void
desk_get(struct api_call *call)
{
	if (!api_query(call, desk_sql, 0, NULL, desk_listed))
		api_db_error(call, "desk", NULL, "no connection");
}

const struct api_route desk_routes[] = {
	{ "GET", "/api/desk", ROLES_ANY, STAGE_FULL, desk_get },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
