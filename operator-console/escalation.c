/*
 * escalation.c - the escalation record of a conversation whose person's
 * life may be at risk: a supervisor records each step of the desk's
 * protocol (crisis_protocol: confirm the situation, contact the police,
 * the prefecture, ...), as done (who, when, their reference, the outcome)
 * or not needed (and why). Staff who may see the conversation may read
 * the record. closing.c refuses to close a high-risk conversation while a
 * required step is missing.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "seal.h"

#define DETAIL_AAD	"escalation_steps.detail"
#define FIELD_MAX	(2 * 1024)

/* $1 viewer (counsellors), $2 conversation, $3 now, $4 staff, $5 login,
 * $6 address: the protocol, the steps recorded, the audit entry. */
static const char escalation_read_sql[] =
"WITH cv AS ("
"  SELECT cv.id, cv.crisis_level FROM conversations cv" CONVERSATION_VISIBLE
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, ip)"
"  SELECT $3::timestamptz, $4::bigint, $5, 'escalation.view',"
"      'conversation', id, $6::inet FROM cv"
") SELECT cv.crisis_level,"
"  (SELECT value::text FROM settings WHERE channel_id IS NULL"
"     AND key = 'crisis_protocol'),"
"  e.id, e.step, e.status, " SQL_ISO("e.contacted_at") ", e.detail,"
"  e.detail_key_id, s.display_name, " SQL_ISO("e.recorded_at")
"  FROM cv LEFT JOIN escalation_steps e ON e.conversation_id = cv.id"
"  LEFT JOIN staff s ON s.id = e.staff_id"
" ORDER BY e.id";

/*
 * $1 conversation, $2 now, $3 supervisor, $4 step, $5 status, $6 contacted
 * at, $7/$8 sealed detail, $9 login, $10 address. The step must be one of
 * the protocol's, and recorded once.
 */
static const char escalation_record_sql[] =
"WITH known AS ("
"  SELECT 1 FROM settings s, jsonb_array_elements(s.value) p"
"   WHERE s.channel_id IS NULL AND s.key = 'crisis_protocol'"
"     AND p->>'code' = $4"
"), ins AS ("
"  INSERT INTO escalation_steps (conversation_id, step, status,"
"      contacted_at, detail, detail_key_id, staff_id, recorded_at)"
"  SELECT $1::bigint, $4, $5, $6::timestamptz, decode($7, 'base64'),"
"      $8::smallint, $3::bigint, $2::timestamptz"
"   WHERE EXISTS (SELECT 1 FROM known)"
"     AND EXISTS (SELECT 1 FROM crisis_events WHERE level = 2"
"                  AND conversation_id = $1::bigint)"
"  ON CONFLICT (conversation_id, step) DO NOTHING"	/* once */
"  RETURNING id"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, detail, ip)"
"  SELECT $2::timestamptz, $3::bigint, $9, 'escalation.record',"
"      'conversation', $1::bigint, json_build_object('step', $4::text,"
"      'status', $5::text, 'escalation_step', id), $10::inet FROM ins"
") SELECT (SELECT count(*) FROM known),"
"  EXISTS (SELECT 1 FROM conversations WHERE id = $1::bigint),"
"  EXISTS (SELECT 1 FROM crisis_events WHERE level = 2"
"           AND conversation_id = $1::bigint),"
"  (SELECT id FROM ins),"
"  (SELECT pg_notify('madoguchi_console', json_build_object('id',"
"      $1::bigint, 'change', 'escalation')::text) FROM ins)";

/* The sealed detail as an object, or an empty one when it cannot open. */
static cJSON *
detail_json(const struct api_call *call, const PGresult *res, int row)
{
	size_t len;
	char *plain = unseal_pg_hex(call->c->keys, atoi(PQgetvalue(res, row, 7)),
	    DETAIL_AAD, PQgetvalue(res, row, 6), &len);
	cJSON *o = plain != NULL ? cJSON_Parse(plain) : NULL;

	if (plain == NULL)
		log_warn("console.unseal_failed", "column=%s", DETAIL_AAD);
	free(plain);
	return o != NULL ? o : cJSON_CreateObject();
}

static cJSON *
step_json(const struct api_call *call, const PGresult *res, int row)
{
	cJSON *o = detail_json(call, res, row);

	cJSON_AddNumberToObject(o, "id", atof(PQgetvalue(res, row, 2)));
	cJSON_AddStringToObject(o, "step", PQgetvalue(res, row, 3));
	cJSON_AddStringToObject(o, "status", PQgetvalue(res, row, 4));
	if (PQgetisnull(res, row, 5))
		cJSON_AddNullToObject(o, "contacted_at");
	else
		cJSON_AddStringToObject(o, "contacted_at",
		    PQgetvalue(res, row, 5));
	cJSON_AddStringToObject(o, "recorded_by", PQgetvalue(res, row, 8));
	cJSON_AddStringToObject(o, "recorded_at", PQgetvalue(res, row, 9));
	return o;
}

/* Required steps of the protocol with no step recorded. */
static cJSON *
missing_json(const cJSON *protocol, const cJSON *steps)
{
	cJSON *missing = cJSON_CreateArray();
	const cJSON *p, *s;

	cJSON_ArrayForEach(p, protocol) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(p, "code");
		bool found = false;

		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p,
		    "required")) || !cJSON_IsString(code))
			continue;
		cJSON_ArrayForEach(s, steps)
			found |= strcmp(cJSON_GetObjectItemCaseSensitive(s,
			    "step")->valuestring, code->valuestring) == 0;
		if (!found)
			cJSON_AddItemToArray(missing,
			    cJSON_CreateString(code->valuestring));
	}
	return missing;
}

