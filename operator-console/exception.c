/*
 * exception.c - the emergency exception to strict mode: a supervisor, and
 * only a supervisor, lets one conversation continue on LINE while a life
 * is at risk, for a stated time and with a reason, and may end it early.
 * Each is one statement with the conversation's history entry, the audit
 * entry and the NOTIFY. The outbox's trigger and the sender read the
 * exception; nothing here sends anything.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define EXCEPTION_REASON_MAX	(4 * 1024)
#define EXCEPTION_MINUTES_MAX	(24 * 60)
#define EXCEPTION_MINUTES_DEFAULT 60
#define EXCEPTION_AAD		"strict_exceptions.reason"
#define EVENT_AAD		"conversation_events.body"

/*
 * $1 conversation, $2 now, $3 supervisor, $4 minutes, $5/$6 the reason
 * sealed for strict_exceptions, $7/$8 for the history, $9 login,
 * $10 address. A new grant ends one still running: one at a time.
 */
static const char exception_grant_sql[] =
"WITH cv AS ("
"  SELECT id, channel_line_mode(channel_id) = 'strict' AS strict"
"    FROM conversations WHERE id = $1::bigint AND state <> 'closed'"
"   FOR UPDATE"
"), old AS ("
"  UPDATE strict_exceptions SET ended_at = $2::timestamptz,"
"      ended_by = $3::bigint"
"   WHERE conversation_id IN (SELECT id FROM cv WHERE strict)"
"     AND ended_at IS NULL AND until > $2::timestamptz"
"  RETURNING id"
"), ex AS ("
"  INSERT INTO strict_exceptions (conversation_id, granted_by, granted_at,"
"      until, reason, reason_key_id)"
"  SELECT id, $3::bigint, $2::timestamptz,"
"      $2::timestamptz + make_interval(mins => $4::integer),"
"      decode($5, 'base64'), $6::smallint FROM cv WHERE strict"
"  RETURNING id, conversation_id, until"
"), hist AS ("
"  INSERT INTO conversation_events (conversation_id, at, staff_id, kind,"
"      code, body, body_key_id)"
"  SELECT conversation_id, $2::timestamptz, $3::bigint, 'strict_exception',"
"      $4::text, decode($7, 'base64'), $8::smallint FROM ex"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, detail, ip)"
"  SELECT $2::timestamptz, $3::bigint, $9, 'conversation.emergency_exception',"
"      'conversation', conversation_id, json_build_object('exception', id,"
"      'minutes', $4::integer, 'until', until,"
"      'replaced', (SELECT json_agg(id) FROM old)), $10::inet FROM ex"
") SELECT (SELECT count(*) FROM cv), (SELECT count(*) FROM cv WHERE strict),"
"  (SELECT id FROM ex), (SELECT " SQL_ISO("until") " FROM ex),"
"  (SELECT pg_notify('madoguchi_console', json_build_object('id',"
"      conversation_id, 'change', 'emergency_exception')::text) FROM ex)";

/* $1 conversation, $2 now, $3 supervisor, $4 login, $5 address. */
static const char exception_end_sql[] =
"WITH ended AS ("
"  UPDATE strict_exceptions SET ended_at = $2::timestamptz,"
"      ended_by = $3::bigint"
"   WHERE conversation_id = $1::bigint AND ended_at IS NULL"
"     AND until > $2::timestamptz"
"  RETURNING id, conversation_id"
"), hist AS ("
"  INSERT INTO conversation_events (conversation_id, at, staff_id, kind)"
"  SELECT conversation_id, $2::timestamptz, $3::bigint,"
"      'strict_exception_ended' FROM ended"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, detail, ip)"
"  SELECT $2::timestamptz, $3::bigint, $4,"
"      'conversation.emergency_exception_end', 'conversation',"
"      conversation_id, json_build_object('exception', id), $5::inet"
"    FROM ended"
") SELECT count(*), (SELECT pg_notify('madoguchi_console',"
"    json_build_object('id', $1::bigint,"
"      'change', 'emergency_exception')::text)"
"     WHERE EXISTS (SELECT 1 FROM ended)) FROM ended";

