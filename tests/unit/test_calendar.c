/*
 * The business calendar: dates in JST, national holidays by rule, and the
 * desk's hours, closures and exceptions.
 *
 * The 2025-2027 holiday lists are written from the Cabinet Office's
 * syukujitsu.csv (内閣府「国民の祝日について」) and its 2027 announcement of
 * 2026-02-02, not from this code's output. The CSV names every 振替休日 and
 * 国民の休日 just "休日"; here they carry the names jp_holidays gives.
 */
#include "calendar.h"
#include "clock.h"
#include "tap.h"

struct want { int m, d; const char *name; };

static const struct want want_2025[] = {
	{ 1, 1, "元日" }, { 1, 13, "成人の日" }, { 2, 11, "建国記念の日" },
	{ 2, 23, "天皇誕生日" }, { 2, 24, "振替休日" }, { 3, 20, "春分の日" },
	{ 4, 29, "昭和の日" }, { 5, 3, "憲法記念日" }, { 5, 4, "みどりの日" },
	{ 5, 5, "こどもの日" }, { 5, 6, "振替休日" }, { 7, 21, "海の日" },
	{ 8, 11, "山の日" }, { 9, 15, "敬老の日" }, { 9, 23, "秋分の日" },
	{ 10, 13, "スポーツの日" }, { 11, 3, "文化の日" },
	{ 11, 23, "勤労感謝の日" }, { 11, 24, "振替休日" },
};

static const struct want want_2026[] = {
	{ 1, 1, "元日" }, { 1, 12, "成人の日" }, { 2, 11, "建国記念の日" },
	{ 2, 23, "天皇誕生日" }, { 3, 20, "春分の日" }, { 4, 29, "昭和の日" },
	{ 5, 3, "憲法記念日" }, { 5, 4, "みどりの日" }, { 5, 5, "こどもの日" },
	{ 5, 6, "振替休日" }, { 7, 20, "海の日" }, { 8, 11, "山の日" },
	{ 9, 21, "敬老の日" }, { 9, 22, "国民の休日" }, { 9, 23, "秋分の日" },
	{ 10, 12, "スポーツの日" }, { 11, 3, "文化の日" },
	{ 11, 23, "勤労感謝の日" },
};

static const struct want want_2027[] = {
	{ 1, 1, "元日" }, { 1, 11, "成人の日" }, { 2, 11, "建国記念の日" },
	{ 2, 23, "天皇誕生日" }, { 3, 21, "春分の日" }, { 3, 22, "振替休日" },
	{ 4, 29, "昭和の日" }, { 5, 3, "憲法記念日" }, { 5, 4, "みどりの日" },
	{ 5, 5, "こどもの日" }, { 7, 19, "海の日" }, { 8, 11, "山の日" },
	{ 9, 20, "敬老の日" }, { 9, 23, "秋分の日" },
	{ 10, 11, "スポーツの日" }, { 11, 3, "文化の日" },
	{ 11, 23, "勤労感謝の日" },
};

static struct cal_date
date(int y, int m, int d)
{
	struct cal_date cd = { y, m, d };

	return cd;
}

/* An ISO-8601 instant in seconds, so the tests read like the README. */
static int64_t
at(const char *iso)
{
	int64_t us;

	if (!clock_parse_iso8601(iso, &us)) {
		printf("# bad time in the test: %s\n", iso);
		return INT64_MIN;
	}
	return us / 1000000;
}

/* t as local ISO-8601, or "-1"; four buffers, so one assertion may use two. */
static const char *
local(int64_t t)
{
	static char buf[4][CAL_LOCAL_ISO_LEN];
	static int next;
	char *b = buf[next++ % 4];

	if (t == -1)
		return "-1";
	cal_format_local(t, b);
	return b;
}

static const char *
name_or_none(const char *name)
{
	return name != NULL ? name : "(none)";
}

