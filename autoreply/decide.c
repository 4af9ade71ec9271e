/*
 * decide.c - what the desk says to each queued event: the emergency
 * numbers, text-only, after-hours, busy, greeting and hand-off replies,
 * from the state worker.c read in the event's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "worker_internal.h"

static int64_t
col_us(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? -1 :
	    strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Was it said since the wait began (or, for after-hours, the period)? */
static bool
said_since(int64_t said_us, int64_t since_us)
{
	return said_us >= 0 && said_us >= since_us;
}

static bool
desk_busy(const struct autoreply *ar, const PGresult *res, int row)
{
	long online = atol(PQgetvalue(res, row, COL_ONLINE));
	long signed_in = atol(PQgetvalue(res, row, COL_SIGNED_IN));
	long supervisors = atol(PQgetvalue(res, row, COL_SUPERVISORS));
	long free_slots = atol(PQgetvalue(res, row, COL_FREE_SLOTS));
	long ahead = atol(PQgetvalue(res, row, COL_AHEAD));

	return online == 0 || signed_in < ar->desk.min_staff_on_duty ||
	    supervisors < ar->desk.min_supervisors_on_duty ||
	    free_slots <= ahead;
}

/* Appends kind's text to the decision; the kinds list grows with it. */
static void
decision_add(struct autoreply *ar, struct decision *d, enum autoreply_kind k,
    const struct autoreply_vars *v)
{
	char *t = autoreply_render(&ar->desk, k, v), *joined;
	size_t n = strlen(d->kinds);

	if (t == NULL || *t == '\0') {	/* the desk turned this reply off */
		free(t);
		return;
	}
	if (d->text == NULL)
		joined = t;
	else {
		size_t len = strlen(d->text) + 2 + strlen(t) + 1;

		if ((joined = malloc(len)) != NULL)
			snprintf(joined, len, "%s\n\n%s", d->text, t);
		free(t);
		free(d->text);
	}
	d->text = joined;
	snprintf(d->kinds + n, sizeof(d->kinds) - n, "%s%s", n == 0 ? "{" :
	    ",", autoreply_kind_names[k]);
}

static void
mark_add(struct evbuffer *list, const char *id)
{
	evbuffer_add_printf(list, "%s%s", evbuffer_get_length(list) > 0 ? "," :
	    "", id);
}

/* A later event of the same contact in this batch sees what was decided. */
static void
batch_note_said(PGresult *res, int from, const char *contact, int col,
    const char *conversation, int64_t now_us)
{
	char now[24];

	snprintf(now, sizeof(now), "%lld", (long long)now_us);
	for (int i = from; i < PQntuples(res); i++) {
		const char *key = col == COL_AFTER_HOURS_AT ? contact : conversation;
		int key_col = col == COL_AFTER_HOURS_AT ? COL_CONTACT :
		    COL_CONVERSATION;

		if (strcmp(PQgetvalue(res, i, key_col), key) == 0)
			PQsetvalue(res, i, col, now, (int)strlen(now));
	}
}

/*
 * A conversation that rose to high while nobody can answer (the desk is
 * closed, or nobody is signed in) gets the emergency numbers at once,
 * once per rise.
 */
static bool
crisis_reply_owed(const PGresult *res, int row, const struct calendar *cal,
    int64_t now_s)
{
	return atoi(PQgetvalue(res, row, COL_CRISIS_LEVEL)) == 2 &&
	    (!calendar_is_open(cal, now_s) ||
	    atol(PQgetvalue(res, row, COL_SIGNED_IN)) == 0) &&
	    !said_since(col_us(res, row, COL_CRISIS_REPLIED_AT),
	    col_us(res, row, COL_CRISIS_RAISED_AT));
}

/* The emergency numbers, when owed: even to a contact who is paused. */
static void
decide_crisis(struct batch *b, PGresult *res, int row, struct decision *d)
{
	struct autoreply_vars v = { .now = b->now_us / 1000000 };

	if (!crisis_reply_owed(res, row, &b->ar->desk.cal, v.now))
		return;
	decision_add(b->ar, d, AUTOREPLY_CRISIS, &v);
	mark_add(b->mark[MARK_CRISIS], d->conversation_id);
	batch_note_said(res, row + 1, d->contact_id, COL_CRISIS_REPLIED_AT,
	    d->conversation_id, b->now_us);
}

/* An earlier event of this person's in the batch already got a link. */
static bool
batch_linked(const struct batch *b, const struct decision *d)
{
	for (const struct decision *e = b->d; e < d; e++)
		if (e->link && strcmp(e->contact_id, d->contact_id) == 0)
			return true;
	return false;
}

/*
 * Strict mode: whatever is sent on LINE (text, or a sticker or image,
 * which the text-only reply there sends to the web chat too) is answered
 * with the hand-off link, unless one sent earlier is still unused and
 * valid.
 */
