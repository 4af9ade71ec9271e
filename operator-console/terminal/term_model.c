/*
 * term_model.c - the server's answers as C structs: conversations (the
 * queue and the open one), history entries, drafts. Strings are kept as
 * the server sent them; they are made safe when drawn, never before, so
 * what is sent back (nothing, today) would be the person's own words.
 */
#include "term_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static char *
term_dup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
term_copy(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s != NULL ? s : "");
}

static int64_t
term_json_time(const cJSON *o, const char *name)
{
	int64_t ms = 0;

	return term_text_parse_time(term_json_str(o, name), &ms) ? ms : 0;
}

bool
term_conv_parse(const cJSON *o, struct term_conv *c)
{
	const cJSON *assignee = cJSON_GetObjectItemCaseSensitive(o, "assignee");
	const cJSON *contact = cJSON_GetObjectItemCaseSensitive(o, "contact");
	const cJSON *preview = cJSON_GetObjectItemCaseSensitive(o, "preview");
	const char *mode = term_json_str(o, "line_mode");

	memset(c, 0, sizeof(*c));
	if (!cJSON_IsObject(o) || (c->id = term_json_int(o, "id")) <= 0)
		return false;
	term_copy(c->state, sizeof(c->state), term_json_str(o, "state"));
	c->level = (int)term_json_int(o, "crisis_level");
	c->due_ms = term_json_time(o, "reply_due_at");
	c->overdue = term_json_bool(o, "overdue");
	c->due_soon = term_json_bool(o, "due_soon");
	c->long_session = term_json_bool(o, "long_session");
	c->restricted = term_json_bool(o, "restricted");
	c->in_webchat = term_json_bool(o, "in_webchat");
	c->strict = mode != NULL && strcmp(mode, "strict") == 0;
	c->exception = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o,
	    "emergency_exception"));
	if (cJSON_IsObject(assignee)) {
		c->assignee_id = term_json_int(assignee, "id");
		c->assignee = term_dup(term_json_str(assignee, "display_name"));
	}
	if (cJSON_IsObject(contact)) {
		c->contact_id = term_json_int(contact, "id");
		term_copy(c->case_number, sizeof(c->case_number),
		    term_json_str(contact, "case_number"));
		c->nickname = term_dup(term_json_str(contact, "nickname"));
		c->returning = term_json_bool(contact, "returning");
	}
	if (cJSON_IsObject(preview))
		c->preview = term_dup(term_json_str(preview, "text"));
	return true;
}

void
term_conv_free(struct term_conv *c)
{
	free(c->assignee);
	free(c->nickname);
	free(c->preview);
	memset(c, 0, sizeof(*c));
}

static const char *
term_first_autoreply(const cJSON *o)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "autoreply");

	return cJSON_IsArray(a) && cJSON_IsString(a->child) ?
	    a->child->valuestring : NULL;
}

bool
term_entry_parse(const cJSON *o, struct term_entry *e)
{
	const char *type = term_json_str(o, "type");
	const char *via = term_json_str(o, "via");

	memset(e, 0, sizeof(*e));
	if (type == NULL)
		return false;
	e->event = strcmp(type, "event") == 0;
	e->id = term_json_int(o, "id");
	term_copy(e->kind, sizeof(e->kind), term_json_str(o, "kind"));
	term_copy(e->direction, sizeof(e->direction),
	    term_json_str(o, "direction"));
	term_copy(e->delivery, sizeof(e->delivery), term_json_str(o,
	    "delivery"));
	e->retrying = term_json_bool(o, "retrying");
	e->webchat = via != NULL && strcmp(via, "webchat") == 0;
	e->at_ms = term_json_time(o, "at");
	e->text = term_dup(term_json_str(o, "text"));
	e->staff = term_dup(term_json_str(o, "staff"));
	e->code = term_dup(term_json_str(o, "code"));
	e->error = term_dup(term_json_str(o, "error"));
	e->autoreply = term_dup(term_first_autoreply(o));
	e->accepted = e->event || term_json_bool(o, "accepted");
	return true;
}

void
term_entry_free(struct term_entry *e)
{
	free(e->text);
	free(e->staff);
	free(e->code);
	free(e->error);
	free(e->autoreply);
	memset(e, 0, sizeof(*e));
}

void
term_queue_set(struct term *t, struct term_conv *q, size_t n)
{
	for (size_t i = 0; i < t->n_queue; i++)
		term_conv_free(&t->queue[i]);
	free(t->queue);
	t->queue = q;
	t->n_queue = n;
}

void
term_hist_clear(struct term *t)
{
	for (size_t i = 0; i < t->n_hist; i++)
		term_entry_free(&t->hist[i]);
	free(t->hist);
	t->hist = NULL;
	t->n_hist = 0;
}

const struct term_conv *
term_queue_find(const struct term *t, long long id)
{
	for (size_t i = 0; i < t->n_queue; i++)
		if (t->queue[i].id == id)
			return &t->queue[i];
	return NULL;
}

struct term_draft *
term_draft_find(struct term *t, long long conv, enum term_mode kind,
    bool create)
{
	struct term_draft *d;

	for (d = t->drafts; d != NULL; d = d->next)
		if (d->conv == conv && d->kind == kind)
			return d;
	if (!create || (d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->conv = conv;
	d->kind = kind;
	d->next = t->drafts;
	t->drafts = d;
	return d;
}

bool
term_drafts_any(const struct term *t)
{
	for (const struct term_draft *d = t->drafts; d != NULL; d = d->next)
		if (!term_edit_blank(&d->text))
			return true;
	return false;
}

void
term_drafts_free(struct term *t)
{
	struct term_draft *d;

	while ((d = t->drafts) != NULL) {
		t->drafts = d->next;
		term_edit_clear(&d->text);
		free(d);
	}
}
