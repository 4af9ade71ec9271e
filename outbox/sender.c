/*
 * sender.c - the outbox dispatcher: claims due rows with FOR UPDATE SKIP
 * LOCKED, sends each through the Messaging API on the loop, and records
 * what became of it.
 *
 * A claimed row names the database session that claimed it. Another
 * process takes it over only when that session is gone (its process died)
 * or the lease ran out, so a row is never sent by two live processes; a
 * push taken over after a crash carries the same retry key, and LINE
 * answers 409 if the first attempt had in fact been accepted.
 */
#include "outbox.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "clock.h"
#include "http_client.h"
#include "json_write.h"
#include "log.h"
#include "metrics.h"
#include "seal.h"

#define SENDER_TICK_MS		1000
/* LINE: use a reply token within a minute; some saw 30 s. Stay inside. */
#define SENDER_REPLY_FRESH_US	(25 * 1000000LL)
/*
 * A claim whose session is gone is taken over only once any request it
 * had in flight has surely timed out: a session can end (a reconnect)
 * while its process still waits for LINE's answer.
 */
#define SENDER_TAKEOVER_MARGIN_S	5
#define SENDER_WINDOW		"128"	/* due rows a claim looks at */
#define SENDER_ERROR_MAX	200

/*
 * A claim names the session (backend pid) and the database's time of it.
 * A claimed row is free again when no backend with that pid started
 * before the claim (the session is gone, even if its pid was reused), or
 * when its lease ran out. Only such rows look at pg_stat_activity.
 */
static const char sender_claim_sql[] =
/*
 * A claim need not survive a crash (the crashed session's claims are void
 * anyway): its commit skips the wait for the disk, which the webhook's
 * commits need more.
 */
"WITH async AS (SELECT set_config('synchronous_commit', 'off', true)"
/*
 * The oldest due rows first, from the index, in a bounded window (see
 * OUTBOX_DB_OPTIONS): the planner, left to itself, sorted the whole
 * backlog on every claim (17 ms at 10,000 queued). Rows of the window
 * that cannot go now (in flight, or behind an earlier row of their
 * contact) leave room for later ones.
 */
"), due AS MATERIALIZED ("
"  SELECT id FROM outbox"
"   WHERE state = 'pending' AND next_attempt_at <= $1"
"     AND channel_id = (SELECT id FROM channels WHERE kind = $4 AND name = $5)"
"   ORDER BY next_attempt_at, id LIMIT " SENDER_WINDOW
"), cand AS ("
"  SELECT o.id FROM due JOIN outbox o ON o.id = due.id"
"   WHERE o.state = 'pending'"
"     AND (o.claimed_pid IS NULL OR o.lease_until < $1"
"       OR (o.claimed_at < now() - $6::interval"
"           AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a"
"                            WHERE a.pid = o.claimed_pid"
"                              AND a.backend_start <= o.claimed_at)))"
"     AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.contact_id = o.contact_id"
"                      AND p.state = 'pending' AND p.id < o.id)"
"   ORDER BY o.next_attempt_at, o.id"
"   LIMIT $2"
"   FOR UPDATE OF o SKIP LOCKED"
") "
"UPDATE outbox o SET claimed_pid = pg_backend_pid(), claimed_at = now(),"
"    lease_until = $3, attempts = o.attempts + 1"
"  FROM contacts c, async"
" WHERE o.id IN (SELECT id FROM cand) AND c.id = o.contact_id "
"RETURNING o.id, c.external_id, c.follow_state,"
"  c.profile_checked_at IS NOT NULL, o.payload, o.payload_key_id,"
"  o.reply_token, (extract(epoch FROM o.reply_token_at) * 1e6)::bigint,"
"  o.retry_key, o.attempts, (extract(epoch FROM o.give_up_at) * 1e6)::bigint,"
"  o.reply_unclear, o.claimed_at, o.last_error,"
/*
 * Free text for a channel in strict mode: the outbox's trigger refused it
 * when written, but the mode may have changed since, or the emergency
 * exception that let it in may have ended before it could go.
 */
"  o.template IS NULL AND channel_line_mode(o.channel_id) = 'strict'"
"    AND NOT coalesce(strict_exception_active((SELECT conversation_id"
"      FROM messages WHERE id = o.message_id), $1), false)";

