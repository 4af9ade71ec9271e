/*
 * link.c - opening a hand-off link. GET /chat/link/{token} only shows a
 * page with one button, so that whatever fetches a link without a person
 * (a preview, a scanner, another site's <img>) cannot spend it or tie a
 * browser to someone else's consultation. The button POSTs to the same
 * address, from this origin only: the link is spent and a web-chat
 * session made in one statement, so a link opens at most one session
 * however often it is tapped; the session's token goes to the browser in
 * an HttpOnly cookie and the person lands on /chat/, the link gone from
 * the address bar. A link used, expired or unknown gets 410 and a page
 * that says how to get a new one.
 */
#include "webchat_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "http_reply.h"
#include "log.h"
#include "secret_token.h"

#define LINK_ROUTE	"/chat/link/"

/* $1 the link's hash, $2 now, $3 the new session's hash. */
static const char link_open_sql[] =
"WITH link AS ("
"  UPDATE handoff_links SET used_at = $2::timestamptz"
"   WHERE token_hash = decode($1, 'hex') AND used_at IS NULL"
"     AND expires_at > $2::timestamptz"
"  RETURNING id, contact_id"
"), s AS ("
"  INSERT INTO webchat_sessions (token_hash, contact_id, link_id,"
"      created_at, last_seen_at, expires_at)"
"  SELECT decode($3, 'hex'), contact_id, id, $2::timestamptz,"
"      $2::timestamptz, $2::timestamptz + make_interval(hours =>"
"        coalesce((SELECT (value #>> '{}')::int FROM settings"
"                   WHERE key = 'webchat_session_hours'"
"                     AND channel_id IS NULL), 12))"
"    FROM link"
"  RETURNING id, contact_id"
") SELECT id, contact_id FROM s";

/* $1 the link's hash, $2 now: whether it can still be opened. */
static const char link_valid_sql[] =
"SELECT 1 FROM handoff_links WHERE token_hash = decode($1, 'hex')"
"   AND used_at IS NULL AND expires_at > $2::timestamptz";

/* Around the token (base64url, checked): the button's own address. */
static const char link_page_head[] =
"<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
"<title>相談のページを開く</title>"
"<link rel=\"icon\" href=\"/chat/icon.svg\" type=\"image/svg+xml\">"
"<link rel=\"stylesheet\" href=\"/chat/chat.css\"></head><body>"
"<main class=\"notice\"><img class=\"mark\" src=\"/chat/icon.svg\" alt=\"\" "
"width=\"56\" height=\"56\"><h1>相談のページを開きます</h1>"
"<form method=\"post\" action=\"" LINK_ROUTE;
static const char link_page_tail[] =
"\"><button type=\"submit\" class=\"btn primary wide\" id=\"open\">"
"相談のページを開く</button></form>"
"<p>このボタンは一度だけ使えます。"
"この窓口のLINEから開いたときだけ、押してください。</p>"
"</main></body></html>\n";

static const char link_gone_page[] =
"<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
"<title>リンクの有効期限が切れています</title>"
"<link rel=\"icon\" href=\"/chat/icon.svg\" type=\"image/svg+xml\">"
"<link rel=\"stylesheet\" href=\"/chat/chat.css\"></head><body>"
"<main class=\"notice\"><img class=\"mark\" src=\"/chat/icon.svg\" alt=\"\" "
"width=\"56\" height=\"56\"><h1>このリンクはもう使えません</h1>"
"<p>相談のページへのリンクは、一度開くと使えなくなります。"
"届いてから10分を過ぎたときも使えません。</p>"
"<p>LINEでこの窓口に何かメッセージを送ってください。"
"新しいリンクをお送りします。</p>"
"<p>命の危険があるときは、110番（警察）か119番（救急）に"
"電話してください。</p></main></body></html>\n";

struct link_open {
	struct evhttp_request	*req;
	struct webchat		*w;
	uint8_t			 session[SECRET_TOKEN_BYTES];
	char			 token[SECRET_TOKEN_CHARS + 1];	/* GET only */
};

/*
 * The headers of every page about a link: kept nowhere, and its address
 * (the token) sent to no other site. "same-origin", not "no-referrer":
 * with no-referrer a browser sends the button's POST with "Origin: null",
 * and the origin check could not tell this page from any other.
 */
static void
link_page_headers(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "same-origin");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'self'");
}

static void
link_gone(struct evhttp_request *req)
{
	struct evbuffer *body = evbuffer_new();

	link_page_headers(req);
	if (body != NULL)
		evbuffer_add(body, link_gone_page, sizeof(link_gone_page) - 1);
	http_reply(req, LINK_ROUTE, 410, "text/html; charset=utf-8", body);
	if (body != NULL)
		evbuffer_free(body);
}

static void
link_unavailable(struct evhttp_request *req)
{
	http_reply_error(req, LINK_ROUTE, 503, "いまは接続できません。"
	    "少し待ってから、もう一度開いてください。");
}

/* token has been checked as secret_token_parse checks it: base64url. */
static void
link_page(struct evhttp_request *req, const char *token)
{
	struct evbuffer *body = evbuffer_new();

	if (body == NULL) {
		http_reply_error(req, LINK_ROUTE, 500, "out of memory");
		return;
	}
	link_page_headers(req);
	evbuffer_add(body, link_page_head, sizeof(link_page_head) - 1);
	evbuffer_add(body, token, strlen(token));
	evbuffer_add(body, link_page_tail, sizeof(link_page_tail) - 1);
	http_reply(req, LINK_ROUTE, 200, "text/html; charset=utf-8", body);
	evbuffer_free(body);
}

