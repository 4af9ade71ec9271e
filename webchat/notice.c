/*
 * notice.c - "a reply is waiting": when a counsellor's reply in the web
 * chat has not been seen a minute after it was written, LINE carries the
 * desk's fixed notice with a fresh link, never the reply itself.
 *
 * Decided after the fact, by whichever process gets there first: the
 * unseen replies of one desk are taken with their conversations (NO KEY
 * UPDATE, SKIP LOCKED: never in the ingest's way, never two processes on
 * one person), one notice goes per person unless a notice's link is still
 * unused, and the replies are marked notified, all in one transaction.
 */
#include "webchat_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "autoreply.h"
#include "log.h"
#include "outbox.h"

#define NOTICE_TICK_S		5
#define NOTICE_GIVE_UP_S	(6 * 3600)	/* as the outbox's default */

/* $1 now, $2/$3 the desk. Sorted by person: one notice each. */
static const char notice_claim_sql[] =
"SELECT m.id, cv.contact_id, cv.id, cv.channel_id,"
"  EXISTS (SELECT 1 FROM handoff_links l WHERE l.contact_id = cv.contact_id"
"           AND l.purpose = 'reply_waiting' AND l.used_at IS NULL"
"           AND l.expires_at > $1::timestamptz)"
"  FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
" WHERE m.via = 'webchat' AND m.direction = 'out'"
"   AND m.webchat_seen_at IS NULL AND m.webchat_notified_at IS NULL"
"   AND m.received_at < $1::timestamptz - make_interval(secs => coalesce("
"         (SELECT (value #>> '{}')::int FROM settings"
"           WHERE key = 'reply_waiting_after_seconds'"
"             AND channel_id IS NULL), 60))"
"   AND cv.channel_id = (SELECT id FROM channels WHERE kind = $2"
"                          AND name = $3)"
" ORDER BY cv.contact_id, m.id LIMIT 50"
" FOR NO KEY UPDATE OF m, cv SKIP LOCKED";

static const char notice_mark_sql[] =
"UPDATE messages SET webchat_notified_at = $2::timestamptz"
" WHERE id = ANY ($1::bigint[])";

struct notice_round {
	struct webchat	*w;
	struct db_txn	*txn;
	PGresult	*rows;		/* the claim's */
	int		 next;		/* the row whose person is next */
	int64_t		 now_us;
	char		 now[CLOCK_ISO_LEN];
	char		*text;		/* the desk's notice */
	int		 sent;
};

struct chat_notices {
	struct webchat		*w;
	struct event		*tick;
	struct notice_round	*round;		/* in flight */
};

static void	notice_next(struct notice_round *r);

static void
notice_round_free(struct notice_round *r)
{
	PQclear(r->rows);
	free(r->text);
	free(r);
}

static void
notice_ended(void *arg, const PGresult *res, const char *why)
{
	struct notice_round *r = arg;
	struct chat_notices *n = r->w->notices;

	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		log_warn("webchat.notice_failed", "sqlstate=%s reason=\"%s\"",
		    db_sqlstate(res), res != NULL ? "rejected by server" : why);
	else if (r->sent > 0)
		log_info("webchat.reply_waiting_sent", "notices=%d", r->sent);
	if (n != NULL)
		n->round = NULL;
	notice_round_free(r);
}

static void
notice_end(struct notice_round *r, bool commit)
{
	if (!db_txn_end(r->txn, commit, notice_ended, r))
		notice_ended(r, NULL, "session lost");
}

static void
notice_marked(void *arg, const PGresult *res, const char *why)
{
	struct notice_round *r = arg;

	(void)why;
	notice_end(r, res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK);
}

/* Every claimed reply is marked: told now, or told by a link unused. */
static void
notice_mark(struct notice_round *r)
{
	struct evbuffer *ids = evbuffer_new();
	const char *params[2];

	if (ids == NULL) {
		notice_end(r, false);
		return;
	}
	evbuffer_add(ids, "{", 1);
	for (int i = 0; i < PQntuples(r->rows); i++)
		evbuffer_add_printf(ids, "%s%s", i > 0 ? "," : "",
		    PQgetvalue(r->rows, i, 0));
	evbuffer_add(ids, "}", 2);	/* with its NUL */
	params[0] = (const char *)evbuffer_pullup(ids, -1);
	params[1] = r->now;
	if (!db_txn_query(r->txn, notice_mark_sql, 2, params, notice_marked, r))
		notice_end(r, false);
	evbuffer_free(ids);
}

