/*
 * calendar.c - dates in the desk's zone and the desk's business hours.
 *
 * Dates go to and from a day count with the days-from-civil arithmetic
 * (proleptic Gregorian, day 0 = 1970-01-01), and the zone is a fixed
 * +09:00 (see calendar.h), so neither localtime, mktime nor TZ is used and
 * every machine gives the same answers. The searches walk one local day at
 * a time; a day is a business day or not, with at most one open period.
 */
#include "calendar.h"

#include <stdio.h>

#define CAL_DAY_S	86400

static int64_t	 cal_days(struct cal_date d);
static struct cal_date cal_civil(int64_t days);
static bool	 cal_digits(const char *s, int n, int *out);
static bool	 cal_valid(struct cal_date d);
static bool	 cal_t_ok(int64_t t);
static bool	 cal_hours(int open, int close, int *open_min, int *close_min);
static bool	 cal_in_closure(const struct calendar *cal, struct cal_date d);
static bool	 cal_period(const struct calendar *cal, struct cal_date d,
		    int64_t *start, int64_t *end);

/* Days since 1970-01-01 (H. Hinnant's days_from_civil). */
static int64_t
cal_days(struct cal_date d)
{
	int64_t y = (int64_t)d.y - (d.m <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (int64_t)(d.m > 2 ? d.m - 3 : d.m + 9) + 2) / 5 +
	    d.d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* The inverse of cal_days (civil_from_days). */
static struct cal_date
cal_civil(int64_t days)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	struct cal_date d;

	d.y = (int)(yoe + era * 400 + (m <= 2));
	d.m = (int)m;
	d.d = (int)(doy - (153 * mp + 2) / 5 + 1);
	return d;
}

static bool
cal_digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool
cal_valid(struct cal_date d)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	bool leap = (d.y % 4 == 0 && d.y % 100 != 0) || d.y % 400 == 0;

	if (d.m < 1 || d.m > 12 || d.d < 1 || d.d > mdays[d.m - 1])
		return false;
	return d.m != 2 || d.d < 29 || leap;
}

bool
cal_date_parse(const char *s, struct cal_date *out)
{
	struct cal_date d;

	if (s == NULL || !cal_digits(s, 4, &d.y) || s[4] != '-' ||
	    !cal_digits(s + 5, 2, &d.m) || s[7] != '-' ||
	    !cal_digits(s + 8, 2, &d.d) || s[10] != '\0' || !cal_valid(d))
		return false;
	*out = d;
	return true;
}

