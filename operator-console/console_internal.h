/*
 * console_internal.h - shared by the files of operator-console/ only;
 * the module's public face is console.h.
 *
 * A request to /api/ becomes a struct api_call: console.c finds its route,
 * checks the session, the CSRF token and the role, parses the JSON body,
 * then hands it to the route's handler. A handler answers exactly once,
 * with api_reply or api_error, which also free the call; database results
 * come back to callbacks whose arg is the call.
 */
#ifndef MADOGUCHI_CONSOLE_INTERNAL_H
#define MADOGUCHI_CONSOLE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "clock.h"
#include "console.h"
#include "secret_token.h"
#include "storage.h"

#define CONSOLE_TOKEN_BYTES	SECRET_TOKEN_BYTES
#define CONSOLE_COOKIE		"madoguchi_session"
#define CONSOLE_CSRF_HEADER	"X-CSRF-Token"

enum console_role {
	ROLE_COUNSELLOR	= 1 << 0,
	ROLE_SUPERVISOR	= 1 << 1,
	ROLE_ADMIN	= 1 << 2,
};
#define ROLES_STAFF	(ROLE_COUNSELLOR | ROLE_SUPERVISOR)
#define ROLES_ANY	(ROLE_COUNSELLOR | ROLE_SUPERVISOR | ROLE_ADMIN)

/* How far a session has come; routes name the least they need. */
enum session_stage {
	STAGE_NONE,	/* no session: only signing in */
	STAGE_PASSWORD,	/* password checked; TOTP (or enrolment) owed */
	STAGE_TOTP,	/* both factors; a new password owed */
	STAGE_FULL,
};

struct console_staff {
	int64_t		 id;
	char		 login[64];
	char		 display_name[128];
	enum console_role role;
	char		 language[3];
	bool		 totp_enrolled;
	bool		 password_temporary;
};

/* The desk's settings the console obeys, reloaded when they change. */
struct console_settings {
	int		 idle_minutes;
	int		 max_hours;
	int		 lockout_failures;
	int		 lockout_minutes;
	int		 ip_failures;
	int		 ip_minutes;
	char		 issuer[128];	/* desk_name, shown in authenticator apps */
	int		 due_soon_minutes;
	int		 idle_close_minutes;	/* 0: never */
	int		 soft_limit_minutes;	/* a held conversation's length */
};

struct sse_hub;

struct console {
	struct event_base	*base;
	struct db_pool		*pool;
	const struct keyring	*keys;
	struct offload		*offload;
	struct console_options	 opt;
	struct console_settings	 settings;
	struct event		*tick;		/* settings reload, sweeps */
	int64_t			 settings_loaded_us;
	bool			 settings_loading;
	bool			 sweeping;	/* deadline marks in flight */
	bool			 auto_closing;
	bool			 session_sweeping;
	struct sse_hub		*sse;
	bool			 closing;
};

struct api_call;
typedef void (*api_handler_fn)(struct api_call *call);

struct api_route {
	const char		*method;	/* GET, POST, PUT, DELETE */
	const char		*pattern;	/* "/api/conversations/:id" */
	unsigned		 roles;		/* who may call it, once signed in */
	enum session_stage	 stage;		/* the least it needs */
	api_handler_fn		 handler;
};

struct api_call {
	struct console		*c;
	struct evhttp_request	*req;
	const struct api_route	*route;
	int64_t			 id;		/* the ":id" of the path, if any */
	cJSON			*body;		/* the request's JSON object */
	int64_t			 now_us;
	char			 now[CLOCK_ISO_LEN];
	char			 ip[64];
	/* the session, when the route needs one or the cookie had one */
	bool			 has_token;
	uint8_t			 token[CONSOLE_TOKEN_BYTES];
	int64_t			 session_id;
	enum session_stage	 stage;
	struct console_staff	 staff;
	void			*state;		/* the handler's own; freed by it */
};

