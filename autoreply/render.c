/*
 * render.c - the auto-reply texts: the desk's templates with the facts of
 * the moment filled in (its hours, when it next opens, the hotlines, the
 * queue), in plain Japanese.
 */
#include "autoreply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

static const char *const placeholders[] = {
	"desk", "audience", "hours", "next_open", "hotlines", "queue", "ahead",
	NULL,
};

/* Mon..Sun, the order a Japanese desk lists its week in. */
static const int week_order[7] = { 1, 2, 3, 4, 5, 6, 0 };
static const char *const weekday_ja[7] = {
	"日", "月", "火", "水", "木", "金", "土",
};

static char *
buffer_string(struct evbuffer *buf)
{
	size_t len = evbuffer_get_length(buf);
	char *s = malloc(len + 1);

	if (s != NULL) {
		evbuffer_remove(buf, s, len);
		s[len] = '\0';
	}
	evbuffer_free(buf);
	return s;
}

static void
add_hhmm(struct evbuffer *out, int minutes)
{
	evbuffer_add_printf(out, "%d:%02d", minutes / 60, minutes % 60);
}

static bool
same_hours(const struct calendar *cal, int a, int b)
{
	return cal->hours[a][0] == cal->hours[b][0] &&
	    cal->hours[a][1] == cal->hours[b][1];
}

static bool
open_weekday(const struct calendar *cal, int w)
{
	return cal->hours[w][0] < cal->hours[w][1];
}

/* "月〜金 11:00〜20:00、土 13:00〜17:00" */
static bool
add_week(struct evbuffer *out, const struct calendar *cal)
{
	bool any = false;

	for (int i = 0; i < 7;) {
		int w = week_order[i], j = i + 1;

		if (!open_weekday(cal, w)) {
			i++;
			continue;
		}
		while (j < 7 && same_hours(cal, w, week_order[j]))
			j++;
		evbuffer_add_printf(out, "%s%s", any ? "、" : "", weekday_ja[w]);
		if (j - i == 2)
			evbuffer_add_printf(out, "・%s", weekday_ja[week_order[i + 1]]);
		else if (j - i > 2)
			evbuffer_add_printf(out, "〜%s", weekday_ja[week_order[j - 1]]);
		evbuffer_add(out, " ", 1);
		add_hhmm(out, cal->hours[w][0]);
		evbuffer_add_printf(out, "〜");
		add_hhmm(out, cal->hours[w][1]);
		any = true;
		i = j;
	}
	return any;
}

char *
autoreply_hours_text(const struct desk_settings *d)
{
	struct evbuffer *out = evbuffer_new();
	const struct calendar *cal = &d->cal;

	if (out == NULL)
		return NULL;
	if (!add_week(out, cal)) {
		evbuffer_add_printf(out, "未定");
		return buffer_string(out);
	}
	if (cal->closed_on_holidays || cal->nclosures > 0) {
		evbuffer_add_printf(out, "（");
		if (cal->closed_on_holidays)
			evbuffer_add_printf(out, "祝日");
		for (size_t i = 0; i < cal->nclosures; i++) {
			const struct cal_closure *c = &cal->closures[i];

			evbuffer_add_printf(out, "%s%d月%d日〜%d月%d日",
			    i > 0 || cal->closed_on_holidays ? "、" : "",
			    c->from_m, c->from_d, c->to_m, c->to_d);
		}
		evbuffer_add_printf(out, "を除く）");
	}
	return buffer_string(out);
}

/* "12月1日（月）11:00", or a plain promise when the desk has no hours. */
static void
add_next_open(struct evbuffer *out, const struct desk_settings *d,
    int64_t now)
{
	int64_t t = calendar_next_open(&d->cal, now);
	struct cal_date date;
	int minute;

	if (t < 0) {
		evbuffer_add_printf(out, "次の相談時間");
		return;
	}
	date = cal_date_of(t);
	minute = (int)((t - cal_time_at(date, 0)) / 60);
	evbuffer_add_printf(out, "%d月%d日（%s）", date.m, date.d,
	    weekday_ja[cal_weekday(date)]);
	add_hhmm(out, minute);
}

