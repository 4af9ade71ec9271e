/*
 * index.c - finding the lexicon's alternatives that match at a place in
 * a message, fast enough for every inbound text, small enough to keep.
 *
 * The widened lexicon spells out tens of thousands of alternatives, and
 * thousands begin with the same common kana: trying each one that begins
 * with the character at hand cost 200 µs a message. Instead, each group's
 * alternatives are filed in a prefix tree by their head (the part before
 * the first gap): a walk from a place in the text follows the characters
 * there and meets only the alternatives whose head is spelled there, then
 * checks the rest of each (its tail: gaps and later parts).
 *
 * A line that spells stems times endings repeats every ending under every
 * stem, which as a plain tree cost megabytes. So the tree is minimised:
 * subtrees that are equal (the same leaves, the same children) are stored
 * once, and an alternative's length comes from the walk's depth instead of
 * being stored with it. Alternatives added after a build are filed by
 * spelling the built ones out again (rare: lexicons are built once).
 */
#include "crisis_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* memcmp and memcpy that take empty arrays (NULL) too. */
static bool
same(const void *a, const void *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

static void
copy(void *to, const void *from, size_t n)
{
	if (n > 0)
		memcpy(to, from, n);
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

/* Gives back what an array grew beyond its final size. */
static void *
shrink(void *p, size_t n, size_t size, size_t *cap)
{
	void *q;

	if (n == 0) {
		free(p);
		*cap = 0;
		return NULL;
	}
	if ((q = realloc(p, n * size)) == NULL)
		return p;	/* keeping the larger block is fine */
	*cap = n;
	return q;
}

/* ---- alternatives waiting to be filed ---- */

bool
crisis_index_add(struct crisis_index *ix, const struct crisis_entry *e,
    const crisis_char *cp, size_t n)
{
	uint16_t head;

	if (n == 0 || n > CRISIS_ALT_MAX_LEN ||
	    !grow((void **)&ix->alt, &ix->cap, ix->len + 1, sizeof(*ix->alt)) ||
	    ix->pool_len + n > UINT32_MAX ||
	    !grow((void **)&ix->pool, &ix->pool_cap, ix->pool_len + n,
	    sizeof(*ix->pool)))
		return false;
	memcpy(ix->pool + ix->pool_len, cp, n * sizeof(*cp));
	for (head = 0; head < n && cp[head] != CRISIS_GAP; head++)
		;
	ix->alt[ix->len++] = (struct crisis_alt){ .entry = e,
	    .off = (uint32_t)ix->pool_len, .len = (uint16_t)n, .head = head };
	ix->pool_len += n;
	ix->count++;
	ix->built = false;
	return true;
}

static void
pending_free(struct crisis_index *ix)
{
	free(ix->alt);
	free(ix->pool);
	ix->alt = NULL;
	ix->pool = NULL;
	ix->len = ix->cap = ix->pool_len = ix->pool_cap = 0;
}

static void
automaton_free(struct crisis_index *ix)
{
	free(ix->node);
	free(ix->edge);
	free(ix->leafref);
	free(ix->leaf);
	free(ix->tails);
	for (int p = 0; p < 256; p++)
		free(ix->root_page[p]);
	ix->node = NULL;
	ix->edge = NULL;
	ix->leafref = NULL;
	ix->leaf = NULL;
	ix->tails = NULL;
	memset(ix->root_page, 0, sizeof(ix->root_page));
	ix->nnodes = ix->nodes_cap = ix->nedges = ix->edges_cap = 0;
	ix->nleafrefs = ix->nleaves = ix->ntails = 0;
	ix->root = 0;
}

/* ---- spelling a built automaton out again ---- */

struct respell {
	struct crisis_index	*ix;
	crisis_char			 path[CRISIS_ALT_MAX_LEN];
	crisis_char			 alt[CRISIS_ALT_MAX_LEN];
};

static bool
respell_node(struct respell *r, uint32_t node, size_t depth)
{
	struct crisis_index *ix = r->ix;
	const struct crisis_trie_node *n = &ix->node[node];

	for (uint32_t k = 0; k < n->nleaves; k++) {
		const struct crisis_leaf *l = &ix->leaf[ix->leafref[n->leaves + k]];

		memcpy(r->alt, r->path, depth * sizeof(*r->alt));
		memcpy(r->alt + depth, ix->tails + l->tail,
		    l->tail_len * sizeof(*r->alt));
		if (!crisis_index_add(ix, l->entry, r->alt, depth + l->tail_len))
			return false;
		ix->count--;	/* counted when first added */
	}
	for (uint32_t e = n->edges; e < n->edges + n->nedges; e++) {
		if (depth >= CRISIS_ALT_MAX_LEN)
			return false;
		r->path[depth] = ix->edge[e].cp;
		if (!respell_node(r, ix->edge[e].node, depth + 1))
			return false;
	}
	return true;
}

/* The built alternatives back among the pending ones. */
static bool
respell(struct crisis_index *ix)
{
	struct respell *r;
	bool ok;

	if (ix->nnodes == 0)
		return true;
	if ((r = malloc(sizeof(*r))) == NULL)
		return false;
	r->ix = ix;
	ok = respell_node(r, ix->root, 0);
	free(r);
	if (ok)
		automaton_free(ix);
	return ok;
}

/* ---- the plain prefix tree over the pending alternatives ---- */

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

/* A plain tree, before minimising; its nodes' leaves are pending alts. */
struct tree {
	struct crisis_trie_node	*node;
	size_t			 nnodes, nodes_cap;
	struct crisis_trie_edge	*edge;
	size_t			 nedges, edges_cap;
};

/*
 * The node for alternatives [lo, hi), which share their first depth code
 * points: those whose head ends here, then one edge per next code point.
 * Indices, not pointers: the arrays move as they grow. A parent's index
 * is below its children's.
 */
static bool
tree_build(struct tree *tr, const struct crisis_alt *alt, size_t lo,
    size_t hi, size_t depth, uint32_t *out)
{
	uint32_t node = (uint32_t)tr->nnodes, first_edge, nedges = 0;
	size_t j = lo;

	if (!grow((void **)&tr->node, &tr->nodes_cap, tr->nnodes + 1,
	    sizeof(*tr->node)))
		return false;
	tr->nnodes++;
	while (j < hi && alt[j].head == depth)
		j++;
	tr->node[node].leaves = (uint32_t)lo;
	tr->node[node].nleaves = (uint32_t)(j - lo);
	for (size_t k = j; k < hi; k++)
		nedges += k == j || alt[k].cp[depth] != alt[k - 1].cp[depth];
	first_edge = (uint32_t)tr->nedges;
	if (!grow((void **)&tr->edge, &tr->edges_cap, tr->nedges + nedges,
	    sizeof(*tr->edge)))
		return false;
	tr->nedges += nedges;
	tr->node[node].edges = first_edge;
	tr->node[node].nedges = nedges;
	for (uint32_t e = 0; j < hi; e++) {
		size_t end = j + 1;
		uint32_t child;

		while (end < hi && alt[end].cp[depth] == alt[j].cp[depth])
			end++;
		if (!tree_build(tr, alt, j, end, depth + 1, &child))
			return false;
		tr->edge[first_edge + e].cp = alt[j].cp[depth];
		tr->edge[first_edge + e].node = child;
		j = end;
	}
	*out = node;
	return true;
}

/* ---- minimising: equal leaves and equal subtrees stored once ---- */

struct table {
	uint32_t	*slot;		/* id + 1; 0: empty */
	size_t		 size;		/* a power of two */
};

static bool
table_init(struct table *t, size_t n)
{
	t->size = 16;
	while (t->size < 2 * n)
		t->size *= 2;
	return (t->slot = calloc(t->size, sizeof(*t->slot))) != NULL;
}

static uint64_t
hash_add(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static bool
leaf_equal(const struct crisis_index *ix, const struct crisis_leaf *l,
    const struct crisis_entry *e, const crisis_char *tail, size_t n)
{
	return l->entry == e && l->tail_len == n &&
	    same(ix->tails + l->tail, tail, n * sizeof(*tail));
}

/* The id of the leaf for an alternative's entry and tail, made if new. */
static bool
leaf_id(struct crisis_index *ix, struct table *t, const struct crisis_alt *a,
    size_t *tails_cap, size_t *leaves_cap, uint32_t *id)
{
	const crisis_char *tail = a->cp + a->head;
	size_t n = a->len - a->head, i;
	uint64_t h = hash_add(0xcbf29ce484222325ULL, (uintptr_t)a->entry);

	for (size_t k = 0; k < n; k++)
		h = hash_add(h, (uint32_t)tail[k]);
	for (i = h & (t->size - 1); t->slot[i] != 0; i = (i + 1) & (t->size - 1))
		if (leaf_equal(ix, &ix->leaf[t->slot[i] - 1], a->entry, tail, n)) {
			*id = t->slot[i] - 1;
			return true;
		}
	if (!grow((void **)&ix->leaf, leaves_cap, ix->nleaves + 1,
	    sizeof(*ix->leaf)) || !grow((void **)&ix->tails, tails_cap,
	    ix->ntails + n + 1, sizeof(*ix->tails)))
		return false;
	copy(ix->tails + ix->ntails, tail, n * sizeof(*tail));
	ix->leaf[ix->nleaves] = (struct crisis_leaf){ .entry = a->entry,
	    .tail = (uint32_t)ix->ntails, .tail_len = (uint16_t)n };
	for (size_t k = 0; k < n; k++)
		if (tail[k] != CRISIS_GAP)
			ix->leaf[ix->nleaves].needs |= crisis_char_bit(tail[k]);
	ix->ntails += n;
	*id = (uint32_t)ix->nleaves++;
	t->slot[i] = *id + 1;
	return true;
}

/*
 * A node's leaves in the order of their lines in the lexicon, so that of
 * equal matches the earlier line is the one reported. qsort has no
 * argument for the leaf table, so the draft's leaves are sorted as pairs.
 */
struct leaf_order {
	uint32_t	 seq, id;
};

static int
leaf_order_compare(const void *a, const void *b)
{
	const struct leaf_order *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* A node in the making: its sorted, distinct leaves and its edges. */
struct draft {
	uint32_t		*leaves;
	size_t			 nleaves, leaves_cap;
	struct leaf_order	*order;		/* scratch for sorting them */
	size_t			 order_cap;
	struct crisis_trie_edge	*edges;
	size_t			 nedges, edges_cap;
};

static uint64_t
draft_hash(const struct draft *d)
{
	uint64_t h = hash_add(0xcbf29ce484222325ULL, d->nleaves);

	for (size_t k = 0; k < d->nleaves; k++)
		h = hash_add(h, d->leaves[k]);
	for (size_t k = 0; k < d->nedges; k++)
		h = hash_add(hash_add(h, (uint32_t)d->edges[k].cp),
		    d->edges[k].node);
	return h;
}

static bool
draft_equal(const struct crisis_index *ix, const struct crisis_trie_node *n,
    const struct draft *d)
{
	return n->nleaves == d->nleaves && n->nedges == d->nedges &&
	    same(ix->leafref + n->leaves, d->leaves,
	    d->nleaves * sizeof(*d->leaves)) &&
	    same(ix->edge + n->edges, d->edges,
	    d->nedges * sizeof(*d->edges));
}

/* The id of the node a draft describes, made if no equal one exists. */
static bool
node_id(struct crisis_index *ix, struct table *t, const struct draft *d,
    size_t *leafrefs_cap, uint32_t *id)
{
	size_t i;
	struct crisis_trie_node *n;

	for (i = draft_hash(d) & (t->size - 1); t->slot[i] != 0;
	    i = (i + 1) & (t->size - 1))
		if (draft_equal(ix, &ix->node[t->slot[i] - 1], d)) {
			*id = t->slot[i] - 1;
			return true;
		}
	if (!grow((void **)&ix->node, &ix->nodes_cap, ix->nnodes + 1,
	    sizeof(*ix->node)) || !grow((void **)&ix->edge, &ix->edges_cap,
	    ix->nedges + d->nedges, sizeof(*ix->edge)) ||
	    !grow((void **)&ix->leafref, leafrefs_cap, ix->nleafrefs +
	    d->nleaves, sizeof(*ix->leafref)))
		return false;
	n = &ix->node[ix->nnodes];
	*n = (struct crisis_trie_node){ .edges = (uint32_t)ix->nedges,
	    .nedges = (uint32_t)d->nedges, .leaves = (uint32_t)ix->nleafrefs,
	    .nleaves = (uint32_t)d->nleaves };
	copy(ix->edge + ix->nedges, d->edges, d->nedges * sizeof(*d->edges));
	copy(ix->leafref + ix->nleafrefs, d->leaves,
	    d->nleaves * sizeof(*d->leaves));
	ix->nedges += d->nedges;
	ix->nleafrefs += d->nleaves;
	*id = (uint32_t)ix->nnodes++;
	t->slot[i] = *id + 1;
	return true;
}

/* Drafts one tree node, its children already minimised (to[]). */
static bool
draft_fill(struct crisis_index *ix, const struct tree *tr,
    const struct crisis_alt *alt, const uint32_t *to, uint32_t node,
    struct draft *d, struct table *leaves, size_t *tails_cap,
    size_t *leaves_cap)
{
	const struct crisis_trie_node *n = &tr->node[node];
	size_t w = 0;

	d->nleaves = d->nedges = 0;
	if (!grow((void **)&d->leaves, &d->leaves_cap, n->nleaves,
	    sizeof(*d->leaves)) || !grow((void **)&d->edges, &d->edges_cap,
	    n->nedges, sizeof(*d->edges)))
		return false;
	if (!grow((void **)&d->order, &d->order_cap, n->nleaves,
	    sizeof(*d->order)))
		return false;
	for (uint32_t k = 0; k < n->nleaves; k++) {
		if (!leaf_id(ix, leaves, &alt[n->leaves + k], tails_cap,
		    leaves_cap, &d->order[k].id))
			return false;
		d->order[k].seq = alt[n->leaves + k].entry->seq;
	}
	if (n->nleaves > 1)
		qsort(d->order, n->nleaves, sizeof(*d->order),
		    leaf_order_compare);
	for (uint32_t k = 0; k < n->nleaves; k++)	/* one of each */
		if (w == 0 || d->leaves[w - 1] != d->order[k].id)
			d->leaves[w++] = d->order[k].id;
	d->nleaves = w;
	for (uint32_t e = 0; e < n->nedges; e++)
		d->edges[e] = (struct crisis_trie_edge){ .cp =
		    tr->edge[n->edges + e].cp,
		    .node = to[tr->edge[n->edges + e].node] };
	d->nedges = n->nedges;
	return true;
}

/* Children before parents (a parent's index is below its children's). */
static bool
minimise(struct crisis_index *ix, const struct tree *tr,
    const struct crisis_alt *alt)
{
	struct table leaves = { 0 }, nodes = { 0 };
	struct draft d = { 0 };
	size_t tails_cap = 0, leaves_cap = 0, leafrefs_cap = 0;
	uint32_t *to = malloc(tr->nnodes * sizeof(*to));
	bool ok = to != NULL && table_init(&leaves, ix->len) &&
	    table_init(&nodes, tr->nnodes);

	for (size_t k = tr->nnodes; ok && k-- > 0;)
		ok = draft_fill(ix, tr, alt, to, (uint32_t)k, &d, &leaves,
		    &tails_cap, &leaves_cap) &&
		    node_id(ix, &nodes, &d, &leafrefs_cap, &to[k]);
	if (ok)
		ix->root = to[0];
	free(to);
	free(leaves.slot);
	free(nodes.slot);
	free(d.leaves);
	free(d.order);
	free(d.edges);
	if (ok) {
		ix->node = shrink(ix->node, ix->nnodes, sizeof(*ix->node),
		    &ix->nodes_cap);
		ix->edge = shrink(ix->edge, ix->nedges, sizeof(*ix->edge),
		    &ix->edges_cap);
		ix->leafref = shrink(ix->leafref, ix->nleafrefs,
		    sizeof(*ix->leafref), &leafrefs_cap);
		ix->leaf = shrink(ix->leaf, ix->nleaves, sizeof(*ix->leaf),
		    &leaves_cap);
		/* At least one: matching adds offsets to it. */
		ix->tails = shrink(ix->tails, ix->ntails + 1,
		    sizeof(*ix->tails), &tails_cap);
	}
	return ok;
}

/* The root's BMP children into their pages. */
static bool
root_pages_fill(struct crisis_index *ix)
{
	const struct crisis_trie_node *root = &ix->node[ix->root];

	for (uint32_t e = root->edges; e < root->edges + root->nedges; e++) {
		crisis_char c = ix->edge[e].cp;
		uint32_t **page = &ix->root_page[c >> 8];

		if (c > 0xFFFF)
			continue;
		if (*page == NULL && (*page = calloc(256, sizeof(**page))) == NULL)
			return false;
		(*page)[c & 0xFF] = ix->edge[e].node + 1;
	}
	return true;
}

bool
crisis_index_build(struct crisis_index *ix)
{
	struct tree tr = { 0 };
	uint32_t root;
	bool ok;

	if (ix->built)
		return true;
	if (!respell(ix))
		return false;
	for (size_t i = 0; i < ix->len; i++)
		ix->alt[i].cp = ix->pool + ix->alt[i].off;
	if (ix->len > 0)
		qsort(ix->alt, ix->len, sizeof(*ix->alt), alt_head_compare);
	ok = tree_build(&tr, ix->alt, 0, ix->len, 0, &root) &&
	    minimise(ix, &tr, ix->alt) && root_pages_fill(ix);
	free(tr.node);
	free(tr.edge);
	if (!ok) {
		automaton_free(ix);
		return false;
	}
	pending_free(ix);
	ix->built = true;
	return true;
}

void
crisis_index_free(struct crisis_index *ix)
{
	pending_free(ix);
	automaton_free(ix);
	memset(ix, 0, sizeof(*ix));
}

/* ---- matching ---- */

/*
 * Does p (plen code points, GAPs included) match t from i? Characters the
 * pattern names must not be excepted (mask may be NULL); a gap may skip
 * any. On a match, *end is just past it, and pos (if not NULL) says where
 * in t each of p's characters was found (SIZE_MAX for a gap). Gaps are at
 * most PATTERN_GAPS_MAX a line (lexicon.c), so the backtracking stays
 * small.
 */
static bool
match_from(const crisis_char *p, size_t plen, const struct crisis_text *t,
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
child(const struct crisis_index *ix, uint32_t node, crisis_char c)
{
	size_t lo = ix->node[node].edges, hi = lo + ix->node[node].nedges;

	if (node == ix->root && c <= 0xFFFF) {
		const uint32_t *page = ix->root_page[c >> 8];

		return page != NULL && page[c & 0xFF] != 0 ?
		    page[c & 0xFF] - 1 : UINT32_MAX;
	}
	const struct crisis_trie_edge *e;
	size_t n = hi - lo;

	if (n == 0)
		return UINT32_MAX;	/* maybe no edges at all: edge NULL */
	e = ix->edge + lo;
	/* Halving without a branch to mispredict (a select): the edges of a
	 * node are few, and the branchy search cost a third of the walk. */
	while (n > 1) {
		size_t half = n / 2;

		e = e[half].cp <= c ? e + half : e;
		n -= half;
	}
	return e->cp == c ? e->node : UINT32_MAX;
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
	m->node = ix->root;
	m->done = ix->nnodes == 0;
}

bool
crisis_match_next(struct crisis_match *m, struct crisis_hit *hit,
    size_t *end)
{
	const struct crisis_index *ix = m->ix;

	while (!m->done) {
		const struct crisis_trie_node *n = &ix->node[m->node];
		size_t at = m->i + m->depth;

		while (m->k < n->nleaves) {
			const struct crisis_leaf *l =
			    &ix->leaf[ix->leafref[n->leaves + m->k++]];

			/* The head matched on the way down; now the rest,
			 * unless a letter of it is nowhere in the text. */
			if ((l->needs & m->t->absent) == 0 && match_from(ix->tails + l->tail, l->tail_len, m->t,
			    at, m->mask, end, m->pos != NULL ?
			    m->pos + m->depth : NULL)) {
				for (size_t h = 0; m->pos != NULL &&
				    h < m->depth; h++)
					m->pos[h] = m->i + h;
				hit->entry = l->entry;
				hit->len = m->depth + l->tail_len;
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
