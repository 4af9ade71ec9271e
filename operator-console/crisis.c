/*
 * crisis.c - the console's side of crisis safety: a counsellor raises or
 * lowers a conversation's crisis level by hand, always with a reason; a
 * supervisor acknowledges an alert, which stops its rounds; supervisors
 * list what is still unacknowledged (the banner, on every page load).
 * Each is one statement with its audit entry and its NOTIFY, so every
 * process's consoles hear of it (crisis/alert.c sends the rounds).
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define REASON_MAX		(4 * 1024)
#define REASON_AAD		"crisis_events.reason"
#define EVENT_AAD		"conversation_events.body"

/*
 * $1 viewer (counsellors), $2 conversation, $3 now, $4 level, $5 staff,
 * $6/$7 the reason sealed for crisis_events, $8/$9 for the history,
 * $10 login, $11 address, $12 whether the caller is a supervisor. Only a
 * supervisor may take a conversation down from high, and doing so
 * acknowledges what was alerting: a counsellor cannot silence an alert.
 */
static const char crisis_set_sql[] =
"WITH cv AS ("
"  SELECT cv.id, cv.crisis_level FROM conversations cv" CONVERSATION_VISIBLE
"     AND cv.state <> 'closed' FOR UPDATE"
"), allowed AS ("
"  SELECT id, crisis_level FROM cv"
"   WHERE $12::boolean OR cv.crisis_level < 2 OR $4::smallint = 2"
"), up AS ("
"  UPDATE conversations c SET crisis_level = $4::smallint,"
"      crisis_raised_at = CASE WHEN $4::smallint > cv.crisis_level"
"        THEN $3::timestamptz ELSE c.crisis_raised_at END"
"    FROM allowed cv WHERE c.id = cv.id AND cv.crisis_level <> $4::smallint"
"  RETURNING c.id, cv.crisis_level AS before"
"), acked AS ("
"  UPDATE crisis_events e SET acknowledged_at = $3::timestamptz,"
"      acknowledged_by = $5::bigint, next_alert_at = NULL"
"   WHERE e.conversation_id IN (SELECT id FROM up) AND $4::smallint < 2"
"     AND e.acknowledged_at IS NULL AND e.next_alert_at IS NOT NULL"
"  RETURNING e.id"
"), ev AS ("
"  INSERT INTO crisis_events (conversation_id, source, level,"
"      previous_level, reason, reason_key_id, staff_id, at, next_alert_at)"
"  SELECT id, CASE WHEN $4::smallint > before THEN 'raised' ELSE 'lowered'"
"      END, $4::smallint, before, decode($6, 'base64'), $7::smallint,"
"      $5::bigint, $3::timestamptz,"
"      CASE WHEN $4::smallint = 2 THEN $3::timestamptz END FROM up"
"  RETURNING id, conversation_id, source, level, previous_level"
"), hist AS ("
"  INSERT INTO conversation_events (conversation_id, at, staff_id, kind,"
"      code, body, body_key_id)"
"  SELECT conversation_id, $3::timestamptz, $5::bigint, 'crisis_' || source,"
"      level::text, decode($8, 'base64'), $9::smallint FROM ev"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, detail, ip)"
"  SELECT $3::timestamptz, $5::bigint, $10, 'crisis.' || source,"
"      'conversation', conversation_id, json_build_object('level', level,"
"      'previous_level', previous_level, 'crisis_event', id,"
"      'acknowledged', (SELECT count(*) FROM acked)), $11::inet FROM ev"
") SELECT (SELECT count(*) FROM cv), (SELECT count(*) FROM ev),"
"  (SELECT count(*) FROM allowed),"
"  (SELECT pg_notify('madoguchi_crisis', json_build_object("
"      'conversation', conversation_id, 'level', level, 'source', source)::text)"
"     FROM ev)";

/* $1 conversation, $2 now, $3 supervisor, $4 login, $5 address. */
static const char crisis_ack_sql[] =
"WITH ack AS ("
"  UPDATE crisis_events SET acknowledged_at = $2::timestamptz,"
"      acknowledged_by = $3::bigint, next_alert_at = NULL"
"   WHERE conversation_id = $1::bigint AND acknowledged_at IS NULL"
"     AND next_alert_at IS NOT NULL"
"  RETURNING id, alerts_sent"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, detail, ip)"
"  SELECT $2::timestamptz, $3::bigint, $4, 'crisis.acknowledge',"
"      'conversation', $1::bigint, json_build_object('crisis_events',"
"      json_agg(id ORDER BY id), 'alerts_sent', max(alerts_sent)), $5::inet"
"    FROM ack HAVING count(*) > 0"
") SELECT count(*), (SELECT pg_notify('madoguchi_crisis', json_build_object("
"    'conversation', $1::bigint, 'acknowledged', true)::text)"
"     WHERE EXISTS (SELECT 1 FROM ack)) FROM ack";

/* What still waits for an acknowledgement, oldest first. */
static const char crisis_alerts_sql[] =
"SELECT e.id, e.conversation_id, cv.contact_id, e.level, e.source,"
"  coalesce(e.rule, ''), e.alerts_sent, " SQL_ISO("e.at") ","
"  " SQL_ISO("e.next_alert_at") ", s.display_name"
"  FROM crisis_events e JOIN conversations cv ON cv.id = e.conversation_id"
"  LEFT JOIN staff s ON s.id = e.staff_id"
" WHERE e.next_alert_at IS NOT NULL AND e.acknowledged_at IS NULL"
" ORDER BY e.at, e.id LIMIT 200";