static void
escalation_read_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *out, *steps, *protocol;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "escalation_read", res, why);
		return;
	}
	if (PQntuples(res) == 0) {
		api_error(call, 404, "not_found", "no such conversation for you");
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "crisis_level", atoi(PQgetvalue(res, 0, 0)));
	protocol = cJSON_Parse(PQgetisnull(res, 0, 1) ? "[]" :
	    PQgetvalue(res, 0, 1));
	if (protocol == NULL)
		protocol = cJSON_CreateArray();
	cJSON_AddItemToObject(out, "protocol", protocol);
	steps = cJSON_AddArrayToObject(out, "steps");
	for (int i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, 2))
			cJSON_AddItemToArray(steps, step_json(call, res, i));
	cJSON_AddItemToObject(out, "missing", missing_json(protocol, steps));
	cJSON_AddBoolToObject(out, "complete", cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(out, "missing")) == 0);
	api_reply(call, 200, out);
}

/* GET /api/conversations/:id/escalation */
static void
escalation_read(struct api_call *call)
{
	char viewer[24], id[24], staff[24];
	const char *params[6] = { conversation_viewer(call, viewer), id,
	    call->now, staff, call->staff.login, api_ip(call) };

	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	if (!api_query(call, escalation_read_sql, 6, params,
	    escalation_read_done))
		api_db_error(call, "escalation_read", NULL, "no connection");
}

static void
escalation_record_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *out;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "escalation_record", res, why);
		return;
	}
	if (PQgetvalue(res, 0, 1)[0] != 't')
		api_error(call, 404, "not_found", "no such conversation");
	else if (atoi(PQgetvalue(res, 0, 0)) == 0)
		api_error(call, 400, "step", "not a step of the desk's protocol");
	else if (PQgetvalue(res, 0, 2)[0] != 't')
		api_error(call, 409, "not_in_crisis", "this conversation was "
		    "never at high risk");
	else if (PQgetisnull(res, 0, 3))
		api_error(call, 409, "recorded", "this step is already recorded");
	else {
		out = cJSON_CreateObject();
		cJSON_AddNumberToObject(out, "id", atof(PQgetvalue(res, 0, 3)));
		log_info("console.escalation", "conversation=%lld by=%lld",
		    (long long)call->id, (long long)call->staff.id);
		api_reply(call, 200, out);
	}
}

/* A member that is absent, or a string of at most FIELD_MAX bytes. */
static bool
optional_text(const struct api_call *call, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(call->body, key);

	return v == NULL || cJSON_IsNull(v) ||
	    (cJSON_IsString(v) && strlen(v->valuestring) <= FIELD_MAX);
}

/* What is sealed: the free-text fields, as a JSON object. */
static char *
detail_text(const struct api_call *call)
{
	static const char *const keys[] = { "counterpart", "reference",
	    "outcome" };
	cJSON *o = cJSON_CreateObject();
	char *text;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = api_body_string(call, keys[i]);

		cJSON_AddStringToObject(o, keys[i], v != NULL ? v : "");
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/*
 * POST /api/conversations/:id/escalation {"step", "status": "done" |
 * "not_needed", "contacted_at", "counterpart", "reference", "outcome"}:
 * done needs contacted_at and counterpart; not_needed needs the outcome
 * (why not).
 */
static void
escalation_record(struct api_call *call)
{
	const char *step = api_body_string(call, "step");
	const char *status = api_body_string(call, "status");
	const char *at = api_body_string(call, "contacted_at");
	const char *counterpart = api_body_string(call, "counterpart");
	const char *outcome = api_body_string(call, "outcome");
	bool done = status != NULL && strcmp(status, "done") == 0;
	int64_t at_us = 0;
	char id[24], staff[24], key[8], contacted[CLOCK_ISO_LEN];
	char *detail, *sealed;
	const char *params[10];

	if (step == NULL || strlen(step) > 40 || status == NULL ||
	    (!done && strcmp(status, "not_needed") != 0) ||
	    !optional_text(call, "counterpart") ||
	    !optional_text(call, "reference") ||
	    !optional_text(call, "outcome") ||
	    (done && (at == NULL || !clock_parse_iso8601(at, &at_us) ||
	    at_us > call->now_us + 300000000LL || counterpart == NULL ||
	    counterpart[0] == '\0')) ||
	    (!done && (outcome == NULL || outcome[0] == '\0'))) {
		api_error(call, 400, "invalid", "step and status are required; "
		    "done needs contacted_at (not in the future) and "
		    "counterpart, not_needed needs the outcome (why)");
		return;
	}
	if ((detail = detail_text(call)) == NULL) {
		api_error(call, 500, "no_memory", "out of memory");
		return;
	}
	if (!api_seal(call, DETAIL_AAD, detail, &sealed, key)) {
		free(detail);
		return;		/* answered */
	}
	free(detail);
	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	if (done)
		clock_format_utc(at_us, contacted);
	params[0] = id;
	params[1] = call->now;
	params[2] = staff;
	params[3] = step;
	params[4] = status;
	params[5] = done ? contacted : NULL;
	params[6] = sealed;
	params[7] = key;
	params[8] = call->staff.login;
	params[9] = api_ip(call);
	if (!api_query(call, escalation_record_sql, 10, params,
	    escalation_record_done))
		api_db_error(call, "escalation_record", NULL, "no connection");
	free(sealed);
}

const struct api_route escalation_routes[] = {
	{ "GET", "/api/conversations/:id/escalation", ROLES_STAFF, STAGE_FULL,
	    escalation_read },
	{ "POST", "/api/conversations/:id/escalation", ROLE_SUPERVISOR,
	    STAGE_FULL, escalation_record },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
