/*
 * mfa.c - signing in, second factor: TOTP enrolment at the first sign-in
 * (a QR code drawn on the server as SVG), the TOTP check, and the new
 * password owed after an admin set a one-time one.
 *
 * Each step up replaces the session's token (a new cookie), so a token
 * seen before the second factor never becomes a signed-in one. A TOTP code
 * is accepted once: the newest accepted time step is kept per account.
 */
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "log.h"
#include "offload.h"
#include "password.h"
#include "qr_svg.h"
#include "seal.h"
#include "totp.h"

#define MFA_AAD		"staff.totp_secret"
#define MFA_WINDOW	1	/* steps either side: clocks drift */

/* Keeps a pending secret if there is one, so a reload shows the same code. */
static const char mfa_enrol_sql[] =
"UPDATE staff SET"
"    totp_key_id = CASE WHEN totp_secret IS NULL THEN $3::smallint"
"      ELSE totp_key_id END,"
"    totp_secret = coalesce(totp_secret, decode($2, 'base64'))"
"  WHERE id = $1::bigint AND totp_enrolled_at IS NULL"
"  RETURNING totp_secret, totp_key_id, login";

/*
 * Reserves a failure on an unlocked account with a secret (see
 * AUTH_RESERVE_SET), then says why not when it cannot: $1 account, $2
 * now, $3 failures allowed, $4 lockout minutes.
 */
static const char mfa_state_sql[] =
"WITH st AS ("
"  UPDATE staff SET" AUTH_RESERVE_SET
"   WHERE id = $1::bigint AND totp_secret IS NOT NULL AND" AUTH_NOT_LOCKED
"  RETURNING totp_secret, totp_key_id, coalesce(totp_last_step, -1), login"
") SELECT st.*, s.totp_secret IS NOT NULL,"
"    coalesce(s.locked_until > $2::timestamptz, false)"
"  FROM staff s LEFT JOIN st ON true WHERE s.id = $1::bigint";

/* The code matched: the account and the session step up together. */
static const char mfa_passed_sql[] =
"WITH st AS ("
"  UPDATE staff SET totp_last_step = $3::bigint, failed_logins = 0,"
"      locked_until = NULL,"
"      totp_enrolled_at = coalesce(totp_enrolled_at, $2::timestamptz)"
"   WHERE id = $1::bigint AND coalesce(totp_last_step, -1) < $3::bigint"
"  RETURNING login, password_temporary"
"), a AS ("
"  INSERT INTO login_attempts (at, login, staff_id, ip, factor, ok)"
"  SELECT $2::timestamptz, login, $1::bigint, $6::inet, 'totp', true FROM st"
"), au AS ("	/* both factors passed: signed in */
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, ip)"
"  SELECT $2::timestamptz, $1::bigint, login, 'session.sign_in', 'staff',"
"      $1::bigint, $6::inet FROM st"
") UPDATE sessions SET token_hash = decode($4, 'hex'), last_seen_at = $2::timestamptz,"
"    stage = CASE WHEN (SELECT password_temporary FROM st) THEN 'totp'"
"      ELSE 'full' END,"
"    expires_at = CASE WHEN (SELECT password_temporary FROM st) THEN expires_at"
"      ELSE created_at + make_interval(hours => $7::int) END"
"  WHERE id = $5::bigint AND stage = 'password' AND ended_at IS NULL"
"    AND EXISTS (SELECT 1 FROM st)"
"  RETURNING stage";

static const char mfa_password_sql[] =
"WITH st AS ("
"  UPDATE staff SET password_hash = $3, password_temporary = false,"
"      password_changed_at = $2::timestamptz"
"   WHERE id = $1::bigint RETURNING id"
"), others AS ("
"  UPDATE sessions SET ended_at = $2::timestamptz,"
"      end_reason = 'password_changed'"
"   WHERE staff_id = $1::bigint AND id <> $4::bigint AND ended_at IS NULL"
"), au AS ("
"  INSERT INTO audit_log (at, staff_id, actor, action, object_type,"
"      object_id, ip)"
"  VALUES ($2::timestamptz, $1::bigint, $6, 'staff.password_set', 'staff',"
"      $1::bigint, $7::inet)"
") UPDATE sessions SET token_hash = decode($5, 'hex'), stage = 'full',"
"    last_seen_at = $2::timestamptz,"
"    expires_at = created_at + make_interval(hours => $8::int)"
"  WHERE id = $4::bigint AND stage = 'totp' AND ended_at IS NULL"
"    AND EXISTS (SELECT 1 FROM st)"
"  RETURNING stage";

/* What a step up needs to remember until the database answers. */
struct mfa_step {
	uint8_t		 token[CONSOLE_TOKEN_BYTES];
	char		*password;
	char		*hash;
};

