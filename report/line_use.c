/*
 * line_use.c - the monthly report of the desk's LINE use that the 2021
 * government guidance asks contractors to give their commissioner: what
 * was sent on LINE (each fixed template, and any free text), how people
 * were handed over to the desk's own web chat, and every emergency
 * exception that let a conversation continue on LINE (who, when, why).
 */
#include "report_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

#define JST_TEXT(col)	"to_char((" col ") AT TIME ZONE 'Asia/Tokyo', " \
			"'YYYY-MM-DD HH24:MI')"

const char report_line_use_sql[] =
"WITH " REPORT_PERIOD ","
" sent AS (SELECT o.state, o.template FROM outbox o, p"
"   WHERE o.channel_id = p.ch AND o.done_at >= p.f AND o.done_at < p.t),"
" links AS (SELECT l.* FROM handoff_links l JOIN contacts c"
"   ON c.id = l.contact_id, p WHERE c.channel_id = p.ch),"
" sessions AS (SELECT s.* FROM webchat_sessions s JOIN contacts c"
"   ON c.id = s.contact_id, p WHERE c.channel_id = p.ch"
"     AND s.created_at >= p.f AND s.created_at < p.t),"
" web AS (SELECT m.direction FROM messages m JOIN conversations cv"
"   ON cv.id = m.conversation_id, p WHERE cv.channel_id = p.ch"
"     AND m.via = 'webchat' AND m.received_at >= p.f AND m.received_at < p.t)"
" SELECT json_build_object("
"  'line_mode', coalesce((SELECT s.value #>> '{}' FROM settings s"
"      WHERE s.key = 'line_mode' AND (s.channel_id IS NULL"
"        OR s.channel_id = (SELECT ch FROM p))"
"      ORDER BY s.channel_id NULLS LAST LIMIT 1), 'direct'),"
"  'mode_changes', (SELECT coalesce(json_agg(json_build_array("
"      " JST_TEXT("changed_at") ", new_value #>> '{}', changed_by)"
"      ORDER BY changed_at), '[]') FROM settings_changes, p"
"      WHERE key = 'line_mode' AND changed_at >= p.f AND changed_at < p.t"
"        AND (channel_id IS NULL OR channel_id = p.ch)),"
"  'templates', (SELECT coalesce(json_agg(json_build_array(t, s, f, u)"
"      ORDER BY t), '[]') FROM (SELECT unnest(string_to_array(template, ','))"
"      AS t, count(*) FILTER (WHERE state = 'sent') AS s,"
"      count(*) FILTER (WHERE state = 'failed') AS f,"
"      count(*) FILTER (WHERE state = 'undeliverable') AS u"
"      FROM sent WHERE template IS NOT NULL GROUP BY 1) x),"
"  'requests_sent', (SELECT count(*) FROM sent WHERE state = 'sent'),"
"  'template_requests', (SELECT count(*) FROM sent WHERE state = 'sent'"
"      AND template IS NOT NULL),"
"  'free_text_requests', (SELECT count(*) FROM sent WHERE state = 'sent'"
"      AND template IS NULL),"
"  'links_sent', (SELECT count(*) FROM links, p"
"      WHERE created_at >= p.f AND created_at < p.t),"
"  'links_reply_waiting', (SELECT count(*) FROM links, p WHERE"
"      purpose = 'reply_waiting' AND created_at >= p.f AND created_at < p.t),"
"  'links_opened', (SELECT count(*) FROM links, p"
"      WHERE used_at >= p.f AND used_at < p.t),"
"  'sessions', (SELECT count(*) FROM sessions),"
"  'terms_accepted', (SELECT count(*) FROM sessions"
"      WHERE terms_accepted_at IS NOT NULL),"
"  'web_in', (SELECT count(*) FROM web WHERE direction = 'in'),"
"  'web_out', (SELECT count(*) FROM web WHERE direction = 'out'),"
"  'exceptions', (SELECT coalesce(json_agg(json_build_array("
"      x.id, cv.contact_id, g.display_name, " JST_TEXT("x.granted_at") ","
"      " JST_TEXT("x.until") ", " JST_TEXT("x.ended_at") ", e.display_name,"
"      x.reason::text, x.reason_key_id) ORDER BY x.granted_at), '[]')"
"      FROM strict_exceptions x JOIN conversations cv"
"        ON cv.id = x.conversation_id"
"      JOIN staff g ON g.id = x.granted_by"
"      LEFT JOIN staff e ON e.id = x.ended_by, p"
"     WHERE cv.channel_id = p.ch AND x.granted_at >= p.f"
"       AND x.granted_at < p.t)"
" )::text";

static const struct { const char *name, *ja; } template_labels[] = {
	{ "greeting", "友だち追加のあいさつ" },
	{ "welcome_back", "ブロック解除のあいさつ" },
	{ "after_hours", "相談時間外のお知らせ" },
	{ "busy", "混雑のお知らせ" },
	{ "text_only", "文字以外を受け取ったお知らせ" },
	{ "crisis", "緊急連絡先" },
	{ "closing", "相談終了のお知らせ" },
	{ "restriction_notice", "利用停止のお知らせ" },
	{ "handoff", "Webチャットへの案内（ボタン）" },
	{ "reply_waiting", "返信があることのお知らせ（ボタン）" },
};

static const char *
template_label(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(template_labels) /
	    sizeof(template_labels[0]); i++)
		if (strcmp(name, template_labels[i].name) == 0)
			return template_labels[i].ja;
	return name != NULL ? name : "";
}

static const char *
cell(const cJSON *a, int i)
{
	const cJSON *c = cJSON_GetArrayItem(a, i);

	return cJSON_IsString(c) ? c->valuestring : NULL;
}

