/*
 * ingest.c - inbound events into PostgreSQL with group commit.
 *
 * Each delivery (one webhook request) is checked for crisis words, its
 * text sealed, and queued as rows. When no batch is in flight, everything
 * queued goes out as one statement (ingest_sql), its rows as one array
 * per column: one commit, however many deliveries it holds. Under load,
 * deliveries pile up while a commit is flushing, so the next commit
 * carries them all; alone, a delivery goes out at once.
 *
 * A batch the server rejects is split: each of its deliveries is tried on
 * its own, so one bad event cannot make its neighbours fail forever.
 */
#include "storage.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "pg_array.h"
#include "seal.h"

/*
 * One batch in flight per process: the next one grows while it commits.
 * More in parallel only made batches smaller; on the 2-core bench box,
 * webhooks/s at 64 senders were 10.6k with one, 9.2k with two, 7.0k with
 * four (bench/, November 2026). Other queries use the pool's other
 * connections.
 */
#define INGEST_MAX_BATCHES	1
#define INGEST_BATCH_MAX_EVENTS	512
/*
 * A database that stalls must not make the process hoard deliveries: past
 * this many bytes waiting, new ones get 500 at once and LINE redelivers.
 */
#define INGEST_QUEUE_MAX_BYTES	(64 << 20)
#define INGEST_BATCH_MAX_BYTES	(4 << 20)
#define INGEST_BODY_AAD		"messages.body"

/* The channels row the events belong to, made on first use. */
static const char ingest_channel_sql[] =
    "INSERT INTO channels (kind, name) VALUES ($1, $2) "
    "ON CONFLICT (kind, name) DO UPDATE SET name = EXCLUDED.name RETURNING id";

/*
 * One batch, one statement: $1 channel id, $2 received at, $4 when the
 * desk's closed period began (NULL while open), $5 when a reply is due,
 * $6 strict mode; the events' columns are $3 and $7 to $21 (below).
 * Most batches hold only messages; they use a statement without the
 * follow and unsend parts, whose empty updates would still cost their
 * setup on every call (about a tenth of the throughput at 64 senders).
 *
 * Only the first delivery of an event gets past "fresh". The common case,
 * a known contact writing into an open conversation, only reads both rows;
 * rows are written only when missing or changing. A row the snapshot does
 * not show may have been made a moment ago by another process: inserts
 * meet it with ON CONFLICT DO UPDATE, which waits for it and returns it.
 * Rows are taken in a fixed order, so concurrent batches do not deadlock;
 * the one exception is a crisis rise (below), whose trigger updates the
 * conversation in message order: two batches holding crisis messages of
 * the same two people in opposite orders may deadlock, and the loser is
 * split and retried (a delay, not a loss). Within a batch, LINE's
 * timestamp orders messages, as its docs advise.
 *
 * Crisis: each text comes with its level (ingest_set_crisis); triggers on
 * messages raise the conversation only for a message with a level. Its
 * context level (さようなら after worries) is kept only when the
 * conversation already gave cause for concern, so the trigger that looks
 * back at recent messages runs only then, not for every "ありがとう".
 *
 * A conversation closing while a batch writes into it: the batch's
 * snapshot may predate the close. open_known takes KEY SHARE on the open
 * conversation, which a close's FOR UPDATE conflicts with: a close
 * already committed is seen (the row is re-read and left out, so a new
 * conversation opens), and a close not yet made waits for this batch and
 * then sees its message (and does not close).
 *
 * The plan is made once per connection, maybe while the tables are still
 * empty, and must stay right as they grow: every read of a table is a
 * LATERAL ... LIMIT 1 probe or an "id = ANY (ARRAY(...))" on an index, so
 * the planner has no whole-table scan or hash join over a table to pick
 * (the ingest connection also runs with enable_seqscan off).
 *
 * A message is "kind NOT IN (the other three kinds)", never "kind =
 * 'message'": the planner guesses an equality on a column without
 * statistics keeps 0.5% of the rows, so it took each batch for one
 * message and joined every event to every other in nested loops. With
 * the other form it expects most events to be messages and hashes the
 * joins: the statement's time per event at 50 events a batch fell from
 * about 70 to 50 us (bench box, December 2026).
 *
 * The events arrive as arrays, one a column, in binary form (pg_array.h):
 * the server parses nothing. As one JSON text, reading it (the parse,
 * a hash table per object, each value's input function, the body's
 * base64) took a sixth of the ingest backend's time at 64 senders.
 */
