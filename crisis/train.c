/*
 * train.c - the second opinion's models (model.c) from labelled sets:
 * logistic regression by liblinear over the messages' character n-grams,
 * and leave-one-file-out cross-validation to choose the thresholds.
 *
 * Every set in tests/crisis/ was written by someone who had not seen the
 * others, so holding one file out and training on the rest measures what
 * a model does with wordings it has never met: the figure that matters.
 */
#include "crisis_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linear.h>
#include <unistr.h>

#define TRAIN_NMIN	1
#define TRAIN_NMAX	3
/*
 * An n-gram must be in this many lines. 3 rather than 2: with 5,469
 * lines, a third fewer n-grams (16,819 against 26,373, so the daemon's
 * table stays 512 KB, not 1 MB) and the same leave-one-out figures
 * (recall 0.768 and none called high 0.038 at 0.70, against 0.766 and
 * 0.036).
 */
#define TRAIN_MIN_LINES	3

struct sample {
	enum crisis_level label;
	int		 file;
	size_t		 len;		/* normalised characters */
	uint64_t	*grams;		/* distinct, sorted */
	size_t		 n;
};

struct corpus {
	struct sample	*s;
	size_t		 n, cap;
	int		 count[3];	/* by label */
};

/* What a model learnt: a weight per vocabulary n-gram, and a bias. */
struct weights {
	double		*w;
	double		 bias;
};

struct vocab {
	uint64_t	*key;		/* sorted */
	size_t		 n;
};

static void
liblinear_quiet(const char *s)
{
	(void)s;
}

static void
corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->s[i].grams);
	free(c->s);
	memset(c, 0, sizeof(*c));
}

static int
key_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The distinct n-grams of t, nmin to nmax long, sorted, into *keys (grown
 * as needed): how many, or SIZE_MAX when memory fails. Scoring counts
 * the same ones (crisis_model_score).
 */
static size_t
text_grams(const struct crisis_text *t, int nmin, int nmax,
    uint64_t **keys, size_t *cap)
{
	size_t need = t->len * (size_t)(nmax - nmin + 1), n = 0, d = 0;

	if (need > *cap) {
		uint64_t *k = realloc(*keys, need * sizeof(*k));

		if (k == NULL)
			return SIZE_MAX;
		*keys = k;
		*cap = need;
	}
	for (size_t i = 0; i < t->len; i++)
		for (int g = nmin; g <= nmax && i + (size_t)g <= t->len; g++)
			(*keys)[n++] = crisis_gram_key(t->cp + i, g);
	if (n == 0)
		return 0;
	qsort(*keys, n, sizeof(**keys), key_compare);
	for (size_t i = 1; i < n; i++)
		if ((*keys)[i] != (*keys)[d])
			(*keys)[++d] = (*keys)[i];
	return d + 1;
}

static bool
corpus_add(struct corpus *c, struct crisis_lexicon *lex, int file,
    int label, const char *text, uint64_t **tmp, size_t *tmpcap)
{
	struct sample *s;
	size_t n;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;

		if ((s = realloc(c->s, cap * sizeof(*s))) == NULL)
			return false;
		c->s = s;
		c->cap = cap;
	}
	if (!crisis_normalize(&lex->norm, text, strlen(text), &lex->text) ||
	    (n = text_grams(&lex->text, TRAIN_NMIN, TRAIN_NMAX, tmp,
	    tmpcap)) == SIZE_MAX)
		return false;
	s = &c->s[c->n];
	s->label = (enum crisis_level)label;
	s->file = file;
	s->len = lex->text.len;
	s->n = n;
	if ((s->grams = malloc((n ? n : 1) * sizeof(*s->grams))) == NULL)
		return false;
	if (n > 0)
		memcpy(s->grams, *tmp, n * sizeof(*s->grams));
	c->n++;
	c->count[label]++;
	return true;
}

