/*
 * term_words.c - every word the terminal console shows, in Japanese (the
 * default) and English (for staff whose language is "en"). The wording
 * follows the web console's (operator-console/web/i18n.js), so a counsellor
 * who uses both reads the same words. "{}" is filled in by term_wf.
 */
#include "term_internal.h"

#include <stdio.h>
#include <string.h>

struct term_word {
	const char	*key;
	const char	*ja;
	const char	*en;
};

static const struct term_word term_words[] = {
	{ "app", "madoguchi 相談員コンソール", "madoguchi counsellor console" },
	{ "server", "サーバー：{}", "Server: {}" },
	{ "login.heading", "ログイン", "Sign in" },
	{ "login.id", "ログインID", "Login" },
	{ "login.password", "パスワード", "Password" },
	{ "login.hidden", "（入力した文字は表示されません）",
	    "(what you type is not shown)" },
	{ "login.busy", "確認しています…", "Checking…" },
	{ "pw.heading", "新しいパスワードの設定", "Choose a new password" },
	{ "pw.intro", "仮のパスワードでログインしました。ご自身のパスワードを決めてください。",
	    "You signed in with a one-time password. Choose your own." },
	{ "pw.rule", "12文字以上。同じ文字の繰り返しや、改行などの制御文字は使えません。",
	    "At least 12 characters; no repeated single character, no control characters." },
	{ "pw.new", "新しいパスワード", "New password" },
	{ "pw.confirm", "もう一度", "Again" },
	{ "enrol.heading", "認証アプリの登録", "Authenticator app" },
	{ "enrol.intro", "初めてのログインです。認証アプリにこのキーを登録してください：",
	    "First sign-in: add this key to your authenticator app:" },
	{ "enrol.uri", "または次のURIかQRコードで登録：",
	    "or this URI, or the QR code:" },
	{ "enrol.then", "登録したら、アプリに表示された6桁のコードを入力してください。",
	    "Then type the 6-digit code the app shows." },
	{ "totp.heading", "確認コード", "Verification code" },
	{ "totp.intro", "認証アプリに表示されている6桁のコードを入力してください。",
	    "Type the 6-digit code your authenticator app shows." },
	{ "totp.code", "確認コード", "Code" },
	{ "signin.keys", "Tab 次の欄  Enter 決定  Ctrl-C 終了",
	    "Tab next field  Enter confirm  Ctrl-C quit" },
	{ "signin.keys_later", "Enter 決定  Esc 最初からやり直す  Ctrl-C 終了",
	    "Enter confirm  Esc start again  Ctrl-C quit" },
	{ "role.counsellor", "相談員", "counsellor" },
	{ "role.supervisor", "スーパーバイザー", "supervisor" },
	{ "role.admin", "管理者", "admin" },
	{ "presence.online", "受付中", "online" },
	{ "presence.away", "離席中", "away" },
	{ "presence.unknown", "確認中", "…" },
	{ "conn.connecting", "接続しています", "connecting" },
	{ "conn.live", "接続中", "live" },
	{ "conn.waiting", "再接続待ち {}秒", "reconnecting in {} s" },
	{ "conn.off", "未接続", "offline" },
	{ "queue.heading", "相談一覧 {}件", "Queue: {}" },
	{ "queue.empty", "いま対応を待っている相談はありません。",
	    "Nobody is waiting." },
	{ "queue.loading", "読み込み中…", "Loading…" },
	{ "queue.unassigned", "未担当", "unassigned" },
	{ "queue.assignee", "担当：{}", "with {}" },
	{ "queue.no_nickname", "（呼び名なし）", "(no nickname)" },
	{ "queue.no_preview", "（メッセージなし）", "(no message)" },
	{ "queue.overdue", "［期限超過］", "[overdue]" },
	{ "queue.due_soon", "［まもなく期限］", "[due soon]" },
	{ "queue.restricted", "［利用制限中］", "[restricted]" },
	{ "queue.in_webchat", "［Webチャット接続中］", "[in web chat]" },
	{ "queue.webchat", "［Webチャット］", "[web chat]" },
	{ "queue.exception", "［緊急例外中］", "[emergency exception]" },
	{ "queue.long_session", "［長時間対応］", "[long session]" },
	{ "queue.returning", "［再相談］", "[returning]" },
	{ "level.2", "!!高", "!!HI" },
	{ "level.1", "! 中", "! MD" },
	{ "level.name.2", "高", "high" },
	{ "level.name.1", "中", "medium" },
	{ "level.name.0", "なし", "none" },
	{ "state.waiting", "返信待ち", "waiting" },
	{ "state.active", "対応中", "active" },
	{ "state.waiting_for_user", "相談者の返信待ち", "waiting for them" },
	{ "state.closed", "終了", "closed" },
	{ "conv.none", "一覧から相談を選んで Enter で開いてください。",
	    "Choose a conversation in the queue and press Enter." },
	{ "conv.loading", "読み込み中…", "Loading…" },
	{ "conv.not_found", "この相談は表示できません（他の相談員が担当したか、見つかりません）。",
	    "This conversation cannot be shown (someone else took it, or it is gone)." },
	{ "conv.empty", "まだやりとりはありません。", "Nothing yet." },
	{ "conv.mine", "担当：あなた", "yours" },
	{ "dir.in", "相談者", "them" },
	{ "dir.auto", "自動応答", "auto-reply" },
	{ "dir.system", "システム", "system" },
	{ "msg.no_text", "（本文はありません）", "(no text)" },
	{ "msg.not_accepted", "{}（受け付けていません）", "{} (not accepted)" },
	{ "via.webchat", "［Webチャット］", "[web chat]" },
	{ "delivery.pending", "送信待ち", "pending" },
	{ "delivery.retrying", "再送中", "retrying" },
	{ "delivery.sent", "送信済み", "sent" },
	{ "delivery.failed", "送信失敗", "failed" },
	{ "delivery.undeliverable", "送信不能", "undeliverable" },
	{ "event.note", "内部メモ（相談者には送信されません）",
	    "internal note (never sent)" },
	{ "event.claimed", "担当開始", "claimed" },
	{ "event.released", "担当を外れました", "released" },
	{ "event.transferred", "担当を引き継ぎました", "transferred" },
	{ "event.closed", "相談を終了しました", "closed" },
	{ "event.auto_closed", "相談を自動で終了しました", "closed by itself" },
	{ "event.nickname", "呼び名を変更しました", "nickname changed" },
	{ "event.crisis_raised", "緊急度を引き上げました", "crisis level raised" },
	{ "event.crisis_lowered", "緊急度を引き下げました", "crisis level lowered" },
	{ "event.due_soon", "まもなく返信期限です", "reply due soon" },
	{ "event.overdue", "返信期限を過ぎました", "reply overdue" },
	{ "event.long_session", "長時間の対応になっています", "long session" },
	{ "event.strict_exception", "緊急例外を開始（LINEで直接やりとり）",
	    "emergency exception (LINE directly)" },
	{ "event.strict_exception_ended", "緊急例外を終了",
	    "emergency exception ended" },
	{ "event.unknown", "記録（{}）", "record ({})" },
	{ "event.level_to", " → 緊急度：{}", " → level {}" },
	{ "event.reason", "理由：{}", "reason: {}" },
	{ "input.reply", "返信（{}）", "Reply ({})" },
	{ "input.note", "内部メモ（{}）相談者には送信されません",
	    "Internal note ({}), never sent" },
	{ "input.reason", "緊急度を「{}」にする理由（記録に残ります。相談者には送られません）",
	    "Why level {} (recorded, never sent)" },
	{ "input.sending", "送信中…", "Sending…" },
	{ "keys.browse", "j/k 移動  Enter 開く  c 担当  r 返信  n メモ  ! 緊急度  x 外す  p 受付/離席  Tab 欄  ? ヘルプ  q 終了",
	    "j/k move  Enter open  c claim  r reply  n note  ! crisis  x release  p presence  Tab pane  ? help  q quit" },
	{ "keys.ack", "a 緊急確認  ", "a acknowledge  " },
	{ "keys.browse_short", "j/k 移動  Enter 開く  c 担当  r 返信  n メモ  Tab 欄  ? ヘルプ  q 終了",
	    "j/k move  Enter open  c claim  r reply  n note  Tab pane  ? help  q quit" },
	{ "keys.input", "Enter 送信  Ctrl-J 改行  ←/→ 移動  Esc 取消（下書きを残す）",
	    "Enter send  Ctrl-J new line  ←/→ move  Esc cancel (draft kept)" },
	{ "keys.reason", "Enter 決定  Esc 取消", "Enter confirm  Esc cancel" },
	{ "keys.level", "緊急度を選んでください：2 高（命の危険）  1 中（見守る）  0 なし  Esc 取消",
	    "Crisis level: 2 high (life at risk)  1 medium  0 none  Esc cancel" },
	{ "keys.quit", "入力中の文章が失われます。終了しますか？  y 終了する  n 戻る",
	    "What you typed will be lost. Quit?  y quit  n stay" },
	{ "keys.help", "何かキーを押すと閉じます", "Press any key to close" },
	{ "help.title", "キー操作", "Keys" },
	{ "help.1", "j / k, ↓ / ↑   一覧で移動（履歴の欄ではスクロール）",
	    "j / k, ↓ / ↑   move in the queue (scroll in the history pane)" },
	{ "help.2", "Enter          選んだ相談を開く", "Enter          open the chosen conversation" },
	{ "help.3", "c              担当する", "c              claim it" },
	{ "help.4", "r              返信を書く（Enter 送信、Ctrl-J 改行、Esc 取消）",
	    "r              reply (Enter sends, Ctrl-J new line, Esc cancels)" },
	{ "help.5", "n              内部メモを書く（相談者には届きません）",
	    "n              internal note (never sent)" },
	{ "help.6", "!              緊急度を変える（理由を書く）",
	    "!              change the crisis level (with a reason)" },
	{ "help.7", "a              緊急の通知を確認済みにする（スーパーバイザー）",
	    "a              acknowledge a crisis alert (supervisors)" },
	{ "help.8", "x              担当を外す（一覧に戻す）",
	    "x              release it to the queue" },
	{ "help.9", "p              受付中 / 離席中を切り替える",
	    "p              switch online / away" },
	{ "help.10", "Tab            一覧と相談の欄を切り替える",
	    "Tab            switch between queue and conversation" },
	{ "help.11", "PgUp / PgDn    履歴をスクロール", "PgUp / PgDn    scroll the history" },
	{ "help.12", "q              終了（ログアウトして画面を消します）",
	    "q              quit (signs out and clears the screen)" },
	{ "alert.banner", "【緊急】{} 命の危険があるかもしれない相談です（通知 {}回目）",
	    "[CRISIS] {}: a life may be at risk (alert {})" },
	{ "alert.more", "  ほか {}件", "  and {} more" },
	{ "alert.keys", "  a: 確認しました", "  a: acknowledge" },
	{ "alert.acked", "{} の通知を確認済みにしました。",
	    "The alert for {} is acknowledged." },
	{ "alert.none", "確認を待っている緊急の通知はありません。",
	    "No crisis alert waits for an acknowledgement." },
	{ "ok.claimed", "この相談を担当しました。", "You hold this conversation now." },
	{ "ok.sent", "返信を送信待ちに入れました。", "The reply is on its way." },
	{ "ok.note", "内部メモを残しました。", "Note saved." },
	{ "ok.level", "緊急度を「{}」にしました。", "Crisis level set to {}." },
	{ "ok.released", "担当を外しました（一覧に戻りました）。",
	    "Released: back in the queue." },
	{ "ok.presence", "「{}」にしました。", "You are {} now." },
	{ "ok.draft", "下書きを残しました（もう一度押すと続きから書けます）。",
	    "Draft kept (press the key again to go on)." },
	{ "err.choose", "先に相談を選んでください。", "Choose a conversation first." },
	{ "err.admin", "管理機能はサーバー上の madoguchi コマンドで行ってください。",
	    "Administration is done with the madoguchi command on the server." },
	{ "err.bad_credentials", "ログインIDまたはパスワードが違います。",
	    "Wrong login or password." },
	{ "err.code.bad_credentials", "確認コードが違います。認証アプリに表示されている最新のコードを入力してください。",
	    "Wrong code. Type the newest code your app shows." },
	{ "err.bad_code", "確認コードが違います。認証アプリに表示されている最新のコードを入力してください。",
	    "Wrong code. Type the newest code your app shows." },
	{ "err.locked", "失敗が続いたため、このアカウントはしばらくロックされています。15分ほど待ってから、もう一度お試しください。",
	    "Too many failures: this account is locked for about 15 minutes." },
	{ "err.throttled", "この端末からの失敗が多すぎます。数分待ってから、もう一度お試しください。",
	    "Too many failures from here. Wait a few minutes." },
	{ "err.csrf", "安全確認ができませんでした。もう一度お試しください。",
	    "The request could not be verified. Try again." },
	{ "err.database", "サーバーが一時的に応答できません。少し待ってから、もう一度お試しください。",
	    "The server cannot answer just now. Try again shortly." },
	{ "err.busy", "サーバーが混み合っています。もう一度お試しください。",
	    "The server is busy. Try again." },
	{ "err.sign_in_incomplete", "ログインの手続きが終わっていません。",
	    "Signing in is not finished." },
	{ "err.forbidden", "この操作を行う権限がありません。",
	    "You may not do that." },
	{ "err.signed_out", "ログインの有効期限が切れました。もう一度ログインしてください。",
	    "Your session ended. Sign in again." },
	{ "err.network", "サーバーに接続できません。ネットワークを確認してください。",
	    "Cannot reach the server." },
	{ "err.not_found", "この相談は表示できません（他の相談員が担当したか、見つかりません）。",
	    "This conversation cannot be shown (someone else took it, or it is gone)." },
	{ "err.claimed", "他の相談員が担当しました。", "Someone else took it." },
	{ "err.not_yours", "この相談はあなたの担当ではありません。",
	    "This conversation is not yours." },
	{ "err.closed", "この相談は終了しています。", "This conversation is closed." },
	{ "err.strict_mode", "この窓口では、LINEに直接返信できません。",
	    "This desk does not allow replies on LINE." },
	{ "err.no_public_url", "Webチャットの公開URLが設定されていないため、返信できません。",
	    "No public URL is set: the web chat cannot be reached." },
	{ "err.too_short", "パスワードは12文字以上にしてください。",
	    "The password needs at least 12 characters." },
	{ "err.too_long", "長すぎます。短くしてください。", "Too long." },
	{ "err.invalid_utf8", "使えない文字が含まれています。",
	    "It holds characters that cannot be used." },
	{ "err.control_character", "パスワードに改行やタブなどの制御文字は使えません。",
	    "No control characters in a password." },
	{ "err.repeated", "同じ文字を繰り返しただけのパスワードは使えません。",
	    "Not one character repeated." },
	{ "err.mismatch", "2つのパスワードが一致していません。",
	    "The two passwords differ." },
	{ "err.code_format", "6桁の数字を入力してください。", "Type 6 digits." },
	{ "err.required", "入力してください。", "Type something first." },
	{ "err.empty", "何も入力されていません。", "Nothing typed." },
	{ "err.invalid", "入力内容を確認してください。", "Check what you typed." },
	{ "err.nothing_to_acknowledge", "この通知はすでに確認されています。",
	    "That alert was already acknowledged." },
	{ "err.already_enrolled", "認証アプリはすでに登録されています。",
	    "The authenticator app is already set up." },
	{ "err.too_many_streams", "接続が多すぎます。ほかの画面を閉じてください。",
	    "Too many open consoles for this session." },
	{ "err.other", "うまくいきませんでした（{}）。", "That did not work ({})." },
	{ NULL, NULL, NULL }
};