static void
test_dates(void)
{
	static const char *const bad[] = { "", "2026-1-01", "2026-13-01",
	    "2026-00-10", "2026-02-29", "2026-04-31", "2026-12-28x",
	    "2026/12/28", "26-12-28", "2026-12-2" };
	struct cal_date d;
	char buf[CAL_LOCAL_ISO_LEN];
	bool all_ok = true;

	ok(cal_date_parse("2024-02-29", &d) && d.y == 2024 && d.m == 2 &&
	    d.d == 29, "parses a leap day");
	ok(cal_date_parse("2026-12-31", &d) && d.m == 12 && d.d == 31,
	    "parses 12/31");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!cal_date_parse(bad[i], &d), "refuses \"%s\"", bad[i]);
	ok(!cal_date_parse("1900-02-29", &d) &&
	    cal_date_parse("2000-02-29", &d), "century leap years");

	is_int(cal_weekday(date(1970, 1, 1)), 4, "1970-01-01 was a Thursday");
	is_int(cal_weekday(date(2026, 12, 28)), 1, "2026-12-28 is a Monday");
	is_int(cal_weekday(date(2027, 1, 3)), 0, "2027-01-03 is a Sunday");
	is_int(cal_weekday(date(1900, 1, 1)), 1, "1900-01-01 was a Monday");
	is_int(cal_weekday(date(1949, 1, 1)), 6, "1949-01-01 was a Saturday");

	d = cal_date_add_days(date(2026, 12, 28), 7);
	ok(cal_date_cmp(d, date(2027, 1, 4)) == 0, "a week after 12/28");
	d = cal_date_add_days(date(2024, 3, 1), -1);
	ok(cal_date_cmp(d, date(2024, 2, 29)) == 0, "3/1 - 1 in a leap year");
	d = cal_date_add_days(date(1970, 1, 1), -1);
	ok(cal_date_cmp(d, date(1969, 12, 31)) == 0, "before the epoch");
	ok(cal_date_cmp(date(2026, 1, 31), date(2026, 2, 1)) < 0 &&
	    cal_date_cmp(date(2027, 1, 1), date(2026, 12, 31)) > 0 &&
	    cal_date_cmp(date(2026, 5, 6), date(2026, 5, 6)) == 0, "cmp");

	/* Each day 1900..2100 is valid, after the last, a weekday on. */
	d = date(1900, 1, 1);
	for (int i = 0; i < 73414 && all_ok; i++) {
		struct cal_date n = cal_date_add_days(d, 1);
		char s[40];
		struct cal_date p;

		snprintf(s, sizeof(s), "%04d-%02d-%02d", n.y % 10000,
		    n.m % 100, n.d % 100);
		all_ok = cal_date_parse(s, &p) && cal_date_cmp(d, n) < 0 &&
		    cal_weekday(n) == (cal_weekday(d) + 1) % 7 &&
		    cal_date_cmp(cal_date_add_days(n, -1), d) == 0;
		d = n;
	}
	ok(all_ok && cal_date_cmp(d, date(2101, 1, 1)) == 0,
	    "day arithmetic is consistent 1900..2100");

	d = cal_date_of(at("2026-12-28T14:59:59Z"));
	ok(cal_date_cmp(d, date(2026, 12, 28)) == 0, "14:59:59Z is 12/28");
	d = cal_date_of(at("2026-12-28T15:00:00Z"));
	ok(cal_date_cmp(d, date(2026, 12, 29)) == 0, "15:00Z is 12/29 in JST");
	ok(cal_date_cmp(cal_date_of(-1), date(1970, 1, 1)) == 0 &&
	    cal_date_cmp(cal_date_of(-32401), date(1969, 12, 31)) == 0,
	    "cal_date_of before the epoch");
	is_int(cal_time_at(date(2026, 12, 28), 20 * 60 + 30), 1798457400,
	    "cal_time_at is JST");
	is_int(cal_time_at(date(1970, 1, 1), 0), -32400,
	    "JST midnight of the epoch");
	is_int(cal_time_at(date(2026, 12, 28), 1440),
	    at("2026-12-29T00:00+09:00"), "minute 1440 is the next midnight");
	cal_format_local(1798457400, buf);
	is_str(buf, "2026-12-28T20:30:00+09:00", "formats local time");
	cal_format_local(-1, buf);
	is_str(buf, "1970-01-01T08:59:59+09:00", "formats before the epoch");
	cal_format_local(at("2026-12-31T15:00:00Z"), buf);
	is_str(buf, "2027-01-01T00:00:00+09:00", "new year in Tokyo");
	cal_format_local(INT64_MAX, buf);
	is_str(buf, "", "a year past 9999 formats as nothing");
}

static void
check_year(int year, const struct want *want, size_t nwant)
{
	struct jp_holiday h[JP_HOLIDAYS_MAX];
	int n = jp_holidays(year, h, JP_HOLIDAYS_MAX);

	is_int(n, nwant, "%d has %zu national holidays", year, nwant);
	for (size_t i = 0; i < nwant && i < (size_t)(n > 0 ? n : 0); i++) {
		ok(h[i].date.y == year && h[i].date.m == want[i].m &&
		    h[i].date.d == want[i].d, "%d holiday %zu is %d/%d",
		    year, i + 1, want[i].m, want[i].d);
		is_str(h[i].name, want[i].name, "%d-%02d-%02d is %s", year,
		    want[i].m, want[i].d, want[i].name);
	}
}

