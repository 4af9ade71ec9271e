/*
 * linesim: a fake LINE platform for madoguchi's tests and local demo.
 *
 * One internal header for the whole simulator, with one section per
 * source file (tmux style): every function used across files is listed
 * under the file that defines it.  Everything else is static.
 *
 * Ownership convention: a function that returns char * returns heap
 * memory the caller frees, unless its comment says otherwise.  Memory
 * allocation failure aborts the process (xmalloc), so callers never check
 * for NULL from x* functions; the simulator is a test tool and a partial
 * state after OOM would only produce confusing test results.
 */
#ifndef LINESIM_H
#define LINESIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>

#include <cjson/cJSON.h>

#define LINESIM_DEFAULT_LISTEN		"127.0.0.1:8091"
#define LINESIM_DEFAULT_URL		"http://127.0.0.1:8091"
#define LINESIM_DEFAULT_DESTINATION	"U0123456789abcdef0123456789abcdef"
#define LINESIM_DEMO_USER		"U4f3e2d1c0b9a89786756453423120f1e"

#define LINESIM_MAX_BODY		(2 * 1024 * 1024)	/* LINE's limit */
#define LINESIM_MAX_HEADERS		(64 * 1024)
#define LINESIM_RECORD_MAX		10000
#define LINESIM_EVENTS_MAX		10000
#define LINESIM_RETRY_KEYS_MAX		10000
#define LINESIM_USERS_MAX		100000
#define LINESIM_WEBHOOK_TIMEOUT		10		/* seconds */
#define LINESIM_DEFAULT_TOKEN_TTL	60		/* seconds */

#define WARN_UNUSED	__attribute__((warn_unused_result))
#define PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))

struct events;
struct users;
struct retry_keys;
struct record;
struct faults;
struct hangs;
struct webhook_sender;

/* Settings of `linesim serve`, filled by serve.c from argv and env. */
struct sim_config {
	char	*listen_host;
	int	 listen_port;		/* 0 = let the kernel choose */
	char	*access_token;		/* secret: wiped on exit */
	char	*channel_secret;	/* secret: wiped on exit */
	char	*webhook_url;
	char	*destination;
	int	 reply_token_ttl;	/* seconds */
	bool	 quiet;			/* no per-request log lines */
};

/* The running server.  One instance, passed to every callback. */
struct sim {
	struct event_base	*base;
	struct evhttp		*http;
	struct sim_config	 cfg;
	struct events		*events;	/* webhook events we sent */
	struct users		*users;		/* users seen, blocked state */
	struct retry_keys	*retry_keys;	/* accepted push retry keys */
	struct record		*record;	/* API request log */
	struct faults		*faults;	/* pending injected faults */
	struct hangs		*hangs;		/* requests held open */
	struct webhook_sender	*sender;	/* in-flight webhook POSTs */
	uint64_t		 push_usage;	/* messages counted by quota */
};

/* util.c */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
void	 sim_log(const char *, ...) PRINTFLIKE(1, 2);
void	 sim_install_cjson_hooks(void);
char	*read_secret_file(const char *path) WARN_UNUSED;
void	 wipe_free(char *);
int64_t	 now_realtime_ms(void);
int64_t	 now_monotonic_ms(void);
void	 format_iso8601(int64_t ms, char out[32]);
bool	 parse_host_port(const char *, char **host, int *port) WARN_UNUSED;
bool	 parse_int(const char *, long min, long max, long *out) WARN_UNUSED;
bool	 is_line_user_id(const char *);
bool	 is_line_chat_id(const char *);

/* ids.c: random identifiers in the shapes LINE uses. */
void	 ids_hex(char *out, size_t nhex);
void	 ids_ulid(char out[27]);
void	 ids_message_id(char out[19]);
void	 ids_quote_token(char out[65]);
bool	 ids_is_uuid(const char *);

