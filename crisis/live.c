/*
 * live.c - the detector as the daemon runs it: the lexicon file and the
 * desk's crisis_terms setting, checking every inbound text for the ingest.
 *
 * The file is read at start (a daemon that cannot read it does not start:
 * it would take in messages unchecked). The desk's lines are read as soon
 * as the database answers (retried every few seconds until it has), and
 * again when the settings change; if they changed, a new lexicon (the
 * file again, the desk's lines, the search index) is built on a worker
 * thread, since it takes tens of milliseconds, and swapped in on the
 * loop. Until then the old one keeps checking.
 */
#include "crisis.h"

#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "offload.h"
#include "storage.h"

const char crisis_terms_sql[] =
"SELECT value::text FROM settings WHERE key = 'crisis_terms'"
"   AND (channel_id IS NULL OR channel_id = (SELECT id FROM channels"
"        WHERE kind = 'line' AND name = $1))"
" ORDER BY channel_id NULLS FIRST";

#define LIVE_RETRY_S	5

struct crisis_live {
	struct event		*retry;		/* until the desk's lines are read */
	bool			 loaded;
	struct db_pool		*pool;
	struct offload		*offload;
	char			*path;
	char			*model_path;	/* "": the lexicon alone */
	char			*channel_name;
	struct crisis_lexicon	*lex;
	char			*terms;		/* the desk's lines now in lex */
	bool			 reading, building, again;
};

/* One rebuild, from the worker's side to the loop's. */
struct live_build {
	struct crisis_live	*live;
	char			*terms;
	struct crisis_lexicon	*lex;		/* NULL: failed, see why */
	char			 why[256];
};

/*
 * Spelling a lexicon out leaves megabytes of freed scratch in the heap
 * (and an old lexicon as much again): give the pages back rather than
 * keep them resident while idle.
 */
static void
heap_give_back(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static struct crisis_lexicon *
lexicon_build(const struct crisis_live *live, const char *terms, char *why,
    size_t whylen)
{
	struct crisis_lexicon *lex = crisis_lexicon_new(why, whylen);

	if (lex != NULL && crisis_lexicon_load_file(lex, live->path, why,
	    whylen) && (live->model_path[0] == '\0' ||
	    crisis_lexicon_load_model(lex, live->model_path, why, whylen)) &&
	    (terms == NULL || crisis_lexicon_add_json(lex, terms, why,
	    whylen))) {
		if (crisis_lexicon_prepare(lex))
			return lex;
		snprintf(why, whylen, "out of memory");
	}
	crisis_lexicon_free(lex);
	return NULL;
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct crisis_live *live = arg;

	(void)fd;
	(void)what;
	if (!live->loaded)
		crisis_live_reload(live);
}

struct crisis_live *
crisis_live_new(struct event_base *base, struct db_pool *pool,
    struct offload *offload, const char *path, const char *model_path,
    const char *channel_name, char *why, size_t whylen)
{
	struct crisis_live *live = calloc(1, sizeof(*live));
	struct timeval tv = { LIVE_RETRY_S, 0 };

	why[0] = '\0';
	if (live == NULL || (live->path = strdup(path)) == NULL ||
	    (live->model_path = strdup(model_path)) == NULL ||
	    (live->channel_name = strdup(channel_name)) == NULL ||
	    (live->retry = event_new(base, -1, EV_PERSIST, retry_cb,
	    live)) == NULL || event_add(live->retry, &tv) != 0 ||
	    (live->lex = lexicon_build(live, NULL, why, whylen)) == NULL) {
		if (why[0] == '\0')
			snprintf(why, whylen, "out of memory");
		crisis_live_free(live);
		return NULL;
	}
	heap_give_back();
	live->pool = pool;
	live->offload = offload;
	crisis_live_reload(live);
	return live;
}

void
crisis_live_free(struct crisis_live *live)
{
	if (live == NULL)
		return;
	if (live->retry != NULL)
		event_free(live->retry);
	crisis_lexicon_free(live->lex);
	free(live->terms);
	free(live->path);
	free(live->model_path);
	free(live->channel_name);
	free(live);
}

static void
build_work(void *arg)
{
	struct live_build *b = arg;

	b->lex = lexicon_build(b->live, b->terms, b->why, sizeof(b->why));
}

static void
build_done(void *arg)
{
	struct live_build *b = arg;
	struct crisis_live *live = b->live;

	live->building = false;
	if (b->lex == NULL) {
		/* The setting was checked when stored; keep what works. */
		log_warn("crisis.terms_not_applied", "why=\"%s\"", b->why);
		metrics_add("madoguchi_crisis_terms_errors_total", "", 1);
		free(b->terms);
	} else {
		crisis_lexicon_free(live->lex);
		live->lex = b->lex;
		free(live->terms);
		live->terms = b->terms;
		heap_give_back();
		log_info("crisis.terms_applied", "from=\"lexicon file and "
		    "crisis_terms\"");
	}
	free(b);
	if (live->again) {
		live->again = false;
		crisis_live_reload(live);
	}
}

static void
terms_read(void *arg, const PGresult *res, const char *why)
{
	struct crisis_live *live = arg;
	const char *terms = "[]";
	struct live_build *b;

	live->reading = false;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("crisis.terms_unread", "why=\"%s\"", res == NULL ? why :
		    db_sqlstate(res));
		live->loaded = false;	/* the retry timer asks again */
		return;
	}
	live->loaded = true;
	if (PQntuples(res) > 0)
		terms = PQgetvalue(res, PQntuples(res) - 1, 0);
	if (strcmp(terms, live->terms != NULL ? live->terms : "[]") == 0) {
		if (live->again) {	/* a change came while reading */
			live->again = false;
			crisis_live_reload(live);
		}
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->terms = strdup(terms)) == NULL) {
		free(b);
		live->loaded = false;	/* the retry timer tries again */
		return;
	}
	b->live = live;
	live->building = true;
	if (!offload_submit(live->offload, build_work, build_done, b)) {
		live->building = false;
		live->again = false;
		log_warn("crisis.terms_not_applied", "why=\"worker busy\"");
		free(b->terms);
		free(b);
		live->loaded = false;	/* the retry timer tries again */
	}
}

void
crisis_live_reload(struct crisis_live *live)
{
	const char *params[1] = { live->channel_name };

	if (live->reading || live->building) {
		live->again = true;
		return;
	}
	/* No connection yet: the retry timer asks again. */
	live->reading = db_query(live->pool, crisis_terms_sql, 1, params,
	    terms_read, live);
}

static void
copy_rule(char *out, size_t outlen, const char *rule)
{
	snprintf(out, outlen, "%s", rule);
}

void
crisis_live_check(void *arg, const char *text, size_t len,
    struct ingest_crisis *out)
{
	struct crisis_live *live = arg;
	struct crisis_verdict v;

	if (!crisis_check(live->lex, text, len, &v)) {
		/* Unchecked is not harmless: a counsellor should look. */
		metrics_add("madoguchi_crisis_unchecked_total", "", 1);
		out->level = CRISIS_MEDIUM;
		copy_rule(out->rule, sizeof(out->rule), "unchecked");
		return;
	}
	out->level = (int)v.level;
	out->context_level = (int)v.context_level;
	copy_rule(out->rule, sizeof(out->rule), v.rule);
	copy_rule(out->context_rule, sizeof(out->context_rule), v.context_rule);
	if (v.level > CRISIS_NONE)
		metrics_add("madoguchi_crisis_detected_total",
		    v.level == CRISIS_HIGH ? "level=\"high\"" :
		    "level=\"medium\"", 1);
}