/*
 * The outcomes of finished sends, recorded together. A record that holds
 * only pushes commits without waiting for the disk, so a drain never takes
 * the fsyncs the webhook's commits wait on: should the machine crash
 * before the WAL reaches the disk, those pushes go again with their retry
 * keys and LINE answers 409. A reply has no such key, so a record holding
 * one waits for the disk. A row is recorded only by the claim that sent it
 * (claimed_at), never over a newer owner's. Rows of one contact are never
 * in flight together, so no row below is updated twice. Consoles hear of
 * the new delivery states (madoguchi_console).
 */
#define SENDER_RECORD \
"r AS ("\
"  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, state text,"\
"    via text, status smallint, error text, request_id text,"\
"    next_at timestamptz, token_spent boolean, profile_ok boolean,"\
"    reply_unclear boolean, claimed_at timestamptz)"\
"), o AS ("\
"  UPDATE outbox SET state = r.state, via = coalesce(r.via, outbox.via),"\
"      last_status = coalesce(r.status, outbox.last_status),"\
"      last_error = coalesce(r.error, outbox.last_error),"\
"      request_id = coalesce(r.request_id, outbox.request_id),"\
"      next_attempt_at = coalesce(r.next_at, outbox.next_attempt_at),"\
"      done_at = CASE WHEN r.state <> 'pending' THEN $2::timestamptz END,"\
"      payload = CASE WHEN r.state = 'pending' THEN payload END,"\
"      payload_key_id = CASE WHEN r.state = 'pending' THEN payload_key_id END,"\
"      reply_token = CASE WHEN r.token_spent THEN NULL ELSE reply_token END,"\
"      reply_unclear = r.reply_unclear,"\
"      claimed_pid = NULL, claimed_at = NULL, lease_until = NULL"\
"    FROM r WHERE outbox.id = r.id AND outbox.state = 'pending'"\
"     AND outbox.claimed_at = r.claimed_at"\
"  RETURNING outbox.id, outbox.message_id, outbox.contact_id, outbox.state,"\
"    r.profile_ok"\
"), rest AS ("	/* later parts of a message that cannot go */\
"  UPDATE outbox x SET state = o.state, done_at = $2::timestamptz,"\
"      payload = NULL, payload_key_id = NULL,"\
"      last_error = 'an earlier part was not sent',"\
"      claimed_pid = NULL, claimed_at = NULL, lease_until = NULL"\
"    FROM o WHERE o.state IN ('failed', 'undeliverable')"\
"     AND x.message_id = o.message_id AND x.id > o.id AND x.state = 'pending'"\
"  RETURNING x.id"\
"), m AS ("\
"  UPDATE messages SET delivery = CASE"\
"      WHEN o.state <> 'sent' THEN o.state"\
"      WHEN EXISTS (SELECT 1 FROM outbox x WHERE x.message_id = o.message_id"\
"                    AND x.id > o.id) THEN 'pending'"\
"      ELSE 'sent' END"\
"    FROM o WHERE messages.id = o.message_id"\
"  RETURNING messages.id, messages.conversation_id"\
"), c AS ("\
"  UPDATE contacts SET"\
"      undeliverable_at = CASE WHEN o.state = 'undeliverable'"\
"        THEN $2::timestamptz ELSE undeliverable_at END,"\
"      profile_checked_at = CASE WHEN o.profile_ok THEN $2::timestamptz"\
"        ELSE profile_checked_at END"\
"    FROM o WHERE contacts.id = o.contact_id"\
"     AND (o.state = 'undeliverable' OR o.profile_ok)"\
"  RETURNING contacts.id"\
") "\
"SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM m),"\
"  (SELECT count(*) FROM rest), (SELECT count(*) FROM c),"\
"  (SELECT pg_notify('madoguchi_console', json_build_object('change',"\
"      'delivery', 'conversations', array_agg(DISTINCT conversation_id))::text)"\
"     FROM m WHERE conversation_id IS NOT NULL HAVING count(*) > 0)"

static const char sender_record_sql[] = "WITH " SENDER_RECORD;
static const char sender_record_async_sql[] =
    "WITH async AS (SELECT set_config('synchronous_commit', 'off', true)), "
    SENDER_RECORD " FROM async";

enum send_step { STEP_NONE, STEP_PROFILE, STEP_REPLY, STEP_PUSH };

