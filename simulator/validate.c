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
/* Template messages (the buttons the desk sends as hand-off links). */
#define MAX_ALT_TEXT	400
#define MAX_BUTTONS_TEXT 160	/* 60 with a title or an image */
#define MAX_BUTTONS_TEXT_SMALL 60
#define MAX_TITLE	40
#define MAX_ACTIONS	4
#define MAX_LABEL	20
#define MAX_URI		1000

static void	 validate_message(const cJSON *, int, cJSON *);
static void	 validate_template(const cJSON *, int, cJSON *);
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
	if (strcmp(type, "template") == 0) {
		validate_template(m, i, details);
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

/* o.name: a string of 1..max UTF-16 units (absent is fine unless required). */
static void
check_string(const cJSON *o, const char *name, size_t max, bool required,
    const char *prefix, cJSON *details)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);
	char		 prop[96];
	size_t		 units;

	snprintf(prop, sizeof(prop), "%s.%s", prefix, name);
	if (v == NULL) {
		if (required)
			add_detail(details, "must be specified", prop);
		return;
	}
	if (!cJSON_IsString(v)) {
		add_detail(details, "must be a string", prop);
		return;
	}
	units = utf16_length(v->valuestring);
	if (units < 1 || units > max) {
		char msg[64];

		snprintf(msg, sizeof(msg), "Length must be between 1 and %zu", max);
		add_detail(details, msg, prop);
	}
}

/* A uri action: a label and an http, https, line or tel URI. */
static void
validate_uri_action(const cJSON *a, const char *prefix, cJSON *details)
{
	static const char *const schemes[] = { "http://", "https://", "line://",
	    "tel:" };
	const char	*uri = json_string(a, "uri");
	char		 prop[96];
	bool		 known = false;

	check_string(a, "label", MAX_LABEL, true, prefix, details);
	check_string(a, "uri", MAX_URI, true, prefix, details);
	for (size_t k = 0; uri != NULL && k < sizeof(schemes) /
	    sizeof(schemes[0]); k++)
		known |= strncmp(uri, schemes[k], strlen(schemes[k])) == 0;
	snprintf(prop, sizeof(prop), "%s.uri", prefix);
	if (uri != NULL && !known)
		add_detail(details, "invalid uri scheme", prop);
}

/* altText, and a buttons template's text, title and 1..4 actions. */
static void
validate_template(const cJSON *m, int i, cJSON *details)
{
	const cJSON	*t = cJSON_GetObjectItemCaseSensitive(m, "template");
	const cJSON	*actions, *a;
	const char	*type;
	char		 prefix[48], prop[80];
	int		 n, k = 0;

	snprintf(prefix, sizeof(prefix), "messages[%d]", i);
	check_string(m, "altText", MAX_ALT_TEXT, true, prefix, details);
	snprintf(prefix, sizeof(prefix), "messages[%d].template", i);
	if (!cJSON_IsObject(t)) {
		add_detail(details, "must be specified", prefix);
		return;
	}
	if ((type = json_string(t, "type")) == NULL ||
	    strcmp(type, "buttons") != 0) {
		if (type == NULL || (strcmp(type, "confirm") != 0 &&
		    strcmp(type, "carousel") != 0 &&
		    strcmp(type, "image_carousel") != 0)) {
			snprintf(prop, sizeof(prop), "%s.type", prefix);
			add_detail(details, "Invalid template type", prop);
		}
		return;		/* only buttons are checked in detail */
	}
	check_string(t, "title", MAX_TITLE, false, prefix, details);
	check_string(t, "text", cJSON_GetObjectItemCaseSensitive(t, "title") ||
	    cJSON_GetObjectItemCaseSensitive(t, "thumbnailImageUrl") ?
	    MAX_BUTTONS_TEXT_SMALL : MAX_BUTTONS_TEXT, true, prefix, details);
	actions = cJSON_GetObjectItemCaseSensitive(t, "actions");
	snprintf(prop, sizeof(prop), "%s.actions", prefix);
	if (!cJSON_IsArray(actions) || (n = cJSON_GetArraySize(actions)) < 1 ||
	    n > MAX_ACTIONS) {
		add_detail(details, "Size must be between 1 and 4", prop);
		return;
	}
	cJSON_ArrayForEach(a, actions) {
		const char *at = json_string(a, "type");

		snprintf(prop, sizeof(prop), "%s.actions[%d]", prefix, k++);
		if (at != NULL && strcmp(at, "uri") == 0)
			validate_uri_action(a, prop, details);
		else if (at == NULL)
			add_detail(details, "must be specified", prop);
	}
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
