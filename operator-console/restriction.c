/*
 * restriction.c - a supervisor pauses a contact who misuses the desk: a
 * cooldown for some hours, or a block until lifted, always with a reason.
 * In one transaction: the contact is locked, the desk's neutral notice is
 * written to the outbox (the person hears first, as the desks' rules
 * require), and the restriction is recorded with it. The person's
 * messages are still stored; they get no automatic replies, and their
 * conversations leave the counsellors' queue (autoreply/worker.c,
 * queue.c, deadline.c honour it). Lifting is recorded too.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "calendar.h"
#include "log.h"
#include "outbox.h"
#include "seal.h"

#define REASON_AAD		"contact_restrictions.reason"
#define REASON_MAX		(4 * 1024)
#define COOLDOWN_HOURS_MAX	(24 * 90)

static const char restrict_lock_sql[] =
"SELECT ct.channel_id,"
"  (SELECT id FROM conversations WHERE contact_id = ct.id AND state <> 'closed'),"
"  (SELECT value #>> '{}' FROM settings WHERE channel_id IS NULL"
"     AND key = 'restriction_notice_' || $2),"
"  (SELECT value #>> '{}' FROM settings WHERE channel_id IS NULL"
"     AND key = 'desk_name')"
"  FROM contacts ct WHERE ct.id = $1::bigint FOR UPDATE";

/*
 * $1 contact, $2 now, $3 supervisor, $4 kind, $5 ends, $6/$7 sealed
 * reason, $8 the notice's message, $9 login, $10 address.
 */
static const char restrict_insert_sql[] =
"WITH old AS ("
"  UPDATE contact_restrictions SET lifted_at = $2::timestamptz,"
"      lifted_by = $3::bigint"
"   WHERE contact_id = $1::bigint AND lifted_at IS NULL RETURNING id"
"), ins AS ("
"  INSERT INTO contact_restrictions (contact_id, kind, starts_at, ends_at,"
"      reason, reason_key_id, created_by, notice_message_id)"
"  SELECT $1::bigint, $4, $2::timestamptz, $5::timestamptz,"
"      decode($6, 'base64'), $7::smallint, $3::bigint, $8::bigint"
"    FROM (SELECT count(*) FROM old) o"	/* after the old one is lifted */
"  RETURNING id"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, detail, ip)"
"  SELECT $2::timestamptz, $3::bigint, $9, 'contact.restrict', 'contact',"
"      $1::bigint, json_build_object('kind', $4::text, 'restriction', id),"
"      $10::inet FROM ins"
") SELECT id, pg_notify('madoguchi_console', json_build_object('contact',"
"    $1::bigint, 'change', 'restricted')::text) FROM ins";

static const char lift_sql[] =
"WITH up AS ("
"  UPDATE contact_restrictions SET lifted_at = $2::timestamptz,"
"      lifted_by = $3::bigint"
"   WHERE contact_id = $1::bigint AND lifted_at IS NULL"
"     AND (ends_at IS NULL OR ends_at > $2::timestamptz)"	/* in force */
"  RETURNING id"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, detail, ip)"
"  SELECT $2::timestamptz, $3::bigint, $4, 'contact.lift', 'contact',"
"      $1::bigint, json_build_object('restriction', id), $5::inet FROM up"
") SELECT id, pg_notify('madoguchi_console', json_build_object('contact',"
"    $1::bigint, 'change', 'lifted')::text) FROM up";

struct restriction {
	struct db_txn	*txn;
	char		 kind[12];
	int64_t		 ends_us;	/* -1: a block */
	char		*reason;	/* sealed, base64 */
	int		 reason_key;
	char		 message_id[24];
	int		 status;
	const char	*code;
	const char	*error;
};

static void
restriction_free(struct api_call *call)
{
	struct restriction *r = call->state;

	call->state = NULL;
	if (r != NULL) {
		free(r->reason);
		free(r);
	}
}

