/*
 * The desk's settings (desk.c) and the auto-reply texts (render.c), with
 * the default texts of storage/migrations/002_replies.sql.
 */
#include <stdint.h>

#include <cjson/cJSON.h>

#include "autoreply.h"
#include "clock.h"
#include "tap.h"

/* ---- the migration's defaults, as stored ---- */

static const char after_hours_text[] =
    "メッセージを受け取りました。送ってくれてありがとうございます。\n"
    "ただいま相談時間外です。相談時間は{hours}です。\n"
    "{next_open}から、相談員が順番にお返事します。\n"
    "\n"
    "今すぐ誰かと話したいときは、こちらも利用できます。\n"
    "{hotlines}\n"
    "命の危険があるときは、110番（警察）か119番（救急）に電話してください。";
static const char busy_text[] =
    "メッセージを受け取りました。送ってくれてありがとうございます。\n"
    "ただいま相談が混み合っていて、すぐにはお返事できません。{queue}\n"
    "順番にお返事しますので、このまま少し待っていてください。\n"
    "\n"
    "今すぐ誰かと話したいときは、こちらも利用できます。\n"
    "{hotlines}\n"
    "命の危険があるときは、110番（警察）か119番（救急）に電話してください。";
static const char text_only_text[] =
    "ごめんなさい、画像やスタンプ、ファイルなどは受け取ることができません。\n"
    "お手数ですが、文字で送ってください。";
static const char greeting_text[] =
    "友だち追加ありがとうございます。{desk}です。\n"
    "{audience}のための相談窓口です。相談は無料で、秘密は守られます。\n"
    "相談時間は{hours}です。時間外に届いたメッセージにも、次の相談時間にお返事します。\n"
    "名前や住所、電話番号などの個人情報は、LINEでは送らないでください。\n"
    "話したいことを、文字で送ってください。";
static const char welcome_back_text[] =
    "おかえりなさい。{desk}です。\n"
    "話したいことがあれば、いつでも文字で送ってください。\n"
    "相談時間は{hours}です。";

static const char default_hours_json[] =
    "{\"mon\": [\"11:00\", \"20:00\"], \"tue\": [\"11:00\", \"20:00\"],\n"
    "  \"wed\": [\"11:00\", \"20:00\"], \"thu\": [\"11:00\", \"20:00\"],\n"
    "  \"fri\": [\"11:00\", \"20:00\"], \"sat\": null, \"sun\": null}";
static const char default_hotlines_json[] =
    "[\n"
    "  {\"name\": \"よりそいホットライン\", \"phone\": \"0120-279-338\", "
    "\"hours\": \"24時間\"},\n"
    "  {\"name\": \"24時間子供SOSダイヤル\", \"phone\": \"0120-0-78310\", "
    "\"hours\": \"24時間\"}\n"
    " ]";

static const char default_hours_words[] =
    "月〜金 11:00〜20:00（祝日、12月29日〜1月3日を除く）";
static const char default_hotlines_words[] =
    "・よりそいホットライン 0120-279-338（24時間）\n"
    "・24時間子供SOSダイヤル 0120-0-78310（24時間）";

/* ---- helpers ---- */

/* text as a JSON string, through cJSON; malloc'd. */
static char *
json_string(const char *text)
{
	cJSON *v = cJSON_CreateString(text);
	char *s = v != NULL ? cJSON_PrintUnformatted(v) : NULL;

	cJSON_Delete(v);
	return s;
}

static bool
apply(struct desk_settings *d, const char *key, const char *json)
{
	char err[256] = "";
	bool ok = desk_settings_apply(d, key, json, err, sizeof(err));

	if (!ok)
		printf("#   %s = %s: %s\n", key, json, err);
	return ok;
}

static bool
apply_text(struct desk_settings *d, const char *key, const char *text)
{
	char *json = json_string(text);
	bool ok = json != NULL && apply(d, key, json);

	free(json);
	return ok;
}

/* The desk as the migration leaves it. */
static bool
load_defaults(struct desk_settings *d)
{
	bool ok = true;

	desk_settings_init(d);
	ok &= apply(d, "desk_name", "\"相談窓口\"");
	ok &= apply(d, "desk_audience", "\"悩みを抱えている方やそのご家族\"");
	ok &= apply(d, "hours", default_hours_json);
	ok &= apply(d, "closed_on_holidays", "true");
	ok &= apply(d, "closures", "[[\"12-29\", \"01-03\"]]");
	ok &= apply(d, "capacity_per_counsellor", "2");
	ok &= apply(d, "min_staff_on_duty", "2");
	ok &= apply(d, "min_supervisors_on_duty", "0");
	ok &= apply(d, "hotlines", default_hotlines_json);
	ok &= apply_text(d, "autoreply_after_hours", after_hours_text);
	ok &= apply_text(d, "autoreply_busy", busy_text);
	ok &= apply_text(d, "autoreply_text_only", text_only_text);
	ok &= apply_text(d, "autoreply_greeting", greeting_text);
	ok &= apply_text(d, "autoreply_welcome_back", welcome_back_text);
	return ok;
}

/* An ISO-8601 instant in seconds. */
static int64_t
at(const char *iso)
{
	int64_t us;

	if (!clock_parse_iso8601(iso, &us)) {
		printf("# bad instant %s\n", iso);
		return 0;
	}
	return us / 1000000;
}

static struct cal_date
date(const char *s)
{
	struct cal_date d = { 0, 0, 0 };

	if (!cal_date_parse(s, &d))
		printf("# bad date %s\n", s);
	return d;
}

