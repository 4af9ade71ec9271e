/*
 * linesim: a fake LINE platform for madoguchi's tests and local demo.
 * This file only dispatches to the subcommands: serve (the fake
 * Messaging API + webhook sender), send (client of a running serve) and
 * flood (load generator that needs no server).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "linesim.h"

struct subcommand {
	const char	*name;
	int		(*main)(int, char **);
	const char	*summary;
};

static int	 help_main(int, char **);
static void	 usage(FILE *);

static const struct subcommand subcommands[] = {
	{ "serve", serve_main,
	    "run the fake Messaging API and webhook sender" },
	{ "send", send_cli_main,
	    "ask a running simulator to send one webhook" },
	{ "flood", flood_main,
	    "POST many signed webhooks concurrently (load test)" },
	{ "help", help_main, "show this list" },
};

int
main(int argc, char **argv)
{
	size_t	i;

	/* A client hanging up mid-answer must not kill the simulator. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return help_main(argc - 1, argv + 1);
	fprintf(stderr, "linesim: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

static int
help_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

static void
usage(FILE *f)
{
	size_t	i;

	fputs("usage: linesim <subcommand> [options]  "
	    "(linesim <subcommand> --help for its options)\n", f);
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-6s %s\n", subcommands[i].name,
		    subcommands[i].summary);
}
