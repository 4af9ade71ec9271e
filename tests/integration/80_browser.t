#!/usr/bin/perl
# The web console in a real browser: Debian's chromium driven by
# playwright-core (tests/browser/console.mjs), against the real daemon, the
# simulated LINE and PostgreSQL. Phase one: the first sign-in (password,
# TOTP enrolment, a new password), a message arriving live, claim, reply
# (checked at the simulator), a note, a case record, <script> shown inert,
# sign-out. Phase two, after the daemon restarts on a later test clock: the
# waiting conversation shows overdue. Phase three, a Friday at 19:55: a
# message that puts a life at risk alerts the supervisor's open console
# (banner and sound) within 2 s; acknowledged, escalation recorded, closing
# refused while required steps are missing; a counsellor raises and lowers
# another conversation by hand. Phase four, the desk in strict mode: where
# the person is, replies into the web chat, a supervisor's emergency
# exception (replies on LINE) and its end. Screenshots go to build/screenshots/.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Madoguchi::Test;
use Madoguchi::Console;
use Madoguchi::Browser;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my ($dir, $shots) = browser_ready();

my $desk = new_desk();
my ($db, $sim, $port) = @$desk{qw(db sim port)};
sub daemon_at { $desk->daemon(MADOGUCHI_NOW => $_[0], MADOGUCHI_CONSOLE_COOKIE_SECURE => '0') }
my $pw = staff_add($db, 'sato', 'supervisor', '佐藤 花子');

# Runs one phase of the browser script; each line it prints is a result:
# "ok <name>" or "not ok <name>: <why>", or "info <text>".
sub phase {
	my ($name, %env) = @_;
	# The environment holds bytes: Japanese values go as UTF-8.
	local @ENV{keys %env} = map { my $v = $_; utf8::encode($v); $v } values %env;
	local $ENV{BASE_URL} = "http://127.0.0.1:$port";
	local $ENV{SIM_URL} = $sim->{url};
	local $ENV{SHOTS} = $shots;
	open(my $fh, '-|', 'node', "$dir/console.mjs", $name) or die "node: $!";
	binmode $fh, ':encoding(UTF-8)';
	my %seen;
	while (my $line = <$fh>) {
		chomp $line;
		if ($line =~ /^ok (.*)$/) { pass($1); }
		elsif ($line =~ /^not ok (.*)$/) { fail($1); }
		elsif ($line =~ /^info (.*)$/) { note($1); $seen{$1} = 1; }
		else { note($line); }
	}
	close $fh;
	is($? >> 8, 0, "browser phase $name finished");
	return \%seen;
}

my $d = daemon_at('2026-11-24T14:00:00+09:00');	# a Tuesday afternoon
my $secrets = "$shots/totp-secret";
unlink $secrets, "$secrets.step";
phase('first', LOGIN => 'sato', PASSWORD => $pw, NEW_PASSWORD => 'ブラウザで選んだ長いパスワード',
	SECRET_FILE => $secrets);
