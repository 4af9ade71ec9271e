/*
 * Injected failures for the Messaging API endpoints (POST /sim/faults).
 * Each fault answers the next `count` API calls whose path starts with
 * its `path` (any path if none) with an error status, or holds them open
 * ("hang").  Faults are consumed first-in first-out.  With "accept":true
 * the call is carried out first (message sent, retry key accepted, reply
 * token used) and only the answer is lost: the case retry keys exist for.
 */
#include <stdlib.h>
#include <string.h>

#include "linesim.h"

#define FAULT_MAX_COUNT	1000000

struct fault_item {
	struct fault		 f;
	char			*path;		/* prefix, NULL = any */
	long			 remaining;
	struct fault_item	*next;
};

struct faults {
	struct fault_item	*head;
};

static bool	 fault_matches(const struct fault_item *, const char *);
static const char *fault_parse(const cJSON *, struct fault_item *);

struct faults *
faults_new(void)
{
	return xcalloc(1, sizeof(struct faults));
}

void
faults_free(struct faults *fs)
{
	if (fs == NULL)
		return;
	faults_clear(fs);
	free(fs);
}

void
faults_clear(struct faults *fs)
{
	struct fault_item	*it;

	while ((it = fs->head) != NULL) {
		fs->head = it->next;
		free(it->path);
		free(it);
	}
}

/* Consume one use of the first fault matching path, if any. */
bool
faults_take(struct faults *fs, const char *path, struct fault *out)
{
	struct fault_item	**pp, *it;

	for (pp = &fs->head; (it = *pp) != NULL; pp = &it->next) {
		if (!fault_matches(it, path))
			continue;
		*out = it->f;
		if (--it->remaining == 0) {
			*pp = it->next;
			free(it->path);
			free(it);
		}
		return true;
	}
	return false;
}

/*
 * Queue the fault described by a /sim/faults request body.  Returns NULL
 * on success or a static message explaining what is wrong.
 */
const char *
faults_add_json(struct faults *fs, const cJSON *json)
{
	struct fault_item	 tmp, *it, **pp;
	const char		*err;

	memset(&tmp, 0, sizeof(tmp));
	if ((err = fault_parse(json, &tmp)) != NULL)
		return err;
	it = xmalloc(sizeof(*it));
	*it = tmp;
	for (pp = &fs->head; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = it;
	return NULL;
}

/* {"faults":[{"status":429|"hang","remaining":N,"path":...,"accept":b}]} */
cJSON *
faults_to_json(const struct faults *fs)
{
	const struct fault_item	*it;
	cJSON			*root, *arr, *o;

	root = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(root, "faults");
	for (it = fs->head; it != NULL; it = it->next) {
		o = cJSON_CreateObject();
		if (it->f.status == 0)
			cJSON_AddStringToObject(o, "status", "hang");
		else
			cJSON_AddNumberToObject(o, "status", it->f.status);
		cJSON_AddNumberToObject(o, "remaining", (double)it->remaining);
		if (it->path != NULL)
			cJSON_AddStringToObject(o, "path", it->path);
		else
			cJSON_AddNullToObject(o, "path");
		cJSON_AddBoolToObject(o, "accept", it->f.accept);
		cJSON_AddItemToArray(arr, o);
	}
	return root;
}

/* The "message" LINE puts in an error body with this status. */
const char *
faults_message(int status)
{
	switch (status) {
	case 400:
		return "Bad request";
	case 401:
		return "Authentication failed. Confirm that the access token "
		    "in the authorization header is valid.";
	case 403:
		return "Access to this API is not available for your account";
	case 404:
		return "Not found";
	case 409:
		return "The retry key is already accepted";
	case 413:
		return "Request entity too large";
	case 429:
		return "Too many requests";
	case 500:
		return "Internal server error";
	default:
		return status < 500 ? "Bad request" : "Service unavailable";
	}
}

static bool
fault_matches(const struct fault_item *it, const char *path)
{
	return it->path == NULL ||
	    strncmp(path, it->path, strlen(it->path)) == 0;
}

static const char *
fault_parse(const cJSON *json, struct fault_item *it)
{
	const cJSON	*st, *cnt, *path, *acc;
	long		 v;

	st = cJSON_GetObjectItemCaseSensitive(json, "status");
	cnt = cJSON_GetObjectItemCaseSensitive(json, "count");
	path = cJSON_GetObjectItemCaseSensitive(json, "path");
	acc = cJSON_GetObjectItemCaseSensitive(json, "accept");
	if (cJSON_IsString(st) && strcmp(st->valuestring, "hang") == 0)
		it->f.status = 0;
	else if (json_int(st, 400, 599, &v))
		it->f.status = (int)v;
	else
		return "status must be an HTTP error status (400-599) or \"hang\"";
	it->remaining = 1;
	if (cnt != NULL) {
		if (!json_int(cnt, 1, FAULT_MAX_COUNT, &v))
			return "count must be an integer from 1 to 1000000";
		it->remaining = v;
	}
	if (path != NULL && !cJSON_IsNull(path)) {
		if (!cJSON_IsString(path) || path->valuestring[0] != '/')
			return "path must be a string starting with /";
		it->path = xstrdup(path->valuestring);
	}
	if (acc != NULL && !cJSON_IsBool(acc)) {
		free(it->path);
		it->path = NULL;
		return "accept must be true or false";
	}
	it->f.accept = cJSON_IsTrue(acc);
	return NULL;
}