static void
test_official_years(void)
{
	check_year(2025, want_2025, sizeof(want_2025) / sizeof(want_2025[0]));
	check_year(2026, want_2026, sizeof(want_2026) / sizeof(want_2026[0]));
	check_year(2027, want_2027, sizeof(want_2027) / sizeof(want_2027[0]));
}

static void
test_history(void)
{
	static const struct { int y, m, d; const char *name; } days[] = {
		{ 1949, 1, 1, "元日" },
		{ 1949, 1, 15, "成人の日" },
		{ 1959, 4, 10, "皇太子明仁親王の結婚の儀" },
		{ 1965, 9, 15, NULL },
		{ 1966, 9, 15, "敬老の日" },
		{ 1966, 10, 10, "体育の日" },
		{ 1966, 2, 11, NULL },
		{ 1967, 2, 11, "建国記念の日" },
		{ 1973, 2, 12, NULL },		/* 2/11 a Sunday, before 4/12 */
		{ 1973, 4, 29, "天皇誕生日" },
		{ 1973, 4, 30, "振替休日" },	/* the first one */
		{ 1973, 9, 24, "振替休日" },
		{ 1985, 5, 4, NULL },		/* before 1985-12-27 */
		{ 1986, 5, 4, NULL },		/* a Sunday */
		{ 1988, 5, 4, "国民の休日" },
		{ 1988, 4, 29, "天皇誕生日" },
		{ 1989, 2, 24, "昭和天皇の大喪の礼" },
		{ 1989, 4, 29, "みどりの日" },
		{ 1989, 12, 23, "天皇誕生日" },
		{ 1990, 11, 12, "即位礼正殿の儀" },
		{ 1990, 12, 24, "振替休日" },
		{ 1993, 6, 9, "皇太子徳仁親王の結婚の儀" },
		{ 1995, 7, 20, NULL },
		{ 1996, 7, 20, "海の日" },
		{ 1998, 5, 4, "振替休日" },	/* 5/3 a Sunday */
		{ 1999, 1, 15, "成人の日" },
		{ 2000, 1, 10, "成人の日" },
		{ 2000, 1, 15, NULL },
		{ 2000, 10, 9, "体育の日" },
		{ 2002, 9, 15, "敬老の日" },
		{ 2003, 7, 21, "海の日" },
		{ 2003, 9, 15, "敬老の日" },
		{ 2006, 5, 4, "国民の休日" },
		{ 2007, 4, 29, "昭和の日" },
		{ 2007, 5, 4, "みどりの日" },
		{ 2008, 5, 6, "振替休日" },	/* 5/4 a Sunday: past 5/5 */
		{ 2009, 9, 22, "国民の休日" },
		{ 2015, 8, 11, NULL },
		{ 2016, 8, 11, "山の日" },
		{ 2018, 12, 23, "天皇誕生日" },
		{ 2018, 12, 24, "振替休日" },
		{ 2019, 2, 23, NULL },
		{ 2019, 4, 29, "昭和の日" },
		{ 2019, 4, 30, "国民の休日" },
		{ 2019, 5, 1, "天皇の即位の日" },
		{ 2019, 5, 2, "国民の休日" },
		{ 2019, 5, 6, "振替休日" },
		{ 2019, 10, 14, "体育の日" },
		{ 2019, 10, 22, "即位礼正殿の儀" },
		{ 2019, 12, 23, NULL },
		{ 2020, 2, 23, "天皇誕生日" },
		{ 2020, 2, 24, "振替休日" },
		{ 2020, 7, 20, NULL },
		{ 2020, 7, 23, "海の日" },
		{ 2020, 7, 24, "スポーツの日" },
		{ 2020, 8, 10, "山の日" },
		{ 2020, 8, 11, NULL },
		{ 2020, 10, 12, NULL },
		{ 2021, 7, 19, NULL },
		{ 2021, 7, 22, "海の日" },
		{ 2021, 7, 23, "スポーツの日" },
		{ 2021, 8, 8, "山の日" },
		{ 2021, 8, 9, "振替休日" },
		{ 2021, 8, 11, NULL },
		{ 2021, 10, 11, NULL },
		{ 2022, 10, 10, "スポーツの日" },
		{ 2024, 9, 23, "振替休日" },
		/* Equinox days, as published or as the observatory computes. */
		{ 1951, 9, 24, "秋分の日" },
		{ 1979, 9, 24, "秋分の日" },
		{ 1960, 3, 20, "春分の日" },
		{ 2012, 9, 22, "秋分の日" },
		{ 2030, 3, 20, "春分の日" },
		{ 2030, 9, 23, "秋分の日" },
		{ 2044, 9, 22, "秋分の日" },
		{ 2050, 3, 20, "春分の日" },
		{ 2050, 9, 23, "秋分の日" },
		{ 2092, 3, 19, "春分の日" },
		{ 2099, 3, 20, "春分の日" },
		{ 2099, 9, 23, "秋分の日" },
	};
	struct jp_holiday h[JP_HOLIDAYS_MAX], sentinel = { { 0, 0, 0 }, "x" };

	for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		const char *got = jp_holiday_name(date(days[i].y, days[i].m,
		    days[i].d));

		is_str(name_or_none(got), name_or_none(days[i].name),
		    "%d-%02d-%02d", days[i].y, days[i].m, days[i].d);
	}

	is_int(jp_holidays(1948, h, JP_HOLIDAYS_MAX), -1, "1948 is refused");
	is_int(jp_holidays(2100, h, JP_HOLIDAYS_MAX), -1, "2100 is refused");
	ok(jp_holiday_name(date(1948, 11, 3)) == NULL &&
	    jp_holiday_name(date(2100, 1, 1)) == NULL,
	    "no names outside 1949..2099");
	is_int(jp_holidays(1949, h, JP_HOLIDAYS_MAX), 9, "1949 has 9");
	is_int(jp_holidays(2019, h, JP_HOLIDAYS_MAX), 22, "2019 has 22");
	is_int(jp_holidays(2026, NULL, 0), 18, "counting without a buffer");
	h[3] = sentinel;
	ok(jp_holidays(2026, h, 3) == 18 && h[2].date.m == 2 &&
	    h[2].date.d == 11 && h[3].name == sentinel.name,
	    "a short buffer gets the first max and the full count");
}

