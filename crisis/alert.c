/*
 * alert.c - crisis alerts until someone acknowledges them.
 *
 * A rise to high (crisis_events.next_alert_at set, by the trigger that
 * stores the message or by a counsellor's hand) is alerted in rounds: each
 * round NOTIFYs madoguchi_crisis_alert, which every process's console
 * pushes to its signed-in supervisors, and queues one notification per
 * outside target (the desk's notify list; from round two on, the on-call
 * list too). Rounds repeat every repeat_minutes until acknowledged.
 * A target is an HTTP webhook (a JSON body) or an e-mail address (SMTP);
 * neither ever carries what the person wrote.
 *
 * Any process may do a round or a send: rows are claimed with FOR UPDATE
 * SKIP LOCKED, so several processes never alert twice, and a send claimed
 * by a process that dies is taken up again when its lease runs out.
 */
#include "crisis.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "clock.h"
#include "http_client.h"
#include "log.h"
#include "mail.h"
#include "metrics.h"
#include "storage.h"

#define ALERT_TICK_S		5
#define ALERT_SEND_BATCH	"16"
#define ALERT_SEND_TIMEOUT_MS	10000
#define ALERT_SEND_LEASE_S	"120"	/* a claimed send, if its process dies */
#define ALERT_GIVE_UP_ATTEMPTS	30	/* backoff reaches 10 min: hours */

static const char alert_settings_sql[] =
"SELECT key, value::text FROM settings"
" WHERE key IN ('crisis_alert', 'desk_name') AND channel_id IS NULL";

/*
 * One round for every rise that is due: $1 now, $2 repeat minutes, $3 the
 * notify targets, $4 the on-call targets (JSON arrays).
 */
static const char alert_round_sql[] =
"WITH due AS ("
"  SELECT e.id FROM crisis_events e"
"   WHERE e.next_alert_at IS NOT NULL AND e.acknowledged_at IS NULL"
"     AND e.next_alert_at <= $1::timestamptz"
"   ORDER BY e.next_alert_at LIMIT 50 FOR UPDATE SKIP LOCKED"
"), ended AS ("	/* closed (its escalation record complete): no more rounds */
"  UPDATE crisis_events e SET next_alert_at = NULL"
"    FROM conversations cv"
"   WHERE e.id IN (SELECT id FROM due) AND cv.id = e.conversation_id"
"     AND cv.state = 'closed'"
"  RETURNING e.id"
"), sent AS ("
"  UPDATE crisis_events e SET alerts_sent = e.alerts_sent + 1,"
"      next_alert_at = $1::timestamptz + make_interval(mins => $2::int)"
"    FROM due WHERE e.id = due.id"
"     AND e.id NOT IN (SELECT id FROM ended)"
"  RETURNING e.id, e.conversation_id, e.alerts_sent, e.level"
"), targets AS ("
"  SELECT value AS target, 1 AS from_round"
"    FROM jsonb_array_elements($3::jsonb)"
"  UNION ALL"
"  SELECT value, 2 FROM jsonb_array_elements($4::jsonb)"
"), queued AS ("
"  INSERT INTO crisis_notifications (crisis_event_id, round, target,"
"      created_at, next_attempt_at)"
"  SELECT s.id, s.alerts_sent, t.target, $1::timestamptz, $1::timestamptz"
"    FROM sent s JOIN targets t ON s.alerts_sent >= t.from_round"
"  RETURNING 1"
"), au AS ("
"  INSERT INTO audit_log (at, actor, action, object_type, object_id,"
"      detail)"
"  SELECT $1::timestamptz, 'system', 'crisis.alerted', 'conversation',"
"      conversation_id, json_build_object('crisis_event', id,"
"      'round', alerts_sent) FROM sent"
") SELECT count(*),"
"  (SELECT count(*) FROM queued),"
"  count(pg_notify('madoguchi_crisis_alert', json_build_object("
"      'event', id, 'conversation', conversation_id,"
"      'round', alerts_sent, 'level', level)::text))"
"  FROM sent";

