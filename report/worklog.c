/*
 * worklog.c - the daily work log (業務日誌) a desk hands over monthly:
 * who was on duty and when, the day's counts, crisis events and what was
 * done about them, other notable events, and the supervisor's note, the
 * one part a person writes (work_log_notes, sealed). Crisis events show
 * their level and who saw to them, never the lexicon rule that matched:
 * that would say what the person wrote.
 */
#include "report_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

#define HM(col)	"to_char((" col ") AT TIME ZONE 'Asia/Tokyo', 'HH24:MI')"

const char report_worklog_sql[] =
"WITH " REPORT_PERIOD ", " REPORT_LABELS ","
" conv AS (SELECT c.* FROM conversations c, p WHERE c.channel_id = p.ch),"
/* as stats.c counts them: greetings belong to a contact, not a conversation */
" msg AS (SELECT m.direction, m.received_at, m.delivery FROM messages m"
"   LEFT JOIN conversations cv ON cv.id = m.conversation_id"
"   LEFT JOIN contacts ct ON ct.id = m.contact_id, p"
"  WHERE m.received_at >= p.f AND m.received_at < p.t"
"    AND coalesce(cv.channel_id, ct.channel_id) = p.ch),"
/* a person signed in twice at once (web and terminal) is on duty once */
" duty AS (SELECT st.display_name, st.role, min(lower(r)) AS came,"
"     max(upper(r)) AS went, sum(upper(r) - lower(r)) AS span"
"   FROM (SELECT s.staff_id, unnest(range_agg(tstzrange("
"       greatest(s.created_at, p.f),"
"       least(coalesce(s.ended_at, s.last_seen_at), p.t)))) AS r"
"     FROM sessions s, p WHERE s.stage = 'full' AND s.created_at < p.t"
"      AND coalesce(s.ended_at, s.last_seen_at) > p.f"
"    GROUP BY s.staff_id) x JOIN staff st ON st.id = x.staff_id"
"  GROUP BY st.id, st.display_name, st.role)"
" SELECT json_build_object("
"  'staff', (SELECT coalesce(json_agg(json_build_array(display_name, role,"
"      " HM("came") ", CASE WHEN went >= (SELECT t FROM p) THEN '24:00'"
"        ELSE " HM("went") " END,"
"      round(extract(epoch FROM span)::numeric / 3600, 1)) ORDER BY came),"
"      '[]') FROM duty),"
"  'opened', (SELECT count(*) FROM conv, p WHERE opened_at >= p.f"
"      AND opened_at < p.t),"
"  'closed', (SELECT count(*) FROM conv, p WHERE closed_at >= p.f"
"      AND closed_at < p.t),"
"  'messages_in', (SELECT count(*) FROM msg WHERE direction = 'in'),"
"  'replies', (SELECT count(*) FROM msg WHERE direction = 'out'),"
"  'auto_replies', (SELECT count(*) FROM msg WHERE direction = 'auto'),"
"  'failed', (SELECT count(*) FROM msg WHERE delivery IN ('failed',"
"      'undeliverable')),"
"  'new_contacts', (SELECT count(*) FROM contacts, p WHERE channel_id = p.ch"
"      AND first_seen_at >= p.f AND first_seen_at < p.t),"
"  'follows', (SELECT count(*) FROM webhook_events e, p WHERE"
"      e.channel_id = p.ch AND kind = 'follow' AND occurred_at >= p.f"
"      AND occurred_at < p.t),"
"  'blocks', (SELECT count(*) FROM webhook_events e, p WHERE"
"      e.channel_id = p.ch AND kind = 'unfollow' AND occurred_at >= p.f"
"      AND occurred_at < p.t),"
"  'overdue', (SELECT count(*) FROM conversation_events e JOIN conv c"
"      ON c.id = e.conversation_id, p WHERE e.kind = 'overdue'"
"      AND e.at >= p.f AND e.at < p.t),"
"  'waiting_at_end', (SELECT count(*) FROM conv, p WHERE opened_at < p.t"
"      AND (closed_at IS NULL OR closed_at >= p.t)"
"      AND (first_reply_at IS NULL OR first_reply_at >= p.t)),"
"  'in_times', (SELECT coalesce(json_agg(extract(epoch FROM received_at)"
"      ::bigint), '[]') FROM msg WHERE direction = 'in'),"
"  'crisis', (SELECT coalesce(json_agg(json_build_array(" HM("e.at") ","
"      c.contact_id, e.level, e.source, " HM("e.acknowledged_at") ","
"      a.display_name) ORDER BY e.at), '[]')"
"      FROM crisis_events e JOIN conv c ON c.id = e.conversation_id"
"      LEFT JOIN staff a ON a.id = e.acknowledged_by, p"
"     WHERE e.at >= p.f AND e.at < p.t),"
"  'steps', (SELECT coalesce(json_agg(json_build_array(" HM("s.recorded_at") ","
"      c.contact_id, coalesce(l.ja, s.step), s.status, st.display_name)"
"      ORDER BY s.recorded_at), '[]')"
"      FROM escalation_steps s JOIN conv c ON c.id = s.conversation_id"
"      JOIN staff st ON st.id = s.staff_id"
"      LEFT JOIN lab l ON l.list = 'step' AND l.code = s.step, p"
"     WHERE s.recorded_at >= p.f AND s.recorded_at < p.t),"
"  'events', (SELECT coalesce(json_agg(json_build_array(t, contact_id, what,"
"      who) ORDER BY t), '[]') FROM ("
"      SELECT " HM("r.starts_at") " AS t, r.contact_id,"
"        CASE r.kind WHEN 'block' THEN '利用停止' ELSE '一時停止' END AS what,"
"        st.display_name AS who"
"        FROM contact_restrictions r JOIN contacts ct ON ct.id = r.contact_id"
"        JOIN staff st ON st.id = r.created_by, p"
"       WHERE ct.channel_id = p.ch AND r.starts_at >= p.f AND r.starts_at < p.t"
"      UNION ALL SELECT " HM("r.lifted_at") ", r.contact_id, '停止の解除',"
"        st.display_name"
"        FROM contact_restrictions r JOIN contacts ct ON ct.id = r.contact_id"
"        LEFT JOIN staff st ON st.id = r.lifted_by, p"
"       WHERE ct.channel_id = p.ch AND r.lifted_at >= p.f AND r.lifted_at < p.t"
"      UNION ALL SELECT " HM("x.granted_at") ", c.contact_id,"
"        'LINEでの相談の緊急例外', st.display_name"
"        FROM strict_exceptions x JOIN conv c ON c.id = x.conversation_id"
"        JOIN staff st ON st.id = x.granted_by, p"
"       WHERE x.granted_at >= p.f AND x.granted_at < p.t) e),"
"  'note', (SELECT json_build_array(n.note::text, n.note_key_id, n.version,"
"      st.display_name, to_char(n.updated_at AT TIME ZONE 'Asia/Tokyo',"
"        'MM/DD HH24:MI'))"
"      FROM work_log_notes n JOIN staff st ON st.id = n.updated_by, p"
"     WHERE n.channel_id = p.ch AND n.day = $1::date)"
" )::text";