#define INGEST_CORE \
"WITH ev AS ("\
"  SELECT * FROM unnest($3::text[], $7::text[], $8::text[], $9::text[],"\
"      $10::text[], $11::bytea[], $12::smallint[], $13::timestamptz[],"\
"      $14::boolean[], $15::text[], $16::boolean[], $17::smallint[],"\
"      $18::text[], $19::smallint[], $20::text[], $21::text[])"\
"    AS e(event_key, kind, contact_ref, message_kind, message_ref, body,"\
"      body_key_id, occurred_at, redelivery, reply_token, unblocked,"\
"      crisis_level, crisis_rule, crisis_context_level,"\
"      crisis_context_rule, via)"\
"), fresh AS ("\
"  INSERT INTO webhook_events (channel_id, event_key, kind, occurred_at,"\
"      received_at, redelivery, reply_token, message_ref)"\
"  SELECT $1, event_key, kind, occurred_at, $2, coalesce(redelivery, false),"\
"      reply_token, CASE kind WHEN 'unsend' THEN message_ref END"\
"    FROM ev ORDER BY event_key"\
"  ON CONFLICT DO NOTHING"\
"  RETURNING event_key"\
"), new_ev AS ("\
"  SELECT DISTINCT ON (ev.event_key) ev.*"\
"    FROM ev JOIN fresh USING (event_key) ORDER BY ev.event_key"\
"), refs AS ("\
"  SELECT DISTINCT contact_ref FROM new_ev"\
"), writers AS ("\
"  SELECT DISTINCT contact_ref FROM new_ev"\
"   WHERE kind NOT IN ('follow', 'unfollow', 'unsend')"\
"), follow AS ("	/* the newest follow or unfollow per contact */\
"  SELECT DISTINCT ON (contact_ref) contact_ref, occurred_at,"\
"      CASE kind WHEN 'follow' THEN 'following' ELSE 'blocked' END AS state"\
"    FROM new_ev WHERE kind IN ('follow', 'unfollow')"\
"   ORDER BY contact_ref, occurred_at DESC, event_key DESC"\
"), known AS ("\
"  SELECT c.id, r.contact_ref AS external_id, c.after_hours_replied_at"\
"    FROM refs r,"\
"    LATERAL (SELECT id, after_hours_replied_at FROM contacts"\
"              WHERE channel_id = $1 AND external_id = r.contact_ref"\
"              LIMIT 1) c"\
"), added AS ("\
"  INSERT INTO contacts AS c (channel_id, external_id, first_seen_at,"\
"      follow_state, followed_at, blocked_since, follow_changed_at)"\
"  SELECT $1, r.contact_ref, $2, coalesce(f.state, 'unknown'),"\
"      CASE f.state WHEN 'following' THEN f.occurred_at END,"\
"      CASE f.state WHEN 'blocked' THEN f.occurred_at END, f.occurred_at"\
"    FROM refs r LEFT JOIN follow f USING (contact_ref)"\
"   WHERE r.contact_ref NOT IN (SELECT external_id FROM known)"\
"   ORDER BY r.contact_ref"\
"  ON CONFLICT (channel_id, external_id) DO UPDATE SET"\
"    follow_state = CASE WHEN EXCLUDED.follow_changed_at >="\
"        coalesce(c.follow_changed_at, '-infinity')"\
"      THEN EXCLUDED.follow_state ELSE c.follow_state END,"\
"    followed_at = CASE WHEN EXCLUDED.follow_changed_at >="\
"        coalesce(c.follow_changed_at, '-infinity')"\
"        AND EXCLUDED.follow_state = 'following'"\
"      THEN EXCLUDED.followed_at ELSE c.followed_at END,"\
"    blocked_since = CASE WHEN EXCLUDED.follow_changed_at >="\
"        coalesce(c.follow_changed_at, '-infinity')"\
"      THEN EXCLUDED.blocked_since ELSE c.blocked_since END,"\
"    follow_changed_at = greatest(c.follow_changed_at,"\
"        EXCLUDED.follow_changed_at)"\
"  RETURNING c.id, c.external_id, c.after_hours_replied_at"\
"), who AS ("\
"  SELECT id, external_id, after_hours_replied_at FROM known UNION ALL"\
"  SELECT id, external_id, after_hours_replied_at FROM added"\
"), open_known AS ("	/* locked: see "A conversation closing" above */\
/* Newest first: the open one is a contact's newest, so the probe stops */\
/* there, not after every consultation the person ever closed. */\
"  SELECT cv.* FROM who w,"\
"    LATERAL (SELECT id, contact_id, state, waiting_since,"\
"                    busy_replied_at, text_only_replied_at, crisis_level"\
"               FROM conversations"\
"              WHERE contact_id = w.id AND state <> 'closed'"\
"              ORDER BY id DESC LIMIT 1 FOR KEY SHARE) cv"\
"   WHERE w.external_id IN (SELECT contact_ref FROM writers)"\
"), opened AS ("\
"  INSERT INTO conversations AS cv (contact_id, channel_id, state,"\
"      opened_at, waiting_since, reply_due_at)"\
"  SELECT w.id, $1, 'waiting', $2, $2, $5::timestamptz FROM who w"\
"   WHERE w.external_id IN (SELECT contact_ref FROM writers)"\
"     AND w.id NOT IN (SELECT contact_id FROM open_known)"\
"   ORDER BY w.id"\
"  ON CONFLICT (contact_id) WHERE state <> 'closed' DO UPDATE SET"\
"    state = CASE cv.state WHEN 'waiting_for_user' THEN 'waiting'"\
"            ELSE cv.state END,"\
"    waiting_since = CASE cv.state WHEN 'waiting_for_user' THEN $2"\
"            ELSE cv.waiting_since END,"\
"    reply_due_at = CASE cv.state WHEN 'waiting_for_user' THEN $5::timestamptz"\
"            ELSE cv.reply_due_at END"\
"  RETURNING cv.id, cv.contact_id"\
"), rewaiting AS ("	/* the person wrote again: a reply is owed */\
/* No state test here: the snapshot may hold the row before a reply that */\
/* open_known's lock waited for; the ids are the latest versions' own. */\
"  UPDATE conversations SET state = 'waiting', waiting_since = $2,"\
"      reply_due_at = $5::timestamptz"\
"   WHERE id = ANY (ARRAY(SELECT id FROM open_known"\
"                          WHERE state = 'waiting_for_user'))"\
"  RETURNING id"\
"), conv AS ("	/* with its crisis level: see "context" below */\
"  SELECT id, contact_id, crisis_level FROM open_known UNION ALL"\
"  SELECT id, contact_id, 0 FROM opened"\
"), msg AS ("	/* a message already retracted is kept without text */\
"  INSERT INTO messages (conversation_id, direction, kind, accepted,"\
"      external_id, body, body_key_id, sent_at, received_at, unsent_at,"\
"      crisis_level, crisis_rule, crisis_context_level, crisis_context_rule,"\
"      via)"\
"  SELECT conv.id, 'in', e.message_kind, e.message_kind = 'text',"\
"      e.message_ref,"\
"      CASE WHEN NOT x.retracted THEN e.body END,"\
"      CASE WHEN NOT x.retracted THEN e.body_key_id END,"\
"      e.occurred_at, $2, CASE WHEN x.retracted THEN $2 END,"\
"      coalesce(e.crisis_level, 0), e.crisis_rule,"\
"      CASE WHEN conv.crisis_level > 0 THEN coalesce(e.crisis_context_level, 0)"\
"        ELSE 0 END, e.crisis_context_rule, coalesce(e.via, 'channel')"\
"    FROM new_ev e JOIN who w ON w.external_id = e.contact_ref"\
"    JOIN conv ON conv.contact_id = w.id"\
"    LEFT JOIN (SELECT DISTINCT message_ref FROM new_ev"\
"                WHERE kind = 'unsend') now_unsent"\
"      ON now_unsent.message_ref = e.message_ref"\
"    LEFT JOIN LATERAL (SELECT true AS unsent FROM webhook_events t"\
"                        WHERE t.channel_id = $1 AND t.kind = 'unsend'"\
"                          AND t.message_ref = e.message_ref LIMIT 1) was"\
"      ON true,"\
"    LATERAL (SELECT now_unsent.message_ref IS NOT NULL"\
"                    OR was.unsent IS NOT NULL AS retracted) x"\
"   WHERE e.kind NOT IN ('follow', 'unfollow', 'unsend')"\
"   ORDER BY e.occurred_at, e.event_key"\
"  RETURNING conversation_id"\
"), replied AS ("	/* auto-replies already sent in this wait */\
"  SELECT id, contact_id,"\
"      CASE WHEN state <> 'waiting_for_user'"\
"        THEN busy_replied_at >= waiting_since END AS busy_done,"\
"      CASE WHEN state <> 'waiting_for_user'"\
"        THEN text_only_replied_at >= waiting_since END AS text_only_done"\
"    FROM open_known"\
"), queued AS ("	/* what may call for an auto-reply (crisis: the */\
/* emergency numbers), decided later */\
"  INSERT INTO autoreply_pending (channel_id, event_key, kind, contact_id,"\
"      conversation_id, message_kind, received_at, via)"\
"  SELECT $1, e.event_key, 'message', w.id, conv.id, e.message_kind, $2,"\
"      coalesce(e.via, 'channel')"\
"    FROM new_ev e JOIN who w ON w.external_id = e.contact_ref"\
"    JOIN conv ON conv.contact_id = w.id"\
"    LEFT JOIN replied r ON r.id = conv.id"\
"   WHERE e.kind NOT IN ('follow', 'unfollow', 'unsend') AND (CASE WHEN $4::timestamptz IS NULL"\
"       THEN NOT coalesce(r.busy_done, false)"\
"       ELSE coalesce(w.after_hours_replied_at < $4, true) END"\
"     OR (e.message_kind <> 'text' AND NOT coalesce(r.text_only_done, false))"\
"     OR e.crisis_level = 2"\
"     OR (e.crisis_context_level = 2 AND conv.crisis_level > 0)"\
"     OR ($6::boolean AND e.via IS NULL AND e.message_kind = 'text'))"\
"   ORDER BY e.occurred_at, e.event_key"\
"  RETURNING 1"

