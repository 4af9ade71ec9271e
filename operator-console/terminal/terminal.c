/*
 * terminal.c - `madoguchi console URL`: the terminal console's setup, its
 * one libevent loop (keys from fd 0 read without blocking, HTTP on the same
 * loop, a tick each second for the clock and the countdowns, signals), and
 * leaving: the screen is cleared before the terminal is given back, on q
 * and on SIGTERM, SIGHUP and SIGINT alike, so no one's words stay on it.
 */
#include "terminal.h"
#include "term_internal.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <event2/event.h>

#include "http_client.h"

#define TERM_SIGNOUT_WAIT_S	3
#define TERM_MESSAGE_KEEP_MS	10000

struct terminal_args {
	const char	*url;
	const char	*login;
	const char	*ca_file;
};

static SCREEN	*term_scr;

int64_t
term_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
term_now_ms(const struct term *t)
{
	return term_clock_ms() + t->skew_ms;
}

void
term_say(struct term *t, bool error, const char *msg)
{
	snprintf(t->message, sizeof(t->message), "%s", msg != NULL ? msg : "");
	t->message_error = error;
	t->message_at = term_clock_ms();
}

void
term_redraw(struct term *t)
{
	if (!t->curses)
		return;
	erase();
	if (t->screen == TERM_SIGNIN)
		term_signin_draw(t);
	else
		term_main_draw(t);
	refresh();
}

/* Clears what was shown before handing the terminal back. */
static void
term_screen_close(struct term *t)
{
	if (!t->curses)
		return;
	t->curses = false;
	erase();
	clear();
	refresh();
	endwin();
	delscreen(term_scr);
	term_scr = NULL;
}

static void
term_quit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct term *t = arg;

	(void)fd;
	(void)what;
	event_base_loopexit(t->base, NULL);
}

static void
term_signed_off(struct term *t, const struct term_answer *a, void *arg)
{
	(void)a;
	(void)arg;
	event_base_loopexit(t->base, NULL);
}

/*
 * Leaves: the screen first, then the session is ended on the server (a
 * few seconds at most), so the desk no longer counts this counsellor.
 */
void
term_quit(struct term *t)
{
	struct timeval tv = { TERM_SIGNOUT_WAIT_S, 0 };

	if (t->quitting)
		return;
	term_screen_close(t);
	term_live_stop(t);
	event_del(t->stdin_ev);
	event_del(t->tick_ev);
	if (t->cookie[0] != '\0' && term_api(t, "DELETE", "/api/session", NULL,
	    TERM_API_FINAL | TERM_API_SIGNIN, term_signed_off, NULL))
		evtimer_add(t->quit_ev, &tv);
	else
		event_base_loopexit(t->base, NULL);
	t->quitting = true;
}

static void
term_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct term *t = arg;
	bool got = false;
	wint_t ch;
	int r, avail = 0;

	(void)what;
	while (!t->quitting && (r = wget_wch(stdscr, &ch)) != ERR) {
		got = true;
		if (r == KEY_CODE_YES && ch == KEY_RESIZE)
			continue;
		if (t->screen == TERM_SIGNIN)
			term_signin_key(t, r == KEY_CODE_YES, ch);
		else
			term_main_key(t, r == KEY_CODE_YES, ch);
	}
	/* Readable with nothing to read: the terminal is gone. */
	if (!got && !t->quitting && ioctl(fd, FIONREAD, &avail) == 0 &&
	    avail == 0) {
		term_quit(t);
		return;
	}
	term_redraw(t);
}

static void
term_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct term *t = arg;

	(void)fd;
	(void)what;
	if (!t->message_error && t->message[0] != '\0' &&
	    term_clock_ms() - t->message_at > TERM_MESSAGE_KEEP_MS)
		t->message[0] = '\0';
	if (t->screen == TERM_MAIN)
		term_redraw(t);
}

static void
term_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct term *t = arg;
	struct winsize ws;

	(void)what;
	if (sig != SIGWINCH) {
		term_quit(t);
		return;
	}
	if (t->curses && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_row > 0 && ws.ws_col > 0) {
		resizeterm(ws.ws_row, ws.ws_col);
		clear();
		term_redraw(t);
	}
}

static void
term_colours(struct term *t)
{
	const char *no = getenv("NO_COLOR");

	t->colour = has_colors() && (no == NULL || no[0] == '\0');
	if (!t->colour)
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_RED, COLOR_RED, -1);
	init_pair(PAIR_YELLOW, COLOR_YELLOW, -1);
	init_pair(PAIR_GREEN, COLOR_GREEN, -1);
	init_pair(PAIR_CYAN, COLOR_CYAN, -1);
	init_pair(PAIR_MAGENTA, COLOR_MAGENTA, -1);
	init_pair(PAIR_BANNER, COLOR_WHITE, COLOR_RED);
	init_pair(PAIR_QR, COLOR_BLACK, COLOR_WHITE);
}