/* Which holidays may appear in which years, independent of the rule list. */
static bool
law_allows(const char *name, struct cal_date d)
{
	static const struct { const char *name; int first, last; } law[] = {
		{ "元日", 1949, 2099 }, { "成人の日", 1949, 2099 },
		{ "建国記念の日", 1967, 2099 }, { "春分の日", 1949, 2099 },
		{ "昭和の日", 2007, 2099 }, { "憲法記念日", 1949, 2099 },
		{ "こどもの日", 1949, 2099 }, { "海の日", 1996, 2099 },
		{ "山の日", 2016, 2099 }, { "敬老の日", 1966, 2099 },
		{ "秋分の日", 1949, 2099 }, { "体育の日", 1966, 2019 },
		{ "スポーツの日", 2020, 2099 }, { "文化の日", 1949, 2099 },
		{ "勤労感謝の日", 1949, 2099 },
		{ "振替休日", 1973, 2099 }, { "国民の休日", 1986, 2099 },
	};
	int w = cal_weekday(d);

	if (strcmp(name, "天皇誕生日") == 0)
		return (d.m == 4 && d.d == 29 && d.y <= 1988) ||
		    (d.m == 12 && d.d == 23 && d.y >= 1989 && d.y <= 2018) ||
		    (d.m == 2 && d.d == 23 && d.y >= 2020);
	if (strcmp(name, "みどりの日") == 0)
		return (d.m == 4 && d.d == 29 && d.y >= 1989 && d.y <= 2006) ||
		    (d.m == 5 && d.d == 4 && d.y >= 2007);
	if (strcmp(name, "成人の日") == 0 && d.y >= 2000 &&
	    (w != 1 || d.d < 8 || d.d > 14))
		return false;
	if (strcmp(name, "振替休日") == 0 &&
	    (cal_date_cmp(d, date(1973, 4, 12)) < 0 || (d.y < 2007 && w != 1)))
		return false;
	if (strcmp(name, "国民の休日") == 0 && w == 0)
		return false;
	for (size_t i = 0; i < sizeof(law) / sizeof(law[0]); i++)
		if (strcmp(name, law[i].name) == 0)
			return d.y >= law[i].first && d.y <= law[i].last;
	/* The one-off days. */
	return d.y == 1959 || d.y == 1989 || d.y == 1990 || d.y == 1993 ||
	    d.y == 2019;
}

