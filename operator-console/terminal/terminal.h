/*
 * terminal.h - the terminal operator console (`madoguchi console URL`):
 * an ncurses client for counsellors and supervisors on locked-down
 * terminals or over SSH, speaking only the console's HTTP API
 * (operator-console/API.md) to a running madoguchid. It never reads the
 * configuration's secrets or the database.
 */
#ifndef MADOGUCHI_TERMINAL_H
#define MADOGUCHI_TERMINAL_H

/*
 * Runs the console; argv[0] is the subcommand's name, then the server's URL
 * and the options --login NAME and --cacert FILE. Returns the exit status:
 * 0 after a normal quit, 2 on bad usage (said on stderr), 1 when the
 * terminal or the event loop could not be set up.
 */
int	terminal_main(int argc, char **argv);

#endif
