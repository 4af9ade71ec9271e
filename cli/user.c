/*
 * user.c - `madoguchi user`: staff accounts. An account starts with a
 * one-time password printed once here; at the first sign-in its owner
 * enrols an authenticator app (TOTP) and chooses their own password.
 * Every change is written to the audit trail, and disabling an account or
 * resetting its factors ends its sessions at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "password.h"

static const char user_usage[] =
"usage: madoguchi user <subcommand>\n"
"  list                                   every account\n"
"  add LOGIN --name NAME --role ROLE      a new account (ROLE: counsellor,\n"
"                                         supervisor or admin); prints its\n"
"                                         one-time password\n"
"  disable LOGIN | enable LOGIN           stop or allow signing in\n"
"  reset-mfa LOGIN                        enrol a new authenticator at the\n"
"                                         next sign-in\n"
"  reset-password LOGIN                   a new one-time password\n"
"  unlock LOGIN                           lift a lockout after failed\n"
"                                         sign-ins\n"
"  capacity LOGIN N|default               conversations they hold at once\n"
"                                         (default: the desk's\n"
"                                         capacity_per_counsellor)\n"
"Each takes --by WHO to name who made the change (default: you).\n";

static const char user_list_sql[] =
"SELECT login, role, display_name, presence,"
"  CASE WHEN totp_enrolled_at IS NULL THEN 'no' ELSE 'yes' END,"
"  CASE WHEN disabled_at IS NOT NULL THEN 'disabled'"
"       WHEN locked_until > now() THEN 'locked'"
"       WHEN password_temporary THEN 'one-time password'"
"       ELSE 'active' END"
"  FROM staff ORDER BY login";

#define USER_AUDIT(action) \
"), au AS (" \
"  INSERT INTO audit_log (staff_id, actor, action, object_type, object_id)" \
"  SELECT NULL, $2, '" action "', 'staff', id FROM st" \
") SELECT login FROM st"

static const char user_add_sql[] =
"WITH st AS ("
"  INSERT INTO staff (login, display_name, role, password_hash)"
"  VALUES ($1, $3, $4, $5) ON CONFLICT (login) DO NOTHING RETURNING id, login"
USER_AUDIT("staff.add");

#define USER_END_SESSIONS(reason) \
"), ended AS (" \
"  UPDATE sessions SET ended_at = now(), end_reason = '" reason "'" \
"   WHERE staff_id IN (SELECT id FROM st) AND ended_at IS NULL"

static const char user_disable_sql[] =
"WITH st AS ("
"  UPDATE staff SET disabled_at = coalesce(disabled_at, now()),"
"      presence = 'offline', presence_changed_at = now()"
"   WHERE login = $1 RETURNING id, login"
USER_END_SESSIONS("disabled") USER_AUDIT("staff.disable");

static const char user_enable_sql[] =
"WITH st AS ("
"  UPDATE staff SET disabled_at = NULL WHERE login = $1 RETURNING id, login"
USER_AUDIT("staff.enable");

static const char user_reset_mfa_sql[] =
"WITH st AS ("
"  UPDATE staff SET totp_secret = NULL, totp_key_id = NULL,"
"      totp_enrolled_at = NULL, totp_last_step = NULL,"
"      presence = 'offline', presence_changed_at = now()"
"   WHERE login = $1 RETURNING id, login"
USER_END_SESSIONS("mfa_reset") USER_AUDIT("staff.reset_mfa");

static const char user_reset_password_sql[] =
"WITH st AS ("
"  UPDATE staff SET password_hash = $3, password_temporary = true,"
"      failed_logins = 0, locked_until = NULL,"
"      presence = 'offline', presence_changed_at = now()"
"   WHERE login = $1 RETURNING id, login"
USER_END_SESSIONS("password_changed") USER_AUDIT("staff.reset_password");

static const char user_unlock_sql[] =
"WITH st AS ("
"  UPDATE staff SET failed_logins = 0, locked_until = NULL"
"   WHERE login = $1 RETURNING id, login"
USER_AUDIT("staff.unlock");

static const char user_capacity_sql[] =
"WITH st AS ("
"  UPDATE staff SET capacity = $3::smallint WHERE login = $1"
"  RETURNING id, login"
USER_AUDIT("staff.capacity");

/* Lower-case letters, digits and . _ -: typed at every sign-in. */
static bool
user_login_ok(const char *login)
{
	size_t n = strlen(login);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = login[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static bool
user_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

static int
user_list(struct cli *cli)
{
	PGresult *res;

	if (cli_query(cli, user_list_sql, 0, NULL, &res) != 0)
		return 1;
	printf("%-16s %-11s %-8s %-5s %-18s %s\n", "LOGIN", "ROLE", "PRESENCE",
	    "TOTP", "STATE", "NAME");
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-16s %-11s %-8s %-5s %-18s %s\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 3),
		    PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
		    PQgetvalue(res, i, 2));
	PQclear(res);
	return 0;
}

