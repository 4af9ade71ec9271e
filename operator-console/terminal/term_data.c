/*
 * term_data.c - what the main screen shows and where it comes from: the
 * desk's name, the queue, the open conversation and (supervisors) the
 * crisis alerts waiting for an acknowledgement. Live events ask for
 * reloads through term_want; several in a row make one fetch, and a fetch
 * asked for while one is in flight runs again after it.
 */
#include "term_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#define TERM_RELOAD_DELAY_US	100000

static void
term_skew(struct term *t, const cJSON *json)
{
	int64_t now;

	if (term_text_parse_time(term_json_str(json, "now"), &now))
		t->skew_ms = now - term_clock_ms();
}

static void
term_desk_done(struct term *t, const struct term_answer *a, void *arg)
{
	const char *name = term_json_str(a->json, "desk_name");

	(void)arg;
	if (a->status != 200 || name == NULL)
		return;
	free(t->desk_name);
	t->desk_name = strdup(name);
	term_redraw(t);
}

void
term_main_start(struct term *t)
{
	t->screen = TERM_MAIN;
	t->mode = MODE_BROWSE;
	t->pane = PANE_QUEUE;
	t->message[0] = '\0';
	if (!term_api(t, "GET", "/api/desk", NULL, 0, term_desk_done, NULL))
		term_say(t, true, term_w(t, "err.network"));
	if (strcmp(t->role, "admin") == 0) {
		term_say(t, false, term_w(t, "err.admin"));
		return;
	}
	/* As the web console: a new sign-in is at the desk. */
	term_presence_set(t, "online");
	term_fetch_queue(t, false);
	if (strcmp(t->role, "supervisor") == 0)
		term_fetch_alerts(t, false);
	term_live_start(t);
}

void
term_main_stop(struct term *t)
{
	term_live_stop(t);
	evtimer_del(t->reload_ev);
	term_queue_set(t, NULL, 0);
	term_hist_clear(t);
	term_conv_free(&t->open);
	term_drafts_free(t);
	term_edit_clear(&t->input);
	free(t->desk_name);
	free(t->staff_name);
	t->desk_name = t->staff_name = NULL;
	t->presence[0] = '\0';
	t->queue_loaded = t->queue_busy = t->queue_again = false;
	t->open_loaded = t->conv_busy = t->conv_again = false;
	t->alerts_busy = t->alerts_again = t->sending = false;
	t->want_queue = t->want_conv = t->want_alerts = false;
	t->selected = t->open_id = 0;
	t->sel = 0;
	t->n_alerts = 0;
	t->mode = MODE_BROWSE;
}

void
term_session_lost(struct term *t)
{
	term_main_stop(t);
	term_api_forget(t);
	term_signin_begin(t, term_w(t, "err.signed_out"));
	term_redraw(t);
}

void
term_reload_fire(int fd, short what, void *arg)
{
	struct term *t = arg;

	(void)fd;
	(void)what;
	if (t->want_queue)
		term_fetch_queue(t, true);
	if (t->want_conv)
		term_fetch_conv(t, true);
	if (t->want_alerts)
		term_fetch_alerts(t, true);
	t->want_queue = t->want_conv = t->want_alerts = false;
}

void
term_want(struct term *t, bool queue, bool conv, bool alerts)
{
	struct timeval tv = { 0, TERM_RELOAD_DELAY_US };

	if (t->screen != TERM_MAIN)
		return;
	t->want_queue |= queue;
	t->want_conv |= conv && t->open_id != 0;
	t->want_alerts |= alerts && strcmp(t->role, "supervisor") == 0;
	if (!evtimer_pending(t->reload_ev, NULL))
		evtimer_add(t->reload_ev, &tv);
}

/* Keeps the same conversation chosen when the queue changes under it. */
static void
term_queue_reselect(struct term *t)
{
	for (size_t i = 0; i < t->n_queue; i++)
		if (t->queue[i].id == t->selected) {
			t->sel = i;
			return;
		}
	if (t->n_queue == 0) {
		t->sel = 0;
		t->selected = 0;
		return;
	}
	if (t->sel >= t->n_queue)
		t->sel = t->n_queue - 1;
	t->selected = t->queue[t->sel].id;
}

static void
term_queue_load(struct term *t, const cJSON *json)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(json,
	    "conversations");
	size_t n = (size_t)cJSON_GetArraySize(list), k = 0;
	struct term_conv *q = n > 0 ? calloc(n, sizeof(*q)) : NULL;
	const cJSON *item;

	if (n > 0 && q == NULL)
		return;
	cJSON_ArrayForEach(item, list)
		if (k < n && term_conv_parse(item, &q[k]))
			k++;
	term_skew(t, json);
	term_queue_set(t, q, k);
	t->queue_loaded = true;
	term_queue_reselect(t);
}

