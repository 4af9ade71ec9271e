/*
 * outbox.h - every outbound message goes through the outbox: written in the
 * transaction that decided to send it, then sent by a dispatcher on the
 * loop, exactly once, whichever process takes it.
 *
 * A message too long for one request is cut into parts (rows), sent in
 * order; rows of one contact go out one at a time, oldest first. A push
 * carries one retry key for all its attempts, so LINE accepts it once even
 * when the answer to an accepted attempt was lost.
 */
#ifndef MADOGUCHI_OUTBOX_H
#define MADOGUCHI_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

struct event_base;
struct http_client;
struct keyring;

/* LINE's limits: text length in UTF-16 code units; objects per request. */
#define OUTBOX_TEXT_MAX_UNITS	5000
#define OUTBOX_OBJECTS_MAX	5
/* Longest text one message may carry: a counsellor's reply, at most. */
#define OUTBOX_PARTS_MAX	8
#define OUTBOX_PIECES_MAX	(OUTBOX_PARTS_MAX * OUTBOX_OBJECTS_MAX)

/* ---- split.c ---- */

struct outbox_piece {
	const char	*text;		/* into the text split */
	size_t		 len;
};

/*
 * Cuts UTF-8 text into pieces of at most limit UTF-16 code units, at a
 * paragraph or sentence end where there is one, never inside a character
 * (nor between an emoji and its modifiers). The pieces, joined, are the
 * text. Returns their number, or 0 when more than max would be needed.
 */
size_t	outbox_split(const char *text, size_t len, size_t limit,
	    struct outbox_piece *pieces, size_t max);

/* ---- outbox.c: writing a message and its rows ---- */

struct outbox_item {
	const char	*conversation_id;	/* decimal ids; NULL: a greeting */
	const char	*contact_id;
	const char	*channel_id;
	const char	*direction;	/* "auto" or "out" */
	const char	*autoreply;	/* "{after_hours,text_only}", or NULL */
	const char	*staff_id;	/* who wrote it, or NULL */
	/*
	 * The fixed template the text is ("greeting", "after_hours", ...), or
	 * NULL for free text, which a channel in strict mode refuses (the
	 * outbox's trigger) unless an emergency exception covers the
	 * conversation.
	 */
	const char	*template;
	/*
	 * A hand-off link to the desk's web chat, sent as a button after the
	 * text (strict mode): its URL, its token's hash (stored in
	 * handoff_links by the same statement) and why ("start",
	 * "reply_waiting"). NULL url: no button.
	 */
	const char	*link_url;
	const char	*link_hash;
	const char	*link_purpose;
	const char	*text;		/* UTF-8 */
	size_t		 text_len;
	const char	*reply_token;	/* the inbound event's, or NULL */
	int64_t		 reply_token_us;	/* when that event arrived */
	int64_t		 now_us;
	int64_t		 give_up_us;	/* retries stop then: failed */
};

/*
 * Stores the message (direction auto or out, delivery pending) and its
 * outbox rows in txn, and notifies the dispatchers when txn commits. cb
 * gets the statement's result: one row, the message id. False, with no
 * callback, when the text is empty, needs more than OUTBOX_PARTS_MAX
 * requests, or cannot be sealed, or the session is gone.
 */
bool	outbox_add(struct db_txn *txn, const struct keyring *keys,
	    const struct outbox_item *item, db_result_fn cb, void *arg)
	    __attribute__((warn_unused_result));

/*
 * The same message for the desk's web chat: stored as delivered (via
 * webchat), and the web chat's streams told (NOTIFY madoguchi_webchat).
 * No outbox row, no channel API, no template: the web chat is the desk's
 * own. cb gets one row, the message id.
 */
bool	outbox_add_webchat(struct db_txn *txn, const struct keyring *keys,
	    const struct outbox_item *item, db_result_fn cb, void *arg)
	    __attribute__((warn_unused_result));

/*
 * A new hand-off link to the desk's web chat: url is public_url +
 * "/chat/link/" + a fresh token (256 random bits), hash_hex its SHA-256,
 * the only part stored (outbox_item.link_*). False without a public_url
 * (nobody outside could open it) or randomness.
 */
#define OUTBOX_LINK_URL_MAX	512
bool	outbox_link_make(const char *public_url, char url[OUTBOX_LINK_URL_MAX],
	    char hash_hex[65]);

/* ---- sender.c: the dispatcher ---- */

/* What an answer from the Messaging API means for the row. */
enum outbox_verdict {
	OUTBOX_SENT,		/* accepted (or accepted before: 409) */
	OUTBOX_RETRY,		/* 429, 5xx, timeout, no answer: later */
	OUTBOX_PUSH_NOW,	/* the reply token was spent or expired */
	OUTBOX_FAILED,		/* refused for good (400, 403, ...) */
	OUTBOX_UNDELIVERABLE,	/* the person cannot be reached */
};

enum outbox_verdict outbox_verdict(bool via_reply, long status,
	    const char *error_message);
/*
 * The wait before attempt number attempts + 1: exponential from min_ms,
 * capped at max_ms, with jitter (random in [d/2, d]); random is any
 * uniformly distributed value.
 */
int64_t	outbox_backoff_ms(int attempts, int64_t min_ms, int64_t max_ms,
	    uint32_t random);

struct outbox_sender_config {
	const char	*channel_kind;	/* the desk whose rows this process sends */
	const char	*channel_name;
	const char	*api_base;	/* "https://api.line.me" */
	const char	*access_token;	/* borrowed: kept by the caller */
	int		 concurrency;	/* requests in flight per process */
	int64_t		 retry_min_ms;
	int64_t		 retry_max_ms;
	int64_t		 lease_s;	/* a claimed row is free again after */
	int64_t		 request_timeout_ms;
	/*
	 * Whether inbound traffic is waiting (the webhook's deliveries): then
	 * sends are paced to busy_rate a second, so a backlog draining never
	 * slows what people are writing now. NULL: never.
	 */
	bool		(*inbound_busy)(void *arg);
	void		*inbound_arg;
	int		 busy_rate;
};

struct outbox_sender;

/*
 * The sender's own pool: its claims must read the backlog in index order
 * however stale the table's statistics are (a bitmap scan and a sort of
 * every queued row cost 17 ms a claim at 10,000 queued).
 */
#define OUTBOX_DB_OPTIONS	DB_OPTIONS_DEFAULT \
	" -c enable_seqscan=off -c enable_bitmapscan=off"
#define OUTBOX_DB_CONNECTIONS	2	/* a claim and a record at once */

/* pool: one opened with OUTBOX_DB_OPTIONS, used by nothing else. */
struct outbox_sender *outbox_sender_new(struct event_base *base,
	    struct db_pool *pool, const struct keyring *keys,
	    struct http_client *http, const struct outbox_sender_config *cfg);
/* Something was written to the outbox: look now, not at the next tick. */
void	outbox_sender_wake(struct outbox_sender *s);
/* Takes no new rows from now on (shutdown); sends in flight go on. */
void	outbox_sender_close(struct outbox_sender *s);
size_t	outbox_sender_in_flight(const struct outbox_sender *s);
/* Rows of requests still in flight stay claimed; another process takes them. */
void	outbox_sender_free(struct outbox_sender *s);

#endif
