/*
 * model.c - a second opinion on a message: two linear models over the
 * character n-grams of its normalised text, trained (train.c) on the
 * labelled sets in tests/crisis/.
 *
 * The lexicon knows the wordings it was taught; on wordings nobody wrote
 * down it found about two high-risk messages in three. The models judge
 * by the pieces a message is made of (ロープ, 飛び, 最後に), so they
 * carry over to new wordings; they also err where the lexicon would not.
 * So neither replaces the other (detect.c):
 *   - "high" (high against the rest): at or above its threshold, a
 *     message is high whatever the lexicon found;
 *   - "risk" (high or medium against ordinary): below its floor, a
 *     medium that only the project's lexicon found is dropped, as the
 *     words it matched are then most likely used harmlessly.
 * A message's features are its distinct n-grams, each worth
 * 1/sqrt(how many distinct n-grams it has), so long and short messages
 * weigh alike; a model's probability is the logistic of its bias plus
 * the sum.
 *
 * The file (crisis/model.txt, written by `madoguchi crisis train`):
 *   # comments
 *   madoguchi-crisis-model<TAB>1
 *   ngrams<TAB>MIN<TAB>MAX
 *   high<TAB>BIAS<TAB>THRESHOLD
 *   risk<TAB>BIAS<TAB>FLOOR
 *   w<TAB>NGRAM<TAB>WEIGHT_HIGH<TAB>WEIGHT_RISK     (one per n-gram)
 */
#include "crisis_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unistr.h>

#define MODEL_MAGIC	"madoguchi-crisis-model"
#define MODEL_LINE_MAX	1024

/* An n-gram as one number: up to three code points of 21 bits. */
uint64_t
crisis_gram_key(const crisis_char *cp, int n)
{
	uint64_t key = 0;

	for (int k = 0; k < n; k++)
		key |= (uint64_t)(cp[k] & 0x1FFFFF) << (21 * k);
	return key;
}

/*
 * Where key goes in a table of cap (a power of two) slots: the product's
 * top bits, which depend on all of the key's (its low bits depend only
 * on the key's low bits, the n-gram's first character).
 */
static size_t
slot_of(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >>
	    (64 - __builtin_ctzll((unsigned long long)cap)));
}

static bool
table_grow(struct crisis_model *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	uint64_t *key = calloc(cap, sizeof(*key));
	float (*w)[2] = calloc(cap, sizeof(*w));

	if (key == NULL || w == NULL) {
		free(key);
		free(w);
		return false;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t s;

		if (m->key[i] == 0)
			continue;
		for (s = slot_of(m->key[i], cap); key[s] != 0;
		    s = (s + 1) & (cap - 1))
			;
		key[s] = m->key[i];
		memcpy(w[s], m->w[i], sizeof(w[s]));
	}
	free(m->key);
	free(m->w);
	m->key = key;
	m->w = w;
	m->cap = cap;
	return true;
}

/* False: a line for it already (a bad file), or memory. */
static bool
table_put(struct crisis_model *m, uint64_t key, float wh, float wr)
{
	size_t s;

	/* Filled to 3/4 at most: probes stay short, the table small. */
	if ((m->len + 1) * 4 > m->cap * 3 && !table_grow(m))
		return false;
	for (s = slot_of(key, m->cap); m->key[s] != 0;
	    s = (s + 1) & (m->cap - 1))
		if (m->key[s] == key)
			return false;
	m->key[s] = key;
	m->w[s][0] = wh;
	m->w[s][1] = wr;
	m->len++;
	return true;
}

static const float *
table_get(const struct crisis_model *m, uint64_t key)
{
	for (size_t s = slot_of(key, m->cap); m->key[s] != 0;
	    s = (s + 1) & (m->cap - 1))
		if (m->key[s] == key)
			return m->w[s];
	return NULL;
}

static bool
parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && isfinite(*out);
}

