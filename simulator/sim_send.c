/*
 * POST /sim/send: make the fake platform deliver a webhook to madoguchid
 * and answer once madoguchid has answered.  Three forms:
 *   {"user","type",...}          build an event like LINE would
 *   {"redeliver":"<eventId>"}    resend a stored event, isRedelivery:true
 *   {"raw":<JSON or string>}     sign and send exactly that body
 * plus "signature":"bad"|"none" to send a wrong or no signature.
 */
#include <stdlib.h>
#include <string.h>

#include "linesim.h"

struct send_ctx {
	struct sim		*sim;
	struct evhttp_request	*req;		/* the /sim/send request */
	char			*event_id;	/* NULL = JSON null */
	char			*reply_token;
	char			*message_id;
};

static const char *parse_sig(const cJSON *, enum sig_mode *);
static const char *parse_spec(struct sim *, const cJSON *, struct wh_spec *);
static void	 send_event(struct sim *, struct evhttp_request *,
		    const cJSON *, enum sig_mode);
static void	 send_redeliver(struct sim *, struct evhttp_request *,
		    const cJSON *, enum sig_mode);
static void	 send_raw(struct sim *, struct evhttp_request *,
		    const cJSON *, enum sig_mode);
static void	 note_users(struct sim *, const struct wh_spec *,
		    const struct wh_built *, const char *display_name);
static void	 register_raw_events(struct sim *, const char *body,
		    struct send_ctx *);
static void	 launch(struct sim *, struct evhttp_request *, const char *,
		    enum sig_mode, struct send_ctx *);
static struct send_ctx *ctx_new(const char *, const char *, const char *);
static void	 ctx_free(struct send_ctx *);
static void	 send_done(int status, void *);
static char	*opt_dup(const char *);

void
sim_send_handle(struct sim *sim, struct evhttp_request *req)
{
	enum sig_mode	 sig;
	const char	*err;
	cJSON		*json;

	if ((json = http_body_object(req)) == NULL) {
		http_reply_message(req, 400, "body must be a JSON object");
		return;
	}
	if ((err = parse_sig(json, &sig)) != NULL)
		http_reply_message(req, 400, err);
	else if (cJSON_HasObjectItem(json, "redeliver"))
		send_redeliver(sim, req, json, sig);
	else if (cJSON_HasObjectItem(json, "raw"))
		send_raw(sim, req, json, sig);
	else
		send_event(sim, req, json, sig);
	cJSON_Delete(json);
}

static const char *
parse_sig(const cJSON *json, enum sig_mode *sig)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(json, "signature");

	*sig = SIG_GOOD;
	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	if (cJSON_IsString(v) && strcmp(v->valuestring, "good") == 0)
		return NULL;
	if (cJSON_IsString(v) && strcmp(v->valuestring, "bad") == 0)
		*sig = SIG_BAD;
	else if (cJSON_IsString(v) && strcmp(v->valuestring, "none") == 0)
		*sig = SIG_NONE;
	else
		return "signature must be \"good\", \"bad\" or \"none\"";
	return NULL;
}

static void
send_event(struct sim *sim, struct evhttp_request *req, const cJSON *json,
    enum sig_mode sig)
{
	struct wh_spec	 spec;
	struct wh_built	 b;
	const char	*err, *rt, *mid;

	if ((err = parse_spec(sim, json, &spec)) != NULL) {
		http_reply_message(req, 400, err);
		return;
	}
	webhook_body_build(sim->cfg.destination, &spec, &b);
	rt = b.reply_token[0] != '\0' ? b.reply_token : NULL;
	mid = b.message_id[0] != '\0' ? b.message_id : NULL;
	/* Before sending: madoguchid may reply or ask for the profile
	 * while its webhook request is still open. */
	events_add(sim->events, b.event_id, rt, spec.user, mid, b.body);
	note_users(sim, &spec, &b, json_string(json, "displayName"));
	launch(sim, req, b.body, sig, ctx_new(b.event_id, rt, mid));
	free(b.body);
}

/* Fill spec from the request; pointers borrow from json and sim. */
static const char *
parse_spec(struct sim *sim, const cJSON *json, struct wh_spec *spec)
{
	const cJSON	*ts = cJSON_GetObjectItemCaseSensitive(json,
			    "timestamp");
	long		 v = 0;

	memset(spec, 0, sizeof(*spec));
	spec->user = json_string(json, "user");
	if (spec->user == NULL)
		spec->user = LINESIM_DEMO_USER;
	if (!is_line_user_id(spec->user))
		return "user must be \"U\" followed by 32 lowercase hex digits";
	spec->type = json_string(json, "type");
	if (spec->type == NULL)
		spec->type = "text";
	if (!webhook_body_known_type(spec->type))
		return "type must be text, image, video, audio, file, "
		    "location, sticker, follow, unfollow or unsend";
	spec->text = json_string(json, "text");
	if (spec->text != NULL && spec->text[0] == '\0')
		return "text must not be empty";
	spec->unblocked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json,
	    "unblocked"));
	spec->mode = json_string(json, "mode");
	if (spec->mode != NULL && strcmp(spec->mode, "active") != 0 &&
	    strcmp(spec->mode, "standby") != 0)
		return "mode must be \"active\" or \"standby\"";
	if (ts != NULL && !json_int(ts, 1, 9007199254740991L, &v))
		return "timestamp must be milliseconds since the epoch";
	spec->timestamp = ts != NULL ? v : 0;
	if (strcmp(spec->type, "unsend") != 0)
		return NULL;
	spec->unsend_id = json_string(json, "messageId");
	if (spec->unsend_id == NULL)
		spec->unsend_id = users_last_message(sim->users, spec->user);
	if (spec->unsend_id == NULL)
		return "unsend needs messageId (this user sent no message yet)";
	return NULL;
}