static void
restriction_ended(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct restriction *r = call->state;
	int status = r->status;
	const char *code = r->code, *error = r->error;

	restriction_free(call);
	if (code != NULL)
		api_error(call, status, code, error);
	else if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		api_db_error(call, "restrict_commit", res, why);
	else {
		log_info("console.restricted", "contact=%lld by=%lld",
		    (long long)call->id, (long long)call->staff.id);
		api_reply(call, 200, cJSON_CreateObject());
	}
}

static void
restriction_finish(struct api_call *call, int status, const char *code,
    const char *error)
{
	struct restriction *r = call->state;

	r->status = status;
	r->code = code;
	r->error = error;
	if (!db_txn_end(r->txn, code == NULL, restriction_ended, call)) {
		restriction_free(call);
		api_db_error(call, "restrict_end", NULL, "session lost");
	}
}

static void
restriction_recorded(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1)
		restriction_finish(call, 503, "database", "try again");
	else
		restriction_finish(call, 0, NULL, NULL);
}

static void
restriction_noticed(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct restriction *r = call->state;
	char id[24], staff[24], ends[CLOCK_ISO_LEN], key[8];
	const char *params[10] = { id, call->now, staff, r->kind,
	    r->ends_us >= 0 ? ends : NULL, r->reason, key, r->message_id,
	    call->staff.login, api_ip(call) };

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		restriction_finish(call, 503, "database", "try again");
		return;
	}
	snprintf(r->message_id, sizeof(r->message_id), "%s",
	    PQgetvalue(res, 0, 0));
	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	snprintf(key, sizeof(key), "%d", r->reason_key);
	if (r->ends_us >= 0)
		clock_format_utc(r->ends_us, ends);
	if (!db_txn_query(r->txn, restrict_insert_sql, 10, params,
	    restriction_recorded, call))
		restriction_finish(call, 503, "database", "session lost");
}

/* "11月30日（月）15:00": when a cooldown ends, in the desk's words. */
static void
restriction_until(int64_t us, struct evbuffer *out)
{
	static const char *const wd[] = { "日", "月", "火", "水", "木", "金",
	    "土" };
	int64_t t = us / 1000000;
	struct cal_date date = cal_date_of(t);
	int minute = (int)((t - cal_time_at(date, 0)) / 60);

	evbuffer_add_printf(out, "%d月%d日（%s）%d:%02d", date.m, date.d,
	    wd[cal_weekday(date)], minute / 60, minute % 60);
}

/* The notice: {desk} and {until} filled in. */
static char *
restriction_notice(const char *template, const char *desk, int64_t ends_us)
{
	struct evbuffer *out = evbuffer_new();
	char *text = NULL;
	size_t len;

	if (out == NULL)
		return NULL;
	for (const char *p = template; *p != '\0'; p++) {
		if (strncmp(p, "{desk}", 6) == 0) {
			evbuffer_add(out, desk, strlen(desk));
			p += 5;
		} else if (strncmp(p, "{until}", 7) == 0 && ends_us >= 0) {
			restriction_until(ends_us, out);
			p += 6;
		} else
			evbuffer_add(out, p, 1);
	}
	len = evbuffer_get_length(out);
	if ((text = malloc(len + 1)) != NULL) {
		evbuffer_remove(out, text, len);
		text[len] = '\0';
	}
	evbuffer_free(out);
	return text;
}

static void
restriction_locked(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct restriction *r = call->state;
	struct outbox_item item = { 0 };
	char contact[24], *text;
	bool sent;

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		restriction_finish(call, 503, "database", "try again");
		return;
	}
	if (PQntuples(res) != 1) {
		restriction_finish(call, 404, "not_found", "no such contact");
		return;
	}
	if (PQgetisnull(res, 0, 2) || (text = restriction_notice(
	    PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), r->ends_us)) == NULL) {
		restriction_finish(call, 500, "no_notice", "the desk has no "
		    "notice text for this");
		return;
	}
	snprintf(contact, sizeof(contact), "%lld", (long long)call->id);
	item.conversation_id = PQgetisnull(res, 0, 1) ? NULL :
	    PQgetvalue(res, 0, 1);
	item.contact_id = contact;
	item.channel_id = PQgetvalue(res, 0, 0);
	item.direction = "auto";
	item.autoreply = "{restriction_notice}";
	item.template = "restriction_notice";
	item.text = text;
	item.text_len = strlen(text);
	item.now_us = call->now_us;
	item.give_up_us = call->now_us + call->c->opt.give_up_s * 1000000LL;
	sent = outbox_add(r->txn, call->c->keys, &item, restriction_noticed,
	    call);
	free(text);
	if (!sent)
		restriction_finish(call, 500, "no_notice", "cannot write the "
		    "notice");
}

