/*
 * outbox.c - writing an outbound message: the message row (sealed text, as
 * the console shows it) and one outbox row per request, each with its own
 * sealed payload, in the caller's transaction.
 */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "clock.h"
#include "json_write.h"
#include "seal.h"
#include "secret_token.h"

#define OUTBOX_BODY_AAD		"messages.body"
#define OUTBOX_PAYLOAD_AAD	"outbox.payload"

static const char outbox_add_sql[] =
"WITH m AS ("
"  INSERT INTO messages (conversation_id, contact_id, direction, kind,"
"      accepted, body, body_key_id, sent_at, received_at, autoreply,"
"      delivery, staff_id)"
"  VALUES ($1::bigint, CASE WHEN $1::bigint IS NULL THEN $8::bigint END,"
"      $2::text, 'text', true, decode($3::text, 'base64'), $4::smallint,"
"      $5::timestamptz, $5::timestamptz, $6::text[], 'pending', $7::bigint)"
"  RETURNING id"
"), o AS ("
"  INSERT INTO outbox (message_id, part, contact_id, channel_id, payload,"
"      payload_key_id, reply_token, reply_token_at, created_at,"
"      next_attempt_at, give_up_at, template)"
"  SELECT m.id, p.part, $8::bigint, $9::integer,"
"      decode(p.payload, 'base64'), p.key_id,"
"      CASE WHEN p.part = 1 THEN $10::text END,"	/* good for one call */
"      CASE WHEN p.part = 1 AND $10::text IS NOT NULL"
"        THEN $11::timestamptz END,"
"      $5::timestamptz, $5::timestamptz, $12::timestamptz, $14::text"
"    FROM m, jsonb_to_recordset($13::jsonb)"
"      AS p(part smallint, payload text, key_id smallint)"
"   ORDER BY p.part"
"  RETURNING id"
"), l AS ("	/* the hand-off link the request carries, if any */
"  INSERT INTO handoff_links (token_hash, contact_id, purpose, created_at,"
"      expires_at)"
"  SELECT decode($15::text, 'hex'), $8::bigint, $16::text, $5::timestamptz,"
"      $5::timestamptz + make_interval(mins => coalesce((SELECT"
"        (value #>> '{}')::int FROM settings WHERE key = 'handoff_minutes'"
"          AND channel_id IS NULL), 10))"
"   WHERE $15::text IS NOT NULL"
"  RETURNING id"
") "
"SELECT m.id, (SELECT count(*) FROM o),"
"  pg_notify('madoguchi_outbox', $9::text) FROM m";

/*
 * An outbound message for the web chat: delivered once stored (the page
 * hears of it through NOTIFY madoguchi_webchat), so no outbox row.
 */
static const char outbox_add_webchat_sql[] =
"WITH m AS ("
"  INSERT INTO messages (conversation_id, contact_id, direction, kind,"
"      accepted, body, body_key_id, sent_at, received_at, autoreply,"
"      delivery, staff_id, via)"
"  VALUES ($1::bigint, CASE WHEN $1::bigint IS NULL THEN $7::bigint END,"
"      $2::text, 'text', true, decode($3::text, 'base64'), $4::smallint,"
"      $5::timestamptz, $5::timestamptz, $6::text[], 'sent', $8::bigint,"
"      'webchat')"
"  RETURNING id"
") "
"SELECT m.id, 0, pg_notify('madoguchi_webchat', json_build_object("
"    'contact', $7::bigint, 'message', m.id)::text) FROM m";

/* The hand-off button, as LINE's buttons template. */
static void
outbox_write_button(struct evbuffer *buf, const char *url)
{
	evbuffer_add_printf(buf, "{\"type\":\"template\",\"altText\":"
	    "\"相談のページを開くボタン\",\"template\":{\"type\":\"buttons\","
	    "\"text\":\"下のボタンから、相談のページを開いてください。"
	    "ボタンは一度だけ使えます。\",\"actions\":[{\"type\":\"uri\","
	    "\"label\":\"相談をはじめる\",\"uri\":");
	json_write_string(buf, url);
	evbuffer_add(buf, "}]}}", 4);
}

/*
 * One request's message objects, as the channel's API takes them; the
 * button (url not NULL) after the text.
 */
static char *
outbox_payload(const struct outbox_piece *pieces, size_t n, const char *url)
{
	struct evbuffer *buf = evbuffer_new();
	char *json = NULL;
	size_t len;

	if (buf == NULL)
		return NULL;
	evbuffer_add(buf, "[", 1);
	for (size_t i = 0; i < n; i++) {
		char *piece = strndup(pieces[i].text, pieces[i].len);

		if (piece == NULL)
			goto done;
		evbuffer_add_printf(buf, "%s{\"type\":\"text\",\"text\":",
		    i > 0 ? "," : "");
		json_write_string(buf, piece);
		evbuffer_add(buf, "}", 1);
		free(piece);
	}
	if (url != NULL) {
		if (n > 0)
			evbuffer_add(buf, ",", 1);
		outbox_write_button(buf, url);
	}
	evbuffer_add(buf, "]", 1);
	len = evbuffer_get_length(buf);
	if ((json = malloc(len + 1)) != NULL) {
		evbuffer_remove(buf, json, len);
		json[len] = '\0';
	}
done:
	evbuffer_free(buf);
	return json;
}