struct send {
	TAILQ_ENTRY(send) link;		/* in the sender's sends */
	TAILQ_ENTRY(send) done_link;	/* in done or recording */
	struct outbox_sender *s;
	char		 id[24];
	char		*to;		/* the channel's id for the person */
	char		*payload;	/* JSON array of message objects */
	char		*reply_token;
	int64_t		 reply_token_us;
	char		 retry_key[40];
	int		 attempts;
	int64_t		 give_up_us;
	char		 follow[16];
	bool		 profile_checked;
	bool		 reply_unclear;	/* an earlier reply got no clear answer */
	bool		 forbidden;	/* free text a strict channel refuses */
	char		 claimed_at[48];	/* the claim, as the database wrote it */
	/* what happened */
	enum send_step	 step;
	bool		 token_spent;
	bool		 profile_ok;
	const char	*state;
	long		 status;
	char		 error[SENDER_ERROR_MAX + 1];
	char		 request_id[80];
	int64_t		 next_us;
};

TAILQ_HEAD(send_list, send);

struct outbox_sender {
	struct event_base	*base;
	struct db_pool		*pool;
	const struct keyring	*keys;
	struct http_client	*http;
	struct outbox_sender_config cfg;
	char			*api_base;
	char			*auth;		/* "Bearer ..." */
	struct event		*tick;
	struct event		*wake;
	struct send_list	 sends;
	size_t			 nsends;	/* claimed, not yet recorded */
	size_t			 sending;	/* of them, outcome not yet known */
	struct send_list	 done;		/* finished, to be recorded */
	struct send_list	 recording;	/* in the statement in flight */
	int64_t			 claim_us;	/* when the claim in flight left */
	int64_t			 record_us;	/* ... and the record */
	int64_t			 paced_us;	/* sends paced up to here */
	struct event		*pace;		/* the next paced claim */
	bool			 claiming;
	bool			 again;		/* woken while claiming */
	bool			 closed;
};

static void	sender_claim(struct outbox_sender *s);
static void	send_http(struct send *sd);
static void	send_push(struct send *sd);
static bool	send_reply_settled(struct send *sd, long status);

static const char *const step_names[] = {
	[STEP_NONE] = "none", [STEP_PROFILE] = "profile", [STEP_REPLY] = "reply",
	[STEP_PUSH] = "push",
};

enum outbox_verdict
outbox_verdict(bool via_reply, long status, const char *error_message)
{
	if (status >= 200 && status < 300)
		return OUTBOX_SENT;
	if (status == 409 && !via_reply)	/* this retry key was accepted */
		return OUTBOX_SENT;
	if (via_reply && status == 400 && error_message != NULL &&
	    strstr(error_message, "reply token") != NULL)
		return OUTBOX_PUSH_NOW;
	/* 401: a token being replaced; the give-up time bounds the wait. */
	if (status == 0 || status == 408 || status == 429 || status == 401 ||
	    status >= 500)
		return OUTBOX_RETRY;
	if (status == 404 && !via_reply)
		return OUTBOX_UNDELIVERABLE;
	return OUTBOX_FAILED;
}