/* Follow state of contacts known before; messages the person retracted. */
#define INGEST_CHANGES \
"), changed AS ("\
"  SELECT k.id, f.state, f.occurred_at FROM follow f"\
"    JOIN known k ON k.external_id = f.contact_ref"\
"), refollowed AS ("	/* known contacts whose follow state changed */\
"  UPDATE contacts c SET follow_state = f.state,"\
"      followed_at = CASE f.state WHEN 'following' THEN f.occurred_at"\
"                    ELSE c.followed_at END,"\
"      blocked_since = CASE f.state WHEN 'blocked' THEN f.occurred_at END,"\
"      follow_changed_at = f.occurred_at"\
"    FROM changed f"\
"   WHERE c.id = ANY (ARRAY(SELECT id FROM changed)) AND c.id = f.id"\
"     AND f.occurred_at >= coalesce(c.follow_changed_at, '-infinity')"\
"  RETURNING c.id"\
"), unsent AS ("	/* the person retracted a message: erase its text */\
"  UPDATE messages SET body = NULL, body_key_id = NULL, unsent_at = $2"\
"   WHERE id = ANY (ARRAY("\
"     SELECT m.id FROM new_ev e JOIN who w ON w.external_id = e.contact_ref,"\
"       LATERAL (SELECT id FROM messages"\
"                 WHERE conversation_id = ANY (ARRAY("\
"                         SELECT id FROM conversations"\
"                          WHERE contact_id = w.id))"\
"                   AND external_id = e.message_ref AND direction = 'in'"\
"                 LIMIT 1) m"\
"      WHERE e.kind = 'unsend'))"\
"  RETURNING id"\
"), greeted AS ("	/* a follow always gets the greeting */\
"  INSERT INTO autoreply_pending (channel_id, event_key, kind, contact_id,"\
"      unblocked, received_at)"\
"  SELECT $1, e.event_key, 'follow', w.id, coalesce(e.unblocked, false), $2"\
"    FROM new_ev e JOIN who w ON w.external_id = e.contact_ref"\
"   WHERE e.kind = 'follow'"\
"   ORDER BY e.occurred_at, e.event_key"\
"  RETURNING 1"

