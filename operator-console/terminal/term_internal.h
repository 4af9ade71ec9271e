/*
 * term_internal.h - what the terminal console's files share. One struct
 * term holds the whole client: its event loop, the session (in memory
 * only), what the server last said, and what the screen shows. Sections
 * follow the files, in the order data flows: text and SSE (pure, unit
 * tested), the API, the live stream, sign-in, the main screen.
 */
#ifndef MADOGUCHI_TERM_INTERNAL_H
#define MADOGUCHI_TERM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

struct cJSON;
struct event;
struct event_base;
struct http_client;
struct http_stream;

#define TERM_PLACEHOLDER	((wchar_t)0xfffd)
#define TERM_MAX_ALERTS		16

/* ---- term_text.c: safe characters, widths, wrapping, times ---- */

/* A wrapped line: s[start .. start + len), width columns. */
struct term_line {
	size_t	start;
	size_t	len;
	int	width;
};

/*
 * Decodes UTF-8 into at most cap characters that are safe to show (see
 * term_text.c); line breaks are kept when multiline, else spaces. Returns
 * how many were written.
 */
size_t	term_text_decode(const char *s, size_t len, bool multiline,
	    wchar_t *out, size_t cap);
/* The same into a new array (NULL only when out of memory); s may be NULL. */
wchar_t	*term_text_wide(const char *s, bool multiline, size_t *n);
/* Columns one decoded character takes (0 for a line break). */
int	term_text_cwidth(wchar_t c);
/* Whether a typed character may go into a text (no controls, no bidi). */
bool	term_text_typable(wint_t c);
int	term_text_width(const wchar_t *s, size_t n);
/* How many characters of s fit in width columns, up to a line break. */
size_t	term_text_fit(const wchar_t *s, size_t n, int width);
/*
 * Wraps s at width columns (at least 2) and at its line breaks: never
 * inside a character, a double-width one that does not fit goes to the
 * next line, Latin words move whole when they can. Fills at most cap lines
 * and returns how many there are in all (at least 1).
 */
size_t	term_text_wrap(const wchar_t *s, size_t n, int width,
	    struct term_line *lines, size_t cap);
/* "残り 12分" / "超過 5分" (or English) for seconds until a deadline. */
void	term_text_countdown(char *buf, size_t len, long long seconds, bool en);
/* An API time ("2026-11-23T10:15:00.000Z") as milliseconds since 1970. */
bool	term_text_parse_time(const char *iso, int64_t *ms);
/* A time in Asia/Tokyo: "11/24 14:03", "11/24", "14:03:05", or the
 * weekday's number ("0" is Sunday). */
enum term_jst { TERM_JST_STAMP, TERM_JST_DATE, TERM_JST_TIME, TERM_JST_WDAY };
void	term_text_jst(char *buf, size_t len, int64_t ms, enum term_jst what);

/* ---- term_sse.c: the Server-Sent Events parser ---- */

typedef void (*term_sse_fn)(void *arg, const char *event, const char *data,
	    size_t data_len);

struct term_sse {
	term_sse_fn	 fn;
	void		*arg;
	char		 line[8192];	/* the line being read */
	size_t		 line_len;
	char		 event[64];
	char		 data[65536];
	size_t		 data_len;
	bool		 has_data;
	bool		 skip_lf;	/* a CR ended the last piece */
	bool		 failed;	/* a line or an event over its limit */
	char		 last_id[128];
};

void	term_sse_init(struct term_sse *p, term_sse_fn fn, void *arg);
/* Feeds a piece; calls fn for each complete event. False once a line or
 * an event was too long: the stream should be dropped. */
bool	term_sse_feed(struct term_sse *p, const char *buf, size_t len);

/* ---- term_edit.c: an editable line of text ---- */

struct term_edit {
	wchar_t	*buf;
	size_t	 len;
	size_t	 cap;
	size_t	 cur;		/* the cursor, 0 .. len */
};

bool	term_edit_insert(struct term_edit *e, wchar_t c);
void	term_edit_backspace(struct term_edit *e);
void	term_edit_delete(struct term_edit *e);
void	term_edit_move(struct term_edit *e, int by);
void	term_edit_home(struct term_edit *e);
void	term_edit_end(struct term_edit *e);
/* Empties it, zeroing what it held (it may have been a password). */
void	term_edit_clear(struct term_edit *e);
/* Takes src's text (src ends empty). */
void	term_edit_take(struct term_edit *dst, struct term_edit *src);
/* The text as UTF-8, trimmed of surrounding blanks when trim; NULL when
 * out of memory. The caller frees it (zeroing a secret first). */
char	*term_edit_utf8(const struct term_edit *e, bool trim);
bool	term_edit_blank(const struct term_edit *e);

/* ---- the client's state ---- */

