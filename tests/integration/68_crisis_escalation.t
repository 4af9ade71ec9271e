#!/usr/bin/perl
# The escalation record: a supervisor records each step of the desk's
# protocol (who was contacted, when, their reference, the outcome; or why
# a step was not needed), sealed; staff who see the conversation read it;
# a high-risk conversation cannot be closed, by hand or by itself, until
# every required step is on record.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Madoguchi::Test;
use Madoguchi::Console;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $desk = new_desk();
my ($db, $sim) = @$desk{qw(db sim)};
sub q1 { $db->query($_[0]) }
my $d = $desk->daemon(MADOGUCHI_NOW => '2026-11-24T14:00:00+09:00');
my $sup = console_signed_in($d, 'sato', staff_add($db, 'sato', 'supervisor', '佐藤'));
my $cou = console_signed_in($d, 'kato', staff_add($db, 'kato', 'counsellor', '加藤'));

my $U = 'U' . ('1' x 32);
$sim->send({ user => $U, type => 'text', text => '薬を全部飲んだ' });
ok(wait_until(10, sub { q1('SELECT crisis_level FROM conversations') == 2 }), 'a high-risk conversation');
my $conv = q1('SELECT id FROM conversations');
my $seen = q1("SELECT max(id) FROM messages WHERE direction = 'in'");
my ($st, $r) = $cou->post("/api/conversations/$conv/claim");
is($st, 200, 'a counsellor takes it');
($st, $r) = $cou->post("/api/conversations/$conv/messages", { text => '話してくれてありがとう。いまどこにいますか？', seen => $seen + 0 });
is($st, 200, 'and answers');

($st, $r) = $cou->post("/api/conversations/$conv/close", { reason => 'emergency', seen => $seen + 0 });
is($st, 409, 'it cannot be closed yet');
is($r->{error}, 'escalation_incomplete', 'its escalation record is incomplete')
	or diag explain $r;

($st, $r) = $cou->get("/api/conversations/$conv/escalation");
is($st, 200, 'the counsellor reads the record');
is_deeply([ map { $_->{code} } @{ $r->{protocol} } ],
	[qw(situation police prefecture ward child_guidance)], "the desk's protocol, in order");
is_deeply($r->{missing}, [qw(situation police prefecture)], 'the required steps missing');
ok(!$r->{complete}, 'not complete');

my %police = (step => 'police', status => 'done', contacted_at => '2026-11-24T14:05:00+09:00',
	counterpart => '中央警察署 生活安全課 山田さん', reference => '受理番号 2026-1124-07',
	outcome => '警察官が自宅へ向かい、本人を保護');
($st) = $cou->post("/api/conversations/$conv/escalation", \%police);
is($st, 403, 'only a supervisor records steps');
($st) = $sup->post("/api/conversations/$conv/escalation", { %police, counterpart => '' });
is($st, 400, 'done needs who was contacted');
($st) = $sup->post("/api/conversations/$conv/escalation", { %police, contacted_at => '2026-11-24T18:00:00+09:00' });
is($st, 400, 'and a time not in the future');
($st) = $sup->post("/api/conversations/$conv/escalation", { %police, step => 'fire_brigade' });
is($st, 400, "a step outside the desk's protocol is refused");
($st) = $sup->post("/api/conversations/$conv/escalation", { step => 'ward', status => 'not_needed' });
is($st, 400, 'not needed needs a reason');
($st, $r) = $sup->post("/api/conversations/$conv/escalation", \%police);
is($st, 200, 'the supervisor records the police contact');
($st) = $sup->post("/api/conversations/$conv/escalation", \%police);
is($st, 409, 'once');
($st) = $sup->post("/api/conversations/$conv/escalation", { step => 'situation', status => 'done',
	contacted_at => '2026-11-24T14:02:00+09:00', counterpart => '本人（LINE上で確認）',
	outcome => '自宅にいる。市販薬を約30錠' });
is($st, 200, 'the situation confirmed');
($st, $r) = $cou->post("/api/conversations/$conv/close", { reason => 'emergency', seen => $seen + 0 });
is($st, 409, 'one required step still missing: still open');
($st) = $sup->post("/api/conversations/$conv/escalation", { step => 'prefecture', status => 'not_needed',
	outcome => '夜間のため翌朝に報告（委託元の取り決め）' });
is($st, 200, 'a required step may be recorded as not needed, with why');

