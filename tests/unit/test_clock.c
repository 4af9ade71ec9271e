/*
 * ISO-8601 instants and the test clock (MADOGUCHI_NOW).
 */
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

	ok(clock_init("2026-12-28T20:30+09:00", err, sizeof(err)), "test clock set");
	a = clock_now_us();
	ok(a >= 1798457400000000LL && a < 1798457401000000LL, "starts at MADOGUCHI_NOW");
	nanosleep(&pause, NULL);
	b = clock_now_us();
	ok(b - a >= 20000 && b - a < 1000000, "and runs on from there");
	ok(!clock_init("tomorrow", err, sizeof(err)) && err[0] != '\0',
	    "a bad MADOGUCHI_NOW is an error");
	ok(clock_init("", err, sizeof(err)) && clock_now_us() > 1.7e15,
	    "empty means the real clock");
}

int
main(void)
{
	test_parse();
	test_format();
	test_clock();
	return done_testing();
}