/*
 * Sends that are due, leased: $1 now, $2 whether this process can send
 * e-mail. Those whose alert was acknowledged meanwhile are dropped, not
 * sent: a target that comes back must not get a backlog of alarms already
 * dealt with. A process without a mail server leaves e-mail to those that
 * have one, and takes it (to record that it cannot be sent) only when
 * none has for a minute.
 */
static const char alert_claim_sql[] =
"WITH dropped AS ("
"  UPDATE crisis_notifications n SET next_attempt_at = NULL,"
"      gave_up_at = $1::timestamptz, last_error = 'acknowledged'"
"    FROM crisis_events e"
"   WHERE n.next_attempt_at IS NOT NULL AND e.id = n.crisis_event_id"
"     AND e.acknowledged_at IS NOT NULL"
"  RETURNING n.id"
"), due AS ("
"  SELECT id FROM crisis_notifications"
"   WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1::timestamptz"
"     AND id NOT IN (SELECT id FROM dropped)"
"     AND (target->>'kind' IS DISTINCT FROM 'email' OR $2::bool"
"          OR next_attempt_at <= $1::timestamptz - interval '1 minute')"
"   ORDER BY next_attempt_at LIMIT " ALERT_SEND_BATCH " FOR UPDATE SKIP LOCKED"
") UPDATE crisis_notifications n SET attempts = n.attempts + 1,"
"    next_attempt_at = $1::timestamptz + interval '" ALERT_SEND_LEASE_S " s'"
"  FROM due, crisis_events e"
" WHERE n.id = due.id AND e.id = n.crisis_event_id"
" RETURNING n.id, n.target->>'kind', n.target->>'url', n.round, n.attempts,"
"   e.conversation_id, e.level,"
"   (SELECT contact_id FROM conversations WHERE id = e.conversation_id),"
"   to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
"   n.target->>'to',"
"   to_char(e.at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD HH24:MI')";

/* $1 id, $2 now, $3 HTTP status or NULL, $4 error or NULL, $5 retry at
 * (NULL: sent), $6 give up. */
static const char alert_sent_sql[] =
"UPDATE crisis_notifications SET last_status = $3::int, last_error = $4,"
"    sent_at = CASE WHEN $5::timestamptz IS NULL AND NOT $6::bool"
"              THEN $2::timestamptz END,"
"    gave_up_at = CASE WHEN $6::bool THEN $2::timestamptz END,"
"    next_attempt_at = CASE WHEN $6::bool THEN NULL ELSE $5::timestamptz END"
" WHERE id = $1::bigint";

struct crisis_alerts {
	struct event_base	*base;
	struct db_pool		*pool;
	struct http_client	*http;
	struct event		*tick;
	int			 repeat_minutes;
	char			*notify, *on_call;	/* JSON arrays */
	char			*desk_name;
	char			*smtp_url, *smtp_from, *smtp_user, *smtp_password;
	bool			 smtp_require_tls;
	bool			 rounding, claiming;
	bool			 round_wanted, send_wanted;
	size_t			 sending;
};

/* One send in flight. */
struct alert_send {
	struct crisis_alerts	*alerts;
	char			 id[24];
	int			 attempts;
};

static void	alerts_run(struct crisis_alerts *a);

/* ---- settings ---- */

static char *
json_array_text(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsArray(v) ? cJSON_PrintUnformatted(v) : strdup("[]");
}

static bool
target_valid(const cJSON *t)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(t, "kind");
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(t, "url");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(t, "to");

	if (!cJSON_IsString(kind))
		return false;
	if (strcmp(kind->valuestring, "email") == 0)
		return cJSON_IsString(to) && mail_address_valid(to->valuestring);
	return strcmp(kind->valuestring, "webhook") == 0 &&
	    cJSON_IsString(url) &&
	    (strncmp(url->valuestring, "https://", 8) == 0 ||
	    strncmp(url->valuestring, "http://", 7) == 0);
}

