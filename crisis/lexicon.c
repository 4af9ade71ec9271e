/*
 * lexicon.c - lexicon lines into alternatives ready to match.
 *
 * A line's pattern is spelled out into every alternative it allows
 * ("(死|し)にたい" is two), each normalised as messages are and filed by
 * purpose (terms, exceptions, laugh markers, denials). The format is in
 * crisis.h; the project's own lexicon is crisis/lexicon.txt.
 */
#include "crisis_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define PATTERN_MAX		1024	/* bytes */
#define PATTERN_UNITS_MAX	32
/* A gap is tried at every length: more than a few make a check slow. */
#define PATTERN_GAPS_MAX	3
#define GROUP_OPTIONS_MAX	32
#define LINE_ALTERNATIVES_MAX	8192
/* What a whole lexicon may spell out: desk lines cannot eat the memory. */
#define LEXICON_ALTERNATIVES_MAX	(256 * 1024)
#define RULE_NAME_MAX		32
#define DESK_TERMS_MAX		500

static const struct {
	const char	*name;
	enum crisis_kind kind;
} kind_names[] = {
	{ "high", CRISIS_KIND_HIGH },
	{ "medium", CRISIS_KIND_MEDIUM },
	{ "context-high", CRISIS_KIND_CONTEXT_HIGH },
	{ "context-medium", CRISIS_KIND_CONTEXT_MEDIUM },
	{ "except", CRISIS_KIND_EXCEPT },
	{ "lower", CRISIS_KIND_LOWER },
	{ "soften", CRISIS_KIND_SOFTEN },
	{ "negate", CRISIS_KIND_NEGATE },
};

static const char *const level_names[] = { "none", "medium", "high" };

const char *
crisis_level_name(enum crisis_level level)
{
	return level >= CRISIS_NONE && level <= CRISIS_HIGH ?
	    level_names[level] : "none";
}