/* stored, duplicates, notified, queued for an auto-reply decision */
#define INGEST_RESULT(queued) \
") "\
"SELECT (SELECT count(*) FROM new_ev),"\
"  (SELECT count(*) FROM ev) - (SELECT count(*) FROM new_ev),"\
"  (SELECT pg_notify('madoguchi_inbound', json_build_object("\
"      'channel', $1::integer,"\
"      'conversations', array_agg(DISTINCT conversation_id))::text)"\
"     FROM msg HAVING count(*) > 0) IS NOT NULL,"\
queued

static const char ingest_sql_messages[] = INGEST_CORE
    INGEST_RESULT("(SELECT count(*) FROM queued)");
static const char ingest_sql_all[] = INGEST_CORE INGEST_CHANGES
    INGEST_RESULT("(SELECT count(*) FROM queued) + (SELECT count(*) FROM greeted)");

/*
 * One event as the statement takes it, its text sealed and its crisis
 * verdict made. The strings and the sealed text live in the block that
 * holds the delivery's rows.
 */
struct ingest_row {
	enum inbound_kind kind;
	const char	*event_key, *contact_ref, *message_kind, *message_ref;
	const char	*reply_token, *crisis_rule, *crisis_context_rule;
	const uint8_t	*body;		/* sealed; NULL: no text */
	size_t		 body_len;
	int64_t		 occurred_us;
	int16_t		 body_key_id;
	int16_t		 crisis_level, crisis_context_level;
	bool		 redelivery, unblocked, webchat;
};

struct ingest_delivery {
	TAILQ_ENTRY(ingest_delivery) link;
	struct ingest_row *rows;	/* one block with what they point to */
	size_t		 nevents;
	size_t		 bytes;		/* of that block */
	bool		 changes;	/* follow, unfollow or unsend in it */
	bool		 alone;		/* retry of a failed batch */
	ingest_done_fn	 done;
	void		*arg;
};

TAILQ_HEAD(ingest_queue, ingest_delivery);

struct ingest_batch {
	struct ingest		*ing;
	struct ingest_queue	 deliveries;
	size_t			 ndeliveries;
	size_t			 nevents;
	bool			 changes;
	int64_t			 sent_us;
};

struct ingest {
	struct db_pool		*pool;
	const struct keyring	*keys;
	char			*channel_kind;
	char			*channel_name;
	char			 channel_id[16];	/* "" until known */
	bool			 resolving;	/* channel lookup in flight */
	struct ingest_queue	 queue;		/* not yet sent */
	size_t			 queued;
	size_t			 queued_bytes;
	int			 batches;	/* in flight */
	size_t			 in_batches;	/* deliveries in flight */
	bool			 closed;
	ingest_calendar_fn	 calendar;
	ingest_queued_fn	 queued_fn;
	void			*hook_arg;
	ingest_crisis_fn	 crisis;
	void			*crisis_arg;
	struct metrics_histogram *batch_events;
	struct metrics_histogram *batch_deliveries;
	struct metrics_histogram *commit_seconds;
};

static void	ingest_pump(struct ingest *ing);

static const char *const ingest_kind_names[] = {
	[INBOUND_MESSAGE] = "message", [INBOUND_FOLLOW] = "follow",
	[INBOUND_UNFOLLOW] = "unfollow", [INBOUND_UNSEND] = "unsend",
};
/* The statement tells messages from the other kinds by name (see above). */
_Static_assert(sizeof(ingest_kind_names) / sizeof(ingest_kind_names[0]) == 4,
    "a new kind of event must be named in the ingest statement");