/* Keep our view of the user in step with what LINE would know. */
static void
note_users(struct sim *sim, const struct wh_spec *spec,
    const struct wh_built *b, const char *display_name)
{
	users_seen(sim->users, spec->user, display_name);
	if (strcmp(spec->type, "follow") == 0)
		users_set_blocked(sim->users, spec->user, false);
	else if (strcmp(spec->type, "unfollow") == 0)
		users_set_blocked(sim->users, spec->user, true);
	if (b->message_id[0] != '\0')
		users_set_last_message(sim->users, spec->user, b->message_id);
}

static void
send_redeliver(struct sim *sim, struct evhttp_request *req,
    const cJSON *json, enum sig_mode sig)
{
	struct sim_event	*ev;
	const char		*id = json_string(json, "redeliver");
	char			*body;

	if (id == NULL) {
		http_reply_message(req, 400, "redeliver must be an event id");
		return;
	}
	if ((ev = events_by_id(sim->events, id)) == NULL) {
		http_reply_message(req, 404, "unknown webhookEventId");
		return;
	}
	body = webhook_body_redelivery(ev->body);
	launch(sim, req, body, sig,
	    ctx_new(ev->event_id, ev->reply_token, ev->message_id));
	free(body);
}

static void
send_raw(struct sim *sim, struct evhttp_request *req, const cJSON *json,
    enum sig_mode sig)
{
	const cJSON	*raw = cJSON_GetObjectItemCaseSensitive(json, "raw");
	struct send_ctx	*ctx = ctx_new(NULL, NULL, NULL);
	char		*body;

	/* A string is sent byte for byte: the way to send broken JSON. */
	body = cJSON_IsString(raw) ? xstrdup(raw->valuestring) :
	    json_print(raw);
	register_raw_events(sim, body, ctx);
	launch(sim, req, body, sig, ctx);
	free(body);
}

/*
 * Remember the events of a raw body that look like events (they have a
 * webhookEventId), so that their reply tokens work and they can be
 * redelivered.  The first one's ids go into the /sim/send answer.
 * User state (blocked, ...) is deliberately not derived from raw bodies.
 */
static void
register_raw_events(struct sim *sim, const char *body, struct send_ctx *ctx)
{
	const cJSON	*ev, *src, *msg;
	cJSON		*root;
	const char	*id, *rt, *mid;

	if ((root = cJSON_Parse(body)) == NULL)
		return;
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(root,
	    "events")) {
		if ((id = json_string(ev, "webhookEventId")) == NULL)
			continue;
		src = cJSON_GetObjectItemCaseSensitive(ev, "source");
		msg = cJSON_GetObjectItemCaseSensitive(ev, "message");
		rt = json_string(ev, "replyToken");
		mid = json_string(msg, "id");
		events_add(sim->events, id, rt, json_string(src, "userId"),
		    mid, body);
		if (ctx->event_id == NULL) {
			ctx->event_id = xstrdup(id);
			ctx->reply_token = opt_dup(rt);
			ctx->message_id = opt_dup(mid);
		}
	}
	cJSON_Delete(root);
}

static void
launch(struct sim *sim, struct evhttp_request *req, const char *body,
    enum sig_mode sig, struct send_ctx *ctx)
{
	ctx->sim = sim;
	ctx->req = req;
	webhook_send(sim->sender, body, sig, send_done, ctx);
}

static void
send_done(int status, void *arg)
{
	struct send_ctx	*ctx = arg;
	cJSON		*o;

	if (status < 0) {
		/* Shutting down: evhttp_free() releases the request. */
		ctx_free(ctx);
		return;
	}
	if (!ctx->sim->cfg.quiet)
		sim_log("webhook %s -> %d", ctx->event_id ? ctx->event_id :
		    "(raw)", status);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "status", status);
	if (ctx->event_id != NULL)
		cJSON_AddStringToObject(o, "webhookEventId", ctx->event_id);
	else
		cJSON_AddNullToObject(o, "webhookEventId");
	if (ctx->reply_token != NULL)
		cJSON_AddStringToObject(o, "replyToken", ctx->reply_token);
	else
		cJSON_AddNullToObject(o, "replyToken");
	if (ctx->message_id != NULL)
		cJSON_AddStringToObject(o, "messageId", ctx->message_id);
	else
		cJSON_AddNullToObject(o, "messageId");
	http_reply_cjson(ctx->req, 200, o);
	ctx_free(ctx);
}

static struct send_ctx *
ctx_new(const char *event_id, const char *reply_token, const char *msg_id)
{
	struct send_ctx	*ctx = xcalloc(1, sizeof(*ctx));

	ctx->event_id = opt_dup(event_id);
	ctx->reply_token = opt_dup(reply_token);
	ctx->message_id = opt_dup(msg_id);
	return ctx;
}

static void
ctx_free(struct send_ctx *ctx)
{
	free(ctx->event_id);
	free(ctx->reply_token);
	free(ctx->message_id);
	free(ctx);
}

static char *
opt_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}