static void
mfa_step_free(struct mfa_step *m)
{
	if (m == NULL)
		return;
	password_free(m->password);
	free(m->hash);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

static void
mfa_step_drop(struct api_call *call)
{
	mfa_step_free(call->state);
	call->state = NULL;
}

/* Opens a sealed secret as PostgreSQL printed it. */
static bool
mfa_secret(const struct api_call *call, const PGresult *res, int row,
    uint8_t secret[TOTP_SECRET_BYTES])
{
	size_t len = 0;
	char *plain = unseal_pg_hex(call->c->keys,
	    atoi(PQgetvalue(res, row, 1)), MFA_AAD, PQgetvalue(res, row, 0),
	    &len);
	bool ok = plain != NULL && len == TOTP_SECRET_BYTES;

	if (ok)
		memcpy(secret, plain, TOTP_SECRET_BYTES);
	if (plain != NULL) {
		OPENSSL_cleanse(plain, len);
		free(plain);
	}
	return ok;
}

static void
mfa_enrolled(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	uint8_t secret[TOTP_SECRET_BYTES];
	char *b32 = NULL, *uri = NULL, *svg = NULL;
	cJSON *o;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "totp_enrol", res, why);
		return;
	}
	if (PQntuples(res) != 1) {
		api_error(call, 409, "already_enrolled", "this account already "
		    "has an authenticator");
		return;
	}
	if (!mfa_secret(call, res, 0, secret)) {
		api_error(call, 500, "sealed", "cannot open the stored secret");
		return;
	}
	b32 = totp_secret_base32(secret, sizeof(secret));
	uri = totp_uri(secret, sizeof(secret), call->c->settings.issuer,
	    PQgetvalue(res, 0, 2));
	svg = uri != NULL ? qr_svg(uri, "QR code for your authenticator app") :
	    NULL;
	OPENSSL_cleanse(secret, sizeof(secret));
	if (b32 == NULL || uri == NULL || svg == NULL) {
		free(b32);
		free(uri);
		free(svg);
		api_error(call, 500, "no_memory", "cannot draw the QR code");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "secret", b32);
	cJSON_AddStringToObject(o, "uri", uri);
	cJSON_AddStringToObject(o, "svg", svg);
	OPENSSL_cleanse(b32, strlen(b32));
	OPENSSL_cleanse(uri, strlen(uri));
	free(b32);
	free(uri);
	free(svg);
	api_reply(call, 200, o);
}

/* GET /api/session/enrol: the secret to scan, before the first code. */
void
mfa_enrol(struct api_call *call)
{
	uint8_t secret[TOTP_SECRET_BYTES];
	char id[24], key_id[8];
	char *sealed;
	int kid = 0;
	const char *params[3] = { id, NULL, key_id };

	if (call->staff.totp_enrolled) {
		api_error(call, 409, "already_enrolled", "this account already "
		    "has an authenticator");
		return;
	}
	if (!totp_secret_new(secret) || (sealed = seal_base64(call->c->keys,
	    MFA_AAD, secret, sizeof(secret), &kid)) == NULL) {
		OPENSSL_cleanse(secret, sizeof(secret));
		api_error(call, 500, "no_randomness", "cannot make a secret");
		return;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	snprintf(id, sizeof(id), "%lld", (long long)call->staff.id);
	snprintf(key_id, sizeof(key_id), "%d", kid);
	params[1] = sealed;
	if (!api_query(call, mfa_enrol_sql, 3, params, mfa_enrolled))
		api_db_error(call, "totp_enrol", NULL, "no connection");
	free(sealed);
}

/* The session stepped up: a new cookie, and what is still owed. */
static void
mfa_stepped_up(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct mfa_step *m = call->state;
	cJSON *o;
	char csrf[44];
	bool full;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		mfa_step_drop(call);
		api_db_error(call, "step_up", res, why);
		return;
	}
	if (PQntuples(res) != 1) {	/* raced: the code or session was used */
		mfa_step_drop(call);
		api_error(call, 401, "bad_code", "that code was already used; "
		    "wait for the next one");
		return;
	}
	full = strcmp(PQgetvalue(res, 0, 0), "full") == 0;
	session_set_cookie(call, m->token);
	session_csrf(m->token, csrf);
	mfa_step_drop(call);
	log_info("console.signed_in", "staff=%lld stage=%s",
	    (long long)call->staff.id, full ? "full" : "totp");
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "stage", full ? "full" : "totp");
	if (full)
		cJSON_AddNullToObject(o, "next");
	else
		cJSON_AddStringToObject(o, "next", "new_password");
	cJSON_AddStringToObject(o, "csrf", csrf);
	cJSON_AddItemToObject(o, "staff", api_staff_json(&call->staff));
	api_reply(call, 200, o);
}