/* The events' columns, as the statement's array parameters. */
enum ingest_col {
	COL_EVENT_KEY, COL_KIND, COL_CONTACT_REF, COL_MESSAGE_KIND,
	COL_MESSAGE_REF, COL_BODY, COL_BODY_KEY_ID, COL_OCCURRED_AT,
	COL_REDELIVERY, COL_REPLY_TOKEN, COL_UNBLOCKED, COL_CRISIS_LEVEL,
	COL_CRISIS_RULE, COL_CRISIS_CONTEXT_LEVEL, COL_CRISIS_CONTEXT_RULE,
	COL_VIA, INGEST_NCOLS
};

static const uint32_t ingest_col_oid[INGEST_NCOLS] = {
	[COL_EVENT_KEY] = PG_OID_TEXT, [COL_KIND] = PG_OID_TEXT,
	[COL_CONTACT_REF] = PG_OID_TEXT, [COL_MESSAGE_KIND] = PG_OID_TEXT,
	[COL_MESSAGE_REF] = PG_OID_TEXT, [COL_BODY] = PG_OID_BYTEA,
	[COL_BODY_KEY_ID] = PG_OID_INT2, [COL_OCCURRED_AT] = PG_OID_TIMESTAMPTZ,
	[COL_REDELIVERY] = PG_OID_BOOL, [COL_REPLY_TOKEN] = PG_OID_TEXT,
	[COL_UNBLOCKED] = PG_OID_BOOL, [COL_CRISIS_LEVEL] = PG_OID_INT2,
	[COL_CRISIS_RULE] = PG_OID_TEXT, [COL_CRISIS_CONTEXT_LEVEL] = PG_OID_INT2,
	[COL_CRISIS_CONTEXT_RULE] = PG_OID_TEXT, [COL_VIA] = PG_OID_TEXT,
};

/* Which statement parameter ($n, from 0) carries each column. */
static const int ingest_col_param[INGEST_NCOLS] = {
	2, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
};
#define INGEST_NPARAMS	21

static size_t
ingest_str_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* Copies s into the block at *at; NULL stays NULL. */
static const char *
ingest_str_copy(char **at, const char *s)
{
	size_t n = ingest_str_size(s);
	char *copy = *at;

	if (s == NULL)
		return NULL;
	memcpy(copy, s, n);
	*at += n;
	return copy;
}

/*
 * The crisis check's verdict, made here so that every receiver's text is
 * checked before the transaction that stores it. The rule names a lexicon
 * line, never the message's words.
 */
static void
ingest_check_crisis(const struct ingest *ing, const struct inbound_event *ev,
    struct ingest_crisis *c)
{
	memset(c, 0, sizeof(*c));
	if (ing->crisis != NULL && ev->text != NULL)
		ing->crisis(ing->crisis_arg, ev->text, ev->text_len, c);
}

/* Room for one event's strings and sealed text in its delivery's block. */
static size_t
ingest_row_size(const struct inbound_event *ev, const struct ingest_crisis *c)
{
	return ingest_str_size(ev->event_key) +
	    ingest_str_size(ev->contact_ref) +
	    ingest_str_size(ev->message_kind) +
	    ingest_str_size(ev->message_ref) +
	    ingest_str_size(ev->reply_token) +
	    (c->level > 0 ? ingest_str_size(c->rule) : 0) +
	    (c->context_level > 0 ? ingest_str_size(c->context_rule) : 0) +
	    (ev->text != NULL ? ev->text_len + SEAL_OVERHEAD : 0);
}

static bool
ingest_row_fill(const struct ingest *ing, struct ingest_row *r,
    const struct inbound_event *ev, const struct ingest_crisis *c, char **at)
{
	int key_id;

	r->kind = ev->kind;
	r->event_key = ingest_str_copy(at, ev->event_key);
	r->contact_ref = ingest_str_copy(at, ev->contact_ref);
	r->message_kind = ingest_str_copy(at, ev->message_kind);
	r->message_ref = ingest_str_copy(at, ev->message_ref);
	r->reply_token = ingest_str_copy(at, ev->reply_token);
	r->occurred_us = ev->occurred_us;
	r->redelivery = ev->redelivery;
	r->unblocked = ev->unblocked;
	r->webchat = ev->webchat;
	r->crisis_level = (int16_t)c->level;
	r->crisis_context_level = (int16_t)c->context_level;
	r->crisis_rule = c->level > 0 ? ingest_str_copy(at, c->rule) : NULL;
	r->crisis_context_rule = c->context_level > 0 ?
	    ingest_str_copy(at, c->context_rule) : NULL;
	if (ev->text == NULL)
		return true;
	if (!seal(ing->keys, INGEST_BODY_AAD, ev->text, ev->text_len,
	    (uint8_t *)*at, &key_id))
		return false;
	r->body = (const uint8_t *)*at;
	r->body_len = ev->text_len + SEAL_OVERHEAD;
	r->body_key_id = (int16_t)key_id;
	*at += r->body_len;
	return true;
}

/* One block for the rows and all they point to: one free at the end. */
static bool
ingest_delivery_fill(const struct ingest *ing, struct ingest_delivery *d,
    const struct inbound_event *events, size_t n)
{
	struct ingest_crisis *c = calloc(n, sizeof(*c));
	size_t size = n * sizeof(struct ingest_row);
	bool ok = c != NULL;
	char *at;

	for (size_t i = 0; ok && i < n; i++) {
		ingest_check_crisis(ing, &events[i], &c[i]);
		size += ingest_row_size(&events[i], &c[i]);
	}
	if (!ok || (d->rows = calloc(1, size)) == NULL) {
		free(c);
		return false;
	}
	at = (char *)(d->rows + n);
	for (size_t i = 0; ok && i < n; i++) {
		ok = ingest_row_fill(ing, &d->rows[i], &events[i], &c[i], &at);
		d->changes |= events[i].kind != INBOUND_MESSAGE;
	}
	free(c);
	d->nevents = n;
	d->bytes = size;
	return ok;
}