int64_t
outbox_backoff_ms(int attempts, int64_t min_ms, int64_t max_ms,
    uint32_t random)
{
	int64_t d = min_ms;

	for (int i = 1; i < attempts && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	return d / 2 + (int64_t)(random % (uint64_t)(d / 2 + 1));
}

static void
send_free(struct send *sd)
{
	struct outbox_sender *s = sd->s;

	TAILQ_REMOVE(&s->sends, sd, link);
	s->nsends--;
	metrics_set("madoguchi_outbox_in_flight", "", s->nsends);
	if (sd->payload != NULL)
		OPENSSL_cleanse(sd->payload, strlen(sd->payload));
	free(sd->payload);
	free(sd->to);
	free(sd->reply_token);
	free(sd);
}

static void	sender_record(struct outbox_sender *s);

static void
sender_recorded(void *arg, const PGresult *res, const char *why)
{
	struct outbox_sender *s = arg;
	struct send *sd;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		/* The rows stay claimed by this session; when it ends, another takes them. */
		log_error("outbox.record_failed", "reason=\"%s\"", res != NULL ?
		    db_sqlstate(res) : why);
	else
		log_debug("outbox.recorded", "rows=%s ms=%.1f", PQgetvalue(res, 0, 0),
		    (double)(clock_now_us() - s->record_us) / 1e3);
	while ((sd = TAILQ_FIRST(&s->recording)) != NULL) {
		TAILQ_REMOVE(&s->recording, sd, done_link);
		send_free(sd);
	}
	sender_record(s);
	/* Claim in handfuls, not one row per finished send. */
	if (!s->closed && s->again)
		sender_claim(s);
}

static void
record_add(struct evbuffer *json, const struct send *sd)
{
	bool sent_something = sd->step == STEP_REPLY || sd->step == STEP_PUSH;
	char next[CLOCK_ISO_LEN];

	evbuffer_add_printf(json, "%s{\"id\":%s,\"state\":\"%s\","
	    "\"token_spent\":%s,\"profile_ok\":%s,\"reply_unclear\":%s,"
	    "\"claimed_at\":\"%s\"", evbuffer_get_length(json) > 1 ? "," : "",
	    sd->id, sd->state, sd->token_spent ? "true" : "false",
	    sd->profile_ok ? "true" : "false",
	    sd->reply_unclear ? "true" : "false", sd->claimed_at);
	if (sent_something)	/* else the row keeps the way it went before */
		evbuffer_add_printf(json, ",\"via\":\"%s\"", step_names[sd->step]);
	if (sd->status > 0)
		evbuffer_add_printf(json, ",\"status\":%ld", sd->status);
	if (sd->error[0] != '\0') {
		evbuffer_add_printf(json, ",\"error\":");
		json_write_string(json, sd->error);
	}
	if (sd->request_id[0] != '\0') {
		evbuffer_add_printf(json, ",\"request_id\":");
		json_write_string(json, sd->request_id);
	}
	if (sd->next_us > 0) {
		clock_format_utc(sd->next_us, next);
		evbuffer_add_printf(json, ",\"next_at\":\"%s\"", next);
	}
	evbuffer_add(json, "}", 1);
}

/* Everything finished since the last statement, in one statement. */
static void
sender_record(struct outbox_sender *s)
{
	struct evbuffer *json;
	char now[CLOCK_ISO_LEN];
	const char *params[2];
	struct send *sd;
	bool replies = false;

	if (!TAILQ_EMPTY(&s->recording) || TAILQ_EMPTY(&s->done))
		return;
	if ((json = evbuffer_new()) == NULL)
		return;		/* the next finished send tries again */
	evbuffer_add(json, "[", 1);
	while ((sd = TAILQ_FIRST(&s->done)) != NULL) {
		TAILQ_REMOVE(&s->done, sd, done_link);
		TAILQ_INSERT_TAIL(&s->recording, sd, done_link);
		record_add(json, sd);
		replies |= sd->step == STEP_REPLY;
	}
	evbuffer_add(json, "]", 2);	/* with its NUL */
	clock_format_utc(clock_now_us(), now);
	params[0] = (const char *)evbuffer_pullup(json, -1);
	params[1] = now;
	s->record_us = clock_now_us();
	if (!db_query_prepared(s->pool, replies ? "outbox_record" :
	    "outbox_record_async", replies ? sender_record_sql :
	    sender_record_async_sql, 2, params, sender_recorded, s)) {
		log_warn("outbox.record_skipped", "reason=\"no database\"");
		while ((sd = TAILQ_FIRST(&s->recording)) != NULL) {
			TAILQ_REMOVE(&s->recording, sd, done_link);
			send_free(sd);
		}
	}
	evbuffer_free(json);
}

/* Notes the outcome; the row is free for the next attempt or done. */
static void
send_record(struct send *sd)
{
	struct outbox_sender *s = sd->s;
	char labels[64];

	snprintf(labels, sizeof(labels), "outcome=\"%s\"",
	    strcmp(sd->state, "pending") == 0 ? "retry" : sd->state);
	metrics_add("madoguchi_outbox_attempts_total", labels, 1);
	log_info("outbox.attempt", "id=%s step=%s status=%ld state=%s "
	    "attempts=%d", sd->id, step_names[sd->step], sd->status, sd->state,
	    sd->attempts);
	TAILQ_INSERT_TAIL(&sd->s->done, sd, done_link);
	s->sending--;
	sender_record(s);
	/*
	 * Its slot is free: the row stays claimed by this session until the
	 * record commits, so no claim takes it again. Claim in handfuls.
	 */
	if (!s->closed && (s->again ||
	    s->sending <= (size_t)s->cfg.concurrency / 2))
		sender_claim(s);	/* (it keeps fewer under load) */
}

static void
send_finish(struct send *sd, const char *state, const char *error)
{
	sd->state = state;
	if (error != NULL)
		snprintf(sd->error, sizeof(sd->error), "%s", error);
	send_record(sd);
}

/* LINE's own words for a refusal ({"message": ...}), or the transport's. */
static void
send_note_error(struct send *sd, const struct http_response *res)
{
	cJSON *json;
	const cJSON *detail;
	const char *msg, *property, *why;

	sd->error[0] = '\0';
	if (res->status == 0) {
		snprintf(sd->error, sizeof(sd->error), "%s", res->timed_out ?
		    "timed out" : res->error ? res->error : "no answer");
		return;
	}
	if (res->status >= 200 && res->status < 300)
		return;
	json = cJSON_ParseWithLength(res->body, res->body_len);
	msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json,
	    "message"));
	/* "The request body has 1 error(s)" says little: add the first detail. */
	detail = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(json,
	    "details"), 0);
	property = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(detail,
	    "property"));
	why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(detail,
	    "message"));
	snprintf(sd->error, sizeof(sd->error), "HTTP %ld%s%s%s%s%s%s%s",
	    res->status, msg ? ": " : "", msg ? msg : "", why ? " (" : "",
	    property ? property : "", property && why ? ": " : "",
	    why ? why : "", why ? ")" : "");
	cJSON_Delete(json);
	/* Cut anywhere, it must still be valid text for the database. */
	for (char *p = sd->error; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

static void
send_note_request_id(struct send *sd, const struct http_response *res)
{
	const char *id = http_response_header(res,
	    res->status == 409 ? "x-line-accepted-request-id" :
	    "x-line-request-id");

	if (id == NULL)
		return;
	snprintf(sd->request_id, sizeof(sd->request_id), "%s", id);
	for (char *p = sd->request_id; *p != '\0'; p++)	/* hex, or nothing */
		if (!isxdigit((unsigned char)*p) && *p != '-')
			*p = '?';
}

/* Later, or never: the give-up time bounds all attempts together. */
static void
send_retry_later(struct send *sd)
{
	struct outbox_sender *s = sd->s;
	uint32_t r = 0;
	int64_t now = clock_now_us(), wait;

	(void)RAND_bytes((unsigned char *)&r, sizeof(r));
	wait = outbox_backoff_ms(sd->attempts, s->cfg.retry_min_ms,
	    s->cfg.retry_max_ms, r);
	if (now + wait * 1000 > sd->give_up_us) {
		char why[SENDER_ERROR_MAX + 1];

		snprintf(why, sizeof(why), "gave up after %d attempts: %.160s",
		    sd->attempts, sd->error);
		send_finish(sd, "failed", why);
		return;
	}
	sd->next_us = now + wait * 1000;
	send_finish(sd, "pending", NULL);
}

static void
send_profile_done(struct send *sd, const struct http_response *res)
{
	if (res->status == 200)
		sd->profile_ok = true;
	else if (res->status == 404) {
		send_note_error(sd, res);
		sd->status = res->status;
		send_finish(sd, "undeliverable", NULL);
		return;
	}
	/* Any other answer proves nothing either way: send. */
	sd->step = STEP_PUSH;
	send_http(sd);
}

/* 200 to a push for someone who blocked is silence: ask first, if unsure. */
static void
send_push(struct send *sd)
{
	sd->step = strcmp(sd->follow, "unknown") == 0 && !sd->profile_checked &&
	    !sd->profile_ok ? STEP_PROFILE : STEP_PUSH;
	send_http(sd);
}

static void
send_http_done(void *arg, const struct http_response *res)
{
	struct send *sd = arg;
	bool reply = sd->step == STEP_REPLY;

	if (sd->s->closed && res->status == 0) {
		sd->s->sending--;
		send_free(sd);	/* cancelled at shutdown: stays claimed */
		return;
	}
	if (sd->step == STEP_PROFILE) {
		send_profile_done(sd, res);
		return;
	}
	sd->status = res->status;
	send_note_error(sd, res);
	send_note_request_id(sd, res);
	if (reply && send_reply_settled(sd, res->status))
		return;
	switch (outbox_verdict(reply, res->status, sd->error)) {
	case OUTBOX_SENT:
		send_finish(sd, "sent", NULL);
		break;
	case OUTBOX_PUSH_NOW:
		send_push(sd);
		break;
	case OUTBOX_RETRY:
		send_retry_later(sd);
		break;
	case OUTBOX_UNDELIVERABLE:
		send_finish(sd, "undeliverable", NULL);
		break;
	case OUTBOX_FAILED:
		send_finish(sd, "failed", NULL);
		break;
	}
}

/*
 * A reply has no retry key: after an answer that does not say whether LINE
 * took it (timeout, 5xx), the same token is tried again while it is fresh,
 * and "Invalid reply token" then means the earlier attempt used it. True
 * when this settled the row.
 */
static bool
send_reply_settled(struct send *sd, long status)
{
	bool unclear = status == 0 || status >= 500;
	bool used = status == 400 && strstr(sd->error, "reply token") != NULL;

	if (used && sd->reply_unclear) {
		snprintf(sd->error, sizeof(sd->error), "accepted by an earlier "
		    "attempt (its answer was lost)");
		sd->token_spent = true;
		send_finish(sd, "sent", NULL);
		return true;
	}
	if (unclear) {
		sd->reply_unclear = true;	/* keep the token for one more try */
		send_retry_later(sd);
		return true;
	}
	sd->token_spent = true;		/* refused: not delivered; push is safe */
	return false;
}

/* The request for the current step; bodies are identical on every retry. */
static void
send_http(struct send *sd)
{
	struct outbox_sender *s = sd->s;
	struct http_header headers[3];
	struct http_request req = { .timeout_ms = s->cfg.request_timeout_ms };
	char url[512];
	struct evbuffer *body = evbuffer_new();

	headers[0] = (struct http_header){ "Authorization", s->auth };
	headers[1] = (struct http_header){ "Content-Type", "application/json" };
	headers[2] = (struct http_header){ "X-Line-Retry-Key", sd->retry_key };
	req.headers = headers;
	req.url = url;
	if (body == NULL) {
		send_finish(sd, "pending", "out of memory");
		return;
	}
	if (sd->step == STEP_PROFILE) {
		snprintf(url, sizeof(url), "%s/v2/bot/profile/%s", s->api_base,
		    sd->to);
		req.method = "GET";
		req.n_headers = 1;
	} else {
		bool reply = sd->step == STEP_REPLY;

		snprintf(url, sizeof(url), "%s/v2/bot/message/%s", s->api_base,
		    reply ? "reply" : "push");
		evbuffer_add_printf(body, "{\"%s\":", reply ? "replyToken" : "to");
		json_write_string(body, reply ? sd->reply_token : sd->to);
		evbuffer_add_printf(body, ",\"messages\":%s}", sd->payload);
		req.method = "POST";
		req.n_headers = reply ? 2 : 3;	/* no retry key on reply */
		req.body_len = evbuffer_get_length(body);
		req.body = (const char *)evbuffer_pullup(body, -1);
	}
	if (!http_client_send(s->http, &req, send_http_done, sd)) {
		sd->status = 0;
		snprintf(sd->error, sizeof(sd->error), "cannot start request");
		send_retry_later(sd);
	}
	evbuffer_free(body);
}

static void
send_start(struct send *sd)
{
	int64_t now = clock_now_us();

	if (sd->forbidden) {
		send_finish(sd, "failed", "strict mode: free text may not be "
		    "sent on this channel");
		return;
	}
	if (strcmp(sd->follow, "blocked") == 0) {
		send_finish(sd, "undeliverable", "blocked the account");
		return;
	}
	if (now > sd->give_up_us) {	/* e.g. no process could send for hours */
		char why[SENDER_ERROR_MAX + 1];

		if (sd->attempts > 1)
			snprintf(why, sizeof(why), "gave up after %d attempts: %.160s",
			    sd->attempts - 1, sd->error);
		else
			snprintf(why, sizeof(why), "not sent before its give-up time");
		send_finish(sd, "failed", why);
		return;
	}
	if (sd->reply_token != NULL && now - sd->reply_token_us >= 0 &&
	    now - sd->reply_token_us < SENDER_REPLY_FRESH_US) {
		sd->step = STEP_REPLY;
		send_http(sd);
		return;
	}
	/*
	 * Too old to try. If an earlier reply's fate is unknown, a push may
	 * repeat it: a message twice is better than none.
	 */
	if (sd->reply_token != NULL)
		sd->token_spent = true;
	send_push(sd);
}

/* One claimed row; false if it cannot be opened (then it stays claimed). */
static struct send *
send_from_row(struct outbox_sender *s, const PGresult *res, int row)
{
	struct send *sd = calloc(1, sizeof(*sd));

	if (sd == NULL)
		return NULL;
	sd->s = s;
	snprintf(sd->id, sizeof(sd->id), "%s", PQgetvalue(res, row, 0));
	sd->to = strdup(PQgetvalue(res, row, 1));
	snprintf(sd->follow, sizeof(sd->follow), "%s", PQgetvalue(res, row, 2));
	sd->profile_checked = PQgetvalue(res, row, 3)[0] == 't';
	if (!PQgetisnull(res, row, 4))
		sd->payload = unseal_pg_hex(s->keys, atoi(PQgetvalue(res, row, 5)),
		    "outbox.payload", PQgetvalue(res, row, 4), NULL);
	if (!PQgetisnull(res, row, 6)) {
		sd->reply_token = strdup(PQgetvalue(res, row, 6));
		sd->reply_token_us = strtoll(PQgetvalue(res, row, 7), NULL, 10);
	}
	snprintf(sd->retry_key, sizeof(sd->retry_key), "%s",
	    PQgetvalue(res, row, 8));
	sd->attempts = atoi(PQgetvalue(res, row, 9));
	sd->give_up_us = strtoll(PQgetvalue(res, row, 10), NULL, 10);
	sd->reply_unclear = PQgetvalue(res, row, 11)[0] == 't';
	snprintf(sd->claimed_at, sizeof(sd->claimed_at), "%s",
	    PQgetvalue(res, row, 12));
	snprintf(sd->error, sizeof(sd->error), "%s", PQgetvalue(res, row, 13));
	sd->forbidden = PQgetvalue(res, row, 14)[0] == 't';
	TAILQ_INSERT_TAIL(&s->sends, sd, link);
	s->nsends++;
	s->sending++;
	metrics_set("madoguchi_outbox_in_flight", "", s->nsends);
	return sd;
}

static bool
send_in_flight(const struct outbox_sender *s, const char *id)
{
	const struct send *sd;

	TAILQ_FOREACH(sd, &s->sends, link)
		if (strcmp(sd->id, id) == 0)
			return true;
	return false;
}

static void
sender_claimed(void *arg, const PGresult *res, const char *why)
{
	struct outbox_sender *s = arg;
	int n = 0;

	s->claiming = false;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("outbox.claim_failed", "reason=\"%s\"", res != NULL ?
		    db_sqlstate(res) : why);
		return;		/* the next tick tries again */
	}
	n = PQntuples(res);
	log_debug("outbox.claimed", "rows=%d ms=%.1f", n,
	    (double)(clock_now_us() - s->claim_us) / 1e3);
	for (int i = 0; i < n; i++) {
		struct send *sd;

		if (send_in_flight(s, PQgetvalue(res, i, 0)))
			continue;	/* ours still: its record is on its way */
		if ((sd = send_from_row(s, res, i)) == NULL)
			continue;

		if (sd->to == NULL || (sd->payload == NULL &&
		    !PQgetisnull(res, i, 4))) {
			/* Maybe only this process lacks the key: others may try. */
			log_error("outbox.payload_unreadable", "id=%s hint=\"is "
			    "the data key the same in every process?\"", sd->id);
			snprintf(sd->error, sizeof(sd->error), "cannot open the "
			    "payload (a data key missing here?)");
			send_retry_later(sd);
			continue;
		}
		send_start(sd);
	}
	/* A full claim may have left more behind; so may a wake meanwhile. */
	if (!s->closed && (s->again || n > 0))
		sender_claim(s);
}