static int
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Whether d still is what the shallow copy was taken from: the same
 * values, and the same allocations (a refused setting frees nothing).
 */
static int
unchanged(const struct desk_settings *d, const struct desk_settings *was)
{
	const struct calendar *a = &d->cal, *b = &was->cal;

	if (memcmp(a->hours, b->hours, sizeof(a->hours)) != 0 ||
	    a->closed_on_holidays != b->closed_on_holidays ||
	    a->nclosures != b->nclosures ||
	    a->exceptions != b->exceptions || a->nexceptions != b->nexceptions)
		return 0;
	for (size_t i = 0; i < a->nclosures; i++)
		if (a->closures[i].from_m != b->closures[i].from_m ||
		    a->closures[i].from_d != b->closures[i].from_d ||
		    a->closures[i].to_m != b->closures[i].to_m ||
		    a->closures[i].to_d != b->closures[i].to_d)
			return 0;
	if (d->desk_name != was->desk_name ||
	    d->desk_audience != was->desk_audience ||
	    d->capacity_per_counsellor != was->capacity_per_counsellor ||
	    d->min_staff_on_duty != was->min_staff_on_duty ||
	    d->min_supervisors_on_duty != was->min_supervisors_on_duty ||
	    d->nhotlines != was->nhotlines)
		return 0;
	for (size_t i = 0; i < d->nhotlines; i++)
		if (d->hotlines[i].name != was->hotlines[i].name ||
		    d->hotlines[i].phone != was->hotlines[i].phone ||
		    d->hotlines[i].hours != was->hotlines[i].hours)
			return 0;
	for (int k = 0; k < AUTOREPLY_KINDS; k++)
		if (d->text[k] != was->text[k] ||
		    d->text_strict[k] != was->text_strict[k])
			return 0;
	return 1;
}

static char *
render(const struct desk_settings *d, enum autoreply_kind kind,
    const char *iso, int ahead)
{
	struct autoreply_vars v = { .now = at(iso), .ahead = ahead };

	return autoreply_render(d, kind, &v);
}

/* Whether s contains part; says what s was when not. */
static int
has(const char *s, const char *part)
{
	if (s != NULL && strstr(s, part) != NULL)
		return 1;
	printf("#   \"%s\" not in:\n#   %s\n", part, s ? s : "(null)");
	return 0;
}

/* ---- desk.c ---- */

static void
test_init(void)
{
	struct desk_settings d;
	int weekdays = 1;

	desk_settings_init(&d);
	for (int w = 1; w <= 5; w++)
		weekdays &= d.cal.hours[w][0] == 11 * 60 &&
		    d.cal.hours[w][1] == 20 * 60;
	ok(weekdays, "init: Monday to Friday 11:00-20:00");
	ok(d.cal.hours[0][0] >= d.cal.hours[0][1] &&
	    d.cal.hours[6][0] >= d.cal.hours[6][1], "closed on the weekend");
	ok(d.cal.closed_on_holidays, "closed on national holidays");
	ok(d.cal.nclosures == 1 && d.cal.closures[0].from_m == 12 &&
	    d.cal.closures[0].from_d == 29 && d.cal.closures[0].to_m == 1 &&
	    d.cal.closures[0].to_d == 3, "closed 12/29 to 1/3");
	ok(d.nexceptions == 0 && d.nhotlines == 0, "no exceptions, no hotlines");
	ok(d.text[AUTOREPLY_AFTER_HOURS] == NULL && d.desk_name == NULL,
	    "no texts");
	ok(calendar_business_day(&d.cal, date("2026-12-07"), NULL, NULL) &&
	    !calendar_business_day(&d.cal, date("2026-12-05"), NULL, NULL),
	    "a Monday is a business day, a Saturday is not");
	desk_settings_free(&d);
}

