/*
 * POST /v2/bot/message/reply and /push, with LINE's rules: single-use
 * reply tokens that expire, X-Line-Retry-Key only on push (409 on a
 * repeat, with the first answer), and 200 for blocked users even though
 * nothing is delivered.  Also the monthly quota endpoints, which count
 * pushed messages like LINE does (replies and undelivered pushes free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linesim.h"

static bool	 push_check_retry_key(struct api_call *);
static char	*sent_messages_json(const cJSON *body);
static void	 answer_sent(struct api_call *, const char *sent_json);
static bool	 token_valid(const struct api_call *, const struct sim_event *);

void
api_message_reply(struct api_call *c)
{
	struct sim_event	*ev;
	const char		*token;
	cJSON			*details;
	char			*sent;

	if (c->retry_key != NULL) {
		api_set_message(c, 400,
		    "X-Line-Retry-Key is not supported for this endpoint");
		return;
	}
	details = cJSON_CreateArray();
	validate_required_string(c->json, "replyToken", details);
	validate_messages(c->json, details);
	if (api_set_details(c, details))
		return;		/* an invalid body does not use the token */
	token = json_string(c->json, "replyToken");
	ev = events_by_token(c->sim->events, token);
	if (!token_valid(c, ev)) {
		api_set_message(c, 400, "Invalid reply token");
		return;
	}
	ev->token_used = true;
	c->delivered = ev->user == NULL ||
	    !users_is_blocked(c->sim->users, ev->user);
	sent = sent_messages_json(c->json);
	answer_sent(c, sent);
	free(sent);
}

void
api_message_push(struct api_call *c)
{
	const char	*to = json_string(c->json, "to");
	cJSON		*details;
	char		*sent;

	if (!push_check_retry_key(c))
		return;
	details = cJSON_CreateArray();
	validate_required_string(c->json, "to", details);
	validate_messages(c->json, details);
	if (api_set_details(c, details))
		return;
	if (!is_line_chat_id(to)) {
		/* LINE's answer for ids that are not its own. */
		api_set_message(c, 400, "Failed to send messages");
		return;
	}
	/* Blocked: LINE answers 200 and silently drops the message. */
	c->delivered = !users_is_blocked(c->sim->users, to);
	if (c->delivered)
		c->sim->push_usage += (uint64_t)cJSON_GetArraySize(
		    cJSON_GetObjectItemCaseSensitive(c->json, "messages"));
	sent = sent_messages_json(c->json);
	answer_sent(c, sent);
	if (c->retry_key != NULL)
		retry_keys_accept(c->sim->retry_keys, c->retry_key,
		    c->request_id, sent);
	free(sent);
}

/* GET /v2/bot/message/quota: an unlimited plan. */
void
api_message_quota(struct api_call *c)
{
	api_set(c, 200, xstrdup("{\"type\":\"none\"}"));
}

/* GET /v2/bot/message/quota/consumption */
void
api_message_consumption(struct api_call *c)
{
	char	body[64];

	snprintf(body, sizeof(body), "{\"totalUsage\":%llu}",
	    (unsigned long long)c->sim->push_usage);
	api_set(c, 200, xstrdup(body));
}

/*
 * False (with the answer set) if the retry key is malformed or was
 * already accepted; true if the push may go ahead.
 */
static bool
push_check_retry_key(struct api_call *c)
{
	const char	*first_id, *first_sent;
	char		*body;
	size_t		 len;

	if (c->retry_key == NULL)
		return true;
	if (!ids_is_uuid(c->retry_key)) {
		api_set_message(c, 400,
		    "The value of the X-Line-Retry-Key header is invalid");
		return false;
	}
	if (!retry_keys_find(c->sim->retry_keys, c->retry_key, &first_id,
	    &first_sent))
		return true;
	len = strlen(first_sent) + 80;
	body = xmalloc(len);
	snprintf(body, len, "{\"message\":\"The retry key is already "
	    "accepted\",\"sentMessages\":%s}", first_sent);
	api_set(c, 409, body);
	c->accepted_id = xstrdup(first_id);
	return false;
}

/* One {"id","quoteToken"} per message sent, as a JSON array text. */
static char *
sent_messages_json(const cJSON *body)
{
	const cJSON	*m;
	cJSON		*arr, *o;
	char		 id[19], qt[65], *s;

	arr = cJSON_CreateArray();
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(body,
	    "messages")) {
		o = cJSON_CreateObject();
		ids_message_id(id);
		ids_quote_token(qt);
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddStringToObject(o, "quoteToken", qt);
		cJSON_AddItemToArray(arr, o);
	}
	s = json_print(arr);
	cJSON_Delete(arr);
	return s;
}

static void
answer_sent(struct api_call *c, const char *sent_json)
{
	size_t	 len = strlen(sent_json) + 32;
	char	*body = xmalloc(len);

	snprintf(body, len, "{\"sentMessages\":%s}", sent_json);
	api_set(c, 200, body);
}

static bool
token_valid(const struct api_call *c, const struct sim_event *ev)
{
	int64_t	age;

	if (ev == NULL || ev->token_used)
		return false;
	age = now_monotonic_ms() - ev->issued_ms;
	return age <= (int64_t)c->sim->cfg.reply_token_ttl * 1000;
}