static void
ingest_delivery_free(struct ingest_delivery *d)
{
	free(d->rows);
	free(d);
}

/* The queue and its two counters change only here. */
static void
ingest_queue_add(struct ingest *ing, struct ingest_delivery *d, bool at_head)
{
	if (at_head)
		TAILQ_INSERT_HEAD(&ing->queue, d, link);
	else
		TAILQ_INSERT_TAIL(&ing->queue, d, link);
	ing->queued++;
	ing->queued_bytes += d->bytes;
}

static struct ingest_delivery *
ingest_queue_take(struct ingest *ing)
{
	struct ingest_delivery *d = TAILQ_FIRST(&ing->queue);

	if (d != NULL) {
		TAILQ_REMOVE(&ing->queue, d, link);
		ing->queued--;
		ing->queued_bytes -= d->bytes;
	}
	return d;
}

bool
ingest_submit(struct ingest *ing, const struct inbound_event *events,
    size_t n, ingest_done_fn done, void *arg)
{
	struct ingest_delivery *d;

	if (n == 0 || ing->closed || db_pool_connected(ing->pool) == 0)
		return false;
	if (ing->queued_bytes > INGEST_QUEUE_MAX_BYTES) {
		metrics_add("madoguchi_ingest_refused_total", "reason=\"queue_full\"",
		    1);
		return false;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return false;
	if (!ingest_delivery_fill(ing, d, events, n)) {
		ingest_delivery_free(d);
		return false;
	}
	d->done = done;
	d->arg = arg;
	ingest_queue_add(ing, d, false);
	ingest_pump(ing);
	return true;
}

static void
ingest_batch_finish(struct ingest_batch *b, enum ingest_outcome outcome)
{
	struct ingest_delivery *d;

	while ((d = TAILQ_FIRST(&b->deliveries)) != NULL) {
		TAILQ_REMOVE(&b->deliveries, d, link);
		d->done(d->arg, outcome);
		ingest_delivery_free(d);
	}
	free(b);
}

/* Puts a rejected batch's deliveries back at the head, each to go alone. */
static void
ingest_batch_split(struct ingest_batch *b)
{
	struct ingest *ing = b->ing;
	struct ingest_delivery *d;

	while ((d = TAILQ_LAST(&b->deliveries, ingest_queue)) != NULL) {
		TAILQ_REMOVE(&b->deliveries, d, link);
		d->alone = true;
		ingest_queue_add(ing, d, true);
	}
	free(b);
}

static void
ingest_count_result(const struct ingest_batch *b, const PGresult *res,
    double seconds)
{
	long stored = atol(PQgetvalue(res, 0, 0));
	long duplicates = atol(PQgetvalue(res, 0, 1));

	metrics_add("madoguchi_ingest_events_total", "outcome=\"stored\"",
	    (uint64_t)stored);
	metrics_add("madoguchi_ingest_events_total", "outcome=\"duplicate\"",
	    (uint64_t)duplicates);
	log_info("ingest.committed", "deliveries=%zu stored=%ld duplicates=%ld "
	    "ms=%.1f", b->ndeliveries, stored, duplicates, seconds * 1e3);
	if (atol(PQgetvalue(res, 0, 3)) > 0 && b->ing->queued_fn != NULL)
		b->ing->queued_fn(b->ing->hook_arg);
}

static void
ingest_batch_done(void *arg, const PGresult *res, const char *why)
{
	struct ingest_batch *b = arg;
	struct ingest *ing = b->ing;
	double seconds = (double)(clock_now_us() - b->sent_us) / 1e6;

	ing->batches--;
	ing->in_batches -= b->ndeliveries;
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1) {
		metrics_observe(ing->commit_seconds, seconds);
		ingest_count_result(b, res, seconds);
		ingest_batch_finish(b, INGEST_COMMITTED);
	} else if (res != NULL && b->ndeliveries > 1) {
		log_warn("ingest.batch_rejected", "deliveries=%zu sqlstate=%s "
		    "action=split", b->ndeliveries,
		    db_sqlstate(res));
		metrics_add("madoguchi_ingest_batches_split_total", "", 1);
		ingest_batch_split(b);
	} else {
		log_error("ingest.batch_failed", "deliveries=%zu events=%zu "
		    "sqlstate=%s reason=\"%s\"", b->ndeliveries, b->nevents,
		    db_sqlstate(res),
		    res ? "rejected by server" : why);
		metrics_add("madoguchi_ingest_batches_failed_total", "", 1);
		ingest_batch_finish(b, INGEST_FAILED);
	}
	ingest_pump(ing);
}

/* A batch's events as the statement's columns (see INGEST_CORE). */
struct ingest_columns {
	struct pg_array	 col[INGEST_NCOLS];
};