/*
 * While people are writing (the webhook has deliveries waiting), sends
 * keep to busy_rate a second, claimed a tenth of a second's worth at a
 * time (a claim costs the database far more than a row in it): how many
 * may start now, arming the pace timer when none may. Otherwise all.
 */
#define SENDER_PACE_US	100000

static int
sender_paced(struct outbox_sender *s, int64_t now, int want)
{
	int n;
	struct timeval tv;

	if (s->cfg.inbound_busy == NULL || s->cfg.busy_rate <= 0 ||
	    !s->cfg.inbound_busy(s->cfg.inbound_arg))
		return want;
	if (now < s->paced_us + SENDER_PACE_US) {
		if (!evtimer_pending(s->pace, NULL)) {
			int64_t wait = s->paced_us + SENDER_PACE_US - now;

			tv.tv_sec = wait / 1000000;
			tv.tv_usec = wait % 1000000;
			evtimer_add(s->pace, &tv);
		}
		return 0;
	}
	s->paced_us = now;
	n = (int)((int64_t)s->cfg.busy_rate * SENDER_PACE_US / 1000000);
	if (n < 1)
		n = 1;
	return n < want ? n : want;
}

static void
sender_claim(struct outbox_sender *s)
{
	char now[CLOCK_ISO_LEN], lease[CLOCK_ISO_LEN], limit[16], takeover[48];
	const char *params[6] = { now, limit, lease, s->cfg.channel_kind,
	    s->cfg.channel_name, takeover };
	int64_t t = clock_now_us();
	int free_slots = s->cfg.concurrency - (int)s->sending;

	if (s->closed)
		return;
	if (s->claiming || free_slots <= 0) {
		s->again = true;
		return;
	}
	if ((free_slots = sender_paced(s, t, free_slots)) == 0)
		return;		/* the pace timer claims later */
	s->again = false;
	clock_format_utc(t, now);
	clock_format_utc(t + s->cfg.lease_s * 1000000, lease);
	snprintf(limit, sizeof(limit), "%d", free_slots);
	snprintf(takeover, sizeof(takeover), "%lld milliseconds",
	    (long long)s->cfg.request_timeout_ms + SENDER_TAKEOVER_MARGIN_S * 1000);
	s->claim_us = t;
	/*
	 * Planned each time, not prepared: a generic plan, blind to the LIMIT
	 * and to how few rows are due, sorted the whole backlog on every
	 * claim (20 ms at 10,000 queued; 0.5 ms planned for the values).
	 */
	if (db_query(s->pool, sender_claim_sql, 6, params, sender_claimed, s))
		s->claiming = true;
}

