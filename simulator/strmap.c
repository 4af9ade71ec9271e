/*
 * A string-keyed hash map (chained, FNV-1a, doubling) that also keeps its
 * entries in insertion order, so bounded tables can evict their oldest
 * entry in O(1).  Keys are copied; values are freed with the free_value
 * function given at creation (NULL: the map does not own its values).
 */
#include <stdlib.h>
#include <string.h>

#include "linesim.h"

struct strmap_entry {
	char			*key;
	void			*value;
	uint32_t		 hash;
	struct strmap_entry	*chain;		/* next in bucket */
	struct strmap_entry	*older, *newer;	/* insertion order */
};

struct strmap {
	struct strmap_entry	**buckets;
	size_t			  nbuckets;	/* power of two */
	size_t			  count;
	struct strmap_entry	 *oldest, *newest;
	void			(*free_value)(void *);
};

static uint32_t			 strmap_hash(const char *);
static struct strmap_entry	**strmap_slot(const struct strmap *,
				    const char *, uint32_t);
static void			 strmap_grow(struct strmap *);
static void			 strmap_unlink(struct strmap *,
				    struct strmap_entry **);

struct strmap *
strmap_new(void (*free_value)(void *))
{
	struct strmap	*m;

	m = xcalloc(1, sizeof(*m));
	m->nbuckets = 64;
	m->buckets = xcalloc(m->nbuckets, sizeof(*m->buckets));
	m->free_value = free_value;
	return m;
}

/* Frees the map, its keys and (if owned) its values.  NULL is a no-op. */
void
strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	strmap_clear(m);
	free(m->buckets);
	free(m);
}

void
strmap_clear(struct strmap *m)
{
	struct strmap_entry	*e, *next;

	for (e = m->oldest; e != NULL; e = next) {
		next = e->newer;
		if (m->free_value != NULL)
			m->free_value(e->value);
		free(e->key);
		free(e);
	}
	memset(m->buckets, 0, m->nbuckets * sizeof(*m->buckets));
	m->count = 0;
	m->oldest = m->newest = NULL;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry	*e;

	e = *strmap_slot(m, key, strmap_hash(key));
	return e == NULL ? NULL : e->value;
}

/*
 * Insert or replace.  A replaced value is freed (if owned) and the key
 * becomes the newest entry.
 */
void
strmap_put(struct strmap *m, const char *key, void *value)
{
	struct strmap_entry	*e;
	uint32_t		 h = strmap_hash(key);

	(void)strmap_del(m, key);
	if (m->count >= m->nbuckets)
		strmap_grow(m);
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->value = value;
	e->hash = h;
	e->chain = m->buckets[h & (m->nbuckets - 1)];
	m->buckets[h & (m->nbuckets - 1)] = e;
	e->older = m->newest;
	if (m->newest != NULL)
		m->newest->newer = e;
	else
		m->oldest = e;
	m->newest = e;
	m->count++;
}

/* Remove key, freeing its value if owned.  False if it was absent. */
bool
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_entry	**slot;

	slot = strmap_slot(m, key, strmap_hash(key));
	if (*slot == NULL)
		return false;
	strmap_unlink(m, slot);
	return true;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}

/* The key inserted longest ago (valid until the map changes), or NULL. */
const char *
strmap_oldest_key(const struct strmap *m)
{
	return m->oldest == NULL ? NULL : m->oldest->key;
}

static uint32_t
strmap_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* The chain link pointing at key's entry, or at the NULL ending it. */
static struct strmap_entry **
strmap_slot(const struct strmap *m, const char *key, uint32_t h)
{
	struct strmap_entry	**slot;

	slot = &m->buckets[h & (m->nbuckets - 1)];
	while (*slot != NULL &&
	    ((*slot)->hash != h || strcmp((*slot)->key, key) != 0))
		slot = &(*slot)->chain;
	return slot;
}

static void
strmap_grow(struct strmap *m)
{
	struct strmap_entry	*e;
	size_t			 n = m->nbuckets * 2;

	free(m->buckets);
	m->buckets = xcalloc(n, sizeof(*m->buckets));
	m->nbuckets = n;
	/* Rebuild chains from the order list: no second walk needed. */
	for (e = m->oldest; e != NULL; e = e->newer) {
		e->chain = m->buckets[e->hash & (n - 1)];
		m->buckets[e->hash & (n - 1)] = e;
	}
}

static void
strmap_unlink(struct strmap *m, struct strmap_entry **slot)
{
	struct strmap_entry	*e = *slot;

	*slot = e->chain;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		m->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		m->newest = e->older;
	if (m->free_value != NULL)
		m->free_value(e->value);
	free(e->key);
	free(e);
	m->count--;
}