bool
crisis_alert_setting_valid(const char *json, char *why, size_t whylen)
{
	cJSON *v = cJSON_Parse(json);
	const cJSON *r, *list, *t;
	const char *lists[] = { "notify", "on_call" };
	bool ok = cJSON_IsObject(v);

	r = cJSON_GetObjectItemCaseSensitive(v, "repeat_minutes");
	ok = ok && cJSON_IsNumber(r) && r->valuedouble >= 1 &&
	    r->valuedouble <= 1440;
	for (size_t i = 0; ok && i < 2; i++) {
		list = cJSON_GetObjectItemCaseSensitive(v, lists[i]);
		ok = cJSON_IsArray(list) && cJSON_GetArraySize(list) <= 16;
		cJSON_ArrayForEach(t, list)
			ok = ok && target_valid(t);
	}
	cJSON_Delete(v);
	if (!ok)
		snprintf(why, whylen, "crisis_alert: {\"repeat_minutes\": 1 to "
		    "1440, \"notify\": [targets], \"on_call\": [targets]}, at "
		    "most 16 targets each, a target being {\"kind\": "
		    "\"webhook\", \"url\": \"https://...\"} or {\"kind\": "
		    "\"email\", \"to\": \"name@example.jp\"}");
	return ok;
}

static void
settings_apply(struct crisis_alerts *a, const char *key, const char *json)
{
	cJSON *v = cJSON_Parse(json);

	if (strcmp(key, "desk_name") == 0 && cJSON_IsString(v)) {
		free(a->desk_name);
		a->desk_name = strdup(v->valuestring);
	} else if (strcmp(key, "crisis_alert") == 0) {
		char why[256];

		if (!crisis_alert_setting_valid(json, why, sizeof(why)))
			log_warn("crisis.alert_setting_ignored", "why=\"%s\"",
			    "not valid");
		else {
			a->repeat_minutes = cJSON_GetObjectItemCaseSensitive(v,
			    "repeat_minutes")->valueint;
			free(a->notify);
			free(a->on_call);
			a->notify = json_array_text(v, "notify");
			a->on_call = json_array_text(v, "on_call");
		}
	}
	cJSON_Delete(v);
}

static void
settings_read(void *arg, const PGresult *res, const char *why)
{
	struct crisis_alerts *a = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("crisis.alert_settings_unread", "why=\"%s\"",
		    res == NULL ? why : db_sqlstate(res));
		return;
	}
	for (int i = 0; i < PQntuples(res); i++)
		settings_apply(a, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	/* No setting stored: the console alone still hears of every rise. */
	if (a->notify == NULL)
		a->notify = strdup("[]");
	if (a->on_call == NULL)
		a->on_call = strdup("[]");
	alerts_run(a);
}

void
crisis_alerts_reload(struct crisis_alerts *a)
{
	if (!db_query(a->pool, alert_settings_sql, 0, NULL, settings_read, a))
		return;	/* no connection yet: the tick asks again until read */
}

/* ---- rounds ---- */

static void
round_done(void *arg, const PGresult *res, const char *why)
{
	struct crisis_alerts *a = arg;

	a->rounding = false;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("crisis.alert_round_failed", "why=\"%s\"", res == NULL ?
		    why : db_sqlstate(res));
		return;		/* the next tick tries again */
	}
	if (atoi(PQgetvalue(res, 0, 0)) > 0) {
		log_info("crisis.alerted", "rises=%s notifications=%s",
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		metrics_add("madoguchi_crisis_alert_rounds_total", "",
		    strtoull(PQgetvalue(res, 0, 0), NULL, 10));
		/* A full batch may have left more; new sends are waiting. */
		a->round_wanted |= atoi(PQgetvalue(res, 0, 0)) == 50;
		a->send_wanted |= atoi(PQgetvalue(res, 0, 1)) > 0;
	}
	alerts_run(a);
}

static void
round_start(struct crisis_alerts *a, const char *now)
{
	char minutes[16];
	const char *params[4] = { now, minutes, a->notify, a->on_call };

	snprintf(minutes, sizeof(minutes), "%d", a->repeat_minutes);
	a->rounding = db_query(a->pool, alert_round_sql, 4, params, round_done,
	    a);
}

/* ---- sends to outside targets ---- */

/* Claimed columns (alert_claim_sql). */
enum { COL_ID, COL_KIND, COL_URL, COL_ROUND, COL_ATTEMPTS, COL_CONVERSATION,
	COL_LEVEL, COL_CONTACT, COL_AT, COL_TO, COL_AT_JST };

