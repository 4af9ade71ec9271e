/*
 * term_draw.c - the main screen, drawn whole from struct term on every
 * change and every second (curses sends only what differs): the status
 * line, a crisis banner, the queue and the open conversation side by side
 * (one at a time below 100 columns), the input, the feedback line and the
 * keys of the current mode. Every meaning has a symbol or a word as well
 * as a colour, so a monochrome terminal loses nothing.
 */
#include "term_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#define TERM_WIDE_COLS		100	/* two panes from here */
#define TERM_INPUT_ROWS		5
#define TERM_DUE_SOON_S		3600

unsigned long
term_colour(const struct term *t, int pair)
{
	return t->colour ? (unsigned long)COLOR_PAIR(pair) : 0;
}

int
term_putw(int y, int x, int maxw, const wchar_t *s, size_t n,
    unsigned long attr)
{
	size_t k;
	int w;

	if (y < 0 || y >= LINES || x < 0 || x >= COLS || maxw <= 0)
		return 0;
	if (maxw > COLS - x)
		maxw = COLS - x;
	k = term_text_fit(s, n, maxw);
	w = term_text_width(s, k);
	if (k == 0)
		return 0;
	attron((int)attr);
	mvaddnwstr(y, x, s, (int)k);
	attroff((int)attr);
	return w;
}

int
term_put(struct term *t, int y, int x, int maxw, const char *s,
    unsigned long attr)
{
	size_t n;
	wchar_t *w;
	int used;

	(void)t;
	if (s == NULL || (w = term_text_wide(s, false, &n)) == NULL)
		return 0;
	used = term_putw(y, x, maxw, w, n, attr);
	free(w);
	return used;
}

/* Writes s ending at column right (exclusive); returns where it starts. */
static int
term_put_right(struct term *t, int y, int right, const char *s,
    unsigned long attr)
{
	size_t n;
	wchar_t *w = term_text_wide(s, false, &n);
	int width = w != NULL ? term_text_width(w, n) : 0;

	free(w);
	if (width > right)
		width = right;
	term_put(t, y, right - width, width, s, attr);
	return right - width;
}

/* ---- editing ---- */

/* The wrapped line holding the cursor, and its column there. */
static size_t
term_edit_cursor(const struct term_edit *e, const struct term_line *lines,
    size_t n, int *col)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if (e->cur < lines[i + 1].start)
			break;
	*col = term_text_width(e->buf + lines[i].start,
	    e->cur - lines[i].start);
	return i;
}

int
term_edit_rows(const struct term_edit *e, int w)
{
	int rows = (int)term_text_wrap(e->buf, e->len, w, NULL, 0);

	return rows < 1 ? 1 : rows;
}

void
term_draw_edit(const struct term_edit *e, int y, int x, int w, int rows,
    bool secret)
{
	size_t n = e->len > 0 ? term_text_wrap(e->buf, e->len, w, NULL, 0) : 1;
	struct term_line *lines = calloc(n, sizeof(*lines));
	size_t at, first = 0;
	int col = 0;

	if (secret || lines == NULL) {
		free(lines);
		move(y, x);
		return;
	}
	term_text_wrap(e->buf, e->len, w, lines, n);
	at = term_edit_cursor(e, lines, n, &col);
	if (at >= (size_t)rows)
		first = at - (size_t)rows + 1;
	for (size_t i = first; i < n && i < first + (size_t)rows; i++)
		term_putw(y + (int)(i - first), x, w, e->buf + lines[i].start,
		    lines[i].len, 0);
	if (col >= w)
		col = w - 1;
	move(y + (int)(at - first), x + col);
	free(lines);
}

/* ---- the status line and the banner ---- */

static const char *
term_conn_text(struct term *t, char *buf, size_t len)
{
	char secs[24];
	long long left;

	switch (t->conn) {
	case CONN_LIVE:
		return term_w(t, "conn.live");
	case CONN_CONNECTING:
		return term_w(t, "conn.connecting");
	case CONN_WAITING:
		left = (t->retry_at - term_clock_ms() + 999) / 1000;
		snprintf(secs, sizeof(secs), "%lld", left > 0 ? left : 0);
		term_wf(t, buf, len, "conn.waiting", secs, NULL);
		return buf;
	default:
		return term_w(t, "conn.off");
	}
}

