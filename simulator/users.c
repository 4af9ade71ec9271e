/*
 * The simulator's own view of each LINE user: seen at all (a webhook was
 * sent for them), blocked (last follow/unfollow event was an unfollow),
 * display name, and their latest message id (default target of unsend).
 * Bounded to LINESIM_USERS_MAX; the user seen longest ago is forgotten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linesim.h"

struct user {
	bool	 blocked;
	char	*display_name;
	char	*last_message_id;
};

struct users {
	struct strmap	*map;
};

static struct user	*users_find_or_add(struct users *, const char *);
static void		 user_free(void *);

struct users *
users_new(void)
{
	struct users	*u;

	u = xcalloc(1, sizeof(*u));
	u->map = strmap_new(user_free);
	return u;
}

void
users_free(struct users *u)
{
	if (u == NULL)
		return;
	strmap_free(u->map);
	free(u);
}

/* Note that a webhook was sent for id; a NULL name keeps the old one. */
void
users_seen(struct users *u, const char *id, const char *display_name)
{
	struct user	*usr = users_find_or_add(u, id);

	if (display_name != NULL) {
		free(usr->display_name);
		usr->display_name = xstrdup(display_name);
	}
}

void
users_set_blocked(struct users *u, const char *id, bool blocked)
{
	users_find_or_add(u, id)->blocked = blocked;
}

bool
users_is_blocked(struct users *u, const char *id)
{
	struct user	*usr = strmap_get(u->map, id);

	return usr != NULL && usr->blocked;
}

bool
users_known(struct users *u, const char *id)
{
	return strmap_get(u->map, id) != NULL;
}

/* Borrowed pointer, valid until the next users_* call; NULL if unknown. */
const char *
users_display_name(struct users *u, const char *id)
{
	struct user	*usr = strmap_get(u->map, id);

	return usr == NULL ? NULL : usr->display_name;
}

void
users_set_last_message(struct users *u, const char *id, const char *msg_id)
{
	struct user	*usr = users_find_or_add(u, id);

	free(usr->last_message_id);
	usr->last_message_id = xstrdup(msg_id);
}

/* Borrowed pointer as above; NULL if none. */
const char *
users_last_message(struct users *u, const char *id)
{
	struct user	*usr = strmap_get(u->map, id);

	return usr == NULL ? NULL : usr->last_message_id;
}

static struct user *
users_find_or_add(struct users *u, const char *id)
{
	struct user	*usr;
	char		 name[64];

	if ((usr = strmap_get(u->map, id)) != NULL)
		return usr;
	if (strmap_count(u->map) >= LINESIM_USERS_MAX)
		(void)strmap_del(u->map, strmap_oldest_key(u->map));
	usr = xcalloc(1, sizeof(*usr));
	/* Japanese default name: profile labels must survive UTF-8. */
	snprintf(name, sizeof(name), "相談者 %.4s", id + strlen(id) -
	    (strlen(id) < 4 ? strlen(id) : 4));
	usr->display_name = xstrdup(name);
	strmap_put(u->map, id, usr);
	return usr;
}

static void
user_free(void *p)
{
	struct user	*usr = p;

	free(usr->display_name);
	free(usr->last_message_id);
	free(usr);
}
