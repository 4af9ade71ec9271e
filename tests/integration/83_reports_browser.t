#!/usr/bin/perl
# The reports view of the web console in a real browser (issue 9): Debian's
# chromium driven by playwright-core (tests/browser/reports.mjs), against the
# real daemon on its test clock. A small November is seeded through the
# simulated LINE and the console API (messages on two days, some before the
# desk opens; a supervisor's reply; a case record with an attribute); on
# December 3 the supervisor reads the monthly report (figures this test
# counted, charts, CSV and xlsx saved by the browser), writes the work log's
# note (kept over a reload, refused when stale), exports the month's logs as
# a ZIP that 7-Zip opens with the password; a crisis alert still reaches the
# supervisor over the reports; a counsellor sees no reports; an admin reaches
# them. Screenshots go to build/screenshots/reports-*.png.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use File::Temp qw(tempdir);
use Madoguchi::Test;
use Madoguchi::Console;
use Madoguchi::Browser;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my ($dir, $shots) = browser_ready();
my $tmp = tempdir('reports-browser-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my $desk = new_desk();
my ($db, $sim, $port) = @$desk{qw(db sim port)};
sub daemon_at { $desk->daemon(MADOGUCHI_NOW => $_[0], MADOGUCHI_CONSOLE_COOKIE_SECURE => '0') }
sub q1 { $db->query($_[0]) }
my %U = map { $_ => 'U' . ($_ x 32) } qw(a b c d);
my @sent;	# [who, JST day]: what people wrote, as this test counts it
sub say_text {
	my ($who, $day, $text) = @_;
	push @sent, [$who, $day];
	$sim->send({ user => $U{$who}, type => 'text', text => $text });
}
sub inbound { q1("SELECT count(*) FROM messages WHERE direction = 'in'") }
sub conv_of { q1("SELECT max(cv.id) FROM conversations cv JOIN contacts c ON c.id = cv.contact_id"
	. " WHERE c.external_id = '$U{$_[0]}'") }
# Everything sent before the clock jumps.
sub settle {
	ok(wait_until(60, sub { q1("SELECT (SELECT count(*) FROM outbox WHERE state = 'pending')"
		. " + (SELECT count(*) FROM autoreply_pending)") == 0 }), 'everything sent');
}
# A secret for the browser, with the code step already used beside it.
sub secret_file {
	my ($name, $c) = @_;
	my $f = "$tmp/$name";
	open(my $fh, '>', $f) or die "$f: $!";
	print $fh "$c->{secret}\n";
	close $fh;
	open($fh, '>', "$f.step") or die "$f.step: $!";
	print $fh int(time / 30);
	close $fh;
	return $f;
}

my $pw = staff_add($db, 'sato', 'supervisor', '佐藤 花子');
my $cpw = staff_add($db, 'suzuki', 'counsellor', '鈴木 一郎');
my $apw = staff_add($db, 'kimura', 'admin', '木村 管理');

# --- Thursday, November 5, 10:30: before the desk opens ---
my $d = daemon_at('2026-11-05T10:30:00+09:00');
say_text(a => '2026-11-05', '朝早くにすみません。相談したいです');
say_text(a => '2026-11-05', '家のことで眠れていません');
say_text(b => '2026-11-05', '学校のことで話を聞いてほしい');
say_text(d => '2026-11-05', '誰かに聞いてほしいです');
ok(wait_until(10, sub { inbound() == 4 }), 'Nov 5, before opening: four messages');
settle();
is($d->stop, 0, 'stopped');

# --- November 5, 14:00: the supervisor answers A, records an attribute, closes ---
$d = daemon_at('2026-11-05T14:00:00+09:00');
my $s = console_signed_in($d, 'sato', $pw);
my $sato_secret = secret_file('sato', $s);
$s->put('/api/me/presence', { presence => 'online' });
my $convA = conv_of('a');
my ($st) = $s->post("/api/conversations/$convA/claim");
is($st, 200, "the supervisor claims A's consultation");
($st) = $s->post("/api/conversations/$convA/messages", { text => 'お返事します。話してくれてありがとう。' });
is($st, 200, 'and replies');
say_text(a => '2026-11-05', 'ありがとうございます');
ok(wait_until(10, sub { inbound() == 5 }), 'A writes again');
my $contactA = q1("SELECT contact_id FROM conversations WHERE id = $convA");
($st) = $s->put("/api/contacts/$contactA/case-record", { version => 0, summary => '',
	attributes => { age_band => { value => '16_18', consent_on => '2026-11-05' } },
	categories => ['school'] });
is($st, 200, "A's case record, an age band given with consent");
my $seen = q1("SELECT max(id) FROM messages WHERE conversation_id = $convA AND direction = 'in'");
($st) = $s->post("/api/conversations/$convA/close", { reason => 'user_ended', seen => $seen + 0 });
is($st, 200, "A's consultation closed");
settle();
is($d->stop, 0, 'stopped');

# --- Wednesday, November 18, 15:00: A again (a new consultation), and C ---
$d = daemon_at('2026-11-18T15:00:00+09:00');
say_text(a => '2026-11-18', 'またお話ししたいです');
say_text(c => '2026-11-18', 'はじめて連絡します');
ok(wait_until(10, sub { inbound() == 7 }), 'Nov 18: two messages');
settle();
is($d->stop, 0, 'stopped');

# --- what the page must show, counted here ---
my (%people, %per_day, %conv_per_day);
$people{$_->[0]} = 1, $per_day{$_->[1]}++ for @sent;
# a consultation begins with a person's first message after none was open:
# A, B, D on the 5th (A's closed), A and C on the 18th
%conv_per_day = ('2026-11-05' => 3, '2026-11-18' => 2);
my $consultations = 0;
$consultations += $_ for values %conv_per_day;
my ($busiest) = sort { $per_day{$b} <=> $per_day{$a} } keys %per_day;
is($busiest, '2026-11-05', 'the busiest day, by messages and by consultations');
is(q1("SELECT count(*) FROM conversations WHERE opened_at >= '2026-11-01T00:00+09:00'"
	. " AND opened_at < '2026-12-01T00:00+09:00'"), $consultations,
	"$consultations consultations began in November");

# --- Thursday, December 3: the browser ---
$d = daemon_at('2026-12-03T10:00:00+09:00');
my $suzuki = console_signed_in($d, 'suzuki', $cpw);
my $kimura = console_signed_in($d, 'kimura', $apw);
my %env = (LOGIN => 'sato', PASSWORD => $s->{password}, SECRET_FILE => $sato_secret,
	LOGIN_C => 'suzuki', PASSWORD_C => $suzuki->{password},
	SECRET_FILE_C => secret_file('suzuki', $suzuki),
	LOGIN_A => 'kimura', PASSWORD_A => $kimura->{password},
	SECRET_FILE_A => secret_file('kimura', $kimura),
	MONTH => '2026-11', DAYS => 30, TODAY => '2026-12-03', FISCAL_YEAR => '2026',
	CONSULTATIONS => $consultations, PEOPLE => scalar(keys %people), BUSIEST => $busiest,
	WORKLOG_DAY => '2026-11-05', ON_DUTY => '佐藤 花子',
	ZIP_PASSWORD => 'ブラウザの書き出し-2026',
	BASE_URL => "http://127.0.0.1:$port", SIM_URL => $sim->{url}, SHOTS => $shots, DL_DIR => $tmp);
{
	# The environment holds bytes: Japanese values go as UTF-8.
	local @ENV{keys %env} = map { my $v = $_; utf8::encode($v); $v } values %env;
	open(my $fh, '-|', 'node', "$dir/reports.mjs") or die "node: $!";
	binmode $fh, ':encoding(UTF-8)';
	while (my $line = <$fh>) {
		chomp $line;
		if ($line =~ /^ok (.*)$/) { pass($1); }
		elsif ($line =~ /^not ok (.*)$/) { fail($1); }
		else { note($line =~ s/^info //r); }
	}
	close $fh;
	is($? >> 8, 0, 'the browser script finished');
}

# --- what the browser did, as the server kept it ---
is(q1("SELECT version FROM work_log_notes WHERE day = '2026-11-05'"), 2,
	'the note: saved, then saved from the second tab; the stale save changed nothing');
is(q1("SELECT string_agg(DISTINCT detail->>'format', ',' ORDER BY detail->>'format') FROM audit_log"
	. " WHERE action = 'report.export' AND actor = 'sato'"), 'csv,xlsx,zip',
	'the CSV, xlsx and ZIP the browser saved are in the audit trail');
SKIP: {
	skip '7z missing (make deps installs p7zip-full)', 2
		unless system('sh', '-c', 'command -v 7z >/dev/null') == 0;
	my $zip = "$tmp/worklog.zip";
	my $pw_arg = $env{ZIP_PASSWORD};
	utf8::encode($pw_arg);
	is(system("7z x -y -p'$pw_arg' -o$tmp/zip $zip >/dev/null 2>&1"), 0,
		"7-Zip opens the browser's ZIP with the password typed in the page");
	my $csv = '';
	if (open(my $f, '<:raw', "$tmp/zip/madoguchi-worklog-2026-11-05.csv")) {
		local $/;
		$csv = <$f>;
	}
	utf8::decode($csv);
	like($csv, qr/別のタブから書いた記事/, "Nov 5's log holds the note as saved last");
}
is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
