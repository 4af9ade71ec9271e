/*
 * ingest.c - inbound events into PostgreSQL with group commit.
 *
 * Each delivery (one webhook request) is encoded at once into a JSON
 * fragment, its text sealed, and queued. When no batch is in flight,
 * everything queued goes out as one statement (ingest_sql): one commit,
 * however many deliveries it holds. Under load, deliveries pile up while a commit is flushing, so the
 * next commit carries them all; alone, a delivery goes out at once.
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
#include "json_write.h"
#include "log.h"
#include "metrics.h"
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
 * One batch, one statement: $1 channel id, $2 received at, $3 the events.
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
 * The events arrive as json, not jsonb: the statement reads them once, and
 * building the binary form first took about a tenth of the ingest
 * backend's time.
 */
#define INGEST_CORE \
"WITH ev AS ("\
"  SELECT * FROM json_to_recordset($3::json) AS e(event_key text, kind text,"\
"    contact_ref text, message_kind text, message_ref text, body text,"\
"    body_key_id smallint, occurred_at timestamptz, redelivery boolean,"\
"    reply_token text, unblocked boolean, crisis_level smallint,"\
"    crisis_rule text, crisis_context_level smallint,"\
"    crisis_context_rule text, via text)"\
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
"  SELECT cv.* FROM who w,"\
"    LATERAL (SELECT id, contact_id, state, waiting_since,"\
"                    busy_replied_at, text_only_replied_at, crisis_level"\
"               FROM conversations"\
"              WHERE contact_id = w.id AND state <> 'closed' LIMIT 1"\
"              FOR KEY SHARE) cv"\
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
"      CASE WHEN NOT x.retracted THEN decode(e.body, 'base64') END,"\
"      CASE WHEN NOT x.retracted THEN e.body_key_id END,"\
"      e.occurred_at, $2, CASE WHEN x.retracted THEN $2 END,"\
"      coalesce(e.crisis_level, 0), e.crisis_rule,"\
"      CASE WHEN conv.crisis_level > 0 THEN coalesce(e.crisis_context_level, 0)"\
"        ELSE 0 END, e.crisis_context_rule, coalesce(e.via, 'channel')"\
"    FROM new_ev e JOIN who w ON w.external_id = e.contact_ref"\
"    JOIN conv ON conv.contact_id = w.id,"\
"    LATERAL (SELECT coalesce(e.message_ref IN (SELECT message_ref FROM new_ev"\
"                                      WHERE kind = 'unsend'), false)"\
"        OR EXISTS (SELECT 1 FROM webhook_events t WHERE t.channel_id = $1"\
"                    AND t.kind = 'unsend' AND t.message_ref = e.message_ref)"\
"      AS retracted) x"\
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

