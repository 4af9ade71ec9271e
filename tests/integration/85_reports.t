#!/usr/bin/perl
# Reports (issue 9): a month of a desk's work seeded through the webhook
# and the console on the daemon's test clock, then the monthly, annual,
# LINE-use reports and the work log checked against figures this test
# counts itself from what it sent and what the API answered; the CSV as
# Excel reads it, the xlsx opened as a zip of XML here, the month's logs'
# ZIP opened by 7-Zip with the password (and refused without it); every
# report in the audit trail; no report holds what anyone wrote.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Encode qw(decode encode);
use File::Temp qw(tempdir);
use IO::Uncompress::Unzip qw(unzip $UnzipError);
use List::Util qw(sum);
use Madoguchi::Test;
use Madoguchi::Console;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

plan skip_all => '7z missing (make deps installs p7zip-full)'
	unless system('sh', '-c', 'command -v 7z >/dev/null') == 0;

my $BIN = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
my $tmp = tempdir('reports-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $desk = new_desk();
my ($db, $sim) = @$desk{qw(db sim)};
sub q1 { $db->query($_[0]) }
my $public = "http://127.0.0.1:$desk->{port}";
sub daemon_at { $desk->daemon(MADOGUCHI_NOW => $_[0], MADOGUCHI_PUBLIC_URL => $public) }
# LINE's own timestamp of an event, for follows and blocks on the test clock.
sub ms_at { my ($iso) = @_; (`date -d '$iso' +%s` + 0) * 1000 }

my $pw = staff_add($db, 'sato', 'supervisor', '佐藤');
my $cpw = staff_add($db, 'suzuki', 'counsellor', '鈴木');
my $tpw = staff_add($db, 'tanaka', 'supervisor', '田中');
my %U = map { $_ => 'U' . ($_ x 32) } qw(0 a b c d e f);
my @texts;	# everything people wrote: no report may show any of it
sub say_text {
	my ($who, $text) = @_;
	push @texts, $text;
	$sim->send({ user => $U{$who}, type => 'text', text => $text });
}
# Before the clock jumps: every auto-reply decided and sent (slow under
# valgrind), else it would be given up days later on the test clock.
sub settle {
	ok(wait_until(60, sub { q1("SELECT (SELECT count(*) FROM outbox WHERE state = 'pending')"
		. " + (SELECT count(*) FROM autoreply_pending)") == 0 }), 'everything sent');
}
sub conv_of { q1("SELECT max(cv.id) FROM conversations cv JOIN contacts c ON c.id = cv.contact_id"
	. " WHERE c.external_id = '$U{$_[0]}'") }

# --- October 31 (a Saturday): one person, before the month ---
my $d = daemon_at('2026-10-31T15:00:00+09:00');
$sim->send({ user => $U{0}, type => 'follow', timestamp => ms_at('2026-10-31T14:59:00+09:00') });
say_text('0', '十月の終わりに書いています');
ok(wait_until(10, sub { q1('SELECT count(*) FROM messages WHERE direction = \'in\'') == 1 }),
	'October: one message');
settle();
is($d->stop, 0, 'stopped');

# --- November 2 (Monday) 10:30, before the desk opens at 11:00 ---
$d = daemon_at('2026-11-02T10:30:00+09:00');
$sim->send({ user => $U{a}, type => 'follow', timestamp => ms_at('2026-11-02T10:29:00+09:00') });
say_text('a', 'おはようございます。相談したいです');
say_text('a', '家のことで眠れていません');
say_text('b', '学校に行けていません');
$sim->send({ user => $U{b}, type => 'image' });
ok(wait_until(10, sub { q1("SELECT count(*) FROM messages WHERE direction = 'in'") == 5 }),
	'Nov 2, before opening: four more messages');
settle();
is($d->stop, 0, 'stopped');

# --- November 2, 14:00: the supervisor at work ---
$d = daemon_at('2026-11-02T14:00:00+09:00');
my $s = console_signed_in($d, 'sato', $pw);
$s->put('/api/me/presence', { presence => 'online' });
my ($convA, $convB) = (conv_of('a'), conv_of('b'));
my %first_reply_min;	# from the times the API shows
for my $c ($convA, $convB) {
	my ($st) = $s->post("/api/conversations/$c/claim");
	is($st, 200, "claimed $c");
	($st) = $s->post("/api/conversations/$c/messages", { text => 'お返事します。話してくれてありがとう。' });
	is($st, 200, "answered $c");
}
say_text('a', 'ありがとうございます。少し楽になりました');
ok(wait_until(10, sub { q1("SELECT count(*) FROM messages WHERE direction = 'in'") == 6 }),
	'A wrote again');
my ($st, $body) = $s->put('/api/contacts/' . q1("SELECT contact_id FROM conversations WHERE id = $convA")
	. '/case-record', { version => 0, summary => '',
	attributes => { age_band => { value => '16_18', consent_on => '2026-11-02' },
		gender => { value => 'female', consent_on => '2026-11-02' } },
	categories => ['care', 'school'] });
is($st, 200, "A's case record, with consent");
($st) = $s->post('/api/contacts/' . q1("SELECT contact_id FROM conversations WHERE id = $convA")
	. '/referrals', { agency => 'school', referred_on => '2026-11-02', outcome => 'connected' });
is($st, 200, 'a referral to the school');
my $seenA = q1("SELECT max(id) FROM messages WHERE conversation_id = $convA AND direction = 'in'");
($st) = $s->post("/api/conversations/$convA/close", { reason => 'user_ended', seen => $seenA + 0 });
is($st, 200, "A's first consultation closed");

say_text('c', 'もう死にたい。今日で終わりにする');
my $convC;
ok(wait_until(10, sub { ($convC = conv_of('c')) && q1("SELECT crisis_level FROM conversations WHERE id = $convC") == 2 }),
	'C: detected at high risk');
($st) = $s->post("/api/conversations/$convC/crisis/ack");
is($st, 200, 'the supervisor acknowledges');
$s->post("/api/conversations/$convC/claim");
($st) = $s->post("/api/conversations/$convC/messages", { text => '話してくれてありがとう。今どこにいますか。' });
is($st, 200, 'and answers C');
for my $step (['situation', 'done'], ['police', 'done'], ['prefecture', 'not_needed']) {
	($st) = $s->post("/api/conversations/$convC/escalation", { step => $step->[0],
		status => $step->[1], contacted_at => '2026-11-02T04:50:00Z',
		counterpart => '試験の相手', outcome => '試験のための記録' });
	is($st, 200, "escalation step $step->[0] recorded");
}
for my $c ($convA, $convB, $convC) {
	my (undef, $h) = $s->get("/api/conversations/$c");
	my @e = @{ $h->{history} };
	my ($in) = grep { $_->{type} eq 'message' && $_->{direction} eq 'in' } @e;
	my ($out) = grep { $_->{type} eq 'message' && $_->{direction} eq 'out' } @e;
	$first_reply_min{$c} = (iso_s($out->{at}) - iso_s($in->{at})) / 60;
}
# the note of the day, and a stale second writer
($st, $body) = $s->put('/api/reports/worklog/note', { day => '2026-11-02', version => 0,
	note => '午前中に時間外の相談が3件。C さんは警察と連携。' });
is($st, 200, "the supervisor's note for Nov 2");
is($body->{version}, 1, 'version 1');
($st) = $s->put('/api/reports/worklog/note', { day => '2026-11-02', version => 0, note => '上書き' });
is($st, 409, 'a writer who started from an older version: 409');
($st, $body) = $s->put('/api/reports/worklog/note', { day => '2026-11-02', version => 1,
	note => '午前中に時間外の相談が4件。C さんは警察と連携済み。' });
is($body->{version}, 2, 'amended: version 2') or diag explain $body;
settle();
is($d->stop, 0, 'stopped');

# --- November 10 (Tuesday) 15:00: a returning person, A again, follows ---
{
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	local $ENV{MADOGUCHI_PUBLIC_URL} = $public;
	is(system("$BIN/madoguchi settings set line_mode '\"strict\"' >/dev/null"), 0,
		'the desk turns strict');
}
$d = daemon_at('2026-11-10T15:00:00+09:00');
say_text('0', '先月の続きです');
say_text('a', 'また話を聞いてほしいです');
$sim->send({ user => $U{b}, type => 'unfollow', timestamp => ms_at('2026-11-10T14:00:00+09:00') });
$sim->send({ user => $U{d}, type => 'follow', timestamp => ms_at('2026-11-10T14:30:00+09:00') });
ok(wait_until(10, sub { q1("SELECT count(*) FROM messages WHERE direction = 'in'") == 9 }),
	'Nov 10: two messages');
$s = console_sign_in($d, 'sato', $s->{password}, $s->{secret}, 1);
my $convA2 = conv_of('a');
isnt($convA2, $convA, "A's second consultation");
($st, $body) = $s->post("/api/conversations/$convA2/emergency-exception",
	{ reason => '自傷の危険があり、Webチャットに移れないため', minutes => 30 });
is($st, 200, 'an emergency exception on LINE');
settle();
is($d->stop, 0, 'stopped');

# --- November 23 (勤労感謝の日, closed) ---
$d = daemon_at('2026-11-23T12:00:00+09:00');
say_text('e', '祝日ですが書いてみました');
ok(wait_until(10, sub { q1("SELECT count(*) FROM messages WHERE direction = 'in'") == 10 }),
	'Nov 23: one message');
settle();
is($d->stop, 0, 'stopped');

# --- December 1: after the month ---
$d = daemon_at('2026-12-01T12:00:00+09:00');
say_text('f', '十二月になりました');
$sim->send({ user => $U{d}, type => 'unfollow', timestamp => ms_at('2026-12-01T11:00:00+09:00') });
ok(wait_until(10, sub { q1("SELECT count(*) FROM messages WHERE direction = 'in'") == 11 }),
	'Dec 1: one message');
# another supervisor reads the reports (a fresh account: no TOTP step to wait for)
$s = console_signed_in($d, 'tanaka', $tpw);

sub iso_s {
	my ($iso) = @_;
	return `date -d '$iso' +%s` + 0;
}
sub fig { my ($doc, $key) = @_; (map { $_->{value} } grep { $_->{key} eq $key } @{ $doc->{summary} })[0] }
sub table { my ($doc, $key) = @_; (grep { $_->{key} eq $key } @{ $doc->{tables} })[0] }

# --- what this test expects, counted from what it did ---
my @in = (	# [who, JST day, JST hour, text?, after hours?]
	[a => '2026-11-02', 10, 1, 1], [a => '2026-11-02', 10, 1, 1],
	[b => '2026-11-02', 10, 1, 1], [b => '2026-11-02', 10, 0, 1],
	[a => '2026-11-02', 14, 1, 0], [c => '2026-11-02', 14, 1, 0],
	[0 => '2026-11-10', 15, 1, 0], [a => '2026-11-10', 15, 1, 0],
	[e => '2026-11-23', 12, 1, 1]);
my %opened = (a => 2, b => 1, c => 1, e => 1);	# consultations begun in November
my @people = sort keys %{{ map { $_->[3] ? ($_->[0] => 1) : () } @in }};
my @fr = sort { $a <=> $b } values %first_reply_min;
sub pct { my ($p, @v) = @_; my $x = $p * (@v - 1); my $lo = int $x;
	$lo + 1 < @v ? $v[$lo] + ($x - $lo) * ($v[$lo + 1] - $v[$lo]) : $v[$lo] }
my %expect = (
	consultations => sum(values %opened), people => scalar @people,
	new_people => scalar(grep { $_ ne '0' } @people), returning_people => 1,
	messages_in => scalar @in, messages_text => scalar(grep { $_->[3] } @in),
	messages_not_accepted => scalar(grep { !$_->[3] } @in),
	after_hours => scalar(grep { $_->[4] } @in),
	replies => 3, follows => 2, blocks => 1,
	followers_at_end => 3,		# 0, a and d; b blocked; d's block came in December
	answered => 3, within_deadline => 3, late => 0,
	unanswered_overdue => 2,	# A's second, E's: both past their deadlines now
	within_deadline_share => 0.6, closed => 1,
	crisis_detected_high => 1, crisis_conversations => 1, escalated_conversations => 1,
	first_reply_median => sprintf('%.1f', pct(0.5, @fr)) + 0,
	first_reply_p90 => sprintf('%.1f', pct(0.9, @fr)) + 0,
);

# --- the monthly report in the console ---
($st, my $m) = $s->get('/api/reports/monthly?period=2026-11');
is($st, 200, 'the monthly report');
is($m->{period}{from} . '..' . $m->{period}{to}, '2026-11-01..2026-11-30', 'for November');
for my $k (sort keys %expect) {
	my $got = fig($m, $k);
	if ($k =~ /first_reply/) {
		ok(defined $got && abs($got - $expect{$k}) <= 0.1, "$k: $expect{$k} (got " . ($got // 'null') . ')');
	} else {
		is($got, $expect{$k}, "$k: $expect{$k}");
	}
}
my %by_day = map { $_->[0] => $_ } @{ table($m, 'by_day')->{rows} };
is(scalar keys %by_day, 30, '30 days');
is_deeply([@{ $by_day{'2026-11-02'} }[1 .. 4]], ['月', 3, 6, 3], 'Nov 2: Monday, 3 consultations, 6 received, 3 replies');
is_deeply([@{ $by_day{'2026-11-23'} }[2 .. 3]], [1, 1], 'Nov 23: 1 and 1');
my %hour = map { $_->[0] => $_->[2] } @{ table($m, 'by_hour')->{rows} };
my %want_hour; $want_hour{"$_->[2]時"}++ for @in;
is_deeply({ map { $_ => $hour{$_} } grep { $hour{$_} } keys %hour }, \%want_hour, 'received by hour');
my %wd = map { $_->[0] => $_->[2] } @{ table($m, 'by_weekday')->{rows} };
my @wd_ja = qw(日 月 火 水 木 金 土);
my %want_wd = map { $_ => 0 } @wd_ja;
$want_wd{ $wd_ja[`date -d $_->[1] +%w` + 0] }++ for @in;
is_deeply(\%wd, \%want_wd, 'received by weekday (Nov 23 is a Monday too)');
my ($age) = grep { $_->[0] eq '年代' && $_->[1] eq '高校生年代' } @{ table($m, 'attributes')->{rows} };
is($age->[2], 1, 'age band 16-18: 1 (A, with consent)');
my ($unk) = grep { $_->[0] eq '年代' && $_->[1] eq '未記録' } @{ table($m, 'attributes')->{rows} };
is($unk->[2], @people - 1, 'the others unrecorded');
my %cat = map { $_->[0] => $_->[1] } @{ table($m, 'categories')->{rows} };
is_deeply([@cat{qw(家族の世話 学業・進路 経済)}], [1, 1, 0], 'categories: care 1, school 1, money 0');
my ($ref) = grep { $_->[0] eq '学校' } @{ table($m, 'referrals')->{rows} };
is_deeply([@$ref[1, 2]], [1, 1], 'one referral to the school, connected');
my %steps = map { $_->[0] => [@$_[1, 2]] } @{ table($m, 'escalation_steps')->{rows} };
is_deeply($steps{'警察に連絡'}, [1, 0], 'escalation: police done once');
is_deeply($steps{'都道府県（委託元）に連絡'}, [0, 1], 'prefecture: not needed once');
# Once per closed period and person: A and B on the morning of Nov 2, E on
# the holiday; 0's on Oct 31 is the month before.
sub after_sent { scalar grep { ($_->{text} // '') =~ /ただいま相談時間外です/ }
	map { @{ $_->{body}{messages} // [] } } @{ $sim->delivered('') } }
wait_until(60, sub { after_sent() >= 4 });	# the outbox may still be sending
is(after_sent(), 4, 'LINE received four after-hours replies, one in October');
my ($ah) = grep { $_->[0] eq '時間外' } @{ table($m, 'autoreplies')->{rows} };
is($ah->[1], 3, "after-hours replies in November: 3");

# --- the same from the CLI, and the fiscal year ---
sub cli {
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	local $ENV{MADOGUCHI_DATA_KEY_FILE} = $d->{env}{MADOGUCHI_DATA_KEY_FILE};
	my $out = `$BIN/madoguchi report @_ 2>&1`;
	return ($? >> 8, decode('UTF-8', $out));
}
my ($rc, $out) = cli('monthly 2026-11 --format json');
is($rc, 0, 'madoguchi report monthly --format json');
my $cm = json_decode(encode('UTF-8', $out));
is_deeply([map { fig($cm, $_) } sort keys %expect], [map { fig($m, $_) } sort keys %expect],
	'the CLI gives the console\'s figures');
($rc, $out) = cli('monthly 2026-11');
like($out, qr/^相談件数（期間中に始まった相談）: 5$/m, 'and prints them for a person');
($rc, $out) = cli('annual 2026 --format json');
my $year = json_decode(encode('UTF-8', $out));
is(fig($year, 'consultations'), 7, 'fiscal 2026: October\'s and December\'s consultations too');
my %months = map { $_->[0] => $_->[1] } @{ table($year, 'by_month')->{rows} };
is_deeply([@months{qw(2026-04 2026-10 2026-11 2026-12 2027-03)}], [0, 1, 5, 1, 0],
	'by month, April to March');
is(scalar keys %months, 12, 'twelve months');
($rc, $out) = cli('monthly 2026-13');
is($rc, 2, 'a month that does not exist: exit 2');
like($out, qr/expected a month such as 2026-11/, 'saying what it expects');

# --- LINE use ---
($st, my $lu) = $s->get('/api/reports/line-use?period=2026-11');
is($st, 200, 'the LINE-use report');
is(fig($lu, 'free_text_requests'), 3, "counsellors' free text on LINE: the 3 replies of direct mode");
is(fig($lu, 'exceptions'), 1, 'one emergency exception');
my $ex = table($lu, 'exceptions')->{rows}[0];
is_deeply([@$ex[0, 1, 2]], [sprintf('No.%06d', q1("SELECT contact_id FROM conversations WHERE id = $convA2")),
	'佐藤', '2026-11-10 15:00'], 'which case, who granted it, when');
is($ex->[6], '自傷の危険があり、Webチャットに移れないため', 'and why (opened for the report)');
ok(fig($lu, 'links_sent') >= 1, 'hand-off links sent once the desk was strict');
# The CLI changed the mode on the real clock, not the daemon's test clock:
# it is in this month's report.
my $this_month = `date +%Y-%m`; chomp $this_month;
(undef, my $lu_now) = $s->get("/api/reports/line-use?period=$this_month");
my $mode = table($lu_now, 'mode_changes')->{rows}[-1];
is($mode->[1], 'strict', 'the change to strict is reported, with when');
like($mode->[2], qr/^cli:/, 'and who');

# --- the work log of Nov 2, with the note ---
($st, my $wl) = $s->get('/api/reports/worklog?period=2026-11-02');
is($st, 200, 'the work log of Nov 2');
is(fig($wl, 'note'), '午前中に時間外の相談が4件。C さんは警察と連携済み。', 'the note, opened');
is(fig($wl, 'note_version'), 2, 'its version');
is_deeply([map { fig($wl, $_) } qw(opened closed messages_in replies after_hours)], [3, 1, 6, 3, 4],
	'the day\'s counts');
my $duty = table($wl, 'staff')->{rows};
is_deeply([map { @$_[0, 1, 2] } @$duty], ['佐藤', 'スーパーバイザー', '14:00'], 'on duty: the supervisor from 14:00');
my $crisis = table($wl, 'crisis')->{rows};
is_deeply([@{ $crisis->[0] }[2, 3, 5]], ['高', '自動検知', '佐藤'], 'the crisis event: high, detected, acknowledged by 佐藤');
is(scalar @{ table($wl, 'escalation')->{rows} }, 3, 'three escalation steps');
($st) = $s->get('/api/reports/worklog?period=2026-11-31');
is($st, 400, 'a day that does not exist: 400');

# --- files: CSV, xlsx, the logs' ZIP ---
my $r = $s->{http}->get("$d->{url}/api/reports/monthly?period=2026-11&format=csv",
	{ headers => { Cookie => "madoguchi_session=$s->{cookie}" } });
is($r->{status}, 200, 'CSV');
like($r->{headers}{'content-type'}, qr{^text/csv; charset=utf-8}, 'as text/csv, UTF-8');
is($r->{headers}{'content-disposition'}, 'attachment; filename="madoguchi-monthly-2026-11.csv"', 'to save');
is(substr($r->{content}, 0, 3), "\xEF\xBB\xBF", 'with the BOM Excel reads UTF-8 by');
my $csv = decode('UTF-8', substr($r->{content}, 3));
like($csv, qr/^"相談件数（期間中に始まった相談）",5\r$/m, 'CRLF lines, quoted labels, the figure');
like($csv, qr/^"2026-11-02","月",3,6,3\r$/m, 'the day table');

$r = $s->{http}->get("$d->{url}/api/reports/monthly?period=2026-11&format=xlsx",
	{ headers => { Cookie => "madoguchi_session=$s->{cookie}" } });
is($r->{status}, 200, 'xlsx');
open(my $fh, '>:raw', "$tmp/m.xlsx") or die; print $fh $r->{content}; close $fh;
my %part;
for my $name (qw(xl/workbook.xml xl/sharedStrings.xml xl/worksheets/sheet1.xml)) {
	my $x;
	unzip("$tmp/m.xlsx" => \$x, Name => $name) or BAIL_OUT("unzip $name: $UnzipError");
	$part{$name} = decode('UTF-8', $x);
}
like($part{'xl/workbook.xml'}, qr/<sheet name="概要".*<sheet name="日別"/s, 'sheets: 概要 first, then the tables');
my @strings = $part{'xl/sharedStrings.xml'} =~ m{<t(?: [^>]*)?>([^<]*)</t>}g;
my %cell;
while ($part{'xl/worksheets/sheet1.xml'} =~ m{<c r="([A-Z]+)(\d+)"([^>]*)>(?:<v>([^<]*)</v>)?}g) {
	my ($col, $row, $attr, $v) = ($1, $2, $3, $4);
	$cell{$row}{$col} = $attr =~ /t="s"/ ? $strings[$v] : $v;
}
my ($row) = grep { ($cell{$_}{A} // '') eq '相談件数（期間中に始まった相談）' } keys %cell;
is($cell{$row}{B}, 5, 'the summary sheet holds the figure, as a number');

my $zpw = 'ひみつ-Passw0rd-2026';
$r = $s->{http}->request('POST', "$d->{url}/api/reports/worklog/export", {
	headers => { Cookie => "madoguchi_session=$s->{cookie}", 'X-CSRF-Token' => $s->{csrf},
		'Content-Type' => 'application/json' },
	content => json_encode({ month => '2026-11', password => $zpw }) });
is($r->{status}, 200, "November's work logs as a ZIP");
is($r->{headers}{'content-type'}, 'application/zip', 'application/zip');
open($fh, '>:raw', "$tmp/w.zip") or die; print $fh $r->{content}; close $fh;
my $list = `7z l -slt $tmp/w.zip 2>&1`;
is(scalar(() = $list =~ /^Method = AES-256/mg), 30, 'thirty entries, each AES-256');
isnt(system("7z x -y -p'wrong password' -o$tmp/bad $tmp/w.zip >/dev/null 2>&1"), 0,
	'a wrong password opens nothing');
my $pw_arg = encode('UTF-8', $zpw);
is(system("7z x -y -p'$pw_arg' -o$tmp/ok $tmp/w.zip >/dev/null 2>&1"), 0,
	'7-Zip opens it with the password');
my $day2 = do { local $/; my $f; open($f, '<:raw', "$tmp/ok/madoguchi-worklog-2026-11-02.csv") ? decode('UTF-8', scalar <$f>) : '' };
like($day2, qr/C さんは警察と連携済み/, "Nov 2's log, with the note");
like($day2, qr/"佐藤","スーパーバイザー","14:00"/, 'and who was on duty');
# The days' logs add up to the month: greetings (a contact's, not a
# conversation's) counted in both.
my $auto_days = 0;
for my $f (glob "$tmp/ok/madoguchi-worklog-2026-11-*.csv") {
	open(my $fh2, '<:raw', $f) or next;
	my $text = decode('UTF-8', do { local $/; <$fh2> });
	$auto_days += $1 if $text =~ /^"自動応答",(\d+)\r$/m;
}
is($auto_days, fig($m, 'auto_replies'), "the month's automatic replies, day by day in the logs ($auto_days)");
($st) = $s->post('/api/reports/worklog/export', { month => '2026-11', password => 'short' });
is($st, 400, 'a password under 8 characters: 400');

# --- who may, and the audit trail ---
my $cs = console_signed_in($d, 'suzuki', $cpw);
($st) = $cs->get('/api/reports/monthly?period=2026-11');
is($st, 403, 'a counsellor: 403');
($st) = $cs->put('/api/reports/worklog/note', { day => '2026-11-02', version => 2, note => 'x' });
is($st, 403, 'nor write the note');
is(q1("SELECT string_agg(action || ':' || (detail->>'kind') || ':' || (detail->>'format'), ' ' ORDER BY id)"
	. " FROM audit_log WHERE object_type = 'report' AND staff_id IS NOT NULL AND detail->>'period' <> '2026-11-31'"),
	'report.view:monthly:json report.view:line-use:json report.view:line-use:json '
	. 'report.view:worklog:json report.export:monthly:csv report.export:monthly:xlsx report.export:worklog-month:zip',
	'every report the console gave is in the audit trail, with who');
is(q1("SELECT count(*) FROM audit_log WHERE action = 'report.export' AND actor LIKE 'cli:%'"), 3,
	'and each the CLI made (three; the one refused made none)');

# --- nothing anyone wrote is in any report ---
my $all = join "\n", $csv, $day2, $out, map { json_encode($_) } $m, $lu, $wl, $year, $cm;
my @leaked = grep { index($all, $_) >= 0 } @texts, 'お返事します';
is("@leaked", '', 'no message text in any report');

is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