($st, $r) = $cou->get("/api/conversations/$conv/escalation");
ok($r->{complete}, 'the record is complete');
my ($p) = grep { $_->{step} eq 'police' } @{ $r->{steps} };
is($p->{counterpart}, $police{counterpart}, 'who was contacted, read back');
is($p->{reference}, $police{reference}, 'their reference');
is($p->{outcome}, $police{outcome}, 'the outcome');
is($p->{contacted_at}, '2026-11-24T05:05:00.000Z', 'when');
is($p->{recorded_by}, '佐藤', 'and who recorded it');
is(q1("SELECT count(*) FROM escalation_steps WHERE detail::text LIKE '%警察%'"
	. " OR encode(detail, 'escape') LIKE '%山田%'"), 0, 'the details are sealed');
is(q1("SELECT count(*) FROM audit_log WHERE action = 'escalation.record'"), 3, 'each step audited');
ok(q1("SELECT count(*) FROM audit_log WHERE action = 'escalation.view'") >= 1, 'and each reading');

my $contact = q1("SELECT contact_id FROM conversations WHERE id = $conv");
($st, $r) = $sup->get("/api/contacts/$contact/case-record");
my ($in_record) = grep { $_->{id} == $conv } @{ $r->{conversations} };
is($in_record->{crisis_level}, 2, 'the case record shows the conversation at high risk');
is_deeply([ map { "$_->{step}:$_->{status}" } @{ $in_record->{escalation} } ],
	[qw(police:done situation:done prefecture:not_needed)], 'with its escalation steps in order');
($st) = $cou->post("/api/conversations/$conv/close", { reason => 'emergency', seen => $seen + 0 });
is($st, 200, 'now it can be closed');
is(q1("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE object_id = $conv"
	. " AND action IN ('conversation.claimed', 'conversation.reply', 'conversation.closed')"),
	'conversation.claimed,conversation.reply,conversation.closed',
	'taking, answering and closing it are audited, by whom');
is(q1("SELECT string_agg(DISTINCT actor, ',') FROM audit_log WHERE object_id = $conv"
	. " AND action IN ('conversation.claimed', 'conversation.reply', 'conversation.closed')"),
	'kato', 'the counsellor');

my $plain = q1("SELECT id FROM conversations WHERE crisis_level = 0 LIMIT 1");
$sim->send({ user => 'U' . ('4' x 32), type => 'text', text => '面談の予約をしたいです' });
ok(wait_until(10, sub { q1('SELECT count(*) FROM conversations WHERE crisis_level = 0') == 1 }),
	'an ordinary conversation');
$plain = q1('SELECT id FROM conversations WHERE crisis_level = 0');
($st, $r) = $sup->post("/api/conversations/$plain/escalation", { step => 'situation',
	status => 'not_needed', outcome => 'x' });
is($st, 409, 'no escalation record for a conversation never at high risk');
is($r->{error}, 'not_in_crisis', 'not_in_crisis');

# --- never closed by itself while at high risk ---
my ($V, $W) = ('U' . ('2' x 32), 'U' . ('3' x 32));
$sim->send({ user => $V, type => 'text', text => 'もう死ぬしかない' });
$sim->send({ user => $W, type => 'text', text => '今日は部活が長かった' });
ok(wait_until(10, sub { q1("SELECT count(*) FROM conversations WHERE state <> 'closed'") == 3 }),
	'two more conversations');
for my $u ($V, $W) {
	my $c = q1("SELECT cv.id FROM conversations cv JOIN contacts ct ON ct.id = cv.contact_id"
		. " WHERE ct.external_id = '$u' AND cv.state <> 'closed'");
	my $m = q1("SELECT max(id) FROM messages WHERE conversation_id = $c");
	$sup->post("/api/conversations/$c/claim");
	$sup->post("/api/conversations/$c/messages", { text => 'お返事します', seen => $m + 0 });
}
q1("UPDATE settings SET value = '1' WHERE key = 'idle_close_minutes'");
q1("UPDATE messages SET received_at = received_at - interval '1 day'");
q1("SELECT pg_notify('madoguchi_settings', 'idle_close_minutes')");
ok(wait_until(20, sub { q1("SELECT count(*) FROM conversations WHERE close_reason = 'no_reply'") == 1 }),
	'the ordinary silent conversation closes by itself');
is(q1("SELECT string_agg(crisis_level::text, ',') FROM conversations WHERE state <> 'closed'"
	. " AND id <> $plain"), '2', 'the high-risk one stays open');
$d->stop;
done_testing();
