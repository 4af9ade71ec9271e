/*
 * queue.c - the waiting conversations, and the counsellor's own state:
 * online or away (which the busy auto-reply counts), the live stream.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "seal.h"

#define PREVIEW_CHARS	60
#define QUEUE_LIMIT	"500"

static const char presence_sql[] =
"UPDATE staff SET presence = $2, presence_changed_at = $3::timestamptz"
"  WHERE id = $1::bigint RETURNING presence";

static void
presence_set(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		api_db_error(call, "presence", res, why);
		return;
	}
	log_info("console.presence", "staff=%lld presence=%s",
	    (long long)call->staff.id, PQgetvalue(res, 0, 0));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "presence", PQgetvalue(res, 0, 0));
	api_reply(call, 200, o);
}

/* PUT /api/me/presence {"presence": "online" | "away"} */
static void
queue_presence(struct api_call *call)
{
	const char *p = api_body_string(call, "presence");
	char id[24];
	const char *params[3] = { id, p, call->now };

	if (p == NULL || (strcmp(p, "online") != 0 && strcmp(p, "away") != 0)) {
		api_error(call, 400, "invalid", "presence is online or away");
		return;
	}
	snprintf(id, sizeof(id), "%lld", (long long)call->staff.id);
	if (!api_query(call, presence_sql, 3, params, presence_set))
		api_db_error(call, "presence", NULL, "no connection");
}

static bool
queue_json_time(cJSON *o, const char *key, const PGresult *res, int row,
    int col)
{
	if (PQgetisnull(res, row, col))
		return cJSON_AddNullToObject(o, key) != NULL;
	return cJSON_AddStringToObject(o, key, PQgetvalue(res, row, col)) != NULL;
}

/* A sealed text column as a string, or null when absent or unreadable. */
static void
queue_json_sealed(cJSON *o, const char *key, const struct api_call *call,
    const PGresult *res, int row, int col, const char *aad, size_t max_chars)
{
	size_t len = 0;
	char *text;

	if (PQgetisnull(res, row, col)) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	text = unseal_pg_hex(call->c->keys, atoi(PQgetvalue(res, row, col + 1)),
	    aad, PQgetvalue(res, row, col), &len);
	if (text == NULL) {
		log_warn("console.unseal_failed", "column=%s", aad);
		cJSON_AddNullToObject(o, key);
		return;
	}
	if (max_chars > 0) {	/* cut after max_chars UTF-8 characters */
		size_t chars = 0, i;

		for (i = 0; i < len; i++)
			if (((unsigned char)text[i] & 0xc0) != 0x80 &&
			    chars++ == max_chars)
				break;
		text[i] = '\0';
	}
	cJSON_AddStringToObject(o, key, text);
	free(text);
}