ok(-s $secrets, 'the browser enrolled an authenticator');
my $delivered = $sim->delivered();
ok((grep { ($_->{body}{messages}[0]{text} // '') eq 'ブラウザからの返信です。' } @$delivered),
	'the reply typed in the browser reached LINE');
is($db->query("SELECT count(*) FROM conversation_events WHERE kind = 'note'"), 1,
	'the note was saved');
is($d->stop, 0, 'madoguchid stops cleanly');

# Two days later, past the second conversation's deadline.
$d = daemon_at('2026-11-26T20:00:30+09:00');
ok(wait_until(15, sub { $db->query("SELECT count(*) FROM conversations WHERE overdue_at IS NOT NULL") >= 1 }),
	'the sweeper marks the waiting conversation overdue');
phase('overdue', LOGIN => 'sato', PASSWORD => 'ブラウザで選んだ長いパスワード',
	SECRET_FILE => $secrets);
is($d->stop, 0, 'madoguchid stops cleanly');

# Friday, 19:55. A counsellor is enrolled through the API; the browser
# signs both in.
$d = daemon_at('2026-11-27T19:55:00+09:00');
my $kato = console_signed_in($d, 'kato', staff_add($db, 'kato', 'counsellor', '加藤 次郎'));
my $kato_secret = "$shots/totp-secret-kato";
unlink "$kato_secret.step";
open(my $ks, '>', $kato_secret) or die "$kato_secret: $!";
print $ks "$kato->{secret}\n";
close $ks;
phase('crisis', LOGIN => 'sato', PASSWORD => 'ブラウザで選んだ長いパスワード',
	SECRET_FILE => $secrets, LOGIN2 => 'kato', PASSWORD2 => $kato->{password},
	SECRET_FILE2 => $kato_secret);
sub q1 { $db->query($_[0]) }
my $conv = q1("SELECT cv.id FROM conversations cv JOIN contacts ct ON ct.id = cv.contact_id"
	. " WHERE ct.external_id = 'U" . ('c0c1c2c3c4c5c6c7' x 2) . "'");
ok($conv, 'the high-risk conversation exists');
is(q1("SELECT string_agg(s.login, ',') FROM crisis_events e JOIN staff s ON s.id = e.acknowledged_by"
	. " WHERE e.conversation_id = $conv"), 'sato',
	'crisis_events.acknowledged_by: the supervisor who pressed 確認しました');
is(q1("SELECT step || ':' || status || ':' || s.login FROM escalation_steps e"
	. " JOIN staff s ON s.id = e.staff_id WHERE e.conversation_id = $conv"), 'police:done:sato',
	'the police step recorded through the form');
is(q1("SELECT state <> 'closed' FROM conversations WHERE id = $conv"), 't',
	'closing it was refused: still open');
is(q1("SELECT s.login FROM crisis_events e JOIN staff s ON s.id = e.acknowledged_by"
	. " JOIN conversations cv ON cv.id = e.conversation_id JOIN contacts ct ON ct.id = cv.contact_id"
	. " WHERE ct.external_id = 'U" . ('e0e1e2e3e4e5e6e7' x 2) . "'"), 'sato',
	'the second alert, acknowledged from the banner after a reload');
is(q1("SELECT string_agg(e.source || ':' || e.previous_level || '>' || e.level || ':'"
	. " || s.login || ':' || coalesce(a.login, '-'), ',' ORDER BY e.id) FROM crisis_events e"
	. " JOIN staff s ON s.id = e.staff_id LEFT JOIN staff a ON a.id = e.acknowledged_by"
	. " WHERE e.conversation_id = (SELECT conversation_id FROM crisis_events"
	. "   WHERE source = 'raised' AND staff_id = (SELECT id FROM staff WHERE login = 'kato'))"),
	'raised:0>2:kato:sato,lowered:2>1:sato:-',
	"the counsellor's raise (acknowledged when the supervisor lowered it), then the supervisor's lowering");
is($d->stop, 0, 'madoguchid stops cleanly');

# Strict mode, a Monday afternoon: the desk's LINE carries templates only;
# the person answers in the web chat; the supervisor lets one conversation
# continue on LINE for a while, then ends it.
{
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	local $ENV{MADOGUCHI_PUBLIC_URL} = "http://127.0.0.1:$port/";
	my $bin = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
	like(scalar `$bin/madoguchi settings set line_mode '"strict"' --by admin 2>&1`,
		qr/changed by cli:admin/, 'the desk turns strict');
	# A reply unseen for 2 s (not a minute) gets LINE's notice.
	like(scalar `$bin/madoguchi settings set reply_waiting_after_seconds 2 --by admin 2>&1`,
		qr/changed by cli:admin/, 'unseen replies are announced after 2 s');
}
$d = $desk->daemon(MADOGUCHI_NOW => '2026-11-30T14:00:00+09:00',
	MADOGUCHI_CONSOLE_COOKIE_SECURE => '0', MADOGUCHI_PUBLIC_URL => "http://127.0.0.1:$port/");
phase('strict', LOGIN => 'sato', PASSWORD => 'ブラウザで選んだ長いパスワード',
	SECRET_FILE => $secrets, LOGIN2 => 'kato', PASSWORD2 => $kato->{password},
	SECRET_FILE2 => $kato_secret);
is(q1("SELECT count(*) || ':' || count(ended_at) || ':' || min(s.login) FROM strict_exceptions x"
	. " JOIN staff s ON s.id = x.granted_by"), '1:1:sato',
	'one emergency exception, granted by the supervisor, ended');
is(q1("SELECT count(*) FROM outbox o JOIN contacts ct ON ct.id = o.contact_id"
	. " WHERE o.template IS NULL AND ct.external_id = 'U" . ('f0f1f2f3f4f5f6f7' x 2) . "'"), 1,
	'one free-text reply went on LINE: the one written under the exception');
is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