/* key's words, or NULL when there are none. */
static const char *
term_w_find(const struct term *t, const char *key)
{
	for (const struct term_word *w = term_words; w->key != NULL; w++)
		if (strcmp(w->key, key) == 0)
			return t != NULL && t->en ? w->en : w->ja;
	return NULL;
}

const char *
term_w(const struct term *t, const char *key)
{
	const char *s = term_w_find(t, key);

	return s != NULL ? s : key;
}

void
term_wf(const struct term *t, char *buf, size_t len, const char *key,
    const char *a, const char *b)
{
	const char *s = term_w(t, key), *hole;
	const char *fill[2] = { a, b };
	size_t n = 0;

	if (len == 0)
		return;
	for (int i = 0; i < 2 && (hole = strstr(s, "{}")) != NULL; i++) {
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%.*s%s",
		    (int)(hole - s), s, fill[i] != NULL ? fill[i] : "");
		s = hole + 2;
		if (n >= len)
			return;
	}
	snprintf(buf + n, len - n, "%s", s);
}

const char *
term_w_error(const struct term *t, const char *action, const char *code)
{
	static char other[256];
	const char *s;
	char key[96];

	if (code == NULL)
		code = "network";
	snprintf(key, sizeof(key), "err.%s.%s", action != NULL ? action : "",
	    code);
	if ((s = term_w_find(t, key)) != NULL)
		return s;
	snprintf(key, sizeof(key), "err.%s", code);
	if ((s = term_w_find(t, key)) != NULL)
		return s;
	term_wf(t, other, sizeof(other), "err.other", code, NULL);
	return other;
}
