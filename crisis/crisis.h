/*
 * crisis.h - does a message suggest that a life is at risk?
 *
 * Text is normalised (normalize.c: libunistring's NFKC with case folding
 * for width and case, then katakana to hiragana, small kana to large,
 * symbols, spaces and emoji dropped, runs of one character collapsed) and
 * matched (index.c, detect.c) against a lexicon (lexicon.c) kept as a data
 * file, crisis/lexicon.txt, to which a desk may add its own lines (the
 * crisis_terms setting).
 *
 * A lexicon line is "kind<TAB>rule<TAB>pattern[<TAB>flags]":
 *   high, medium      the message alone has this level;
 *   context-high, context-medium
 *                     this level only if one of the conversation's
 *                     recent messages already gave cause for concern
 *                     ("さよなら" after "もう無理"): the caller decides;
 *   except            an idiom or a harmless use: what it covers matches
 *                     no term (死ぬほど in 死ぬほど眠い);
 *   lower             what it covers is someone else's words or a past
 *                     act: a high term that starts there counts as
 *                     medium (友達が死にたいって, 昔ODした), unless the
 *                     term is flagged "firm" (violence now is high
 *                     whoever reports it);
 *   soften            a laugh marker (ｗ, 笑): terms flagged "soft" do not
 *                     count in a message that has one;
 *   negate            a denial right after a term flagged "neg" cancels
 *                     it (死にたい|とかは思ってない).
 * A pattern is text, with (a|b|c) for alternatives, (a|b)? for optional
 * ones, and * for a gap of up to ten characters; it is normalised as messages are, so it may be
 * written in katakana, hiragana or either width.
 *
 * A second opinion (model.c) may be attached: two linear models over the
 * character n-grams of the normalised text, trained on the labelled sets
 * in tests/crisis/ (`madoguchi crisis train`) and kept as a data file,
 * crisis/model.txt. The lexicon knows the wordings it was taught; the
 * models carry over to wordings nobody wrote down. A message the "high"
 * model is sure of is high; a medium found only by the project's lexicon
 * in a message the "risk" model finds ordinary is dropped.
 *
 * A lexicon holds scratch buffers: use each one from one thread only.
 */
#ifndef MADOGUCHI_CRISIS_H
#define MADOGUCHI_CRISIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum crisis_level {
	CRISIS_NONE = 0,
	CRISIS_MEDIUM = 1,
	CRISIS_HIGH = 2
};

/* "none", "medium", "high" */
const char	*crisis_level_name(enum crisis_level level);
/* The level a name stands for, or -1. */
int		 crisis_level_parse(const char *name);

struct crisis_lexicon;

/* An empty lexicon, or NULL when out of memory (why says so). */
struct crisis_lexicon *crisis_lexicon_new(char *why, size_t whylen);
void	crisis_lexicon_free(struct crisis_lexicon *lex);
/*
 * Adds the lines of a lexicon file. False, with the file's name and line
 * number in why, on the first bad line; lines before it stay added.
 */
bool	crisis_lexicon_load_file(struct crisis_lexicon *lex, const char *path,
	    char *why, size_t whylen);
/* Adds one line; source names it in messages ("crisis_terms[3]"). */
bool	crisis_lexicon_add(struct crisis_lexicon *lex, const char *kind,
	    const char *rule, const char *pattern, const char *flags,
	    const char *source, char *why, size_t whylen);
/*
 * Adds the desk's own lines: the crisis_terms setting, a JSON array of
 * {"kind", "rule", "pattern", "flags"} objects (flags optional).
 */
bool	crisis_lexicon_add_json(struct crisis_lexicon *lex, const char *json,
	    char *why, size_t whylen);
/*
 * Checks a crisis_terms value without keeping it, with the lexicon file's
 * lines when path is not NULL (together they must fit its limits).
 */
bool	crisis_terms_valid(const char *path, const char *json, char *why,
	    size_t whylen);
/*
 * Attaches the model file's second opinion (format in model.c), replacing
 * one attached before. False, with the file and line in why, if the file
 * is not a model.
 */
bool	crisis_lexicon_load_model(struct crisis_lexicon *lex, const char *path,
	    char *why, size_t whylen);
/*
 * The model file to load into out: the configured path; for "" the
 * model.txt beside the lexicon file, if there is one. False: none
 * ("none", or nothing beside the lexicon).
 */
bool	crisis_model_path(const char *configured, const char *lexicon_path,
	    char *out, size_t outlen);
/*
 * Builds the lexicon's search index now, as the first check would (tens
 * of milliseconds): so it can be done off the event loop. False: memory.
 */
bool	crisis_lexicon_prepare(struct crisis_lexicon *lex);