static void
term_draw_status(struct term *t)
{
	static const char *days_ja[] = { "日", "月", "火", "水", "木", "金", "土" };
	static const char *days_en[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	char key[32], clock[64], date[16], wday[4], time[16], conn[64];
	unsigned long live = t->conn == CONN_LIVE ? 0 : A_BOLD;
	int64_t now = term_now_ms(t);
	int x = 1, right;

	term_text_jst(date, sizeof(date), now, TERM_JST_DATE);
	term_text_jst(wday, sizeof(wday), now, TERM_JST_WDAY);
	term_text_jst(time, sizeof(time), now, TERM_JST_TIME);
	snprintf(clock, sizeof(clock), "%s(%s) %s JST", date,
	    (t->en ? days_en : days_ja)[(wday[0] - '0') % 7], time);
	mvhline(0, 0, ' ' | A_REVERSE, COLS);
	right = term_put_right(t, 0, COLS - 1, clock, A_REVERSE) - 2;
	x += term_put(t, 0, x, right - x, t->desk_name != NULL ? t->desk_name :
	    "madoguchi", A_REVERSE | A_BOLD);
	x += term_put(t, 0, x, right - x, " | ", A_REVERSE);
	x += term_put(t, 0, x, right - x, t->staff_name, A_REVERSE);
	snprintf(key, sizeof(key), "role.%s", t->role);
	x += term_put(t, 0, x, right - x, "（", A_REVERSE);
	x += term_put(t, 0, x, right - x, term_w(t, key), A_REVERSE);
	x += term_put(t, 0, x, right - x, "） | ", A_REVERSE);
	snprintf(key, sizeof(key), "presence.%s", t->presence[0] != '\0' ?
	    t->presence : "unknown");
	x += term_put(t, 0, x, right - x, term_w(t, key), A_REVERSE |
	    (strcmp(t->presence, "away") == 0 ? A_BOLD : 0));
	x += term_put(t, 0, x, right - x, " | ", A_REVERSE);
	term_put(t, 0, x, right - x, term_conn_text(t, conn, sizeof(conn)),
	    A_REVERSE | live | (live ? term_colour(t, PAIR_RED) : 0));
}

static void
term_draw_banner(struct term *t, int y)
{
	const struct term_alert *a = &t->alerts[0];
	const struct term_conv *c = term_queue_find(t, a->conv);
	char text[512], round[16], more[64], id[32];
	unsigned long attr = A_BOLD | A_REVERSE | term_colour(t, PAIR_BANNER);
	int x;

	snprintf(round, sizeof(round), "%d", a->round > 0 ? a->round : 1);
	snprintf(id, sizeof(id), "#%lld", a->conv);
	term_wf(t, text, sizeof(text), "alert.banner", a->case_number[0] ?
	    a->case_number : c != NULL ? c->case_number : id, round);
	attron((int)attr);
	mvhline(y, 0, ' ', COLS);
	attroff((int)attr);
	x = 1 + term_put(t, y, 1, COLS - 2, text, attr);
	if (t->n_alerts > 1) {
		snprintf(id, sizeof(id), "%zu", t->n_alerts - 1);
		term_wf(t, more, sizeof(more), "alert.more", id, NULL);
		x += term_put(t, y, x, COLS - 1 - x, more, attr);
	}
	term_put(t, y, x, COLS - 1 - x, term_w(t, "alert.keys"), attr);
}

/* ---- the queue ---- */

static void
term_countdown(struct term *t, const struct term_conv *c, char *buf,
    size_t len, unsigned long *attr)
{
	long long secs;

	buf[0] = '\0';
	*attr = 0;
	if (c->due_ms == 0)
		return;
	secs = (long long)(c->due_ms - term_now_ms(t)) / 1000;
	if (c->due_ms < term_now_ms(t) && secs == 0)
		secs = -1;
	term_text_countdown(buf, len, secs, t->en);
	if (secs < 0 || c->overdue)
		*attr = A_BOLD | term_colour(t, PAIR_RED);
	else if (c->due_soon || secs < TERM_DUE_SOON_S)
		*attr = A_BOLD | term_colour(t, PAIR_YELLOW);
}

static int
term_level_mark(struct term *t, int y, int x, int level, unsigned long base)
{
	if (level >= 2)
		term_put(t, y, x, 4, term_w(t, "level.2"), base | A_BOLD |
		    term_colour(t, PAIR_RED));
	else if (level == 1)
		term_put(t, y, x, 4, term_w(t, "level.1"), base | A_BOLD |
		    term_colour(t, PAIR_YELLOW));
	return x + 5;
}

/* The words that mark a conversation, in order of weight. */
static void
term_marks(struct term *t, const struct term_conv *c, char *buf, size_t len)
{
	const char *keys[8];
	size_t n = 0, used = 0;

	if (c->overdue)
		keys[n++] = "queue.overdue";
	else if (c->due_soon)
		keys[n++] = "queue.due_soon";
	if (c->restricted)
		keys[n++] = "queue.restricted";
	if (c->exception)
		keys[n++] = "queue.exception";
	else if (c->in_webchat)
		keys[n++] = "queue.in_webchat";
	else if (c->strict)
		keys[n++] = "queue.webchat";
	if (c->long_session)
		keys[n++] = "queue.long_session";
	if (c->returning)
		keys[n++] = "queue.returning";
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s",
		    term_w(t, keys[i]));
}

