/*
 * deadline.c - no conversation passes its reply deadline silently (and
 * none held past the desk's soft limit on its length unnoticed). Every
 * sweep marks those due within due_soon_minutes and those past due, once
 * each, records the mark in the conversation's history and announces it
 * (NOTIFY, then SSE on every console). Every process sweeps; the marks
 * are set only where still unset, so each is made and announced once.
 *
 * GET /api/deadlines is the supervisor's list: overdue, and due by the
 * end of today (the desk's day, Asia/Tokyo).
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"

/*
 * $1 now, $2 minutes ahead that count as due soon, $3 the soft limit on a
 * held conversation's length, in minutes.
 */
static const char deadline_sweep_sql[] =
"WITH soon AS ("
"  UPDATE conversations SET due_soon_at = $1::timestamptz"
"   WHERE state = 'waiting' AND due_soon_at IS NULL"
"     AND NOT " SQL_RESTRICTED("contact_id", "$1")
"     AND reply_due_at > $1::timestamptz"
"     AND reply_due_at <= $1::timestamptz + make_interval(mins => $2::int)"
"  RETURNING id, 'due_soon' AS kind"
"), late AS ("
"  UPDATE conversations SET overdue_at = $1::timestamptz,"
"      due_soon_at = coalesce(due_soon_at, $1::timestamptz)"
"   WHERE state = 'waiting' AND overdue_at IS NULL"
"     AND NOT " SQL_RESTRICTED("contact_id", "$1")
"     AND reply_due_at <= $1::timestamptz"
"  RETURNING id, 'overdue' AS kind"
"), long AS ("
"  UPDATE conversations SET long_session_at = $1::timestamptz"
"   WHERE state <> 'closed' AND long_session_at IS NULL"
"     AND id NOT IN (SELECT id FROM soon UNION ALL SELECT id FROM late)"
"     AND claimed_at <= $1::timestamptz - make_interval(mins => $3::int)"
"  RETURNING id, 'long_session' AS kind"
"), marked AS ("
"  SELECT * FROM soon UNION ALL SELECT * FROM late UNION ALL"
"  SELECT * FROM long"
"), ev AS ("
"  INSERT INTO conversation_events (conversation_id, at, kind)"
"  SELECT id, $1::timestamptz, kind FROM marked"
") SELECT id, kind, pg_notify('madoguchi_console', json_build_object('id',"
"    id, 'change', kind)::text) FROM marked";

static const char deadline_list_sql[] = CONVERSATION_SUMMARY_SELECT("$1")
"  WHERE cv.state = 'waiting' AND cv.reply_due_at IS NOT NULL"
"    AND cv.reply_due_at < (date_trunc('day', $1::timestamptz"
"          AT TIME ZONE 'Asia/Tokyo') + interval '1 day')"
"        AT TIME ZONE 'Asia/Tokyo'"
"  ORDER BY cv.crisis_level DESC, cv.reply_due_at, cv.id";

static void
deadline_swept(void *arg, const PGresult *res, const char *why)
{
	struct console *c = arg;

	c->sweeping = false;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("console.deadline_sweep_failed", "sqlstate=%s "
		    "reason=\"%s\"", db_sqlstate(res),
		    res ? "rejected by server" : why);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++)
		log_info("console.deadline", "conversation=%s mark=%s",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
}

void
deadline_sweep(struct console *c)
{
	char now[CLOCK_ISO_LEN], minutes[12], limit[12];
	const char *params[3] = { now, minutes, limit };

	if (c->sweeping || c->closing || db_pool_connected(c->pool) == 0)
		return;
	clock_format_utc(clock_now_us(), now);
	snprintf(minutes, sizeof(minutes), "%d", c->settings.due_soon_minutes);
	snprintf(limit, sizeof(limit), "%d", c->settings.soft_limit_minutes);
	c->sweeping = db_query(c->pool, deadline_sweep_sql, 3, params,
	    deadline_swept, c);
}

/* GET /api/deadlines: overdue and due today, for supervisors. */
static void
deadline_list(struct api_call *call)
{
	const char *params[1] = { call->now };

	if (!api_query(call, deadline_list_sql, 1, params,
	    conversation_list_done))
		api_db_error(call, "deadlines", NULL, "no connection");
}

const struct api_route deadline_routes[] = {
	{ "GET", "/api/deadlines", ROLE_SUPERVISOR, STAGE_FULL, deadline_list },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