#define CRISIS_RULE_MAX	96

struct crisis_verdict {
	enum crisis_level level;		/* on the message alone */
	char		 rule[CRISIS_RULE_MAX];	/* "intent@lexicon.txt:57", or "" */
	enum crisis_level context_level;	/* if recent messages worried */
	char		 context_rule[CRISIS_RULE_MAX];
	double		 model_high;		/* the model's P(high), or -1 */
	double		 model_risk;		/* its P(high or medium), or -1 */
};

/*
 * Checks one message (UTF-8; invalid bytes are read as U+FFFD). False
 * only when memory fails, and then the caller must not take the
 * message as harmless: it should treat it as unchecked.
 */
bool	crisis_check(struct crisis_lexicon *lex, const char *text, size_t len,
	    struct crisis_verdict *v);

/*
 * The normalised form of text as UTF-8, for tests and for showing a desk
 * why a line matched. False if it does not fit in out.
 */
bool	crisis_normalize_utf8(struct crisis_lexicon *lex, const char *text,
	    size_t len, char *out, size_t outlen);

/* ---- train.c: the second opinion's models from labelled sets ---- */

struct crisis_train_options {
	double	cost;			/* liblinear's C */
	double	high_threshold;		/* written into the model */
	double	risk_floor;		/* written into the model */
};

/*
 * Trains both models on labelled files (label<TAB>category<TAB>text, as
 * tests/crisis/), normalised by lex, and writes the model file to out.
 */
bool	crisis_model_train(struct crisis_lexicon *lex, const char *const *paths,
	    int npaths, const struct crisis_train_options *o, FILE *out,
	    char *why, size_t whylen);
/*
 * Leave one file out: trains on all files but one, scores that one, for
 * each file in turn; prints to out how recall and false positives would
 * go with a few thresholds and floors.
 */
bool	crisis_model_cross_validate(struct crisis_lexicon *lex,
	    const char *const *paths, int npaths,
	    const struct crisis_train_options *o, FILE *out, char *why,
	    size_t whylen);

/* ---- live.c: the detector in the daemon ---- */

/*
 * The desk's crisis_terms: rows of one text column, desk-wide first, then
 * the channel's own (which wins); $1 the LINE channel's name.
 */
extern const char crisis_terms_sql[];

struct event_base;
struct db_pool;
struct offload;
struct ingest_crisis;
struct crisis_live;

/*
 * Loads the lexicon file and the model (model_path "": none) now (NULL,
 * with why, if it cannot: the daemon must not take in messages
 * unchecked) and the desk's crisis_terms as soon as the database answers.
 */
struct crisis_live *crisis_live_new(struct event_base *base,
	    struct db_pool *pool, struct offload *offload, const char *path,
	    const char *model_path, const char *channel_name, char *why,
	    size_t whylen);
void	crisis_live_free(struct crisis_live *live);
/* The settings changed: rebuild with the desk's lines if they did. */
void	crisis_live_reload(struct crisis_live *live);
/* The ingest's hook (ingest_crisis_fn); arg is the crisis_live. */
void	crisis_live_check(void *arg, const char *text, size_t len,
	    struct ingest_crisis *out);

/* ---- alert.c: alerts until acknowledged, in the console and outside ---- */

struct http_client;
struct crisis_alerts;

/*
 * Works the alert rounds and the outside sends on base's loop, every few
 * seconds and whenever woken. The settings are read when the database
 * answers; no round runs before.
 */
struct crisis_alerts *crisis_alerts_new(struct event_base *base,
	    struct db_pool *pool, struct http_client *http);
/* Requests in flight must have been cancelled (http_client_free) first. */
void	crisis_alerts_free(struct crisis_alerts *a);

/*
 * Where e-mail targets are sent (the smtp_* configuration), copied. Without
 * it (url NULL or ""), an e-mail target's sends fail, are recorded as such
 * and retried, so a desk sees the gap instead of silence.
 */
struct crisis_mail {
	const char	*url;		/* smtp://host:587 or smtps://host:465 */
	const char	*from;		/* the sender address */
	const char	*user;		/* NULL or "": no AUTH */
	const char	*password;
	bool		 require_tls;	/* smtp://: STARTTLS or no send */
};
bool	crisis_alerts_set_mail(struct crisis_alerts *a,
	    const struct crisis_mail *mail);
/* A rise was stored (NOTIFY madoguchi_crisis), or a reconnect. */
void	crisis_alerts_wake(struct crisis_alerts *a);
/* The settings changed. */
void	crisis_alerts_reload(struct crisis_alerts *a);
/* Checks a crisis_alert setting's value (why says what is expected). */
bool	crisis_alert_setting_valid(const char *json, char *why, size_t whylen);

#endif
