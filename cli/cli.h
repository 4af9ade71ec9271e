/*
 * cli.h - what the admin CLI's subcommands share: the loaded settings,
 * their arguments, a blocking database connection, and who is acting.
 * The CLI is a short-lived tool: it may block, unlike the daemon.
 */
#ifndef MADOGUCHI_CLI_H
#define MADOGUCHI_CLI_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "config.h"

struct desk_settings;

struct cli {
	struct config	cfg;
	int		argc;	/* argv[0] is the subcommand */
	char		**argv;
};

/* Connects, or says why on stderr and returns NULL. */
PGconn	*cli_connect(const struct cli *cli);
/*
 * Connects, runs one statement, disconnects: 0 with *out set, or 1 after
 * saying why on stderr.
 */
int	cli_query(const struct cli *cli, const char *sql, int nparams,
	    const char *const *params, PGresult **out);
/* Runs sql; on failure says why on stderr and returns NULL. */
PGresult *cli_exec(PGconn *conn, const char *sql, int nparams,
	    const char *const *params);
/*
 * The desk's settings from the database (or the built-in calendar with
 * no database when from_db is false); false after saying why.
 */
bool	cli_desk_load(const struct cli *cli, bool from_db,
	    struct desk_settings *d);
/* "cli:<login>" of whoever runs the command, or --by's value. */
const char *cli_actor(const char *by);
/* Removes "--flag" (and its value, if takes_value) from the arguments. */
bool	cli_take_flag(struct cli *cli, const char *flag, bool takes_value,
	    const char **value);

int	cli_calendar(struct cli *cli);
int	cli_settings(struct cli *cli);
int	cli_user(struct cli *cli);
int	cli_crisis(struct cli *cli);
int	cli_audit(struct cli *cli);
int	cli_report(struct cli *cli);
int	cli_keys(struct cli *cli);

#endif
