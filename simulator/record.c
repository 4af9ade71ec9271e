/*
 * The request log behind GET /sim/messages: every Messaging API call the
 * simulator answered (or held open), oldest first.  A ring of
 * LINESIM_RECORD_MAX entries that also caps the bytes of stored bodies,
 * so a long demo or a load test cannot grow memory without bound.
 * Sequence numbers keep increasing across DELETE /sim/messages, so a
 * test can ask for "everything after seq N".
 */
#include <stdlib.h>
#include <string.h>

#include "linesim.h"

#define RECORD_MAX_BODY_BYTES	(256u * 1024 * 1024)

struct slot {
	uint64_t		seq;
	struct record_entry	e;
};

struct record {
	struct slot	*ring;
	size_t		 oldest;	/* index of the oldest slot */
	size_t		 count;
	uint64_t	 next_seq;
	size_t		 body_bytes;
};

static void	 record_drop_oldest(struct record *);
static void	 entry_clear(struct record_entry *);
static cJSON	*entry_to_json(const struct slot *);
static void	 add_string_or_null(cJSON *, const char *, const char *);

struct record *
record_new(void)
{
	struct record	*r;

	r = xcalloc(1, sizeof(*r));
	r->ring = xcalloc(LINESIM_RECORD_MAX, sizeof(*r->ring));
	r->next_seq = 1;
	return r;
}

void
record_free(struct record *r)
{
	if (r == NULL)
		return;
	record_clear(r);
	free(r->ring);
	free(r);
}

/*
 * Append an entry.  The record takes over e's heap strings and zeroes
 * *e, so the caller must not free them.
 */
void
record_add(struct record *r, struct record_entry *e)
{
	size_t	bytes = e->body != NULL ? strlen(e->body) : 0;

	while (r->count > 0 && (r->count == LINESIM_RECORD_MAX ||
	    r->body_bytes + bytes > RECORD_MAX_BODY_BYTES))
		record_drop_oldest(r);
	r->ring[(r->oldest + r->count) % LINESIM_RECORD_MAX] =
	    (struct slot){ r->next_seq++, *e };
	r->count++;
	r->body_bytes += bytes;
	memset(e, 0, sizeof(*e));
}

void
record_clear(struct record *r)
{
	while (r->count > 0)
		record_drop_oldest(r);
	r->oldest = 0;
}

/*
 * {"requests":[...]} with the entries matching every filter given (NULL
 * user/path and since 0 match everything).  The caller deletes it.
 */
cJSON *
record_to_json(const struct record *r, const char *user, const char *path,
    uint64_t since)
{
	const struct slot	*s;
	cJSON			*root, *arr;
	size_t			 i;

	root = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(root, "requests");
	for (i = 0; i < r->count; i++) {
		s = &r->ring[(r->oldest + i) % LINESIM_RECORD_MAX];
		if (s->seq <= since)
			continue;
		if (user != NULL && (s->e.user == NULL ||
		    strcmp(s->e.user, user) != 0))
			continue;
		if (path != NULL && strcmp(s->e.path, path) != 0)
			continue;
		cJSON_AddItemToArray(arr, entry_to_json(s));
	}
	return root;
}

static void
record_drop_oldest(struct record *r)
{
	struct record_entry	*e = &r->ring[r->oldest].e;

	if (e->body != NULL)
		r->body_bytes -= strlen(e->body);
	entry_clear(e);
	r->oldest = (r->oldest + 1) % LINESIM_RECORD_MAX;
	r->count--;
}

static void
entry_clear(struct record_entry *e)
{
	free(e->path);
	free(e->user);
	free(e->retry_key);
	free(e->body);
	memset(e, 0, sizeof(*e));
}

static cJSON *
entry_to_json(const struct slot *s)
{
	const struct record_entry	*e = &s->e;
	cJSON				*o;
	char				 when[32];

	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "seq", (double)s->seq);
	format_iso8601(e->time_ms, when);
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddStringToObject(o, "method", e->method);
	cJSON_AddStringToObject(o, "path", e->path);
	cJSON_AddNumberToObject(o, "status", e->status);
	add_string_or_null(o, "user", e->user);
	add_string_or_null(o, "retryKey", e->retry_key);
	cJSON_AddStringToObject(o, "requestId", e->request_id);
	cJSON_AddBoolToObject(o, "delivered", e->delivered);
	/* The body was valid JSON when stored: embed it as is. */
	if (e->body != NULL)
		cJSON_AddRawToObject(o, "body", e->body);
	else
		cJSON_AddNullToObject(o, "body");
	return o;
}

static void
add_string_or_null(cJSON *o, const char *name, const char *value)
{
	if (value != NULL)
		cJSON_AddStringToObject(o, name, value);
	else
		cJSON_AddNullToObject(o, name);
}