struct ingest_delivery {
	TAILQ_ENTRY(ingest_delivery) link;
	struct evbuffer	*events;	/* JSON objects joined by commas */
	size_t		 nevents;
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

static void
ingest_write_key(struct evbuffer *out, const char *key, const char *value)
{
	evbuffer_add_printf(out, ",\"%s\":", key);
	if (value == NULL)
		evbuffer_add(out, "null", 4);
	else
		json_write_string(out, value);
}

/* The sealed text in base64, decoded by the statement. */
static bool
ingest_write_body(const struct ingest *ing, struct evbuffer *out,
    const struct inbound_event *ev)
{
	int key_id;
	char *b64 = seal_base64(ing->keys, INGEST_BODY_AAD, ev->text,
	    ev->text_len, &key_id);

	if (b64 == NULL)
		return false;
	evbuffer_add_printf(out, ",\"body\":\"%s\",\"body_key_id\":%d", b64,
	    key_id);
	free(b64);
	return true;
}

/*
 * The crisis check's verdict, made here so that every receiver's text is
 * checked before the transaction that stores it. The rule names a lexicon
 * line, never the message's words.
 */
static bool
ingest_write_crisis(const struct ingest *ing, struct evbuffer *out,
    const struct inbound_event *ev)
{
	struct ingest_crisis c;

	if (ing->crisis == NULL)
		return true;
	memset(&c, 0, sizeof(c));
	ing->crisis(ing->crisis_arg, ev->text, ev->text_len, &c);
	if (c.level == 0 && c.context_level == 0)
		return true;
	evbuffer_add_printf(out, ",\"crisis_level\":%d,\"crisis_context_level\":%d",
	    c.level, c.context_level);
	if (c.level > 0)
		ingest_write_key(out, "crisis_rule", c.rule);
	if (c.context_level > 0)
		ingest_write_key(out, "crisis_context_rule", c.context_rule);
	return true;
}

static bool
ingest_write_event(const struct ingest *ing, struct evbuffer *out,
    const struct inbound_event *ev)
{
	char when[CLOCK_ISO_LEN];

	clock_format_utc(ev->occurred_us, when);
	evbuffer_add_printf(out, "{\"kind\":\"%s\",\"occurred_at\":\"%s\","
	    "\"redelivery\":%s,\"unblocked\":%s", ingest_kind_names[ev->kind],
	    when, ev->redelivery ? "true" : "false",
	    ev->unblocked ? "true" : "false");
	ingest_write_key(out, "event_key", ev->event_key);
	ingest_write_key(out, "contact_ref", ev->contact_ref);
	ingest_write_key(out, "message_kind", ev->message_kind);
	ingest_write_key(out, "message_ref", ev->message_ref);
	ingest_write_key(out, "reply_token", ev->reply_token);
	if (ev->webchat)
		evbuffer_add(out, ",\"via\":\"webchat\"", 16);
	if (ev->text != NULL && (!ingest_write_body(ing, out, ev) ||
	    !ingest_write_crisis(ing, out, ev)))
		return false;
	return evbuffer_add(out, "}", 1) == 0;
}

static void
ingest_delivery_free(struct ingest_delivery *d)
{
	evbuffer_free(d->events);
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
	ing->queued_bytes += evbuffer_get_length(d->events);
}

static struct ingest_delivery *
ingest_queue_take(struct ingest *ing)
{
	struct ingest_delivery *d = TAILQ_FIRST(&ing->queue);

	if (d != NULL) {
		TAILQ_REMOVE(&ing->queue, d, link);
		ing->queued--;
		ing->queued_bytes -= evbuffer_get_length(d->events);
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
	if ((d->events = evbuffer_new()) == NULL) {
		free(d);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if ((i > 0 && evbuffer_add(d->events, ",", 1) != 0) ||
		    !ingest_write_event(ing, d->events, &events[i])) {
			ingest_delivery_free(d);
			return false;
		}
		d->changes |= events[i].kind != INBOUND_MESSAGE;
	}
	d->nevents = n;
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

/* Takes queued deliveries into a batch, up to the limits. */
static struct ingest_batch *
ingest_batch_take(struct ingest *ing, struct evbuffer *json)
{
	struct ingest_batch *b = calloc(1, sizeof(*b));
	struct ingest_delivery *d;

	if (b == NULL)
		return NULL;
	b->ing = ing;
	TAILQ_INIT(&b->deliveries);
	evbuffer_add(json, "[", 1);
	while ((d = TAILQ_FIRST(&ing->queue)) != NULL) {
		if (b->ndeliveries > 0 && (d->alone ||
		    b->nevents + d->nevents > INGEST_BATCH_MAX_EVENTS ||
		    evbuffer_get_length(json) + evbuffer_get_length(d->events) >
		    INGEST_BATCH_MAX_BYTES))
			break;
		(void)ingest_queue_take(ing);
		if (b->nevents > 0)
			evbuffer_add(json, ",", 1);
		/* Copy, not move: a split batch must still have its events. */
		evbuffer_add(json, evbuffer_pullup(d->events, -1),
		    evbuffer_get_length(d->events));
		TAILQ_INSERT_TAIL(&b->deliveries, d, link);
		b->ndeliveries++;
		b->nevents += d->nevents;
		b->changes |= d->changes;
		if (d->alone)
			break;
	}
	evbuffer_add(json, "]", 2);	/* with its NUL: a C string */
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

static void
ingest_pump(struct ingest *ing)
{
	while (!TAILQ_EMPTY(&ing->queue) && ingest_channel_known(ing) &&
	    ing->batches < INGEST_MAX_BATCHES) {
		struct evbuffer *json = evbuffer_new();
		struct ingest_batch *b;
		char when[CLOCK_ISO_LEN], closed_since[CLOCK_ISO_LEN];
		char reply_due[CLOCK_ISO_LEN];
		struct ingest_calendar cal = { -1, -1, false };
		const char *params[6];

		if (json == NULL || (b = ingest_batch_take(ing, json)) == NULL) {
			if (json != NULL)
				evbuffer_free(json);
			ingest_fail_queued(ing);
			return;
		}
		b->sent_us = clock_now_us();
		clock_format_utc(b->sent_us, when);
		params[0] = ing->channel_id;
		params[1] = when;
		params[2] = (const char *)evbuffer_pullup(json, -1);
		if (ing->calendar != NULL)
			ing->calendar(ing->hook_arg, b->sent_us, &cal);
		if (cal.closed_since_us >= 0)
			clock_format_utc(cal.closed_since_us, closed_since);
		if (cal.reply_due_us >= 0)
			clock_format_utc(cal.reply_due_us, reply_due);
		params[3] = cal.closed_since_us >= 0 ? closed_since : NULL;
		params[4] = cal.reply_due_us >= 0 ? reply_due : NULL;
		params[5] = cal.strict ? "true" : "false";
		metrics_observe(ing->batch_events, (double)b->nevents);
		metrics_observe(ing->batch_deliveries, (double)b->ndeliveries);
		ing->batches++;
		ing->in_batches += b->ndeliveries;
		if (!db_query_prepared(ing->pool, b->changes ? "ingest_all" :
		    "ingest_messages", b->changes ? ingest_sql_all :
		    ingest_sql_messages, 6, params, ingest_batch_done, b)) {
			ing->batches--;
			ing->in_batches -= b->ndeliveries;
			evbuffer_free(json);
			ingest_batch_finish(b, INGEST_FAILED);
			ingest_fail_queued(ing);
			return;
		}
		evbuffer_free(json);
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
