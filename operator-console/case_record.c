/*
 * case_record.c - the record kept per contact across conversations:
 * attributes the person agreed to give (each with the date of consent),
 * consultation categories from the desk's taxonomy, a summary, referrals
 * to other agencies and follow-up plans. Free text is sealed; codes are
 * plain, so reports can count them. Every view and every change goes to
 * the audit trail; two counsellors editing at once cannot overwrite each
 * other (the version each started from must still be current).
 *
 * A counsellor sees the record of a contact one of whose conversations
 * they hold (or held, while it stays theirs), or which waits unclaimed and
 * not paused; a supervisor sees all.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "seal.h"

#define SUMMARY_AAD	"case_records.summary"
#define NICKNAME_AAD	"contacts.nickname"
#define REFERRAL_AAD	"referrals.note"
#define FOLLOW_UP_AAD	"follow_ups.plan"
#define TEXT_MAX	(16 * 1024)
#define NICKNAME_MAX	100

/* $1 contact, $2 the viewer's id when limited (else NULL). */
#define CONTACT_VISIBLE \
"  SELECT ct.id FROM contacts ct WHERE ct.id = $1::bigint AND ($2::bigint IS NULL"\
"    OR EXISTS (SELECT 1 FROM conversations cv WHERE cv.contact_id = ct.id"\
"      AND (cv.assignee_id = $2::bigint"\
"           OR (cv.assignee_id IS NULL AND cv.state <> 'closed'"\
"               AND NOT " SQL_RESTRICTED("ct.id", "$3") "))))"

#define AUDIT(action) \
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"\
"      object_id, ip)"\
"  SELECT $3::timestamptz, $4::bigint, $5, '" action "', 'contact', id,"\
"      $6::inet FROM vis"

static const char record_sql[] =
"WITH vis AS (" CONTACT_VISIBLE "), au AS (" AUDIT("case_record.view") ")"
" SELECT ct.id, ct.nickname, ct.nickname_key_id, r.age_band,"
"    r.age_band_consent_on, r.gender, r.gender_consent_on, r.family,"
"    r.family_consent_on, r.municipality, r.municipality_consent_on,"
"    array_to_json(coalesce(r.categories, '{}'))::text, r.summary,"
"    r.summary_key_id, coalesce(r.version, 0), " SQL_ISO("r.updated_at") ","
"    s.display_name, x.kind, " SQL_ISO("x.ends_at") ", x.reason,"
"    x.reason_key_id, x.by"
"  FROM vis JOIN contacts ct ON ct.id = vis.id"
"  LEFT JOIN case_records r ON r.contact_id = ct.id"
"  LEFT JOIN staff s ON s.id = r.updated_by"
"  LEFT JOIN LATERAL (SELECT cr.kind, cr.ends_at, cr.reason,"
"      cr.reason_key_id, xs.display_name AS by"
"     FROM contact_restrictions cr JOIN staff xs ON xs.id = cr.created_by"
"    WHERE cr.contact_id = ct.id AND cr.lifted_at IS NULL"
"      AND (cr.ends_at IS NULL OR cr.ends_at > $3::timestamptz)) x ON true";

/*
 * The record's lists, one row each: type, id, then per type. A
 * conversation brings its crisis level and its escalation steps (what,
 * when; the details are read through the conversation).
 */
static const char record_items_sql[] =
"SELECT 'referral', r.id, r.agency, r.referred_on::text, r.outcome, r.note,"
"    r.note_key_id, NULL::text, NULL::text"
"  FROM referrals r WHERE r.contact_id = $1::bigint"
" UNION ALL "
"SELECT 'follow_up', f.id, NULL, f.due_on::text, NULL, f.plan, f.plan_key_id,"
"    " SQL_ISO("f.done_at") ", NULL FROM follow_ups f"
"  WHERE f.contact_id = $1::bigint"
" UNION ALL "
"SELECT 'conversation', c.id, c.state, " SQL_ISO("c.opened_at") ","
"    c.close_reason, NULL, c.crisis_level, " SQL_ISO("c.closed_at") ","
"    (SELECT json_agg(json_build_object('step', e.step, 'status', e.status,"
"        'contacted_at', " SQL_ISO("e.contacted_at") ") ORDER BY e.id)"
"       FROM escalation_steps e WHERE e.conversation_id = c.id)::text"
"  FROM conversations c WHERE c.contact_id = $1::bigint"
" ORDER BY 1, 2";

