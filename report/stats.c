/*
 * stats.c - the monthly and annual statistics a desk owes its
 * commissioner. PostgreSQL counts; what depends on the desk's calendar
 * (messages outside hours, replies within the deadline) is decided here
 * with the same calendar code the auto-replies use, from the times the
 * statement lists.
 *
 * How each figure is counted is written into the report itself (notes),
 * since a commissioner reads the report, not this file.
 */
#include "report_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

/* Days as Asia/Tokyo dates, hours 0-23, weekdays 0 (Sunday) - 6. */
#define JST(col)	"((" col ") AT TIME ZONE 'Asia/Tokyo')"

const char report_stats_sql[] =
"WITH " REPORT_PERIOD ", " REPORT_LABELS ","
/* conversations opened in the period: consultations */
" conv AS (SELECT c.* FROM conversations c, p WHERE c.channel_id = p.ch"
"   AND c.opened_at >= p.f AND c.opened_at < p.t),"
" closed AS (SELECT c.* FROM conversations c, p WHERE c.channel_id = p.ch"
"   AND c.closed_at >= p.f AND c.closed_at < p.t),"
" msg AS (SELECT m.id, m.conversation_id, m.direction, m.kind, m.accepted,"
"     m.received_at, m.delivery, m.autoreply, m.via,"
"     coalesce(cv.contact_id, m.contact_id) AS contact_id"
"   FROM messages m LEFT JOIN conversations cv ON cv.id = m.conversation_id"
"   LEFT JOIN contacts ct ON ct.id = m.contact_id, p"
"  WHERE m.received_at >= p.f AND m.received_at < p.t"
"    AND coalesce(cv.channel_id, ct.channel_id) = p.ch),"
/* people who wrote something the desk could read: 実相談者 */
" people AS (SELECT DISTINCT contact_id FROM msg"
"   WHERE direction = 'in' AND kind = 'text' AND accepted),"
" firsts AS (SELECT contact_id, (SELECT min(opened_at) FROM conversations c"
"   WHERE c.contact_id = people.contact_id) AS first_at FROM people),"
" ev AS (SELECT e.kind, e.occurred_at FROM webhook_events e, p"
"   WHERE e.channel_id = p.ch AND e.kind IN ('follow', 'unfollow')"
"     AND e.occurred_at >= p.f),"
" days AS (SELECT d::date AS day FROM generate_series($1::date,"
"   $2::date - 1, interval '1 day') d),"
" conv_day AS (SELECT " JST("opened_at") "::date AS day, count(*) AS n"
"   FROM conv GROUP BY 1),"
" msg_day AS (SELECT " JST("received_at") "::date AS day,"
"   count(*) FILTER (WHERE direction = 'in') AS i,"
"   count(*) FILTER (WHERE direction = 'out') AS o FROM msg GROUP BY 1),"
" rec AS (SELECT r.* FROM people JOIN case_records r USING (contact_id)),"
" attr AS (SELECT 'age_band' AS list, age_band AS code FROM people"
"     LEFT JOIN case_records USING (contact_id)"
"   UNION ALL SELECT 'gender', gender FROM people"
"     LEFT JOIN case_records USING (contact_id)"
"   UNION ALL SELECT 'family', family FROM people"
"     LEFT JOIN case_records USING (contact_id)"
"   UNION ALL SELECT 'municipality', municipality FROM people"
"     LEFT JOIN case_records USING (contact_id)),"
" cats AS (SELECT unnest(categories) AS code FROM rec),"
" refs AS (SELECT r.agency, r.outcome FROM referrals r"
"   JOIN contacts ct ON ct.id = r.contact_id, p WHERE ct.channel_id = p.ch"
"     AND r.referred_on >= $1::date AND r.referred_on < $2::date),"
" crisis AS (SELECT e.* FROM crisis_events e"
"   JOIN conversations c ON c.id = e.conversation_id, p"
"  WHERE c.channel_id = p.ch AND e.at >= p.f AND e.at < p.t),"
" steps AS (SELECT s.* FROM escalation_steps s"
"   JOIN conversations c ON c.id = s.conversation_id, p"
"  WHERE c.channel_id = p.ch AND s.recorded_at >= p.f AND s.recorded_at < p.t)"
" SELECT json_build_object("
"  'consultations', (SELECT count(*) FROM conv),"
"  'consultation_people', (SELECT count(DISTINCT contact_id) FROM conv),"
"  'messages_in', (SELECT count(*) FROM msg WHERE direction = 'in'),"
"  'messages_text', (SELECT count(*) FROM msg WHERE direction = 'in'"
"      AND kind = 'text' AND accepted),"
"  'messages_not_accepted', (SELECT count(*) FROM msg"
"      WHERE direction = 'in' AND NOT accepted),"
"  'messages_webchat', (SELECT count(*) FROM msg WHERE direction = 'in'"
"      AND via = 'webchat'),"
"  'replies', (SELECT count(*) FROM msg WHERE direction = 'out'),"
"  'auto_replies', (SELECT count(*) FROM msg WHERE direction = 'auto'),"
"  'failed', (SELECT count(*) FROM msg WHERE direction IN ('out', 'auto')"
"      AND delivery = 'failed'),"
"  'undeliverable', (SELECT count(*) FROM msg"
"      WHERE direction IN ('out', 'auto') AND delivery = 'undeliverable'),"
"  'people', (SELECT count(*) FROM people),"
"  'new_people', (SELECT count(*) FROM firsts, p WHERE first_at >= p.f),"
"  'follows', (SELECT count(*) FROM ev, p WHERE kind = 'follow'"
"      AND occurred_at < p.t),"
"  'blocks', (SELECT count(*) FROM ev, p WHERE kind = 'unfollow'"
"      AND occurred_at < p.t),"
"  'followers_now', (SELECT count(*) FROM contacts, p"
"      WHERE channel_id = p.ch AND follow_state = 'following'),"
"  'follows_after', (SELECT count(*) FROM ev, p WHERE kind = 'follow'"
"      AND occurred_at >= p.t),"
"  'blocks_after', (SELECT count(*) FROM ev, p WHERE kind = 'unfollow'"
"      AND occurred_at >= p.t),"
"  'closed', (SELECT count(*) FROM closed),"
"  'length_minutes', (SELECT round(avg(extract(epoch FROM closed_at -"
"      opened_at))::numeric / 60, 1) FROM closed),"
"  'length_messages', (SELECT round(avg((SELECT count(*) FROM messages m"
"      WHERE m.conversation_id = closed.id AND m.direction IN ('in', 'out'))"
"      )::numeric, 1) FROM closed),"
"  'answered', (SELECT count(*) FROM conv WHERE first_reply_at IS NOT NULL),"
"  'first_reply_median', (SELECT round((percentile_cont(0.5) WITHIN GROUP"
"      (ORDER BY extract(epoch FROM first_reply_at - opened_at)) / 60)"
"      ::numeric, 1) FROM conv WHERE first_reply_at IS NOT NULL),"
"  'first_reply_p90', (SELECT round((percentile_cont(0.9) WITHIN GROUP"
"      (ORDER BY extract(epoch FROM first_reply_at - opened_at)) / 60)"
"      ::numeric, 1) FROM conv WHERE first_reply_at IS NOT NULL),"
"  'crisis_detected_high', (SELECT count(*) FROM crisis"
"      WHERE source = 'detected' AND level = 2),"
"  'crisis_detected_medium', (SELECT count(*) FROM crisis"
"      WHERE source = 'detected' AND level = 1),"
"  'crisis_raised', (SELECT count(*) FROM crisis WHERE source = 'raised'),"
"  'crisis_lowered', (SELECT count(*) FROM crisis WHERE source = 'lowered'),"
"  'crisis_conversations', (SELECT count(DISTINCT conversation_id)"
"      FROM crisis WHERE level = 2 AND source <> 'lowered'),"
"  'crisis_ack_median', (SELECT round((percentile_cont(0.5) WITHIN GROUP"
"      (ORDER BY extract(epoch FROM acknowledged_at - at)) / 60)::numeric, 1)"
"      FROM crisis WHERE level = 2 AND acknowledged_at IS NOT NULL),"
"  'escalated_conversations', (SELECT count(DISTINCT conversation_id)"
"      FROM steps WHERE status = 'done'),"
"  'by_day', (SELECT json_agg(json_build_array(to_char(d.day, 'YYYY-MM-DD'),"
"      coalesce(c.n, 0), coalesce(m.i, 0), coalesce(m.o, 0)) ORDER BY d.day)"
"      FROM days d LEFT JOIN conv_day c USING (day)"
"      LEFT JOIN msg_day m USING (day)),"
"  'by_month', (SELECT json_agg(json_build_array(to_char(mo, 'YYYY-MM'),"
"      (SELECT coalesce(sum(n), 0) FROM conv_day"
"        WHERE date_trunc('month', day) = mo),"
"      (SELECT coalesce(sum(i), 0) FROM msg_day"
"        WHERE date_trunc('month', day) = mo),"
"      (SELECT coalesce(sum(o), 0) FROM msg_day"
"        WHERE date_trunc('month', day) = mo)) ORDER BY mo)"
"      FROM generate_series($1::date, $2::date - 1, interval '1 month') mo),"
"  'by_weekday', (SELECT json_agg(json_build_array(w,"
"      (SELECT count(*) FROM conv WHERE extract(dow FROM " JST("opened_at") ") = w),"
"      (SELECT count(*) FROM msg WHERE direction = 'in'"
"        AND extract(dow FROM " JST("received_at") ") = w)) ORDER BY w)"
"      FROM generate_series(0, 6) w),"
"  'by_hour', (SELECT json_agg(json_build_array(h,"
"      (SELECT count(*) FROM conv WHERE extract(hour FROM " JST("opened_at") ") = h),"
"      (SELECT count(*) FROM msg WHERE direction = 'in'"
"        AND extract(hour FROM " JST("received_at") ") = h)) ORDER BY h)"
"      FROM generate_series(0, 23) h),"
/* every code of the desk's lists, then any code no longer on them */
"  'attributes', (SELECT json_agg(json_build_array(x.list, x.code, x.ja,"
"      x.en, x.n) ORDER BY x.list, x.ord NULLS LAST, x.code) FROM ("
"      SELECT l.list, l.code, l.ja, l.en, l.ord, (SELECT count(*) FROM attr a"
"        WHERE a.list = l.list AND a.code = l.code) AS n FROM lab l"
"       WHERE l.list IN ('age_band', 'gender', 'family', 'municipality')"
"      UNION ALL SELECT a.list, a.code, NULL, NULL, NULL, count(*) FROM attr a"
"       WHERE NOT EXISTS (SELECT 1 FROM lab l WHERE l.list = a.list"
"         AND l.code IS NOT DISTINCT FROM a.code) GROUP BY 1, 2) x),"
"  'categories', (SELECT json_agg(json_build_array(x.code, x.ja, x.en, x.n)"
"      ORDER BY x.ord NULLS LAST, x.code) FROM ("
"      SELECT l.code, l.ja, l.en, l.ord, (SELECT count(*) FROM cats c"
"        WHERE c.code = l.code) AS n FROM lab l WHERE l.list = 'category'"
"      UNION ALL SELECT c.code, NULL, NULL, NULL, count(*) FROM cats c"
"       WHERE c.code NOT IN (SELECT code FROM lab WHERE list = 'category')"
"       GROUP BY 1) x),"
"  'no_record', (SELECT count(*) FROM people WHERE contact_id NOT IN"
"      (SELECT contact_id FROM rec)),"
"  'referrals', (SELECT json_agg(json_build_array(x.code, x.ja, x.en, x.n,"
"      x.connected, x.pending, x.declined, x.unknown)"
"      ORDER BY x.ord NULLS LAST, x.code) FROM ("
"      SELECT l.code, l.ja, l.en, l.ord,"
"        count(r.agency) AS n,"
"        count(*) FILTER (WHERE r.outcome = 'connected') AS connected,"
"        count(*) FILTER (WHERE r.outcome = 'pending') AS pending,"
"        count(*) FILTER (WHERE r.outcome = 'declined') AS declined,"
"        count(*) FILTER (WHERE r.agency IS NOT NULL"
"          AND coalesce(r.outcome, 'unknown') = 'unknown') AS unknown"
"        FROM lab l LEFT JOIN refs r ON r.agency = l.code"
"       WHERE l.list = 'agency' GROUP BY 1, 2, 3, 4"
"      UNION ALL SELECT r.agency, NULL, NULL, NULL, count(*),"
"        count(*) FILTER (WHERE r.outcome = 'connected'),"
"        count(*) FILTER (WHERE r.outcome = 'pending'),"
"        count(*) FILTER (WHERE r.outcome = 'declined'),"
"        count(*) FILTER (WHERE coalesce(r.outcome, 'unknown') = 'unknown')"
"        FROM refs r WHERE r.agency NOT IN"
"          (SELECT code FROM lab WHERE list = 'agency') GROUP BY 1) x),"
"  'steps', (SELECT json_agg(json_build_array(l.code, l.ja, l.en,"
"      (SELECT count(*) FROM steps s WHERE s.step = l.code"
"        AND s.status = 'done'),"
"      (SELECT count(*) FROM steps s WHERE s.step = l.code"
"        AND s.status = 'not_needed')) ORDER BY l.ord)"
"      FROM lab l WHERE l.list = 'step'),"
"  'autoreply_kinds', (SELECT json_agg(json_build_array(k, n) ORDER BY k)"
"      FROM (SELECT unnest(autoreply) AS k, count(*) AS n FROM msg"
"             WHERE direction = 'auto' GROUP BY 1) x),"
/* the calendar's inputs: seconds since the epoch */
"  'in_times', (SELECT coalesce(json_agg(extract(epoch FROM received_at)"
"      ::bigint), '[]') FROM msg WHERE direction = 'in'),"
"  'conv_times', (SELECT coalesce(json_agg(json_build_array("
"      extract(epoch FROM opened_at)::bigint,"
"      extract(epoch FROM first_reply_at)::bigint,"
"      extract(epoch FROM closed_at)::bigint)), '[]') FROM conv)"
" )::text";

