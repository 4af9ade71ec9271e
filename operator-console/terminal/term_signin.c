/*
 * term_signin.c - signing in, the whole flow of the API: login and
 * password; then, as the server says next, a new password typed twice
 * (after a one-time password), the authenticator's enrolment (the key in
 * groups of four, its URI and a QR code of half blocks), and the TOTP
 * code. Passwords are never shown and are zeroed once sent.
 */
#include "term_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curses.h>
#include <qrencode.h>

#define TERM_FIELD_X	20
#define TERM_FIELD_W	40

static void	term_signin_next(struct term *t, const cJSON *json);

static void
term_signin_wipe(struct term *t)
{
	struct term_signin *si = &t->si;

	term_edit_clear(&si->secret[0]);
	term_edit_clear(&si->secret[1]);
	if (si->enrol_secret != NULL)
		explicit_bzero(si->enrol_secret, strlen(si->enrol_secret));
	if (si->enrol_uri != NULL)
		explicit_bzero(si->enrol_uri, strlen(si->enrol_uri));
	free(si->enrol_secret);
	free(si->enrol_uri);
	si->enrol_secret = si->enrol_uri = NULL;
	si->busy = false;
}

void
term_signin_free(struct term *t)
{
	term_signin_wipe(t);
	term_edit_clear(&t->si.login);
}

void
term_signin_begin(struct term *t, const char *why)
{
	term_signin_wipe(t);
	t->screen = TERM_SIGNIN;
	t->si.step = STEP_LOGIN;
	t->si.field = t->si.login.len > 0 ? 1 : 0;
	t->message[0] = '\0';
	if (why != NULL)
		term_say(t, true, why);
}

static void
term_signin_fail(struct term *t, const char *action,
    const struct term_answer *a)
{
	t->si.busy = false;
	if (a->status == 401 && a->code != NULL &&
	    strcmp(a->code, "signed_out") == 0) {
		term_api_forget(t);
		term_signin_begin(t, term_w(t, "err.signed_out"));
	} else {
		term_say(t, true, term_w_error(t, action, a->code));
	}
	term_edit_clear(&t->si.secret[0]);
	term_edit_clear(&t->si.secret[1]);
	term_redraw(t);
}

static void
term_signin_staff(struct term *t, const cJSON *json)
{
	const cJSON *staff = cJSON_GetObjectItemCaseSensitive(json, "staff");
	const char *lang = term_json_str(staff, "language");

	if (!cJSON_IsObject(staff))
		return;
	t->staff_id = term_json_int(staff, "id");
	free(t->staff_name);
	t->staff_name = term_json_str(staff, "display_name") != NULL ?
	    strdup(term_json_str(staff, "display_name")) : NULL;
	snprintf(t->role, sizeof(t->role), "%s", term_json_str(staff,
	    "role") != NULL ? term_json_str(staff, "role") : "");
	t->en = lang != NULL && strcmp(lang, "en") == 0;
}

static void
term_enrol_done(struct term *t, const struct term_answer *a, void *arg)
{
	const char *secret = term_json_str(a->json, "secret");
	const char *uri = term_json_str(a->json, "uri");

	(void)arg;
	if (a->status != 200 || secret == NULL || uri == NULL) {
		term_signin_fail(t, "enrol", a);
		return;
	}
	t->si.busy = false;
	t->si.step = STEP_ENROL;
	t->si.field = 0;
	t->si.enrol_secret = strdup(secret);
	t->si.enrol_uri = strdup(uri);
	term_redraw(t);
}

static void
term_session_done(struct term *t, const struct term_answer *a, void *arg)
{
	(void)arg;
	if (a->status != 200) {
		term_signin_fail(t, "session", a);
		return;
	}
	term_signin_next(t, a->json);
}

/* Goes where the server's "next" says. */
static void
term_signin_next(struct term *t, const cJSON *json)
{
	const char *next = term_json_str(json, "next");
	struct term_signin *si = &t->si;

	term_signin_staff(t, json);
	term_edit_clear(&si->secret[0]);
	term_edit_clear(&si->secret[1]);
	t->message[0] = '\0';
	si->busy = false;
	si->field = 0;
	if (next == NULL) {
		term_signin_wipe(t);
		term_main_start(t);
	} else if (strcmp(next, "enrol") == 0) {
		si->busy = term_api(t, "GET", "/api/session/enrol", NULL,
		    TERM_API_SIGNIN, term_enrol_done, NULL);
	} else if (strcmp(next, "totp") == 0) {
		si->step = STEP_TOTP;
	} else if (strcmp(next, "new_password") == 0) {
		si->step = STEP_NEW_PASSWORD;
	}
	term_redraw(t);
}

