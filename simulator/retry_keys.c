/*
 * X-Line-Retry-Key values of accepted push requests.  LINE keeps a key
 * for 24 hours and answers a repeat with 409 plus the first answer's
 * request id and sentMessages, which is what we store.  Keys are compared
 * case-insensitively (UUID hex) and the table is bounded.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "linesim.h"

#define RETRY_KEY_LIFETIME_MS	(24LL * 60 * 60 * 1000)

struct accepted {
	char	*request_id;
	char	*sent_json;
	int64_t	 accepted_ms;	/* monotonic */
};

struct retry_keys {
	struct strmap	*map;
};

static void	 accepted_free(void *);
static void	 normalise(const char *, char out[37]);

struct retry_keys *
retry_keys_new(void)
{
	struct retry_keys	*rk;

	rk = xcalloc(1, sizeof(*rk));
	rk->map = strmap_new(accepted_free);
	return rk;
}

void
retry_keys_free(struct retry_keys *rk)
{
	if (rk == NULL)
		return;
	strmap_free(rk->map);
	free(rk);
}

/*
 * Look up an accepted key (a UUID).  On success the out pointers borrow
 * the stored values until the next retry_keys_* call.
 */
bool
retry_keys_find(struct retry_keys *rk, const char *key,
    const char **request_id, const char **sent_json)
{
	struct accepted	*a;
	char		 k[37];

	normalise(key, k);
	if ((a = strmap_get(rk->map, k)) == NULL)
		return false;
	if (now_monotonic_ms() - a->accepted_ms > RETRY_KEY_LIFETIME_MS) {
		(void)strmap_del(rk->map, k);
		return false;
	}
	*request_id = a->request_id;
	*sent_json = a->sent_json;
	return true;
}

void
retry_keys_accept(struct retry_keys *rk, const char *key,
    const char *request_id, const char *sent_json)
{
	struct accepted	*a;
	char		 k[37];

	normalise(key, k);
	if (strmap_count(rk->map) >= LINESIM_RETRY_KEYS_MAX)
		(void)strmap_del(rk->map, strmap_oldest_key(rk->map));
	a = xcalloc(1, sizeof(*a));
	a->request_id = xstrdup(request_id);
	a->sent_json = xstrdup(sent_json);
	a->accepted_ms = now_monotonic_ms();
	strmap_put(rk->map, k, a);
}

/* key must already be a valid UUID (36 characters). */
static void
normalise(const char *key, char out[37])
{
	size_t	i;

	for (i = 0; i < 36 && key[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)key[i]);
	out[i] = '\0';
}

static void
accepted_free(void *p)
{
	struct accepted	*a = p;

	free(a->request_id);
	free(a->sent_json);
	free(a);
}
