/*
 * crisis_internal.h - what normalize.c, lexicon.c and detect.c share.
 * Not for use outside crisis/.
 */
#ifndef MADOGUCHI_CRISIS_INTERNAL_H
#define MADOGUCHI_CRISIS_INTERNAL_H

#include <stdint.h>

#include "crisis.h"

/* A Unicode code point; CRISIS_GAP (negative) in compiled patterns. */
typedef int32_t crisis_char;

/* In a compiled pattern: a gap of up to CRISIS_GAP_MAX characters. */
#define CRISIS_GAP	((crisis_char)-1)
#define CRISIS_GAP_MAX	10

/* Text as code points, growable. */
struct crisis_text {
	crisis_char		*cp;
	size_t		 len, cap;
	/* Set by crisis_normalize: crisis_char_bit of every character
	 * certainly not in the text (0: nothing known). */
	uint64_t	 absent;
};

/* One of 64 bits for a character: a set of them tells, cheaply and with
 * no false "absent", whether a text can hold all of a pattern's letters. */
static inline uint64_t
crisis_char_bit(crisis_char c)
{
	return (uint64_t)1 << (((uint32_t)c * 2654435761u) >> 26);
}

/* The normaliser's scratch buffers (libunistring's UCS-4 strings). */
struct crisis_norm {
	uint32_t	*in, *out;
	size_t		 incap, outcap;
};

bool	crisis_norm_init(struct crisis_norm *n, char *why, size_t whylen);
void	crisis_norm_free(struct crisis_norm *n);
/* Replaces out's content with the normalised form of text. */
bool	crisis_normalize(struct crisis_norm *n, const char *text, size_t len,
	    struct crisis_text *out);
/* Collapses runs of one code point, as normalising does, in place. */
void	crisis_collapse_runs(struct crisis_text *t);
bool	crisis_text_push(struct crisis_text *t, crisis_char c);
bool	crisis_text_append(struct crisis_text *t, const crisis_char *cp, size_t n);
void	crisis_text_free(struct crisis_text *t);

enum crisis_kind {
	CRISIS_KIND_HIGH,
	CRISIS_KIND_MEDIUM,
	CRISIS_KIND_CONTEXT_HIGH,
	CRISIS_KIND_CONTEXT_MEDIUM,
	CRISIS_KIND_EXCEPT,
	CRISIS_KIND_LOWER,
	CRISIS_KIND_SOFTEN,
	CRISIS_KIND_NEGATE
};

#define CRISIS_FLAG_SOFT	0x1	/* does not count beside a laugh */
#define CRISIS_FLAG_NEG		0x2	/* a denial right after cancels it */
#define CRISIS_FLAG_FIRM	0x4	/* stays high where a lower matched */

/* One lexicon line. */
struct crisis_entry {
	enum crisis_kind kind;
	unsigned	 flags;
	uint32_t	 seq;		/* its place in the lexicon: 0, 1, ... */
	char		 rule[CRISIS_RULE_MAX];	/* "intent:死にたい" */
	bool		 desk;		/* a desk's own line (crisis_terms) */
};

/* One spelled-out alternative of a line's pattern, GAPs included. */
struct crisis_alt {
	const struct crisis_entry *entry;
	const crisis_char	*cp;		/* in the pending pool, set when built */
	uint32_t	 off;		/* where cp starts in the pool */
	uint16_t	 len;
	uint16_t	 head;		/* code points before the first GAP */
};

/* Longer alternatives are refused: len and head must fit 16 bits. */
#define CRISIS_ALT_MAX_LEN	1024

/*
 * index.c: the alternatives' heads (the part before the first gap) as a
 * minimised automaton: a prefix tree whose equal subtrees are stored once,
 * so a line that spells stems times endings costs stems plus endings.
 */
struct crisis_trie_node {
	uint32_t	 edges, nedges;	/* children, by code point */
	uint32_t	 leaves, nleaves;	/* alternatives whose head ends here */
};

struct crisis_trie_edge {
	crisis_char		 cp;
	uint32_t	 node;
};

/* What an alternative is, past its head: its line and its tail. */
struct crisis_leaf {
	const struct crisis_entry *entry;
	uint64_t	 needs;		/* crisis_char_bit of the tail's letters */
	uint32_t	 tail;		/* in tails: from the first GAP on */
	uint16_t	 tail_len;	/* 0: the head is all of it */
};

/* The alternatives of one purpose, and the automaton over them. */
struct crisis_index {
	/* Added since the last build, spelled out; gone once built. */
	struct crisis_alt *alt;
	size_t		 len, cap;
	crisis_char		*pool;
	size_t		 pool_len, pool_cap;
	size_t		 count;		/* alternatives in all, built or not */
	bool		 built;		/* false: a line was added since */
	struct crisis_trie_node *node;
	size_t		 nnodes, nodes_cap;
	struct crisis_trie_edge *edge;
	size_t		 nedges, edges_cap;
	uint32_t	 root;
	uint32_t	*leafref;	/* a node's leaves, by index in leaf */
	size_t		 nleafrefs;
	struct crisis_leaf *leaf;
	size_t		 nleaves;
	crisis_char		*tails;
	size_t		 ntails;
	/* The root's children by BMP code point (node + 1; 0: none), in
	 * pages of 256 made as needed: every place in every message starts
	 * there, and a search among thousands of edges cost most of a check. */
	uint32_t	*root_page[256];
};