static void
term_who(struct term *t, const struct term_conv *c, char *buf, size_t len)
{
	if (c->assignee_id == 0)
		snprintf(buf, len, "%s", term_w(t, "queue.unassigned"));
	else if (c->assignee_id == t->staff_id)
		snprintf(buf, len, "%s", term_w(t, "conv.mine"));
	else
		term_wf(t, buf, len, "queue.assignee", c->assignee, NULL);
}

static void
term_draw_item(struct term *t, const struct term_conv *c, int y, int x,
    int w, bool chosen)
{
	unsigned long base = chosen ? A_REVERSE : 0, due_attr;
	char due[64], key[48], who[160], marks[256];
	int right = x + w, col;

	mvhline(y, x, ' ' | base, w);
	mvhline(y + 1, x, ' ' | base, w);
	term_put(t, y, x, 1, chosen ? ">" : " ", base | A_BOLD);
	col = term_level_mark(t, y, x + 1, c->level, base);
	term_countdown(t, c, due, sizeof(due), &due_attr);
	if (due[0] != '\0')
		right = term_put_right(t, y, x + w - 1, due, base | due_attr) -
		    1;
	col += term_put(t, y, col, right - col, c->case_number, base | A_BOLD);
	snprintf(key, sizeof(key), "state.%s", c->state);
	col += term_put(t, y, col, right - col, " ", base);
	term_put(t, y, col, right - col, term_w(t, key), base);
	col = x + 6;
	col += term_put(t, y + 1, col, x + w - col, c->nickname != NULL ?
	    c->nickname : term_w(t, "queue.no_nickname"), base | A_BOLD);
	col += term_put(t, y + 1, col, x + w - col, " ", base);
	term_who(t, c, who, sizeof(who));
	col += term_put(t, y + 1, col, x + w - col, who, base);
	term_marks(t, c, marks, sizeof(marks));
	col += term_put(t, y + 1, col, x + w - col, marks, base | A_BOLD);
	col += term_put(t, y + 1, col, x + w - col, " ", base);
	term_put(t, y + 1, col, x + w - col, c->preview != NULL ? c->preview :
	    term_w(t, "queue.no_preview"), base);
}

static void
term_draw_queue(struct term *t, int y0, int y1, int x, int w, bool focus)
{
	char head[128], n[16];
	size_t first = 0, fits = (size_t)(y1 - y0 - 1) / 2;

	snprintf(n, sizeof(n), "%zu", t->n_queue);
	term_wf(t, head, sizeof(head), "queue.heading", n, NULL);
	term_put(t, y0, x + 1, w - 1, head, A_BOLD |
	    (focus ? A_UNDERLINE : 0));
	if (!t->queue_loaded) {
		term_put(t, y0 + 2, x + 2, w - 2, term_w(t, "queue.loading"), 0);
		return;
	}
	if (t->n_queue == 0) {
		term_put(t, y0 + 2, x + 2, w - 2, term_w(t, "queue.empty"), 0);
		return;
	}
	if (fits == 0)
		fits = 1;
	if (t->sel >= fits)
		first = t->sel - fits + 1;
	for (size_t i = first; i < t->n_queue && i < first + fits; i++)
		term_draw_item(t, &t->queue[i], y0 + 1 + (int)(i - first) * 2,
		    x, w, i == t->sel);
}