/* The lines of one labelled file (label<TAB>category<TAB>text). */
static bool
corpus_read(struct corpus *c, struct crisis_lexicon *lex, const char *path,
    int file, char *why, size_t whylen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, tmpcap = 0;
	uint64_t *tmp = NULL;
	int lineno = 0;
	bool ok = fp != NULL;

	if (fp == NULL)
		snprintf(why, whylen, "%s: cannot open", path);
	while (ok && getline(&line, &cap, fp) >= 0) {
		char *tab1, *tab2;
		int label;

		line[strcspn(line, "\r\n")] = '\0';
		if (++lineno == 1 && strncmp(line, "label\t", 6) == 0)
			continue;
		if ((tab1 = strchr(line, '\t')) == NULL ||
		    (tab2 = strchr(tab1 + 1, '\t')) == NULL) {
			snprintf(why, whylen, "%s:%d: not label<TAB>category<TAB>"
			    "text", path, lineno);
			ok = false;
			break;
		}
		*tab1 = '\0';
		if ((label = crisis_level_parse(line)) < 0) {
			snprintf(why, whylen, "%s:%d: the label is high, medium "
			    "or none", path, lineno);
			ok = false;
		} else if (!corpus_add(c, lex, file, label, tab2 + 1, &tmp,
		    &tmpcap)) {
			snprintf(why, whylen, "out of memory");
			ok = false;
		}
	}
	free(tmp);
	free(line);
	if (fp != NULL)
		fclose(fp);
	return ok;
}

/* The n-grams in at least TRAIN_MIN_LINES lines not of file skip. */
static bool
vocab_build(struct vocab *v, const struct corpus *c, int skip)
{
	size_t total = 0, n = 0, run = 0;
	uint64_t *all;

	for (size_t i = 0; i < c->n; i++)
		total += c->s[i].file != skip ? c->s[i].n : 0;
	v->n = 0;
	if ((all = malloc((total ? total : 1) * sizeof(*all))) == NULL)
		return false;
	for (size_t i = 0; i < c->n; i++)
		if (c->s[i].file != skip) {
			memcpy(all + n, c->s[i].grams,
			    c->s[i].n * sizeof(*all));
			n += c->s[i].n;
		}
	qsort(all, n, sizeof(*all), key_compare);
	/* Each line's n-grams are distinct: a run's length is its lines. */
	for (size_t i = 0; i < n; i++) {
		run = i > 0 && all[i] == all[i - 1] ? run + 1 : 1;
		if (run == TRAIN_MIN_LINES)
			all[v->n++] = all[i];
	}
	v->key = all;
	return true;
}

/* The vocabulary index of key, or -1. */
static long
vocab_find(const struct vocab *v, uint64_t key)
{
	const uint64_t *p = bsearch(&key, v->key, v->n, sizeof(key),
	    key_compare);

	return p != NULL ? (long)(p - v->key) : -1;
}

/* A sample as liblinear reads it: features 1..n, the bias as n+1. */
static struct feature_node *
sample_features(const struct sample *s, const struct vocab *v)
{
	struct feature_node *x = malloc((s->n + 2) * sizeof(*x));
	double value = s->n > 0 ? 1 / sqrt((double)s->n) : 0;
	size_t k = 0;

	if (x == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		long f = vocab_find(v, s->grams[i]);

		if (f >= 0) {
			x[k].index = (int)f + 1;
			x[k++].value = value;
		}
	}
	x[k].index = (int)v->n + 1;
	x[k++].value = 1;
	x[k].index = -1;
	x[k].value = 0;
	return x;
}