/* Files an alternative (n code points, GAPs included); false: memory, or
 * longer than CRISIS_ALT_MAX_LEN. */
bool	crisis_index_add(struct crisis_index *ix,
	    const struct crisis_entry *e, const crisis_char *cp, size_t n);
/* Sorts and files the alternatives if a line was added; false: memory. */
bool	crisis_index_build(struct crisis_index *ix);
void	crisis_index_free(struct crisis_index *ix);

/* An alternative that matched: its line, and how many characters of
 * the pattern (GAPs counted as one) it spells. */
struct crisis_hit {
	const struct crisis_entry *entry;
	size_t		 len;
};

/* A walk from t's position i that yields each alternative matching there. */
struct crisis_match {
	const struct crisis_index *ix;
	const struct crisis_text *t;
	const unsigned char	*mask;	/* CRISIS_MASK_*, or NULL */
	size_t			*pos;	/* where each character matched, or NULL */
	size_t			 i, depth;
	uint32_t		 node, k;
	bool			 done;
};

void	crisis_match_start(struct crisis_match *m,
	    const struct crisis_index *ix, const struct crisis_text *t,
	    size_t i, const unsigned char *mask, size_t *pos);
/*
 * The next match (and just past its end), or false when none is left.
 * With pos, pos[k] is where the alternative's k-th code point matched
 * (SIZE_MAX for a gap): pos needs room for the longest alternative.
 */
bool	crisis_match_next(struct crisis_match *m, struct crisis_hit *hit,
	    size_t *end);

enum crisis_group {
	CRISIS_GROUP_TERMS,	/* high, medium, context-* */
	CRISIS_GROUP_EXCEPT,	/* except and lower */
	CRISIS_GROUP_SOFTEN,
	CRISIS_GROUP_NEGATE,
	CRISIS_GROUPS
};

struct crisis_lexicon {
	struct crisis_norm norm;
	struct crisis_entry **entries;
	size_t		 nentries, entries_cap;
	struct crisis_index group[CRISIS_GROUPS];
	struct crisis_text text;	/* scratch: the message */
	unsigned char	*masked;	/* scratch: CRISIS_MASK_* by character */
	unsigned char	*laugh;		/* scratch: a laugh marker starts here */
	size_t		 masked_cap;
	size_t		*pos;		/* scratch: where an exception matched */
	size_t		 pos_cap;
	size_t		 longest;	/* the longest alternative */
	struct crisis_model *model;	/* NULL: the lexicon alone */
};

/* ---- lexicon.c: files' lines, shared with model.c and train.c ---- */

/* Splits a line at tabs, in place, into at most 4 fields; how many, or -1
 * if there are more. The line end is cut off first. */
int	crisis_split_fields(char *line, char **f);
/* The file name at the end of path. */
const char *crisis_base_name(const char *path);

/* ---- model.c: the second opinion ---- */

#define CRISIS_GRAM_MAX	3	/* code points in an n-gram, at most */

struct crisis_model {
	uint64_t	*key;		/* n-grams (crisis_gram_key); 0: free */
	float		(*w)[2];	/* their weights: high, risk */
	size_t		 cap, len;
	int		 nmin, nmax;	/* the n-grams' lengths */
	double		 bias[2];	/* high, risk */
	double		 cut[2];	/* high's threshold, risk's floor */
	char		 source[64];	/* "model.txt" */
	uint64_t	*seen_key;	/* scratch: a message's n-grams so far, */
	uint32_t	*seen_stamp;	/* those stamped with stamp */
	size_t		 seen_cap;
	uint32_t	 stamp;
};

struct crisis_model *crisis_model_load(const char *path, char *why,
	    size_t whylen);
void	crisis_model_free(struct crisis_model *m);
uint64_t crisis_gram_key(const crisis_char *cp, int n);
/* The probabilities of high and of risk (high or medium) for t. */
bool	crisis_model_score(struct crisis_model *m, const struct crisis_text *t,
	    double p[2]);

/*
 * How sure the model must be, by length (normalised characters). Below
 * MIN_CHARS it has too little to go on (今, もう): those messages are the
 * lexicon's alone. Below SHORT_CHARS a high needs SHORT_CUT, not the
 * model's own threshold: in leave-one-set-out (5,469 lines, December
 * 2026) it called 0.117 of the 248 ordinary lines of 4 to 7 characters
 * high at 0.70 (すぐ行く, もう買った？), against 0.028 at 0.90, while
 * finding 0.78 and 0.53 of the 59 high-risk ones, which the lexicon
 * mostly finds itself (short cries are explicit ones); longer lines
 * 0.029 at 0.70. (With seventeen sets, 6,868 lines: short ordinary
 * lines 0.058 at 0.70 and 0.014 at 0.90.)
 * `madoguchi crisis train --cv` prints both lengths apart.
 */
#define CRISIS_MODEL_MIN_CHARS		4
#define CRISIS_MODEL_SHORT_CHARS	8
#define CRISIS_MODEL_SHORT_CUT		0.90

/* What covers a character of the message: the strongest wins. */
#define CRISIS_MASK_LOWERED	1	/* a term starting here is medium at most */
#define CRISIS_MASK_EXCEPTED	2	/* no term matches here */


#endif
