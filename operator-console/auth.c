/*
 * auth.c - signing in, first factor: the password, and signing out.
 *
 * POST /api/session checks login and password (Argon2id, on the offload
 * thread so the loop never waits for it) and opens a session at stage
 * "password", which can do nothing but finish signing in (mfa.c). An
 * address with many failures is throttled (429); an account with five in
 * a row, password or TOTP, is locked for a while (423). An unknown login
 * costs the same hash as a known one, so timing does not tell them apart.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/crypto.h>

#include "log.h"
#include "offload.h"
#include "password.h"

#define AUTH_LOGIN_MAX		64
#define AUTH_PASSWORD_MAX	1024
#define AUTH_PENDING_MINUTES	10	/* to finish the second factor */

/*
 * $1 unused (NULL), $2 now, $3/$4 lockout, $5 login, $6 address, $7 the
 * address's window in minutes, $8 failures allowed from it. A known,
 * unlocked account reserves a failure; the address's count comes along.
 */
static const char auth_lookup_sql[] =
"WITH ip AS ("
"  SELECT count(*) AS n FROM login_attempts a WHERE a.ip = $6::inet"
"     AND NOT a.ok AND a.at > $2::timestamptz - make_interval(mins => $7::int)"
"), st AS ("
"  UPDATE staff SET" AUTH_RESERVE_SET
"   WHERE $1::bigint IS NULL AND login = $5 AND disabled_at IS NULL AND"
    AUTH_NOT_LOCKED
"     AND (SELECT n FROM ip) < $8::int"
"  RETURNING id, password_hash"
") SELECT st.id, st.password_hash,"
"  NOT EXISTS (SELECT 1 FROM st) AND EXISTS (SELECT 1 FROM staff"
"    WHERE login = $5 AND disabled_at IS NULL"
"      AND locked_until > $2::timestamptz),"
"  (SELECT n FROM ip)"
"  FROM (SELECT 1) one LEFT JOIN st ON true";

/* A failure is recorded; the answer says whether the account is locked now. */
static const char auth_failed_sql[] =
"WITH a AS ("
"  INSERT INTO login_attempts (at, login, staff_id, ip, factor, ok)"
"  VALUES ($2::timestamptz, $1, $3::bigint, $4::inet, $5, false)"
"), au AS ("	/* a login typed wrong may be a password: not kept */
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, detail, ip)"
"  VALUES ($2::timestamptz, $3::bigint, coalesce((SELECT login FROM staff"
"      WHERE id = $3::bigint), '(no such account)'), 'session.sign_in_failed',"
"      'staff', $3::bigint, json_build_object('factor', $5::text), $4::inet)"
") SELECT coalesce((SELECT locked_until > $2::timestamptz FROM staff"
"    WHERE id = $3::bigint), false)";

/* The password was right: its reserved failure is given back. */
static const char auth_opened_sql[] =
"WITH a AS ("
"  INSERT INTO login_attempts (at, login, staff_id, ip, factor, ok)"
"  VALUES ($2::timestamptz, $1, $3::bigint, $4::inet, 'password', true)"
"), back AS ("
"  UPDATE staff SET failed_logins = greatest(failed_logins - 1, 0),"
"      locked_until = CASE WHEN failed_logins - 1 < $8::int THEN NULL"
"        ELSE locked_until END"
"   WHERE id = $3::bigint"
") INSERT INTO sessions (token_hash, staff_id, stage, created_at,"
"    last_seen_at, expires_at, ip, user_agent)"
"  VALUES (decode($5, 'hex'), $3::bigint, 'password', $2::timestamptz,"
"    $2::timestamptz, $2::timestamptz + make_interval(mins => $6::int),"
"    $4::inet, left($7, 200))"
"  RETURNING id";

static const char auth_signout_sql[] =
"WITH s AS ("
"  UPDATE sessions SET ended_at = $2::timestamptz, end_reason = 'signed_out'"
"   WHERE id = $1::bigint AND ended_at IS NULL RETURNING staff_id"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, ip)"
"  SELECT $2::timestamptz, staff_id, $3, 'session.sign_out', 'staff',"
"      staff_id, $4::inet FROM s"
") UPDATE staff SET presence = 'offline', presence_changed_at = $2::timestamptz"
"  WHERE id = (SELECT staff_id FROM s) AND NOT EXISTS ("
"    SELECT 1 FROM sessions o WHERE o.staff_id = staff.id"
"       AND o.ended_at IS NULL AND o.stage = 'full'"
"       AND o.id <> $1::bigint)";

/* A sign-in in progress: what the password check needs and decides. */
struct auth_login {
	char		 login[AUTH_LOGIN_MAX + 1];
	char		*password;
	char		*hash;		/* the account's, or the decoy's */
	char		 staff_id[24];	/* "" when no such account */
	bool		 ok;
	uint8_t		 token[CONSOLE_TOKEN_BYTES];
};

