#!/usr/bin/perl
# The terminal console (`madoguchi console URL`) driven in tmux, as a
# counsellor and a supervisor would, against the real madoguchid,
# PostgreSQL and the LINE simulator: the first sign-in of a new account
# (one-time password, enrolment with the key read off the screen, a new
# password), a message arriving live, open, claim, reply (LINE gets it), a
# note (LINE never does), a crisis level raised, a supervisor's crisis
# alert banner acknowledged (recorded with who), a long Japanese message
# wrapped with no broken character at the edge, a resize, a reconnect after
# the daemon restarts, escape sequences shown inert, and a quit that leaves
# nothing on the screen.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(time sleep);
use Madoguchi::Test;
use Madoguchi::Console;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

plan skip_all => 'tmux is not installed' if system('tmux -V >/dev/null 2>&1') != 0;

my $BIN = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
$BIN = abs_path($BIN);
# Under valgrind (MADOGUCHI_WRAP) the daemon answers many times slower.
my $T = $ENV{MADOGUCHI_WRAP} ? 60 : 10;
my $tmux_sock = "madoguchi-test-$$";
my $dir = tempdir('terminal-XXXXXX', TMPDIR => 1, CLEANUP => 1);

END { system('tmux', '-L', $tmux_sock, 'kill-server') if $tmux_sock; }

sub tmux { system('tmux', '-L', $tmux_sock, @_) == 0 }

sub screen {
	my ($win, @opt) = @_;
	open(my $fh, '-|', 'tmux', '-L', $tmux_sock, 'capture-pane', '-p', @opt, '-t', $win)
		or die "tmux: $!";
	local $/;
	my $out = <$fh> // '';
	close $fh;
	utf8::decode($out);
	return $out;
}

# Text typed as is; keys by tmux's names (Enter, Escape, C-j, ...).
sub type {
	my ($win, $text) = @_;
	utf8::encode($text);
	tmux('send-keys', '-t', $win, '-l', $text);
}
sub press { my ($win, @keys) = @_; tmux('send-keys', '-t', $win, @keys) }