/* strmap.c: string-keyed hash map that remembers insertion order. */
struct strmap;
struct strmap	*strmap_new(void (*free_value)(void *));
void		 strmap_free(struct strmap *);
void		 strmap_clear(struct strmap *);
void		*strmap_get(const struct strmap *, const char *key);
void		 strmap_put(struct strmap *, const char *key, void *value);
bool		 strmap_del(struct strmap *, const char *key);
size_t		 strmap_count(const struct strmap *);
const char	*strmap_oldest_key(const struct strmap *);

/* json.c */
char	*json_ascii_escape(const char *json);
char	*json_print(const cJSON *);
size_t	 utf16_length(const char *utf8);
bool	 json_int(const cJSON *, long min, long max, long *out) WARN_UNUSED;
const char *json_string(const cJSON *obj, const char *key);

/* sign.c */
void	 sign_body(const char *secret, const char *body, size_t len,
	    char out[45]);

/* webhook_body.c: builds webhook bodies byte-for-byte like LINE's. */
struct wh_spec {
	const char	*type;		/* "text", ..., "follow", "unsend" */
	const char	*user;
	const char	*text;		/* text messages only */
	bool		 unblocked;	/* follow only */
	const char	*unsend_id;	/* unsend only */
	const char	*mode;		/* NULL = "active" */
	int64_t		 timestamp;	/* 0 = now */
};
struct wh_built {
	char	 event_id[27];
	char	 reply_token[33];	/* "" if the event has none */
	char	 message_id[19];	/* "" if not a message event */
	char	*body;			/* ASCII-only compact JSON, owned */
};
bool	 webhook_body_known_type(const char *type);
void	 webhook_body_build(const char *destination, const struct wh_spec *,
	    struct wh_built *out);
char	*webhook_body_redelivery(const char *body);

/* webhook_send.c: asynchronous signed POSTs on the event loop. */
enum sig_mode { SIG_GOOD, SIG_BAD, SIG_NONE };
/* status: HTTP status, 0 = no answer (connect failure or timeout),
 * -1 = the simulator is shutting down (free arg, do not reply). */
typedef void (*webhook_done_cb)(int status, void *arg);
struct webhook_sender *webhook_sender_new(struct event_base *,
	    const char *url, const char *secret) WARN_UNUSED;
void	 webhook_sender_free(struct webhook_sender *);
void	 webhook_send(struct webhook_sender *, const char *body,
	    enum sig_mode, webhook_done_cb, void *arg);

/* events.c: webhook events sent, for redelivery and reply tokens. */
struct sim_event {
	char	*event_id;
	char	*reply_token;		/* NULL if none */
	char	*user;			/* NULL if the event had none */
	char	*message_id;		/* NULL if not a message event */
	char	*body;			/* as first sent */
	int64_t	 issued_ms;		/* monotonic */
	bool	 token_used;
};
struct events	*events_new(void);
void		 events_free(struct events *);
void		 events_add(struct events *, const char *event_id,
		    const char *reply_token, const char *user,
		    const char *message_id, const char *body);
struct sim_event *events_by_id(struct events *, const char *);
struct sim_event *events_by_token(struct events *, const char *);

/* users.c */
struct users	*users_new(void);
void		 users_free(struct users *);
void		 users_seen(struct users *, const char *id,
		    const char *display_name);
void		 users_set_blocked(struct users *, const char *id, bool);
bool		 users_is_blocked(struct users *, const char *id);
bool		 users_known(struct users *, const char *id);
const char	*users_display_name(struct users *, const char *id);
void		 users_set_last_message(struct users *, const char *id,
		    const char *message_id);
const char	*users_last_message(struct users *, const char *id);

/* retry_keys.c */
struct retry_keys *retry_keys_new(void);
void		 retry_keys_free(struct retry_keys *);
bool		 retry_keys_find(struct retry_keys *, const char *key,
		    const char **request_id, const char **sent_json);
