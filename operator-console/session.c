/*
 * session.c - console sessions: a random token in an HttpOnly,
 * SameSite=Strict cookie, only its SHA-256 in the database; the CSRF token
 * derived from the session token, so it needs no storage of its own.
 *
 * A session ends when its owner signs out, after the desk's idle time
 * without a call, at its absolute limit, or when the account is disabled.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"

#define SESSION_LIVE \
"   WHERE token_hash = decode($1, 'hex') AND ended_at IS NULL"\
"     AND last_seen_at > $2::timestamptz - make_interval(mins => $3::int)"\
"     AND expires_at > $2::timestamptz"
#define SESSION_STAFF \
") SELECT s.id, s.stage, st.id, st.login, st.display_name, st.role,"\
"    st.language, st.totp_enrolled_at IS NOT NULL, st.password_temporary"\
"  FROM s JOIN staff st ON st.id = s.staff_id AND st.disabled_at IS NULL"

/* Every call but the event stream counts as activity. */
static const char session_touch_sql[] =
    "WITH s AS (UPDATE sessions SET last_seen_at = $2::timestamptz"
    SESSION_LIVE " RETURNING id, staff_id, stage" SESSION_STAFF;
static const char session_peek_sql[] =
    "WITH s AS (SELECT id, staff_id, stage FROM sessions" SESSION_LIVE
    SESSION_STAFF;

void
session_csrf(const uint8_t token[CONSOLE_TOKEN_BYTES], char out[44])
{
	static const char label[] = "madoguchi csrf v1";
	uint8_t mac[32];
	unsigned int len = 0;

	HMAC(EVP_sha256(), token, CONSOLE_TOKEN_BYTES,
	    (const unsigned char *)label, sizeof(label) - 1, mac, &len);
	secret_token_text(mac, out);
}

void
session_set_cookie(struct api_call *call,
    const uint8_t token[CONSOLE_TOKEN_BYTES])
{
	char value[44], cookie[160];

	secret_token_text(token, value);
	snprintf(cookie, sizeof(cookie), CONSOLE_COOKIE "=%s; Path=/; HttpOnly; "
	    "SameSite=Strict%s", value, call->c->opt.cookie_secure ?
	    "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(call->req),
	    "Set-Cookie", cookie);
	OPENSSL_cleanse(value, sizeof(value));
	OPENSSL_cleanse(cookie, sizeof(cookie));
}

void
session_clear_cookie(struct api_call *call)
{
	char cookie[128];

	snprintf(cookie, sizeof(cookie), CONSOLE_COOKIE "=; Path=/; Max-Age=0; "
	    "HttpOnly; SameSite=Strict%s", call->c->opt.cookie_secure ?
	    "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(call->req),
	    "Set-Cookie", cookie);
}

/* The session token from "Cookie: a=b; madoguchi_session=...". */
bool
session_cookie_token(struct evhttp_request *req,
    uint8_t token[CONSOLE_TOKEN_BYTES])
{
	return secret_token_from_cookie(req, CONSOLE_COOKIE, token);
}

static enum session_stage
stage_parse(const char *s)
{
	return strcmp(s, "full") == 0 ? STAGE_FULL :
	    strcmp(s, "totp") == 0 ? STAGE_TOTP : STAGE_PASSWORD;
}

static enum console_role
role_parse(const char *s)
{
	return strcmp(s, "admin") == 0 ? ROLE_ADMIN :
	    strcmp(s, "supervisor") == 0 ? ROLE_SUPERVISOR : ROLE_COUNSELLOR;
}

struct session_lookup {
	void	(*next)(struct api_call *call);
};

static void
session_found(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	void (*next)(struct api_call *) =
	    ((struct session_lookup *)call->state)->next;
	struct console_staff *s = &call->staff;

	free(call->state);
	call->state = NULL;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "session", res, why);
		return;
	}
	if (PQntuples(res) == 1) {
		call->session_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		call->stage = stage_parse(PQgetvalue(res, 0, 1));
		s->id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		snprintf(s->login, sizeof(s->login), "%s", PQgetvalue(res, 0, 3));
		snprintf(s->display_name, sizeof(s->display_name), "%s",
		    PQgetvalue(res, 0, 4));
		s->role = role_parse(PQgetvalue(res, 0, 5));
		snprintf(s->language, sizeof(s->language), "%s",
		    PQgetvalue(res, 0, 6));
		s->totp_enrolled = PQgetvalue(res, 0, 7)[0] == 't';
		s->password_temporary = PQgetvalue(res, 0, 8)[0] == 't';
	} else {
		/* Unknown, ended or idle: as if there were no cookie. */
		call->has_token = false;
		call->stage = STAGE_NONE;
	}
	next(call);
}

void
session_resolve(struct api_call *call, bool touch,
    void (*next)(struct api_call *call))
{
	struct session_lookup *l = malloc(sizeof(*l));
	char hash[65], idle[16];
	const char *params[3] = { hash, call->now, idle };

	if (l == NULL) {
		api_error(call, 500, "no_memory", "out of memory");
		return;
	}
	l->next = next;
	call->state = l;
	secret_token_hash_hex(call->token, hash);
	snprintf(idle, sizeof(idle), "%d", call->c->settings.idle_minutes);
	if (!api_query(call, touch ? session_touch_sql : session_peek_sql, 3,
	    params, session_found)) {
		free(l);
		call->state = NULL;
		api_db_error(call, "session", NULL, "no connection");
	}
}

/*
 * Sessions found idle or past their limit are ended for the record, and
 * whoever has none left goes offline: the busy auto-reply and the staff
 * list then see who is really at the desk. $1 now, $2 idle minutes.
 */
static const char session_sweep_sql[] =
"WITH ended AS ("
"  UPDATE sessions SET ended_at = $1::timestamptz,"
"      end_reason = CASE WHEN expires_at <= $1::timestamptz THEN 'expired'"
"        ELSE 'idle' END"
"   WHERE ended_at IS NULL AND (expires_at <= $1::timestamptz"
"      OR last_seen_at <= $1::timestamptz - make_interval(mins => $2::int))"
"  RETURNING staff_id"
") UPDATE staff SET presence = 'offline', presence_changed_at = $1::timestamptz"
"  WHERE id IN (SELECT staff_id FROM ended) AND presence <> 'offline'"
"    AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.staff_id = staff.id"
"      AND s.ended_at IS NULL"
"      AND s.expires_at > $1::timestamptz"
"      AND s.last_seen_at > $1::timestamptz - make_interval(mins => $2::int))";

static void
session_swept(void *arg, const PGresult *res, const char *why)
{
	struct console *c = arg;

	c->session_sweeping = false;
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		log_warn("console.session_sweep_failed", "sqlstate=%s "
		    "reason=\"%s\"", db_sqlstate(res),
		    res ? "rejected by server" : why);
}

void
session_sweep(struct console *c)
{
	char now[CLOCK_ISO_LEN], idle[12];
	const char *params[2] = { now, idle };

	if (c->session_sweeping || c->closing || db_pool_connected(c->pool) == 0)
		return;
	clock_format_utc(clock_now_us(), now);
	snprintf(idle, sizeof(idle), "%d", c->settings.idle_minutes);
	c->session_sweeping = db_query(c->pool, session_sweep_sql, 2, params,
	    session_swept, c);
}