/* positive: the labels that count as +1 (a bit per crisis_level). */
static bool
model_fit(const struct corpus *c, int skip, const struct vocab *v,
    unsigned positive, double cost, struct weights *out, char *why,
    size_t whylen)
{
	const char *bad;
	struct problem prob = { 0 };
	struct parameter param = { 0 };
	struct model *m = NULL;
	int labels[2] = { 1, -1 }, npos = 0;
	double balance[2];
	bool ok = false;

	snprintf(why, whylen, "out of memory");
	prob.x = calloc(c->n, sizeof(*prob.x));
	prob.y = calloc(c->n, sizeof(*prob.y));
	out->w = calloc(v->n ? v->n : 1, sizeof(*out->w));
	if (prob.x == NULL || prob.y == NULL || out->w == NULL)
		goto done;
	if (v->n == 0) {
		snprintf(why, whylen, "no n-gram is in %d lines or more: the "
		    "sets are too small to learn from", TRAIN_MIN_LINES);
		goto done;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->s[i].file == skip)
			continue;
		if ((prob.x[prob.l] = sample_features(&c->s[i], v)) == NULL)
			goto done;
		prob.y[prob.l] = (positive >> c->s[i].label) & 1 ? 1 : -1;
		npos += prob.y[prob.l++] > 0;
	}
	if (npos == 0 || npos == prob.l) {
		snprintf(why, whylen, "the lines to learn from%s are all %s",
		    skip >= 0 ? " (one set left out)" : "",
		    npos == 0 ? "negative" : "positive");
		goto done;
	}
	prob.n = (int)v->n + 1;
	prob.bias = 1;
	/* Classes weighted to balance, so neither drowns the other. */
	balance[0] = prob.l / (2.0 * npos);
	balance[1] = prob.l / (2.0 * (prob.l - npos));
	param.solver_type = L2R_LR;
	param.eps = 0.01;
	param.C = cost;
	param.nr_weight = 2;
	param.weight_label = labels;
	param.weight = balance;
#if LIBLINEAR_VERSION >= 240
	param.regularize_bias = 1;	/* as 2.3's did: the model stays alike */
#endif
	set_print_string_function(liblinear_quiet);
	if ((bad = check_parameter(&prob, &param)) != NULL) {
		snprintf(why, whylen, "liblinear: %s", bad);
		goto done;
	}
	if ((m = train(&prob, &param)) == NULL)
		goto done;
	/* w is for the first label liblinear met; turn it to +1's. */
	for (size_t j = 0; j < v->n; j++)
		out->w[j] = m->label[0] == 1 ? m->w[j] : -m->w[j];
	out->bias = m->label[0] == 1 ? m->w[v->n] : -m->w[v->n];
	ok = true;
done:
	if (m != NULL)
		free_and_destroy_model(&m);
	for (int i = 0; i < prob.l; i++)
		free(prob.x[i]);
	free(prob.x);
	free(prob.y);
	if (!ok) {
		free(out->w);
		out->w = NULL;
	}
	return ok;
}

#define HIGH_ONLY	(1u << CRISIS_HIGH)
#define ANY_RISK	((1u << CRISIS_HIGH) | (1u << CRISIS_MEDIUM))

static double
sample_probability(const struct sample *s, const struct vocab *v,
    const struct weights *w)
{
	double sum = 0;

	for (size_t i = 0; i < s->n; i++) {
		long f = vocab_find(v, s->grams[i]);

		if (f >= 0)
			sum += w->w[f];
	}
	return 1 / (1 + exp(-(w->bias + (s->n ? sum / sqrt((double)s->n) :
	    0))));
}

static void
gram_utf8(uint64_t key, char *out, size_t outlen)
{
	size_t w = 0;

	for (; key != 0; key >>= 21) {
		int n = u8_uctomb((uint8_t *)out + w, (ucs4_t)(key & 0x1FFFFF),
		    (int)(outlen - 1 - w));

		if (n < 0)
			break;
		w += (size_t)n;
	}
	out[w] = '\0';
}

