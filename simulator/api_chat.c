/*
 * The smaller Messaging API endpoints a consultation desk uses: get
 * profile, loading animation and mark-as-read (line-api.md section 4).
 */
#include <string.h>

#include "linesim.h"

#define PROFILE_PREFIX	"/v2/bot/profile/"

/*
 * GET /v2/bot/profile/{userId}: 404 for users we never sent a webhook
 * for and for users who blocked the account, like LINE.
 */
void
api_chat_profile(struct api_call *c)
{
	const char	*user = c->path + strlen(PROFILE_PREFIX);
	cJSON		*o;

	if (!users_known(c->sim->users, user) ||
	    users_is_blocked(c->sim->users, user)) {
		api_set_message(c, 404, "Not found");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "displayName",
	    users_display_name(c->sim->users, user));
	cJSON_AddStringToObject(o, "userId", user);
	cJSON_AddStringToObject(o, "language", "ja");
	api_set(c, 200, json_print(o));
	cJSON_Delete(o);
}

/* POST /v2/bot/chat/loading/start: 202 {} when the body is valid. */
void
api_chat_loading(struct api_call *c)
{
	const cJSON	*secs;
	cJSON		*details;
	long		 v;

	details = cJSON_CreateArray();
	validate_required_string(c->json, "chatId", details);
	secs = cJSON_GetObjectItemCaseSensitive(c->json, "loadingSeconds");
	if (secs != NULL && (!json_int(secs, 5, 60, &v) || v % 5 != 0))
		cJSON_AddItemToArray(details, validate_detail(
		    "must be a multiple of 5 from 5 to 60", "loadingSeconds"));
	if (api_set_details(c, details))
		return;
	api_set(c, 202, xstrdup("{}"));
}

/* POST /v2/bot/chat/markAsRead: any non-empty token is accepted. */
void
api_chat_mark_read(struct api_call *c)
{
	cJSON	*details = cJSON_CreateArray();

	validate_required_string(c->json, "markAsReadToken", details);
	if (api_set_details(c, details))
		return;
	api_set(c, 200, xstrdup("{}"));
}