/* One n-gram line: "w", the n-gram in normalised UTF-8, two weights. */
static bool
model_gram_line(struct crisis_model *m, char **f, int n, const char **why)
{
	crisis_char cp[CRISIS_GRAM_MAX];
	const uint8_t *s = (const uint8_t *)f[1];
	size_t len = strlen(f[1]);
	double wh, wr;
	int k = 0;

	if (n != 4 || !parse_double(f[2], &wh) || !parse_double(f[3], &wr)) {
		*why = "expected w<TAB>NGRAM<TAB>WEIGHT<TAB>WEIGHT";
		return false;
	}
	while (len > 0) {
		ucs4_t uc;
		int l = u8_mbtoucr(&uc, s, len);

		if (l <= 0 || uc == 0 || k == m->nmax) {
			*why = "the n-gram is not 1 to MAX characters of UTF-8";
			return false;
		}
		cp[k++] = uc;
		s += l;
		len -= (size_t)l;
	}
	if (k < m->nmin) {
		*why = "the n-gram is shorter than MIN";
		return false;
	}
	if (!table_put(m, crisis_gram_key(cp, k), (float)wh, (float)wr)) {
		*why = "the n-gram is there twice (or out of memory)";
		return false;
	}
	return true;
}

/* The lines before the n-grams, in their order. */
static bool
model_head_line(struct crisis_model *m, int seen, char **f, int n,
    const char **why)
{
	double a, b;

	switch (seen) {
	case 0:
		*why = "not a crisis model (its first line must be "
		    MODEL_MAGIC "<TAB>1)";
		return n == 2 && strcmp(f[0], MODEL_MAGIC) == 0 &&
		    strcmp(f[1], "1") == 0;
	case 1:
		*why = "expected ngrams<TAB>MIN<TAB>MAX, 1 <= MIN <= MAX <= 3";
		if (n != 3 || strcmp(f[0], "ngrams") != 0 ||
		    !parse_double(f[1], &a) || !parse_double(f[2], &b) ||
		    a < 1 || b < a || b > CRISIS_GRAM_MAX || a != (int)a ||
		    b != (int)b)
			return false;
		m->nmin = (int)a;
		m->nmax = (int)b;
		return true;
	default:
		*why = seen == 2 ? "expected high<TAB>BIAS<TAB>THRESHOLD" :
		    "expected risk<TAB>BIAS<TAB>FLOOR";
		if (n != 3 || strcmp(f[0], seen == 2 ? "high" : "risk") != 0 ||
		    !parse_double(f[1], &a) || !parse_double(f[2], &b) ||
		    b < 0 || b > 1)
			return false;
		m->bias[seen - 2] = a;
		m->cut[seen - 2] = b;
		return true;
	}
}

static bool
model_read(struct crisis_model *m, FILE *fp, const char *path, char *why,
    size_t whylen)
{
	char line[MODEL_LINE_MAX], *f[4];
	int lineno = 0, seen = 0;

	while (fgets(line, sizeof(line), fp) != NULL) {
		const char *reason = NULL;
		size_t len = strlen(line);
		int n;

		lineno++;
		if (len > 0 && line[len - 1] != '\n' && !feof(fp))
			reason = "line too long";
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (reason == NULL && (len == 0 || line[0] == '#'))
			continue;
		n = reason == NULL ? crisis_split_fields(line, f) : 0;
		if (reason == NULL && (seen < 4 ?
		    model_head_line(m, seen, f, n, &reason) :
		    strcmp(f[0], "w") == 0 ? model_gram_line(m, f, n, &reason) :
		    (reason = "expected w<TAB>NGRAM<TAB>WEIGHT<TAB>WEIGHT",
		    false))) {
			seen += seen < 4;
			continue;
		}
		snprintf(why, whylen, "%s:%d: %s", path, lineno, reason);
		return false;
	}
	if (seen < 4 || m->len == 0) {
		snprintf(why, whylen, "%s: incomplete crisis model", path);
		return false;
	}
	return true;
}