int
cal_weekday(struct cal_date d)
{
	/* 1970-01-01 was a Thursday. */
	int64_t w = (cal_days(d) + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

struct cal_date
cal_date_add_days(struct cal_date d, int days)
{
	return cal_civil(cal_days(d) + days);
}

int
cal_date_cmp(struct cal_date a, struct cal_date b)
{
	if (a.y != b.y)
		return a.y < b.y ? -1 : 1;
	if (a.m != b.m)
		return a.m < b.m ? -1 : 1;
	if (a.d != b.d)
		return a.d < b.d ? -1 : 1;
	return 0;
}

struct cal_date
cal_date_of(int64_t t)
{
	int64_t days = t / CAL_DAY_S, secs = t % CAL_DAY_S;

	/* Floor by hand; adding the offset to t first could overflow. */
	if (secs < 0) {
		secs += CAL_DAY_S;
		days--;
	}
	if (secs + CAL_UTC_OFFSET >= CAL_DAY_S)
		days++;
	return cal_civil(days);
}

int64_t
cal_time_at(struct cal_date d, int minute_of_day)
{
	return cal_days(d) * CAL_DAY_S + (int64_t)minute_of_day * 60 -
	    CAL_UTC_OFFSET;
}

void
cal_format_local(int64_t t, char buf[CAL_LOCAL_ISO_LEN])
{
	struct cal_date d;
	int64_t s;

	if (t < cal_time_at((struct cal_date){ 0, 1, 1 }, 0) ||
	    t >= cal_time_at((struct cal_date){ 10000, 1, 1 }, 0)) {
		buf[0] = '\0';
		return;
	}
	d = cal_date_of(t);
	s = t - cal_time_at(d, 0);
	/* The moduli change nothing; they show the compiler the widths. */
	snprintf(buf, CAL_LOCAL_ISO_LEN, "%04u-%02u-%02uT%02u:%02u:%02u+09:00",
	    (unsigned)d.y % 10000u, (unsigned)d.m % 100u, (unsigned)d.d % 100u,
	    (unsigned)(s / 3600) % 100u, (unsigned)(s / 60 % 60) % 100u,
	    (unsigned)(s % 60) % 100u);
}

void
calendar_defaults(struct calendar *cal)
{
	*cal = (struct calendar){ .closed_on_holidays = true };
	for (int wd = 1; wd <= 5; wd++) {
		cal->hours[wd][0] = 11 * 60;
		cal->hours[wd][1] = 20 * 60;
	}
	cal->closures[0] = (struct cal_closure){ 12, 29, 1, 3 };
	cal->nclosures = 1;
}

/* Years 1000..8999 leave the day arithmetic far from any overflow. */
static bool
cal_t_ok(int64_t t)
{
	return t >= cal_time_at((struct cal_date){ 1000, 1, 1 }, 0) &&
	    t < cal_time_at((struct cal_date){ 9000, 1, 1 }, 0);
}

static bool
cal_hours(int open, int close, int *open_min, int *close_min)
{
	if (open < 0 || open >= close || close > 1440)
		return false;
	if (open_min != NULL)
		*open_min = open;
	if (close_min != NULL)
		*close_min = close;
	return true;
}

static bool
cal_in_closure(const struct calendar *cal, struct cal_date d)
{
	size_t n = cal->nclosures < CAL_CLOSURES_MAX ? cal->nclosures :
	    CAL_CLOSURES_MAX;
	int key = d.m * 100 + d.d;

	for (size_t i = 0; i < n; i++) {
		const struct cal_closure *c = &cal->closures[i];
		int from = c->from_m * 100 + c->from_d;
		int to = c->to_m * 100 + c->to_d;

		if (from <= to ? key >= from && key <= to :
		    key >= from || key <= to)
			return true;
	}
	return false;
}

const char *
calendar_holiday_name(const struct calendar *cal, struct cal_date d)
{
	bool cancelled = false;

	for (size_t i = 0; cal->exceptions != NULL && i < cal->nexceptions;
	    i++) {
		const struct cal_exception *ex = &cal->exceptions[i];

		if (cal_date_cmp(ex->date, d) != 0)
			continue;
		if (ex->kind == CAL_HOLIDAY_ADD)
			return ex->name != NULL ? ex->name : "休日";
		if (ex->kind == CAL_HOLIDAY_CANCEL)
			cancelled = true;
	}
	return cancelled ? NULL : jp_holiday_name(d);
}

bool
calendar_business_day(const struct calendar *cal, struct cal_date d,
    int *open_min, int *close_min)
{
	const struct cal_exception *open = NULL;
	int wd = cal_weekday(d);

	for (size_t i = 0; cal->exceptions != NULL && i < cal->nexceptions;
	    i++) {
		const struct cal_exception *ex = &cal->exceptions[i];

		if (cal_date_cmp(ex->date, d) != 0)
			continue;
		if (ex->kind == CAL_CLOSED)
			return false;
		if (ex->kind == CAL_OPEN && open == NULL)
			open = ex;
	}
	if (open != NULL) {
		if (open->open_min != -1 || open->close_min != -1)
			return cal_hours(open->open_min, open->close_min,
			    open_min, close_min);
		return cal_hours(cal->hours[wd][0], cal->hours[wd][1],
		    open_min, close_min) ||
		    cal_hours(cal->hours[1][0], cal->hours[1][1],
		    open_min, close_min);
	}
	if (cal_in_closure(cal, d))
		return false;
	if (cal->closed_on_holidays && calendar_holiday_name(cal, d) != NULL)
		return false;
	return cal_hours(cal->hours[wd][0], cal->hours[wd][1], open_min,
	    close_min);
}

/* Local day d's open period as instants; false if d is no business day. */
static bool
cal_period(const struct calendar *cal, struct cal_date d, int64_t *start,
    int64_t *end)
{
	int open, close;

	if (!calendar_business_day(cal, d, &open, &close))
		return false;
	*start = cal_time_at(d, open);
	*end = cal_time_at(d, close);
	return true;
}

bool
calendar_is_open(const struct calendar *cal, int64_t t)
{
	int64_t start, end;

	return cal_t_ok(t) && cal_period(cal, cal_date_of(t), &start, &end) &&
	    start <= t && t < end;
}

int64_t
calendar_next_open(const struct calendar *cal, int64_t t)
{
	struct cal_date d = cal_date_of(t);
	int64_t start, end;

	if (!cal_t_ok(t))
		return -1;
	for (int i = 0; i <= CAL_SEARCH_DAYS; i++, d = cal_date_add_days(d, 1))
		if (cal_period(cal, d, &start, &end) && t < end)
			return t > start ? t : start;
	return -1;
}

int64_t
calendar_closed_since(const struct calendar *cal, int64_t t)
{
	struct cal_date d = cal_date_of(t);
	int64_t start, end;

	if (!cal_t_ok(t) || calendar_is_open(cal, t))
		return -1;
	for (int i = 0; i <= CAL_SEARCH_DAYS; i++, d = cal_date_add_days(d, -1))
		if (cal_period(cal, d, &start, &end) && end <= t)
			return end;
	return -1;
}

int64_t
calendar_reply_due(const struct calendar *cal, int64_t t)
{
	struct cal_date d = cal_date_of(t);
	int64_t start, end;

	if (!cal_t_ok(t))
		return -1;
	for (int i = 1; i <= CAL_SEARCH_DAYS; i++) {
		d = cal_date_add_days(d, 1);
		if (cal_period(cal, d, &start, &end))
			return end;
	}
	return -1;
}

int64_t
calendar_add_business_minutes(const struct calendar *cal, int64_t t,
    int64_t n)
{
	struct cal_date d = cal_date_of(t);
	int64_t left, start, end, from;
	int idle = 0;

	/* Past the walk's limit n cannot fit, and n * 60 cannot overflow. */
	if (!cal_t_ok(t) || n < 0 || n > (int64_t)CAL_WALK_DAYS_MAX * 1440)
		return -1;
	if (n == 0)
		return t;
	left = n * 60;
	for (int i = 0; i <= CAL_WALK_DAYS_MAX;
	    i++, d = cal_date_add_days(d, 1)) {
		if (!cal_period(cal, d, &start, &end) || end <= t) {
			if (++idle > CAL_SEARCH_DAYS)
				return -1;
			continue;
		}
		idle = 0;
		from = t > start ? t : start;
		if (left <= end - from)
			return from + left;
		left -= end - from;
	}
	return -1;
}
