/*
 * webchat_internal.h - what the web chat's files share: the module, one
 * API call, and the functions each file offers the others.
 */
#ifndef MADOGUCHI_WEBCHAT_INTERNAL_H
#define MADOGUCHI_WEBCHAT_INTERNAL_H

#include "webchat.h"

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "clock.h"
#include "storage.h"

#define WEBCHAT_COOKIE		"madoguchi_chat"
#define WEBCHAT_TEXT_MAX_CHARS	2000
#define WEBCHAT_BODY_MAX	(16 * 1024)

/*
 * What LINE said to lead the person here (the hand-off, "a reply is
 * waiting") points at a button that is not in the web chat: not shown.
 */
#define CHAT_NOT_DOORWAY(m) \
    " AND NOT coalesce(" m ".autoreply && ARRAY['handoff', 'reply_waiting'],"\
    "   false)"

struct chat_streams;
struct chat_notices;

struct webchat {
	struct event_base	*base;
	struct db_pool		*pool;
	const struct keyring	*keys;
	struct ingest		*ingest;
	const struct autoreply	*desk;
	struct webchat_options	 opt;
	struct chat_streams	*streams;
	struct chat_notices	*notices;
	bool			 closing;
};

/* One call to /chat/api/...: the person's session, once looked up. */
struct chat_call {
	struct webchat		*w;
	struct evhttp_request	*req;
	void			(*handler)(struct chat_call *call);
	int64_t			 now_us;
	char			 now[CLOCK_ISO_LEN];
	char			 token_hash[65];	/* hex; "" without a cookie */
	cJSON			*body;		/* POST: the JSON object */
	/* the session */
	char			 session_id[24];
	char			 contact_id[24];
	char			*contact_ref;	/* the channel's id for the person */
	bool			 terms_ok;	/* the desk's current terms accepted */
	/* POST messages */
	char			*event_key;
};

/* webchat.c: answering; each frees the call. */
void	chat_reply(struct chat_call *call, int status, cJSON *json);
void	chat_error(struct chat_call *call, int status, const char *code,
	    const char *message);
void	chat_db_error(struct chat_call *call, const char *what,
	    const PGresult *res, const char *why);
void	chat_call_free(struct chat_call *call);
void	chat_clear_cookie(struct chat_call *call);
/* A sealed body column (PQ text of bytea) opened: malloc'd, or NULL. */
char	*chat_unseal(const struct webchat *w, const PGresult *res, int row,
	    int col_body, int col_key);

/*
 * The Origin header, when sent, is this desk's: public_url's, as people
 * reach it (a proxy in front may rewrite Host), or else this Host's.
 */
bool	chat_same_origin(const struct webchat *w, struct evhttp_request *req);

/* chat.c: the API's calls, run once the session is known. */
void	chat_state(struct chat_call *call);
void	chat_terms(struct chat_call *call);
void	chat_message(struct chat_call *call);
void	chat_end(struct chat_call *call);

/* link.c: /chat/link/{token}: GET shows its button, POST spends it. */
void	chat_link_open(struct webchat *w, struct evhttp_request *req,
	    const char *token);

/* notice.c: LINE's "a reply is waiting" for replies nobody saw. */
struct chat_notices *chat_notices_new(struct webchat *w);
void	chat_notices_free(struct chat_notices *n);

/* A reply reached a page of the person's: no notice for it. */
void	chat_mark_seen(struct webchat *w, const char *contact_id,
	    const char *message_id);

/* stream.c: GET /chat/api/events, and what NOTIFY brings. */
struct chat_streams *chat_streams_new(struct webchat *w);
void	chat_streams_free(struct chat_streams *s);
void	chat_streams_close(struct chat_streams *s);
void	chat_stream_open(struct chat_call *call);
void	chat_streams_notify(struct chat_streams *s, const char *channel,
	    const char *payload);

#endif