static void
test_all_years(void)
{
	bool sorted = true, named = true, lawful = true, lookup = true;
	bool sunday = true;
	int total = 0;

	for (int y = JP_HOLIDAY_YEAR_MIN; y <= JP_HOLIDAY_YEAR_MAX; y++) {
		struct jp_holiday h[JP_HOLIDAYS_MAX];
		int n = jp_holidays(y, h, JP_HOLIDAYS_MAX);

		if (n < 9 || n > JP_HOLIDAYS_MAX) {
			ok(false, "%d has %d holidays", y, n);
			continue;
		}
		total += n;
		for (int i = 0; i < n; i++) {
			struct cal_date d = h[i].date;

			if (d.y != y ||
			    (i > 0 && cal_date_cmp(h[i - 1].date, d) >= 0)) {
				sorted = false;
				printf("# %d: entry %d out of order\n", y, i);
			}
			if (h[i].name == NULL || h[i].name[0] == '\0')
				named = false;
			else if (!law_allows(h[i].name, d)) {
				lawful = false;
				printf("# %d-%02d-%02d %s outside its law\n",
				    d.y, d.m, d.d, h[i].name);
			}
			if (jp_holiday_name(d) != h[i].name)
				lookup = false;
			/* From 1973-04-12 a Sunday 祝日 gets a day off. */
			if (cal_weekday(d) == 0 &&
			    cal_date_cmp(d, date(1973, 4, 12)) >= 0 &&
			    strcmp(h[i].name, "振替休日") != 0) {
				struct cal_date x = cal_date_add_days(d, 1);

				while (jp_holiday_name(x) != NULL &&
				    strcmp(jp_holiday_name(x), "振替休日") != 0)
					x = cal_date_add_days(x, 1);
				if (jp_holiday_name(x) == NULL)
					sunday = false;
			}
		}
	}
	ok(sorted, "1949..2099: each year sorted by date, no date twice");
	ok(named, "1949..2099: every holiday has a name");
	ok(lawful, "1949..2099: no holiday outside its legal years");
	ok(lookup, "1949..2099: jp_holiday_name agrees with jp_holidays");
	ok(sunday, "1973..2099: every Sunday holiday has its 振替休日");
	ok(total > 151 * 9, "1949..2099: %d holidays in all", total);
}

/* Short names for the calendar questions, each asked at a written instant. */
static bool
open_at(const struct calendar *cal, const char *iso)
{
	return calendar_is_open(cal, at(iso));
}

static const char *
next_open(const struct calendar *cal, const char *iso)
{
	return local(calendar_next_open(cal, at(iso)));
}

static const char *
closed_since(const struct calendar *cal, const char *iso)
{
	return local(calendar_closed_since(cal, at(iso)));
}

static const char *
reply_due(const struct calendar *cal, const char *iso)
{
	return local(calendar_reply_due(cal, at(iso)));
}

static const char *
plus(const struct calendar *cal, const char *iso, int64_t minutes)
{
	return local(calendar_add_business_minutes(cal, at(iso), minutes));
}

static bool
business(const struct calendar *cal, int y, int m, int d)
{
	return calendar_business_day(cal, date(y, m, d), NULL, NULL);
}

static bool
hours_are(const struct calendar *cal, int y, int m, int d, int open,
    int close)
{
	int o = -2, c = -2;

	return calendar_business_day(cal, date(y, m, d), &o, &c) &&
	    o == open && c == close;
}