/*
 * $7 version started from (0: none yet), $8.. the fields. Codes are
 * checked against the desk's lists in the same statement.
 */
static const char record_save_sql[] =
"WITH vis AS (" CONTACT_VISIBLE "), attrs AS ("
"  SELECT value FROM settings WHERE channel_id IS NULL AND key = 'case_attributes'"
"), valid AS ("
"  SELECT ($8::text IS NULL OR $8 IN (SELECT e->>0 FROM attrs,"
"            jsonb_array_elements(value->'age_band') e))"
"     AND ($10::text IS NULL OR $10 IN (SELECT e->>0 FROM attrs,"
"            jsonb_array_elements(value->'gender') e))"
"     AND ($12::text IS NULL OR $12 IN (SELECT e->>0 FROM attrs,"
"            jsonb_array_elements(value->'family') e))"
"     AND $16::text[] <@ ARRAY(SELECT e->>'code' FROM settings s,"
"            jsonb_array_elements(s.value) e WHERE s.channel_id IS NULL"
"              AND s.key = 'case_categories') AS ok"
"), up AS ("
"  INSERT INTO case_records AS r (contact_id, age_band, age_band_consent_on,"
"      gender, gender_consent_on, family, family_consent_on, municipality,"
"      municipality_consent_on, categories, summary, summary_key_id,"
"      version, updated_at, updated_by)"
"  SELECT id, $8, $9::date, $10, $11::date, $12, $13::date, $14, $15::date,"
"      $16::text[], decode($17, 'base64'), $18::smallint, 1,"
"      $3::timestamptz, $4::bigint"
"    FROM vis WHERE (SELECT ok FROM valid)"
"  ON CONFLICT (contact_id) DO UPDATE SET age_band = EXCLUDED.age_band,"
"    age_band_consent_on = EXCLUDED.age_band_consent_on,"
"    gender = EXCLUDED.gender, gender_consent_on = EXCLUDED.gender_consent_on,"
"    family = EXCLUDED.family, family_consent_on = EXCLUDED.family_consent_on,"
"    municipality = EXCLUDED.municipality,"
"    municipality_consent_on = EXCLUDED.municipality_consent_on,"
"    categories = EXCLUDED.categories, summary = EXCLUDED.summary,"
"    summary_key_id = EXCLUDED.summary_key_id, version = r.version + 1,"
"    updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by"
"   WHERE r.version = $7::int"
"  RETURNING version"
"), au AS (" AUDIT("case_record.edit") " WHERE EXISTS (SELECT 1 FROM up)"
") SELECT (SELECT count(*) FROM vis), (SELECT ok FROM valid),"
"  (SELECT version FROM up)";

static const char nickname_sql[] =
"WITH vis AS (" CONTACT_VISIBLE "), ct AS ("
"  UPDATE contacts SET nickname = decode($7, 'base64'),"
"      nickname_key_id = $8::smallint"
"   WHERE id IN (SELECT id FROM vis) RETURNING id"
"), au AS (" AUDIT("contact.nickname") ")"
" SELECT id FROM ct";

static const char referral_sql[] =
"WITH vis AS (" CONTACT_VISIBLE "), ok AS ("
"  SELECT $7 IN (SELECT e->>'code' FROM settings s,"
"      jsonb_array_elements(s.value) e WHERE s.channel_id IS NULL"
"        AND s.key = 'referral_agencies') AS ok"
"), ins AS ("
"  INSERT INTO referrals (contact_id, agency, referred_on, outcome, note,"
"      note_key_id, created_at, created_by)"
"  SELECT id, $7, $8::date, $9, decode($10, 'base64'), $11::smallint,"
"      $3::timestamptz, $4::bigint FROM vis WHERE (SELECT ok FROM ok)"
"  RETURNING id"
"), au AS (" AUDIT("referral.add") " WHERE EXISTS (SELECT 1 FROM ins)"
") SELECT (SELECT count(*) FROM vis), (SELECT ok FROM ok), (SELECT id FROM ins)";