static void
notice_written(void *arg, const PGresult *res, const char *why)
{
	struct notice_round *r = arg;

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		notice_end(r, false);
		return;
	}
	r->sent++;
	notice_next(r);
}

/* The next person's notice, or the marks when everyone is done. */
static void
notice_next(struct notice_round *r)
{
	int n = PQntuples(r->rows), i = r->next;
	struct outbox_item it = { 0 };
	char url[OUTBOX_LINK_URL_MAX], hash[65];

	/* people whose last notice's link is still unused: told already */
	while (i < n && PQgetvalue(r->rows, i, 4)[0] == 't') {
		const char *who = PQgetvalue(r->rows, i, 1);

		while (i < n && strcmp(PQgetvalue(r->rows, i, 1), who) == 0)
			i++;
	}
	if (i >= n) {
		notice_mark(r);
		return;
	}
	r->next = i + 1;
	while (r->next < n && strcmp(PQgetvalue(r->rows, r->next, 1),
	    PQgetvalue(r->rows, i, 1)) == 0)
		r->next++;
	if (!outbox_link_make(r->w->opt.public_url, url, hash)) {
		log_error("webchat.reply_waiting_impossible", "contact=%s reason="
		    "\"no public_url: nobody could open a link\"",
		    PQgetvalue(r->rows, i, 1));
		notice_next(r);
		return;
	}
	it.conversation_id = PQgetvalue(r->rows, i, 2);
	it.contact_id = PQgetvalue(r->rows, i, 1);
	it.channel_id = PQgetvalue(r->rows, i, 3);
	it.direction = "auto";
	it.autoreply = "{reply_waiting}";
	it.template = "reply_waiting";
	it.text = r->text;
	it.text_len = strlen(r->text);
	it.link_url = url;
	it.link_hash = hash;
	it.link_purpose = "reply_waiting";
	it.now_us = r->now_us;
	it.give_up_us = r->now_us + NOTICE_GIVE_UP_S * 1000000LL;
	if (!outbox_add(r->txn, r->w->keys, &it, notice_written, r))
		notice_end(r, false);
}

static void
notice_claimed(void *arg, const PGresult *res, const char *why)
{
	struct notice_round *r = arg;

	(void)why;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		notice_end(r, false);
		return;
	}
	if (PQntuples(res) == 0) {
		notice_end(r, true);
		return;
	}
	/* The result is the pool's until this callback returns: keep a copy. */
	if ((r->rows = PQcopyResult(res, PG_COPYRES_ATTRS |
	    PG_COPYRES_TUPLES)) == NULL) {
		notice_end(r, false);
		return;
	}
	notice_next(r);
}

static void
notice_begun(void *arg, struct db_txn *txn, const char *why)
{
	struct notice_round *r = arg;
	const char *params[3] = { r->now, r->w->opt.channel_kind,
	    r->w->opt.channel_name };

	if (txn == NULL) {
		notice_ended(r, NULL, why);
		return;
	}
	r->txn = txn;
	if (!db_txn_query(txn, notice_claim_sql, 3, params, notice_claimed, r))
		notice_end(r, false);
}

static void
notice_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chat_notices *n = arg;
	struct notice_round *r;

	(void)fd;
	(void)what;
	if (n->round != NULL || n->w->closing ||
	    db_pool_connected(n->w->pool) == 0 ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->w = n->w;
	r->now_us = clock_now_us();
	clock_format_utc(r->now_us, r->now);
	if ((r->text = autoreply_text(n->w->desk, AUTOREPLY_REPLY_WAITING,
	    r->now_us)) == NULL) {
		free(r);	/* the desk has no such notice: nothing to send */
		return;
	}
	n->round = r;
	if (!db_txn_begin(n->w->pool, notice_begun, r)) {
		n->round = NULL;
		notice_round_free(r);
	}
}

struct chat_notices *
chat_notices_new(struct webchat *w)
{
	struct chat_notices *n = calloc(1, sizeof(*n));
	struct timeval tick = { NOTICE_TICK_S, 0 };

	if (n == NULL)
		return NULL;
	n->w = w;
	n->tick = event_new(w->base, -1, EV_PERSIST, notice_tick_cb, n);
	if (n->tick == NULL || event_add(n->tick, &tick) != 0) {
		chat_notices_free(n);
		return NULL;
	}
	return n;
}

void
chat_notices_free(struct chat_notices *n)
{
	if (n == NULL)
		return;
	if (n->round != NULL)	/* its transaction's answer never comes */
		n->round->w->notices = NULL;
	if (n->tick != NULL)
		event_free(n->tick);
	free(n);
}