static void
model_write(FILE *out, const struct corpus *c, const char *const *paths,
    int npaths, const struct crisis_train_options *o, const struct vocab *v,
    const struct weights *high, const struct weights *risk)
{
	char gram[4 * CRISIS_GRAM_MAX + 1];

	fprintf(out, "# madoguchi's crisis model, written by `madoguchi crisis "
	    "train`: do not edit by hand.\n# Trained on %zu lines (%d high, "
	    "%d medium, %d none):", c->n, c->count[CRISIS_HIGH],
	    c->count[CRISIS_MEDIUM], c->count[CRISIS_NONE]);
	for (int i = 0; i < npaths; i++)
		fprintf(out, " %s", crisis_base_name(paths[i]));
	fprintf(out, ".\n# Logistic regression (liblinear, L2, C=%g, classes "
	    "weighted to balance) over the\n# character %d- to %d-grams of the "
	    "normalised text seen in at least %d lines.\n"
	    "madoguchi-crisis-model\t1\nngrams\t%d\t%d\n"
	    "high\t%.6g\t%.2f\nrisk\t%.6g\t%.2f\n", o->cost, TRAIN_NMIN,
	    TRAIN_NMAX, TRAIN_MIN_LINES, TRAIN_NMIN, TRAIN_NMAX, high->bias,
	    o->high_threshold, risk->bias, o->risk_floor);
	for (size_t j = 0; j < v->n; j++) {
		gram_utf8(v->key[j], gram, sizeof(gram));
		fprintf(out, "w\t%s\t%.6g\t%.6g\n", gram, high->w[j],
		    risk->w[j]);
	}
}

static bool
corpus_load(struct corpus *c, struct crisis_lexicon *lex,
    const char *const *paths, int npaths, char *why, size_t whylen)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < npaths; i++)
		if (!corpus_read(c, lex, paths[i], i, why, whylen)) {
			corpus_free(c);
			return false;
		}
	if (c->count[CRISIS_HIGH] == 0 || c->count[CRISIS_NONE] == 0) {
		snprintf(why, whylen, "the sets need high and none lines");
		corpus_free(c);
		return false;
	}
	return true;
}

bool
crisis_model_train(struct crisis_lexicon *lex, const char *const *paths,
    int npaths, const struct crisis_train_options *o, FILE *out, char *why,
    size_t whylen)
{
	struct corpus c;
	struct vocab v = { 0 };
	struct weights high = { 0 }, risk = { 0 };
	bool ok;

	if (!corpus_load(&c, lex, paths, npaths, why, whylen))
		return false;
	snprintf(why, whylen, "out of memory");
	ok = vocab_build(&v, &c, -1) &&
	    model_fit(&c, -1, &v, HIGH_ONLY, o->cost, &high, why, whylen) &&
	    model_fit(&c, -1, &v, ANY_RISK, o->cost, &risk, why, whylen);
	if (ok)
		model_write(out, &c, paths, npaths, o, &v, &high, &risk);
	free(high.w);
	free(risk.w);
	free(v.key);
	corpus_free(&c);
	return ok;
}

/* ---- leave one file out ---- */

static const double cv_thresholds[] = { 0.5, 0.6, 0.7, 0.8, 0.9 };
static const double cv_floors[] = { 0.02, 0.05, 0.1, 0.2, 0.3 };
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Each line's probabilities from models that never saw its file. */
static bool
cv_score(const struct corpus *c, const char *const *paths, int npaths,
    double cost, double (*p)[2], char *why, size_t whylen)
{
	for (int f = 0; f < npaths; f++) {
		struct vocab v = { 0 };
		struct weights high = { 0 }, risk = { 0 };
		bool ok = vocab_build(&v, c, f) &&
		    model_fit(c, f, &v, HIGH_ONLY, cost, &high, why, whylen) &&
		    model_fit(c, f, &v, ANY_RISK, cost, &risk, why, whylen);

		if (!ok) {
			char reason[256];

			snprintf(reason, sizeof(reason), "%s", why);
			snprintf(why, whylen, "leaving out %s: %s",
			    crisis_base_name(paths[f]), reason);
		}

		for (size_t i = 0; ok && i < c->n; i++)
			if (c->s[i].file == f) {
				p[i][0] = sample_probability(&c->s[i], &v,
				    &high);
				p[i][1] = sample_probability(&c->s[i], &v,
				    &risk);
			}
		free(high.w);
		free(risk.w);
		free(v.key);
		if (!ok)
			return false;
	}
	return true;
}

/* Lengths a share is taken over: [min, max). */
struct span {
	size_t		 min, max;
};