static const char follow_up_sql[] =
"WITH vis AS (" CONTACT_VISIBLE "), ins AS ("
"  INSERT INTO follow_ups (contact_id, due_on, plan, plan_key_id,"
"      created_at, created_by)"
"  SELECT id, $7::date, decode($8, 'base64'), $9::smallint,"
"      $3::timestamptz, $4::bigint FROM vis"
"  RETURNING id"
"), au AS (" AUDIT("follow_up.add") " WHERE EXISTS (SELECT 1 FROM ins)"
") SELECT id FROM ins";

/* $1 follow-up, $2 viewer, $3 now, $4 staff, $5 login, $6 address. */
static const char follow_up_done_sql[] =
"WITH vis AS ("
"  SELECT f.id, f.contact_id FROM follow_ups f WHERE f.id = $1::bigint"
"     AND ($2::bigint IS NULL OR EXISTS (SELECT 1 FROM conversations cv"
"       WHERE cv.contact_id = f.contact_id AND (cv.assignee_id = $2::bigint"
"         OR (cv.assignee_id IS NULL AND cv.state <> 'closed'))))"
"), up AS ("
"  UPDATE follow_ups SET done_at = coalesce(done_at, $3::timestamptz)"
"   WHERE id IN (SELECT id FROM vis) RETURNING id, contact_id"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, detail, ip)"
"  SELECT $3::timestamptz, $4::bigint, $5, 'follow_up.done', 'contact',"
"      contact_id, json_build_object('follow_up', id), $6::inet FROM up"
") SELECT id FROM up";

/* The first six parameters every statement here shares. */
struct record_params {
	char		 contact[24], viewer[24], staff[24];
	const char	*v[6];
};

static void
record_params(struct api_call *call, struct record_params *p)
{
	snprintf(p->contact, sizeof(p->contact), "%lld", (long long)call->id);
	snprintf(p->staff, sizeof(p->staff), "%lld", (long long)call->staff.id);
	p->v[0] = p->contact;
	p->v[1] = conversation_viewer(call, p->viewer);
	p->v[2] = call->now;
	p->v[3] = p->staff;
	p->v[4] = call->staff.login;
	p->v[5] = api_ip(call);
}

static void
add_text_or_null(cJSON *o, const char *key, const PGresult *res, int row,
    int col)
{
	if (PQgetisnull(res, row, col))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, PQgetvalue(res, row, col));
}

static void
add_sealed(const struct api_call *call, cJSON *o, const char *key,
    const PGresult *res, int row, int col, const char *aad)
{
	size_t len = 0;
	char *text = NULL;

	if (!PQgetisnull(res, row, col) && (text = unseal_pg_hex(call->c->keys,
	    atoi(PQgetvalue(res, row, col + 1)), aad, PQgetvalue(res, row, col),
	    &len)) == NULL)
		log_warn("console.unseal_failed", "column=%s", aad);
	if (text != NULL)
		cJSON_AddStringToObject(o, key, text);
	else
		cJSON_AddNullToObject(o, key);
	free(text);
}

static void
add_attribute(cJSON *attrs, const char *name, const PGresult *res, int col)
{
	cJSON *a = cJSON_AddObjectToObject(attrs, name);

	add_text_or_null(a, "value", res, 0, col);
	add_text_or_null(a, "consent_on", res, 0, col + 1);
}

