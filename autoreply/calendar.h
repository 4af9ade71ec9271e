/*
 * calendar.h - the desk's business calendar: dates in the desk's zone,
 * Japanese national holidays computed from the law (jp_holidays.c), and the
 * desk's weekly hours, annual closures and dated exceptions (calendar.c).
 *
 * Time is Asia/Tokyo as a fixed UTC+09:00: Japan has kept no daylight
 * saving time since 1951, so a fixed offset is exact for every date the desk
 * can see, and no answer depends on the machine's TZ or tzdata. Instants are
 * int64 seconds since the epoch; dates are proleptic Gregorian.
 *
 * Opening hours are within one local day: a desk that closes after midnight
 * (overnight hours) is not supported. Close may be 1440 (24:00).
 *
 * Nothing here allocates or keeps state: every function is reentrant.
 */
#ifndef MADOGUCHI_CALENDAR_H
#define MADOGUCHI_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cal_date { int y, m, d; };		/* a date in the desk's zone */

#define CAL_UTC_OFFSET	(9 * 3600)		/* JST, seconds east of UTC */

bool	cal_date_parse(const char *s, struct cal_date *out);	/* "YYYY-MM-DD", validated */
int	cal_weekday(struct cal_date d);				/* 0 = Sunday .. 6 = Saturday */
struct cal_date cal_date_add_days(struct cal_date d, int days);
int	cal_date_cmp(struct cal_date a, struct cal_date b);	/* <0, 0, >0 */
struct cal_date cal_date_of(int64_t t);			/* t: seconds since the epoch; the JST date */
int64_t	cal_time_at(struct cal_date d, int minute_of_day);	/* the instant of local d 00:00 + minutes */
#define CAL_LOCAL_ISO_LEN 26
/* "2027-01-04T11:00:00+09:00"; "" for years outside 0000..9999. */
void	cal_format_local(int64_t t, char buf[CAL_LOCAL_ISO_LEN]);

/*
 * National holidays (国民の祝日に関する法律 and the special laws beside it),
 * computed by rule for any year in range, including 振替休日 and 国民の休日.
 * The equinox days use the usual approximation of the astronomical
 * equinox; the official dates are published each February for the next
 * year. A later change in the law is a CAL_HOLIDAY_ADD/CANCEL exception
 * until this code learns it.
 */
#define JP_HOLIDAY_YEAR_MIN 1949
#define JP_HOLIDAY_YEAR_MAX 2099
#define JP_HOLIDAYS_MAX 32
struct jp_holiday { struct cal_date date; const char *name; };	/* name: static, UTF-8 */
/*
 * The year's national holidays sorted by date; the count, or -1 outside
 * 1949..2099. At most max are written (out may be NULL when max is 0); the
 * count returned is the year's full count, as with snprintf.
 */
int	jp_holidays(int year, struct jp_holiday *out, size_t max);
/* The holiday's name, or NULL (also outside 1949..2099). */
const char *jp_holiday_name(struct cal_date d);

enum cal_exception_kind {
	CAL_CLOSED,		/* the desk is closed that day */
	CAL_OPEN,		/* the desk opens that day (open_min..close_min) even if normally closed */
	CAL_HOLIDAY_ADD,	/* a national holiday the law added after this code was written (name) */
	CAL_HOLIDAY_CANCEL,	/* a computed national holiday that is no longer one */
};
/*
 * Exceptions apply to their own date only: adding or cancelling a holiday
 * does not recompute 振替休日 or 国民の休日 around it; give those their
 * own exceptions. On one date, CAL_HOLIDAY_ADD wins over CAL_HOLIDAY_CANCEL.
 */
struct cal_exception {
	struct cal_date		 date;
	enum cal_exception_kind	 kind;
	int			 open_min, close_min;	/* CAL_OPEN; both -1 = that weekday's usual hours, or Monday's if it has none */
	const char		*name;			/* CAL_HOLIDAY_ADD */
};
struct cal_closure { int from_m, from_d, to_m, to_d; };	/* every year, inclusive; may wrap the new year (12/29..1/3) */

#define CAL_CLOSURES_MAX 16
struct calendar {
	int			 hours[7][2];	/* by weekday (0 = Sunday): open and close, minutes after local midnight; open >= close: closed that weekday; close may be 1440 */
	bool			 closed_on_holidays;
	struct cal_closure	 closures[CAL_CLOSURES_MAX];
	size_t			 nclosures;
	const struct cal_exception *exceptions;	/* borrowed, any order */
	size_t			 nexceptions;
};
/* Mon-Fri 11:00-20:00, closed on national holidays, closed 12/29-1/3, no exceptions. */
void	calendar_defaults(struct calendar *cal);

/*
 * How far the searches below look before giving up with -1, so a calendar
 * with no open time never loops. calendar_add_business_minutes also gives
 * up when its answer would lie more than CAL_WALK_DAYS_MAX days after t.
 * Instants outside the years 1000..8999 are refused (false or -1).
 */
#define CAL_SEARCH_DAYS		800
#define CAL_WALK_DAYS_MAX	36525

/* The national holiday name on d after the calendar's add/cancel exceptions, or NULL. */
const char *calendar_holiday_name(const struct calendar *cal, struct cal_date d);
/*
 * Whether d is a business day; if so, its hours (either pointer may be
 * NULL). Precedence: CAL_CLOSED, then CAL_OPEN, then closures, then
 * holidays (if closed_on_holidays), then weekly hours. Hours outside
 * 0 <= open < close <= 1440 count as closed, as does a CAL_OPEN with -1
 * hours when neither its weekday nor Monday has any.
 */
bool	calendar_business_day(const struct calendar *cal, struct cal_date d, int *open_min, int *close_min);
bool	calendar_is_open(const struct calendar *cal, int64_t t);	/* open <= t < close */
/* t itself when open; else the start of the next open period; -1 when none within 800 days. */
int64_t	calendar_next_open(const struct calendar *cal, int64_t t);
/* When closed at t: the instant the closed period holding t began (the close of the last open period), -1 if none within 800 days; when open: -1. */
int64_t	calendar_closed_since(const struct calendar *cal, int64_t t);
/* The end (close time) of the first business day whose date is after t's local date: "a reply by the next business day". -1 if none within 800 days. */
int64_t	calendar_reply_due(const struct calendar *cal, int64_t t);
/*
 * t plus n business minutes (only open time counts; n >= 0); -1 if the
 * calendar has no open time within 800 days, or n < 0. n == 0 gives t;
 * an answer that ends a period exactly is that period's close.
 */
int64_t	calendar_add_business_minutes(const struct calendar *cal, int64_t t, int64_t n);

#endif