static const char *const weekday_ja[7] = {
	"日", "月", "火", "水", "木", "金", "土",
};

static const struct { const char *kind, *ja, *en; } autoreply_labels[] = {
	{ "after_hours", "時間外", "After hours" },
	{ "busy", "混雑", "Busy" },
	{ "text_only", "文字以外を受信", "Not text" },
	{ "greeting", "友だち追加のあいさつ", "Greeting" },
	{ "welcome_back", "ブロック解除のあいさつ", "Welcome back" },
	{ "crisis", "緊急連絡先", "Emergency numbers" },
	{ "closing", "相談の終了", "Closing" },
	{ "restriction_notice", "利用停止の通知", "Restriction notice" },
	{ "handoff", "Webチャットへの案内", "Hand-off to the web chat" },
	{ "reply_waiting", "返信のお知らせ", "A reply is waiting" },
};

static const cJSON *
row_array(const cJSON *row, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(row, key);

	return cJSON_IsArray(a) ? a : NULL;
}

static double
cell_num(const cJSON *a, int i)
{
	const cJSON *c = cJSON_GetArrayItem(a, i);

	return cJSON_IsNumber(c) ? c->valuedouble : 0;
}

static const char *
cell_str(const cJSON *a, int i)
{
	const cJSON *c = cJSON_GetArrayItem(a, i);

	return cJSON_IsString(c) ? c->valuestring : NULL;
}