static void
record_items_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o = call->state, *refs, *fus, *convs;

	call->state = NULL;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		cJSON_Delete(o);
		api_db_error(call, "case_record_items", res, why);
		return;
	}
	refs = cJSON_AddArrayToObject(o, "referrals");
	fus = cJSON_AddArrayToObject(o, "follow_ups");
	convs = cJSON_AddArrayToObject(o, "conversations");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *type = PQgetvalue(res, i, 0);
		cJSON *e = cJSON_CreateObject();

		cJSON_AddNumberToObject(e, "id", atof(PQgetvalue(res, i, 1)));
		if (strcmp(type, "referral") == 0) {
			add_text_or_null(e, "agency", res, i, 2);
			add_text_or_null(e, "referred_on", res, i, 3);
			add_text_or_null(e, "outcome", res, i, 4);
			add_sealed(call, e, "note", res, i, 5, REFERRAL_AAD);
			cJSON_AddItemToArray(refs, e);
		} else if (strcmp(type, "follow_up") == 0) {
			add_text_or_null(e, "due_on", res, i, 3);
			add_sealed(call, e, "plan", res, i, 5, FOLLOW_UP_AAD);
			add_text_or_null(e, "done_at", res, i, 7);
			cJSON_AddItemToArray(fus, e);
		} else {
			add_text_or_null(e, "state", res, i, 2);
			add_text_or_null(e, "opened_at", res, i, 3);
			add_text_or_null(e, "close_reason", res, i, 4);
			add_text_or_null(e, "closed_at", res, i, 7);
			cJSON_AddNumberToObject(e, "crisis_level",
			    atoi(PQgetvalue(res, i, 6)));
			cJSON_AddItemToObject(e, "escalation", cJSON_Parse(
			    PQgetisnull(res, i, 8) ? "[]" : PQgetvalue(res, i, 8)));
			cJSON_AddItemToArray(convs, e);
		}
	}
	api_reply(call, 200, o);
}

/* A pause in force: what and until when; why, for supervisors only. */
static void
record_restriction(const struct api_call *call, cJSON *o, const PGresult *res)
{
	cJSON *x;

	if (PQgetisnull(res, 0, 17)) {
		cJSON_AddNullToObject(o, "restriction");
		return;
	}
	x = cJSON_AddObjectToObject(o, "restriction");
	add_text_or_null(x, "kind", res, 0, 17);
	add_text_or_null(x, "ends_at", res, 0, 18);
	add_text_or_null(x, "by", res, 0, 21);
	if (call->staff.role == ROLE_SUPERVISOR)
		add_sealed(call, x, "reason", res, 0, 19,
		    "contact_restrictions.reason");
}

static void
record_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	char id[24], case_number[32];
	const char *params[1] = { id };
	cJSON *o, *attrs;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "case_record", res, why);
		return;
	}
	if (PQntuples(res) != 1) {
		api_error(call, 404, "not_found", "no such contact, or not one "
		    "of yours");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "contact_id", (double)call->id);
	snprintf(case_number, sizeof(case_number), "No.%06lld",
	    (long long)call->id);
	cJSON_AddStringToObject(o, "case_number", case_number);
	add_sealed(call, o, "nickname", res, 0, 1, NICKNAME_AAD);
	attrs = cJSON_AddObjectToObject(o, "attributes");
	add_attribute(attrs, "age_band", res, 3);
	add_attribute(attrs, "gender", res, 5);
	add_attribute(attrs, "family", res, 7);
	add_attribute(attrs, "municipality", res, 9);
	cJSON_AddItemToObject(o, "categories",
	    cJSON_Parse(PQgetvalue(res, 0, 11)));
	add_sealed(call, o, "summary", res, 0, 12, SUMMARY_AAD);
	cJSON_AddNumberToObject(o, "version", atoi(PQgetvalue(res, 0, 14)));
	add_text_or_null(o, "updated_at", res, 0, 15);
	add_text_or_null(o, "updated_by", res, 0, 16);
	record_restriction(call, o, res);
	call->state = o;
	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	if (!api_query(call, record_items_sql, 1, params, record_items_done)) {
		call->state = NULL;
		cJSON_Delete(o);
		api_db_error(call, "case_record_items", NULL, "no connection");
	}
}

/* GET /api/contacts/:id/case-record */
static void
record_get(struct api_call *call)
{
	struct record_params p;

	record_params(call, &p);
	if (!api_query(call, record_sql, 6, p.v, record_done))
		api_db_error(call, "case_record", NULL, "no connection");
}

static void
record_saved(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "case_record_save", res, why);
		return;
	}
	if (PQgetvalue(res, 0, 0)[0] == '0') {
		api_error(call, 404, "not_found", "no such contact, or not one "
		    "of yours");
	} else if (PQgetvalue(res, 0, 1)[0] != 't') {
		api_error(call, 400, "invalid_code", "an attribute or category "
		    "is not on the desk's list");
	} else if (PQgetisnull(res, 0, 2)) {
		api_error(call, 409, "stale", "someone else changed this record; "
		    "reload it");
	} else {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "version", atoi(PQgetvalue(res, 0, 2)));
		api_reply(call, 200, o);
	}
}

