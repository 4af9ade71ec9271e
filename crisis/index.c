/*
 * index.c - finding the lexicon's alternatives that match at a place in
 * a message, fast enough for every inbound text.
 *
 * The widened lexicon spells out tens of thousands of alternatives, and
 * thousands begin with the same common kana: trying each one that begins
 * with the character at hand cost 200 µs a message. Instead, each group's
 * alternatives are filed in a prefix tree by their head (the part before
 * the first gap): a walk from a place in the text follows the characters
 * there and meets only the alternatives whose head is spelled there, then
 * checks the rest of each (gaps and later parts).
 */
#include "crisis_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Heads in code point order, a head before the longer heads it begins. */
static int
alt_head_compare(const void *a, const void *b)
{
	const struct crisis_alt *x = a, *y = b;
	size_t n = x->head < y->head ? x->head : y->head;

	for (size_t i = 0; i < n; i++)
		if (x->cp[i] != y->cp[i])
			return x->cp[i] < y->cp[i] ? -1 : 1;
	return x->head < y->head ? -1 : x->head > y->head;
}

static bool
grow(void **p, size_t *cap, size_t need, size_t size)
{
	void *q;
	size_t n = *cap ? *cap : 256;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	if ((q = realloc(*p, n * size)) == NULL)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/*
 * The node for alternatives [lo, hi), which share their first depth code
 * points: those whose head ends here, then one edge per next code point.
 * Indices, not pointers: the arrays move as they grow.
 */
static bool
build(struct crisis_index *ix, size_t lo, size_t hi, size_t depth,
    uint32_t *out)
{
	uint32_t node = (uint32_t)ix->nnodes, first_edge, nedges = 0;
	size_t j = lo;

	if (!grow((void **)&ix->node, &ix->nodes_cap, ix->nnodes + 1,
	    sizeof(*ix->node)))
		return false;
	ix->nnodes++;
	while (j < hi && ix->alt[j].head == depth)
		j++;
	ix->node[node].alts = (uint32_t)lo;
	ix->node[node].nalts = (uint32_t)(j - lo);
	for (size_t k = j; k < hi; k++)
		nedges += k == j || ix->alt[k].cp[depth] != ix->alt[k - 1].cp[depth];
	first_edge = (uint32_t)ix->nedges;
	if (!grow((void **)&ix->edge, &ix->edges_cap, ix->nedges + nedges,
	    sizeof(*ix->edge)))
		return false;
	ix->nedges += nedges;
	ix->node[node].edges = first_edge;
	ix->node[node].nedges = nedges;
	for (uint32_t e = 0; j < hi; e++) {
		size_t end = j + 1;
		uint32_t child;

		while (end < hi && ix->alt[end].cp[depth] == ix->alt[j].cp[depth])
			end++;
		if (!build(ix, j, end, depth + 1, &child))
			return false;
		ix->edge[first_edge + e].cp = ix->alt[j].cp[depth];
		ix->edge[first_edge + e].node = child;
		j = end;
	}
	*out = node;
	return true;
}

static void
root_pages_free(struct crisis_index *ix)
{
	for (int p = 0; p < 256; p++) {
		free(ix->root_page[p]);
		ix->root_page[p] = NULL;
	}
}

/* The root's BMP children into their pages. */
static bool
root_pages_fill(struct crisis_index *ix)
{
	const struct crisis_trie_node *root = &ix->node[0];

	for (uint32_t e = root->edges; e < root->edges + root->nedges; e++) {
		UChar32 c = ix->edge[e].cp;
		uint32_t **page = &ix->root_page[c >> 8];

		if (c > 0xFFFF)
			continue;
		if (*page == NULL && (*page = calloc(256, sizeof(**page))) == NULL)
			return false;
		(*page)[c & 0xFF] = ix->edge[e].node + 1;
	}
	return true;
}

/* Gives back what the arrays grew beyond their final size. */
static void *
shrink(void *p, size_t n, size_t size, size_t *cap)
{
	void *q = n > 0 ? realloc(p, n * size) : NULL;

	if (n > 0 && q == NULL)
		return p;	/* keeping the larger block is fine */
	if (n == 0)
		free(p);
	*cap = n;
	return q;
}

/* The arrays to their final size, then each alternative's place. */
static void
alts_settle(struct crisis_index *ix)
{
	ix->pool = shrink(ix->pool, ix->pool_len, sizeof(*ix->pool),
	    &ix->pool_cap);
	ix->alt = shrink(ix->alt, ix->len, sizeof(*ix->alt), &ix->cap);
	for (size_t i = 0; i < ix->len; i++)
		ix->alt[i].cp = ix->pool + ix->alt[i].off;
}

bool
crisis_index_build(struct crisis_index *ix)
{
	uint32_t root;

	if (ix->built)
		return true;
	free(ix->node);
	free(ix->edge);
	root_pages_free(ix);
	ix->node = NULL;
	ix->edge = NULL;
	ix->nnodes = ix->nodes_cap = ix->nedges = ix->edges_cap = 0;
	alts_settle(ix);
	if (ix->len > 0)
		qsort(ix->alt, ix->len, sizeof(*ix->alt), alt_head_compare);
	if (!build(ix, 0, ix->len, 0, &root) || !root_pages_fill(ix))
		return false;
	ix->node = shrink(ix->node, ix->nnodes, sizeof(*ix->node),
	    &ix->nodes_cap);
	ix->edge = shrink(ix->edge, ix->nedges, sizeof(*ix->edge),
	    &ix->edges_cap);
	ix->built = true;
	return true;
}

void
crisis_index_free(struct crisis_index *ix)
{
	free(ix->alt);
	free(ix->pool);
	free(ix->node);
	free(ix->edge);
	root_pages_free(ix);
	memset(ix, 0, sizeof(*ix));
}

/*
 * Does p (plen code points, GAPs included) match t from i? Characters the
 * pattern names must not be excepted (mask may be NULL); a gap may skip
 * any. On a match, *end is just past it, and pos (if not NULL) says where
 * in t each of p's characters was found (SIZE_MAX for a gap). Gaps are at
 * most PATTERN_GAPS_MAX a line (lexicon.c), so the backtracking stays
 * small.
 */
static bool
match_from(const UChar32 *p, size_t plen, const struct crisis_text *t,
    size_t i, const unsigned char *mask, size_t *end, size_t *pos)
{
	size_t k = 0;

	for (; k < plen && p[k] != CRISIS_GAP; k++, i++) {
		if (i >= t->len || t->cp[i] != p[k] ||
		    (mask != NULL && mask[i] == CRISIS_MASK_EXCEPTED))
			return false;
		if (pos != NULL)
			pos[k] = i;
	}
	if (k == plen) {
		*end = i;
		return true;
	}
	if (pos != NULL)
		pos[k] = SIZE_MAX;
	/* A gap: try every length, shortest first. */
	for (size_t skip = 0; skip <= CRISIS_GAP_MAX && i + skip < t->len;
	    skip++)
		if (match_from(p + k + 1, plen - k - 1, t, i + skip, mask, end,
		    pos != NULL ? pos + k + 1 : NULL))
			return true;
	return false;
}

/* The child of node along c, or UINT32_MAX. */
static uint32_t
child(const struct crisis_index *ix, uint32_t node, UChar32 c)
{
	size_t lo = ix->node[node].edges, hi = lo + ix->node[node].nedges;

	if (node == 0 && c <= 0xFFFF) {
		const uint32_t *page = ix->root_page[c >> 8];

		return page != NULL && page[c & 0xFF] != 0 ?
		    page[c & 0xFF] - 1 : UINT32_MAX;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->edge[mid].cp < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->node[node].edges + ix->node[node].nedges &&
	    ix->edge[lo].cp == c ? ix->edge[lo].node : UINT32_MAX;
}

void
crisis_match_start(struct crisis_match *m, const struct crisis_index *ix,
    const struct crisis_text *t, size_t i, const unsigned char *mask,
    size_t *pos)
{
	memset(m, 0, sizeof(*m));
	m->pos = pos;
	m->ix = ix;
	m->t = t;
	m->i = i;
	m->mask = mask;
	m->done = ix->nnodes == 0;
}

bool
crisis_match_next(struct crisis_match *m, const struct crisis_alt **a,
    size_t *end)
{
	const struct crisis_index *ix = m->ix;

	while (!m->done) {
		const struct crisis_trie_node *n = &ix->node[m->node];
		size_t at = m->i + m->depth;

		while (m->k < n->nalts) {
			const struct crisis_alt *alt = &ix->alt[n->alts + m->k++];

			/* The head matched on the way down; now the rest. */
			if (match_from(alt->cp + alt->head, alt->len - alt->head,
			    m->t, at, m->mask, end, m->pos != NULL ?
			    m->pos + alt->head : NULL)) {
				for (size_t h = 0; m->pos != NULL && h < alt->head;
				    h++)
					m->pos[h] = m->i + h;
				*a = alt;
				return true;
			}
		}
		if (at >= m->t->len || (m->mask != NULL &&
		    m->mask[at] == CRISIS_MASK_EXCEPTED) ||
		    (m->node = child(ix, m->node, m->t->cp[at])) == UINT32_MAX) {
			m->done = true;
			break;
		}
		m->depth++;
		m->k = 0;
	}
	return false;
}