static const char *
desk_of(const struct crisis_alerts *a)
{
	return a->desk_name != NULL && a->desk_name[0] != '\0' ?
	    a->desk_name : "madoguchi";
}

static void
case_number(const PGresult *res, int row, char *out, size_t len)
{
	snprintf(out, len, "No.%06lld",
	    strtoll(PQgetvalue(res, row, COL_CONTACT), NULL, 10));
}

/*
 * Enough to act on, nothing of what the person wrote; sized to fit
 * whatever the desk's name is, so never cut inside a character.
 */
static char *
alert_summary(const struct crisis_alerts *a, const PGresult *res, int row)
{
	size_t len = strlen(desk_of(a)) + 512;
	char number[32], *text = malloc(len);

	case_number(res, row, number, sizeof(number));
	if (text != NULL)
		snprintf(text, len, "【緊急】%s: 命の危険を示すメッセージが"
		    "届きました（相談 %s、%s回目の通知）。コンソールで確認し、"
		    "対応してください。", desk_of(a), number,
		    PQgetvalue(res, row, COL_ROUND));
	return text;
}

static char *
webhook_body(const struct crisis_alerts *a, const PGresult *res, int row)
{
	cJSON *o = cJSON_CreateObject();
	char number[32], *text = alert_summary(a, res, row), *out = NULL;

	case_number(res, row, number, sizeof(number));
	if (o != NULL && text != NULL) {
		cJSON_AddStringToObject(o, "type", "crisis_alert");
		cJSON_AddStringToObject(o, "desk", a->desk_name ?
		    a->desk_name : "");
		cJSON_AddNumberToObject(o, "conversation",
		    atof(PQgetvalue(res, row, COL_CONVERSATION)));
		cJSON_AddStringToObject(o, "case_number", number);
		cJSON_AddStringToObject(o, "level", atoi(PQgetvalue(res, row,
		    COL_LEVEL)) == 2 ? "high" : "medium");
		cJSON_AddNumberToObject(o, "round",
		    atof(PQgetvalue(res, row, COL_ROUND)));
		cJSON_AddStringToObject(o, "detected_at",
		    PQgetvalue(res, row, COL_AT));
		cJSON_AddStringToObject(o, "text", text);
		out = cJSON_PrintUnformatted(o);
	}
	free(text);
	cJSON_Delete(o);
	return out;
}

/* The e-mail for one send: subject and body in plain Japanese. */
static char *
mail_text(const struct crisis_alerts *a, const PGresult *res, int row,
    size_t *len)
{
	const char *to[1] = { PQgetvalue(res, row, COL_TO) };
	size_t cap = strlen(desk_of(a)) + 1024;
	char number[32], *subject = malloc(cap), *body = malloc(cap);
	struct mail_message m = { .from = a->smtp_from, .from_name =
	    desk_of(a), .to = to, .n_to = 1, .subject = subject, .body = body,
	    .date_us = clock_now_us() };
	char *text = NULL;

	case_number(res, row, number, sizeof(number));
	if (subject != NULL && body != NULL) {
		snprintf(subject, cap, "【緊急】%s: 命の危険を示すメッセージ"
		    "（相談 %s、%s回目の通知）", desk_of(a), number,
		    PQgetvalue(res, row, COL_ROUND));
		snprintf(body, cap, "%s の相談 %s で、命の危険を示すメッセージ"
		    "が届きました。\n\n検知: %s（日本時間）\n危機レベル: %s\n"
		    "通知: %s回目（確認されるまで繰り返します）\n会話: %s\n\n"
		    "コンソールで内容を確認し、対応してください。アラートの確認を"
		    "記録すると、通知は止まります。\n\nこのメールには、相談者が"
		    "書いた内容は含まれていません。\n", desk_of(a), number,
		    PQgetvalue(res, row, COL_AT_JST), atoi(PQgetvalue(res, row,
		    COL_LEVEL)) == 2 ? "高" : "中", PQgetvalue(res, row,
		    COL_ROUND), PQgetvalue(res, row, COL_CONVERSATION));
		text = mail_compose(&m, len);
	}
	free(subject);
	free(body);
	return text;
}