enum term_screen { TERM_SIGNIN, TERM_MAIN };
enum term_step { STEP_LOGIN, STEP_NEW_PASSWORD, STEP_ENROL, STEP_TOTP };
enum term_mode {
	MODE_BROWSE, MODE_REPLY, MODE_NOTE, MODE_LEVEL, MODE_REASON,
	MODE_CONFIRM_QUIT, MODE_HELP
};
enum term_conn { CONN_OFF, CONN_CONNECTING, CONN_LIVE, CONN_WAITING };
enum term_pane { PANE_QUEUE, PANE_CONV };

/* A ConversationSummary. Strings are the server's, unsanitised. */
struct term_conv {
	long long	 id;
	char		 state[24];
	int		 level;
	int64_t		 due_ms;		/* reply_due_at; 0: none */
	bool		 overdue, due_soon, long_session, restricted;
	bool		 in_webchat, strict, exception, returning;
	long long	 assignee_id;		/* 0: nobody */
	char		*assignee;
	long long	 contact_id;
	char		 case_number[24];
	char		*nickname;
	char		*preview;
};

/* A history entry: a message or an event. */
struct term_entry {
	bool		 event;
	long long	 id;
	char		 kind[32];		/* event kind, or message kind */
	char		 direction[8];		/* in, out, auto, system */
	char		 delivery[16];
	bool		 retrying;
	bool		 accepted;		/* a message the desk takes */
	bool		 webchat;		/* via the web chat */
	int64_t		 at_ms;
	char		*text;
	char		*staff;
	char		*code;
	char		*error;
	char		*autoreply;		/* the first kind, or NULL */
};

struct term_alert {
	long long	 conv;
	int		 round;
	char		 case_number[24];
};

/* An unsent reply or note, kept when its input was closed with Esc. */
struct term_draft {
	struct term_draft	*next;
	long long		 conv;
	enum term_mode		 kind;
	struct term_edit	 text;
};

struct term_signin {
	enum term_step		 step;
	int			 field;		/* which input has the cursor */
	struct term_edit	 login;
	struct term_edit	 secret[2];	/* password(s) or the code */
	char			*enrol_secret;	/* base32 */
	char			*enrol_uri;
	bool			 busy;		/* a step in flight */
};

struct term {
	struct event_base	*base;
	struct http_client	*http;
	struct event		*stdin_ev, *tick_ev, *reload_ev, *live_ev;
	struct event		*reconnect_ev, *quit_ev;
	struct event		*sig_ev[4];	/* WINCH, TERM, HUP, INT */
	char			*url;		/* no trailing slash */
	char			 cookie[256];	/* madoguchi_session; "" none */
	char			 csrf[256];
	unsigned		 gen;		/* a new session: answers for an
						 * older one are dropped */
	bool			 en;		/* English labels */
	bool			 colour;
	bool			 curses;	/* the screen is ours */
	bool			 quitting;
	enum term_screen	 screen;
	struct term_signin	 si;
	/* signed in */
	long long		 staff_id;
	char			*staff_name;
	char			 role[16];
	char			*desk_name;
	char			 presence[12];	/* "" until known */
	int64_t			 skew_ms;	/* server's clock minus ours */
	/* the live stream */
	enum term_conn		 conn;
	struct http_stream	*stream;
	long			 stream_status;
	int			 backoff_s;
	struct term_sse		 sse;
	bool			 ev_queue, ev_conv, ev_alerts, ev_beep;
	bool			 ev_lost;	/* signed_out came */
	bool			 ev_broken;	/* the stream was dropped */
	int64_t			 retry_at;	/* our clock, ms: reconnecting */
	/* reloads asked for (term_want) */
	bool			 want_queue, want_conv, want_alerts;
	/* the queue */
	struct term_conv	*queue;
	size_t			 n_queue;
	bool			 queue_loaded, queue_busy, queue_again;
	long long		 selected;	/* conversation id; 0 none */
	size_t			 sel;		/* its index */
	/* the open conversation */
	long long		 open_id;
	struct term_conv	 open;
	bool			 open_loaded, conv_busy, conv_again;
	struct term_entry	*hist;
	size_t			 n_hist;
	int			 scroll;	/* history rows above the bottom */
	/* supervisors' unacknowledged alerts */
	struct term_alert	 alerts[TERM_MAX_ALERTS];
	size_t			 n_alerts;
	bool			 alerts_busy, alerts_again;
	/* input */
	enum term_mode		 mode;
	enum term_mode		 mode_before;	/* under help or quit */
	enum term_pane		 pane;
	struct term_edit	 input;
	long long		 input_conv;
	int			 level;		/* chosen in MODE_LEVEL */
	bool			 sending;
	struct term_draft	*drafts;
	char			 message[512];	/* the feedback line */
	bool			 message_error;
	int64_t			 message_at;
};

/* ---- terminal.c ---- */
int64_t	term_clock_ms(void);			/* our clock */
void	term_redraw(struct term *t);
void	term_quit(struct term *t);
void	term_say(struct term *t, bool error, const char *msg);
int64_t	term_now_ms(const struct term *t);	/* the server's clock */