static void
restriction_begun(void *arg, struct db_txn *txn, const char *why)
{
	struct api_call *call = arg;
	struct restriction *r = call->state;
	char id[24];
	const char *params[2] = { id, r->kind };

	if (txn == NULL) {
		restriction_free(call);
		api_db_error(call, "restrict_begin", NULL, why);
		return;
	}
	r->txn = txn;
	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	if (!db_txn_query(txn, restrict_lock_sql, 2, params, restriction_locked,
	    call))
		restriction_finish(call, 503, "database", "session lost");
}

/*
 * POST /api/contacts/:id/restriction {"kind": "cooldown", "hours": N,
 * "reason"} or {"kind": "block", "reason"}
 */
static void
restriction_place(struct api_call *call)
{
	const char *kind = api_body_string(call, "kind");
	const char *reason = api_body_string(call, "reason");
	const cJSON *hours = cJSON_GetObjectItemCaseSensitive(call->body, "hours");
	bool cooldown = kind != NULL && strcmp(kind, "cooldown") == 0;
	struct restriction *r;

	if (kind == NULL || (!cooldown && strcmp(kind, "block") != 0) ||
	    reason == NULL || reason[0] == '\0' || strlen(reason) > REASON_MAX ||
	    (cooldown && (!cJSON_IsNumber(hours) ||
	    hours->valuedouble != (double)hours->valueint ||
	    hours->valueint < 1 || hours->valueint > COOLDOWN_HOURS_MAX))) {
		api_error(call, 400, "invalid", "kind (cooldown with hours, or "
		    "block) and a reason are required");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		api_error(call, 500, "no_memory", "out of memory");
		return;
	}
	call->state = r;
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	r->ends_us = cooldown ? call->now_us + hours->valueint * 3600000000LL :
	    -1;
	if ((r->reason = seal_base64(call->c->keys, REASON_AAD, reason,
	    strlen(reason), &r->reason_key)) == NULL) {
		restriction_free(call);
		api_error(call, 500, "sealed", "cannot encrypt the reason");
		return;
	}
	if (!db_txn_begin(call->c->pool, restriction_begun, call)) {
		restriction_free(call);
		api_db_error(call, "restrict_begin", NULL, "no connection");
	}
}

static void
lifted(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		api_db_error(call, "lift", res, why);
	else if (PQntuples(res) != 1)
		api_error(call, 404, "not_restricted", "this contact is not "
		    "restricted");
	else
		api_reply(call, 200, cJSON_CreateObject());
}

/* DELETE /api/contacts/:id/restriction */
static void
restriction_lift(struct api_call *call)
{
	char id[24], staff[24];
	const char *params[5] = { id, call->now, staff, call->staff.login,
	    api_ip(call) };

	snprintf(id, sizeof(id), "%lld", (long long)call->id);
	snprintf(staff, sizeof(staff), "%lld", (long long)call->staff.id);
	if (!api_query(call, lift_sql, 5, params, lifted))
		api_db_error(call, "lift", NULL, "no connection");
}

const struct api_route restriction_routes[] = {
	{ "POST", "/api/contacts/:id/restriction", ROLE_SUPERVISOR, STAGE_FULL,
	    restriction_place },
	{ "DELETE", "/api/contacts/:id/restriction", ROLE_SUPERVISOR,
	    STAGE_FULL, restriction_lift },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