cJSON *
conversation_summary_json(const struct api_call *call, const PGresult *res,
    int row)
{
	cJSON *o = cJSON_CreateObject(), *contact, *preview;
	char case_number[32];

	cJSON_AddNumberToObject(o, "id", atof(PQgetvalue(res, row, 0)));
	cJSON_AddStringToObject(o, "state", PQgetvalue(res, row, 1));
	cJSON_AddNumberToObject(o, "crisis_level", atoi(PQgetvalue(res, row, 2)));
	queue_json_time(o, "reply_due_at", res, row, 3);
	queue_json_time(o, "waiting_since", res, row, 4);
	queue_json_time(o, "opened_at", res, row, 5);
	cJSON_AddBoolToObject(o, "overdue", PQgetvalue(res, row, 6)[0] == 't');
	cJSON_AddBoolToObject(o, "due_soon", PQgetvalue(res, row, 7)[0] == 't');
	cJSON_AddBoolToObject(o, "long_session",
	    PQgetvalue(res, row, 19)[0] == 't');
	queue_json_time(o, "claimed_at", res, row, 20);
	cJSON_AddBoolToObject(o, "restricted", PQgetvalue(res, row, 21)[0] == 't');
	cJSON_AddStringToObject(o, "line_mode", PQgetvalue(res, row, 22));
	if (PQgetisnull(res, row, 23))
		cJSON_AddNullToObject(o, "emergency_exception");
	else
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o,
		    "emergency_exception"), "until", PQgetvalue(res, row, 23));
	cJSON_AddBoolToObject(o, "in_webchat", PQgetvalue(res, row, 24)[0] == 't');
	if (PQgetisnull(res, row, 8)) {
		cJSON_AddNullToObject(o, "assignee");
	} else {
		cJSON *a = cJSON_AddObjectToObject(o, "assignee");

		cJSON_AddNumberToObject(a, "id", atof(PQgetvalue(res, row, 8)));
		cJSON_AddStringToObject(a, "display_name",
		    PQgetvalue(res, row, 9));
	}
	contact = cJSON_AddObjectToObject(o, "contact");
	cJSON_AddNumberToObject(contact, "id", atof(PQgetvalue(res, row, 10)));
	snprintf(case_number, sizeof(case_number), "No.%06lld",
	    strtoll(PQgetvalue(res, row, 10), NULL, 10));
	cJSON_AddStringToObject(contact, "case_number", case_number);
	queue_json_sealed(contact, "nickname", call, res, row, 11,
	    "contacts.nickname", 0);
	cJSON_AddBoolToObject(contact, "returning",
	    PQgetvalue(res, row, 13)[0] == 't');
	cJSON_AddStringToObject(contact, "follow_state",
	    PQgetvalue(res, row, 14));
	if (PQgetisnull(res, row, 15)) {
		cJSON_AddNullToObject(o, "preview");
		return o;
	}
	preview = cJSON_AddObjectToObject(o, "preview");
	cJSON_AddStringToObject(preview, "kind", PQgetvalue(res, row, 15));
	queue_json_sealed(preview, "text", call, res, row, 16, "messages.body",
	    PREVIEW_CHARS);
	queue_json_time(preview, "at", res, row, 18);
	return o;
}

void
conversation_list_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o, *list;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "list", res, why);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "now", call->now);
	list = cJSON_AddArrayToObject(o, "conversations");
	for (int i = 0; i < PQntuples(res); i++)
		cJSON_AddItemToArray(list, conversation_summary_json(call, res, i));
	api_reply(call, 200, o);
}

/* Only supervisors see conversations other counsellors hold. */
const char *
conversation_viewer(const struct api_call *call, char buf[24])
{
	if (call->staff.role == ROLE_SUPERVISOR)
		return NULL;
	snprintf(buf, 24, "%lld", (long long)call->staff.id);
	return buf;
}

/* Paused contacts are left to supervisors. */
static const char queue_sql[] = CONVERSATION_SUMMARY_SELECT("$2")
"  WHERE cv.state <> 'closed'"
"    AND ($1::bigint IS NULL OR ((cv.assignee_id IS NULL"
"         OR cv.assignee_id = $1::bigint)"
"         AND NOT " SQL_RESTRICTED("cv.contact_id", "$2") "))"
"  ORDER BY cv.crisis_level DESC, cv.reply_due_at ASC NULLS LAST,"
"    cv.waiting_since ASC NULLS LAST, cv.id"
"  LIMIT " QUEUE_LIMIT;

/* GET /api/queue */
static void
queue_list(struct api_call *call)
{
	char id[24];
	const char *params[2] = { conversation_viewer(call, id), call->now };

	if (!api_query(call, queue_sql, 2, params, conversation_list_done))
		api_db_error(call, "queue", NULL, "no connection");
}

const struct api_route queue_routes[] = {
	{ "GET", "/api/events", ROLES_ANY, STAGE_FULL, sse_open },
	{ "PUT", "/api/me/presence", ROLES_STAFF, STAGE_FULL, queue_presence },
	{ "GET", "/api/queue", ROLES_STAFF, STAGE_FULL, queue_list },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