static void
test_apply_valid(void)
{
	static const struct { const char *key, *json; } good[] = {
		{ "desk_name", "\"こころの窓口\"" },
		{ "desk_audience", "\"学生\"" },
		{ "hours", "{\"mon\": [\"09:00\", \"17:30\"], \"sat\": [\"13:00\", "
		    "\"24:00\"], \"sun\": null}" },
		{ "closed_on_holidays", "false" },
		{ "closures", "[[\"12-29\", \"01-03\"], [\"08-13\", \"08-16\"], "
		    "[\"02-29\", \"02-29\"]]" },
		{ "capacity_per_counsellor", "3" },
		{ "min_staff_on_duty", "1" },
		{ "min_supervisors_on_duty", "1" },
		{ "hotlines", "[{\"name\": \"いのちの電話\", \"phone\": "
		    "\"0570-783-556\"}]" },
		{ "autoreply_after_hours", "\"時間外です。{next_open}に開きます。\"" },
		{ "autoreply_busy", "\"混んでいます。{queue}{ahead}\"" },
		{ "autoreply_text_only", "\"文字で送ってください。\"" },
		{ "autoreply_greeting", "\"{desk}です。{audience}の方へ。{hours}\"" },
		{ "autoreply_welcome_back", "\"おかえりなさい。{hotlines}\"" },
		{ "autoreply_crisis", "\"110番か119番へ。{hotlines}\"" },
		{ "autoreply_handoff", "\"{desk}のページでどうぞ。\"" },
		{ "autoreply_reply_waiting", "\"{desk}からお返事があります。\"" },
		{ "reply_deadline", "{\"kind\": \"business_minutes\", "
		    "\"minutes\": 90}" },
		{ "line_mode", "\"strict\"" },
		{ "autoreply_greeting_strict", "\"{desk}です。下のボタンから。\"" },
		{ "autoreply_welcome_back_strict", "\"おかえりなさい。ボタンから。\"" },
		{ "autoreply_text_only_strict", "\"文字でどうぞ。ボタンから。\"" },
	};
	struct desk_settings d;
	size_t nkeys = 0;
	char *long_text;

	desk_settings_init(&d);
	for (size_t k = 0; desk_setting_keys[k] != NULL; k++) {
		size_t i;

		nkeys++;
		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
			if (strcmp(good[i].key, desk_setting_keys[k]) == 0)
				break;
		if (i == sizeof(good) / sizeof(good[0])) {
			ok(0, "a valid value of %s is tested", desk_setting_keys[k]);
			continue;
		}
		ok(apply(&d, good[i].key, good[i].json), "%s = %s", good[i].key,
		    good[i].json);
	}
	is_int(nkeys, sizeof(good) / sizeof(good[0]), "every key known");

	is_int(d.reply_business_minutes, 90, "reply_deadline applied");
	ok(d.strict, "line_mode strict applied");
	ok(!apply(&d, "line_mode", "\"lenient\"") && d.strict,
	    "line_mode: another word refused, nothing changed");
	ok(apply(&d, "line_mode", "\"direct\"") && !d.strict,
	    "line_mode direct applied");
	ok(!apply(&d, "reply_deadline", "{\"kind\": \"business_minutes\"}"),
	    "reply_deadline: minutes required");
	ok(!apply(&d, "reply_deadline", "{\"kind\": \"soon\"}"),
	    "reply_deadline: an unknown kind refused");
	is_int(d.reply_business_minutes, 90, "a refused value changes nothing");
	is_str(d.desk_name, "こころの窓口", "desk_name applied");
	is_str(d.desk_audience, "学生", "desk_audience applied");
	ok(d.cal.hours[1][0] == 9 * 60 && d.cal.hours[1][1] == 17 * 60 + 30,
	    "hours: Monday 09:00-17:30");
	ok(d.cal.hours[6][0] == 13 * 60 && d.cal.hours[6][1] == 1440,
	    "hours: Saturday until 24:00");
	ok(d.cal.hours[2][0] >= d.cal.hours[2][1] &&
	    d.cal.hours[0][0] >= d.cal.hours[0][1],
	    "hours: a day left out, or null, is closed");
	ok(!d.cal.closed_on_holidays, "closed_on_holidays applied");
	ok(d.cal.nclosures == 3 && d.cal.closures[1].from_m == 8 &&
	    d.cal.closures[1].from_d == 13 && d.cal.closures[1].to_d == 16,
	    "closures applied (02-29 allowed)");
	ok(d.capacity_per_counsellor == 3 && d.min_staff_on_duty == 1 &&
	    d.min_supervisors_on_duty == 1, "the numbers applied");
	ok(d.nhotlines == 1 && same_str(d.hotlines[0].phone, "0570-783-556") &&
	    d.hotlines[0].hours == NULL, "a hotline without hours");
	is_str(d.text[AUTOREPLY_BUSY], "混んでいます。{queue}{ahead}",
	    "a text applied as written");

	ok(apply(&d, "capacity_per_counsellor", "0") &&
	    d.capacity_per_counsellor == 0, "capacity 0");
	ok(apply(&d, "capacity_per_counsellor", "50") &&
	    d.capacity_per_counsellor == 50, "capacity 50");
	ok(apply(&d, "capacity_per_counsellor", "2.0") &&
	    d.capacity_per_counsellor == 2, "capacity 2.0 is a whole number");
	ok(apply(&d, "closures", "[]") && d.cal.nclosures == 0, "no closures");
	ok(apply(&d, "hotlines", "[]") && d.nhotlines == 0, "no hotlines");
	ok(apply(&d, "hotlines", default_hotlines_json) && d.nhotlines == 2,
	    "hotlines replaced");

	long_text = malloc(4001);
	if (long_text != NULL) {
		memset(long_text, 'a', 4000);
		long_text[4000] = '\0';
		ok(apply_text(&d, "autoreply_text_only", long_text) &&
		    strlen(d.text[AUTOREPLY_TEXT_ONLY]) == 4000,
		    "a text of exactly 4000 bytes");
		free(long_text);
	}
	ok(apply(&d, "desk_name", "\"窓口{nope}\""),
	    "the desk name is not a template: braces allowed");

	ok(apply(&d, "autoreply_after_hours", "\"\"") &&
	    same_str(d.text[AUTOREPLY_AFTER_HOURS], ""), "an empty text");
	ok(render(&d, AUTOREPLY_AFTER_HOURS, "2026-11-28T15:00+09:00", 0) == NULL,
	    "turns that reply off: no text rendered");
	desk_settings_free(&d);
}

