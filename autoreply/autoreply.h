/*
 * autoreply.h - the desk's automatic answers: after hours, when every
 * counsellor is busy, to a non-text message, and to a new (or returning)
 * friend. The desk's settings (desk.c), the texts (render.c) and the
 * worker that decides and writes them to the outbox (worker.c).
 *
 * Which event may call for a reply is noted by the transaction that
 * stores it (autoreply_pending); the decision is made right after, in a
 * transaction of its own that holds the contact's row, so two processes
 * never both send "we are closed" for one closed period.
 */
#ifndef MADOGUCHI_AUTOREPLY_H
#define MADOGUCHI_AUTOREPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"

struct event_base;
struct db_pool;
struct keyring;
struct outbox_sender;

/* ---- desk.c: the desk's settings, as stored (JSON values by key) ---- */

enum autoreply_kind {
	AUTOREPLY_AFTER_HOURS,
	AUTOREPLY_BUSY,
	AUTOREPLY_TEXT_ONLY,
	AUTOREPLY_GREETING,
	AUTOREPLY_WELCOME_BACK,
	AUTOREPLY_CRISIS,	/* emergency numbers, when nobody can answer */
	AUTOREPLY_HANDOFF,	/* strict mode: please go on in the web chat */
	AUTOREPLY_REPLY_WAITING, /* strict mode: a reply waits in the web chat */
	AUTOREPLY_KINDS
};

/* "after_hours", ...: the names in messages.autoreply and in settings keys. */
extern const char *const autoreply_kind_names[AUTOREPLY_KINDS];

struct hotline {
	char	*name, *phone, *hours;
};

#define DESK_EXCEPTIONS_MAX	512
#define DESK_HOTLINES_MAX	16

struct desk_settings {
	char		*desk_name;
	char		*desk_audience;
	struct calendar	 cal;		/* cal.exceptions points into exceptions */
	struct cal_exception *exceptions;
	char		**exception_names;
	size_t		 nexceptions;
	int		 capacity_per_counsellor;
	int		 min_staff_on_duty;
	int		 min_supervisors_on_duty;
	/* reply_deadline: 0 = end of the next business day, else this many
	 * business minutes after the person starts waiting */
	int		 reply_business_minutes;
	struct hotline	 hotlines[DESK_HOTLINES_MAX];
	size_t		 nhotlines;
	char		*text[AUTOREPLY_KINDS];
	/* in strict mode, where set: the words for a desk whose consultation
	 * happens in its web chat (autoreply_greeting_strict, ...) */
	char		*text_strict[AUTOREPLY_KINDS];
	bool		 strict;	/* line_mode: LINE carries templates only */
};

/* When a reply to someone who starts waiting at t is due, by the desk's policy. */
int64_t	desk_reply_due(const struct desk_settings *d, int64_t t);

/* Built-in values: the default calendar, no texts (the migration has them). */
void	desk_settings_init(struct desk_settings *d);
void	desk_settings_free(struct desk_settings *d);
/*
 * Applies one stored setting (key, its JSON text). False with err set when
 * the key is unknown or the value is not valid for it; d is then unchanged.
 */
bool	desk_settings_apply(struct desk_settings *d, const char *key,
	    const char *json, char *err, size_t errlen);
/* Adds one calendar exception as stored ("2026-12-30", "closed", ...). */
bool	desk_settings_add_exception(struct desk_settings *d, const char *day,
	    const char *kind, const char *opens, const char *closes,
	    const char *name, char *err, size_t errlen);
/* Every key desk_settings_apply knows, NULL-terminated. */
extern const char *const desk_setting_keys[];

/*
 * desk_load.c: the statement that reads a desk's settings ($1 channel
 * kind, $2 channel name) and the application of its rows. Returns the
 * number of rows that could not be applied (err: the first one's why);
 * the others are applied all the same.
 */
struct pg_result;
extern const char desk_settings_sql[];
int	desk_settings_load_result(struct desk_settings *d,
	    const struct pg_result *res, char *err, size_t errlen);

/* ---- render.c: the texts ---- */

struct autoreply_vars {
	int64_t		 now;		/* seconds since the epoch */
	int		 ahead;		/* people waiting before this one */
};

/*
 * The text of kind for this desk, with {desk}, {audience}, {hours},
 * {next_open}, {hotlines}, {queue} and {ahead} filled in; malloc'd, or NULL
 * when the desk has no text for it.
 */
char	*autoreply_render(const struct desk_settings *d, enum autoreply_kind kind,
	    const struct autoreply_vars *v);
/* The weekly hours in words: "月〜金 11:00〜20:00（祝日、12月29日〜1月3日を除く）". */
char	*autoreply_hours_text(const struct desk_settings *d);
/* Whether a template uses only known placeholders; err names the first other. */
bool	autoreply_template_valid(const char *text, char *err, size_t errlen);

/* ---- worker.c: the decisions, on the daemon's loop ---- */

struct autoreply_config {
	const char	*channel_kind;
	const char	*channel_name;
	const char	*public_url;	/* for hand-off links; "" none */
	int64_t		 give_up_s;	/* an auto-reply not sent by then fails */
};

struct autoreply;

struct autoreply *autoreply_new(struct event_base *base, struct db_pool *pool,
	    const struct keyring *keys, struct outbox_sender *sender,
	    const struct autoreply_config *cfg);
/*
 * What the web chat shows of the desk at now: its name, its hours in
 * words, whether it is open, and when it opens next (NULL while open).
 * Strings are malloc'd; autoreply_desk_state_free frees them.
 */
struct autoreply_desk_state {
	char	*name;
	char	*hours;
	bool	 open;
	char	*next_open;
};
bool	autoreply_desk_state(const struct autoreply *ar, int64_t now_us,
	    struct autoreply_desk_state *out);
void	autoreply_desk_state_free(struct autoreply_desk_state *s);
/* The desk's text of kind at now, rendered; malloc'd, NULL when it has none. */
char	*autoreply_text(const struct autoreply *ar, enum autoreply_kind kind,
	    int64_t now_us);
/* "12月1日（月）11:00": when the desk next opens after now (render.c). */
char	*autoreply_next_open_text(const struct desk_settings *d, int64_t now);
/* Events were queued for a decision (the ingest's hook). */
void	autoreply_wake(void *ar);
/* The ingest's hook: the closed period and the reply deadline at now. */
struct ingest_calendar;
void	autoreply_calendar(void *ar, int64_t now_us, struct ingest_calendar *out);
/* The desk's settings changed (NOTIFY madoguchi_settings): read them again. */
void	autoreply_reload(struct autoreply *ar);
void	autoreply_close(struct autoreply *ar);
bool	autoreply_busy(const struct autoreply *ar);	/* a decision in flight */
void	autoreply_free(struct autoreply *ar);

#endif
