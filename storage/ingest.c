/*
 * ingest.c - inbound events into PostgreSQL with group commit.
 *
 * Each delivery (one webhook request) is encoded at once into a JSON
 * fragment, its text sealed, and queued. While fewer batches are in flight
 * than there are connections, everything queued goes out as one call of
 * ingest_events(): one statement, one commit, however many deliveries it
 * holds. Under load, deliveries pile up while a commit is flushing, so the
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
#include <openssl/crypto.h>

#include "clock.h"
#include "json_write.h"
#include "log.h"
#include "metrics.h"
#include "seal.h"

#define INGEST_BATCH_MAX_EVENTS	512
#define INGEST_BATCH_MAX_BYTES	(4 << 20)
#define INGEST_BODY_AAD		"messages.body"

static const char ingest_sql[] =
    "SELECT stored, duplicates FROM ingest_events($1, $2, $3, $4)";

struct ingest_delivery {
	TAILQ_ENTRY(ingest_delivery) link;
	struct evbuffer	*events;	/* JSON objects joined by commas */
	size_t		 nevents;
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
	int64_t			 sent_us;
};

struct ingest {
	struct db_pool		*pool;
	const struct keyring	*keys;
	char			*channel_kind;
	char			*channel_name;
	struct ingest_queue	 queue;		/* not yet sent */
	size_t			 queued;
	int			 batches;	/* in flight */
	size_t			 in_batches;	/* deliveries in flight */
	bool			 closed;
	struct metrics_histogram *batch_events;
	struct metrics_histogram *batch_deliveries;
	struct metrics_histogram *commit_seconds;
};

static void	ingest_pump(struct ingest *ing);

static const char *const ingest_kind_names[] = {
	[INBOUND_MESSAGE] = "message", [INBOUND_FOLLOW] = "follow",
	[INBOUND_UNFOLLOW] = "unfollow", [INBOUND_UNSEND] = "unsend",
};

static void
ingest_write_key(struct evbuffer *out, const char *key, const char *value)
{
	evbuffer_add_printf(out, ",\"%s\":", key);
	if (value == NULL)
		evbuffer_add(out, "null", 4);
	else
		json_write_string(out, value);
}

/* The sealed text as a bytea literal in hex, which jsonb_populate_record takes. */
static bool
ingest_write_body(const struct ingest *ing, struct evbuffer *out,
    const struct inbound_event *ev)
{
	static const char hex[] = "0123456789abcdef";
	size_t sealed_len = ev->text_len + SEAL_OVERHEAD;
	uint8_t *sealed = malloc(sealed_len);
	char *text;
	int key_id;

	if (sealed == NULL || (text = malloc(2 * sealed_len + 1)) == NULL) {
		free(sealed);
		return false;
	}
	if (!seal(ing->keys, INGEST_BODY_AAD, ev->text, ev->text_len, sealed,
	    &key_id)) {
		free(sealed);
		free(text);
		return false;
	}
	for (size_t i = 0; i < sealed_len; i++) {
		text[2 * i] = hex[sealed[i] >> 4];
		text[2 * i + 1] = hex[sealed[i] & 15];
	}
	evbuffer_add_printf(out, ",\"body\":\"\\\\x");
	evbuffer_add(out, text, 2 * sealed_len);
	evbuffer_add_printf(out, "\",\"body_key_id\":%d", key_id);
	free(sealed);
	free(text);
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
	if (ev->text != NULL && !ingest_write_body(ing, out, ev))
		return false;
	return evbuffer_add(out, "}", 1) == 0;
}

static void
ingest_delivery_free(struct ingest_delivery *d)
{
	evbuffer_free(d->events);
	free(d);
}

bool
ingest_submit(struct ingest *ing, const struct inbound_event *events,
    size_t n, ingest_done_fn done, void *arg)
{
	struct ingest_delivery *d;

	if (n == 0 || ing->closed || db_pool_connected(ing->pool) == 0)
		return false;
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
	}
	d->nevents = n;
	d->done = done;
	d->arg = arg;
	TAILQ_INSERT_TAIL(&ing->queue, d, link);
	ing->queued++;
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
		TAILQ_INSERT_HEAD(&ing->queue, d, link);
		ing->queued++;
	}
	free(b);
}

static void
ingest_count_result(const PGresult *res)
{
	long stored = atol(PQgetvalue(res, 0, 0));
	long duplicates = atol(PQgetvalue(res, 0, 1));

	metrics_add("madoguchi_ingest_events_total", "outcome=\"stored\"",
	    (uint64_t)stored);
	metrics_add("madoguchi_ingest_events_total", "outcome=\"duplicate\"",
	    (uint64_t)duplicates);
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
		ingest_count_result(res);
		ingest_batch_finish(b, INGEST_COMMITTED);
	} else if (res != NULL && b->ndeliveries > 1) {
		log_warn("ingest.batch_rejected", "deliveries=%zu sqlstate=%s "
		    "action=split", b->ndeliveries,
		    PQresultErrorField(res, PG_DIAG_SQLSTATE));
		metrics_add("madoguchi_ingest_batches_split_total", "", 1);
		ingest_batch_split(b);
	} else {
		log_error("ingest.batch_failed", "deliveries=%zu events=%zu "
		    "sqlstate=%s reason=\"%s\"", b->ndeliveries, b->nevents,
		    res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "none",
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
		TAILQ_REMOVE(&ing->queue, d, link);
		ing->queued--;
		if (b->nevents > 0)
			evbuffer_add(json, ",", 1);
		/* Copy, not move: a split batch must still have its events. */
		evbuffer_add(json, evbuffer_pullup(d->events, -1),
		    evbuffer_get_length(d->events));
		TAILQ_INSERT_TAIL(&b->deliveries, d, link);
		b->ndeliveries++;
		b->nevents += d->nevents;
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

	while ((d = TAILQ_FIRST(&ing->queue)) != NULL) {
		TAILQ_REMOVE(&ing->queue, d, link);
		ing->queued--;
		d->done(d->arg, INGEST_FAILED);
		ingest_delivery_free(d);
	}
}

static void
ingest_pump(struct ingest *ing)
{
	while (!TAILQ_EMPTY(&ing->queue) &&
	    ing->batches < db_pool_size(ing->pool)) {
		struct evbuffer *json = evbuffer_new();
		struct ingest_batch *b;
		char when[CLOCK_ISO_LEN];
		const char *params[4];

		if (json == NULL || (b = ingest_batch_take(ing, json)) == NULL) {
			if (json != NULL)
				evbuffer_free(json);
			ingest_fail_queued(ing);
			return;
		}
		b->sent_us = clock_now_us();
		clock_format_utc(b->sent_us, when);
		params[0] = ing->channel_kind;
		params[1] = ing->channel_name;
		params[2] = when;
		params[3] = (const char *)evbuffer_pullup(json, -1);
		if (!db_query(ing->pool, ingest_sql, 4, params,
		    ingest_batch_done, b)) {
			evbuffer_free(json);
			ingest_batch_finish(b, INGEST_FAILED);
			ingest_fail_queued(ing);
			return;
		}
		metrics_observe(ing->batch_events, (double)b->nevents);
		metrics_observe(ing->batch_deliveries, (double)b->ndeliveries);
		ing->batches++;
		ing->in_batches += b->ndeliveries;
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
	while ((d = TAILQ_FIRST(&ing->queue)) != NULL) {
		TAILQ_REMOVE(&ing->queue, d, link);
		ingest_delivery_free(d);
	}
	free(ing->channel_kind);
	free(ing->channel_name);
	free(ing);
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