int
crisis_level_parse(const char *name)
{
	for (int i = 0; i <= CRISIS_HIGH; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

struct crisis_lexicon *
crisis_lexicon_new(char *why, size_t whylen)
{
	struct crisis_lexicon *lex = calloc(1, sizeof(*lex));

	if (lex == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (!crisis_norm_init(&lex->norm, why, whylen)) {
		free(lex);
		return NULL;
	}
	return lex;
}

void
crisis_lexicon_free(struct crisis_lexicon *lex)
{
	if (lex == NULL)
		return;
	for (int g = 0; g < CRISIS_GROUPS; g++)
		crisis_index_free(&lex->group[g]);
	for (size_t i = 0; i < lex->nentries; i++)
		free(lex->entries[i]);
	free(lex->entries);
	crisis_text_free(&lex->text);
	free(lex->masked);
	free(lex->laugh);
	free(lex->pos);
	crisis_norm_free(&lex->norm);
	crisis_model_free(lex->model);
	free(lex);
}

bool
crisis_lexicon_load_model(struct crisis_lexicon *lex, const char *path,
    char *why, size_t whylen)
{
	struct crisis_model *m = crisis_model_load(path, why, whylen);

	if (m == NULL)
		return false;
	crisis_model_free(lex->model);
	lex->model = m;
	return true;
}

/* ---- one line's pattern, parsed into units ---- */

/* A run of text, a choice among texts, or a gap. */
struct unit {
	bool		 gap;
	size_t		 nopts;
	const char	*opt[GROUP_OPTIONS_MAX];
	size_t		 optlen[GROUP_OPTIONS_MAX];
};

struct pattern {
	struct unit	 unit[PATTERN_UNITS_MAX];
	size_t		 nunits;
};

static struct unit *
unit_next(struct pattern *p, char *why, size_t whylen)
{
	if (p->nunits == PATTERN_UNITS_MAX) {
		snprintf(why, whylen, "more than %d parts", PATTERN_UNITS_MAX);
		return NULL;
	}
	memset(&p->unit[p->nunits], 0, sizeof(p->unit[0]));
	return &p->unit[p->nunits++];
}

static bool
option_add(struct unit *u, const char *s, size_t len, char *why,
    size_t whylen)
{
	if (len == 0) {
		snprintf(why, whylen, "an empty alternative");
		return false;
	}
	if (u->nopts == GROUP_OPTIONS_MAX) {
		snprintf(why, whylen, "more than %d alternatives in ( )",
		    GROUP_OPTIONS_MAX);
		return false;
	}
	u->opt[u->nopts] = s;
	u->optlen[u->nopts++] = len;
	return true;
}

/* "(a|b)" starting at s; returns the character after ")", or NULL. */
static const char *
parse_group(struct pattern *p, const char *s, char *why, size_t whylen)
{
	struct unit *u = unit_next(p, why, whylen);
	const char *start = ++s;

	if (u == NULL)
		return NULL;
	for (;; s++) {
		if (*s == '\0' || *s == '(' || *s == '*') {
			snprintf(why, whylen, "%s inside ( )",
			    *s ? "( or *" : "no closing )");
			return NULL;
		}
		if (*s == '|' || *s == ')') {
			if (!option_add(u, start, (size_t)(s - start), why,
			    whylen))
				return NULL;
			start = s + 1;
			if (*s == ')' && s[1] == '?') {
				/* "(a|b)?": nothing is one more choice */
				if (u->nopts == GROUP_OPTIONS_MAX) {
					snprintf(why, whylen, "more than %d "
					    "alternatives in ( )",
					    GROUP_OPTIONS_MAX - 1);
					return NULL;
				}
				u->opt[u->nopts] = s;
				u->optlen[u->nopts++] = 0;
				return s + 2;
			}
			if (*s == ')')
				return s + 1;
		}
	}
}

static bool
parse_pattern(struct pattern *p, const char *s, char *why, size_t whylen)
{
	p->nunits = 0;
	if (strlen(s) > PATTERN_MAX) {
		snprintf(why, whylen, "pattern longer than %d bytes",
		    PATTERN_MAX);
		return false;
	}
	while (*s != '\0') {
		const char *end = s + strcspn(s, "()|*?");
		struct unit *u;

		if (*s == '(') {
			if ((s = parse_group(p, s, why, whylen)) == NULL)
				return false;
			continue;
		}
		if (*s == ')' || *s == '|' || *s == '?') {
			snprintf(why, whylen, "%c outside ( )", *s);
			return false;
		}
		if ((u = unit_next(p, why, whylen)) == NULL)
			return false;
		if (*s == '*') {
			u->gap = true;
			s++;
			continue;
		}
		u->opt[0] = s;
		u->optlen[0] = (size_t)(end - s);
		u->nopts = 1;
		s = end;
	}
	return true;
}

/* ---- spelling out the alternatives ---- */

static bool
alt_add(struct crisis_lexicon *lex, const struct crisis_entry *e,
    const struct crisis_text *t)
{
	enum crisis_group g = e->kind == CRISIS_KIND_EXCEPT ||
	    e->kind == CRISIS_KIND_LOWER ? CRISIS_GROUP_EXCEPT :
	    e->kind == CRISIS_KIND_SOFTEN ? CRISIS_GROUP_SOFTEN :
	    e->kind == CRISIS_KIND_NEGATE ? CRISIS_GROUP_NEGATE :
	    CRISIS_GROUP_TERMS;

	if (!crisis_index_add(&lex->group[g], e, t->cp, t->len))
		return false;
	if (t->len > lex->longest)
		lex->longest = t->len;
	return true;
}

struct expansion {
	struct crisis_lexicon	*lex;
	const struct crisis_entry *entry;
	const struct pattern	*p;
	struct crisis_text	 acc, piece;
	size_t			 count;
	char			*why;
	size_t			 whylen;
};

static bool expand(struct expansion *x, size_t i);

static size_t
lexicon_alternatives(const struct crisis_lexicon *lex)
{
	size_t n = 0;

	for (int g = 0; g < CRISIS_GROUPS; g++)
		n += lex->group[g].count;
	return n;
}

/* The alternative spelled so far is whole: file it. */
static bool
expand_done(struct expansion *x)
{
	struct crisis_text t = { 0 };	/* collapsed apart: acc is reused */
	size_t keep = x->acc.len, gaps = 0;
	bool ok;

	if (++x->count > LINE_ALTERNATIVES_MAX) {
		snprintf(x->why, x->whylen, "more than %d alternatives",
		    LINE_ALTERNATIVES_MAX);
		return false;
	}
	if (lexicon_alternatives(x->lex) >= LEXICON_ALTERNATIVES_MAX) {
		snprintf(x->why, x->whylen, "the lexicon has more than %d "
		    "alternatives in all", LEXICON_ALTERNATIVES_MAX);
		return false;
	}
	if (!crisis_text_append(&t, x->acc.cp, x->acc.len)) {
		crisis_text_free(&t);
		snprintf(x->why, x->whylen, "out of memory");
		return false;
	}
	crisis_collapse_runs(&t);
	for (size_t k = 0; k < t.len; k++)
		gaps += t.cp[k] == CRISIS_GAP;
	if (t.len == 0 || t.cp[0] == CRISIS_GAP || t.cp[t.len - 1] == CRISIS_GAP ||
	    gaps > PATTERN_GAPS_MAX) {
		snprintf(x->why, x->whylen, t.len == 0 ?
		    "an alternative with no letters or digits" :
		    gaps > PATTERN_GAPS_MAX ? "more than 3 gaps (*)" :
		    "an alternative that starts or ends with *");
		crisis_text_free(&t);
		return false;
	}
	ok = alt_add(x->lex, x->entry, &t);
	if (!ok)
		snprintf(x->why, x->whylen, t.len > CRISIS_ALT_MAX_LEN ?
		    "an alternative longer than 1024 characters" :
		    "out of memory");
	crisis_text_free(&t);
	x->acc.len = keep;
	return ok;
}

/* Spells out the rest after appending cp to what is spelled so far. */
static bool
expand_after(struct expansion *x, size_t i, const crisis_char *cp, size_t n)
{
	size_t mark = x->acc.len;

	if (!crisis_text_append(&x->acc, cp, n)) {
		snprintf(x->why, x->whylen, "out of memory");
		return false;
	}
	if (!expand(x, i + 1))
		return false;
	x->acc.len = mark;
	return true;
}

static bool
expand_option(struct expansion *x, size_t i, const char *s, size_t len)
{
	if (!crisis_normalize(&x->lex->norm, s, len, &x->piece)) {
		snprintf(x->why, x->whylen, "cannot normalise");
		return false;
	}
	return expand_after(x, i, x->piece.cp, x->piece.len);
}

static bool
expand(struct expansion *x, size_t i)
{
	const struct unit *u;

	if (i == x->p->nunits)
		return expand_done(x);
	u = &x->p->unit[i];
	if (u->gap) {
		static const crisis_char gap = CRISIS_GAP;

		return expand_after(x, i, &gap, 1);
	}
	for (size_t k = 0; k < u->nopts; k++)
		if (!expand_option(x, i, u->opt[k], u->optlen[k]))
			return false;
	return true;
}

/* ---- adding lines ---- */

static bool
kind_parse(const char *s, enum crisis_kind *kind)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(s, kind_names[i].name) == 0) {
			*kind = kind_names[i].kind;
			return true;
		}
	return false;
}

static bool
flags_parse(const char *s, unsigned *flags)
{
	*flags = 0;
	if (s == NULL || *s == '\0' || strcmp(s, "-") == 0)
		return true;
	while (*s != '\0') {
		size_t n = strcspn(s, ",");

		if (n == 4 && strncmp(s, "soft", 4) == 0)
			*flags |= CRISIS_FLAG_SOFT;
		else if (n == 3 && strncmp(s, "neg", 3) == 0)
			*flags |= CRISIS_FLAG_NEG;
		else if (n == 4 && strncmp(s, "firm", 4) == 0)
			*flags |= CRISIS_FLAG_FIRM;
		else
			return false;
		s += n + (s[n] == ',');
	}
	return true;
}

static bool
rule_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RULE_NAME_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

const char *
crisis_base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/*
 * "rule@source", e.g. "intent@lexicon.txt:57" or "desk@crisis_terms[0]":
 * where to look, and never the words that matched (it is stored in the
 * clear beside the message). A long one is cut at a character boundary.
 */
static void
rule_label(char *out, const char *rule, const char *source)
{
	size_t n = (size_t)snprintf(out, CRISIS_RULE_MAX, "%s@%s", rule,
	    crisis_base_name(source));

	if (n < CRISIS_RULE_MAX)
		return;
	n = CRISIS_RULE_MAX - 1 - strlen("…");
	/* Back to the first byte of the character that n cuts, if any. */
	while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
		n--;
	memcpy(out + n, "…", sizeof("…"));
}

static struct crisis_entry *
entry_new(struct crisis_lexicon *lex)
{
	struct crisis_entry *e;

	if (lex->nentries == lex->entries_cap) {
		size_t cap = lex->entries_cap ? lex->entries_cap * 2 : 128;
		struct crisis_entry **p = realloc(lex->entries,
		    cap * sizeof(*p));

		if (p == NULL)
			return NULL;
		lex->entries = p;
		lex->entries_cap = cap;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->seq = (uint32_t)lex->nentries;
	lex->entries[lex->nentries++] = e;
	return e;
}

static bool
add_checked(struct crisis_lexicon *lex, const char *kind, const char *rule,
    const char *pattern, const char *flags, const char *source, char *why,
    size_t whylen)
{
	struct pattern p;
	struct crisis_entry e, *stored;
	struct expansion x = { .lex = lex, .p = &p, .why = why,
	    .whylen = whylen };
	bool ok;

	if (!kind_parse(kind, &e.kind)) {
		snprintf(why, whylen, "unknown kind \"%.20s\"", kind);
		return false;
	}
	if (!rule_name_valid(rule)) {
		snprintf(why, whylen, "a rule name is 1 to %d characters of "
		    "a-z 0-9 _ - .", RULE_NAME_MAX);
		return false;
	}
	if (!flags_parse(flags, &e.flags)) {
		snprintf(why, whylen, "flags are soft, neg and firm, joined "
		    "by commas, or -");
		return false;
	}
	if (!parse_pattern(&p, pattern, why, whylen))
		return false;
	if ((stored = entry_new(lex)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return false;
	}
	rule_label(e.rule, rule, source);
	e.seq = stored->seq;
	e.desk = false;
	*stored = e;
	x.entry = stored;
	ok = expand(&x, 0);
	crisis_text_free(&x.acc);
	crisis_text_free(&x.piece);
	return ok;
}

bool
crisis_lexicon_add(struct crisis_lexicon *lex, const char *kind,
    const char *rule, const char *pattern, const char *flags,
    const char *source, char *why, size_t whylen)
{
	char reason[160];

	if (add_checked(lex, kind, rule, pattern, flags, source, reason,
	    sizeof(reason)))
		return true;
	snprintf(why, whylen, "%s: %s", source, reason);
	return false;
}

int
crisis_split_fields(char *line, char **f)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	for (char *s = line;; s++) {
		if (n == 4)
			return -1;
		f[n++] = s;
		if ((s = strchr(s, '\t')) == NULL)
			return n;
		*s = '\0';
	}
}

bool
crisis_lexicon_load_file(struct crisis_lexicon *lex, const char *path,
    char *why, size_t whylen)
{
	FILE *fp = fopen(path, "r");
	char line[2048], source[300];
	int lineno = 0;
	bool ok = true;

	if (fp == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return false;
	}
	while (ok && fgets(line, sizeof(line), fp) != NULL) {
		char *f[4] = { NULL };
		int n;

		snprintf(source, sizeof(source), "%s:%d", path, ++lineno);
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if ((n = crisis_split_fields(line, f)) < 3) {
			snprintf(why, whylen, "%s: expected kind<TAB>rule<TAB>"
			    "pattern[<TAB>flags]", source);
			ok = false;
			break;
		}
		ok = crisis_lexicon_add(lex, f[0], f[1], f[2], f[3], source,
		    why, whylen);
	}
	if (ok && ferror(fp)) {
		snprintf(why, whylen, "%s: read error", path);
		ok = false;
	}
	fclose(fp);
	return ok;
}

static const char *
json_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool
crisis_lexicon_add_json(struct crisis_lexicon *lex, const char *json,
    char *why, size_t whylen)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *item;
	char source[32];
	int i = 0;
	bool ok = true;

	if (!cJSON_IsArray(root) || cJSON_GetArraySize(root) > DESK_TERMS_MAX) {
		snprintf(why, whylen, "crisis_terms: a JSON array of at most %d "
		    "{\"kind\", \"rule\", \"pattern\", \"flags\"} objects",
		    DESK_TERMS_MAX);
		cJSON_Delete(root);
		return false;
	}
	cJSON_ArrayForEach(item, root) {
		const char *kind = json_string(item, "kind"),
		    *rule = json_string(item, "rule"),
		    *pattern = json_string(item, "pattern"),
		    *flags = json_string(item, "flags");

		snprintf(source, sizeof(source), "crisis_terms[%d]", i++);
		if (kind == NULL || rule == NULL || pattern == NULL) {
			snprintf(why, whylen, "%s: kind, rule and pattern are "
			    "strings", source);
			ok = false;
			break;
		}
		if (!(ok = crisis_lexicon_add(lex, kind, rule, pattern, flags,
		    source, why, whylen)))
			break;
		lex->entries[lex->nentries - 1]->desk = true;
	}
	cJSON_Delete(root);
	return ok;
}

bool
crisis_terms_valid(const char *path, const char *json, char *why,
    size_t whylen)
{
	struct crisis_lexicon *lex = crisis_lexicon_new(why, whylen);
	bool ok;

	if (lex == NULL)
		return false;
	/* With the file's lines: together they must fit the lexicon's limit. */
	ok = (path == NULL || crisis_lexicon_load_file(lex, path, why,
	    whylen)) && crisis_lexicon_add_json(lex, json, why, whylen);
	crisis_lexicon_free(lex);
	return ok;
}

bool
crisis_lexicon_prepare(struct crisis_lexicon *lex)
{
	for (int g = 0; g < CRISIS_GROUPS; g++)
		if (!crisis_index_build(&lex->group[g]))
			return false;
	return true;
}