/* An attribute {"value", "consent_on"}: a value needs its consent date. */
static bool
record_attribute(const cJSON *attrs, const char *name, const char **value,
    const char **consent)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(attrs, name);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "value");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "consent_on");

	*value = cJSON_IsString(v) && v->valuestring[0] != '\0' ?
	    v->valuestring : NULL;
	*consent = cJSON_IsString(c) ? c->valuestring : NULL;
	if (*value == NULL) {
		*consent = NULL;
		return a == NULL || cJSON_IsNull(v) || cJSON_IsString(v);
	}
	return strlen(*value) <= 100 && api_date_ok(*consent);
}

/* {"a","b"} from a JSON array of short strings; NULL when it is not one. */
static char *
record_categories(const cJSON *list)
{
	size_t len = 3;
	const cJSON *it;
	char *out;

	if (list == NULL)
		return strdup("{}");
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > 20)
		return NULL;
	cJSON_ArrayForEach(it, list) {
		if (!cJSON_IsString(it) || it->valuestring[0] == '\0' ||
		    strlen(it->valuestring) > 40 ||
		    strpbrk(it->valuestring, "{},\"\\ ") != NULL)
			return NULL;
		len += strlen(it->valuestring) + 1;
	}
	if ((out = malloc(len)) == NULL)
		return NULL;
	strcpy(out, "{");
	cJSON_ArrayForEach(it, list) {
		if (out[1] != '\0')
			strcat(out, ",");
		strcat(out, it->valuestring);
	}
	strcat(out, "}");
	return out;
}

/*
 * PUT /api/contacts/:id/case-record {"version", "attributes": {"age_band":
 * {"value", "consent_on"}, ...}, "categories": [...], "summary"}
 */
static void
record_put(struct api_call *call)
{
	static const char *const names[] = { "age_band", "gender", "family",
	    "municipality" };
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(call->body,
	    "version");
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(call->body,
	    "attributes");
	const char *summary = api_body_string(call, "summary");
	struct record_params p;
	const char *params[18];
	char ver[12], key[8], *cats, *sealed = NULL;

	if (!api_id_ok(version) || version->valuedouble > 1e9 || (summary != NULL &&
	    strlen(summary) > TEXT_MAX) || (cats = record_categories(
	    cJSON_GetObjectItemCaseSensitive(call->body, "categories"))) == NULL) {
		api_error(call, 400, "invalid", "version, attributes, "
		    "categories and summary are expected");
		return;
	}
	record_params(call, &p);
	memcpy(params, p.v, sizeof(p.v));
	snprintf(ver, sizeof(ver), "%d", version->valueint);
	params[6] = ver;
	for (int i = 0; i < 4; i++)
		if (!record_attribute(attrs, names[i], &params[7 + 2 * i],
		    &params[8 + 2 * i])) {
			free(cats);
			api_error(call, 400, "consent", "each attribute needs the "
			    "date the person agreed to give it");
			return;
		}
	params[15] = cats;
	if (!api_seal(call, SUMMARY_AAD, summary, &sealed, key)) {
		free(cats);
		return;
	}
	params[16] = sealed;
	params[17] = sealed != NULL ? key : NULL;
	if (!api_query(call, record_save_sql, 18, params, record_saved))
		api_db_error(call, "case_record_save", NULL, "no connection");
	free(cats);
	free(sealed);
}

static void
simple_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "contact_change", res, why);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		api_error(call, 404, "not_found", "no such contact, or not one "
		    "of yours");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", atof(PQgetvalue(res, 0, 0)));
	api_reply(call, 200, o);
}

/* PUT /api/contacts/:id/nickname {"nickname"}: "" clears it. */
static void
record_nickname(struct api_call *call)
{
	const char *nick = api_body_string(call, "nickname");
	struct record_params p;
	const char *params[8];
	char key[8], *sealed;

	if (nick == NULL || strlen(nick) > NICKNAME_MAX) {
		api_error(call, 400, "invalid", "nickname: up to 100 bytes");
		return;
	}
	if (!api_seal(call, NICKNAME_AAD, nick, &sealed, key))
		return;
	record_params(call, &p);
	memcpy(params, p.v, sizeof(p.v));
	params[6] = sealed;
	params[7] = sealed != NULL ? key : NULL;
	if (!api_query(call, nickname_sql, 8, params, simple_done))
		api_db_error(call, "nickname", NULL, "no connection");
	free(sealed);
}

