/*
 * clock.c - real or test clock, and ISO-8601 instants.
 */
#include "clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool	clock_fixed;
static bool	clock_anchored;		/* runs from a real instant, not start */
static int64_t	clock_fixed_start_us;
static int64_t	clock_mono_start_us;
static int64_t	clock_anchor_us;

static int64_t
clock_read_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * "1764910800" or "1764910800.25": Unix seconds, and a fraction of which
 * the microseconds count (date +%s.%N gives nanoseconds).
 */
static bool
clock_parse_unix(const char *s, int64_t *us_out)
{
	int64_t sec = 0, frac = 0, scale = 1000000;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++)
		if ((sec = sec * 10 + (*s - '0')) > 9999999999LL)
			return false;	/* past the year 2286 */
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return false;
		for (; isdigit((unsigned char)*s); s++)
			if (scale > 1) {
				scale /= 10;
				frac += (*s - '0') * scale;
			}
	}
	if (*s != '\0')
		return false;
	*us_out = sec * 1000000 + frac;
	return true;
}

bool
clock_init(const char *fixed_start, const char *started_at, char *err,
    size_t errlen)
{
	clock_fixed = clock_anchored = false;
	if (fixed_start == NULL || fixed_start[0] == '\0') {
		if (started_at == NULL || started_at[0] == '\0')
			return true;
		snprintf(err, errlen, "MADOGUCHI_NOW_AT needs MADOGUCHI_NOW");
		return false;
	}
	if (!clock_parse_iso8601(fixed_start, &clock_fixed_start_us)) {
		snprintf(err, errlen, "MADOGUCHI_NOW is not an ISO-8601 time "
		    "with a zone (e.g. 2026-12-28T20:30+09:00)");
		return false;
	}
	if (started_at != NULL && started_at[0] != '\0') {
		if (!clock_parse_unix(started_at, &clock_anchor_us)) {
			snprintf(err, errlen, "MADOGUCHI_NOW_AT is not a Unix "
			    "time in seconds (e.g. 1764910800.25)");
			return false;
		}
		clock_anchored = true;
	}
	clock_mono_start_us = clock_read_us(CLOCK_MONOTONIC);
	clock_fixed = true;
	return true;
}

int64_t
clock_now_us(void)
{
	if (clock_anchored)
		return clock_fixed_start_us +
		    (clock_read_us(CLOCK_REALTIME) - clock_anchor_us);
	if (clock_fixed)
		return clock_fixed_start_us +
		    (clock_read_us(CLOCK_MONOTONIC) - clock_mono_start_us);
	return clock_read_us(CLOCK_REALTIME);
}

/* Reads exactly n digits; false if any is missing. */
static bool
clock_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
clock_expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static bool
clock_parse_zone(const char *p, int *offset_s)
{
	int sign, hh, mm;

	if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
		*offset_s = 0;
		return true;
	}
	if (*p != '+' && *p != '-')
		return false;
	sign = *p++ == '-' ? -1 : 1;
	if (!clock_digits(&p, 2, &hh))
		return false;
	(void)clock_expect(&p, ':');
	if (!clock_digits(&p, 2, &mm) || *p != '\0' || hh > 23 || mm > 59)
		return false;
	*offset_s = sign * (hh * 3600 + mm * 60);
	return true;
}

bool
clock_parse_iso8601(const char *s, int64_t *us_out)
{
	const char *p = s;
	struct tm tm;
	int y, mo, d, h, mi, sec = 0, usec = 0, offset;
	time_t t;

	if (!clock_digits(&p, 4, &y) || !clock_expect(&p, '-') ||
	    !clock_digits(&p, 2, &mo) || !clock_expect(&p, '-') ||
	    !clock_digits(&p, 2, &d) || !clock_expect(&p, 'T') ||
	    !clock_digits(&p, 2, &h) || !clock_expect(&p, ':') ||
	    !clock_digits(&p, 2, &mi))
		return false;
	if (clock_expect(&p, ':')) {
		if (!clock_digits(&p, 2, &sec))
			return false;
		if (clock_expect(&p, '.')) {
			int scale = 100000, n = 0;

			while (isdigit((unsigned char)*p)) {
				usec += (*p++ - '0') * scale;
				scale /= 10;
				n++;
			}
			if (n == 0)
				return false;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || !clock_parse_zone(p, &offset))
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises 02-31 to 03-03: refuse dates that do not exist. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return false;
	*us_out = ((int64_t)t - offset) * 1000000 + usec;
	return true;
}

void
clock_format_utc(int64_t us, char buf[CLOCK_ISO_LEN])
{
	time_t t = (time_t)(us / 1000000);
	int64_t rem = us % 1000000;
	struct tm tm;

	if (rem < 0) {
		rem += 1000000;
		t--;
	}
	gmtime_r(&t, &tm);
	if (strftime(buf, CLOCK_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
		buf[0] = '\0';	/* beyond year 9999 */
		return;
	}
	snprintf(buf + 19, CLOCK_ISO_LEN - 19, ".%03uZ",
	    (unsigned)(rem / 1000) % 1000u);
}