static bool
term_screen_open(struct term *t)
{
	if ((term_scr = newterm(NULL, stdout, stdin)) == NULL)
		return false;
	t->curses = true;
	raw();			/* Ctrl-C and Ctrl-S are keys, not signals */
	noecho();
	nonl();			/* Enter is CR, Ctrl-J is LF */
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	term_colours(t);
	return true;
}

static bool
term_events(struct term *t)
{
	static const int sigs[4] = { SIGWINCH, SIGTERM, SIGHUP, SIGINT };
	struct timeval second = { 1, 0 };

	t->stdin_ev = event_new(t->base, STDIN_FILENO, EV_READ | EV_PERSIST,
	    term_stdin_cb, t);
	t->tick_ev = event_new(t->base, -1, EV_PERSIST, term_tick_cb, t);
	t->reload_ev = evtimer_new(t->base, term_reload_fire, t);
	t->quit_ev = evtimer_new(t->base, term_quit_cb, t);
	if (t->stdin_ev == NULL || t->tick_ev == NULL || t->reload_ev == NULL ||
	    t->quit_ev == NULL || event_add(t->stdin_ev, NULL) != 0 ||
	    event_add(t->tick_ev, &second) != 0)
		return false;
	/* After newterm: ours replace curses' own SIGWINCH handler. */
	for (int i = 0; i < 4; i++)
		if ((t->sig_ev[i] = evsignal_new(t->base, sigs[i],
		    term_signal_cb, t)) == NULL ||
		    event_add(t->sig_ev[i], NULL) != 0)
			return false;
	return true;
}

static void
term_free(struct term *t)
{
	struct event *evs[] = { t->stdin_ev, t->tick_ev, t->reload_ev,
	    t->live_ev, t->reconnect_ev, t->quit_ev, t->sig_ev[0],
	    t->sig_ev[1], t->sig_ev[2], t->sig_ev[3] };

	term_main_stop(t);
	/* In-flight calls are cancelled: their answers are dropped. */
	t->quitting = true;
	http_client_free(t->http);
	term_signin_free(t);
	term_api_forget(t);
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	if (t->base != NULL)
		event_base_free(t->base);
	free(t->url);
	explicit_bzero(t, sizeof(*t));
	free(t);
}

static int
terminal_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "madoguchi console: %s\n", why);
	fprintf(stderr, "usage: madoguchi console URL [--login NAME] "
	    "[--cacert FILE]\n");
	return 2;
}

static int
terminal_args(int argc, char **argv, struct terminal_args *a)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--login") == 0 && i + 1 < argc)
			a->login = argv[++i];
		else if (strcmp(argv[i], "--cacert") == 0 && i + 1 < argc)
			a->ca_file = argv[++i];
		else if (argv[i][0] == '-' || a->url != NULL)
			return terminal_usage(NULL);
		else
			a->url = argv[i];
	}
	if (a->url == NULL)
		return terminal_usage("the server's URL is missing");
	if (strncmp(a->url, "http://", 7) != 0 &&
	    strncmp(a->url, "https://", 8) != 0)
		return terminal_usage("the URL must start with http:// or "
		    "https://");
	if (a->ca_file != NULL && access(a->ca_file, R_OK) != 0)
		return terminal_usage("cannot read the --cacert file");
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return terminal_usage("it needs a terminal");
	return 0;
}

static struct term *
term_new(const struct terminal_args *a)
{
	struct http_client_options opt = { .user_agent = "madoguchi-console",
	    .ca_file = a->ca_file };
	struct term *t = calloc(1, sizeof(*t));
	wchar_t *login;
	size_t len;

	if (t == NULL)
		return NULL;
	t->backoff_s = 1;
	if ((t->url = strdup(a->url)) != NULL) {
		len = strlen(t->url);
		while (len > 0 && t->url[len - 1] == '/')
			t->url[--len] = '\0';
	}
	if (a->login != NULL && (login = term_text_wide(a->login, false,
	    &len)) != NULL) {
		for (size_t i = 0; i < len; i++)
			term_edit_insert(&t->si.login, login[i]);
		free(login);
	}
	t->base = event_base_new();
	if (t->base != NULL)
		t->http = http_client_new(t->base, &opt);
	if (t->url == NULL || t->http == NULL) {
		term_free(t);
		return NULL;
	}
	return t;
}

int
terminal_main(int argc, char **argv)
{
	struct terminal_args a = { 0 };
	struct term *t;
	int rc;

	if ((rc = terminal_args(argc, argv, &a)) != 0)
		return rc;
	setlocale(LC_ALL, "");
	if ((t = term_new(&a)) == NULL) {
		fprintf(stderr, "madoguchi console: cannot start\n");
		return 1;
	}
	if (!term_screen_open(t) || !term_events(t)) {
		term_screen_close(t);
		term_free(t);
		fprintf(stderr, "madoguchi console: cannot use this terminal\n");
		return 1;
	}
	term_signin_begin(t, NULL);
	term_redraw(t);
	event_base_dispatch(t->base);
	term_screen_close(t);
	term_free(t);
	return 0;
}
