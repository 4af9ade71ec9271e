/*
 * detect.c - a message's crisis level from the lexicon.
 *
 * Three passes over the normalised text. Exceptions first mark what they
 * name (死ぬほど, テスト死んだ, 自殺予防), so no term can match there, and
 * lowerings theirs (a friend's words, a past act), so a term starting
 * there counts as medium at most. Laugh markers are found next. Then
 * every term that matches outside the excepted parts counts, unless it
 * is soft with a laugh right after it or a denial follows it. The message gets the
 * highest level found, and the rule of the first term that gave it. Each
 * pass looks up the alternatives that begin with the character at hand,
 * so a message costs about its length in lookups, whatever the lexicon's
 * size.
 */
#include "crisis_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

static bool
any_match_at(const struct crisis_index *ix, const struct crisis_text *t,
    size_t i)
{
	struct crisis_match m;
	struct crisis_hit a;
	size_t end;

	if (i >= t->len)
		return false;
	crisis_match_start(&m, ix, t, i, NULL, NULL);
	return crisis_match_next(&m, &a, &end);
}

/*
 * Marks the characters each exception (or lowering) names; lex->masked
 * has t->len bytes. Only those: what a gap skips is the message's own,
 * and 彼氏と別れた。死にたい。さようなら must not lose its middle.
 */
static void
mask_exceptions(struct crisis_lexicon *lex)
{
	const struct crisis_index *ix = &lex->group[CRISIS_GROUP_EXCEPT];
	const struct crisis_text *t = &lex->text;
	struct crisis_hit a;
	struct crisis_match m;
	size_t end;

	memset(lex->masked, 0, t->len);
	for (size_t i = 0; i < t->len; i++)
		for (crisis_match_start(&m, ix, t, i, NULL, lex->pos);
		    crisis_match_next(&m, &a, &end);) {
			unsigned char cover = a.entry->kind ==
			    CRISIS_KIND_EXCEPT ? CRISIS_MASK_EXCEPTED :
			    CRISIS_MASK_LOWERED;

			for (size_t k = 0; k < a.len; k++)
				if (lex->pos[k] != SIZE_MAX &&
				    lex->masked[lex->pos[k]] < cover)
					lex->masked[lex->pos[k]] = cover;
		}
}

static bool
latin(const struct crisis_text *t, size_t i)
{
	return i < t->len && t->cp[i] >= 'a' && t->cp[i] <= 'z';
}

/*
 * Where a laugh marker starts. One spelled in Latin letters (w) counts
 * only on its own, not inside a word (wifi); markers inside an exception
 * (笑顔) do not count.
 */
static void
find_laughs(struct crisis_lexicon *lex)
{
	const struct crisis_index *ix = &lex->group[CRISIS_GROUP_SOFTEN];
	const struct crisis_text *t = &lex->text;
	struct crisis_hit a;
	struct crisis_match m;
	size_t end;

	memset(lex->laugh, 0, t->len);
	for (size_t i = 0; i < t->len; i++)
		for (crisis_match_start(&m, ix, t, i, lex->masked, NULL);
		    crisis_match_next(&m, &a, &end);)
			if (!latin(t, i) || ((i == 0 || !latin(t, i - 1)) &&
			    !latin(t, end)))
				lex->laugh[i] = 1;
}

/*
 * A laugh right after a term (もう無理ｗ, 殺される笑), or closing the
 * message (このカレー辛すぎて殺す気かｗ), makes the term a joke; one earlier
 * in the message (もう笑えない。…) does not.
 */
#define LAUGH_REACH	4

static bool
laugh_after(const struct crisis_lexicon *lex, size_t end)
{
	size_t n = lex->text.len;

	for (size_t k = end; k < n && k <= end + LAUGH_REACH; k++)
		if (lex->laugh[k])
			return true;
	return n > 0 && (lex->laugh[n - 1] || (n > 1 && lex->laugh[n - 2]));
}

static void
verdict_raise(enum crisis_level *level, char *rule, enum crisis_level found,
    const struct crisis_entry *e)
{
	if (found > *level) {
		*level = found;
		memcpy(rule, e->rule, CRISIS_RULE_MAX);
	}
}

/* The level e gives the message on its own (none for context kinds). */
static enum crisis_level
verdict_add(struct crisis_verdict *v, const struct crisis_entry *e,
    bool lowered)
{
	enum crisis_level cap = lowered ? CRISIS_MEDIUM : CRISIS_HIGH;

	switch (e->kind) {
	case CRISIS_KIND_HIGH:
		verdict_raise(&v->level, v->rule, cap, e);
		return cap;
	case CRISIS_KIND_MEDIUM:
		verdict_raise(&v->level, v->rule, CRISIS_MEDIUM, e);
		return CRISIS_MEDIUM;
	case CRISIS_KIND_CONTEXT_HIGH:
		verdict_raise(&v->context_level, v->context_rule, cap, e);
		return CRISIS_NONE;
	case CRISIS_KIND_CONTEXT_MEDIUM:
		verdict_raise(&v->context_level, v->context_rule, CRISIS_MEDIUM,
		    e);
		return CRISIS_NONE;
	default:
		return CRISIS_NONE;
	}
}