/* Route tables, each ending with a NULL method. */
extern const struct api_route auth_routes[];
extern const struct api_route queue_routes[];
extern const struct api_route conversation_routes[];
extern const struct api_route staff_routes[];
extern const struct api_route closing_routes[];
extern const struct api_route deadline_routes[];
extern const struct api_route case_record_routes[];
extern const struct api_route desk_routes[];
extern const struct api_route assign_routes[];
extern const struct api_route restriction_routes[];
extern const struct api_route crisis_routes[];
extern const struct api_route escalation_routes[];
extern const struct api_route exception_routes[];
extern const struct api_route report_routes[];

/* The sweeps, from the console's timer. */
void	deadline_sweep(struct console *c);
void	closing_sweep(struct console *c);
void	session_sweep(struct console *c);

/* console.c: answering. Each frees the call. */
void	api_reply(struct api_call *call, int status, cJSON *body);
void	api_error(struct api_call *call, int status, const char *code,
	    const char *message);
/* 200 with a file to save (filename: ASCII, no quotes); data is copied. */
void	api_reply_file(struct api_call *call, const char *content_type,
	    const char *filename, const char *data, size_t len);
/* Frees a call whose request was taken over (an event stream). */
void	api_call_release(struct api_call *call);
/* A database failure: 503, logged with the statement's name. */
void	api_db_error(struct api_call *call, const char *what,
	    const PGresult *res, const char *why);
bool	api_query(struct api_call *call, const char *sql, int nparams,
	    const char *const *values, db_result_fn cb)
	    __attribute__((warn_unused_result));
const char *api_ip(const struct api_call *call);
bool	api_seal(struct api_call *call, const char *aad, const char *text,
	    char **sealed, char key[8]) __attribute__((warn_unused_result));
/* A whole number usable as a row id; a real YYYY-MM-DD date. */
bool	api_id_ok(const cJSON *v);
bool	api_date_ok(const char *s);
/* A string member of the body, or NULL when absent or not a string. */
const char *api_body_string(const struct api_call *call, const char *key);
cJSON	*api_staff_json(const struct console_staff *s);

/* A timestamptz as the API writes times: ISO-8601 in UTC, milliseconds. */
#define SQL_ISO(x) \
"to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* queue.c: one conversation as lists show it, now being the parameter named */
#define CONVERSATION_SUMMARY_SELECT(now) \
"SELECT cv.id, cv.state, cv.crisis_level, " SQL_ISO("cv.reply_due_at") ","\
"    " SQL_ISO("cv.waiting_since") ", " SQL_ISO("cv.opened_at") ","\
"    cv.overdue_at IS NOT NULL, cv.due_soon_at IS NOT NULL,"\
"    cv.assignee_id, st.display_name, cv.contact_id, ct.nickname,"\
"    ct.nickname_key_id,"\
"    EXISTS (SELECT 1 FROM conversations p WHERE p.contact_id = cv.contact_id"\
"             AND p.id < cv.id),"\
"    ct.follow_state, m.kind, m.body, m.body_key_id, " SQL_ISO("m.received_at") ","\
"    cv.long_session_at IS NOT NULL, " SQL_ISO("cv.claimed_at") ","\
"    " SQL_RESTRICTED("cv.contact_id", now) ","\
"    channel_line_mode(cv.channel_id),"\
"    (SELECT " SQL_ISO("max(x.until)") " FROM strict_exceptions x"\
"      WHERE x.conversation_id = cv.id AND x.ended_at IS NULL"\
"        AND x.until > " now "::timestamptz),"\
"    EXISTS (SELECT 1 FROM webchat_sessions w"\
"      WHERE w.contact_id = cv.contact_id AND w.ended_at IS NULL"\
"        AND w.last_seen_at > " now "::timestamptz - interval '60 seconds')"\
"  FROM conversations cv JOIN contacts ct ON ct.id = cv.contact_id"\
"  LEFT JOIN staff st ON st.id = cv.assignee_id"\
"  LEFT JOIN LATERAL (SELECT kind, body, body_key_id, received_at FROM messages"\
"     WHERE conversation_id = cv.id AND direction = 'in'"\
"     ORDER BY id DESC LIMIT 1) m ON true"
/*
 * $1 the viewer when limited (a counsellor), $2 the conversation, $3 now:
 * their own, or one waiting unclaimed (open, its contact not paused).
 */
