/*
 * worker_internal.h - what worker.c (the decision transaction) and
 * decide.c (the decisions) share. Not for use outside autoreply/.
 */
#ifndef MADOGUCHI_WORKER_INTERNAL_H
#define MADOGUCHI_WORKER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "autoreply.h"

#define WORKER_BATCH		64	/* events a decision transaction takes */

/* The columns of worker_state_sql (worker.c). */
enum {
	COL_ID, COL_KIND, COL_CONTACT, COL_CONVERSATION, COL_MESSAGE_KIND,
	COL_UNBLOCKED, COL_CHANNEL, COL_AFTER_HOURS_AT, COL_CONV_STATE,
	COL_WAITING_SINCE, COL_BUSY_AT, COL_TEXT_ONLY_AT, COL_ASSIGNEE_ONLINE,
	COL_REPLY_TOKEN, COL_TOKEN_AT, COL_AHEAD, COL_ONLINE, COL_SIGNED_IN,
	COL_SUPERVISORS, COL_FREE_SLOTS, COL_RESTRICTED, COL_CRISIS_LEVEL,
	COL_CRISIS_RAISED_AT, COL_CRISIS_REPLIED_AT, COL_WEBCHAT, COL_LIVE_LINK,
};

/* What batch_mark records as said, each a list of ids. */
enum {
	MARK_AFTER_HOURS,	/* contacts */
	MARK_BUSY,		/* conversations, and so on */
	MARK_TEXT_ONLY,
	MARK_CRISIS,
	MARKS
};

struct decision {
	char		 contact_id[24];
	char		 conversation_id[24];
	char		 channel_id[16];
	char		*text;			/* NULL: nothing to say */
	char		 kinds[96];		/* "{after_hours,text_only}" */
	char		*reply_token;
	int64_t		 token_us;
	bool		 webchat;	/* answer in the web chat, not on LINE */
	bool		 link;		/* with a hand-off link (strict mode) */
};

struct batch {
	struct autoreply *ar;
	struct db_txn	*txn;
	int64_t		 now_us;
	int		 claimed;
	struct evbuffer	*ids;		/* "{1,2,...}" of the events */
	struct evbuffer	*mark[MARKS];
	struct decision	 d[WORKER_BATCH];
	int		 nd;
	int		 next;		/* the decision being written */
	bool		 failed;	/* rolling back, not committing */
};

struct autoreply {
	struct event_base	*base;
	struct db_pool		*pool;
	const struct keyring	*keys;
	struct outbox_sender	*sender;
	char			*channel_kind;
	char			*channel_name;
	char			*public_url;	/* hand-off links; "" none */
	int64_t			 no_url_warned_us;	/* said once a minute */
	int64_t			 give_up_s;
	struct desk_settings	 desk;
	bool			 ready;		/* desk loaded at least once */
	bool			 loading;
	int64_t			 loaded_us;
	struct event		*tick;
	struct event		*wake;
	struct batch		*batch;		/* in flight */
	bool			 again;
	bool			 closed;
};

/*
 * Decides what to say for each row of worker_state_sql's result, into
 * b->d, and what to mark as said, into b->mark. Rows later in res are
 * updated with what earlier ones said, so each reply goes once.
 */
void	batch_decide(struct batch *b, PGresult *res);

#endif