static bool
ingest_columns_init(struct ingest_columns *cols)
{
	bool ok = true;

	for (int c = 0; c < INGEST_NCOLS; c++)
		ok &= pg_array_init(&cols->col[c], ingest_col_oid[c]);
	return ok;
}

static void
ingest_columns_free(struct ingest_columns *cols)
{
	for (int c = 0; c < INGEST_NCOLS; c++)
		pg_array_free(&cols->col[c]);
}

static void
ingest_columns_add(struct ingest_columns *cols, const struct ingest_row *r)
{
	struct pg_array *a = cols->col;

	pg_array_add_text(&a[COL_EVENT_KEY], r->event_key);
	pg_array_add_text(&a[COL_KIND], ingest_kind_names[r->kind]);
	pg_array_add_text(&a[COL_CONTACT_REF], r->contact_ref);
	pg_array_add_text(&a[COL_MESSAGE_KIND], r->message_kind);
	pg_array_add_text(&a[COL_MESSAGE_REF], r->message_ref);
	pg_array_add(&a[COL_BODY], r->body, r->body_len);
	if (r->body != NULL)
		pg_array_add_int2(&a[COL_BODY_KEY_ID], r->body_key_id);
	else
		pg_array_add(&a[COL_BODY_KEY_ID], NULL, 0);
	/* To the millisecond, as received_at ($2) is: a message sent and
	 * received in the same instant never seems sent after it came. */
	pg_array_add_unix_us(&a[COL_OCCURRED_AT], r->occurred_us / 1000 * 1000);
	pg_array_add_bool(&a[COL_REDELIVERY], r->redelivery);
	pg_array_add_text(&a[COL_REPLY_TOKEN], r->reply_token);
	pg_array_add_bool(&a[COL_UNBLOCKED], r->unblocked);
	pg_array_add_int2(&a[COL_CRISIS_LEVEL], r->crisis_level);
	pg_array_add_text(&a[COL_CRISIS_RULE], r->crisis_rule);
	pg_array_add_int2(&a[COL_CRISIS_CONTEXT_LEVEL], r->crisis_context_level);
	pg_array_add_text(&a[COL_CRISIS_CONTEXT_RULE], r->crisis_context_rule);
	pg_array_add_text(&a[COL_VIA], r->webchat ? "webchat" : NULL);
}

/*
 * The columns as parameters, in binary form: false when memory ran out.
 * They point into cols until ingest_columns_free.
 */
static bool
ingest_columns_params(struct ingest_columns *cols, const char **values,
    int *lengths, int *formats)
{
	for (int c = 0; c < INGEST_NCOLS; c++) {
		int p = ingest_col_param[c];

		if ((values[p] = pg_array_finish(&cols->col[c],
		    &lengths[p])) == NULL)
			return false;
		formats[p] = 1;
	}
	return true;
}

/*
 * Takes queued deliveries into a batch, up to the limits. The deliveries
 * keep their rows: a split batch sends them again, each on its own.
 */
static struct ingest_batch *
ingest_batch_take(struct ingest *ing, struct ingest_columns *cols)
{
	struct ingest_batch *b = calloc(1, sizeof(*b));
	struct ingest_delivery *d;
	size_t bytes = 0;

	if (b == NULL)
		return NULL;
	b->ing = ing;
	TAILQ_INIT(&b->deliveries);
	while ((d = TAILQ_FIRST(&ing->queue)) != NULL) {
		if (b->ndeliveries > 0 && (d->alone ||
		    b->nevents + d->nevents > INGEST_BATCH_MAX_EVENTS ||
		    bytes + d->bytes > INGEST_BATCH_MAX_BYTES))
			break;
		(void)ingest_queue_take(ing);
		for (size_t i = 0; i < d->nevents; i++)
			ingest_columns_add(cols, &d->rows[i]);
		TAILQ_INSERT_TAIL(&b->deliveries, d, link);
		bytes += d->bytes;
		b->ndeliveries++;
		b->nevents += d->nevents;
		b->changes |= d->changes;
		if (d->alone)
			break;
	}
	return b;
}

static void
ingest_fail_queued(struct ingest *ing)
{
	struct ingest_delivery *d;

	while ((d = ingest_queue_take(ing)) != NULL) {
		d->done(d->arg, INGEST_FAILED);
		ingest_delivery_free(d);
	}
}

static void
ingest_channel_done(void *arg, const PGresult *res, const char *why)
{
	struct ingest *ing = arg;

	ing->resolving = false;
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1) {
		snprintf(ing->channel_id, sizeof(ing->channel_id), "%s",
		    PQgetvalue(res, 0, 0));
		log_info("ingest.channel", "kind=%s name=%s id=%s",
		    ing->channel_kind, ing->channel_name, ing->channel_id);
		ingest_pump(ing);
		return;
	}
	log_error("ingest.channel_failed", "sqlstate=%s reason=\"%s\"",
	    db_sqlstate(res),
	    res ? "rejected by server" : why);
	ingest_fail_queued(ing);
}