/* ---- the conversation ---- */

/* Rows of the history, counted (draw false) or drawn in [first, last). */
struct term_rows {
	struct term	*t;
	int		 row, first, last;
	int		 y, x, w;
	bool		 draw;
};

static void
term_row(struct term_rows *r, const char *mark, const wchar_t *s, size_t n,
    int indent, unsigned long attr)
{
	int y = r->y + r->row - r->first;

	if (r->draw && r->row >= r->first && r->row < r->last) {
		if (mark != NULL)
			term_put(r->t, y, r->x, indent, mark, attr);
		term_putw(y, r->x + indent, r->w - indent, s, n, attr);
	}
	r->row++;
}

static void
term_rows_text(struct term_rows *r, const char *mark, const char *text,
    int indent, unsigned long attr)
{
	size_t n, k;
	wchar_t *w = term_text_wide(text, true, &n);
	struct term_line *lines;

	if (w == NULL)
		return;
	k = term_text_wrap(w, n, r->w - indent, NULL, 0);
	if ((lines = calloc(k, sizeof(*lines))) != NULL) {
		term_text_wrap(w, n, r->w - indent, lines, k);
		for (size_t i = 0; i < k; i++)
			term_row(r, mark, w + lines[i].start, lines[i].len,
			    indent, attr);
	}
	free(lines);
	free(w);
}

static void
term_rows_head(struct term_rows *r, const char *s, unsigned long attr)
{
	size_t n;
	wchar_t *w = term_text_wide(s, false, &n);

	if (w != NULL)
		term_row(r, NULL, w, n, 0, attr);
	free(w);
}

static void
term_entry_message(struct term_rows *r, const struct term_entry *e,
    const char *when)
{
	struct term *t = r->t;
	char head[512], key[64], state[160];
	const char *who, *text = e->text;
	unsigned long attr = A_BOLD | term_colour(t, PAIR_CYAN);
	bool in = strcmp(e->direction, "in") == 0;

	state[0] = '\0';
	if (in) {
		who = term_w(t, "dir.in");
	} else if (strcmp(e->direction, "out") == 0) {
		who = e->staff != NULL ? e->staff : "";
		attr = A_BOLD | term_colour(t, PAIR_GREEN);
	} else {
		snprintf(key, sizeof(key), "dir.%s", e->direction);
		who = term_w(t, key);
		attr = A_DIM;
	}
	if (e->delivery[0] != '\0') {
		snprintf(key, sizeof(key), "delivery.%s", e->retrying ?
		    "retrying" : e->delivery);
		snprintf(state, sizeof(state), " [%s]", term_w(t, key));
		if (strcmp(e->delivery, "failed") == 0 ||
		    strcmp(e->delivery, "undeliverable") == 0)
			attr = A_BOLD | term_colour(t, PAIR_RED);
	}
	snprintf(head, sizeof(head), "%s %s %s%s%s", in ? "<<" : ">>", when,
	    who, state, e->webchat ? term_w(t, "via.webchat") : "");
	term_rows_head(r, head, attr);
	if (!e->accepted) {
		snprintf(key, sizeof(key), "%s", e->kind);
		term_wf(t, head, sizeof(head), "msg.not_accepted", key, NULL);
		text = head;
	}
	term_rows_text(r, NULL, text != NULL ? text : term_w(t, "msg.no_text"),
	    3, strcmp(e->direction, "auto") == 0 ? A_DIM : 0);
	if (e->error != NULL && strcmp(e->delivery, "sent") != 0)
		term_rows_text(r, NULL, e->error, 3, term_colour(t, PAIR_RED));
}