static void
test_apply_invalid(void)
{
	static const struct { const char *key, *json, *why; } bad[] = {
		{ "no_such_key", "1", "an unknown key" },
		{ "desk_name", "相談窓口", "invalid JSON (no quotes)" },
		{ "hours", "{\"mon\": [\"11:00\", \"20:00\"]", "invalid JSON" },
		{ "desk_name", "null", "a text that is null" },
		{ "desk_name", "42", "a text that is a number" },
		{ "hours", "{\"mon\": [\"11:00\", \"25:00\"]}", "25:00" },
		{ "hours", "{\"mon\": [\"20:00\", \"11:00\"]}",
		    "opening after closing" },
		{ "hours", "{\"mon\": [\"11:00\", \"11:00\"]}",
		    "opening when closing" },
		{ "hours", "{\"mon2\": [\"11:00\", \"20:00\"]}", "a day mon2" },
		{ "hours", "{\"Mon\": [\"11:00\", \"20:00\"]}", "a day Mon" },
		{ "hours", "{\"mon\": [\"11:00\"]}", "one time" },
		{ "hours", "{\"mon\": [\"11:00\", \"20:00\", \"21:00\"]}",
		    "three times" },
		{ "hours", "{\"mon\": [\"11:60\", \"20:00\"]}", "11:60" },
		{ "hours", "{\"mon\": [\"11:00\", \"24:01\"]}", "24:01" },
		{ "hours", "{\"mon\": [\"1100\", \"2000\"]}", "no colon" },
		{ "hours", "{\"mon\": [\"9:00\", \"20:00\"]}", "9:00" },
		{ "hours", "{\"mon\": [11, 20]}", "numbers" },
		{ "hours", "{\"mon\": \"11:00-20:00\"}", "a string" },
		{ "hours", "[]", "an array" },
		{ "closures", "[[\"02-30\", \"03-01\"]]", "02-30" },
		{ "closures", "[[\"13-01\", \"01-03\"]]", "month 13" },
		{ "closures", "[[\"12-29\"]]", "one date" },
		{ "closures", "[[\"12/29\", \"01/03\"]]", "slashes" },
		{ "closures", "[[\"2026-12-29\", \"01-03\"]]", "a year" },
		{ "closures", "{}", "an object" },
		{ "closures", "[[\"01-01\", \"01-01\"], [\"01-01\", \"01-01\"], "
		    "[\"01-01\", \"01-01\"], [\"01-01\", \"01-01\"], "
		    "[\"01-01\", \"01-01\"], [\"01-01\", \"01-01\"], "
		    "[\"01-01\", \"01-01\"], [\"01-01\", \"01-01\"], "
		    "[\"01-01\", \"01-01\"], [\"01-01\", \"01-01\"], "
		    "[\"01-01\", \"01-01\"], [\"01-01\", \"01-01\"], "
		    "[\"01-01\", \"01-01\"], [\"01-01\", \"01-01\"], "
		    "[\"01-01\", \"01-01\"], [\"01-01\", \"01-01\"], "
		    "[\"01-01\", \"01-01\"]]", "17 closures" },
		{ "closed_on_holidays", "1", "a number for a bool" },
		{ "closed_on_holidays", "\"true\"", "a string for a bool" },
		{ "capacity_per_counsellor", "-1", "capacity -1" },
		{ "capacity_per_counsellor", "1.5", "capacity 1.5" },
		{ "capacity_per_counsellor", "51", "capacity 51" },
		{ "capacity_per_counsellor", "\"2\"", "capacity \"2\"" },
		{ "capacity_per_counsellor", "1e10", "capacity 1e10" },
		{ "min_staff_on_duty", "-1", "min staff -1" },
		{ "min_supervisors_on_duty", "0.5", "min supervisors 0.5" },
		{ "autoreply_after_hours", "\"{foo}\"", "a placeholder {foo}" },
		{ "autoreply_busy", "\"待ってね{next_open\"", "an unclosed {" },
		{ "autoreply_greeting", "\"{}\"", "an empty placeholder" },
		{ "autoreply_greeting", "42", "a number for a text" },
		{ "autoreply_welcome_back", "null", "null for a text" },
		{ "hotlines", "[{\"name\": \"相談ダイヤル\"}]", "a hotline without "
		    "a phone" },
		{ "hotlines", "[{\"phone\": \"0120-000-000\"}]", "without a name" },
		{ "hotlines", "[{\"name\": \"x\", \"phone\": 120}]",
		    "a phone that is a number" },
		{ "hotlines", "[{\"name\": \"x\", \"phone\": \"1\", \"hours\": 24}]",
		    "hours that are a number" },
		{ "hotlines", "[{\"name\": \"x\", \"phone\": \"1\"}, "
		    "{\"name\": \"y\"}]", "the second without a phone" },
		{ "hotlines", "{}", "an object" },
	};
	struct desk_settings d, was;
	char err[256], *json, *long_text;

	if (!load_defaults(&d)) {
		ok(0, "the defaults load");
		return;
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		was = d;
		err[0] = '\0';
		ok(!desk_settings_apply(&d, bad[i].key, bad[i].json, err,
		    sizeof(err)) && err[0] != '\0' && unchanged(&d, &was),
		    "refused, err set, unchanged: %s (%s = %s)", bad[i].why,
		    bad[i].key, bad[i].json);
	}

	/* 17 hotlines */
	json = malloc(17 * 48 + 8);
	if (json != NULL) {
		strcpy(json, "[");
		for (int i = 0; i < 17; i++)
			sprintf(json + strlen(json), "%s{\"name\": \"n%d\", "
			    "\"phone\": \"%d\"}", i > 0 ? ", " : "", i, i);
		strcat(json, "]");
		was = d;
		ok(!desk_settings_apply(&d, "hotlines", json, err, sizeof(err)) &&
		    unchanged(&d, &was), "17 hotlines refused");
		free(json);
	}
	/* a text over 4000 bytes */
	long_text = malloc(4002);
	if (long_text != NULL) {
		memset(long_text, 'a', 4001);
		long_text[4001] = '\0';
		json = json_string(long_text);
		was = d;
		err[0] = '\0';
		ok(json != NULL && !desk_settings_apply(&d, "autoreply_busy", json,
		    err, sizeof(err)) && err[0] != '\0' && unchanged(&d, &was),
		    "a text of 4001 bytes refused");
		free(json);
		free(long_text);
	}
	/* the desk works as before */
	ok(same_str(d.text[AUTOREPLY_BUSY], busy_text) && d.nhotlines == 2 && d.cal.hours[1][0] == 660 &&
	    d.capacity_per_counsellor == 2, "after all that, still the defaults");
	err[0] = '\0';
	ok(!desk_settings_apply(&d, "hours", "{\"mon\": [\"11:00\", \"25:00\"]}",
	    err, sizeof(err)) && strstr(err, "hours") != NULL,
	    "err names the key: %s", err);
	desk_settings_free(&d);
}

