/*
 * Request-body validation with LINE's error shape: each problem becomes a
 * {"message","property"} entry in a details array, e.g. property
 * "messages[0].text".  Callers collect all problems, then answer 400.
 */
#include <stdio.h>
#include <string.h>

#include "linesim.h"

#define MAX_MESSAGES	5
#define MAX_TEXT_UNITS	5000	/* UTF-16 code units */

static void	 validate_message(const cJSON *, int, cJSON *);
static bool	 known_message_type(const char *);
static void	 add_detail(cJSON *, const char *, const char *);

static const char *const message_types[] = {
	"text", "textV2", "sticker", "image", "video", "audio", "location",
	"imagemap", "template", "flex",
};

cJSON *
validate_detail(const char *message, const char *property)
{
	cJSON	*d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "message", message);
	cJSON_AddStringToObject(d, "property", property);
	return d;
}

/* body.name must be a non-empty string. */
void
validate_required_string(const cJSON *body, const char *name, cJSON *details)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(body, name);

	if (v == NULL || cJSON_IsNull(v))
		add_detail(details, "must be specified", name);
	else if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		add_detail(details, "must be a non-empty string", name);
}

/* body.messages: 1..5 message objects, each with a valid type. */
void
validate_messages(const cJSON *body, cJSON *details)
{
	const cJSON	*msgs, *m;
	int		 n, i = 0;

	msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
	if (msgs == NULL || cJSON_IsNull(msgs)) {
		add_detail(details, "must be specified", "messages");
		return;
	}
	if (!cJSON_IsArray(msgs)) {
		add_detail(details, "must be an array", "messages");
		return;
	}
	n = cJSON_GetArraySize(msgs);
	if (n < 1 || n > MAX_MESSAGES)
		add_detail(details, "Size must be between 1 and 5", "messages");
	cJSON_ArrayForEach(m, msgs)
		validate_message(m, i++, details);
}

static void
validate_message(const cJSON *m, int i, cJSON *details)
{
	const char	*type, *text;
	char		 prop[48];
	size_t		 units;

	snprintf(prop, sizeof(prop), "messages[%d]", i);
	if (!cJSON_IsObject(m)) {
		add_detail(details, "must be an object", prop);
		return;
	}
	snprintf(prop, sizeof(prop), "messages[%d].type", i);
	if ((type = json_string(m, "type")) == NULL) {
		add_detail(details, "must be specified", prop);
		return;
	}
	if (!known_message_type(type)) {
		add_detail(details, "Invalid message type", prop);
		return;
	}
	if (strcmp(type, "text") != 0 && strcmp(type, "textV2") != 0)
		return;
	snprintf(prop, sizeof(prop), "messages[%d].text", i);
	if ((text = json_string(m, "text")) == NULL) {
		add_detail(details, "must be specified", prop);
		return;
	}
	units = utf16_length(text);
	if (units < 1 || units > MAX_TEXT_UNITS)
		add_detail(details, "Length must be between 1 and 5000", prop);
}

static bool
known_message_type(const char *type)
{
	size_t	i;

	for (i = 0; i < sizeof(message_types) / sizeof(message_types[0]); i++)
		if (strcmp(message_types[i], type) == 0)
			return true;
	return false;
}

static void
add_detail(cJSON *details, const char *message, const char *property)
{
	cJSON_AddItemToArray(details, validate_detail(message, property));
}