static void
term_entry_event(struct term_rows *r, const struct term_entry *e,
    const char *when)
{
	struct term *t = r->t;
	char head[512], key[64], what[160], level[64];
	bool note = strcmp(e->kind, "note") == 0;
	bool crisis = strncmp(e->kind, "crisis_", 7) == 0;
	unsigned long attr = note ? A_BOLD | term_colour(t, PAIR_MAGENTA) :
	    crisis ? A_BOLD | term_colour(t, PAIR_RED) : A_DIM;

	snprintf(key, sizeof(key), "event.%s", e->kind);
	if (strcmp(term_w(t, key), key) == 0)
		term_wf(t, what, sizeof(what), "event.unknown", e->kind, NULL);
	else
		snprintf(what, sizeof(what), "%s", term_w(t, key));
	level[0] = '\0';
	if (crisis && e->code != NULL) {
		snprintf(key, sizeof(key), "level.name.%s", e->code);
		term_wf(t, level, sizeof(level), "event.level_to",
		    term_w(t, key), NULL);
	}
	snprintf(head, sizeof(head), "%s %s %s%s%s%s", note ? "##" : crisis ?
	    "!!" : "--", when, what, level, e->staff != NULL ? "  " : "",
	    e->staff != NULL ? e->staff : "");
	term_rows_head(r, head, attr);
	if (e->text != NULL)
		term_rows_text(r, note ? "#" : NULL, e->text, 3, note ?
		    term_colour(t, PAIR_MAGENTA) : 0);
}

static void
term_rows_history(struct term_rows *r)
{
	struct term *t = r->t;
	char when[32];

	for (size_t i = 0; i < t->n_hist; i++) {
		const struct term_entry *e = &t->hist[i];

		term_text_jst(when, sizeof(when), e->at_ms, TERM_JST_STAMP);
		if (e->event)
			term_entry_event(r, e, when);
		else
			term_entry_message(r, e, when);
	}
}

static int
term_draw_conv_head(struct term *t, int y, int x, int w)
{
	const struct term_conv *c = &t->open;
	char key[48], who[160], due[64], marks[256];
	unsigned long due_attr;
	int col, right = x + w;

	term_countdown(t, c, due, sizeof(due), &due_attr);
	if (due[0] != '\0')
		right = term_put_right(t, y, x + w, due, due_attr) - 1;
	col = term_level_mark(t, y, x, c->level, 0);
	col += term_put(t, y, col, right - col, c->case_number, A_BOLD);
	col += term_put(t, y, col, right - col, " ", 0);
	col += term_put(t, y, col, right - col, c->nickname != NULL ?
	    c->nickname : term_w(t, "queue.no_nickname"), A_BOLD);
	snprintf(key, sizeof(key), "state.%s", c->state);
	col += term_put(t, y, col, right - col, "  ", 0);
	col += term_put(t, y, col, right - col, term_w(t, key), 0);
	col += term_put(t, y, col, right - col, "  ", 0);
	term_who(t, c, who, sizeof(who));
	term_put(t, y, col, right - col, who, A_DIM);
	term_marks(t, c, marks, sizeof(marks));
	if (marks[0] == '\0')
		return y + 1;
	term_put(t, y + 1, x, w, marks, A_BOLD);
	return y + 2;
}

static void
term_draw_conv(struct term *t, int y0, int y1, int x, int w)
{
	struct term_rows r = { .t = t, .x = x, .w = w };
	int y, height;

	if (t->open_id == 0) {
		term_put(t, y0 + 1, x + 1, w - 1, term_w(t, "conv.none"), 0);
		return;
	}
	if (!t->open_loaded || t->open.id == 0) {
		term_put(t, y0 + 1, x + 1, w - 1, term_w(t, t->open_loaded ?
		    "conv.not_found" : "conv.loading"), 0);
		return;
	}
	y = term_draw_conv_head(t, y0, x, w);
	mvhline(y++, x, '-', w);
	if ((height = y1 - y) <= 0)
		return;
	if (t->n_hist == 0) {
		term_put(t, y, x + 1, w - 1, term_w(t, "conv.empty"), A_DIM);
		return;
	}
	term_rows_history(&r);		/* counts */
	if (t->scroll > r.row - height)
		t->scroll = r.row - height > 0 ? r.row - height : 0;
	r.last = r.row - t->scroll;
	r.first = r.last - height > 0 ? r.last - height : 0;
	r.y = y;
	r.row = 0;
	r.draw = true;
	term_rows_history(&r);
}

/* ---- input, feedback, keys, help ---- */

static int
term_input_height(struct term *t)
{
	int rows;

	if (t->mode != MODE_REPLY && t->mode != MODE_NOTE &&
	    t->mode != MODE_REASON)
		return 0;
	rows = term_edit_rows(&t->input, COLS - 3);
	return 1 + (rows > TERM_INPUT_ROWS ? TERM_INPUT_ROWS : rows);
}

