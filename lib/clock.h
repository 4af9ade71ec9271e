/*
 * clock.h - the service's notion of "now".
 *
 * Every time-dependent rule asks clock_now_us(). With MADOGUCHI_NOW set to an
 * ISO-8601 instant, the clock starts there and then runs on at real speed, so
 * tests can place the desk at "Friday 19:59" and watch deadlines pass.
 * MADOGUCHI_NOW_AT names the real instant at which that clock reads
 * MADOGUCHI_NOW (else the process's start), so that several processes of
 * one test desk share one clock, however long each took to start; that
 * clock then follows the machine's wall clock, steps included.
 */
#ifndef MADOGUCHI_CLOCK_H
#define MADOGUCHI_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Fixes the start instant; NULL or "" means the real clock. started_at,
 * Unix seconds with an optional fraction, or NULL or "": when the test
 * clock reads fixed_start.
 */
bool	clock_init(const char *fixed_start, const char *started_at, char *err,
	    size_t errlen)
	    __attribute__((warn_unused_result));
int64_t	clock_now_us(void);

/*
 * Parses "YYYY-MM-DDTHH:MM[:SS[.fff]]" followed by "Z" or "+HH:MM"/"-HH:MM".
 * A zone is required: a bare local time would mean different instants on
 * different machines.
 */
bool	clock_parse_iso8601(const char *s, int64_t *us_out);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ"; buf needs CLOCK_ISO_LEN bytes. */
#define CLOCK_ISO_LEN 25
void	clock_format_utc(int64_t us, char buf[CLOCK_ISO_LEN]);

#endif