static const struct span cv_all = { 0, SIZE_MAX };

static bool
sample_in(const struct sample *s, enum crisis_level label, struct span len)
{
	return s->label == label && s->len >= len.min && s->len < len.max;
}

static int
count_in(const struct corpus *c, enum crisis_level label, struct span len)
{
	int n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += sample_in(&c->s[i], label, len);
	return n;
}

static double
share(const struct corpus *c, double (*p)[2], enum crisis_level label,
    int model, double cut, bool above, struct span len)
{
	int n = 0, of = count_in(c, label, len);

	for (size_t i = 0; i < c->n; i++)
		n += sample_in(&c->s[i], label, len) &&
		    (p[i][model] >= cut) == above;
	return of ? (double)n / of : 0;
}

/* The high model on lines of some lengths only (the detector's cuts). */
static void
cv_report_span(FILE *out, const struct corpus *c, double (*p)[2],
    const char *name, struct span len)
{
	fprintf(out, "%s: %d high, %d none\n", name,
	    count_in(c, CRISIS_HIGH, len), count_in(c, CRISIS_NONE, len));
	for (size_t k = 0; k < NELEM(cv_thresholds); k++)
		fprintf(out, "%s\t%.2f\t%.3f\t%.3f\n", name, cv_thresholds[k],
		    share(c, p, CRISIS_HIGH, 0, cv_thresholds[k], true, len),
		    share(c, p, CRISIS_NONE, 0, cv_thresholds[k], true, len));
}

static void
cv_report(FILE *out, const struct corpus *c, int npaths, double (*p)[2])
{
	fprintf(out, "leave one file out: %d files, %zu lines (%d high, "
	    "%d medium, %d none)\n", npaths, c->n, c->count[CRISIS_HIGH],
	    c->count[CRISIS_MEDIUM], c->count[CRISIS_NONE]);
	fprintf(out, "high model\tthreshold\trecall on high\tnone found high\n");
	for (size_t k = 0; k < NELEM(cv_thresholds); k++)
		fprintf(out, "high\t%.2f\t%.3f\t%.3f\n", cv_thresholds[k],
		    share(c, p, CRISIS_HIGH, 0, cv_thresholds[k], true, cv_all),
		    share(c, p, CRISIS_NONE, 0, cv_thresholds[k], true,
		    cv_all));
	cv_report_span(out, c, p, "short", (struct span){
	    CRISIS_MODEL_MIN_CHARS, CRISIS_MODEL_SHORT_CHARS });
	cv_report_span(out, c, p, "longer", (struct span){
	    CRISIS_MODEL_SHORT_CHARS, SIZE_MAX });
	fprintf(out, "risk model\tfloor\tbelow it: high\tmedium\tnone\n");
	for (size_t k = 0; k < NELEM(cv_floors); k++)
		fprintf(out, "risk\t%.2f\t%.3f\t%.3f\t%.3f\n", cv_floors[k],
		    share(c, p, CRISIS_HIGH, 1, cv_floors[k], false, cv_all),
		    share(c, p, CRISIS_MEDIUM, 1, cv_floors[k], false, cv_all),
		    share(c, p, CRISIS_NONE, 1, cv_floors[k], false, cv_all));
}

bool
crisis_model_cross_validate(struct crisis_lexicon *lex,
    const char *const *paths, int npaths,
    const struct crisis_train_options *o, FILE *out, char *why,
    size_t whylen)
{
	struct corpus c;
	double (*p)[2];
	bool ok;

	if (npaths < 2) {
		snprintf(why, whylen, "cross-validation needs two sets or more");
		return false;
	}
	if (!corpus_load(&c, lex, paths, npaths, why, whylen))
		return false;
	snprintf(why, whylen, "out of memory");
	p = calloc(c.n, sizeof(*p));
	if ((ok = p != NULL && cv_score(&c, paths, npaths, o->cost, p, why,
	    whylen)))
		cv_report(out, &c, npaths, p);
	free(p);
	corpus_free(&c);
	return ok;
}