static void
sent_recorded(void *arg, const PGresult *res, const char *why)
{
	struct crisis_alerts *a = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		log_warn("crisis.alert_record_failed", "why=\"%s\"", res == NULL ?
		    why : db_sqlstate(res));	/* the lease retries the send */
	a->sending--;
	alerts_run(a);
}

/* 10 s, 20 s, 40 s ... at most 10 minutes. */
static int64_t
retry_delay_us(int attempts)
{
	int64_t s = 10;

	for (int i = 1; i < attempts && s < 600; i++)
		s *= 2;
	return (s < 600 ? s : 600) * 1000000;
}

static void
send_done(void *arg, const struct http_response *res)
{
	struct alert_send *s = arg;
	struct crisis_alerts *a = s->alerts;
	bool ok = res->status >= 200 && res->status < 300;
	bool give_up = !ok && s->attempts >= ALERT_GIVE_UP_ATTEMPTS;
	char id[24], now[CLOCK_ISO_LEN], retry[CLOCK_ISO_LEN], status[16];
	const char *params[6] = { id, now, NULL, res->error,
	    ok ? NULL : retry, give_up ? "true" : "false" };

	memcpy(id, s->id, sizeof(id));

	clock_format_utc(clock_now_us(), now);
	clock_format_utc(clock_now_us() + retry_delay_us(s->attempts), retry);
	if (res->status != 0) {
		snprintf(status, sizeof(status), "%ld", res->status);
		params[2] = status;
	}
	if (ok)
		metrics_add("madoguchi_crisis_notifications_total",
		    "outcome=\"sent\"", 1);
	else {
		log_warn("crisis.notification_failed", "id=%s status=%ld "
		    "attempts=%d%s", id, res->status, s->attempts,
		    give_up ? " gave_up=1" : "");
		metrics_add("madoguchi_crisis_notifications_total", give_up ?
		    "outcome=\"gave_up\"" : "outcome=\"retry\"", 1);
	}
	free(s);
	if (!db_query(a->pool, alert_sent_sql, 6, params, sent_recorded, a)) {
		a->sending--;	/* the lease runs out and it is sent again */
		alerts_run(a);
	}
}

static bool
send_webhook(struct crisis_alerts *a, struct alert_send *s,
    const PGresult *res, int row)
{
	static const struct http_header headers[] = {
		{ "Content-Type", "application/json; charset=utf-8" },
	};
	struct http_request req = { .method = "POST", .headers = headers,
	    .n_headers = 1, .timeout_ms = ALERT_SEND_TIMEOUT_MS,
	    .url = PQgetvalue(res, row, COL_URL) };
	char *body = webhook_body(a, res, row);
	bool started;

	if (body == NULL)
		return false;
	req.body = body;
	req.body_len = strlen(body);
	started = http_client_send(a->http, &req, send_done, s);
	free(body);
	return started;
}

static bool
send_mail(struct crisis_alerts *a, struct alert_send *s, const PGresult *res,
    int row)
{
	const char *to[1] = { PQgetvalue(res, row, COL_TO) };
	struct mail_request req = { .url = a->smtp_url, .user = a->smtp_user,
	    .password = a->smtp_password, .require_tls = a->smtp_require_tls,
	    .from = a->smtp_from, .to = to, .n_to = 1,
	    .timeout_ms = ALERT_SEND_TIMEOUT_MS };
	char *text;
	bool started;

	if (a->smtp_url == NULL) {
		/* Recorded as a failure, and retried (for some four hours,
		 * ALERT_GIVE_UP_ATTEMPTS): a process with a mail server, or
		 * this one restarted with one, sends it. */
		struct http_response fail = { .error = "no smtp_url configured",
		    .body = "" };

		send_done(s, &fail);
		return true;
	}
	if ((text = mail_text(a, res, row, &req.message_len)) == NULL)
		return false;
	req.message = text;
	started = http_client_send_mail(a->http, &req, send_done, s);
	free(text);
	return started;
}