char *
autoreply_next_open_text(const struct desk_settings *d, int64_t now)
{
	struct evbuffer *buf = evbuffer_new();

	if (buf == NULL)
		return NULL;
	add_next_open(buf, d, now);
	return buffer_string(buf);
}

static void
add_hotlines(struct evbuffer *out, const struct desk_settings *d)
{
	for (size_t i = 0; i < d->nhotlines; i++) {
		const struct hotline *h = &d->hotlines[i];

		evbuffer_add_printf(out, "%s・%s %s", i > 0 ? "\n" : "", h->name,
		    h->phone);
		if (h->hours != NULL && *h->hours != '\0')
			evbuffer_add_printf(out, "（%s）", h->hours);
	}
}

static void
add_value(struct evbuffer *out, const char *name, size_t len,
    const struct desk_settings *d, const struct autoreply_vars *v)
{
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
	if (IS("desk"))
		evbuffer_add_printf(out, "%s", d->desk_name ? d->desk_name : "");
	else if (IS("audience"))
		evbuffer_add_printf(out, "%s", d->desk_audience ?
		    d->desk_audience : "");
	else if (IS("hours")) {
		char *h = autoreply_hours_text(d);

		evbuffer_add_printf(out, "%s", h ? h : "");
		free(h);
	} else if (IS("next_open")) {
		/* a reply sent while the desk is open (the emergency numbers
		 * when nobody is at the desk) promises now, not this minute */
		if (calendar_is_open(&d->cal, v->now))
			evbuffer_add_printf(out, "いま");
		else
			add_next_open(out, d, v->now);
	}
	else if (IS("hotlines"))
		add_hotlines(out, d);
	else if (IS("queue")) {
		if (v->ahead > 0)
			evbuffer_add_printf(out, "いま、あなたの前に%d人の方が"
			    "お待ちです。", v->ahead);
	} else if (IS("ahead"))
		evbuffer_add_printf(out, "%d", v->ahead);
	else {		/* not a placeholder: the text as written */
		evbuffer_add(out, "{", 1);
		evbuffer_add(out, name, len);
		evbuffer_add(out, "}", 1);
	}
#undef IS
}

char *
autoreply_render(const struct desk_settings *d, enum autoreply_kind kind,
    const struct autoreply_vars *v)
{
	const char *t = d->strict && d->text_strict[kind] != NULL ?
	    d->text_strict[kind] : d->text[kind];
	const char *open, *close;
	struct evbuffer *out;

	if (t == NULL || *t == '\0' || (out = evbuffer_new()) == NULL)
		return NULL;
	while ((open = strchr(t, '{')) != NULL &&
	    (close = strchr(open, '}')) != NULL) {
		evbuffer_add(out, t, (size_t)(open - t));
		add_value(out, open + 1, (size_t)(close - open - 1), d, v);
		t = close + 1;
	}
	evbuffer_add(out, t, strlen(t));
	return buffer_string(out);
}

bool
autoreply_template_valid(const char *text, char *err, size_t errlen)
{
	const char *open, *close;

	for (const char *t = text; (open = strchr(t, '{')) != NULL; t = close + 1) {
		bool known = false;
		size_t len;

		if ((close = strchr(open, '}')) == NULL) {
			snprintf(err, errlen, "a '{' without its '}'");
			return false;
		}
		len = (size_t)(close - open - 1);
		for (size_t i = 0; placeholders[i] != NULL; i++)
			known |= strlen(placeholders[i]) == len &&
			    memcmp(placeholders[i], open + 1, len) == 0;
		if (!known) {
			snprintf(err, errlen, "unknown placeholder {%.*s}; known: "
			    "{desk} {audience} {hours} {next_open} {hotlines} "
			    "{queue} {ahead}", (int)(len > 40 ? 40 : len), open + 1);
			return false;
		}
	}
	return true;
}
