/*
 * madoguchi - the administrator's command line. Each subcommand is one
 * function in the table below; `madoguchi help` prints the table.
 *
 * It talks to PostgreSQL directly and may block: it is a short-lived tool,
 * never part of the daemon's loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "autoreply.h"
#include "cli.h"
#include "config.h"
#include "seal.h"
#include "storage.h"
#include "terminal.h"

struct cli_command {
	const char	*name;
	const char	*usage;
	const char	*help;
	int		(*run)(struct cli *);
};

static int	cli_help(struct cli *);
static int	cli_migrate(struct cli *);
static int	cli_config(struct cli *);
static int	cli_messages(struct cli *);
static int	cli_console(struct cli *);

static const struct cli_command cli_commands[] = {
	{ "help", "help", "list the subcommands", cli_help },
	{ "migrate", "migrate [--status]",
	    "apply the missing schema migrations (or only show the version)",
	    cli_migrate },
	{ "messages", "messages [--limit N] [--text]",
	    "list the latest messages; --text decrypts them (needs the data "
	    "key)", cli_messages },
	{ "config", "config", "show the settings in effect and where each "
	    "comes from", cli_config },
	{ "calendar", "calendar <subcommand>", "the desk's business calendar: "
	    "holidays YEAR, check TIME, list, close, open, holiday-add, "
	    "holiday-cancel, remove (calendar help)", cli_calendar },
	{ "settings", "settings <subcommand>", "the desk's settings and "
	    "auto-reply texts: list, get, set, history (settings help)",
	    cli_settings },
	{ "user", "user <subcommand>", "staff accounts: list, add, disable, "
	    "enable, reset-mfa, reset-password, unlock, capacity (user help)",
	    cli_user },
	{ "crisis", "crisis <subcommand>", "the crisis detector on text from "
	    "standard input: check, normalize, eval FILE (crisis help)",
	    cli_crisis },
	{ "audit", "audit verify", "check the audit trail's hash chain and "
	    "name the first entry altered", cli_audit },
	{ "keys", "keys <subcommand>", "the data keys: status, rotate "
	    "(re-seal everything under the key file's last key while the desk "
	    "works), retire ID (keys help)", cli_keys },
	{ "report", "report <kind> <period>", "the desk's reports: monthly "
	    "2026-11, annual 2026, line-use 2026-11, worklog 2026-11-05, "
	    "worklog-month 2026-11 (an encrypted ZIP) as text, json, csv or "
	    "xlsx (report help)", cli_report },
	{ "console", "console URL", "the operator console in this terminal, "
	    "for the desk at URL (--login NAME, --cacert FILE; ? inside lists "
	    "the keys)", cli_console },
};

#define CLI_NCOMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

static int
cli_help(struct cli *cli)
{
	(void)cli;
	printf("usage: madoguchi [-c config-file] <command> [args]\n\n");
	for (size_t i = 0; i < CLI_NCOMMANDS; i++)
		printf("  %-24s %s\n", cli_commands[i].usage, cli_commands[i].help);
	printf("\nSettings: " CONFIG_DEFAULT_PATH " (or -c, or MADOGUCHI_CONFIG), "
	    "then MADOGUCHI_* variables.\n");
	return 0;
}

PGconn *
cli_connect(const struct cli *cli)
{
	/* UTF-8 whatever PGCLIENTENCODING says: the audit chain hashes it */
	static const char *const keys[] = { "dbname",
	    "fallback_application_name", "client_encoding", NULL };
	const char *values[] = { cli->cfg.database_url, "madoguchi", "UTF8",
	    NULL };
	PGconn *conn = PQconnectdbParams(keys, values, 1);

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "madoguchi: cannot connect to the database: %s",
		    PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

int
cli_query(const struct cli *cli, const char *sql, int nparams,
    const char *const *params, PGresult **out)
{
	PGconn *conn = cli_connect(cli);

	if (conn == NULL)
		return 1;
	*out = cli_exec(conn, sql, nparams, params);
	PQfinish(conn);
	return *out != NULL ? 0 : 1;
}