static void
test_defaults(void)
{
	struct calendar cal;

	calendar_defaults(&cal);
	/* 2026-06-12 is a Friday, 06-15 a Monday; no holidays near. */
	ok(open_at(&cal, "2026-06-12T19:59:59+09:00"), "open Friday 19:59:59");
	ok(!open_at(&cal, "2026-06-12T20:00+09:00"), "closed Friday 20:00");
	ok(!open_at(&cal, "2026-06-15T10:59:59+09:00"), "closed Monday 10:59");
	ok(open_at(&cal, "2026-06-15T11:00+09:00"), "open Monday 11:00");
	ok(!open_at(&cal, "2026-06-13T12:00+09:00"), "closed on a Saturday");
	ok(hours_are(&cal, 2026, 6, 12, 660, 1200), "Friday is 11:00-20:00");

	is_str(next_open(&cal, "2026-06-15T12:00+09:00"),
	    "2026-06-15T12:00:00+09:00", "next_open when open is now");
	is_str(next_open(&cal, "2026-06-15T08:00+09:00"),
	    "2026-06-15T11:00:00+09:00", "next_open early in the morning");
	is_str(next_open(&cal, "2026-06-13T12:00+09:00"),
	    "2026-06-15T11:00:00+09:00", "next_open from a Saturday");
	is_str(closed_since(&cal, "2026-06-13T12:00+09:00"),
	    "2026-06-12T20:00:00+09:00", "Saturday noon: closed since Friday");
	is_str(closed_since(&cal, "2026-06-15T10:00+09:00"),
	    "2026-06-12T20:00:00+09:00", "Monday 10:00: still since Friday");
	is_str(closed_since(&cal, "2026-06-12T20:00+09:00"),
	    "2026-06-12T20:00:00+09:00", "closed since the very close");
	is_str(closed_since(&cal, "2026-06-15T11:00+09:00"), "-1",
	    "closed_since is -1 when open");
	is_str(reply_due(&cal, "2026-06-12T15:00+09:00"),
	    "2026-06-15T20:00:00+09:00", "Friday 15:00: reply by Monday 20:00");
	is_str(reply_due(&cal, "2026-06-13T01:00+09:00"),
	    "2026-06-15T20:00:00+09:00", "Saturday: reply by Monday 20:00");

	/* 2026-07-20 is 海の日, a Monday. */
	ok(open_at(&cal, "2026-07-17T19:00+09:00"),
	    "open the day before a holiday");
	ok(!business(&cal, 2026, 7, 20), "closed on 海の日");
	is_str(reply_due(&cal, "2026-07-17T15:00+09:00"),
	    "2026-07-21T20:00:00+09:00", "Friday before 海の日: Tuesday 20:00");
	is_str(next_open(&cal, "2026-07-17T20:00+09:00"),
	    "2026-07-21T11:00:00+09:00", "next_open over a long weekend");

	/* 2026-05-06 (Wednesday) is the 振替休日 for 5/3. */
	ok(!business(&cal, 2026, 5, 6), "closed on a 振替休日");
	is_str(name_or_none(calendar_holiday_name(&cal, date(2026, 5, 6))),
	    "振替休日", "calendar_holiday_name without exceptions");
	is_str(next_open(&cal, "2026-05-06T12:00+09:00"),
	    "2026-05-07T11:00:00+09:00", "next_open after a 振替休日");
	is_str(closed_since(&cal, "2026-05-06T12:00+09:00"),
	    "2026-05-01T20:00:00+09:00", "closed since before Golden Week");
	/* 2026-09-22 is 国民の休日. */
	ok(!business(&cal, 2026, 9, 22), "closed on 国民の休日");

	/* The new-year closure, 12/29..1/3. */
	is_str(next_open(&cal, "2026-12-28T20:30+09:00"),
	    "2027-01-04T11:00:00+09:00", "12/28 20:30: next open 1/4 11:00");
	is_str(reply_due(&cal, "2026-12-28T20:30+09:00"),
	    "2027-01-04T20:00:00+09:00", "12/28 20:30: reply by 1/4 20:00");
	is_str(reply_due(&cal, "2026-12-28T10:00+09:00"),
	    "2027-01-04T20:00:00+09:00", "12/28 10:00: reply by 1/4 20:00 too");
	ok(!business(&cal, 2026, 12, 31) &&
	    !open_at(&cal, "2026-12-31T12:00+09:00"),
	    "closed on 12/31, a Thursday");
	ok(calendar_holiday_name(&cal, date(2026, 12, 31)) == NULL,
	    "a closure is no holiday");
	ok(!business(&cal, 2026, 12, 29) && !business(&cal, 2027, 1, 3) &&
	    business(&cal, 2027, 1, 4), "the closure's ends are inclusive");
	is_str(closed_since(&cal, "2027-01-02T12:00+09:00"),
	    "2026-12-28T20:00:00+09:00", "new year: closed since 12/28");
	is_str(next_open(&cal, "2026-12-31T15:00:00Z"),
	    "2027-01-04T11:00:00+09:00", "next_open at the JST new year");
}

static void
test_business_minutes(void)
{
	struct calendar cal;
	int64_t t = at("2026-06-12T11:00+09:00");

	calendar_defaults(&cal);
	is_str(plus(&cal, "2026-06-12T11:00+09:00", 0),
	    "2026-06-12T11:00:00+09:00", "+0 is t");
	is_str(plus(&cal, "2026-06-12T11:00+09:00", 540),
	    "2026-06-12T20:00:00+09:00", "a full day ends at the close");
	is_str(plus(&cal, "2026-06-12T11:00+09:00", 541),
	    "2026-06-15T11:01:00+09:00", "one minute more is Monday");
	is_str(plus(&cal, "2026-06-12T19:00+09:00", 120),
	    "2026-06-15T12:00:00+09:00", "across a weekend");
	is_str(plus(&cal, "2026-06-13T09:00+09:00", 1),
	    "2026-06-15T11:01:00+09:00", "from a closed Saturday");
	is_str(plus(&cal, "2026-06-15T11:00+09:00", 5 * 540),
	    "2026-06-19T20:00:00+09:00", "a business week");
	is_str(plus(&cal, "2026-12-28T19:30+09:00", 60),
	    "2027-01-04T11:30:00+09:00", "across the new-year closure");
	is_str(plus(&cal, "2026-07-17T19:50:30+09:00", 10),
	    "2026-07-21T11:00:30+09:00", "seconds carry, across 海の日");
	is_int(calendar_add_business_minutes(&cal, t, -1), -1,
	    "n < 0 is refused");
	ok(calendar_add_business_minutes(&cal, t, 245 * 540) > 0,
	    "a year of business minutes");
	is_int(calendar_add_business_minutes(&cal, t, INT64_MAX), -1,
	    "an absurd n is refused, not overflowed");
}