static void
send_one(struct crisis_alerts *a, const PGresult *res, int row)
{
	struct alert_send *s = calloc(1, sizeof(*s));
	bool mail = strcmp(PQgetvalue(res, row, COL_KIND), "email") == 0;

	if (s == NULL)
		return;		/* the lease retries it */
	s->alerts = a;
	snprintf(s->id, sizeof(s->id), "%s", PQgetvalue(res, row, COL_ID));
	s->attempts = atoi(PQgetvalue(res, row, COL_ATTEMPTS));
	a->sending++;	/* send_done's record of it counts it down */
	if (!(mail ? send_mail(a, s, res, row) : send_webhook(a, s, res, row))) {
		a->sending--;
		free(s);	/* the lease retries it */
	}
}

static void
claim_done(void *arg, const PGresult *res, const char *why)
{
	struct crisis_alerts *a = arg;

	a->claiming = false;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("crisis.alert_claim_failed", "why=\"%s\"", res == NULL ?
		    why : db_sqlstate(res));
		return;
	}
	/* A wake may have come while claiming: keep it. */
	a->send_wanted |= PQntuples(res) == atoi(ALERT_SEND_BATCH);
	for (int i = 0; i < PQntuples(res); i++)
		send_one(a, res, i);
	alerts_run(a);
}

/* ---- the loop ---- */

static void
alerts_run(struct crisis_alerts *a)
{
	char now[CLOCK_ISO_LEN];
	const char *params[2] = { now, a->smtp_url != NULL ? "true" : "false" };

	clock_format_utc(clock_now_us(), now);
	if (a->round_wanted && !a->rounding && a->notify != NULL &&
	    a->on_call != NULL) {
		a->round_wanted = false;
		round_start(a, now);
	}
	if (a->send_wanted && !a->claiming && a->sending == 0) {
		a->send_wanted = false;
		a->claiming = db_query(a->pool, alert_claim_sql, 2, params,
		    claim_done, a);
	}
}

void
crisis_alerts_wake(struct crisis_alerts *a)
{
	if (a == NULL)
		return;
	a->round_wanted = a->send_wanted = true;
	alerts_run(a);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct crisis_alerts *a = arg;

	(void)fd;
	(void)what;
	if (a->notify == NULL)		/* the settings never came: ask again */
		crisis_alerts_reload(a);
	crisis_alerts_wake(a);
}

struct crisis_alerts *
crisis_alerts_new(struct event_base *base, struct db_pool *pool,
    struct http_client *http)
{
	struct crisis_alerts *a = calloc(1, sizeof(*a));
	struct timeval tv = { ALERT_TICK_S, 0 };

	if (a == NULL)
		return NULL;
	a->base = base;
	a->pool = pool;
	a->http = http;
	a->repeat_minutes = 5;
	if ((a->tick = event_new(base, -1, EV_PERSIST, tick_cb, a)) == NULL ||
	    event_add(a->tick, &tv) != 0) {
		crisis_alerts_free(a);
		return NULL;
	}
	crisis_alerts_reload(a);
	return a;
}

static bool
copy_or_null(char **slot, const char *value)
{
	free(*slot);
	*slot = NULL;
	return value == NULL || value[0] == '\0' ||
	    (*slot = strdup(value)) != NULL;
}

bool
crisis_alerts_set_mail(struct crisis_alerts *a, const struct crisis_mail *mail)
{
	a->smtp_require_tls = mail->require_tls;
	return copy_or_null(&a->smtp_url, mail->url) &&
	    copy_or_null(&a->smtp_from, mail->from) &&
	    copy_or_null(&a->smtp_user, mail->user) &&
	    copy_or_null(&a->smtp_password, mail->password);
}

void
crisis_alerts_free(struct crisis_alerts *a)
{
	if (a == NULL)
		return;
	free(a->smtp_url);
	free(a->smtp_from);
	free(a->smtp_user);
	if (a->smtp_password != NULL)
		OPENSSL_cleanse(a->smtp_password, strlen(a->smtp_password));
	free(a->smtp_password);
	if (a->tick != NULL)
		event_free(a->tick);
	free(a->notify);
	free(a->on_call);
	free(a->desk_name);
	free(a);
}