static void
term_step_done(struct term *t, const struct term_answer *a, void *arg)
{
	const char *action = arg;

	if (a->status != 200) {
		term_signin_fail(t, action, a);
		return;
	}
	if (strcmp(action, "login") == 0) {
		/* The first answer has no "next": the session says it. */
		t->si.busy = term_api(t, "GET", "/api/session", NULL,
		    TERM_API_SIGNIN, term_session_done, NULL);
		return;
	}
	term_signin_next(t, a->json);
}

/* Sends one step; the body's strings are wiped once sent. */
static void
term_signin_send(struct term *t, const char *path, cJSON *body,
    const char *action)
{
	t->si.busy = term_api(t, "POST", path, body,
	    TERM_API_SIGNIN | TERM_API_SECRET, term_step_done, (void *)action);
	if (!t->si.busy)
		term_say(t, true, term_w(t, "err.network"));
}

static void
term_add_secret(cJSON *body, const char *name, struct term_edit *e,
    bool trim)
{
	char *s = term_edit_utf8(e, trim);

	cJSON_AddStringToObject(body, name, s != NULL ? s : "");
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

static bool
term_code_valid(const struct term_edit *e)
{
	size_t digits = 0;

	for (size_t i = 0; i < e->len; i++) {
		if (e->buf[i] == L' ')
			continue;
		if (e->buf[i] < L'0' || e->buf[i] > L'9')
			return false;
		digits++;
	}
	return digits == 6;
}

static void
term_signin_submit(struct term *t)
{
	struct term_signin *si = &t->si;
	cJSON *body = cJSON_CreateObject();

	if (si->step == STEP_LOGIN) {
		term_add_secret(body, "login", &si->login, true);
		term_add_secret(body, "password", &si->secret[0], false);
		term_signin_send(t, "/api/session", body, "login");
	} else if (si->step == STEP_NEW_PASSWORD) {
		char *a = term_edit_utf8(&si->secret[0], false);
		char *b = term_edit_utf8(&si->secret[1], false);
		bool same = a != NULL && b != NULL && strcmp(a, b) == 0;

		if (a != NULL)
			explicit_bzero(a, strlen(a));
		if (b != NULL)
			explicit_bzero(b, strlen(b));
		free(a);
		free(b);
		if (!same) {
			cJSON_Delete(body);
			term_edit_clear(&si->secret[0]);
			term_edit_clear(&si->secret[1]);
			si->field = 0;
			term_say(t, true, term_w(t, "err.mismatch"));
			return;
		}
		term_add_secret(body, "password", &si->secret[0], false);
		term_signin_send(t, "/api/session/password", body, "password");
	} else if (!term_code_valid(&si->secret[0])) {
		cJSON_Delete(body);
		term_say(t, true, term_w(t, "err.code_format"));
	} else {
		char code[8];
		size_t n = 0;

		for (size_t i = 0; i < si->secret[0].len && n < 6; i++)
			if (si->secret[0].buf[i] != L' ')
				code[n++] = (char)si->secret[0].buf[i];
		code[n] = '\0';
		cJSON_AddStringToObject(body, "code", code);
		term_signin_send(t, "/api/session/totp", body, "code");
	}
}

static int
term_signin_fields(const struct term *t)
{
	return t->si.step == STEP_LOGIN || t->si.step == STEP_NEW_PASSWORD ?
	    2 : 1;
}

static struct term_edit *
term_signin_field(struct term *t, int field)
{
	if (t->si.step == STEP_LOGIN)
		return field == 0 ? &t->si.login : &t->si.secret[0];
	return &t->si.secret[field];
}

/* Esc after the password: start again from the login. */
static void
term_signin_restart(struct term *t)
{
	if (t->cookie[0] != '\0' && !term_api(t, "DELETE", "/api/session",
	    NULL, TERM_API_SIGNIN, NULL, NULL))
		term_say(t, true, term_w(t, "err.network"));
	term_api_forget(t);
	term_signin_begin(t, NULL);
}

static void
term_signin_enter(struct term *t)
{
	struct term_signin *si = &t->si;

	if (si->busy)
		return;
	if (si->field + 1 < term_signin_fields(t)) {
		si->field++;
		return;
	}
	if (si->step == STEP_LOGIN && term_edit_blank(&si->login)) {
		si->field = 0;
		term_say(t, true, term_w(t, "err.required"));
		return;
	}
	term_say(t, false, term_w(t, "login.busy"));
	term_signin_submit(t);
}

static bool
term_signin_edit_key(struct term_edit *e, int is_key, wint_t ch)
{
	if (is_key && (ch == KEY_BACKSPACE))
		term_edit_backspace(e);
	else if (!is_key && (ch == 127 || ch == 8))
		term_edit_backspace(e);
	else if (is_key && ch == KEY_DC)
		term_edit_delete(e);
	else if (is_key && ch == KEY_LEFT)
		term_edit_move(e, -1);
	else if (is_key && ch == KEY_RIGHT)
		term_edit_move(e, 1);
	else if ((is_key && ch == KEY_HOME) || (!is_key && ch == 1))
		term_edit_home(e);
	else if ((is_key && ch == KEY_END) || (!is_key && ch == 5))
		term_edit_end(e);
	else if (!is_key && term_text_typable(ch))
		term_edit_insert(e, (wchar_t)ch);
	else
		return false;
	return true;
}

void
term_signin_key(struct term *t, int is_key, wint_t ch)
{
	struct term_signin *si = &t->si;
	int n = term_signin_fields(t);

	if (!is_key && ch == 3) {		/* Ctrl-C */
		term_quit(t);
	} else if (!is_key && ch == 27) {
		if (si->step != STEP_LOGIN)
			term_signin_restart(t);
	} else if ((!is_key && (ch == '\r' || ch == '\n')) ||
	    (is_key && ch == KEY_ENTER)) {
		term_signin_enter(t);
	} else if ((!is_key && ch == '\t') || (is_key && ch == KEY_DOWN)) {
		si->field = (si->field + 1) % n;
	} else if (is_key && (ch == KEY_BTAB || ch == KEY_UP)) {
		si->field = (si->field + n - 1) % n;
	} else if (!si->busy) {
		term_signin_edit_key(term_signin_field(t, si->field), is_key,
		    ch);
	}
}

/* ---- drawing ---- */

static int
term_signin_input(struct term *t, int y, const char *label, int field,
    bool secret)
{
	int w = COLS - TERM_FIELD_X - 2;

	if (w > TERM_FIELD_W)
		w = TERM_FIELD_W;
	term_put(t, y, 2, TERM_FIELD_X - 3, term_w(t, label), A_BOLD);
	mvhline(y, TERM_FIELD_X, ' ' | A_UNDERLINE, w);
	if (secret)
		term_put(t, y, TERM_FIELD_X + w + 1, COLS - TERM_FIELD_X - w -
		    1, term_w(t, "login.hidden"), A_DIM);
	if (t->si.field != field)
		term_draw_edit(term_signin_field(t, field), y, TERM_FIELD_X, w,
		    1, secret);
	return y + 2;
}

/* Draws the field with the cursor last, so the cursor stays there. */
static void
term_signin_cursor(struct term *t, int y_field, bool secret)
{
	int w = COLS - TERM_FIELD_X - 2;

	if (w > TERM_FIELD_W)
		w = TERM_FIELD_W;
	term_draw_edit(term_signin_field(t, t->si.field), y_field,
	    TERM_FIELD_X, w, 1, secret);
}

/* The base32 key in groups of four, for typing. */
static void
term_signin_key_groups(struct term *t, int y)
{
	const char *s = t->si.enrol_secret;
	char grouped[160];
	size_t n = 0;

	for (size_t i = 0; s[i] != '\0' && n + 2 < sizeof(grouped); i++) {
		if (i > 0 && i % 4 == 0)
			grouped[n++] = ' ';
		grouped[n++] = s[i];
	}
	grouped[n] = '\0';
	explicit_bzero(grouped + n, sizeof(grouped) - n);
	term_put(t, y, 4, COLS - 6, grouped, A_BOLD);
	explicit_bzero(grouped, sizeof(grouped));
}

/* Two rows of modules per character: ▀ ▄ █ and space. */
static void
term_signin_qr(struct term *t, const QRcode *qr, int y, int x)
{
	static const wchar_t cells[4] = { L' ', 0x2584, 0x2580, 0x2588 };
	unsigned long attr = term_colour(t, PAIR_QR);
	int size = qr->width, quiet = 2, side = size + 2 * quiet;

	for (int r = 0; r < side; r += 2) {
		for (int c = 0; c < side; c++) {
			int mr = r - quiet, mc = c - quiet;
			bool in = mc >= 0 && mc < size;
			bool top = in && mr >= 0 && mr < size &&
			    (qr->data[mr * size + mc] & 1);
			bool bot = in && mr + 1 >= 0 && mr + 1 < size &&
			    (qr->data[(mr + 1) * size + mc] & 1);
			/* Without colours the terminal is taken to be light
			 * on dark: the light modules are the ones drawn. */
			int k = t->colour ? (top << 1 | bot) :
			    (!top << 1 | !bot);

			term_putw(y + r / 2, x + c, 1, &cells[k], 1, attr);
		}
	}
}

/*
 * The key, the code's field, the URI, and the QR code: on the right when
 * the screen is wide enough, else below the URI when it fits, else not.
 */
static void
term_signin_enrol(struct term *t, int y)
{
	QRcode *qr = QRcode_encodeString(t->si.enrol_uri, 0, QR_ECLEVEL_L,
	    QR_MODE_8, 1);
	int side = qr != NULL ? qr->width + 4 : 0, tw = COLS - 4;
	int qr_x = -1, qr_y = 1;
	struct term_line lines[8];
	wchar_t *uri;
	size_t n, k;

	if (qr != NULL && COLS - side - 2 >= 60 && (side + 1) / 2 < LINES - 2) {
		qr_x = COLS - side - 1;
		tw = qr_x - 4;
	}
	term_put(t, y++, 2, tw, term_w(t, "enrol.intro"), 0);
	term_signin_key_groups(t, y++);
	y++;
	term_put(t, y++, 2, tw, term_w(t, "enrol.then"), 0);
	y = term_signin_input(t, y, "totp.code", 0, false);
	term_put(t, y++, 2, tw, term_w(t, "enrol.uri"), 0);
	if ((uri = term_text_wide(t->si.enrol_uri, false, &n)) != NULL) {
		k = term_text_wrap(uri, n, tw - 2, lines, 8);
		for (size_t i = 0; i < k && i < 8; i++)
			term_putw(y++, 4, tw - 2, uri + lines[i].start,
			    lines[i].len, 0);
		explicit_bzero(uri, n * sizeof(*uri));
		free(uri);
	}
	if (qr_x < 0 && qr != NULL && (side + 1) / 2 <= LINES - 3 - y &&
	    side + 4 <= COLS) {
		qr_x = 4;
		qr_y = y;
	}
	if (qr_x >= 0)
		term_signin_qr(t, qr, qr_y, qr_x);
	QRcode_free(qr);
}

void
term_signin_draw(struct term *t)
{
	static const char *heads[] = { "login.heading", "pw.heading",
	    "enrol.heading", "totp.heading" };
	struct term_signin *si = &t->si;
	char line[1200];
	int y = 1, field_y[2] = { 0, 0 };
	bool secret = si->step != STEP_LOGIN || si->field == 1;

	term_put(t, y++, 2, COLS - 4, term_w(t, "app"), A_BOLD);
	term_wf(t, line, sizeof(line), "server", t->url, NULL);
	term_put(t, y++, 2, COLS - 4, line, A_DIM);
	y++;
	term_put(t, y++, 2, COLS - 4, term_w(t, heads[si->step]),
	    A_BOLD | A_UNDERLINE);
	y++;
	if (si->step == STEP_LOGIN) {
		field_y[0] = y;
		y = term_signin_input(t, y, "login.id", 0, false);
		field_y[1] = y;
		y = term_signin_input(t, y, "login.password", 1, true);
	} else if (si->step == STEP_NEW_PASSWORD) {
		term_put(t, y++, 2, COLS - 4, term_w(t, "pw.intro"), 0);
		term_put(t, y++, 2, COLS - 4, term_w(t, "pw.rule"), A_DIM);
		y++;
		field_y[0] = y;
		y = term_signin_input(t, y, "pw.new", 0, true);
		field_y[1] = y;
		y = term_signin_input(t, y, "pw.confirm", 1, true);
	} else if (si->step == STEP_TOTP) {
		term_put(t, y++, 2, COLS - 4, term_w(t, "totp.intro"), 0);
		y++;
		field_y[0] = y;
		y = term_signin_input(t, y, "totp.code", 0, false);
	} else if (si->enrol_secret != NULL && si->enrol_uri != NULL) {
		field_y[0] = y + 4;
		term_signin_enrol(t, y);
	}
	if (si->step >= STEP_ENROL)
		secret = false;
	term_put(t, LINES - 2, 1, COLS - 2, t->message, t->message_error ?
	    (A_BOLD | term_colour(t, PAIR_RED)) : 0);
	mvhline(LINES - 1, 0, ' ' | A_REVERSE, COLS);
	term_put(t, LINES - 1, 1, COLS - 2, term_w(t, si->step == STEP_LOGIN ?
	    "signin.keys" : "signin.keys_later"), A_REVERSE);
	if (field_y[si->field] > 0) {
		curs_set(1);
		term_signin_cursor(t, field_y[si->field], secret);
	} else {
		curs_set(0);
	}
}