struct crisis_model *
crisis_model_load(const char *path, char *why, size_t whylen)
{
	struct crisis_model *m = calloc(1, sizeof(*m));
	FILE *fp;

	if (m == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		free(m);
		return NULL;
	}
	snprintf(m->source, sizeof(m->source), "%s", crisis_base_name(path));
	if (!model_read(m, fp, path, why, whylen)) {
		crisis_model_free(m);
		m = NULL;
	}
	fclose(fp);
	return m;
}

bool
crisis_model_path(const char *configured, const char *lexicon_path,
    char *out, size_t outlen)
{
	int dir = (int)(crisis_base_name(lexicon_path) - lexicon_path);

	if (strcmp(configured, "none") == 0)
		return false;
	if (configured[0] != '\0')
		return (size_t)snprintf(out, outlen, "%s", configured) < outlen;
	/* Beside the lexicon: installed together, found together. */
	return (size_t)snprintf(out, outlen, "%.*smodel.txt", dir,
	    lexicon_path) < outlen && access(out, R_OK) == 0;
}

void
crisis_model_free(struct crisis_model *m)
{
	if (m == NULL)
		return;
	free(m->key);
	free(m->w);
	free(m->seen_key);
	free(m->seen_stamp);
	free(m);
}

/* Room in the scratch set for n keys at most half full; a new stamp. */
static bool
seen_reset(struct crisis_model *m, size_t n)
{
	size_t cap = m->seen_cap ? m->seen_cap : 256;

	while (cap < 2 * n)
		cap *= 2;
	if (cap != m->seen_cap) {
		uint64_t *key = realloc(m->seen_key, cap * sizeof(*key));
		uint32_t *stamp;

		if (key == NULL)
			return false;
		m->seen_key = key;
		if ((stamp = realloc(m->seen_stamp, cap * sizeof(*stamp))) == NULL)
			return false;
		m->seen_stamp = stamp;
		memset(stamp, 0, cap * sizeof(*stamp));
		m->seen_cap = cap;
		m->stamp = 0;
	}
	if (++m->stamp == 0) {	/* wrapped: old stamps would look current */
		memset(m->seen_stamp, 0, m->seen_cap * sizeof(*m->seen_stamp));
		m->stamp = 1;
	}
	return true;
}

/* True the first time key is met in this message. */
static bool
seen_first(struct crisis_model *m, uint64_t key)
{
	size_t s = slot_of(key, m->seen_cap);

	for (; m->seen_stamp[s] == m->stamp; s = (s + 1) & (m->seen_cap - 1))
		if (m->seen_key[s] == key)
			return false;
	m->seen_stamp[s] = m->stamp;
	m->seen_key[s] = key;
	return true;
}

/*
 * The distinct n-grams, as training counts them (train.c), without
 * sorting: a set stamped per message, so a message costs about
 * its n-grams in lookups (sorting them was half the detector's time).
 */
bool
crisis_model_score(struct crisis_model *m, const struct crisis_text *t,
    double p[2])
{
	double sum[2] = { 0, 0 };
	size_t n = 0;

	if (!seen_reset(m, t->len * (size_t)(m->nmax - m->nmin + 1)))
		return false;
	for (size_t i = 0; i < t->len; i++)
		for (int g = m->nmin; g <= m->nmax && i + (size_t)g <= t->len;
		    g++) {
			uint64_t key = crisis_gram_key(t->cp + i, g);
			const float *w;

			if (!seen_first(m, key))
				continue;
			n++;
			if ((w = table_get(m, key)) != NULL) {
				sum[0] += w[0];
				sum[1] += w[1];
			}
		}
	for (int k = 0; k < 2; k++) {
		double z = m->bias[k] + (n > 0 ? sum[k] / sqrt((double)n) : 0);

		p[k] = 1 / (1 + exp(-z));
	}
	return true;
}