PGresult *
cli_exec(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL,
	    NULL, 0);

	if (PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK)
		return res;
	fprintf(stderr, "madoguchi: %s", PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

bool
cli_desk_load(const struct cli *cli, bool from_db, struct desk_settings *d)
{
	const char *params[2] = { "line", cli->cfg.channel_name };
	char err[256];
	PGresult *res;
	PGconn *conn;

	desk_settings_init(d);
	if (!from_db)
		return true;
	if ((conn = cli_connect(cli)) == NULL)
		return false;
	if ((res = cli_exec(conn, desk_settings_sql, 2, params)) == NULL) {
		PQfinish(conn);
		return false;
	}
	if (desk_settings_load_result(d, res, err, sizeof(err)) > 0)
		fprintf(stderr, "madoguchi: warning: a stored setting is not "
		    "valid and was ignored: %s\n", err);
	PQclear(res);
	PQfinish(conn);
	return true;
}

const char *
cli_actor(const char *by)
{
	static char actor[96];
	const char *who = by;

	if (who == NULL)
		who = getenv("SUDO_USER");
	if (who == NULL)
		who = getenv("USER");
	snprintf(actor, sizeof(actor), "cli:%s", who != NULL ? who : "unknown");
	return actor;
}

bool
cli_take_flag(struct cli *cli, const char *flag, bool takes_value,
    const char **value)
{
	for (int i = 1; i < cli->argc; i++) {
		int n = takes_value ? 2 : 1;

		if (strcmp(cli->argv[i], flag) != 0)
			continue;
		if (takes_value && i + 1 >= cli->argc)
			return false;
		if (value != NULL)
			*value = takes_value ? cli->argv[i + 1] : flag;
		memmove(&cli->argv[i], &cli->argv[i + n],
		    (size_t)(cli->argc - i - n) * sizeof(char *));
		cli->argc -= n;
		return true;
	}
	return false;
}

static int
cli_migrate(struct cli *cli)
{
	bool status_only = cli->argc > 1 && strcmp(cli->argv[1], "--status") == 0;
	char err[1024];
	PGconn *conn;
	int rc = 0, have;

	if (cli->argc > 2 || (cli->argc == 2 && !status_only)) {
		fprintf(stderr, "usage: madoguchi migrate [--status]\n");
		return 2;
	}
	if ((conn = cli_connect(cli)) == NULL)
		return 1;
	if (status_only) {
		if ((have = migrations_applied(conn, err, sizeof(err))) < 0) {
			fprintf(stderr, "madoguchi: %s", err);
			rc = 1;
		} else {
			printf("applied: %d\nlatest: %d\ncurrent: %s\n", have,
			    migrations_latest(),
			    have == migrations_latest() ? "yes" : "no");
			rc = have == migrations_latest() ? 0 : 1;
		}
	} else if (!migrations_apply(conn, stdout, err, sizeof(err))) {
		fprintf(stderr, "madoguchi: %s\n", err);
		rc = 1;
	}
	PQfinish(conn);
	return rc;
}

/* Prints one sealed body as text, or why it cannot. */
static void
cli_print_body(const struct keyring *kr, const PGresult *res, int row)
{
	size_t len;
	unsigned char *sealed;
	uint8_t *plain;

	if (PQgetisnull(res, row, 7)) {
		printf("  (no text)\n");
		return;
	}
	sealed = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, 7),
	    &len);
	plain = sealed != NULL && len >= SEAL_OVERHEAD ?
	    malloc(len - SEAL_OVERHEAD + 1) : NULL;
	if (plain != NULL && unseal(kr, atoi(PQgetvalue(res, row, 6)),
	    "messages.body", sealed, len, plain)) {
		/* The sender's text must not drive the admin's terminal. */
		printf("  ");
		for (size_t i = 0; i < len - SEAL_OVERHEAD; i++) {
			if (plain[i] == '\n')
				printf("\n  ");
			else
				putchar(plain[i] < 0x20 || plain[i] == 0x7f ? ' ' :
				    plain[i]);
		}
		printf("\n");
	} else {
		printf("  (cannot decrypt: wrong or missing key, or altered)\n");
	}
	free(plain);
	PQfreemem(sealed);
}