static void
exception_granted(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *out;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "exception_grant", res, why);
		return;
	}
	if (atoi(PQgetvalue(res, 0, 0)) == 0) {
		api_error(call, 404, "not_found", "no such open conversation");
		return;
	}
	if (atoi(PQgetvalue(res, 0, 1)) == 0) {
		api_error(call, 409, "not_strict", "this desk's LINE account is "
		    "not in strict mode: the conversation may continue there "
		    "already");
		return;
	}
	log_info("console.emergency_exception", "conversation=%lld by=%lld "
	    "exception=%s", (long long)call->id, (long long)call->staff.id,
	    PQgetvalue(res, 0, 2));
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "id", atof(PQgetvalue(res, 0, 2)));
	cJSON_AddStringToObject(out, "until", PQgetvalue(res, 0, 3));
	api_reply(call, 200, out);
}

/* The minutes asked for, or the default; -1 when not a valid number. */
static int
exception_minutes(const struct api_call *call)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(call->body,
	    "minutes");

	if (m == NULL)
		return EXCEPTION_MINUTES_DEFAULT;
	if (!cJSON_IsNumber(m) || m->valuedouble != m->valueint ||
	    m->valueint < 1 || m->valueint > EXCEPTION_MINUTES_MAX)
		return -1;
	return m->valueint;
}

/* POST /api/conversations/:id/emergency-exception {"reason", "minutes"?} */
static void
exception_grant(struct api_call *call)
{
	const char *reason = api_body_string(call, "reason");
	int minutes = exception_minutes(call);
	char id[24], staff[24], mins[16], key1[8], key2[8];
	char *sealed1 = NULL, *sealed2 = NULL;
	const char *params[10];

	if (reason == NULL || reason[0] == '\0' ||
	    strlen(reason) > EXCEPTION_REASON_MAX || minutes < 0) {
		api_error(call, 400, "invalid", "a reason is required, and "
		    "minutes (1 to 1440, default 60) if given");
		return;
	}
	if (!api_seal(call, EXCEPTION_AAD, reason, &sealed1, key1) ||
	    !api_seal(call, EVENT_AAD, reason, &sealed2, key2)) {
		free(sealed1);
		return;		/* answered */
	}
	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	snprintf(mins, sizeof(mins), "%d", minutes);
	params[0] = id;
	params[1] = call->now;
	params[2] = staff;
	params[3] = mins;
	params[4] = sealed1;
	params[5] = key1;
	params[6] = sealed2;
	params[7] = key2;
	params[8] = call->staff.login;
	params[9] = api_ip(call);
	if (!api_query(call, exception_grant_sql, 10, params,
	    exception_granted))
		api_db_error(call, "exception_grant", NULL, "no connection");
	free(sealed1);
	free(sealed2);
}

static void
exception_ended(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		api_db_error(call, "exception_end", res, why);
	else if (atoi(PQgetvalue(res, 0, 0)) == 0)
		api_error(call, 409, "no_exception", "no emergency exception "
		    "is running for this conversation");
	else {
		log_info("console.emergency_exception_ended", "conversation=%lld "
		    "by=%lld", (long long)call->id, (long long)call->staff.id);
		api_reply(call, 200, cJSON_CreateObject());
	}
}

/* DELETE /api/conversations/:id/emergency-exception */
static void
exception_end(struct api_call *call)
{
	char id[24], staff[24];
	const char *params[5] = { id, call->now, staff, call->staff.login,
	    api_ip(call) };

	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	if (!api_query(call, exception_end_sql, 5, params, exception_ended))
		api_db_error(call, "exception_end", NULL, "no connection");
}

const struct api_route exception_routes[] = {
	{ "POST", "/api/conversations/:id/emergency-exception",
	    ROLE_SUPERVISOR, STAGE_FULL, exception_grant },
	{ "DELETE", "/api/conversations/:id/emergency-exception",
	    ROLE_SUPERVISOR, STAGE_FULL, exception_end },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
