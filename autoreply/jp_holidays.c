/*
 * jp_holidays.c - Japanese national holidays computed by rule, 1949..2099.
 *
 * Each 国民の祝日 is a rule in force over a span of years (the act as amended:
 * Happy Monday from 2000/2003, the renamings of 1989, 2007 and 2020, the
 * Olympic moves of 2020 and 2021); the one-off days of the special laws are
 * a short list. From those the year's 振替休日 and 国民の休日 follow by the
 * act's article 3 as worded at the time. A year's list is recomputed on each
 * call: it costs a few microseconds and needs no cache or lock.
 */
#include "calendar.h"

enum jp_when {
	JP_FIXED,		/* m/d */
	JP_MONDAY,		/* the d-th Monday of month m */
	JP_VERNAL,		/* 春分日, in March */
	JP_AUTUMNAL,		/* 秋分日, in September */
};

struct jp_rule {
	int		 first, last;	/* years in force, inclusive */
	enum jp_when	 when;
	int		 m, d;
	const char	*name;
};

#define JP_IN_FORCE JP_HOLIDAY_YEAR_MAX

static const struct jp_rule jp_rules[] = {
	{ 1949, JP_IN_FORCE, JP_FIXED,	  1,  1, "元日" },
	{ 1949, 1999,	     JP_FIXED,	  1, 15, "成人の日" },
	{ 2000, JP_IN_FORCE, JP_MONDAY,	  1,  2, "成人の日" },
	{ 1967, JP_IN_FORCE, JP_FIXED,	  2, 11, "建国記念の日" },
	{ 2020, JP_IN_FORCE, JP_FIXED,	  2, 23, "天皇誕生日" },
	{ 1949, JP_IN_FORCE, JP_VERNAL,	  3,  0, "春分の日" },
	{ 1949, 1988,	     JP_FIXED,	  4, 29, "天皇誕生日" },
	{ 1989, 2006,	     JP_FIXED,	  4, 29, "みどりの日" },
	{ 2007, JP_IN_FORCE, JP_FIXED,	  4, 29, "昭和の日" },
	{ 1949, JP_IN_FORCE, JP_FIXED,	  5,  3, "憲法記念日" },
	{ 2007, JP_IN_FORCE, JP_FIXED,	  5,  4, "みどりの日" },
	{ 1949, JP_IN_FORCE, JP_FIXED,	  5,  5, "こどもの日" },
	{ 1996, 2002,	     JP_FIXED,	  7, 20, "海の日" },
	{ 2003, 2019,	     JP_MONDAY,	  7,  3, "海の日" },
	/*
	 * The Tokyo Olympics special measures act moved three holidays
	 * to the Games, in 2020 and again for the postponed Games in 2021.
	 */
	{ 2020, 2020,	     JP_FIXED,	  7, 23, "海の日" },
	{ 2020, 2020,	     JP_FIXED,	  7, 24, "スポーツの日" },
	{ 2020, 2020,	     JP_FIXED,	  8, 10, "山の日" },
	{ 2021, 2021,	     JP_FIXED,	  7, 22, "海の日" },
	{ 2021, 2021,	     JP_FIXED,	  7, 23, "スポーツの日" },
	{ 2021, 2021,	     JP_FIXED,	  8,  8, "山の日" },
	{ 2022, JP_IN_FORCE, JP_MONDAY,	  7,  3, "海の日" },
	{ 2016, 2019,	     JP_FIXED,	  8, 11, "山の日" },
	{ 2022, JP_IN_FORCE, JP_FIXED,	  8, 11, "山の日" },
	{ 1966, 2002,	     JP_FIXED,	  9, 15, "敬老の日" },
	{ 2003, JP_IN_FORCE, JP_MONDAY,	  9,  3, "敬老の日" },
	{ 1949, JP_IN_FORCE, JP_AUTUMNAL, 9,  0, "秋分の日" },
	{ 1966, 1999,	     JP_FIXED,	 10, 10, "体育の日" },
	{ 2000, 2019,	     JP_MONDAY,	 10,  2, "体育の日" },
	{ 2022, JP_IN_FORCE, JP_MONDAY,	 10,  2, "スポーツの日" },
	{ 1949, JP_IN_FORCE, JP_FIXED,	 11,  3, "文化の日" },
	{ 1949, JP_IN_FORCE, JP_FIXED,	 11, 23, "勤労感謝の日" },
	/* None in 2019: 12/23 ended with the abdication, 2/23 began in 2020. */
	{ 1989, 2018,	     JP_FIXED,	 12, 23, "天皇誕生日" },
};

