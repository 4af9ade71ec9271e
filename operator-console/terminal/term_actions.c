/*
 * term_actions.c - what a counsellor's keys do through the API: claim,
 * reply, note, change the crisis level, acknowledge an alert, release, go
 * online or away. Each says in the feedback line how it went, in the UI's
 * own words for each error code.
 */
#include "term_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

long long
term_target(struct term *t)
{
	if (t->pane == PANE_QUEUE && t->selected != 0)
		return t->selected;
	return t->open_id != 0 ? t->open_id : t->selected;
}

static void
term_conv_path(char *buf, size_t len, long long id, const char *what)
{
	snprintf(buf, len, "/api/conversations/%lld%s%s", id,
	    what[0] != '\0' ? "/" : "", what);
}

/* After a change: what it changed, read again at once. */
static void
term_after(struct term *t, const struct term_answer *a, const char *action,
    const char *ok)
{
	if (a->status == 200) {
		term_say(t, false, ok);
		term_fetch_queue(t, false);
		term_fetch_conv(t, false);
	} else {
		term_say(t, true, term_w_error(t, action, a->code));
	}
	term_redraw(t);
}

static void
term_claim_done(struct term *t, const struct term_answer *a, void *arg)
{
	(void)arg;
	term_after(t, a, "claim", term_w(t, "ok.claimed"));
}

void
term_act_claim(struct term *t)
{
	long long id = term_target(t);
	char path[96];

	if (id == 0) {
		term_say(t, true, term_w(t, "err.choose"));
		return;
	}
	term_open(t, id);
	term_conv_path(path, sizeof(path), id, "claim");
	if (!term_api(t, "POST", path, NULL, 0, term_claim_done, NULL))
		term_say(t, true, term_w(t, "err.network"));
}

static void
term_send_done(struct term *t, const struct term_answer *a, void *arg)
{
	bool note = arg != NULL;
	struct term_draft *d;

	t->sending = false;
	if (a->status == 200) {
		if ((d = term_draft_find(t, t->input_conv, note ? MODE_NOTE :
		    MODE_REPLY, false)) != NULL)
			term_edit_clear(&d->text);
		term_edit_clear(&t->input);
		t->mode = MODE_BROWSE;
	}
	term_after(t, a, note ? "note" : "send", term_w(t, note ? "ok.note" :
	    "ok.sent"));
}

/* The newest message of the open conversation the counsellor has seen. */
static long long
term_seen(const struct term *t)
{
	if (t->open.id != t->input_conv)
		return 0;
	for (size_t i = t->n_hist; i-- > 0;)
		if (!t->hist[i].event)
			return t->hist[i].id;
	return 0;
}

void
term_act_send(struct term *t)
{
	bool note = t->mode == MODE_NOTE;
	char path[96], *text;
	cJSON *body;
	long long seen = term_seen(t);

	if (t->sending)
		return;
	if (term_edit_blank(&t->input)) {
		term_say(t, true, term_w(t, "err.empty"));
		return;
	}
	if ((text = term_edit_utf8(&t->input, true)) == NULL ||
	    (body = cJSON_CreateObject()) == NULL) {
		free(text);
		return;
	}
	cJSON_AddStringToObject(body, "text", text);
	if (!note && seen != 0)
		cJSON_AddNumberToObject(body, "seen", (double)seen);
	free(text);
	term_conv_path(path, sizeof(path), t->input_conv, note ? "notes" :
	    "messages");
	t->sending = term_api(t, "POST", path, body, 0, term_send_done,
	    note ? (void *)t : NULL);
	if (!t->sending)
		term_say(t, true, term_w(t, "err.network"));
}

static void
term_crisis_done(struct term *t, const struct term_answer *a, void *arg)
{
	char ok[128], key[32];

	snprintf(key, sizeof(key), "level.name.%d", (int)(intptr_t)arg);
	term_wf(t, ok, sizeof(ok), "ok.level", term_w(t, key), NULL);
	t->sending = false;
	if (a->status == 200) {
		term_edit_clear(&t->input);
		t->mode = MODE_BROWSE;
	}
	term_after(t, a, "level", ok);
}