static void
line_use_figures(cJSON *doc, const cJSON *row)
{
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(row, "line_mode");
	bool strict = cJSON_IsString(mode) &&
	    strcmp(mode->valuestring, "strict") == 0;

	doc_figure(doc, "line_mode", "LINEの運用方式（現在）",
	    "LINE mode (now)", cJSON_CreateString(strict ?
	    "strict（LINEは入口のみ、相談はWebチャット）" :
	    "direct（LINEで相談）"));
	doc_figure_number(doc, "requests_sent", "LINEで送信したメッセージ",
	    "Requests sent on LINE", doc_num(row, "requests_sent"));
	doc_figure_number(doc, "template_requests", "うち定型文",
	    "of which fixed templates", doc_num(row, "template_requests"));
	doc_figure_number(doc, "free_text_requests",
	    "うち相談員の自由文（direct方式または緊急例外）",
	    "of which counsellors' free text (direct mode or exception)",
	    doc_num(row, "free_text_requests"));
	doc_figure_number(doc, "links_sent", "Webチャットへの案内を送った数",
	    "Hand-off links sent", doc_num(row, "links_sent"));
	doc_figure_number(doc, "links_reply_waiting", "うち返信のお知らせ",
	    "of which reply-waiting notices", doc_num(row, "links_reply_waiting"));
	doc_figure_number(doc, "links_opened", "案内からWebチャットを開いた数",
	    "Hand-off links opened", doc_num(row, "links_opened"));
	doc_figure_number(doc, "terms_accepted", "利用規約に同意した数",
	    "Terms accepted", doc_num(row, "terms_accepted"));
	doc_figure_number(doc, "web_in", "Webチャットで受信したメッセージ",
	    "Messages received in the web chat", doc_num(row, "web_in"));
	doc_figure_number(doc, "web_out", "Webチャットで送った返信",
	    "Replies sent in the web chat", doc_num(row, "web_out"));
	doc_figure_number(doc, "exceptions", "緊急例外（LINEでの相談継続）",
	    "Emergency exceptions", cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(row, "exceptions")));
}

static void
line_use_templates(cJSON *doc, const cJSON *row)
{
	static const char *const cols[] = { "定型文|Template", "送信|Sent",
	    "失敗|Failed", "届けられない|Undeliverable", NULL };
	static const char *const mode_cols[] = { "日時|When", "方式|Mode",
	    "変更した人|By", NULL };
	cJSON *rows = doc_table(doc, "templates", "LINEで送った定型文",
	    "Templates sent on LINE", cols);
	const cJSON *r;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(row, "templates")) {
		cJSON *out = cJSON_CreateArray();

		cJSON_AddItemToArray(out, cJSON_CreateString(
		    template_label(cell(r, 0))));
		for (int i = 1; i <= 3; i++)
			cJSON_AddItemToArray(out, cJSON_CreateNumber(
			    cJSON_GetArrayItem(r, i)->valuedouble));
		cJSON_AddItemToArray(rows, out);
	}
	rows = doc_table(doc, "mode_changes", "運用方式の変更", "Mode changes",
	    mode_cols);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(row,
	    "mode_changes"))
		cJSON_AddItemToArray(rows, cJSON_Duplicate(r, true));
}

/* The reason, opened; a reason that does not open says so. */
static cJSON *
exception_reason(const cJSON *r, const struct keyring *keys)
{
	const char *hex = cell(r, 7);
	const cJSON *kid = cJSON_GetArrayItem(r, 8);
	size_t len;
	char *plain = keys != NULL && hex != NULL && cJSON_IsNumber(kid) ?
	    unseal_pg_hex(keys, kid->valueint, "strict_exceptions.reason", hex,
	    &len) : NULL;
	cJSON *out = cJSON_CreateString(plain != NULL ? plain :
	    "（理由を復号できません）");

	free(plain);
	return out;
}

static void
line_use_exceptions(cJSON *doc, const cJSON *row, const struct keyring *keys)
{
	static const char *const cols[] = { "ケース番号|Case", "許可した人|Granted by",
	    "開始|From", "期限|Until", "終了|Ended", "終了した人|Ended by",
	    "理由|Reason", NULL };
	cJSON *rows = doc_table(doc, "exceptions",
	    "緊急例外（LINEでの相談の継続を許可したもの）",
	    "Emergency exceptions (conversation allowed on LINE)", cols);
	const cJSON *r;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(row, "exceptions")) {
		cJSON *out = cJSON_CreateArray();
		char case_number[32];

		snprintf(case_number, sizeof(case_number), "No.%06lld",
		    (long long)cJSON_GetArrayItem(r, 1)->valuedouble);
		cJSON_AddItemToArray(out, cJSON_CreateString(case_number));
		for (int i = 2; i <= 6; i++)
			cJSON_AddItemToArray(out, cJSON_CreateString(
			    cell(r, i) != NULL ? cell(r, i) : ""));
		cJSON_AddItemToArray(out, exception_reason(r, keys));
		cJSON_AddItemToArray(rows, out);
	}
}

cJSON *
line_use_finish(const struct report_period *p, cJSON *row,
    const struct keyring *keys, cJSON *doc)
{
	(void)p;
	line_use_figures(doc, row);
	line_use_templates(doc, row);
	line_use_exceptions(doc, row, keys);
	doc_note(doc, "LINEで送信したメッセージは、LINEへの送信要求（1回に最大5件）の数です。"
	    "日時は日本時間です。緊急例外の理由は、監査記録にも残っています。",
	    "Messages sent on LINE count requests to LINE (up to five objects "
	    "each). Times are Japan time. Each exception is also in the audit "
	    "trail.");
	return doc;
}