/* An encoded Argon2id hash of nothing anyone knows, made once. */
static char *auth_decoy;

static void
auth_login_free(struct auth_login *l)
{
	password_free(l->password);
	free(l->hash);
	OPENSSL_cleanse(l, sizeof(*l));
	free(l);
}

/* The answer to a failure, counted first. */
void
auth_failed_done(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	(void)why;
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't') {
		api_error(call, 423, "locked", "too many failed attempts; this "
		    "account is locked for a while");
		return;
	}
	api_error(call, 401, "bad_credentials", "wrong login or password");
}

void
auth_count_failure(struct api_call *call, const char *login,
    const char *staff_id, const char *factor, db_result_fn done)
{
	const char *params[5] = { login, call->now,
	    staff_id[0] != '\0' ? staff_id : NULL, api_ip(call), factor };

	log_info("console.sign_in_failed", "factor=%s known=%s", factor,
	    staff_id[0] != '\0' ? "yes" : "no");
	if (!api_query(call, auth_failed_sql, 5, params, done))
		api_db_error(call, "login_failed", NULL, "no connection");
}

static void
auth_opened(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct auth_login *l = call->state;
	cJSON *o;
	char csrf[44];

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		call->state = NULL;
		auth_login_free(l);
		api_db_error(call, "session_open", res, why);
		return;
	}
	session_set_cookie(call, l->token);
	session_csrf(l->token, csrf);
	call->state = NULL;
	auth_login_free(l);
	log_info("console.password_ok", "session=%s", PQgetvalue(res, 0, 0));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "stage", "password");
	cJSON_AddStringToObject(o, "csrf", csrf);
	api_reply(call, 200, o);
}

static void
auth_open_session(struct api_call *call, struct auth_login *l)
{
	char hash[65], minutes[12], failures[12];
	const char *ua = evhttp_find_header(
	    evhttp_request_get_input_headers(call->req), "User-Agent");
	const char *params[8] = { l->login, call->now, l->staff_id,
	    api_ip(call), hash, minutes, ua != NULL ? ua : "", failures };

	if (!secret_token_new(l->token)) {
		call->state = NULL;
		auth_login_free(l);
		api_error(call, 500, "no_randomness", "cannot make a session");
		return;
	}
	secret_token_hash_hex(l->token, hash);
	snprintf(minutes, sizeof(minutes), "%d", AUTH_PENDING_MINUTES);
	snprintf(failures, sizeof(failures), "%d",
	    call->c->settings.lockout_failures);
	if (!api_query(call, auth_opened_sql, 8, params, auth_opened)) {
		call->state = NULL;
		auth_login_free(l);
		api_db_error(call, "session_open", NULL, "no connection");
	}
}

/* On the offload thread: the slow part. */
static void
auth_verify_work(void *arg)
{
	struct auth_login *l = ((struct api_call *)arg)->state;

	l->ok = password_verify(l->hash, l->password) &&
	    l->staff_id[0] != '\0';
}

/* Back on the loop. */
static void
auth_verify_done(void *arg)
{
	struct api_call *call = arg;
	struct auth_login *l = call->state;

	if (l->ok) {
		auth_open_session(call, l);
		return;
	}
	call->state = NULL;
	auth_count_failure(call, l->login, l->staff_id, "password",
	    auth_failed_done);
	auth_login_free(l);
}

static void
auth_looked_up(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct auth_login *l = call->state;
	const char *hash;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		call->state = NULL;
		auth_login_free(l);
		api_db_error(call, "login_lookup", res, why);
		return;
	}
	if (atoi(PQgetvalue(res, 0, 3)) >= call->c->settings.ip_failures) {
		call->state = NULL;
		auth_login_free(l);
		log_warn("console.sign_in_throttled", "ip=%s", call->ip);
		api_error(call, 429, "throttled", "too many failed attempts "
		    "from this address; wait a few minutes");
		return;
	}
	if (PQgetvalue(res, 0, 2)[0] == 't') {
		call->state = NULL;
		auth_login_free(l);
		api_error(call, 423, "locked", "too many failed attempts; this "
		    "account is locked for a while");
		return;
	}
	snprintf(l->staff_id, sizeof(l->staff_id), "%s", PQgetvalue(res, 0, 0));
	hash = PQgetisnull(res, 0, 1) ? auth_decoy : PQgetvalue(res, 0, 1);
	if ((l->hash = strdup(hash != NULL ? hash : "")) == NULL ||
	    !offload_submit(call->c->offload, auth_verify_work,
	    auth_verify_done, call)) {
		call->state = NULL;
		auth_login_free(l);
		api_error(call, 503, "busy", "too many sign-ins at once; try "
		    "again");
	}
}