void
term_act_crisis(struct term *t)
{
	char path[96], *reason;
	cJSON *body;

	if (t->sending)
		return;
	if (term_edit_blank(&t->input)) {
		term_say(t, true, term_w(t, "err.required"));
		return;
	}
	if ((reason = term_edit_utf8(&t->input, true)) == NULL ||
	    (body = cJSON_CreateObject()) == NULL) {
		free(reason);
		return;
	}
	cJSON_AddNumberToObject(body, "level", t->level);
	cJSON_AddStringToObject(body, "reason", reason);
	free(reason);
	term_conv_path(path, sizeof(path), t->input_conv, "crisis");
	t->sending = term_api(t, "POST", path, body, 0, term_crisis_done,
	    (void *)(intptr_t)t->level);
	if (!t->sending)
		term_say(t, true, term_w(t, "err.network"));
}

static void
term_forget_alert(struct term *t, long long conv)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n_alerts; i++)
		if (t->alerts[i].conv != conv)
			t->alerts[k++] = t->alerts[i];
	t->n_alerts = k;
}

static void
term_ack_done(struct term *t, const struct term_answer *a, void *arg)
{
	long long conv = (long long)(intptr_t)arg;
	char ok[160], id[32];
	const char *which = id;

	snprintf(id, sizeof(id), "#%lld", conv);
	for (size_t i = 0; i < t->n_alerts; i++)
		if (t->alerts[i].conv == conv && t->alerts[i].case_number[0])
			which = t->alerts[i].case_number;
	term_wf(t, ok, sizeof(ok), "alert.acked", which, NULL);
	if (a->status == 200 || (a->code != NULL &&
	    strcmp(a->code, "nothing_to_acknowledge") == 0))
		term_forget_alert(t, conv);
	term_fetch_alerts(t, false);
	term_after(t, a, "ack", ok);
}

void
term_act_ack(struct term *t)
{
	char path[96];
	long long conv;

	if (strcmp(t->role, "supervisor") != 0) {
		term_say(t, true, term_w(t, "err.forbidden"));
		return;
	}
	if (t->n_alerts == 0) {
		term_say(t, false, term_w(t, "alert.none"));
		return;
	}
	conv = t->alerts[0].conv;
	term_conv_path(path, sizeof(path), conv, "crisis/ack");
	if (!term_api(t, "POST", path, NULL, 0, term_ack_done,
	    (void *)(intptr_t)conv))
		term_say(t, true, term_w(t, "err.network"));
}

static void
term_release_done(struct term *t, const struct term_answer *a, void *arg)
{
	(void)arg;
	term_after(t, a, "release", term_w(t, "ok.released"));
}

void
term_act_release(struct term *t)
{
	long long id = term_target(t);
	char path[96];

	if (id == 0) {
		term_say(t, true, term_w(t, "err.choose"));
		return;
	}
	term_conv_path(path, sizeof(path), id, "release");
	if (!term_api(t, "POST", path, NULL, 0, term_release_done, NULL))
		term_say(t, true, term_w(t, "err.network"));
}

static void
term_presence_done(struct term *t, const struct term_answer *a, void *arg)
{
	const char *p = term_json_str(a->json, "presence");
	char ok[96], key[32];

	(void)arg;
	if (a->status != 200 || p == NULL) {
		term_say(t, true, term_w_error(t, "presence", a->code));
	} else {
		snprintf(t->presence, sizeof(t->presence), "%s",
		    strcmp(p, "away") == 0 ? "away" : "online");
		snprintf(key, sizeof(key), "presence.%s", t->presence);
		term_wf(t, ok, sizeof(ok), "ok.presence", term_w(t, key), NULL);
		if (arg != NULL)	/* asked for by a key */
			term_say(t, false, ok);
	}
	term_redraw(t);
}

void
term_presence_set(struct term *t, const char *presence)
{
	cJSON *body = cJSON_CreateObject();

	cJSON_AddStringToObject(body, "presence", presence);
	if (!term_api(t, "PUT", "/api/me/presence", body, 0,
	    term_presence_done, NULL))
		term_say(t, true, term_w(t, "err.network"));
}

void
term_act_presence(struct term *t)
{
	cJSON *body = cJSON_CreateObject();

	cJSON_AddStringToObject(body, "presence", strcmp(t->presence,
	    "online") == 0 ? "away" : "online");
	if (!term_api(t, "PUT", "/api/me/presence", body, 0,
	    term_presence_done, t))
		term_say(t, true, term_w(t, "err.network"));
}