/*
 * Days made holidays by their own laws. Those of 2019 count as 国民の祝日
 * for article 3 (hence 国民の休日 on 4/30 and 5/2); the earlier ones were
 * plain 休日, which never mattered as none touched another holiday.
 */
struct jp_day {
	struct cal_date	 date;
	bool		 as_shukujitsu;
	const char	*name;
};

static const struct jp_day jp_days[] = {
	{ { 1959,  4, 10 }, false, "皇太子明仁親王の結婚の儀" },
	{ { 1989,  2, 24 }, false, "昭和天皇の大喪の礼" },
	{ { 1990, 11, 12 }, false, "即位礼正殿の儀" },
	{ { 1993,  6,  9 }, false, "皇太子徳仁親王の結婚の儀" },
	{ { 2019,  5,  1 }, true,  "天皇の即位の日" },
	{ { 2019, 10, 22 }, true,  "即位礼正殿の儀" },
};

/*
 * Article 3 as amended: 振替休日 from 1973-04-12, 国民の休日 from
 * 1985-12-27, and their 2007 wording (振替休日 on the next day that is no
 * 祝日; 国民の休日 no longer excludes Sundays).
 */
static const struct cal_date jp_substitute_from = { 1973, 4, 12 };
static const struct cal_date jp_citizens_from = { 1985, 12, 27 };
#define JP_NEXT_FREE_DAY_FROM 2007

static const char jp_substitute_name[] = "振替休日";
static const char jp_citizens_name[] = "国民の休日";

struct jp_entry {
	struct jp_holiday	 h;
	bool			 shukujitsu;	/* a 国民の祝日 for article 3 */
};