static void
crisis_set_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *out;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "crisis_set", res, why);
		return;
	}
	if (atoi(PQgetvalue(res, 0, 0)) == 0) {
		api_error(call, 404, "not_found", "no such open conversation "
		    "for you");
		return;
	}
	if (atoi(PQgetvalue(res, 0, 2)) == 0) {
		api_error(call, 403, "supervisor_only", "only a supervisor may "
		    "lower a conversation from high");
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddBoolToObject(out, "changed", atoi(PQgetvalue(res, 0, 1)) > 0);
	log_info("console.crisis_set", "conversation=%lld by=%lld",
	    (long long)call->id, (long long)call->staff.id);
	api_reply(call, 200, out);
}

/* POST /api/conversations/:id/crisis {"level": 0|1|2, "reason"} */
static void
crisis_set(struct api_call *call)
{
	const cJSON *level = cJSON_GetObjectItemCaseSensitive(call->body,
	    "level");
	const char *reason = api_body_string(call, "reason");
	char viewer[24], id[24], lv[4], staff[24], key1[8], key2[8];
	char *sealed1 = NULL, *sealed2 = NULL;
	const char *params[12];

	if (!cJSON_IsNumber(level) || level->valuedouble != level->valueint ||
	    level->valueint < 0 || level->valueint > 2 || reason == NULL ||
	    reason[0] == '\0' || strlen(reason) > REASON_MAX) {
		api_error(call, 400, "invalid", "level (0, 1 or 2) and a reason "
		    "are required");
		return;
	}
	if (!api_seal(call, REASON_AAD, reason, &sealed1, key1) ||
	    !api_seal(call, EVENT_AAD, reason, &sealed2, key2)) {
		free(sealed1);
		return;		/* answered */
	}
	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	snprintf(lv, sizeof(lv), "%d", level->valueint);
	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	params[0] = conversation_viewer(call, viewer);
	params[1] = id;
	params[2] = call->now;
	params[3] = lv;
	params[4] = staff;
	params[5] = sealed1;
	params[6] = key1;
	params[7] = sealed2;
	params[8] = key2;
	params[9] = call->staff.login;
	params[10] = api_ip(call);
	params[11] = call->staff.role == ROLE_SUPERVISOR ? "true" : "false";
	if (!api_query(call, crisis_set_sql, 12, params, crisis_set_done))
		api_db_error(call, "crisis_set", NULL, "no connection");
	free(sealed1);
	free(sealed2);
}

static void
crisis_ack_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		api_db_error(call, "crisis_ack", res, why);
	else if (atoi(PQgetvalue(res, 0, 0)) == 0)
		api_error(call, 409, "nothing_to_acknowledge", "no alert waits "
		    "for an acknowledgement here");
	else {
		log_info("console.crisis_acknowledged", "conversation=%lld "
		    "by=%lld", (long long)call->id, (long long)call->staff.id);
		api_reply(call, 200, cJSON_CreateObject());
	}
}

/* POST /api/conversations/:id/crisis/ack */
static void
crisis_ack(struct api_call *call)
{
	char id[24], staff[24];
	const char *params[5] = { id, call->now, staff, call->staff.login,
	    api_ip(call) };

	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	if (!api_query(call, crisis_ack_sql, 5, params, crisis_ack_done))
		api_db_error(call, "crisis_ack", NULL, "no connection");
}

static cJSON *
alert_json(const PGresult *res, int row)
{
	cJSON *o = cJSON_CreateObject();
	char case_number[32];

	snprintf(case_number, sizeof(case_number), "No.%06lld",
	    strtoll(PQgetvalue(res, row, 2), NULL, 10));
	cJSON_AddNumberToObject(o, "id", atof(PQgetvalue(res, row, 0)));
	cJSON_AddNumberToObject(o, "conversation", atof(PQgetvalue(res, row, 1)));
	cJSON_AddStringToObject(o, "case_number", case_number);
	cJSON_AddNumberToObject(o, "level", atoi(PQgetvalue(res, row, 3)));
	cJSON_AddStringToObject(o, "source", PQgetvalue(res, row, 4));
	cJSON_AddStringToObject(o, "rule", PQgetvalue(res, row, 5));
	cJSON_AddNumberToObject(o, "alerts_sent", atoi(PQgetvalue(res, row, 6)));
	cJSON_AddStringToObject(o, "at", PQgetvalue(res, row, 7));
	cJSON_AddStringToObject(o, "next_alert_at", PQgetvalue(res, row, 8));
	if (PQgetisnull(res, row, 9))
		cJSON_AddNullToObject(o, "raised_by");
	else
		cJSON_AddStringToObject(o, "raised_by", PQgetvalue(res, row, 9));
	return o;
}

static void
crisis_alerts_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *out, *list;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "crisis_alerts", res, why);
		return;
	}
	out = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(out, "alerts");
	for (int i = 0; i < PQntuples(res); i++)
		cJSON_AddItemToArray(list, alert_json(res, i));
	api_reply(call, 200, out);
}

/* GET /api/crisis/alerts */
static void
crisis_alerts_list(struct api_call *call)
{
	if (!api_query(call, crisis_alerts_sql, 0, NULL, crisis_alerts_done))
		api_db_error(call, "crisis_alerts", NULL, "no connection");
}

const struct api_route crisis_routes[] = {
	{ "POST", "/api/conversations/:id/crisis", ROLES_STAFF, STAGE_FULL,
	    crisis_set },
	{ "POST", "/api/conversations/:id/crisis/ack", ROLE_SUPERVISOR,
	    STAGE_FULL, crisis_ack },
	{ "GET", "/api/crisis/alerts", ROLE_SUPERVISOR, STAGE_FULL,
	    crisis_alerts_list },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
