/*
 * period.c - which days a report covers, in Asia/Tokyo dates: a month, a
 * fiscal year (April to March, as Japanese public bodies count it), or a
 * day; and the parameters every report statement takes.
 */
#include "report_internal.h"

#include <stdio.h>
#include <string.h>

const char *const report_kind_names[REPORT_KINDS] = {
	[REPORT_MONTHLY] = "monthly",
	[REPORT_ANNUAL] = "annual",
	[REPORT_LINE_USE] = "line-use",
	[REPORT_WORKLOG] = "worklog",
};

static void
date_text(struct cal_date d, char out[11])
{
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)d.y % 10000,
	    (unsigned)d.m % 100, (unsigned)d.d % 100);
}

/* "YYYY-MM" with a month from 1 to 12 and a year from 2000 to 2099. */
static bool
month_parse(const char *s, struct cal_date *first)
{
	char day[16];

	if (strlen(s) != 7 || s[4] != '-')
		return false;
	snprintf(day, sizeof(day), "%s-01", s);
	return cal_date_parse(day, first) && first->y >= 2000 &&
	    first->y <= 2099;
}

static bool
year_parse(const char *s, int *year)
{
	if (strlen(s) != 4 || strspn(s, "0123456789") != 4)
		return false;
	*year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	return *year >= 2000 && *year <= 2098;
}

static struct cal_date
next_month(struct cal_date d)
{
	struct cal_date n = { d.m == 12 ? d.y + 1 : d.y, d.m % 12 + 1, 1 };

	return n;
}

bool
report_period_parse(enum report_kind kind, const char *text,
    struct report_period *p, char *err, size_t errlen)
{
	struct cal_date from, until;
	int year;

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	if (text == NULL)
		text = "";
	if (kind == REPORT_ANNUAL) {
		if (!year_parse(text, &year)) {
			snprintf(err, errlen, "expected a fiscal year such as "
			    "2026 (April 2026 to March 2027)");
			return false;
		}
		from = (struct cal_date){ year, 4, 1 };
		until = (struct cal_date){ year + 1, 4, 1 };
	} else if (kind == REPORT_WORKLOG) {
		if (strlen(text) != 10 || !cal_date_parse(text, &from) ||
		    from.y < 2000 || from.y > 2099) {
			snprintf(err, errlen, "expected a day such as 2026-11-05");
			return false;
		}
		until = cal_date_add_days(from, 1);
	} else {
		if (!month_parse(text, &from)) {
			snprintf(err, errlen, "expected a month such as 2026-11");
			return false;
		}
		until = next_month(from);
	}
	snprintf(p->name, sizeof(p->name), "%s", text);
	date_text(from, p->from);
	date_text(until, p->until);
	date_text(cal_date_add_days(until, -1), p->last);
	return true;
}

void
report_params(const struct report_period *p, const char *channel_kind,
    const char *channel_name, const char *params[REPORT_NPARAMS])
{
	params[0] = p->from;
	params[1] = p->until;
	params[2] = channel_kind;
	params[3] = channel_name;
}

const char *
report_sql(enum report_kind kind)
{
	switch (kind) {
	case REPORT_MONTHLY:
	case REPORT_ANNUAL:
		return report_stats_sql;
	case REPORT_LINE_USE:
		return report_line_use_sql;
	case REPORT_WORKLOG:
		return report_worklog_sql;
	default:
		return NULL;
	}
}