/* Prints the new one-time password once; it is stored only hashed. */
static int
user_with_password(struct cli *cli, const char *sql, const char *login,
    const char *name, const char *role, const char *by)
{
	char *password = password_generate();
	char *hash = password != NULL ? password_hash(password) : NULL;
	const char *params[5] = { login, by, name, role, hash };
	PGresult *res = NULL;
	int rc = 1;

	if (hash == NULL)
		fprintf(stderr, "madoguchi: cannot make a password\n");
	else if (cli_query(cli, sql, name != NULL ? 5 : 3, name != NULL ?
	    params : (const char *const[]){ login, by, hash }, &res) == 0) {
		if (PQntuples(res) == 1) {
			printf("login: %s\none-time password: %s\n", login,
			    password);
			rc = 0;
		} else {
			fprintf(stderr, "madoguchi: %s: %s\n", login, name != NULL ?
			    "that login is taken" : "no such account");
		}
		PQclear(res);
	}
	password_free(password);
	free(hash);
	return rc;
}

static int
user_add(struct cli *cli, const char *by)
{
	const char *name = NULL, *role = NULL;

	(void)cli_take_flag(cli, "--name", true, &name);
	(void)cli_take_flag(cli, "--role", true, &role);
	if (cli->argc != 3 || name == NULL || role == NULL) {
		fputs(user_usage, stderr);
		return 2;
	}
	if (!user_login_ok(cli->argv[2])) {
		fprintf(stderr, "madoguchi: a login is 1-64 of a-z 0-9 . _ -\n");
		return 2;
	}
	if (!user_name_ok(name)) {
		fprintf(stderr, "madoguchi: the name must be 1-200 bytes of "
		    "printable text\n");
		return 2;
	}
	if (strcmp(role, "counsellor") != 0 && strcmp(role, "supervisor") != 0 &&
	    strcmp(role, "admin") != 0) {
		fprintf(stderr, "madoguchi: role is counsellor, supervisor or "
		    "admin\n");
		return 2;
	}
	return user_with_password(cli, user_add_sql, cli->argv[2], name, role,
	    by);
}

/* A change to one account named by its login. */
static int
user_change(struct cli *cli, const char *sql, const char *by,
    const char *done)
{
	const char *params[2] = { cli->argv[2], by };
	PGresult *res;
	int rc;

	if (cli->argc != 3) {
		fputs(user_usage, stderr);
		return 2;
	}
	if ((rc = cli_query(cli, sql, 2, params, &res)) != 0)
		return rc;
	if (PQntuples(res) == 1)
		printf("%s: %s\n", cli->argv[2], done);
	else
		fprintf(stderr, "madoguchi: %s: no such account\n", cli->argv[2]);
	rc = PQntuples(res) == 1 ? 0 : 1;
	PQclear(res);
	return rc;
}

/* How many conversations one person holds at once: the busy reply counts it. */
static int
user_capacity(struct cli *cli, const char *by)
{
	const char *params[3] = { NULL, by, NULL };
	PGresult *res;
	char *end;
	long n = 0;
	int rc;

	if (cli->argc != 4) {
		fputs(user_usage, stderr);
		return 2;
	}
	if (strcmp(cli->argv[3], "default") != 0 &&
	    ((n = strtol(cli->argv[3], &end, 10)) < 1 || n > 20 || *end != '\0')) {
		fprintf(stderr, "madoguchi: capacity is 1-20, or default\n");
		return 2;
	}
	params[0] = cli->argv[2];
	params[2] = n > 0 ? cli->argv[3] : NULL;
	if ((rc = cli_query(cli, user_capacity_sql, 3, params, &res)) != 0)
		return rc;
	rc = PQntuples(res) == 1 ? 0 : 1;
	if (rc == 0)
		printf("%s: capacity %s\n", cli->argv[2], cli->argv[3]);
	else
		fprintf(stderr, "madoguchi: %s: no such account\n", cli->argv[2]);
	PQclear(res);
	return rc;
}

int
cli_user(struct cli *cli)
{
	const char *by = NULL, *sub;

	(void)cli_take_flag(cli, "--by", true, &by);
	by = cli_actor(by);
	sub = cli->argc > 1 ? cli->argv[1] : "help";
	if (strcmp(sub, "list") == 0 && cli->argc == 2)
		return user_list(cli);
	if (strcmp(sub, "add") == 0)
		return user_add(cli, by);
	if (strcmp(sub, "disable") == 0)
		return user_change(cli, user_disable_sql, by,
		    "disabled; its sessions ended");
	if (strcmp(sub, "enable") == 0)
		return user_change(cli, user_enable_sql, by, "enabled");
	if (strcmp(sub, "reset-mfa") == 0)
		return user_change(cli, user_reset_mfa_sql, by,
		    "authenticator removed; a new one is enrolled at the next "
		    "sign-in");
	if (strcmp(sub, "capacity") == 0)
		return user_capacity(cli, by);
	if (strcmp(sub, "unlock") == 0)
		return user_change(cli, user_unlock_sql, by, "unlocked");
	if (strcmp(sub, "reset-password") == 0 && cli->argc == 3)
		return user_with_password(cli, user_reset_password_sql,
		    cli->argv[2], NULL, NULL, by);
	if (strcmp(sub, "help") == 0) {
		fputs(user_usage, stdout);
		return 0;
	}
	fputs(user_usage, stderr);
	return 2;
}
