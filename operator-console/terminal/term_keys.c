/*
 * term_keys.c - the main screen's keys, by mode: browsing (move, open,
 * act), typing a reply, a note or a reason (an editable line; Enter sends,
 * Ctrl-J starts a new line, Esc keeps a draft), choosing a crisis level,
 * confirming a quit that would lose typed text, and the help.
 */
#include "term_internal.h"

#include <string.h>

#include <curses.h>

#define KEY_CTRL(c)	((c) & 0x1f)
#define KEY_ESC		27

static bool
term_key_enter(int is_key, wint_t ch)
{
	return (!is_key && ch == '\r') || (is_key && ch == KEY_ENTER);
}

static void
term_quit_asked(struct term *t)
{
	if (term_drafts_any(t) || !term_edit_blank(&t->input)) {
		t->mode_before = t->mode;
		t->mode = MODE_CONFIRM_QUIT;
		return;
	}
	term_quit(t);
}

/* Opens the input for a reply or a note, with its draft if one was kept. */
static void
term_input_open(struct term *t, enum term_mode kind)
{
	long long id = term_target(t);
	struct term_draft *d;

	if (id == 0) {
		term_say(t, true, term_w(t, "err.choose"));
		return;
	}
	term_open(t, id);
	term_edit_clear(&t->input);
	if ((d = term_draft_find(t, id, kind, false)) != NULL)
		term_edit_take(&t->input, &d->text);
	t->input_conv = id;
	t->mode = kind;
	t->message[0] = '\0';
}

static void
term_input_close(struct term *t)
{
	struct term_draft *d;

	if ((t->mode == MODE_REPLY || t->mode == MODE_NOTE) &&
	    !term_edit_blank(&t->input) &&
	    (d = term_draft_find(t, t->input_conv, t->mode, true)) != NULL) {
		term_edit_take(&d->text, &t->input);
		term_say(t, false, term_w(t, "ok.draft"));
	}
	term_edit_clear(&t->input);
	t->mode = MODE_BROWSE;
}

static void
term_input_key(struct term *t, int is_key, wint_t ch)
{
	struct term_edit *e = &t->input;

	if (!is_key && ch == KEY_ESC)
		term_input_close(t);
	else if (!is_key && ch == KEY_CTRL('c'))
		term_quit_asked(t);
	else if (term_key_enter(is_key, ch))
		t->mode == MODE_REASON ? term_act_crisis(t) : term_act_send(t);
	else if (t->sending)
		return;		/* the text stays as it was sent */
	else if (!is_key && ch == '\n')
		term_edit_insert(e, t->mode == MODE_REASON ? L' ' : L'\n');
	else if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 127 ||
	    ch == KEY_CTRL('h'))))
		term_edit_backspace(e);
	else if (is_key && ch == KEY_DC)
		term_edit_delete(e);
	else if (is_key && (ch == KEY_LEFT || ch == KEY_RIGHT))
		term_edit_move(e, ch == KEY_LEFT ? -1 : 1);
	else if ((is_key && ch == KEY_HOME) || (!is_key && ch == KEY_CTRL('a')))
		term_edit_home(e);
	else if ((is_key && ch == KEY_END) || (!is_key && ch == KEY_CTRL('e')))
		term_edit_end(e);
	else if (!is_key && term_text_typable(ch))
		term_edit_insert(e, (wchar_t)ch);
}

static void
term_move(struct term *t, int by)
{
	if (t->pane == PANE_CONV) {
		t->scroll -= by;
		if (t->scroll < 0)
			t->scroll = 0;
		return;
	}
	if (t->n_queue == 0)
		return;
	if (by < 0 && t->sel > 0)
		t->sel--;
	else if (by > 0 && t->sel + 1 < t->n_queue)
		t->sel++;
	t->selected = t->queue[t->sel].id;
}

static void
term_enter(struct term *t)
{
	if (t->selected == 0)
		return;
	term_open(t, t->selected);
	if (COLS < 100)
		t->pane = PANE_CONV;
}

static void
term_browse_key(struct term *t, int is_key, wint_t ch)
{
	int page = LINES / 2;

	if (is_key) {
		if (ch == KEY_DOWN || ch == KEY_UP)
			term_move(t, ch == KEY_DOWN ? 1 : -1);
		else if (ch == KEY_PPAGE || ch == KEY_NPAGE)
			t->scroll += ch == KEY_PPAGE ? page : -page;
		else if (ch == KEY_ENTER)
			term_enter(t);
		if (t->scroll < 0)
			t->scroll = 0;
		return;
	}
	t->message_error = false;
	switch (ch) {
	case 'j': term_move(t, 1); break;
	case 'k': term_move(t, -1); break;
	case '\r': case '\n': term_enter(t); break;
	case '\t':
		t->pane = t->pane == PANE_QUEUE ? PANE_CONV : PANE_QUEUE;
		break;
	case 'c': term_act_claim(t); break;
	case 'r': term_input_open(t, MODE_REPLY); break;
	case 'n': term_input_open(t, MODE_NOTE); break;
	case '!':
		if (term_target(t) == 0) {
			term_say(t, true, term_w(t, "err.choose"));
			break;
		}
		t->input_conv = term_target(t);
		term_open(t, t->input_conv);
		t->mode = MODE_LEVEL;
		break;
	case 'a': term_act_ack(t); break;
	case 'x': term_act_release(t); break;
	case 'p': term_act_presence(t); break;
	case '?':
		t->mode_before = MODE_BROWSE;
		t->mode = MODE_HELP;
		break;
	case 'q': case KEY_CTRL('c'): term_quit_asked(t); break;
	default: break;
	}
}

void
term_main_key(struct term *t, int is_key, wint_t ch)
{
	switch (t->mode) {
	case MODE_HELP:
		t->mode = t->mode_before;
		break;
	case MODE_CONFIRM_QUIT:
		if (!is_key && (ch == 'y' || ch == 'Y'))
			term_quit(t);
		else if (!is_key && (ch == 'n' || ch == 'N' || ch == KEY_ESC))
			t->mode = t->mode_before;
		break;
	case MODE_LEVEL:
		if (!is_key && ch >= '0' && ch <= '2') {
			t->level = (int)(ch - '0');
			term_edit_clear(&t->input);
			t->mode = MODE_REASON;
		} else if (!is_key && ch == KEY_ESC) {
			t->mode = MODE_BROWSE;
		}
		break;
	case MODE_REPLY:
	case MODE_NOTE:
	case MODE_REASON:
		term_input_key(t, is_key, ch);
		break;
	default:
		if (strcmp(t->role, "admin") == 0 && !(!is_key &&
		    (ch == 'q' || ch == KEY_CTRL('c') || ch == '?'))) {
			term_say(t, false, term_w(t, "err.admin"));
			break;
		}
		term_browse_key(t, is_key, ch);
		break;
	}
}