static void
test_exceptions(void)
{
	struct desk_settings d;
	char err[256], name[32];
	int open = -1, close = -1;
	size_t n;

	desk_settings_init(&d);

	ok(calendar_business_day(&d.cal, date("2026-12-07"), NULL, NULL),
	    "Monday 2026-12-07 is a business day");
	ok(desk_settings_add_exception(&d, "2026-12-07", "closed", NULL, NULL,
	    NULL, err, sizeof(err)), "closed on 2026-12-07");
	ok(!calendar_business_day(&d.cal, date("2026-12-07"), NULL, NULL),
	    "then it is not");
	ok(calendar_business_day(&d.cal, date("2026-12-08"), NULL, NULL),
	    "the day after is");

	ok(!calendar_business_day(&d.cal, date("2026-12-05"), NULL, NULL),
	    "Saturday 2026-12-05 is closed");
	ok(desk_settings_add_exception(&d, "2026-12-05", "open", "11:00:00",
	    "17:00:00", NULL, err, sizeof(err)),
	    "open 2026-12-05 11:00:00-17:00:00 (as PostgreSQL prints a time)");
	ok(calendar_business_day(&d.cal, date("2026-12-05"), &open, &close) &&
	    open == 660 && close == 1020, "then open 11:00-17:00");

	ok(desk_settings_add_exception(&d, "2026-12-06", "open", NULL, NULL,
	    NULL, err, sizeof(err)), "open Sunday 2026-12-06, usual hours");
	ok(calendar_business_day(&d.cal, date("2026-12-06"), &open, &close) &&
	    open == 660 && close == 1200, "then open Monday's hours, 11:00-20:00");

	ok(desk_settings_add_exception(&d, "2026-12-12", "open", "13:00",
	    "24:00:00", NULL, err, sizeof(err)), "open until 24:00:00");
	ok(calendar_business_day(&d.cal, date("2026-12-12"), &open, &close) &&
	    open == 780 && close == 1440, "then open 13:00-24:00");

	strcpy(name, "臨時の祝日");
	ok(desk_settings_add_exception(&d, "2026-12-08", "holiday_add", NULL,
	    NULL, name, err, sizeof(err)), "holiday_add 2026-12-08");
	strcpy(name, "overwritten");
	ok(!calendar_business_day(&d.cal, date("2026-12-08"), NULL, NULL),
	    "then 2026-12-08 is closed (closed on holidays)");
	is_str(calendar_holiday_name(&d.cal, date("2026-12-08")), "臨時の祝日",
	    "with its name, kept by the settings");

	ok(calendar_holiday_name(&d.cal, date("2026-11-23")) != NULL &&
	    !calendar_business_day(&d.cal, date("2026-11-23"), NULL, NULL),
	    "2026-11-23 (勤労感謝の日, a Monday) is closed");
	ok(desk_settings_add_exception(&d, "2026-11-23", "holiday_cancel", NULL,
	    NULL, NULL, err, sizeof(err)), "holiday_cancel 2026-11-23");
	ok(calendar_holiday_name(&d.cal, date("2026-11-23")) == NULL &&
	    calendar_business_day(&d.cal, date("2026-11-23"), NULL, NULL),
	    "then it is a business day");
	is_int(d.nexceptions, 6, "six exceptions");

	/* Many more: the arrays move; the names must follow. */
	for (int i = 0; i < 40; i++) {
		char day[24];

		snprintf(name, sizeof(name), "祝日%d", i);
		snprintf(day, sizeof(day), "2027-%02d-%02d", 2 + i / 28, 1 + i % 28);
		if (!desk_settings_add_exception(&d, day, "holiday_add", NULL,
		    NULL, name, err, sizeof(err)))
			break;
	}
	is_int(d.nexceptions, 46, "forty more");
	is_str(calendar_holiday_name(&d.cal, date("2026-12-08")), "臨時の祝日",
	    "the first name survives the arrays moving");
	is_str(calendar_holiday_name(&d.cal, date("2027-03-12")), "祝日39",
	    "the last one too");

	n = d.nexceptions;
	{
		static const struct {
			const char *day, *kind, *opens, *closes, *name, *why;
		} bad[] = {
			{ "2026-02-30", "closed", NULL, NULL, NULL, "2026-02-30" },
			{ "2026/12/07", "closed", NULL, NULL, NULL, "slashes" },
			{ "2026-12-7", "closed", NULL, NULL, NULL, "one digit" },
			{ NULL, "closed", NULL, NULL, NULL, "no date" },
			{ "2026-12-07", "shut", NULL, NULL, NULL, "kind shut" },
			{ "2026-12-07", NULL, NULL, NULL, NULL, "no kind" },
			{ "2026-12-07", "Closed", NULL, NULL, NULL, "kind Closed" },
			{ "2026-12-05", "open", "11:00:00", NULL, NULL,
			    "opens without closes" },
			{ "2026-12-05", "open", NULL, "17:00", NULL,
			    "closes without opens" },
			{ "2026-12-05", "open", "17:00:00", "11:00:00", NULL,
			    "opening after closing" },
			{ "2026-12-05", "open", "11:00", "11:00", NULL,
			    "opening when closing" },
			{ "2026-12-05", "open", "11:00:30", "17:00:00", NULL,
			    "seconds" },
			{ "2026-12-05", "open", "25:00:00", "26:00:00", NULL,
			    "25:00:00" },
			{ "2026-12-05", "open", "11:00", "24:30", NULL, "24:30" },
			{ "2026-12-05", "open", "11", "17", NULL, "hours only" },
			{ "2026-12-09", "holiday_add", NULL, NULL, NULL,
			    "holiday_add without a name" },
			{ "2026-12-09", "holiday_add", NULL, NULL, "",
			    "holiday_add with an empty name" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err[0] = '\0';
			ok(!desk_settings_add_exception(&d, bad[i].day, bad[i].kind,
			    bad[i].opens, bad[i].closes, bad[i].name, err,
			    sizeof(err)) && err[0] != '\0' && d.nexceptions == n,
			    "exception refused: %s", bad[i].why);
		}
	}
	ok(calendar_business_day(&d.cal, date("2026-12-09"), NULL, NULL) &&
	    calendar_holiday_name(&d.cal, date("2026-12-09")) == NULL,
	    "2026-12-09 untouched by the refused ones");
	desk_settings_free(&d);
}

/* ---- render.c ---- */

static void
hours_case(const char *hours, const char *holidays, const char *closures,
    const char *want, const char *what)
{
	struct desk_settings d;
	char *got;

	desk_settings_init(&d);
	if ((hours == NULL || apply(&d, "hours", hours)) &&
	    (holidays == NULL || apply(&d, "closed_on_holidays", holidays)) &&
	    (closures == NULL || apply(&d, "closures", closures))) {
		got = autoreply_hours_text(&d);
		is_str(got, want, "hours text: %s", what);
		free(got);
	} else
		ok(0, "hours text: %s (settings refused)", what);
	desk_settings_free(&d);
}

static void
test_hours_text(void)
{
	hours_case(NULL, NULL, NULL, default_hours_words, "the default");
	hours_case(default_hours_json, NULL, NULL, default_hours_words,
	    "the migration's hours");
	hours_case("{\"mon\": [\"11:00\", \"20:00\"], \"tue\": [\"11:00\", "
	    "\"20:00\"], \"wed\": [\"11:00\", \"20:00\"], \"thu\": [\"11:00\", "
	    "\"20:00\"], \"fri\": [\"11:00\", \"20:00\"], \"sat\": [\"13:00\", "
	    "\"17:00\"]}", NULL, NULL,
	    "月〜金 11:00〜20:00、土 13:00〜17:00"
	    "（祝日、12月29日〜1月3日を除く）", "and Saturday afternoon");
	hours_case("{\"mon\": [\"11:00\", \"20:00\"], \"tue\": [\"11:00\", "
	    "\"20:00\"], \"wed\": [\"11:00\", \"20:00\"], \"thu\": [\"11:00\", "
	    "\"20:00\"], \"fri\": [\"11:00\", \"20:00\"], \"sat\": [\"10:00\", "
	    "\"16:00\"], \"sun\": [\"10:00\", \"16:00\"]}", NULL, NULL,
	    "月〜金 11:00〜20:00、土・日 10:00〜16:00"
	    "（祝日、12月29日〜1月3日を除く）", "two adjacent days");
	hours_case("{\"mon\": [\"09:30\", \"12:00\"], \"wed\": [\"09:30\", "
	    "\"12:00\"]}", NULL, NULL,
	    "月 9:30〜12:00、水 9:30〜12:00（祝日、12月29日〜1月3日を除く）",
	    "days apart are named apart");
	hours_case("{\"mon\": [\"11:00\", \"20:00\"], \"tue\": [\"11:00\", "
	    "\"20:00\"], \"wed\": [\"11:00\", \"18:00\"], \"thu\": [\"11:00\", "
	    "\"20:00\"]}", NULL, NULL,
	    "月・火 11:00〜20:00、水 11:00〜18:00、木 11:00〜20:00"
	    "（祝日、12月29日〜1月3日を除く）", "a short Wednesday");
	hours_case("{\"sun\": [\"00:00\", \"24:00\"]}", "false", "[]",
	    "日 0:00〜24:00", "Sunday all day, no exclusions");
	hours_case(NULL, "false", NULL, "月〜金 11:00〜20:00（12月29日〜1月3日を除く）",
	    "open on holidays");
	hours_case(NULL, "true", "[[\"12-29\", \"01-03\"], [\"08-13\", \"08-16\"]]",
	    "月〜金 11:00〜20:00（祝日、12月29日〜1月3日、8月13日〜8月16日を除く）",
	    "two closures");
	hours_case("{}", NULL, NULL, "未定", "no hours at all");
	hours_case("{\"sat\": null, \"sun\": null}", "false", "[]", "未定",
	    "no hours, nothing excluded");
}

static void
test_render(void)
{
	static const struct { const char *now, *next; } nexts[] = {
		{ "2026-11-28T15:00+09:00", "11月30日（月）11:00" },
		{ "2026-11-30T10:59+09:00", "11月30日（月）11:00" },
		{ "2026-11-30T12:34+09:00", "いま" },	/* open: now */
		{ "2026-11-30T20:00+09:00", "12月1日（火）11:00" },
		{ "2026-12-25T21:00+09:00", "12月28日（月）11:00" },
		{ "2026-12-28T21:00+09:00", "1月4日（月）11:00" },
		{ "2026-12-31T12:00+09:00", "1月4日（月）11:00" },
		{ "2026-11-20T20:30+09:00", "11月24日（火）11:00" },
	};
	static const char *const texts[] = { after_hours_text, busy_text,
	    text_only_text, greeting_text, welcome_back_text };
	struct desk_settings d;
	char err[256], *got, *want;
	size_t wl;

	if (!load_defaults(&d)) {
		ok(0, "the defaults load");
		return;
	}
	ok(1, "the migration's settings all apply");

	/* the whole after-hours text */
	got = render(&d, AUTOREPLY_AFTER_HOURS, "2026-11-28T15:00+09:00", 0);
	wl = strlen(after_hours_text) + 1024;
	want = malloc(wl);
	if (want != NULL) {
		snprintf(want, wl,
		    "メッセージを受け取りました。送ってくれてありがとうございます。\n"
		    "ただいま相談時間外です。相談時間は%sです。\n"
		    "%sから、相談員が順番にお返事します。\n"
		    "\n"
		    "今すぐ誰かと話したいときは、こちらも利用できます。\n"
		    "%s\n"
		    "命の危険があるときは、110番（警察）か119番（救急）に電話してください。",
		    default_hours_words, "11月30日（月）11:00",
		    default_hotlines_words);
		is_str(got, want, "after hours, Saturday 2026-11-28 15:00: the "
		    "whole text");
		free(want);
	}
	free(got);

	for (size_t i = 0; i < sizeof(nexts) / sizeof(nexts[0]); i++) {
		char part[64];

		got = render(&d, AUTOREPLY_AFTER_HOURS, nexts[i].now, 0);
		snprintf(part, sizeof(part), "\n%sから、", nexts[i].next);
		ok(has(got, part), "after hours at %s: next open %s", nexts[i].now,
		    nexts[i].next);
		free(got);
	}

	/* busy */
	got = render(&d, AUTOREPLY_BUSY, "2026-11-30T15:00+09:00", 3);
	ok(has(got, "あなたの前に3人"), "busy, 3 ahead: says so");
	ok(has(got, "すぐにはお返事できません。いま、あなたの前に3人の方がお待ちです。\n"),
	    "in the sentence written for it");
	ok(has(got, default_hotlines_words), "and lists the hotlines");
	free(got);
	got = render(&d, AUTOREPLY_BUSY, "2026-11-30T15:00+09:00", 0);
	ok(got != NULL && strstr(got, "あなたの前に") == NULL &&
	    strstr(got, "人の方") == NULL && strstr(got, "0人") == NULL,
	    "busy, none ahead: no count");
	ok(has(got, "すぐにはお返事できません。\n順番に"),
	    "and nothing left where the count was");
	free(got);

	/* hotlines: each on its own line, with its hours */
	got = render(&d, AUTOREPLY_AFTER_HOURS, "2026-11-28T15:00+09:00", 0);
	ok(has(got, "\n・よりそいホットライン 0120-279-338（24時間）\n"),
	    "the first hotline on its own line, with its hours");
	ok(has(got, "\n・24時間子供SOSダイヤル 0120-0-78310（24時間）\n"),
	    "the second too");
	free(got);
	ok(apply(&d, "hotlines", "[{\"name\": \"A\", \"phone\": \"1\"}, "
	    "{\"name\": \"B\", \"phone\": \"2\", \"hours\": \"\"}, "
	    "{\"name\": \"C\", \"phone\": \"3\", \"hours\": \"夜間\"}]") &&
	    apply_text(&d, "autoreply_text_only", "[{hotlines}]"),
	    "(three hotlines, two without hours)");
	got = render(&d, AUTOREPLY_TEXT_ONLY, "2026-11-28T15:00+09:00", 0);
	is_str(got, "[・A 1\n・B 2\n・C 3（夜間）]",
	    "hotlines without hours have no brackets");
	free(got);
	ok(apply(&d, "hotlines", "[]"), "(no hotlines)");
	got = render(&d, AUTOREPLY_TEXT_ONLY, "2026-11-28T15:00+09:00", 0);
	is_str(got, "[]", "no hotlines: nothing");
	free(got);

	/* the greeting and welcome back */
	got = render(&d, AUTOREPLY_GREETING, "2026-11-28T15:00+09:00", 0);
	ok(has(got, "友だち追加ありがとうございます。相談窓口です。\n"
	    "悩みを抱えている方やそのご家族のための相談窓口です。"),
	    "greeting: the desk and its audience");
	ok(has(got, "相談時間は月〜金 11:00〜20:00（祝日、12月29日〜1月3日を除く）です。"),
	    "greeting: the hours");
	free(got);
	got = render(&d, AUTOREPLY_WELCOME_BACK, "2026-11-28T15:00+09:00", 0);
	is_str(got, "おかえりなさい。相談窓口です。\n"
	    "話したいことがあれば、いつでも文字で送ってください。\n"
	    "相談時間は月〜金 11:00〜20:00（祝日、12月29日〜1月3日を除く）です。",
	    "welcome back: the whole text");
	free(got);

	/* braces that are not placeholders */
	ok(apply(&d, "desk_name", "\"窓口{hours}{nope}{\""), "(a desk name with braces)");
	got = render(&d, AUTOREPLY_WELCOME_BACK, "2026-11-28T15:00+09:00", 0);
	ok(has(got, "おかえりなさい。窓口{hours}{nope}{です。\n"),
	    "braces in the desk name are not expanded again");
	free(got);
	ok(apply_text(&d, "autoreply_text_only", "{ahead}人 {queue}"),
	    "(a text with {ahead})");
	got = render(&d, AUTOREPLY_TEXT_ONLY, "2026-11-28T15:00+09:00", 12);
	is_str(got, "12人 いま、あなたの前に12人の方がお待ちです。",
	    "{ahead} is the number");
	free(got);
	ok(apply_text(&d, "autoreply_text_only", "時間外"),
	    "(a text with no placeholder)");
	got = render(&d, AUTOREPLY_TEXT_ONLY, "2026-11-28T15:00+09:00", 0);
	is_str(got, "時間外", "rendered as written");
	free(got);

	/* no text, an empty text */
	ok(apply(&d, "autoreply_greeting", "\"\""), "(the greeting turned off)");
	ok(render(&d, AUTOREPLY_GREETING, "2026-11-28T15:00+09:00", 0) == NULL,
	    "an empty text: no reply");
	desk_settings_free(&d);
	desk_settings_init(&d);
	ok(render(&d, AUTOREPLY_BUSY, "2026-11-28T15:00+09:00", 0) == NULL,
	    "no text at all: no reply");

	/* a desk that never opens */
	ok(apply(&d, "hours", "{}") && apply_text(&d, "autoreply_after_hours",
	    "{next_open}に。{hours}"), "(a desk with no hours)");
	got = render(&d, AUTOREPLY_AFTER_HOURS, "2026-11-28T15:00+09:00", 0);
	is_str(got, "次の相談時間に。未定", "no hours: a plain promise");
	free(got);
	desk_settings_free(&d);

	/* the templates */
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		err[0] = '\0';
		ok(autoreply_template_valid(texts[i], err, sizeof(err)),
		    "default text %zu is a valid template %s", i, err);
	}
	ok(autoreply_template_valid("", err, sizeof(err)), "\"\" is valid");
	ok(autoreply_template_valid("no braces } here", err, sizeof(err)),
	    "a lone } is valid");
	err[0] = '\0';
	ok(!autoreply_template_valid("{next_open", err, sizeof(err)) &&
	    err[0] != '\0', "\"{next_open\" (unclosed) is refused: %s", err);
	err[0] = '\0';
	ok(!autoreply_template_valid("{desk}と{nope}", err, sizeof(err)) &&
	    strstr(err, "{nope}") != NULL, "\"{nope}\" is refused: %s", err);
	ok(!autoreply_template_valid("{}", err, sizeof(err)), "\"{}\" is refused");
	ok(!autoreply_template_valid("{ desk }", err, sizeof(err)),
	    "\"{ desk }\" is refused");
	ok(!autoreply_template_valid("{Desk}", err, sizeof(err)),
	    "\"{Desk}\" is refused");
	ok(!autoreply_template_valid("{desk}{", err, sizeof(err)),
	    "a trailing { is refused");
}