struct jp_year {
	struct jp_entry	 e[JP_HOLIDAYS_MAX];
	size_t		 n;
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int	 jp_equinox_day(int y, bool autumn);
static struct cal_date jp_rule_date(const struct jp_rule *r, int y);
static void	 jp_add(struct jp_year *yr, struct cal_date d, const char *name,
		    bool shukujitsu);
static void	 jp_sort(struct jp_year *yr);
static const struct jp_entry *jp_find(const struct jp_year *yr,
		    struct cal_date d);
static bool	 jp_is_shukujitsu(const struct jp_year *yr, struct cal_date d);
static void	 jp_add_substitutes(struct jp_year *yr, int y);
static void	 jp_add_citizens(struct jp_year *yr, int y);
static void	 jp_compute(int y, struct jp_year *yr);

/*
 * The day of the month of the equinox by the approximation in 新こよみ便利帳
 * (暦計算研究会), with its own constants for 1900-1979 and 1980-2099. In
 * millionths of a day so that no floating-point rounding can move a date;
 * C's truncating division is the formula's int() for 1900-1979, where
 * (y - 1983) / 4 is negative.
 */
static int
jp_equinox_day(int y, bool autumn)
{
	long base, leap;

	if (y < 1980) {
		base = autumn ? 23258800 : 20835700;
		leap = (y - 1983) / 4;
	} else {
		base = autumn ? 23248800 : 20843100;
		leap = (y - 1980) / 4;
	}
	return (int)((base + 242194L * (y - 1980) - 1000000L * leap) / 1000000);
}

static struct cal_date
jp_rule_date(const struct jp_rule *r, int y)
{
	struct cal_date d = { y, r->m, r->d };
	int first_monday;

	switch (r->when) {
	case JP_FIXED:
		break;
	case JP_MONDAY:
		d.d = 1;
		first_monday = 1 + (8 - cal_weekday(d)) % 7;
		d.d = first_monday + 7 * (r->d - 1);
		break;
	case JP_VERNAL:
		d.d = jp_equinox_day(y, false);
		break;
	case JP_AUTUMNAL:
		d.d = jp_equinox_day(y, true);
		break;
	}
	return d;
}

static void
jp_add(struct jp_year *yr, struct cal_date d, const char *name,
    bool shukujitsu)
{
	/* No year comes near; stay in bounds anyway. */
	if (yr->n == JP_HOLIDAYS_MAX)
		return;
	yr->e[yr->n].h.date = d;
	yr->e[yr->n].h.name = name;
	yr->e[yr->n].shukujitsu = shukujitsu;
	yr->n++;
}

/* Insertion sort: a couple of dozen entries, mostly in order already. */
static void
jp_sort(struct jp_year *yr)
{
	for (size_t i = 1; i < yr->n; i++) {
		struct jp_entry x = yr->e[i];
		size_t j = i;

		while (j > 0 &&
		    cal_date_cmp(yr->e[j - 1].h.date, x.h.date) > 0) {
			yr->e[j] = yr->e[j - 1];
			j--;
		}
		yr->e[j] = x;
	}
}

static const struct jp_entry *
jp_find(const struct jp_year *yr, struct cal_date d)
{
	for (size_t i = 0; i < yr->n; i++)
		if (cal_date_cmp(yr->e[i].h.date, d) == 0)
			return &yr->e[i];
	return NULL;
}

static bool
jp_is_shukujitsu(const struct jp_year *yr, struct cal_date d)
{
	const struct jp_entry *e = jp_find(yr, d);

	return e != NULL && e->shukujitsu;
}

/*
 * Article 3(2). 1973-04-12 to 2006: a 祝日 on a Sunday makes the next day a
 * 休日 (if that day is a 祝日 already, nothing more). From 2007: the nearest
 * following day that is not a 祝日, so 5/3 on a Sunday gives 5/6.
 */
static void
jp_add_substitutes(struct jp_year *yr, int y)
{
	size_t n = yr->n;

	for (size_t i = 0; i < n; i++) {
		struct cal_date d = yr->e[i].h.date;

		if (!yr->e[i].shukujitsu || cal_weekday(d) != 0 ||
		    cal_date_cmp(d, jp_substitute_from) < 0)
			continue;
		d = cal_date_add_days(d, 1);
		if (y >= JP_NEXT_FREE_DAY_FROM)
			while (jp_is_shukujitsu(yr, d))
				d = cal_date_add_days(d, 1);
		/* No 祝日 falls on 12/31, so d stays in the year. */
		if (jp_find(yr, d) == NULL)
			jp_add(yr, d, jp_substitute_name, false);
	}
}

/*
 * Article 3(3), from 1985-12-27: a day between two 祝日 that is neither a
 * 祝日 itself nor (until 2006) a Sunday or a 振替休日. Needs the list sorted.
 */
static void
jp_add_citizens(struct jp_year *yr, int y)
{
	size_t n = yr->n;

	for (size_t i = 0; i + 1 < n; i++) {
		struct cal_date mid;

		if (!yr->e[i].shukujitsu)
			continue;
		mid = cal_date_add_days(yr->e[i].h.date, 1);
		if (cal_date_cmp(mid, jp_citizens_from) < 0 ||
		    !jp_is_shukujitsu(yr, cal_date_add_days(mid, 1)) ||
		    jp_find(yr, mid) != NULL ||
		    (y < JP_NEXT_FREE_DAY_FROM && cal_weekday(mid) == 0))
			continue;
		jp_add(yr, mid, jp_citizens_name, false);
	}
}

static void
jp_compute(int y, struct jp_year *yr)
{
	yr->n = 0;
	for (size_t i = 0; i < NELEM(jp_rules); i++)
		if (y >= jp_rules[i].first && y <= jp_rules[i].last)
			jp_add(yr, jp_rule_date(&jp_rules[i], y),
			    jp_rules[i].name, true);
	for (size_t i = 0; i < NELEM(jp_days); i++)
		if (jp_days[i].date.y == y)
			jp_add(yr, jp_days[i].date, jp_days[i].name,
			    jp_days[i].as_shukujitsu);
	jp_sort(yr);
	jp_add_substitutes(yr, y);
	jp_sort(yr);
	jp_add_citizens(yr, y);
	jp_sort(yr);
}

int
jp_holidays(int year, struct jp_holiday *out, size_t max)
{
	struct jp_year yr;

	if (year < JP_HOLIDAY_YEAR_MIN || year > JP_HOLIDAY_YEAR_MAX)
		return -1;
	jp_compute(year, &yr);
	for (size_t i = 0; i < yr.n && i < max; i++)
		out[i] = yr.e[i].h;
	return (int)yr.n;
}

const char *
jp_holiday_name(struct cal_date d)
{
	struct jp_year yr;
	const struct jp_entry *e;

	if (d.y < JP_HOLIDAY_YEAR_MIN || d.y > JP_HOLIDAY_YEAR_MAX)
		return NULL;
	jp_compute(d.y, &yr);
	e = jp_find(&yr, d);
	return e != NULL ? e->h.name : NULL;
}