static void
test_exceptions(void)
{
	static const struct cal_exception ex[] = {
		/* A Saturday with the usual hours, a Sunday with its own. */
		{ { 2026, 6, 13 }, CAL_OPEN, -1, -1, NULL },
		{ { 2026, 6, 14 }, CAL_OPEN, 13 * 60, 17 * 60, NULL },
		/* A Wednesday closed; a Thursday both: closed wins. */
		{ { 2026, 6, 17 }, CAL_CLOSED, 0, 0, NULL },
		{ { 2026, 6, 18 }, CAL_OPEN, -1, -1, NULL },
		{ { 2026, 6, 18 }, CAL_CLOSED, 0, 0, NULL },
		{ { 2026, 6, 24 }, CAL_HOLIDAY_ADD, 0, 0, "新しい祝日" },
		{ { 2026, 7, 20 }, CAL_HOLIDAY_CANCEL, 0, 0, NULL },
		/* Open on 敬老の日, in the closure, and for no time. */
		{ { 2026, 9, 21 }, CAL_OPEN, -1, -1, NULL },
		{ { 2026, 12, 30 }, CAL_OPEN, 10 * 60, 15 * 60, NULL },
		{ { 2026, 8, 4 }, CAL_OPEN, 15 * 60, 15 * 60, NULL },
	};
	struct calendar cal;

	calendar_defaults(&cal);
	cal.exceptions = ex;
	cal.nexceptions = sizeof(ex) / sizeof(ex[0]);

	ok(hours_are(&cal, 2026, 6, 13, 660, 1200),
	    "CAL_OPEN Saturday gets Monday's hours");
	ok(open_at(&cal, "2026-06-13T12:00+09:00"), "open that Saturday noon");
	is_str(reply_due(&cal, "2026-06-12T15:00+09:00"),
	    "2026-06-13T20:00:00+09:00", "reply due on the opened Saturday");
	is_str(closed_since(&cal, "2026-06-13T10:00+09:00"),
	    "2026-06-12T20:00:00+09:00", "closed since Friday before it opens");
	ok(hours_are(&cal, 2026, 6, 14, 780, 1020),
	    "CAL_OPEN Sunday with its own hours");
	is_str(closed_since(&cal, "2026-06-14T12:00+09:00"),
	    "2026-06-13T20:00:00+09:00", "closed since the opened Saturday");
	ok(!business(&cal, 2026, 6, 17), "CAL_CLOSED on a Wednesday");
	is_str(next_open(&cal, "2026-06-16T20:00+09:00"),
	    "2026-06-19T11:00:00+09:00", "next_open skips Wed and Thu");
	ok(!business(&cal, 2026, 6, 18), "CAL_CLOSED wins over CAL_OPEN");
	is_str(name_or_none(calendar_holiday_name(&cal, date(2026, 6, 24))),
	    "新しい祝日", "CAL_HOLIDAY_ADD names the day");
	ok(!business(&cal, 2026, 6, 24), "and the desk closes for it");
	ok(calendar_holiday_name(&cal, date(2026, 7, 20)) == NULL &&
	    jp_holiday_name(date(2026, 7, 20)) != NULL,
	    "CAL_HOLIDAY_CANCEL removes 海の日");
	ok(hours_are(&cal, 2026, 7, 20, 660, 1200),
	    "and the desk opens that Monday");
	ok(hours_are(&cal, 2026, 9, 21, 660, 1200), "CAL_OPEN on 敬老の日");
	ok(!business(&cal, 2026, 9, 22), "but not on the 国民の休日 after it");
	ok(hours_are(&cal, 2026, 12, 30, 600, 900),
	    "CAL_OPEN inside the new-year closure");
	is_str(next_open(&cal, "2026-12-28T20:30+09:00"),
	    "2026-12-30T10:00:00+09:00", "next_open finds it");
	is_str(plus(&cal, "2026-12-28T19:30+09:00", 60),
	    "2026-12-30T10:30:00+09:00", "and business minutes count it");
	ok(!business(&cal, 2026, 8, 4), "empty CAL_OPEN hours: closed");

	cal.closed_on_holidays = false;
	ok(business(&cal, 2026, 5, 6),
	    "open on a 振替休日 when holidays do not close the desk");
	ok(!business(&cal, 2026, 5, 3), "but not on a Sunday");
}