/* A figure that may be null (no conversation to take a median of). */
static void
figure_or_null(cJSON *doc, const cJSON *row, const char *key, const char *ja,
    const char *en)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);

	doc_figure(doc, key, ja, en, cJSON_IsNumber(v) ?
	    cJSON_CreateNumber(v->valuedouble) : cJSON_CreateNull());
}

struct calendar_figures {
	int	after_hours;	/* messages received while the desk was closed */
	int	within;		/* first reply by the deadline */
	int	late;		/* first reply after it */
	int	unanswered_due;	/* no reply, and the deadline has passed */
	int	unanswered;	/* no reply yet */
};

static void
calendar_count(const cJSON *row, const struct desk_settings *desk,
    int64_t now, struct calendar_figures *f)
{
	const cJSON *t;

	memset(f, 0, sizeof(*f));
	cJSON_ArrayForEach(t, row_array(row, "in_times"))
		if (cJSON_IsNumber(t) &&
		    !calendar_is_open(&desk->cal, (int64_t)t->valuedouble))
			f->after_hours++;
	cJSON_ArrayForEach(t, row_array(row, "conv_times")) {
		int64_t opened = (int64_t)cell_num(t, 0);
		int64_t due = desk_reply_due(desk, opened);
		const cJSON *first = cJSON_GetArrayItem(t, 1);
		const cJSON *closed = cJSON_GetArrayItem(t, 2);

		if (!cJSON_IsNumber(first)) {
			f->unanswered++;
			/* closed unanswered before its deadline (a prank, the
			 * person ended it): not a reply the desk owed late */
			f->unanswered_due += due >= 0 && due <= now &&
			    !(cJSON_IsNumber(closed) &&
			    (int64_t)closed->valuedouble < due);
		} else if (due < 0 || (int64_t)first->valuedouble <= due)
			f->within++;
		else
			f->late++;
	}
}