/*
 * [{"part":1,"payload":"<sealed, base64>","key_id":N}, ...]: the text's
 * pieces five to a request, the button (url) last, in a request of its
 * own when the last is full.
 */
static bool
outbox_write_parts(struct evbuffer *out, const struct keyring *keys,
    const struct outbox_piece *pieces, size_t n, const char *url)
{
	size_t objects = n + (url != NULL);

	evbuffer_add(out, "[", 1);
	for (size_t first = 0, part = 1; first < objects;
	    first += OUTBOX_OBJECTS_MAX, part++) {
		size_t count = objects - first < OUTBOX_OBJECTS_MAX ?
		    objects - first : OUTBOX_OBJECTS_MAX;
		bool last = first + count == objects;
		size_t texts = last && url != NULL ? count - 1 : count;
		char *payload = outbox_payload(pieces + first, texts,
		    last ? url : NULL), *b64;
		int key_id;

		if (payload == NULL)
			return false;
		b64 = seal_base64(keys, OUTBOX_PAYLOAD_AAD, payload,
		    strlen(payload), &key_id);
		free(payload);
		if (b64 == NULL)
			return false;
		evbuffer_add_printf(out, "%s{\"part\":%zu,\"payload\":\"%s\","
		    "\"key_id\":%d}", part > 1 ? "," : "", part, b64, key_id);
		free(b64);
	}
	return evbuffer_add(out, "]", 2) == 0;	/* with its NUL */
}

bool
outbox_add(struct db_txn *txn, const struct keyring *keys,
    const struct outbox_item *it, db_result_fn cb, void *arg)
{
	struct outbox_piece pieces[OUTBOX_PIECES_MAX];
	char now[CLOCK_ISO_LEN], token_at[CLOCK_ISO_LEN], give_up[CLOCK_ISO_LEN];
	char key_id[16], *body;
	struct evbuffer *parts;
	size_t n;
	int body_key;
	bool ok = false;

	n = outbox_split(it->text, it->text_len, OUTBOX_TEXT_MAX_UNITS, pieces,
	    OUTBOX_PIECES_MAX);
	if (n == 0)
		return false;
	if ((parts = evbuffer_new()) == NULL)
		return false;
	body = seal_base64(keys, OUTBOX_BODY_AAD, it->text, it->text_len,
	    &body_key);
	if (body != NULL && outbox_write_parts(parts, keys, pieces, n,
	    it->link_url)) {
		const char *params[16];

		clock_format_utc(it->now_us, now);
		clock_format_utc(it->reply_token_us, token_at);
		clock_format_utc(it->give_up_us, give_up);
		snprintf(key_id, sizeof(key_id), "%d", body_key);
		params[0] = it->conversation_id;
		params[1] = it->direction;
		params[2] = body;
		params[3] = key_id;
		params[4] = now;
		params[5] = it->autoreply;
		params[6] = it->staff_id;
		params[7] = it->contact_id;
		params[8] = it->channel_id;
		params[9] = it->reply_token;
		params[10] = token_at;
		params[11] = give_up;
		params[12] = (const char *)evbuffer_pullup(parts, -1);
		params[13] = it->template;
		params[14] = it->link_url != NULL ? it->link_hash : NULL;
		params[15] = it->link_purpose;
		ok = db_txn_query(txn, outbox_add_sql, 16, params, cb, arg);
	}
	free(body);
	evbuffer_free(parts);
	return ok;
}

bool
outbox_add_webchat(struct db_txn *txn, const struct keyring *keys,
    const struct outbox_item *it, db_result_fn cb, void *arg)
{
	char now[CLOCK_ISO_LEN], key_id[16], *body;
	const char *params[8];
	int body_key;
	bool ok;

	if (it->text_len == 0 || (body = seal_base64(keys, OUTBOX_BODY_AAD,
	    it->text, it->text_len, &body_key)) == NULL)
		return false;
	clock_format_utc(it->now_us, now);
	snprintf(key_id, sizeof(key_id), "%d", body_key);
	params[0] = it->conversation_id;
	params[1] = it->direction;
	params[2] = body;
	params[3] = key_id;
	params[4] = now;
	params[5] = it->autoreply;
	params[6] = it->contact_id;
	params[7] = it->staff_id;
	ok = db_txn_query(txn, outbox_add_webchat_sql, 8, params, cb, arg);
	free(body);
	return ok;
}

bool
outbox_link_make(const char *public_url, char url[OUTBOX_LINK_URL_MAX],
    char hash_hex[65])
{
	uint8_t token[SECRET_TOKEN_BYTES];
	char text[SECRET_TOKEN_CHARS + 1];
	size_t n = public_url != NULL ? strlen(public_url) : 0;
	int w;

	while (n > 0 && public_url[n - 1] == '/')
		n--;
	if (n == 0 || !secret_token_new(token))
		return false;
	secret_token_text(token, text);
	secret_token_hash_hex(token, hash_hex);
	w = snprintf(url, OUTBOX_LINK_URL_MAX, "%.*s/chat/link/%s", (int)n,
	    public_url, text);
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(text, sizeof(text));
	return w > 0 && w < OUTBOX_LINK_URL_MAX;
}