static void
decide_handoff(struct batch *b, PGresult *res, int row, struct decision *d)
{
	struct autoreply *ar = b->ar;
	struct autoreply_vars v = { .now = b->now_us / 1000000 };

	if (!ar->desk.strict || d->webchat ||
	    PQgetvalue(res, row, COL_LIVE_LINK)[0] == 't' || batch_linked(b, d))
		return;
	if (ar->public_url[0] == '\0') {
		/* once a minute, not once a message: a desk left strict
		 * without public_url would flood its own log */
		if (b->now_us - ar->no_url_warned_us >= 60 * INT64_C(1000000)) {
			ar->no_url_warned_us = b->now_us;
			log_error("autoreply.handoff_impossible", "contact=%s "
			    "reason=\"strict mode without public_url: nobody "
			    "could open a link\"", d->contact_id);
		}
		return;
	}
	decision_add(ar, d, AUTOREPLY_HANDOFF, &v);
	d->link = d->text != NULL;
}

static void
decide_message(struct batch *b, PGresult *res, int row, struct decision *d)
{
	struct autoreply *ar = b->ar;
	const struct calendar *cal = &ar->desk.cal;
	int64_t now_s = b->now_us / 1000000;
	int64_t waiting = col_us(res, row, COL_WAITING_SINCE);
	struct autoreply_vars v = { .now = now_s,
	    .ahead = atoi(PQgetvalue(res, row, COL_AHEAD)) };

	decide_crisis(b, res, row, d);
	if (strcmp(PQgetvalue(res, row, COL_MESSAGE_KIND), "text") != 0 &&
	    !said_since(col_us(res, row, COL_TEXT_ONLY_AT), waiting)) {
		decision_add(ar, d, AUTOREPLY_TEXT_ONLY, &v);
		mark_add(b->mark[MARK_TEXT_ONLY], d->conversation_id);
		batch_note_said(res, row + 1, d->contact_id, COL_TEXT_ONLY_AT,
		    d->conversation_id, b->now_us);
	}
	if (!calendar_is_open(cal, now_s)) {
		int64_t since = calendar_closed_since(cal, now_s);

		if (!said_since(col_us(res, row, COL_AFTER_HOURS_AT),
		    since < 0 ? 0 : since * 1000000)) {
			decision_add(ar, d, AUTOREPLY_AFTER_HOURS, &v);
			mark_add(b->mark[MARK_AFTER_HOURS], d->contact_id);
			batch_note_said(res, row + 1, d->contact_id,
			    COL_AFTER_HOURS_AT, NULL, b->now_us);
		}
	} else if (strcmp(PQgetvalue(res, row, COL_CONV_STATE), "waiting") == 0 &&
	    PQgetvalue(res, row, COL_ASSIGNEE_ONLINE)[0] != 't' &&
	    !said_since(col_us(res, row, COL_BUSY_AT), waiting) &&
	    desk_busy(ar, res, row)) {
		decision_add(ar, d, AUTOREPLY_BUSY, &v);
		mark_add(b->mark[MARK_BUSY], d->conversation_id);
		batch_note_said(res, row + 1, d->contact_id, COL_BUSY_AT,
		    d->conversation_id, b->now_us);
	}
	decide_handoff(b, res, row, d);
}

void
batch_decide(struct batch *b, PGresult *res)
{
	for (int i = 0; i < PQntuples(res) && b->nd < WORKER_BATCH; i++) {
		struct decision *d = &b->d[b->nd++];
		struct autoreply_vars v = { .now = b->now_us / 1000000 };

		snprintf(d->contact_id, sizeof(d->contact_id), "%s",
		    PQgetvalue(res, i, COL_CONTACT));
		snprintf(d->conversation_id, sizeof(d->conversation_id), "%s",
		    PQgetvalue(res, i, COL_CONVERSATION));
		snprintf(d->channel_id, sizeof(d->channel_id), "%s",
		    PQgetvalue(res, i, COL_CHANNEL));
		d->webchat = PQgetvalue(res, i, COL_WEBCHAT)[0] == 't';
		if (!PQgetisnull(res, i, COL_REPLY_TOKEN)) {
			d->reply_token = strdup(PQgetvalue(res, i, COL_REPLY_TOKEN));
			d->token_us = col_us(res, i, COL_TOKEN_AT);
		}
		if (PQgetvalue(res, i, COL_RESTRICTED)[0] == 't') {
			/* paused by a supervisor: stored, not answered, but
			 * never left without the emergency numbers */
			if (!PQgetisnull(res, i, COL_CONVERSATION))
				decide_crisis(b, res, i, d);
		} else if (strcmp(PQgetvalue(res, i, COL_KIND), "follow") == 0) {
			decision_add(b->ar, d,
			    PQgetvalue(res, i, COL_UNBLOCKED)[0] == 't' ?
			    AUTOREPLY_WELCOME_BACK : AUTOREPLY_GREETING, &v);
			/* strict mode: the way in comes with the welcome */
			d->link = b->ar->desk.strict && d->text != NULL &&
			    b->ar->public_url[0] != '\0' && !batch_linked(b, d);
		}
		else if (!PQgetisnull(res, i, COL_CONVERSATION))
			decide_message(b, res, i, d);
		if (d->kinds[0] != '\0')
			strncat(d->kinds, "}", sizeof(d->kinds) -
			    strlen(d->kinds) - 1);
	}
}