/*
 * The model's second opinion (model.c). A high it is sure of stands where
 * no lexicon line found one; a medium found only by the project's lexicon,
 * in a message the model finds ordinary, is dropped. A desk's own lines
 * are never overruled, and neither is a high from the lexicon. Nor is a
 * context line's judgement: さようなら alone is a goodbye, and only the
 * conversation before it can say otherwise (the ingest looks there).
 * How sure it must be depends on the length (crisis_internal.h).
 */
static bool
model_opinion(struct crisis_lexicon *lex, struct crisis_verdict *v,
    bool desk)
{
	struct crisis_model *m = lex->model;
	double p[2], cut;

	if (m == NULL || lex->text.len < CRISIS_MODEL_MIN_CHARS)
		return true;
	if (!crisis_model_score(m, &lex->text, p))
		return false;
	v->model_high = p[0];
	v->model_risk = p[1];
	cut = m->cut[0];
	if (lex->text.len < CRISIS_MODEL_SHORT_CHARS &&
	    cut < CRISIS_MODEL_SHORT_CUT)
		cut = CRISIS_MODEL_SHORT_CUT;
	if (v->level < CRISIS_HIGH && p[0] >= cut &&
	    v->context_level == CRISIS_NONE) {
		v->level = CRISIS_HIGH;
		snprintf(v->rule, sizeof(v->rule), "model@%s", m->source);
	} else if (v->level == CRISIS_MEDIUM && p[1] < m->cut[1] && !desk) {
		v->level = CRISIS_NONE;
		v->rule[0] = '\0';
	}
	return true;
}

/* Room for the scratch arrays: one byte per character, and pos. */
static bool
ensure_scratch(struct crisis_lexicon *lex)
{
	unsigned char *m, *l;
	size_t *p;

	if (lex->pos_cap < lex->longest) {	/* lines may have been added */
		if ((p = realloc(lex->pos, lex->longest * sizeof(*p))) == NULL)
			return false;
		lex->pos = p;
		lex->pos_cap = lex->longest;
	}
	if (lex->text.len <= lex->masked_cap)
		return true;
	if ((m = realloc(lex->masked, lex->text.len)) == NULL)
		return false;
	lex->masked = m;
	if ((l = realloc(lex->laugh, lex->text.len)) == NULL)
		return false;
	lex->laugh = l;
	lex->masked_cap = lex->text.len;
	return true;
}

bool
crisis_check(struct crisis_lexicon *lex, const char *text, size_t len,
    struct crisis_verdict *v)
{
	const struct crisis_index *terms = &lex->group[CRISIS_GROUP_TERMS];
	const struct crisis_text *t = &lex->text;
	bool desk = false;	/* a desk's own line gives v->level */
	struct crisis_hit a;
	struct crisis_match m;
	size_t end;

	memset(v, 0, sizeof(*v));
	v->model_high = v->model_risk = -1;
	if (!crisis_lexicon_prepare(lex) ||
	    !crisis_normalize(&lex->norm, text, len, &lex->text) ||
	    !ensure_scratch(lex))
		return false;
	if (t->len == 0)
		return true;
	mask_exceptions(lex);
	find_laughs(lex);
	for (size_t i = 0; i < t->len; i++) {
		if (lex->masked[i] == CRISIS_MASK_EXCEPTED)
			continue;
		for (crisis_match_start(&m, terms, t, i, lex->masked, NULL);
		    crisis_match_next(&m, &a, &end);) {
			if ((a.entry->flags & CRISIS_FLAG_SOFT) &&
			    laugh_after(lex, end))
				continue;
			if ((a.entry->flags & CRISIS_FLAG_NEG) &&
			    any_match_at(&lex->group[CRISIS_GROUP_NEGATE], t,
			    end))
				continue;
			enum crisis_level before = v->level, got =
			    verdict_add(v, a.entry,
			    lex->masked[i] == CRISIS_MASK_LOWERED &&
			    !(a.entry->flags & CRISIS_FLAG_FIRM));

			if (got > before)
				desk = a.entry->desk;
			else if (got != CRISIS_NONE && got == v->level)
				desk = desk || a.entry->desk;
		}
	}
	return model_opinion(lex, v, desk);
}

bool
crisis_normalize_utf8(struct crisis_lexicon *lex, const char *text,
    size_t len, char *out, size_t outlen)
{
	size_t w = 0;
	int n;

	if (outlen == 0 || !crisis_normalize(&lex->norm, text, len, &lex->text))
		return false;
	for (size_t i = 0; i < lex->text.len; i++, w += (size_t)n)
		if ((n = u8_uctomb((uint8_t *)out + w, (ucs4_t)lex->text.cp[i],
		    (int)(outlen - 1 - w < INT32_MAX ? outlen - 1 - w :
		    INT32_MAX))) < 0) {
			out[w] = '\0';
			return false;	/* no room: cut at a whole character */
		}
	out[w] = '\0';
	return true;
}