static void
stats_people(cJSON *doc, const cJSON *row)
{
	double people = doc_num(row, "people"), fresh = doc_num(row, "new_people");
	double convs = doc_num(row, "consultations");
	double conv_people = doc_num(row, "consultation_people");

	doc_figure_number(doc, "consultations", "相談件数（期間中に始まった相談）",
	    "Consultations (opened in the period)", convs);
	doc_figure_number(doc, "people", "実相談者数（文字で相談した人）",
	    "People consulted (wrote at least one text)", people);
	doc_figure_number(doc, "new_people", "うち新規", "of whom new", fresh);
	doc_figure_number(doc, "returning_people", "うち再相談",
	    "of whom returning", people - fresh);
	doc_figure_number(doc, "people_without_record",
	    "うち相談記録のない人", "of whom without a case record",
	    doc_num(row, "no_record"));
	doc_figure_number(doc, "conversations_per_person",
	    "1人あたりの相談件数", "Consultations per person",
	    conv_people > 0 ? round(convs / conv_people * 100) / 100 : 0);
}

static void
stats_messages(cJSON *doc, const cJSON *row, const struct calendar_figures *f)
{
	static const struct { const char *key, *ja, *en; } m[] = {
		{ "messages_in", "受信メッセージ", "Messages received" },
		{ "messages_text", "うち文字", "of which text" },
		{ "messages_not_accepted", "うち受け付けなかったもの（画像など）",
		    "of which not accepted (images, stickers...)" },
		{ "messages_webchat", "うちWebチャットから",
		    "of which through the web chat" },
		{ "replies", "相談員の返信", "Counsellors' replies" },
		{ "auto_replies", "自動応答", "Automatic replies" },
		{ "failed", "送れなかった返信", "Replies that failed" },
		{ "undeliverable", "届けられなかった返信（ブロックなど）",
		    "Replies undeliverable (blocked...)" },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		doc_figure_number(doc, m[i].key, m[i].ja, m[i].en,
		    doc_num(row, m[i].key));
		if (i == 3)
			doc_figure_number(doc, "after_hours",
			    "うち相談時間外に受信", "of which outside hours",
			    f->after_hours);
	}
}