static void
sender_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sender_claim(arg);
}

struct outbox_sender *
outbox_sender_new(struct event_base *base, struct db_pool *pool,
    const struct keyring *keys, struct http_client *http,
    const struct outbox_sender_config *cfg)
{
	struct outbox_sender *s = calloc(1, sizeof(*s));
	struct timeval tick = { SENDER_TICK_MS / 1000,
	    (SENDER_TICK_MS % 1000) * 1000 };
	size_t n;

	if (s == NULL)
		return NULL;
	s->base = base;
	s->pool = pool;
	s->keys = keys;
	s->http = http;
	s->cfg = *cfg;
	TAILQ_INIT(&s->sends);
	TAILQ_INIT(&s->done);
	TAILQ_INIT(&s->recording);
	n = strlen(cfg->access_token) + sizeof("Bearer ");
	s->api_base = strdup(cfg->api_base);
	if ((s->auth = malloc(n)) != NULL)
		snprintf(s->auth, n, "Bearer %s", cfg->access_token);
	/* trailing slashes would make "//v2/..." */
	while (s->api_base != NULL && *s->api_base != '\0' &&
	    s->api_base[strlen(s->api_base) - 1] == '/')
		s->api_base[strlen(s->api_base) - 1] = '\0';
	s->tick = event_new(base, -1, EV_PERSIST, sender_tick_cb, s);
	s->wake = event_new(base, -1, 0, sender_tick_cb, s);
	s->pace = evtimer_new(base, sender_tick_cb, s);
	if (s->api_base == NULL || s->auth == NULL || s->tick == NULL ||
	    s->wake == NULL || s->pace == NULL ||
	    event_add(s->tick, &tick) != 0) {
		outbox_sender_free(s);
		return NULL;
	}
	metrics_describe("madoguchi_outbox_attempts_total", "counter",
	    "Attempts to send an outbox row, by what became of it");
	metrics_describe("madoguchi_outbox_in_flight", "gauge",
	    "Outbox rows this process has claimed and not yet recorded");
	return s;
}

void
outbox_sender_wake(struct outbox_sender *s)
{
	if (s != NULL && !s->closed)
		event_active(s->wake, 0, 0);
}

void
outbox_sender_close(struct outbox_sender *s)
{
	if (s == NULL)
		return;
	s->closed = true;
	event_del(s->tick);
	event_del(s->pace);
}

size_t
outbox_sender_in_flight(const struct outbox_sender *s)
{
	return s != NULL ? s->nsends : 0;
}

void
outbox_sender_free(struct outbox_sender *s)
{
	if (s == NULL)
		return;
	s->closed = true;
	while (!TAILQ_EMPTY(&s->sends))
		send_free(TAILQ_FIRST(&s->sends));
	if (s->tick != NULL)
		event_free(s->tick);
	if (s->wake != NULL)
		event_free(s->wake);
	if (s->pace != NULL)
		event_free(s->pace);
	if (s->auth != NULL)
		OPENSSL_cleanse(s->auth, strlen(s->auth));
	free(s->auth);
	free(s->api_base);
	free(s);
}