static const char *
cell(const cJSON *a, int i)
{
	const cJSON *c = cJSON_GetArrayItem(a, i);

	return cJSON_IsString(c) ? c->valuestring : "";
}

static cJSON *
case_cell(const cJSON *a, int i)
{
	char s[32];

	snprintf(s, sizeof(s), "No.%06lld",
	    (long long)cJSON_GetArrayItem(a, i)->valuedouble);
	return cJSON_CreateString(s);
}

static const char *
role_ja(const char *role)
{
	return strcmp(role, "supervisor") == 0 ? "スーパーバイザー" :
	    strcmp(role, "admin") == 0 ? "管理者" : "相談員";
}

static void
worklog_counts(cJSON *doc, const cJSON *row, const struct desk_settings *desk)
{
	static const struct { const char *key, *ja, *en; } m[] = {
		{ "opened", "始まった相談", "Consultations opened" },
		{ "closed", "終了した相談", "Consultations closed" },
		{ "messages_in", "受信メッセージ", "Messages received" },
		{ "replies", "相談員の返信", "Counsellors' replies" },
		{ "auto_replies", "自動応答", "Automatic replies" },
		{ "failed", "送れなかった・届けられなかった返信",
		    "Replies failed or undeliverable" },
		{ "new_contacts", "新しい相談者", "New contacts" },
		{ "follows", "友だち追加", "Follows" },
		{ "blocks", "ブロック", "Blocks" },
		{ "overdue", "返信期限を過ぎた相談", "Consultations overdue" },
		{ "waiting_at_end", "日の終わりに未返信の相談",
		    "Unanswered at the end of the day" },
	};
	const cJSON *t;
	int after = 0;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		doc_figure_number(doc, m[i].key, m[i].ja, m[i].en,
		    doc_num(row, m[i].key));
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(row, "in_times"))
		after += cJSON_IsNumber(t) &&
		    !calendar_is_open(&desk->cal, (int64_t)t->valuedouble);
	doc_figure_number(doc, "after_hours", "うち相談時間外に受信",
	    "Received outside hours", after);
}