static void
stats_friends(cJSON *doc, const cJSON *row)
{
	doc_figure_number(doc, "follows", "友だち追加", "Follows",
	    doc_num(row, "follows"));
	doc_figure_number(doc, "blocks", "ブロック", "Blocks",
	    doc_num(row, "blocks"));
	/* today's count, less what changed since the period ended */
	doc_figure_number(doc, "followers_at_end", "期間末の友だち数",
	    "Followers at the end of the period",
	    doc_num(row, "followers_now") - doc_num(row, "follows_after") +
	    doc_num(row, "blocks_after"));
}

static void
stats_replies(cJSON *doc, const cJSON *row, const struct calendar_figures *f)
{
	int decided = f->within + f->late + f->unanswered_due;

	doc_figure_number(doc, "answered", "返信した相談", "Consultations answered",
	    doc_num(row, "answered"));
	figure_or_null(doc, row, "first_reply_median",
	    "最初の返信までの時間（中央値、分）",
	    "Time to the first reply (median, minutes)");
	figure_or_null(doc, row, "first_reply_p90",
	    "最初の返信までの時間（90パーセンタイル、分）",
	    "Time to the first reply (90th percentile, minutes)");
	doc_figure_number(doc, "within_deadline", "期限内に返信した相談",
	    "Answered by the deadline", f->within);
	doc_figure_number(doc, "late", "期限後に返信した相談",
	    "Answered after the deadline", f->late);
	doc_figure_number(doc, "unanswered_overdue", "期限を過ぎて未返信の相談",
	    "Not answered, deadline passed", f->unanswered_due);
	doc_figure(doc, "within_deadline_share", "期限内の返信の割合",
	    "Share answered by the deadline", decided > 0 ?
	    cJSON_CreateNumber(round((double)f->within / decided * 1000) / 1000) :
	    cJSON_CreateNull());
	doc_figure_number(doc, "closed", "終了した相談", "Consultations closed",
	    doc_num(row, "closed"));
	figure_or_null(doc, row, "length_minutes",
	    "相談の平均の長さ（分）", "Average consultation length (minutes)");
	figure_or_null(doc, row, "length_messages",
	    "相談の平均メッセージ数", "Average messages per consultation");
}