void		 retry_keys_accept(struct retry_keys *, const char *key,
		    const char *request_id, const char *sent_json);

/* record.c: bounded log of Messaging API calls. */
struct record_entry {
	int64_t	 time_ms;		/* realtime */
	char	 method[8];
	char	*path;
	int	 status;		/* 0 = never answered (hang) */
	char	*user;			/* NULL = JSON null */
	char	*retry_key;		/* NULL = JSON null */
	char	 request_id[33];
	bool	 delivered;
	char	*body;			/* compact JSON or NULL */
};
struct record	*record_new(void);
void		 record_free(struct record *);
void		 record_add(struct record *, struct record_entry *);
void		 record_clear(struct record *);
cJSON		*record_to_json(const struct record *, const char *user,
		    const char *path, uint64_t since);

/* faults.c */
struct fault {
	int	 status;		/* 0 = hang */
	bool	 accept;		/* run the call, then fail the answer */
};
struct faults	*faults_new(void);
void		 faults_free(struct faults *);
void		 faults_clear(struct faults *);
bool		 faults_take(struct faults *, const char *path, struct fault *);
const char	*faults_add_json(struct faults *, const cJSON *);
cJSON		*faults_to_json(const struct faults *);
const char	*faults_message(int status);

/* hang.c: requests held open until the client gives up. */
struct hangs	*hangs_new(struct event_base *);
void		 hangs_free(struct hangs *);
void		 hangs_hold(struct hangs *, struct evhttp_request *);
size_t		 hangs_count(const struct hangs *);

/* http_util.c */
char	*http_body_string(struct evhttp_request *, size_t *len);
cJSON	*http_body_object(struct evhttp_request *);
void	 http_reply_json(struct evhttp_request *, int status, const char *json);
void	 http_reply_cjson(struct evhttp_request *, int status, cJSON *);
void	 http_reply_message(struct evhttp_request *, int status,
	    const char *message);
const char *http_method_name(enum evhttp_cmd_type);
char	*json_message(const char *message);

/* api.c: the Messaging API endpoints LINE serves. */
struct api_call {
	struct sim		*sim;
	struct evhttp_request	*req;
	const char		*path;
	cJSON			*json;		/* parsed body or NULL */
	const char		*retry_key;	/* header or NULL */
	char			 request_id[33];
	char			*user;		/* for the record, or NULL */
	/* Filled in by the handler. */
	int			 status;
	char			*resp_body;	/* owned */
	char			*accepted_id;	/* 409 header, owned */
	bool			 delivered;
};
void	 api_handle(struct sim *, struct evhttp_request *, const char *path);
void	 api_set(struct api_call *, int status, char *body);
void	 api_set_message(struct api_call *, int status, const char *msg);
bool	 api_set_details(struct api_call *, cJSON *details);

/* api_message.c */
void	 api_message_reply(struct api_call *);
void	 api_message_push(struct api_call *);
void	 api_message_quota(struct api_call *);
void	 api_message_consumption(struct api_call *);

/* api_chat.c */
void	 api_chat_profile(struct api_call *);
void	 api_chat_loading(struct api_call *);
void	 api_chat_mark_read(struct api_call *);

/* validate.c */
cJSON	*validate_detail(const char *message, const char *property);
void	 validate_messages(const cJSON *body, cJSON *details);
void	 validate_required_string(const cJSON *body, const char *name,
	    cJSON *details);

/* sim_http.c: the /sim/... test-control endpoints. */
void	 sim_http_handle(struct sim *, struct evhttp_request *,
	    const char *path);

/* sim_send.c */
void	 sim_send_handle(struct sim *, struct evhttp_request *);

/* serve.c */
int	 serve_main(int argc, char **argv);

/* send_cli.c */
int	 send_cli_main(int argc, char **argv);

/* flood.c */
int	 flood_main(int argc, char **argv);

#endif /* LINESIM_H */