sub wait_screen {
	my ($win, $re, $timeout) = @_;
	return wait_until($timeout // $T, sub { screen($win) =~ $re });
}

# Display columns: East Asian wide and fullwidth characters take two.
sub width {
	my ($s) = @_;
	my $w = 0;
	$w += /[\x{1100}-\x{115F}\x{2E80}-\x{303E}\x{3041}-\x{33FF}\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{A000}-\x{A4CF}\x{AC00}-\x{D7A3}\x{F900}-\x{FAFF}\x{FE30}-\x{FE4F}\x{FF00}-\x{FF60}\x{FFE0}-\x{FFE6}\x{1F300}-\x{1F64F}\x{1F900}-\x{1F9FF}\x{20000}-\x{3FFFD}]/ ? 2 : 1
		for split //, $s;
	return $w;
}

# What a line shows from display column $from on.
sub from_column {
	my ($line, $from) = @_;
	my $col = 0;
	my @c = split //, $line;
	while (@c && $col < $from) {
		$col += width(shift @c);
	}
	return join '', @c;
}

my $desk = new_desk();
my ($db, $sim) = @$desk{qw(db sim)};
sub q1 { $db->query($_[0]) }
# A Tuesday afternoon, open. A restart continues the desk's clock.
my $t0 = time;
sub desk_now {
	my $s = 5 * 3600 + int(time - $t0) + 1;
	return sprintf('2026-11-24T%02d:%02d:%02dZ', $s / 3600, $s / 60 % 60, $s % 60);
}
my $d = $desk->daemon(MADOGUCHI_NOW => '2026-11-24T14:00:00+09:00');
my $url = $d->{url};

sub start_console {
	my ($win, @args) = @_;
	# No configuration and no database: the console speaks only HTTP.
	my $cmd = "cd '$dir' && env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color "
		. "MADOGUCHI_CONFIG=/dev/null MADOGUCHI_DATABASE_URL='host=/nonexistent dbname=none' "
		. "$BIN/madoguchi console $url @args 2>'$dir/$win.err'; echo EXIT=\$?; sleep 3600";
	tmux('-f', '/dev/null', 'new-session', '-d', '-s', $win, '-x', 120, '-y', 40, $cmd)
		or die "tmux new-session $win";
}

# --- the first sign-in of an account made with `madoguchi user add` ---
my $otp = staff_add($db, 'aoki', 'counsellor', '青木');
start_console('aoki', '--login', 'aoki');
ok(wait_screen('aoki', qr/ログインID\s+aoki/), 'the sign-in screen, the login filled in');
type('aoki', $otp);
unlike(screen('aoki'), qr/\Q$otp\E/, 'the password is not shown as it is typed');
press('aoki', 'Enter');
ok(wait_screen('aoki', qr/認証アプリの登録/), 'a new account enrols an authenticator');
my ($key) = screen('aoki') =~ /((?:[A-Z2-7]{4} ){3,}[A-Z2-7]{1,4})/;
ok($key, "the key is shown in groups of four ($key)");
(my $secret = $key // '') =~ s/ //g;
like(screen('aoki'), qr/otpauth:\/\/totp\//, 'with its otpauth URI');
type('aoki', Madoguchi::Console::totp($secret));
press('aoki', 'Enter');
ok(wait_screen('aoki', qr/新しいパスワードの設定/), 'then a new password after a one-time one');
my $pw = '窓口の新しいパスワード-2026';
type('aoki', $pw);
press('aoki', 'Tab');
type('aoki', $pw . 'x');
press('aoki', 'Enter');
ok(wait_screen('aoki', qr/2つのパスワードが一致していません/), 'two that differ: said in the UI\'s words');
type('aoki', $pw);
press('aoki', 'Tab');
type('aoki', $pw);
press('aoki', 'Enter');
ok(wait_screen('aoki', qr/相談一覧 0件/), 'signed in: the queue');
my $s = screen('aoki');
like($s, qr/青木（相談員）/, 'the status line says who and which role');
ok(wait_screen('aoki', qr/受付中 \| 接続中/), 'online, and live');
# The desk's clock comes with the queue's first answer; 相談一覧 0件 shows
# before it (under valgrind the screen then still had this machine's time).
like(screen('aoki'), qr/11\/24\(火\) 14:0\d:\d\d JST/, 'a JST clock on the desk\'s time');
unlike($s, qr/\Q$pw\E/, 'no password anywhere on the screen');
is(q1("SELECT password_temporary::text FROM staff WHERE login = 'aoki'"), 'false',
	'the new password is stored');

# --- a message arrives live ---
my $U1 = 'U' . ('1' x 32);
my $t = time;
$sim->send({ user => $U1, type => 'text', text => '学校のことで相談したいです' });
ok(wait_screen('aoki', qr/学校のことで相談/), 'a message appears in the queue by itself');
my $took = time - $t;
ok($took < ($ENV{MADOGUCHI_WRAP} ? 30 : 3), sprintf('within seconds (%.1f s)', $took));
my $conv = q1("SELECT id FROM conversations WHERE contact_id = (SELECT max(id) FROM contacts)");
my $case = sprintf('No.%06d', q1("SELECT id FROM contacts ORDER BY id DESC LIMIT 1"));
like(screen('aoki'), qr/\Q$case\E 返信待ち .*\n\s+（呼び名なし） 未担当 学校/,
	'by case number, waiting; unassigned, with the message');
like(screen('aoki'), qr/残り \d+(日|時間|分)/, 'with its deadline counting down');

# --- open, claim, reply ---
press('aoki', 'Enter');
ok(wait_screen('aoki', qr/<< 11\/24 14:0\d 相談者/), 'opened: the history, in JST');
press('aoki', 'c');
ok(wait_screen('aoki', qr/この相談を担当しました/), 'claimed');
ok(wait_screen('aoki', qr/担当：あなた/), 'and shown as mine');
is(q1("SELECT s.login FROM conversations c JOIN staff s ON s.id = c.assignee_id WHERE c.id = $conv"),
	'aoki', 'the claim is recorded');
press('aoki', 'r');
ok(wait_screen('aoki', qr/返信（\Q$case\E）/), 'r opens the reply input');
type('aoki', 'お返事です。');
press('aoki', 'C-j');
type('aoki', '相談員の青木です。');
press('aoki', 'Enter');
ok(wait_until($T, sub { @{ $sim->delivered("?user=$U1") } >= 2 }), 'the reply reaches LINE');
my ($reply) = grep { ($_->{body}{messages}[0]{text} // '') =~ /青木/ } @{ $sim->delivered("?user=$U1") };
is($reply && $reply->{body}{messages}[0]{text}, "お返事です。\n相談員の青木です。",
	'as typed, a Ctrl-J line break included');
ok(wait_screen('aoki', qr/>> 11\/24 14:0\d 青木 \[送信済み\]/), 'the reply shows as sent');

# --- a note never reaches LINE ---
my $before = scalar @{ $sim->delivered("?user=$U1") };
press('aoki', 'n');
type('aoki', '学校の件、次回確認する');
press('aoki', 'Enter');
ok(wait_screen('aoki', qr/## 11\/24 14:0\d 内部メモ/), 'the note is in the history, marked as one');
like(screen('aoki'), qr/# +学校の件、次回確認する/, 'with its text');
sleep 1;
is(scalar @{ $sim->delivered("?user=$U1") }, $before, 'the note never goes to LINE');

# --- raise a crisis level ---
press('aoki', '!');
ok(wait_screen('aoki', qr/緊急度を選んでください/), '! asks for the level');
press('aoki', '1');
type('aoki', '家族の話が気になる');
press('aoki', 'Enter');
ok(wait_screen('aoki', qr/緊急度を「中」にしました/), 'the level is raised');
is(q1("SELECT crisis_level FROM conversations WHERE id = $conv"), 1, 'and recorded');
ok(wait_screen('aoki', qr/! 中 \Q$case\E/), 'marked in the queue with a symbol');

# --- a supervisor's client: the crisis alert banner and its acknowledgement ---
my $sv = console_signed_in($d, 'sato', staff_add($db, 'sato', 'supervisor', '佐藤'));
start_console('sato');
ok(wait_screen('sato', qr/ログインID/), 'a second console');
type('sato', 'sato');
press('sato', 'Tab');
type('sato', $sv->{password});
press('sato', 'Enter');
ok(wait_screen('sato', qr/確認コード/), 'an enrolled account is asked for its code');
type('sato', Madoguchi::Console::totp($sv->{secret}, 1));
press('sato', 'Enter');
ok(wait_screen('sato', qr/佐藤（スーパーバイザー）.*接続中/), 'the supervisor is signed in and live');
my $U2 = 'U' . ('2' x 32);
$t = time;
$sim->send({ user => $U2, type => 'text', text => '今から死にます' });
ok(wait_screen('sato', qr/【緊急】No\.\d{6} 命の危険があるかもしれない相談です/),
	'a high-risk message: a banner at once');
diag(sprintf('banner after %.1f s', time - $t));
my $case2 = sprintf('No.%06d', q1("SELECT id FROM contacts ORDER BY id DESC LIMIT 1"));
like(screen('sato'), qr/!!高 \Q$case2\E/, 'the conversation is at the top, marked high');
press('sato', 'a');
ok(wait_screen('sato', qr/\Q$case2\E の通知を確認済みにしました/), 'a acknowledges it');
ok(wait_until($T, sub { screen('sato') !~ /【緊急】/ }), 'and the banner goes');
is(q1("SELECT s.login FROM crisis_events e JOIN staff s ON s.id = e.acknowledged_by"
	. " WHERE e.level = 2 AND e.acknowledged_at IS NOT NULL"), 'sato',
	'the acknowledgement is recorded with who');

# --- a long Japanese message wraps at display width ---
my $long = '毎日、家に帰ると母の介護と弟の世話があって、学校の宿題をする時間がありません。'
	. '先生にも友だちにも言えなくて、どうしたらいいのか分からなくなっています。'
	. '夜も眠れない日が続いていて、朝起きるのがつらいです。話を聞いてもらえますか。';
$sim->send({ user => $U1, type => 'text', text => $long });
ok(wait_screen('aoki', qr/話を聞いてもらえますか/), 'a long message arrives in the open conversation');
$s = screen('aoki');
my @lines = split /\n/, $s;
ok(!(grep { width($_) > 120 } @lines), 'no line is wider than the terminal');
my $right = join '', map { my $r = from_column($_, 50); $r =~ s/^\s+|\s+$//g; $r } @lines;
ok(index($right, $long) >= 0, 'the wrapped lines read back as the message, no character lost or split');
ok(!(grep { width(from_column($_, 50)) > 70 } @lines), 'each wrapped line fits its pane');
unlike($s, qr/\x{FFFD}/, 'no broken character anywhere');

# --- resize: one pane at a time on a small terminal, then back ---
tmux('resize-window', '-t', 'aoki', '-x', 80, '-y', 24);
ok(wait_until($T, sub { my $x = screen('aoki'); scalar(split /\n/, $x) <= 24
	&& $x =~ /^ LINE相談/ && $x !~ /\|\s*$/m }), 'at 80x24 it redraws');
$s = screen('aoki');
ok(!(grep { width($_) > 80 } split /\n/, $s), 'nothing wider than 80 columns');
like($s, qr/q 終了/, 'the keys at the bottom still fit');
press('aoki', 'Tab');
ok(wait_screen('aoki', qr/<< 11\/24/), 'Tab shows the conversation instead of the queue');
press('aoki', 'Tab');
tmux('resize-window', '-t', 'aoki', '-x', 120, '-y', 40);
ok(wait_screen('aoki', qr/相談一覧 \d件\s+\|/), 'back at 120x40: two panes again');

# --- the daemon restarts: the console reconnects by itself ---
is($d->stop, 0, 'madoguchid stops cleanly');
ok(wait_screen('aoki', qr/再接続待ち \d+秒/, $T + 5), 'the status line says it is reconnecting');
$d = $desk->daemon(MADOGUCHI_NOW => desk_now());
ok(wait_screen('aoki', qr/\| 接続中/, $T + 20), 'and is live again after the restart');
my $U3 = 'U' . ('3' x 32);
$sim->send({ user => $U3, type => 'text', text => '再接続のあとのメッセージ' });
ok(wait_screen('aoki', qr/再接続のあとの/), 'a new message shows after the reconnect');

# --- hostile text is shown inert ---
my $U4 = 'U' . ('4' x 32);
$sim->send({ user => $U4, type => 'text', text => "\e]0;pwned\a\e[2J\x{202E}危険なテキスト" });
ok(wait_screen('aoki', qr/\x{FFFD}\]0;pwned\x{FFFD}\x{FFFD}\[2J\x{FFFD}危険/),
	'escape sequences and a bidi override are shown as text, with placeholders')
	or diag(screen('aoki'));
like(screen('aoki'), qr/^ LINE相談/, 'the screen was not cleared by it');
open(my $fh, '-|', 'tmux', '-L', $tmux_sock, 'display-message', '-p', '-t', 'aoki', '#{pane_title}');
my $title = <$fh> // '';
close $fh;
unlike($title, qr/pwned/, 'nor the terminal\'s title set');

# --- quitting leaves nothing on the screen ---
press('aoki', 'q');
ok(wait_screen('aoki', qr/EXIT=0/), 'q quits with status 0');
$s = screen('aoki', '-S', '-');
unlike($s, qr/No\.\d{6}|学校|相談者|危険な/, 'no case number or message text left on the screen or in the scrollback');
ok(wait_until($T, sub { q1("SELECT count(*) FROM sessions s JOIN staff st ON st.id = s.staff_id"
	. " WHERE st.login = 'aoki' AND s.ended_at IS NULL") == 0 }), 'and the session is signed out');
# The pane's shell runs the console: its child, by process id.
open($fh, '-|', 'tmux', '-L', $tmux_sock, 'display-message', '-p', '-t', 'sato', '#{pane_pid}');
my $shell = <$fh> // '';
close $fh;
chomp $shell;
my ($console) = `pgrep -P $shell` =~ /(\d+)/;
ok($console && kill('TERM', $console), 'SIGTERM to the supervisor\'s console');
ok(wait_screen('sato', qr/EXIT=0/), 'SIGTERM ends the other console');
unlike(screen('sato', '-S', '-'), qr/No\.\d{6}|今から/, 'which also leaves nothing behind');
for my $who (qw(aoki sato)) {
	open(my $err, '<', "$dir/$who.err");
	local $/;
	my $text = <$err> // '';
	is($text, '', "nothing on $who\'s standard error (no sanitizer report)");
}
is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