static void
stats_crisis(cJSON *doc, const cJSON *row)
{
	static const struct { const char *key, *ja, *en; } m[] = {
		{ "crisis_detected_high", "危機の検知（高）",
		    "Crisis detected (high)" },
		{ "crisis_detected_medium", "危機の検知（中）",
		    "Crisis detected (medium)" },
		{ "crisis_raised", "相談員による危機の引き上げ",
		    "Crisis raised by a counsellor" },
		{ "crisis_lowered", "危機の引き下げ", "Crisis lowered" },
		{ "crisis_conversations", "危機（高）となった相談",
		    "Consultations at high risk" },
		{ "escalated_conversations", "関係機関へ連絡した相談",
		    "Consultations escalated to agencies" },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		doc_figure_number(doc, m[i].key, m[i].ja, m[i].en,
		    doc_num(row, m[i].key));
	figure_or_null(doc, row, "crisis_ack_median",
	    "危機の通知から確認までの時間（中央値、分）",
	    "Time to acknowledge a crisis alert (median, minutes)");
}

static void
table_by_time(cJSON *doc, const cJSON *row, bool annual)
{
	static const char *const day_cols[] = { "日付|Date", "曜日|Weekday",
	    "相談件数|Consultations", "受信|Received", "返信|Replies", NULL };
	static const char *const month_cols[] = { "月|Month",
	    "相談件数|Consultations", "受信|Received", "返信|Replies", NULL };
	static const char *const wd_cols[] = { "曜日|Weekday",
	    "相談件数|Consultations", "受信|Received", NULL };
	static const char *const hour_cols[] = { "時台|Hour",
	    "相談件数|Consultations", "受信|Received", NULL };
	const cJSON *r;
	cJSON *rows;

	if (annual) {
		rows = doc_table(doc, "by_month", "月別", "By month", month_cols);
		cJSON_ArrayForEach(r, row_array(row, "by_month"))
			cJSON_AddItemToArray(rows, cJSON_Duplicate(r, true));
	} else {
		rows = doc_table(doc, "by_day", "日別", "By day", day_cols);
		cJSON_ArrayForEach(r, row_array(row, "by_day")) {
			struct cal_date d;
			cJSON *out = cJSON_CreateArray();
			const char *day = cell_str(r, 0);

			cJSON_AddItemToArray(out, cJSON_CreateString(
			    day != NULL ? day : ""));
			cJSON_AddItemToArray(out, cJSON_CreateString(
			    day != NULL && cal_date_parse(day, &d) ?
			    weekday_ja[cal_weekday(d)] : ""));
			for (int i = 1; i <= 3; i++)
				cJSON_AddItemToArray(out,
				    cJSON_CreateNumber(cell_num(r, i)));
			cJSON_AddItemToArray(rows, out);
		}
	}
	rows = doc_table(doc, "by_weekday", "曜日別", "By weekday", wd_cols);
	cJSON_ArrayForEach(r, row_array(row, "by_weekday")) {
		int w = (int)cell_num(r, 0) % 7;
		cJSON *out = cJSON_CreateArray();

		cJSON_AddItemToArray(out, cJSON_CreateString(weekday_ja[w]));
		cJSON_AddItemToArray(out, cJSON_CreateNumber(cell_num(r, 1)));
		cJSON_AddItemToArray(out, cJSON_CreateNumber(cell_num(r, 2)));
		cJSON_AddItemToArray(rows, out);
	}
	rows = doc_table(doc, "by_hour", "時間帯別", "By hour", hour_cols);
	cJSON_ArrayForEach(r, row_array(row, "by_hour")) {
		char h[16];
		cJSON *out = cJSON_CreateArray();

		snprintf(h, sizeof(h), "%d時", (int)cell_num(r, 0));
		cJSON_AddItemToArray(out, cJSON_CreateString(h));
		cJSON_AddItemToArray(out, cJSON_CreateNumber(cell_num(r, 1)));
		cJSON_AddItemToArray(out, cJSON_CreateNumber(cell_num(r, 2)));
		cJSON_AddItemToArray(rows, out);
	}
}

/* A code's label, else the code itself, else "未記録" (no record or consent). */
static cJSON *
label_cell(const cJSON *r, int code_at)
{
	const char *ja = cell_str(r, code_at + 1), *code = cell_str(r, code_at);

	return cJSON_CreateString(ja != NULL ? ja : code != NULL ? code :
	    "未記録");
}

static const char *
attribute_name(const char *list)
{
	return list == NULL ? "" : strcmp(list, "age_band") == 0 ? "年代" :
	    strcmp(list, "gender") == 0 ? "性別" :
	    strcmp(list, "family") == 0 ? "家族の状況" :
	    strcmp(list, "municipality") == 0 ? "市区町村" : list;
}

static void
table_records(cJSON *doc, const cJSON *row)
{
	static const char *const attr_cols[] = { "属性|Attribute",
	    "区分|Value", "人数|People", NULL };
	static const char *const cat_cols[] = { "相談内容|Category",
	    "人数|People", NULL };
	static const char *const ref_cols[] = { "紹介先|Agency", "件数|Referrals",
	    "つながった|Connected", "調整中|Pending", "断られた|Declined",
	    "不明|Unknown", NULL };
	const cJSON *r;
	cJSON *rows;

	rows = doc_table(doc, "attributes", "相談者の属性（同意を得たもの）",
	    "Attributes (given with consent)", attr_cols);
	cJSON_ArrayForEach(r, row_array(row, "attributes")) {
		cJSON *out = cJSON_CreateArray();

		cJSON_AddItemToArray(out, cJSON_CreateString(
		    attribute_name(cell_str(r, 0))));
		cJSON_AddItemToArray(out, label_cell(r, 1));
		cJSON_AddItemToArray(out, cJSON_CreateNumber(cell_num(r, 4)));
		cJSON_AddItemToArray(rows, out);
	}
	rows = doc_table(doc, "categories", "相談内容（複数選択）",
	    "Categories (several per person)", cat_cols);
	cJSON_ArrayForEach(r, row_array(row, "categories")) {
		cJSON *out = cJSON_CreateArray();

		cJSON_AddItemToArray(out, label_cell(r, 0));
		cJSON_AddItemToArray(out, cJSON_CreateNumber(cell_num(r, 3)));
		cJSON_AddItemToArray(rows, out);
	}
	rows = doc_table(doc, "referrals", "関係機関への紹介",
	    "Referrals by agency", ref_cols);
	cJSON_ArrayForEach(r, row_array(row, "referrals")) {
		cJSON *out = cJSON_CreateArray();

		cJSON_AddItemToArray(out, label_cell(r, 0));
		for (int i = 3; i <= 7; i++)
			cJSON_AddItemToArray(out, cJSON_CreateNumber(cell_num(r, i)));
		cJSON_AddItemToArray(rows, out);
	}
}

static void
table_crisis(cJSON *doc, const cJSON *row)
{
	static const char *const step_cols[] = { "手順|Step",
	    "実施|Done", "不要|Not needed", NULL };
	static const char *const auto_cols[] = { "種類|Kind", "件数|Sent", NULL };
	const cJSON *r;
	cJSON *rows;

	rows = doc_table(doc, "escalation_steps", "危機対応の記録（手順別）",
	    "Escalation steps recorded", step_cols);
	cJSON_ArrayForEach(r, row_array(row, "steps")) {
		cJSON *out = cJSON_CreateArray();

		cJSON_AddItemToArray(out, label_cell(r, 0));
		cJSON_AddItemToArray(out, cJSON_CreateNumber(cell_num(r, 3)));
		cJSON_AddItemToArray(out, cJSON_CreateNumber(cell_num(r, 4)));
		cJSON_AddItemToArray(rows, out);
	}
	rows = doc_table(doc, "autoreplies", "自動応答（種類別）",
	    "Automatic replies by kind", auto_cols);
	cJSON_ArrayForEach(r, row_array(row, "autoreply_kinds")) {
		const char *kind = cell_str(r, 0), *ja = kind;
		cJSON *out = cJSON_CreateArray();

		for (size_t i = 0; kind != NULL && i < sizeof(autoreply_labels) /
		    sizeof(autoreply_labels[0]); i++)
			if (strcmp(kind, autoreply_labels[i].kind) == 0)
				ja = autoreply_labels[i].ja;
		cJSON_AddItemToArray(out, cJSON_CreateString(ja != NULL ? ja : ""));
		cJSON_AddItemToArray(out, cJSON_CreateNumber(cell_num(r, 1)));
		cJSON_AddItemToArray(rows, out);
	}
}

static void
stats_notes(cJSON *doc)
{
	doc_note(doc, "日付と時刻は日本時間です。相談件数は期間中に始まった相談の数、"
	    "実相談者数は期間中に文字のメッセージを1件以上送った人の数です。",
	    "Days and hours are Japan time. Consultations: those opened in the "
	    "period; people consulted: those who sent at least one text in it.");
	doc_note(doc, "新規は期間中に初めて相談した人、再相談はそれより前にも相談した人です。"
	    "属性と相談内容は、相談記録に同意を得て記録されたものだけを数えます。",
	    "New: first consultation in the period. Attributes and categories "
	    "count only what the case record holds with consent.");
	doc_note(doc, "返信の期限と相談時間外は、窓口の現在の相談時間と期限の設定で判定します。"
	    "期間末の友だち数は、現在の友だち数から期間後の友だち追加とブロックを差し引いた数です。",
	    "Deadlines and outside hours follow the desk's current hours and "
	    "deadline setting. Followers at the end: today's, less the follows "
	    "and blocks since.");
}

cJSON *
stats_finish(const struct report_period *p, cJSON *row,
    const struct desk_settings *desk, cJSON *doc)
{
	struct calendar_figures f;
	int64_t now_us = 0;
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(doc, "generated_at");

	if (cJSON_IsString(at))
		(void)clock_parse_iso8601(at->valuestring, &now_us);
	calendar_count(row, desk, now_us / 1000000, &f);
	stats_people(doc, row);
	stats_messages(doc, row, &f);
	stats_friends(doc, row);
	stats_replies(doc, row, &f);
	stats_crisis(doc, row);
	table_by_time(doc, row, p->kind == REPORT_ANNUAL);
	table_records(doc, row);
	table_crisis(doc, row);
	stats_notes(doc);
	return doc;
}