#define CONVERSATION_VISIBLE \
"  WHERE cv.id = $2::bigint AND ($1::bigint IS NULL"\
"    OR cv.assignee_id = $1::bigint"\
"    OR (cv.assignee_id IS NULL AND cv.state <> 'closed'"\
"        AND NOT " SQL_RESTRICTED("cv.contact_id", "$3") "))"
cJSON	*conversation_summary_json(const struct api_call *call,
	    const PGresult *res, int row);
/* Answers {"now", "conversations": [...]} from a list of summaries. */
void	conversation_list_done(void *arg, const PGresult *res, const char *why);
/* The caller's id when they may see only unclaimed and own conversations. */
const char *conversation_viewer(const struct api_call *call, char buf[24]);

/* session.c */
void	session_csrf(const uint8_t token[CONSOLE_TOKEN_BYTES], char out[44]);
void	session_set_cookie(struct api_call *call,
	    const uint8_t token[CONSOLE_TOKEN_BYTES]);
void	session_clear_cookie(struct api_call *call);
bool	session_cookie_token(struct evhttp_request *req,
	    uint8_t token[CONSOLE_TOKEN_BYTES]);
/* Looks the session up (and marks it used); then calls next or answers. */
void	session_resolve(struct api_call *call, bool touch,
	    void (*next)(struct api_call *call));

/*
 * auth.c, mfa.c: signing in. Each attempt on an account first reserves a
 * failure (and locks the account when it is the last one allowed), in one
 * statement, before the password or code is checked; a success gives it
 * back. Attempts sent in parallel cannot outrun the lockout.
 * $1 account id, $2 now, $3 failures allowed, $4 lockout minutes.
 */
#define AUTH_RESERVE_SET \
"  failed_logins = CASE WHEN locked_until <= $2::timestamptz THEN 1"\
"    ELSE failed_logins + 1 END,"\
"  locked_until = CASE"\
"    WHEN (CASE WHEN locked_until <= $2::timestamptz THEN 1"\
"          ELSE failed_logins + 1 END) >= $3::int"\
"      THEN $2::timestamptz + make_interval(mins => $4::int)"\
"    WHEN locked_until <= $2::timestamptz THEN NULL"\
"    ELSE locked_until END"
#define AUTH_NOT_LOCKED \
"  (locked_until IS NULL OR locked_until <= $2::timestamptz)"

bool	auth_init(void);	/* before the loop runs: ~30 ms once */
void	auth_cleanup(void);
/* A wrong password or TOTP code: counted, and maybe the account locked. */
void	auth_count_failure(struct api_call *call, const char *login,
	    const char *staff_id, const char *factor, db_result_fn done);
/* Answers a counted failure: 401, or 423 if it locked the account. */
void	auth_failed_done(void *arg, const PGresult *res, const char *why);
void	mfa_enrol(struct api_call *call);
void	mfa_verify(struct api_call *call);
void	mfa_new_password(struct api_call *call);


/* settings.c */
void	console_settings_defaults(struct console_settings *s);
void	console_settings_reload(struct console *c);

/* sse.c */
struct sse_hub *sse_hub_new(struct console *c);
void	sse_hub_free(struct sse_hub *hub);
void	sse_hub_close(struct sse_hub *hub);
void	sse_hub_publish(struct sse_hub *hub, const char *event,
	    const char *json, unsigned roles);
void	sse_open(struct api_call *call);

#endif