/* Strict mode's own words where the desk has them, the usual ones else. */
static void
test_render_strict(void)
{
	struct desk_settings d;
	char *t;

	desk_settings_init(&d);
	ok(apply(&d, "desk_name", "\"こころの窓口\"") &&
	    apply(&d, "autoreply_greeting", "\"{desk}です。文字で送ってください。\"") &&
	    apply(&d, "autoreply_greeting_strict", "\"{desk}です。下のボタンから。\"") &&
	    apply(&d, "autoreply_busy", "\"混んでいます。\""),
	    "strict texts set");
	t = render(&d, AUTOREPLY_GREETING, "2026-12-07T10:00:00+09:00", 0);
	is_str(t, "こころの窓口です。文字で送ってください。", "direct: the usual greeting");
	free(t);
	ok(apply(&d, "line_mode", "\"strict\""), "the desk turns strict");
	t = render(&d, AUTOREPLY_GREETING, "2026-12-07T10:00:00+09:00", 0);
	is_str(t, "こころの窓口です。下のボタンから。", "strict: its own greeting");
	free(t);
	t = render(&d, AUTOREPLY_BUSY, "2026-12-07T10:00:00+09:00", 0);
	is_str(t, "混んでいます。", "strict: a reply without a strict text keeps its own");
	free(t);
	ok(apply(&d, "autoreply_greeting_strict", "\"\"") &&
	    render(&d, AUTOREPLY_GREETING, "2026-12-07T10:00:00+09:00", 0) == NULL,
	    "strict: an empty strict text turns the reply off");
	ok(!apply(&d, "autoreply_busy_strict", "\"x\""),
	    "no strict text for a reply whose words never ask for LINE");
	ok(apply(&d, "autoreply_crisis", "\"{next_open}から必ずお返事します。\""),
	    "a crisis text that names the next opening");
	t = render(&d, AUTOREPLY_CRISIS, "2026-12-07T19:55:00+09:00", 0);
	is_str(t, "いまから必ずお返事します。",
	    "sent while the desk is open: now, not 19:55");
	free(t);
	t = render(&d, AUTOREPLY_CRISIS, "2026-12-07T20:30:00+09:00", 0);
	is_str(t, "12月8日（火）11:00から必ずお返事します。",
	    "after closing: the next opening");
	free(t);
	desk_settings_free(&d);
}

int
main(void)
{
	test_init();
	test_apply_valid();
	test_apply_invalid();
	test_exceptions();
	test_hours_text();
	test_render();
	test_render_strict();
	return done_testing();
}