/* POST /api/session {"login", "password"} */
static void
auth_sign_in(struct api_call *call)
{
	const char *login = api_body_string(call, "login");
	const char *password = api_body_string(call, "password");
	struct auth_login *l;
	char failures[12], lock_minutes[12], minutes[12], ip_failures[12];
	const char *params[8] = { NULL, call->now, failures, lock_minutes,
	    login, api_ip(call), minutes, ip_failures };

	if (login == NULL || password == NULL || login[0] == '\0' ||
	    strlen(login) > AUTH_LOGIN_MAX ||
	    strlen(password) > AUTH_PASSWORD_MAX) {
		api_error(call, 400, "invalid", "login and password are "
		    "required");
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->password = strdup(password)) == NULL) {
		free(l);
		api_error(call, 500, "no_memory", "out of memory");
		return;
	}
	snprintf(l->login, sizeof(l->login), "%s", login);
	call->state = l;
	snprintf(failures, sizeof(failures), "%d",
	    call->c->settings.lockout_failures);
	snprintf(lock_minutes, sizeof(lock_minutes), "%d",
	    call->c->settings.lockout_minutes);
	snprintf(minutes, sizeof(minutes), "%d", call->c->settings.ip_minutes);
	snprintf(ip_failures, sizeof(ip_failures), "%d",
	    call->c->settings.ip_failures);
	if (!api_query(call, auth_lookup_sql, 8, params, auth_looked_up)) {
		call->state = NULL;
		auth_login_free(l);
		api_db_error(call, "login_lookup", NULL, "no connection");
	}
}

static const char *
auth_next_step(const struct api_call *call)
{
	switch (call->stage) {
	case STAGE_PASSWORD:
		return call->staff.totp_enrolled ? "totp" : "enrol";
	case STAGE_TOTP:
		return "new_password";
	default:
		return NULL;
	}
}

/* GET /api/session: who is signed in, and what is still owed. */
static void
auth_session_info(struct api_call *call)
{
	cJSON *o = cJSON_CreateObject();
	const char *next = auth_next_step(call);
	char csrf[44];

	session_csrf(call->token, csrf);
	cJSON_AddStringToObject(o, "stage", call->stage == STAGE_FULL ? "full" :
	    call->stage == STAGE_TOTP ? "totp" : "password");
	if (next != NULL)
		cJSON_AddStringToObject(o, "next", next);
	else
		cJSON_AddNullToObject(o, "next");
	cJSON_AddStringToObject(o, "csrf", csrf);
	cJSON_AddNumberToObject(o, "idle_minutes",
	    call->c->settings.idle_minutes);
	cJSON_AddItemToObject(o, "staff", api_staff_json(&call->staff));
	api_reply(call, 200, o);
}

static void
auth_signed_out(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		api_db_error(call, "sign_out", res, why);
		return;
	}
	log_info("console.signed_out", "staff=%lld", (long long)call->staff.id);
	session_clear_cookie(call);
	api_reply(call, 200, cJSON_CreateObject());
}

/* DELETE /api/session */
static void
auth_sign_out(struct api_call *call)
{
	char id[24];
	const char *params[4] = { id, call->now, call->staff.login,
	    api_ip(call) };

	snprintf(id, sizeof(id), "%lld", (long long)call->session_id);
	if (!api_query(call, auth_signout_sql, 4, params, auth_signed_out))
		api_db_error(call, "sign_out", NULL, "no connection");
}

/* The decoy hash is made once, before the first sign-in can need it. */
bool
auth_init(void)
{
	uint8_t random[CONSOLE_TOKEN_BYTES];
	char text[2 * CONSOLE_TOKEN_BYTES + 1];

	if (auth_decoy != NULL)
		return true;
	if (!secret_token_new(random))
		return false;
	for (size_t i = 0; i < sizeof(random); i++)
		snprintf(text + 2 * i, 3, "%02x", random[i]);
	auth_decoy = password_hash(text);
	OPENSSL_cleanse(text, sizeof(text));
	return auth_decoy != NULL;
}

void
auth_cleanup(void)
{
	free(auth_decoy);
	auth_decoy = NULL;
}

const struct api_route auth_routes[] = {
	{ "POST", "/api/session", ROLES_ANY, STAGE_NONE, auth_sign_in },
	{ "GET", "/api/session", ROLES_ANY, STAGE_PASSWORD, auth_session_info },
	{ "DELETE", "/api/session", ROLES_ANY, STAGE_PASSWORD, auth_sign_out },
	{ "GET", "/api/session/enrol", ROLES_ANY, STAGE_PASSWORD, mfa_enrol },
	{ "POST", "/api/session/totp", ROLES_ANY, STAGE_PASSWORD, mfa_verify },
	{ "POST", "/api/session/password", ROLES_ANY, STAGE_TOTP,
	    mfa_new_password },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