static void
test_odd_calendars(void)
{
	static const struct cal_exception one_day[] = {
		{ { 2028, 11, 8 }, CAL_OPEN, 9 * 60, 10 * 60, NULL },
	};
	static const struct cal_exception far_apart[] = {
		{ { 2026, 12, 29 }, CAL_OPEN, 9 * 60, 10 * 60, NULL },
		{ { 2029, 5, 1 }, CAL_OPEN, 9 * 60, 10 * 60, NULL },
	};
	static const char now[] = "2026-12-28T20:30+09:00";
	struct calendar cal;

	memset(&cal, 0, sizeof(cal));
	ok(!open_at(&cal, now), "no hours: never open");
	is_str(next_open(&cal, now), "-1", "no hours: next_open -1");
	is_str(closed_since(&cal, now), "-1", "no hours: closed_since -1");
	is_str(reply_due(&cal, now), "-1", "no hours: reply_due -1");
	is_str(plus(&cal, now, 1), "-1", "no hours: add_business_minutes -1");

	/* One open hour 681 days on is within reach; 891 days on is not. */
	cal.exceptions = one_day;
	cal.nexceptions = 1;
	is_str(next_open(&cal, now), "2028-11-08T09:00:00+09:00",
	    "a single open day 681 days away is found");
	is_str(plus(&cal, now, 60), "2028-11-08T10:00:00+09:00",
	    "and its hour can be used");
	is_str(plus(&cal, now, 61), "-1", "but nothing after it");
	is_str(next_open(&cal, "2026-06-01T00:00+09:00"), "-1",
	    "891 days away is too far");
	is_str(closed_since(&cal, "2029-01-01T00:00+09:00"),
	    "2028-11-08T10:00:00+09:00", "closed_since looks back to it");

	/* Two open hours 853 days apart: the walk stops at the gap. */
	cal.exceptions = far_apart;
	cal.nexceptions = 2;
	is_str(plus(&cal, now, 60), "2026-12-29T10:00:00+09:00",
	    "the first open hour");
	is_str(plus(&cal, now, 61), "-1",
	    "no open time for 800 days after it: -1");
	is_str(next_open(&cal, "2026-12-29T10:00+09:00"), "-1",
	    "next_open does not reach the second");

	/* Closed all year by a closure. */
	calendar_defaults(&cal);
	cal.closures[0] = (struct cal_closure){ 1, 1, 12, 31 };
	is_str(next_open(&cal, now), "-1", "a year-long closure: -1");

	/* Weekends round the clock: close 1440 meets the next day's 0. */
	memset(&cal, 0, sizeof(cal));
	cal.hours[6][0] = 0;
	cal.hours[6][1] = 1440;
	cal.hours[0][0] = 0;
	cal.hours[0][1] = 1440;
	ok(open_at(&cal, "2026-06-13T23:59:59+09:00") &&
	    open_at(&cal, "2026-06-14T00:00+09:00"),
	    "open through Saturday midnight");
	is_str(plus(&cal, "2026-06-13T23:00+09:00", 120),
	    "2026-06-14T01:00:00+09:00", "minutes run on past midnight");
	is_str(closed_since(&cal, "2026-06-15T09:00+09:00"),
	    "2026-06-15T00:00:00+09:00", "closed since Sunday's 24:00");

	/* A summer closure that does not wrap, and nonsense hours. */
	calendar_defaults(&cal);
	cal.closures[1] = (struct cal_closure){ 8, 13, 8, 16 };
	cal.nclosures = 2;
	cal.hours[2][0] = -5;
	ok(!business(&cal, 2026, 8, 14) && business(&cal, 2026, 8, 12) &&
	    business(&cal, 2026, 8, 17), "an August closure");
	ok(!business(&cal, 2026, 8, 18), "hours outside 0..1440 close the day");
	is_int(calendar_next_open(&cal, INT64_MAX), -1,
	    "an absurd instant is refused");
	is_int(calendar_reply_due(&cal, INT64_MIN), -1,
	    "and so is its opposite");
}

int
main(void)
{
	test_dates();
	test_official_years();
	test_history();
	test_all_years();
	test_defaults();
	test_business_minutes();
	test_exceptions();
	test_odd_calendars();
	return done_testing();
}