static void
term_draw_input(struct term *t, int y, int rows)
{
	const struct term_conv *c = t->input_conv == t->open.id ? &t->open :
	    term_queue_find(t, t->input_conv);
	char label[256], key[32];
	const char *which = c != NULL ? c->case_number : "";

	mvhline(y, 0, '-', COLS);
	if (t->mode == MODE_REASON) {
		snprintf(key, sizeof(key), "level.name.%d", t->level);
		term_wf(t, label, sizeof(label), "input.reason", term_w(t, key),
		    NULL);
	} else {
		term_wf(t, label, sizeof(label), t->mode == MODE_REPLY ?
		    "input.reply" : "input.note", which, NULL);
	}
	term_put(t, y, 1, COLS - 2, label, A_BOLD | (t->mode == MODE_NOTE ?
	    term_colour(t, PAIR_MAGENTA) : 0));
	if (t->sending)
		term_put_right(t, y, COLS - 1, term_w(t, "input.sending"),
		    A_BOLD);
	term_put(t, y + 1, 0, 2, t->mode == MODE_NOTE ? "#" : ">", A_BOLD);
	term_draw_edit(&t->input, y + 1, 2, COLS - 3, rows - 1, false);
}

static const char *
term_keys_text(struct term *t, char *buf, size_t len)
{
	switch (t->mode) {
	case MODE_REPLY:
	case MODE_NOTE:
		return term_w(t, "keys.input");
	case MODE_REASON:
		return term_w(t, "keys.reason");
	case MODE_LEVEL:
		return term_w(t, "keys.level");
	case MODE_CONFIRM_QUIT:
		return term_w(t, "keys.quit");
	case MODE_HELP:
		return term_w(t, "keys.help");
	default:
		snprintf(buf, len, "%s%s", t->n_alerts > 0 ?
		    term_w(t, "keys.ack") : "", term_w(t, COLS >= 110 ?
		    "keys.browse" : "keys.browse_short"));
		return buf;
	}
}

static void
term_draw_help(struct term *t)
{
	int w = COLS - 4 < 76 ? COLS - 4 : 76, h = 15, y0, x0;
	char key[32];

	if (LINES < h + 2)
		h = LINES - 2;
	y0 = (LINES - h) / 2;
	x0 = (COLS - w) / 2;
	for (int y = y0; y < y0 + h; y++)
		mvhline(y, 0, ' ', COLS);	/* whole rows: nothing peeks out */
	mvhline(y0, x0, '-', w);
	mvhline(y0 + h - 1, x0, '-', w);
	term_put(t, y0, x0 + 2, w - 4, term_w(t, "help.title"), A_BOLD);
	for (int i = 1; i <= 12 && i < h - 1; i++) {
		snprintf(key, sizeof(key), "help.%d", i);
		term_put(t, y0 + i, x0 + 2, w - 4, term_w(t, key), 0);
	}
}

void
term_main_draw(struct term *t)
{
	int top = 1, input = term_input_height(t);
	int bottom = LINES - 2 - input, qw = COLS * 2 / 5;
	char keys[512];
	bool wide = COLS >= TERM_WIDE_COLS;

	term_draw_status(t);
	if (t->n_alerts > 0)
		term_draw_banner(t, top++);
	if (qw > 56)
		qw = 56;
	if (strcmp(t->role, "admin") == 0) {
		/* Nothing to list: the feedback line says where to go. */
	} else if (wide) {
		term_draw_queue(t, top, bottom, 0, qw, t->pane == PANE_QUEUE);
		mvvline(top, qw, '|', bottom - top);
		term_draw_conv(t, top, bottom, qw + 2, COLS - qw - 3);
	} else if (t->pane == PANE_QUEUE) {
		term_draw_queue(t, top, bottom, 0, COLS, true);
	} else {
		term_draw_conv(t, top, bottom, 1, COLS - 2);
	}
	term_put(t, LINES - 2, 1, COLS - 2, t->message, t->message_error ?
	    A_BOLD | term_colour(t, PAIR_RED) : 0);
	mvhline(LINES - 1, 0, ' ' | A_REVERSE, COLS);
	term_put(t, LINES - 1, 1, COLS - 2, term_keys_text(t, keys,
	    sizeof(keys)), A_REVERSE);
	if (t->mode == MODE_HELP)
		term_draw_help(t);
	curs_set(input > 0 ? 1 : 0);
	if (input > 0)
		term_draw_input(t, bottom, input);
}