static void
mfa_checked(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	struct mfa_step *m = call->state;
	uint8_t secret[TOTP_SECRET_BYTES];
	char id[24], step_s[24], sid[24], hash[65], hours[12];
	const char *params[7] = { id, call->now, step_s, hash, sid,
	    api_ip(call), hours };
	int64_t step;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		mfa_step_drop(call);
		api_db_error(call, "totp_state", res, why);
		return;
	}
	if (PQntuples(res) != 1 || PQgetvalue(res, 0, 4)[0] != 't') {
		mfa_step_drop(call);
		api_error(call, 409, "not_enrolled", "scan the QR code first");
		return;
	}
	snprintf(id, sizeof(id), "%lld", (long long)call->staff.id);
	if (PQgetisnull(res, 0, 0)) {	/* nothing reserved: locked */
		mfa_step_drop(call);
		api_error(call, 423, "locked", "too many failed attempts; this "
		    "account is locked for a while");
		return;
	}
	if (!mfa_secret(call, res, 0, secret)) {
		mfa_step_drop(call);
		api_error(call, 500, "sealed", "cannot open the stored secret");
		return;
	}
	/* The phone's clock is real time, whatever the desk's test clock. */
	step = totp_verify(secret, sizeof(secret), api_body_string(call, "code"),
	    (int64_t)time(NULL), MFA_WINDOW,
	    strtoll(PQgetvalue(res, 0, 2), NULL, 10));
	OPENSSL_cleanse(secret, sizeof(secret));
	if (step < 0) {
		mfa_step_drop(call);
		auth_count_failure(call, PQgetvalue(res, 0, 3), id, "totp",
		    auth_failed_done);
		return;
	}
	snprintf(step_s, sizeof(step_s), "%lld", (long long)step);
	snprintf(sid, sizeof(sid), "%lld", (long long)call->session_id);
	snprintf(hours, sizeof(hours), "%d", call->c->settings.max_hours);
	secret_token_hash_hex(m->token, hash);
	if (!api_query(call, mfa_passed_sql, 7, params, mfa_stepped_up)) {
		mfa_step_drop(call);
		api_db_error(call, "step_up", NULL, "no connection");
	}
}

static struct mfa_step *
mfa_step_new(struct api_call *call)
{
	struct mfa_step *m = calloc(1, sizeof(*m));

	if (m == NULL || !secret_token_new(m->token)) {
		free(m);
		api_error(call, 500, "no_randomness", "cannot make a session");
		return NULL;
	}
	call->state = m;
	return m;
}

/* POST /api/session/totp {"code": "123456"} */
void
mfa_verify(struct api_call *call)
{
	char id[24], failures[12], minutes[12];
	const char *params[4] = { id, call->now, failures, minutes };

	if (call->stage != STAGE_PASSWORD) {
		api_error(call, 409, "already_verified", "this session already "
		    "passed its second factor");
		return;
	}
	if (api_body_string(call, "code") == NULL) {
		api_error(call, 400, "invalid", "code is required");
		return;
	}
	if (mfa_step_new(call) == NULL)
		return;
	snprintf(id, sizeof(id), "%lld", (long long)call->staff.id);
	snprintf(failures, sizeof(failures), "%d",
	    call->c->settings.lockout_failures);
	snprintf(minutes, sizeof(minutes), "%d",
	    call->c->settings.lockout_minutes);
	if (!api_query(call, mfa_state_sql, 4, params, mfa_checked)) {
		mfa_step_drop(call);
		api_db_error(call, "totp_state", NULL, "no connection");
	}
}

static void
mfa_hash_work(void *arg)
{
	struct mfa_step *m = ((struct api_call *)arg)->state;

	m->hash = password_hash(m->password);
}

static void
mfa_hash_done(void *arg)
{
	struct api_call *call = arg;
	struct mfa_step *m = call->state;
	char id[24], sid[24], hash[65], hours[12];
	const char *params[8] = { id, call->now, m->hash, sid, hash,
	    call->staff.login, api_ip(call), hours };

	if (m->hash == NULL) {
		mfa_step_drop(call);
		api_error(call, 500, "no_memory", "cannot hash the password");
		return;
	}
	snprintf(id, sizeof(id), "%lld", (long long)call->staff.id);
	snprintf(sid, sizeof(sid), "%lld", (long long)call->session_id);
	snprintf(hours, sizeof(hours), "%d", call->c->settings.max_hours);
	secret_token_hash_hex(m->token, hash);
	if (!api_query(call, mfa_password_sql, 8, params, mfa_stepped_up)) {
		mfa_step_drop(call);
		api_db_error(call, "password_set", NULL, "no connection");
	}
}

/* POST /api/session/password {"password": "..."}: replaces a one-time one. */
void
mfa_new_password(struct api_call *call)
{
	const char *password = api_body_string(call, "password");
	const char *why = NULL;
	struct mfa_step *m;

	if (call->stage != STAGE_TOTP) {
		api_error(call, 409, "not_owed", "no new password is owed");
		return;
	}
	if (password == NULL || !password_acceptable(password, &why)) {
		api_error(call, 400, why != NULL ? why : "invalid",
		    "choose a password of at least 12 characters");
		return;
	}
	if ((m = mfa_step_new(call)) == NULL)
		return;
	if ((m->password = strdup(password)) == NULL ||
	    !offload_submit(call->c->offload, mfa_hash_work, mfa_hash_done,
	    call)) {
		mfa_step_drop(call);
		api_error(call, 503, "busy", "too many sign-ins at once; try "
		    "again");
	}
}