static int
cli_messages(struct cli *cli)
{
	const char *limit = "20";
	const char *params[1];
	struct keyring *kr = NULL;
	bool text = false;
	char err[512];
	PGresult *res;
	PGconn *conn;

	for (int i = 1; i < cli->argc; i++) {
		if (strcmp(cli->argv[i], "--text") == 0)
			text = true;
		else if (strcmp(cli->argv[i], "--limit") == 0 && i + 1 < cli->argc &&
		    atoi(cli->argv[i + 1]) > 0)
			limit = cli->argv[++i];
		else {
			fprintf(stderr, "usage: madoguchi messages [--limit N] [--text]\n");
			return 2;
		}
	}
	if (text && (kr = keyring_load(cli->cfg.data_key_file, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "madoguchi: data key: %s\n", err);
		return 1;
	}
	if ((conn = cli_connect(cli)) == NULL) {
		keyring_free(kr);
		return 1;
	}
	params[0] = limit;
	res = PQexecParams(conn, "SELECT id, to_char(received_at AT TIME ZONE "
	    "'Asia/Tokyo', 'YYYY-MM-DD HH24:MI:SS'), coalesce('conversation=' || "
	    "conversation_id, 'contact=' || contact_id), direction, kind, "
	    "accepted, body_key_id, body, coalesce(' ' || array_to_string("
	    "autoreply, ','), '') || coalesce(' delivery=' || delivery, '') "
	    "FROM messages ORDER BY id DESC LIMIT $1", 1, NULL, params, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "madoguchi: %s", PQresultErrorMessage(res));
	for (int r = PQntuples(res) - 1; r >= 0; r--) {
		printf("#%s %s JST %s %s %s%s%s\n",
		    PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
		    PQgetvalue(res, r, 2), PQgetvalue(res, r, 3),
		    PQgetvalue(res, r, 4), PQgetvalue(res, r, 8),
		    strcmp(PQgetvalue(res, r, 5), "t") == 0 ? "" :
		    " (received, not accepted)");
		if (text)
			cli_print_body(kr, res, r);
	}
	PQclear(res);
	PQfinish(conn);
	keyring_free(kr);
	return 0;
}

/* The terminal console speaks to the server only: no database here. */
static int
cli_console(struct cli *cli)
{
	return terminal_main(cli->argc, cli->argv);
}

static void
cli_config_line(const char *key, const char *env, const char *value, void *arg)
{
	(void)arg;
	printf("%-20s = %-40s # %s%s\n", key, value, env,
	    getenv(env) != NULL ? " (set)" : "");
}

static int
cli_config(struct cli *cli)
{
	config_each(&cli->cfg, cli_config_line, NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	const char *path = getenv("MADOGUCHI_CONFIG");
	bool required = path != NULL;
	char err[512];
	int rc = 2;

	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		path = argv[2];
		required = true;
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		cli_help(NULL);
		return 2;
	}
	if (!config_load(&cli.cfg, path ? path : CONFIG_DEFAULT_PATH, required,
	    err, sizeof(err))) {
		fprintf(stderr, "madoguchi: %s\n", err);
		return 1;
	}
	cli.argc = argc - 1;
	cli.argv = argv + 1;
	const struct cli_command *cmd = NULL;

	for (size_t i = 0; i < CLI_NCOMMANDS; i++)
		if (strcmp(cli_commands[i].name, argv[1]) == 0)
			cmd = &cli_commands[i];
	if (cmd != NULL)
		rc = cmd->run(&cli);
	else
		fprintf(stderr, "madoguchi: unknown command \"%s\" (see "
		    "madoguchi help)\n", argv[1]);
	config_free(&cli.cfg);
	return rc;
}