/* Batches need the channel's id; the first delivery asks for it. */
static bool
ingest_channel_known(struct ingest *ing)
{
	const char *params[2] = { ing->channel_kind, ing->channel_name };

	if (ing->channel_id[0] != '\0')
		return true;
	if (!ing->resolving) {
		if (!db_query(ing->pool, ingest_channel_sql, 2, params,
		    ingest_channel_done, ing))
			ingest_fail_queued(ing);
		else
			ing->resolving = true;
	}
	return false;
}

/* Sends a batch: false if it could not go (the caller fails it). */
static bool
ingest_batch_send(struct ingest *ing, struct ingest_batch *b,
    struct ingest_columns *cols)
{
	char when[CLOCK_ISO_LEN], closed_since[CLOCK_ISO_LEN];
	char reply_due[CLOCK_ISO_LEN];
	struct ingest_calendar cal = { -1, -1, false };
	const char *params[INGEST_NPARAMS];
	int lengths[INGEST_NPARAMS] = { 0 }, formats[INGEST_NPARAMS] = { 0 };

	if (!ingest_columns_params(cols, params, lengths, formats))
		return false;
	b->sent_us = clock_now_us();
	clock_format_utc(b->sent_us, when);
	params[0] = ing->channel_id;
	params[1] = when;
	if (ing->calendar != NULL)
		ing->calendar(ing->hook_arg, b->sent_us, &cal);
	if (cal.closed_since_us >= 0)
		clock_format_utc(cal.closed_since_us, closed_since);
	if (cal.reply_due_us >= 0)
		clock_format_utc(cal.reply_due_us, reply_due);
	params[3] = cal.closed_since_us >= 0 ? closed_since : NULL;
	params[4] = cal.reply_due_us >= 0 ? reply_due : NULL;
	params[5] = cal.strict ? "true" : "false";
	return db_query_prepared_binary(ing->pool, b->changes ? "ingest_all" :
	    "ingest_messages", b->changes ? ingest_sql_all :
	    ingest_sql_messages, INGEST_NPARAMS, params, lengths, formats,
	    ingest_batch_done, b);
}

static void
ingest_pump(struct ingest *ing)
{
	while (!TAILQ_EMPTY(&ing->queue) && ingest_channel_known(ing) &&
	    ing->batches < INGEST_MAX_BATCHES) {
		struct ingest_columns cols;
		struct ingest_batch *b;

		if (!ingest_columns_init(&cols) ||
		    (b = ingest_batch_take(ing, &cols)) == NULL) {
			ingest_columns_free(&cols);
			ingest_fail_queued(ing);
			return;
		}
		metrics_observe(ing->batch_events, (double)b->nevents);
		metrics_observe(ing->batch_deliveries, (double)b->ndeliveries);
		ing->batches++;
		ing->in_batches += b->ndeliveries;
		if (!ingest_batch_send(ing, b, &cols)) {
			ing->batches--;
			ing->in_batches -= b->ndeliveries;
			ingest_columns_free(&cols);
			ingest_batch_finish(b, INGEST_FAILED);
			ingest_fail_queued(ing);
			return;
		}
		ingest_columns_free(&cols);
	}
}

struct ingest *
ingest_new(struct db_pool *pool, const struct keyring *keys,
    const char *channel_kind, const char *channel_name)
{
	static const double sizes[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512 };
	static const double seconds[] = { 0.0005, 0.001, 0.002, 0.005, 0.01,
	    0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
	struct ingest *ing = calloc(1, sizeof(*ing));

	if (ing == NULL)
		return NULL;
	ing->pool = pool;
	ing->keys = keys;
	TAILQ_INIT(&ing->queue);
	ing->channel_kind = strdup(channel_kind);
	ing->channel_name = strdup(channel_name);
	if (ing->channel_kind == NULL || ing->channel_name == NULL) {
		ingest_free(ing);
		return NULL;
	}
	ing->batch_events = metrics_histogram("madoguchi_ingest_batch_events",
	    "Events per group commit", sizes, 10);
	ing->batch_deliveries = metrics_histogram(
	    "madoguchi_ingest_batch_deliveries",
	    "Webhook deliveries answered by one group commit", sizes, 10);
	ing->commit_seconds = metrics_histogram(
	    "madoguchi_ingest_commit_seconds",
	    "From sending a batch to its commit being confirmed", seconds, 13);
	metrics_describe("madoguchi_ingest_events_total", "counter",
	    "Inbound events committed, new or already stored");
	return ing;
}

void
ingest_free(struct ingest *ing)
{
	struct ingest_delivery *d;

	if (ing == NULL)
		return;
	while ((d = ingest_queue_take(ing)) != NULL)
		ingest_delivery_free(d);
	free(ing->channel_kind);
	free(ing->channel_name);
	free(ing);
}

void
ingest_set_crisis(struct ingest *ing, ingest_crisis_fn check, void *arg)
{
	ing->crisis = check;
	ing->crisis_arg = arg;
}

void
ingest_set_autoreply(struct ingest *ing, ingest_calendar_fn calendar,
    ingest_queued_fn queued, void *arg)
{
	ing->calendar = calendar;
	ing->queued_fn = queued;
	ing->hook_arg = arg;
}

size_t
ingest_pending(const struct ingest *ing)
{
	return ing->queued + ing->in_batches;
}

void
ingest_close(struct ingest *ing)
{
	ing->closed = true;
}