static void
link_opened(void *arg, const PGresult *res, const char *why)
{
	struct link_open *lo = arg;
	struct evkeyvalq *h = evhttp_request_get_output_headers(lo->req);
	char value[SECRET_TOKEN_CHARS + 1], cookie[200];

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("webchat.link_failed", "sqlstate=%s reason=\"%s\"",
		    db_sqlstate(res), res != NULL ? "rejected by server" : why);
		link_unavailable(lo->req);
	} else if (PQntuples(res) != 1) {
		link_gone(lo->req);
	} else {
		log_info("webchat.session_started", "session=%s contact=%s",
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		secret_token_text(lo->session, value);
		snprintf(cookie, sizeof(cookie), WEBCHAT_COOKIE "=%s; "
		    "Path=/chat/; HttpOnly; SameSite=Lax%s", value,
		    lo->w->opt.cookie_secure ? "; Secure" : "");
		evhttp_add_header(h, "Set-Cookie", cookie);
		evhttp_add_header(h, "Location", "/chat/");
		evhttp_add_header(h, "Cache-Control", "no-store");
		evhttp_add_header(h, "Referrer-Policy", "no-referrer");
		http_reply(lo->req, LINK_ROUTE, 303, "text/plain", NULL);
		OPENSSL_cleanse(value, sizeof(value));
		OPENSSL_cleanse(cookie, sizeof(cookie));
	}
	OPENSSL_cleanse(lo->session, sizeof(lo->session));
	free(lo);
}

/* GET: the page with the button, for a link that can still be opened. */
static void
link_checked(void *arg, const PGresult *res, const char *why)
{
	struct link_open *lo = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("webchat.link_failed", "sqlstate=%s reason=\"%s\"",
		    db_sqlstate(res), res != NULL ? "rejected by server" : why);
		link_unavailable(lo->req);
	} else if (PQntuples(res) != 1)
		link_gone(lo->req);
	else
		link_page(lo->req, lo->token);
	OPENSSL_cleanse(lo->token, sizeof(lo->token));
	free(lo);
}

static void
link_show(struct webchat *w, struct evhttp_request *req, const char *token,
    const char *link_hash, const char *now)
{
	const char *params[2] = { link_hash, now };
	struct link_open *lo = calloc(1, sizeof(*lo));

	if (lo == NULL) {
		http_reply_error(req, LINK_ROUTE, 500, "out of memory");
		return;
	}
	lo->req = req;
	lo->w = w;
	snprintf(lo->token, sizeof(lo->token), "%s", token);
	if (!db_query(w->pool, link_valid_sql, 2, params, link_checked, lo)) {
		OPENSSL_cleanse(lo->token, sizeof(lo->token));
		free(lo);
		link_unavailable(req);
	}
}

/* POST: the person tapped the button; spend the link, start the session. */
static void
link_spend(struct webchat *w, struct evhttp_request *req,
    const char *link_hash, const char *now)
{
	char session_hash[65];
	const char *params[3] = { link_hash, now, session_hash };
	struct link_open *lo;

	if ((lo = calloc(1, sizeof(*lo))) == NULL ||
	    !secret_token_new(lo->session)) {
		free(lo);
		http_reply_error(req, LINK_ROUTE, 500, "out of memory");
		return;
	}
	lo->req = req;
	lo->w = w;
	secret_token_hash_hex(lo->session, session_hash);
	if (!db_query(w->pool, link_open_sql, 3, params, link_opened, lo)) {
		OPENSSL_cleanse(lo->session, sizeof(lo->session));
		free(lo);
		link_unavailable(req);
	}
}

static bool
link_post_says_origin(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *site = evhttp_find_header(in, "Sec-Fetch-Site");

	return evhttp_find_header(in, "Origin") != NULL ||
	    (site != NULL && strcmp(site, "same-origin") == 0);
}

void
chat_link_open(struct webchat *w, struct evhttp_request *req,
    const char *token)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	uint8_t link[SECRET_TOKEN_BYTES];
	char link_hash[65], now[CLOCK_ISO_LEN];

	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, POST");
		http_reply_error(req, LINK_ROUTE, 405, "method not allowed");
		return;
	}
	/* Another site's form could otherwise tie this browser to the
	 * consultation of whoever the link was made for: the button's POST
	 * says where it comes from (Origin, or at least Sec-Fetch-Site). */
	if (method == EVHTTP_REQ_POST && (!chat_same_origin(w, req) ||
	    !link_post_says_origin(req))) {
		http_reply_error(req, LINK_ROUTE, 403, "this link opens only "
		    "from its own page");
		return;
	}
	if (!secret_token_parse(token, strlen(token), link)) {
		link_gone(req);
		return;
	}
	secret_token_hash_hex(link, link_hash);
	OPENSSL_cleanse(link, sizeof(link));
	clock_format_utc(clock_now_us(), now);
	if (method == EVHTTP_REQ_GET)
		link_show(w, req, token, link_hash, now);
	else
		link_spend(w, req, link_hash, now);
}
