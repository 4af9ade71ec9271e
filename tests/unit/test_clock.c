/*
 * ISO-8601 instants and the test clock (MADOGUCHI_NOW).
 */
#include <stdio.h>
#include <time.h>

#include "clock.h"
#include "tap.h"

static void
test_parse(void)
{
	static const struct { const char *text; long long want_s; } good[] = {
		{ "2026-12-28T20:30+09:00", 1798457400 },
		{ "2026-12-28T11:30:00Z", 1798457400 },
		{ "2026-12-28T11:30:00.250Z", 1798457400 },
		{ "2026-12-28T06:30:00-05:00", 1798457400 },
		{ "2024-02-29T00:00:00+0900", 1709132400 },
	};
	static const char *const bad[] = { "", "2026-12-28", "2026-12-28T20:30",
	    "2026-12-28 20:30+09:00", "2026-02-30T00:00Z", "2026-13-01T00:00Z",
	    "2026-12-28T24:00Z", "2026-12-28T20:30+9", "2026-12-28T20:30Zjunk",
	    "2025-02-29T00:00Z", "2026-12-28T20:30:00.Z" };
	int64_t us;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(clock_parse_iso8601(good[i].text, &us) &&
		    us / 1000000 == good[i].want_s, "parses %s", good[i].text);
	ok(clock_parse_iso8601("2026-12-28T11:30:00.250Z", &us) &&
	    us % 1000000 == 250000, "fraction kept");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!clock_parse_iso8601(bad[i], &us), "refuses \"%s\"", bad[i]);
}

static void
test_format(void)
{
	char buf[CLOCK_ISO_LEN];

	clock_format_utc(1798457400250000LL, buf);
	is_str(buf, "2026-12-28T11:30:00.250Z", "formats UTC with milliseconds");
	clock_format_utc(-1000, buf);
	is_str(buf, "1969-12-31T23:59:59.999Z", "before the epoch");
}

static void
test_clock(void)
{
	struct timespec pause = { 0, 20 * 1000000 };
	char err[128];
	int64_t a, b;

	ok(clock_init("2026-12-28T20:30+09:00", NULL, err, sizeof(err)),
	    "test clock set");
	a = clock_now_us();
	ok(a >= 1798457400000000LL && a < 1798457401000000LL, "starts at MADOGUCHI_NOW");
	nanosleep(&pause, NULL);
	b = clock_now_us();
	ok(b - a >= 20000 && b - a < 1000000, "and runs on from there");
	ok(!clock_init("tomorrow", NULL, err, sizeof(err)) && err[0] != '\0',
	    "a bad MADOGUCHI_NOW is an error");
	ok(clock_init("", "", err, sizeof(err)) && clock_now_us() > 1.7e15,
	    "empty means the real clock");
}

/* Two processes given one MADOGUCHI_NOW_AT read the same desk time. */
static void
test_clock_anchored(void)
{
	struct timespec real;
	char err[128], at[32];
	int64_t real_us, desk_us;

	clock_gettime(CLOCK_REALTIME, &real);
	real_us = (int64_t)real.tv_sec * 1000000 + real.tv_nsec / 1000;
	/* The desk read 20:30 at 9.5 to 10.5 seconds ago. */
	snprintf(at, sizeof(at), "%lld.5", (long long)(real.tv_sec - 10));
	ok(clock_init("2026-12-28T20:30+09:00", at, err, sizeof(err)),
	    "anchored at a Unix time with a fraction");
	desk_us = clock_now_us() - 1798457400000000LL;
	ok(desk_us >= 9500000 + real_us % 1000000 &&
	    desk_us < 9500000 + real_us % 1000000 + 500000,
	    "the desk is as far past 20:30 as the real clock past the anchor");
	snprintf(at, sizeof(at), "%lld", (long long)real.tv_sec + 3600);
	ok(clock_init("2026-12-28T20:30+09:00", at, err, sizeof(err)) &&
	    clock_now_us() < 1798457400000000LL,
	    "an anchor in the future: the desk has not reached its start yet");
	ok(!clock_init("2026-12-28T20:30+09:00", "soon", err, sizeof(err)) &&
	    err[0] != '\0', "a bad MADOGUCHI_NOW_AT is an error");
	ok(!clock_init("2026-12-28T20:30+09:00", "12.5s", err, sizeof(err)),
	    "trailing garbage is an error");
	ok(!clock_init("2026-12-28T20:30+09:00", "99999999999999999999", err,
	    sizeof(err)), "a time too far to hold is an error");
	ok(!clock_init("", "1764910800", err, sizeof(err)) && err[0] != '\0',
	    "MADOGUCHI_NOW_AT alone is an error");
	ok(!clock_init("2026-12-28T20:30+09:00", "10000000000", err,
	    sizeof(err)), "past the year 2286 is an error");
	ok(!clock_init("2026-12-28T20:30+09:00", "1764910800.", err,
	    sizeof(err)), "a point with no fraction is an error");
	snprintf(at, sizeof(at), "%lld.123456789", (long long)real.tv_sec + 3600);
	ok(clock_init("2026-12-28T20:30+09:00", at, err, sizeof(err)) &&
	    clock_now_us() < 1798457400000000LL - 3599000000LL &&
	    clock_now_us() > 1798457400000000LL - 3601000000LL,
	    "nanoseconds (date +%%s.%%N) are taken, to the microsecond");
}

int
main(void)
{
	test_parse();
	test_format();
	test_clock();
	test_clock_anchored();
	return done_testing();
}