/* ---- term_words.c ---- */
const char *term_w(const struct term *t, const char *key);
/* key's words with "{}" filled by a, then b (either may be NULL). */
void	term_wf(const struct term *t, char *buf, size_t len, const char *key,
	    const char *a, const char *b);
/* What to say for an API error code, in the context of an action. */
const char *term_w_error(const struct term *t, const char *action,
	    const char *code);

/* ---- term_api.c ---- */
struct term_answer {
	long		 status;	/* 0: no answer (network) */
	const char	*code;		/* the error's code, or NULL */
	struct cJSON	*json;		/* the body, when JSON */
};

typedef void (*term_api_fn)(struct term *t, const struct term_answer *a,
	    void *arg);

#define TERM_API_BACKGROUND	0x1	/* fetched after a live event */
#define TERM_API_SIGNIN		0x2	/* a 401 is this step's answer */
#define TERM_API_SECRET		0x4	/* wipe the body once sent */
#define TERM_API_FINAL		0x8	/* answered even while quitting */

/*
 * Calls the API; body (may be NULL) is consumed. fn gets the answer unless
 * the session changed meanwhile, the client is quitting, or (without
 * TERM_API_SIGNIN) the answer was 401, which ends the session here.
 */
bool	term_api(struct term *t, const char *method, const char *path,
	    struct cJSON *body, unsigned flags, term_api_fn fn, void *arg);
/* Forgets the session: a new generation, the cookie and token wiped. */
void	term_api_forget(struct term *t);
const char *term_json_str(const struct cJSON *o, const char *name);
long long term_json_int(const struct cJSON *o, const char *name);
bool	term_json_bool(const struct cJSON *o, const char *name);

/* ---- term_model.c ---- */
bool	term_conv_parse(const struct cJSON *o, struct term_conv *c);
void	term_conv_free(struct term_conv *c);
bool	term_entry_parse(const struct cJSON *o, struct term_entry *e);
void	term_entry_free(struct term_entry *e);
void	term_queue_set(struct term *t, struct term_conv *q, size_t n);
void	term_hist_clear(struct term *t);
void	term_drafts_free(struct term *t);
struct term_draft *term_draft_find(struct term *t, long long conv,
	    enum term_mode kind, bool create);
bool	term_drafts_any(const struct term *t);
const struct term_conv *term_queue_find(const struct term *t, long long id);

/* ---- term_data.c: what the main screen fetches ---- */
void	term_main_start(struct term *t);
void	term_main_stop(struct term *t);
void	term_session_lost(struct term *t);
/* Asks for a reload soon (several events make one). */
void	term_want(struct term *t, bool queue, bool conv, bool alerts);
/* reload_ev's callback (evutil_socket_t is int here). */
void	term_reload_fire(int fd, short what, void *arg);
void	term_fetch_queue(struct term *t, bool background);
void	term_fetch_conv(struct term *t, bool background);
void	term_fetch_alerts(struct term *t, bool background);
void	term_open(struct term *t, long long id);

/* ---- term_live.c: the event stream ---- */
void	term_live_start(struct term *t);
void	term_live_stop(struct term *t);

/* ---- term_signin.c ---- */
void	term_signin_begin(struct term *t, const char *why);
void	term_signin_key(struct term *t, int is_key, wint_t ch);
void	term_signin_draw(struct term *t);
void	term_signin_free(struct term *t);

/* ---- term_keys.c / term_actions.c: the main screen's keys ---- */
void	term_main_key(struct term *t, int is_key, wint_t ch);
void	term_act_claim(struct term *t);
void	term_act_send(struct term *t);
void	term_act_crisis(struct term *t);
void	term_act_ack(struct term *t);
void	term_act_release(struct term *t);
void	term_act_presence(struct term *t);
void	term_presence_set(struct term *t, const char *presence);
long long term_target(struct term *t);

/* ---- term_draw.c ---- */
void	term_main_draw(struct term *t);
/* Writes s (UTF-8, made safe) at y, x in at most maxw columns; returns
 * the columns used. */
int	term_put(struct term *t, int y, int x, int maxw, const char *s,
	    unsigned long attr);
int	term_putw(int y, int x, int maxw, const wchar_t *s, size_t n,
	    unsigned long attr);
unsigned long term_colour(const struct term *t, int pair);
/* Draws an edit's text wrapped in rows [y, y + rows) from x, width w,
 * hidden when secret; leaves the screen's cursor at the edit's cursor. */
void	term_draw_edit(const struct term_edit *e, int y, int x, int w,
	    int rows, bool secret);
int	term_edit_rows(const struct term_edit *e, int w);

enum term_pair {
	PAIR_RED = 1, PAIR_YELLOW, PAIR_GREEN, PAIR_CYAN, PAIR_MAGENTA,
	PAIR_BANNER, PAIR_QR
};

#endif
