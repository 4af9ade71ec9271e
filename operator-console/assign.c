/*
 * assign.c - who holds a conversation, after the claim: a supervisor
 * hands it to another counsellor with a note, and the holder (or a
 * supervisor) gives it back to the queue. Each is one statement that
 * checks the holder it expects, so a change made meanwhile elsewhere is
 * refused rather than undone.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define ASSIGN_NOTE_AAD	"conversation_events.body"
#define ASSIGN_NOTE_MAX	(4 * 1024)

/* $1 conversation, $2 now, $3 supervisor, $4 to whom, $5/$6 sealed note. */
static const char transfer_sql[] =
"WITH target AS ("
"  SELECT id FROM staff WHERE id = $4::bigint AND disabled_at IS NULL"
"     AND role IN ('counsellor', 'supervisor')"
"), cv AS ("
"  UPDATE conversations SET assignee_id = (SELECT id FROM target),"
"      claimed_at = $2::timestamptz, long_session_at = NULL"
"   WHERE id = $1::bigint AND state <> 'closed'"
"     AND EXISTS (SELECT 1 FROM target)"
"     AND assignee_id IS DISTINCT FROM $4::bigint"
"  RETURNING id"
"), ev AS ("
"  INSERT INTO conversation_events (conversation_id, at, staff_id, kind,"
"      target_staff_id, body, body_key_id)"
"  SELECT id, $2::timestamptz, $3::bigint, 'transferred', $4::bigint,"
"      decode($5, 'base64'), $6::smallint FROM cv"
") SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM cv),"
"  (SELECT pg_notify('madoguchi_console', json_build_object('id', id,"
"      'change', 'transferred')::text) FROM cv)";

/* $1 conversation, $2 now, $3 who, $4 NULL for a supervisor (any holder). */
static const char release_sql[] =
"WITH cv AS ("
"  UPDATE conversations SET assignee_id = NULL, claimed_at = NULL,"
"      long_session_at = NULL"
"   WHERE id = $1::bigint AND state <> 'closed' AND assignee_id IS NOT NULL"
"     AND ($4::bigint IS NULL OR assignee_id = $4::bigint)"
"  RETURNING id"
"), ev AS ("
"  INSERT INTO conversation_events (conversation_id, at, staff_id, kind)"
"  SELECT id, $2::timestamptz, $3::bigint, 'released' FROM cv"
") SELECT pg_notify('madoguchi_console', json_build_object('id', id,"
"    'change', 'released')::text) FROM cv";

static void
transferred(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "transfer", res, why);
	} else if (PQgetvalue(res, 0, 0)[0] == '0') {
		api_error(call, 400, "no_such_staff", "no such counsellor, or "
		    "the account is disabled");
	} else if (PQgetvalue(res, 0, 1)[0] == '0') {
		api_error(call, 409, "not_transferred", "closed, or already "
		    "with that counsellor");
	} else {
		log_info("console.transferred", "conversation=%lld by=%lld",
		    (long long)call->id, (long long)call->staff.id);
		api_reply(call, 200, cJSON_CreateObject());
	}
}

/* POST /api/conversations/:id/transfer {"to": staff id, "note"?} */
static void
assign_transfer(struct api_call *call)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(call->body, "to");
	const char *note = api_body_string(call, "note");
	char id[24], by[24], target[24], key[8];
	const char *params[6] = { id, call->now, by, target, NULL, NULL };
	char *sealed;

	if (!api_id_ok(to) || to->valuedouble < 1 ||
	    (note != NULL && strlen(note) > ASSIGN_NOTE_MAX)) {
		api_error(call, 400, "invalid", "to (a staff id) is required");
		return;
	}
	if (!api_seal(call, ASSIGN_NOTE_AAD, note, &sealed, key))
		return;
	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	snprintf(by, sizeof(by), "%lld", (long long)call->staff.id);
	snprintf(target, sizeof(target), "%.0f", to->valuedouble);
	params[4] = sealed;
	params[5] = sealed != NULL ? key : NULL;
	if (!api_query(call, transfer_sql, 6, params, transferred))
		api_db_error(call, "transfer", NULL, "no connection");
	free(sealed);
}

static void
released(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		api_db_error(call, "release", res, why);
	else if (PQntuples(res) != 1)
		api_error(call, 409, "not_yours", "you do not hold this "
		    "conversation");
	else
		api_reply(call, 200, cJSON_CreateObject());
}

/* POST /api/conversations/:id/release: back to the queue, unclaimed. */
static void
assign_release(struct api_call *call)
{
	char id[24], by[24];
	const char *params[4] = { id, call->now, by,
	    call->staff.role == ROLE_SUPERVISOR ? NULL : by };

	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	snprintf(by, sizeof(by), "%lld", (long long)call->staff.id);
	if (!api_query(call, release_sql, 4, params, released))
		api_db_error(call, "release", NULL, "no connection");
}

const struct api_route assign_routes[] = {
	{ "POST", "/api/conversations/:id/transfer", ROLE_SUPERVISOR,
	    STAGE_FULL, assign_transfer },
	{ "POST", "/api/conversations/:id/release", ROLES_STAFF, STAGE_FULL,
	    assign_release },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