static void
referral_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "referral", res, why);
	} else if (PQgetvalue(res, 0, 0)[0] == '0') {
		api_error(call, 404, "not_found", "no such contact, or not one "
		    "of yours");
	} else if (PQgetvalue(res, 0, 1)[0] != 't') {
		api_error(call, 400, "invalid_code", "not one of the desk's "
		    "agencies");
	} else {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", atof(PQgetvalue(res, 0, 2)));
		api_reply(call, 200, o);
	}
}

/* POST /api/contacts/:id/referrals {"agency", "referred_on", "outcome"?, "note"?} */
static void
record_referral(struct api_call *call)
{
	const char *agency = api_body_string(call, "agency");
	const char *on = api_body_string(call, "referred_on");
	const char *outcome = api_body_string(call, "outcome");
	const char *note = api_body_string(call, "note");
	struct record_params p;
	const char *params[11];
	char key[8], *sealed;

	if (agency == NULL || !api_date_ok(on) ||
	    (note != NULL && strlen(note) > TEXT_MAX) || (outcome != NULL &&
	    strcmp(outcome, "pending") != 0 && strcmp(outcome, "connected") != 0 &&
	    strcmp(outcome, "declined") != 0 && strcmp(outcome, "unknown") != 0)) {
		api_error(call, 400, "invalid", "agency and referred_on "
		    "(YYYY-MM-DD) are required");
		return;
	}
	if (!api_seal(call, REFERRAL_AAD, note, &sealed, key))
		return;
	record_params(call, &p);
	memcpy(params, p.v, sizeof(p.v));
	params[6] = agency;
	params[7] = on;
	params[8] = outcome;
	params[9] = sealed;
	params[10] = sealed != NULL ? key : NULL;
	if (!api_query(call, referral_sql, 11, params, referral_done))
		api_db_error(call, "referral", NULL, "no connection");
	free(sealed);
}

/* POST /api/contacts/:id/follow-ups {"plan", "due_on"?} */
static void
record_follow_up(struct api_call *call)
{
	const char *plan = api_body_string(call, "plan");
	const char *due = api_body_string(call, "due_on");
	struct record_params p;
	const char *params[10];
	char key[8], *sealed;

	if (plan == NULL || plan[0] == '\0' || strlen(plan) > TEXT_MAX ||
	    (due != NULL && !api_date_ok(due))) {
		api_error(call, 400, "invalid", "plan is required; due_on is "
		    "YYYY-MM-DD");
		return;
	}
	if (!api_seal(call, FOLLOW_UP_AAD, plan, &sealed, key))
		return;
	record_params(call, &p);
	memcpy(params, p.v, sizeof(p.v));
	params[6] = due;
	params[7] = sealed;
	params[8] = key;
	if (!api_query(call, follow_up_sql, 9, params, simple_done))
		api_db_error(call, "follow_up", NULL, "no connection");
	free(sealed);
}

/* POST /api/follow-ups/:id/done */
static void
record_follow_up_done(struct api_call *call)
{
	struct record_params p;

	record_params(call, &p);	/* :id is the follow-up's here */
	if (!api_query(call, follow_up_done_sql, 6, p.v, simple_done))
		api_db_error(call, "follow_up_done", NULL, "no connection");
}

const struct api_route case_record_routes[] = {
	{ "GET", "/api/contacts/:id/case-record", ROLES_STAFF, STAGE_FULL,
	    record_get },
	{ "PUT", "/api/contacts/:id/case-record", ROLES_STAFF, STAGE_FULL,
	    record_put },
	{ "PUT", "/api/contacts/:id/nickname", ROLES_STAFF, STAGE_FULL,
	    record_nickname },
	{ "POST", "/api/contacts/:id/referrals", ROLES_STAFF, STAGE_FULL,
	    record_referral },
	{ "POST", "/api/contacts/:id/follow-ups", ROLES_STAFF, STAGE_FULL,
	    record_follow_up },
	{ "POST", "/api/follow-ups/:id/done", ROLES_STAFF, STAGE_FULL,
	    record_follow_up_done },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