static void
term_queue_done(struct term *t, const struct term_answer *a, void *arg)
{
	(void)arg;
	t->queue_busy = false;
	if (a->status == 200) {
		term_queue_load(t, a->json);
		/* The server answers again: an old "cannot reach" is stale. */
		if (strcmp(t->message, term_w(t, "err.network")) == 0)
			t->message[0] = '\0';
	} else
		term_say(t, true, term_w_error(t, "queue", a->code));
	if (t->queue_again) {
		t->queue_again = false;
		term_fetch_queue(t, true);
	}
	term_redraw(t);
}

void
term_fetch_queue(struct term *t, bool background)
{
	if (t->queue_busy) {
		t->queue_again = true;
		return;
	}
	t->queue_busy = term_api(t, "GET", "/api/queue", NULL,
	    background ? TERM_API_BACKGROUND : 0, term_queue_done, NULL);
}

static void
term_conv_load(struct term *t, const cJSON *json)
{
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(json, "history");
	size_t n = (size_t)cJSON_GetArraySize(hist), k = 0;
	struct term_entry *e = n > 0 ? calloc(n, sizeof(*e)) : NULL;
	const cJSON *item;

	if (n > 0 && e == NULL)
		return;
	term_conv_free(&t->open);
	term_conv_parse(cJSON_GetObjectItemCaseSensitive(json, "conversation"),
	    &t->open);
	term_hist_clear(t);
	cJSON_ArrayForEach(item, hist)
		if (k < n && term_entry_parse(item, &e[k]))
			k++;
	t->hist = e;
	t->n_hist = k;
	term_skew(t, json);
}

static void
term_conv_done(struct term *t, const struct term_answer *a, void *arg)
{
	long long id = (long long)(intptr_t)arg;

	t->conv_busy = false;
	if (id == t->open_id) {
		if (a->status == 200) {
			term_conv_load(t, a->json);
		} else if (a->status == 404) {
			term_conv_free(&t->open);
			term_hist_clear(t);
		} else {
			term_say(t, true, term_w_error(t, "conversation",
			    a->code));
		}
		t->open_loaded = a->status == 200 || a->status == 404 ||
		    t->open_loaded;
	}
	if (t->conv_again) {
		t->conv_again = false;
		term_fetch_conv(t, true);
	}
	term_redraw(t);
}

void
term_fetch_conv(struct term *t, bool background)
{
	char path[64];

	if (t->open_id == 0)
		return;
	if (t->conv_busy) {
		t->conv_again = true;
		return;
	}
	snprintf(path, sizeof(path), "/api/conversations/%lld", t->open_id);
	t->conv_busy = term_api(t, "GET", path, NULL,
	    background ? TERM_API_BACKGROUND : 0, term_conv_done,
	    (void *)(intptr_t)t->open_id);
}

void
term_open(struct term *t, long long id)
{
	if (id == 0)
		return;
	if (id != t->open_id) {
		term_hist_clear(t);
		term_conv_free(&t->open);
		t->open_loaded = false;
		t->open_id = id;
		t->scroll = 0;
	}
	term_fetch_conv(t, false);
}

static void
term_alerts_load(struct term *t, const cJSON *json)
{
	const cJSON *item;
	size_t n = 0;

	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(json,
	    "alerts")) {
		long long conv = term_json_int(item, "conversation");
		size_t i;

		for (i = 0; i < n && t->alerts[i].conv != conv; i++)
			;
		if (i < n || n == TERM_MAX_ALERTS)
			continue;
		t->alerts[n].conv = conv;
		t->alerts[n].round = (int)term_json_int(item, "alerts_sent");
		snprintf(t->alerts[n].case_number,
		    sizeof(t->alerts[n].case_number), "%s",
		    term_json_str(item, "case_number") != NULL ?
		    term_json_str(item, "case_number") : "");
		n++;
	}
	t->n_alerts = n;
}

static void
term_alerts_done(struct term *t, const struct term_answer *a, void *arg)
{
	(void)arg;
	t->alerts_busy = false;
	if (a->status == 200)
		term_alerts_load(t, a->json);
	if (t->alerts_again) {
		t->alerts_again = false;
		term_fetch_alerts(t, true);
	}
	term_redraw(t);
}

void
term_fetch_alerts(struct term *t, bool background)
{
	if (strcmp(t->role, "supervisor") != 0)
		return;
	if (t->alerts_busy) {
		t->alerts_again = true;
		return;
	}
	t->alerts_busy = term_api(t, "GET", "/api/crisis/alerts", NULL,
	    background ? TERM_API_BACKGROUND : 0, term_alerts_done, NULL);
}