static void
worklog_note(cJSON *doc, const cJSON *row, const struct keyring *keys)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(row, "note");
	char *plain = NULL, by[256];
	size_t len;

	if (cJSON_IsArray(n) && keys != NULL)
		plain = unseal_pg_hex(keys, cJSON_GetArrayItem(n, 1)->valueint,
		    "work_log_notes.note", cell(n, 0), &len);
	doc_figure(doc, "note", "記事（スーパーバイザー）", "Supervisor's note",
	    cJSON_IsArray(n) ? cJSON_CreateString(plain != NULL ? plain :
	    "（記事を復号できません）") : cJSON_CreateString(""));
	doc_figure_number(doc, "note_version", "記事の版", "Note version",
	    cJSON_IsArray(n) ? cJSON_GetArrayItem(n, 2)->valuedouble : 0);
	snprintf(by, sizeof(by), "%s%s%s", cJSON_IsArray(n) ? cell(n, 3) : "",
	    cJSON_IsArray(n) ? " " : "", cJSON_IsArray(n) ? cell(n, 4) : "");
	doc_figure(doc, "note_by", "記事の記入者", "Note written by",
	    cJSON_CreateString(by));
	free(plain);
}

static void
worklog_tables(cJSON *doc, const cJSON *row)
{
	static const char *const staff_cols[] = { "氏名|Name", "役割|Role",
	    "開始|From", "終了|Until", "時間|Hours", NULL };
	static const char *const crisis_cols[] = { "時刻|Time", "ケース番号|Case",
	    "水準|Level", "契機|Source", "確認|Acknowledged",
	    "確認した人|By", NULL };
	static const char *const step_cols[] = { "時刻|Time", "ケース番号|Case",
	    "手順|Step", "状況|Status", "記録した人|By", NULL };
	static const char *const event_cols[] = { "時刻|Time", "ケース番号|Case",
	    "出来事|Event", "担当|By", NULL };
	const cJSON *r;
	cJSON *rows;

	rows = doc_table(doc, "staff", "勤務した職員", "Staff on duty", staff_cols);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(row, "staff")) {
		cJSON *out = cJSON_Duplicate(r, true);

		cJSON_ReplaceItemInArray(out, 1, cJSON_CreateString(
		    role_ja(cell(r, 1))));
		cJSON_AddItemToArray(rows, out);
	}
	rows = doc_table(doc, "crisis", "危機の検知と対応", "Crisis events",
	    crisis_cols);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(row, "crisis")) {
		cJSON *out = cJSON_CreateArray();
		int level = cJSON_GetArrayItem(r, 2)->valueint;
		const char *source = cell(r, 3);

		cJSON_AddItemToArray(out, cJSON_CreateString(cell(r, 0)));
		cJSON_AddItemToArray(out, case_cell(r, 1));
		cJSON_AddItemToArray(out, cJSON_CreateString(level == 2 ? "高" :
		    level == 1 ? "中" : "なし"));
		cJSON_AddItemToArray(out, cJSON_CreateString(
		    strcmp(source, "detected") == 0 ? "自動検知" :
		    strcmp(source, "raised") == 0 ? "相談員が引き上げ" :
		    "相談員が引き下げ"));
		for (int i = 4; i <= 5; i++)
			cJSON_AddItemToArray(out, cJSON_CreateString(cell(r, i)));
		cJSON_AddItemToArray(rows, out);
	}
	rows = doc_table(doc, "escalation", "関係機関への連絡", "Escalation steps",
	    step_cols);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(row, "steps")) {
		cJSON *out = cJSON_CreateArray();

		cJSON_AddItemToArray(out, cJSON_CreateString(cell(r, 0)));
		cJSON_AddItemToArray(out, case_cell(r, 1));
		cJSON_AddItemToArray(out, cJSON_CreateString(cell(r, 2)));
		cJSON_AddItemToArray(out, cJSON_CreateString(
		    strcmp(cell(r, 3), "done") == 0 ? "実施" : "不要"));
		cJSON_AddItemToArray(out, cJSON_CreateString(cell(r, 4)));
		cJSON_AddItemToArray(rows, out);
	}
	rows = doc_table(doc, "events", "その他の出来事", "Other events",
	    event_cols);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(row, "events")) {
		cJSON *out = cJSON_CreateArray();

		cJSON_AddItemToArray(out, cJSON_CreateString(cell(r, 0)));
		cJSON_AddItemToArray(out, case_cell(r, 1));
		cJSON_AddItemToArray(out, cJSON_CreateString(cell(r, 2)));
		cJSON_AddItemToArray(out, cJSON_CreateString(cell(r, 3)));
		cJSON_AddItemToArray(rows, out);
	}
}

cJSON *
worklog_finish(const struct report_period *p, cJSON *row,
    const struct desk_settings *desk, const struct keyring *keys, cJSON *doc)
{
	(void)p;
	worklog_counts(doc, row, desk);
	worklog_note(doc, row, keys);
	worklog_tables(doc, row);
	doc_note(doc, "時刻は日本時間です。勤務は、コンソールにサインインしていた時間です。",
	    "Times are Japan time. Duty: the time signed in to the console.");
	return doc;
}
