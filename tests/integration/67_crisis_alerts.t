#!/usr/bin/perl
# Crisis alerts: a high-risk message reaches a signed-in supervisor's
# console within 2 s of the webhook, and the desk's outside target at once
# (naming the case, never the words); unacknowledged, it is alerted again
# and widened to the on-call list; acknowledged, it stops, with who and
# when on record. Counsellors raise and lower by hand, with a reason. At
# 03:00 on a Sunday, with nobody signed in, the outside alert still goes.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Madoguchi::Test;
use Madoguchi::Console;
use Madoguchi::Sink;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $desk = new_desk();
my ($db, $sim) = @$desk{qw(db sim)};
sub q1 { $db->query($_[0]) }
my $notify = alert_sink();
my $on_call = alert_sink();
my $setting = json_encode({ repeat_minutes => 5,
	notify => [ { kind => 'webhook', url => $notify->url } ],
	on_call => [ { kind => 'webhook', url => $on_call->url } ] });
q1("UPDATE settings SET value = '$setting' WHERE key = 'crisis_alert'");

my $d = $desk->daemon(MADOGUCHI_NOW => '2026-11-24T14:00:00+09:00');	# a Tuesday
my $sup = console_signed_in($d, 'sato', staff_add($db, 'sato', 'supervisor', '佐藤'));
my $cou = console_signed_in($d, 'kato', staff_add($db, 'kato', 'counsellor', '加藤'));
$_->put('/api/me/presence', { presence => 'online' }) for $sup, $cou;
$sup->events_open;
$cou->events_open;
sleep 0.5;

# --- the alert, timed from the webhook ---
my $U = 'U' . ('1' x 32);
my $t0 = time;
$sim->send({ user => $U, type => 'text', text => '今から死にます。さようなら' });
my ($name, $data);
do { ($name, $data) = $sup->events_next(5) } until !defined $name || $name eq 'crisis_alert';
my $elapsed = time - $t0;
is($name, 'crisis_alert', "the supervisor's console gets the alert");
cmp_ok($elapsed, '<', 2, sprintf('within 2 s of the webhook (%.2f s)', $elapsed));
my $conv = q1('SELECT id FROM conversations');
is($data->{conversation}, $conv, 'naming the conversation');
is($data->{round}, 1, 'first round');
my @seen;
while (my ($n) = $cou->events_next(1)) { push @seen, $n }
ok((grep { $_ eq 'crisis' } @seen), 'counsellors hear the conversation rose (their queue moves)');
ok(!(grep { $_ eq 'crisis_alert' } @seen), 'but the alert itself is for supervisors');

my (undef, $q) = $sup->get('/api/queue');
is($q->{conversations}[0]{id}, $conv, 'the conversation is at the top of the queue');
is($q->{conversations}[0]{crisis_level}, 2, 'marked high');
my (undef, $al) = $sup->get('/api/crisis/alerts');
is(scalar @{ $al->{alerts} }, 1, 'one alert waits for an acknowledgement');
is($d->metric('madoguchi_crisis_alerts_unacknowledged'), 1, "and the desk's monitoring counts it");
is($al->{alerts}[0]{case_number}, sprintf('No.%06d', q1('SELECT id FROM contacts')),
	'by case number');
my ($st) = $cou->get('/api/crisis/alerts');
is($st, 403, 'a counsellor cannot list alerts');

ok(wait_until(30, sub { @{ $notify->received } == 1 }), 'the outside target hears at once');
my $n1 = $notify->received->[0];
is($n1->{type}, 'crisis_alert', 'a crisis alert');
is($n1->{conversation}, $conv, 'naming the conversation');
is($n1->{round}, 1, 'round 1');
unlike(json_encode($n1), qr/死にます|さようなら/, 'never what the person wrote');
is(scalar @{ $on_call->received }, 0, 'the on-call list waits for round 2');
ok(wait_until(5, sub { q1("SELECT count(*) FROM crisis_notifications WHERE sent_at IS NOT NULL") == 1 }),
	'the send is recorded') or diag $d->log_text =~ /(.*crisis\..*)/g;

sleep 1;
is(q1("SELECT count(*) FROM messages WHERE 'crisis' = ANY (autoreply)"), 0,
	'in hours, with counsellors signed in, no emergency auto-reply: they answer');

# --- not acknowledged: again, wider ---
like(q1('SELECT next_alert_at - at FROM crisis_events'), qr/^00:05:00/,
	'the next round is due repeat_minutes later');
q1("UPDATE crisis_events SET next_alert_at = '2026-11-24T13:59:00+09:00'");	# 5 minutes on
do { ($name, $data) = $sup->events_next(20) } until !defined $name || $name eq 'crisis_alert';
is($data->{round}, 2, 'unacknowledged, it is alerted again');
ok(wait_until(30, sub { @{ $notify->received } == 2 && @{ $on_call->received } == 1 }),
	'to the notify list and now the on-call list too');
is($on_call->received->[0]{round}, 2, 'round 2');

# --- a failing target is retried, not dropped ---
$on_call->status(500);
q1("UPDATE crisis_events SET next_alert_at = '2026-11-24T13:59:00+09:00'");
ok(wait_until(30, sub { @{ $on_call->received } == 2 }), 'round 3 reaches a failing target');
ok(wait_until(5, sub { q1("SELECT count(*) FROM crisis_notifications WHERE last_status = 500"
	. " AND sent_at IS NULL AND next_attempt_at IS NOT NULL") == 1 }), 'its failure is kept for a retry');
$on_call->status(200);
q1("UPDATE crisis_notifications SET next_attempt_at = '2026-11-24T13:59:00+09:00' WHERE last_status = 500");
ok(wait_until(30, sub { q1("SELECT count(*) FROM crisis_notifications WHERE sent_at IS NULL") == 0 }),
	'and sent on the retry');

# --- acknowledged: it stops ---
($st) = $cou->post("/api/conversations/$conv/crisis/ack");
is($st, 403, 'a counsellor cannot acknowledge');
($st) = $sup->post("/api/conversations/$conv/crisis/ack");
is($st, 200, 'the supervisor acknowledges');
like($d->get('/metrics')->{content}, qr/^madoguchi_crisis_alerts_unacknowledged 0$/m,
	'none left unacknowledged');
is(q1("SELECT s.login FROM crisis_events e JOIN staff s ON s.id = e.acknowledged_by"), 'sato',
	'who acknowledged is recorded');
is(q1('SELECT acknowledged_at IS NOT NULL AND next_alert_at IS NULL FROM crisis_events'), 't',
	'and when; no round is due any more');
is(q1("SELECT count(*) FROM audit_log WHERE action = 'crisis.acknowledge'"), 1, 'it is audited');
($st) = $sup->post("/api/conversations/$conv/crisis/ack");
is($st, 409, 'nothing left to acknowledge');
my $sent = @{ $notify->received };
sleep 6;
is(scalar @{ $notify->received }, $sent, 'no more alerts after the acknowledgement');
(undef, $al) = $sup->get('/api/crisis/alerts');
is(scalar @{ $al->{alerts} }, 0, 'and none waits');

# --- high again after the acknowledgement: alerted again ---
1 while $sup->events_next(0.5);
$sim->send({ user => $U, type => 'text', text => 'やっぱり今夜死ぬ' });
do { ($name, $data) = $sup->events_next(20) } until !defined $name || $name eq 'crisis_alert';
is($data->{conversation}, $conv, 'a new high message after the acknowledgement alerts again');
is(q1("SELECT count(*) FROM crisis_events WHERE conversation_id = $conv AND level = 2"), 2,
	'as a new record');
$sim->send({ user => $U, type => 'text', text => 'しにたい' });
sleep 2;
is(q1("SELECT count(*) FROM crisis_events WHERE conversation_id = $conv AND level = 2"), 2,
	'but not for every message while that alert waits');
($st) = $sup->post("/api/conversations/$conv/crisis/ack");
is($st, 200, 'acknowledged again');

# --- by hand, with a reason ---
1 while $sup->events_next(0.5);	# what is left of the rounds above
my $V = 'U' . ('2' x 32);
$sim->send({ user => $V, type => 'text', text => '最近よく眠れなくて' });
ok(wait_until(30, sub { q1('SELECT count(*) FROM conversations') == 2 }), 'a second conversation');
my $conv2 = q1("SELECT max(id) FROM conversations");
($st) = $cou->post("/api/conversations/$conv2/crisis", { level => 2 });
is($st, 400, 'raising needs a reason');
($st, my $r) = $cou->post("/api/conversations/$conv2/crisis",
	{ level => 2, reason => '通話で自傷をほのめかした' });
is($st, 200, 'a counsellor raises a conversation by hand');
ok($r->{changed}, 'it changed');
do { ($name, $data) = $sup->events_next(20) } until !defined $name || $name eq 'crisis_alert';
is($data->{conversation}, $conv2, 'which alerts the supervisors too');
is(q1("SELECT source || ':' || previous_level || '>' || level FROM crisis_events"
	. " WHERE conversation_id = $conv2"), 'raised:0>2', 'recorded as raised');
is(q1("SELECT count(*) FROM crisis_events WHERE reason::text LIKE '%自傷%'"), 0,
	'with the reason encrypted');
($st, my $h) = $cou->get("/api/conversations/$conv2");
my ($ev) = grep { ($_->{kind} // '') eq 'crisis_raised' } @{ $h->{history} // $h->{items} // [] };
ok($ev, "the conversation's history shows it") or diag explain $h;
($st, $r) = $cou->post("/api/conversations/$conv2/crisis",
	{ level => 1, reason => '本人と話し、今は安全と確認' });
is($st, 403, 'a counsellor cannot take it down from high (nor so silence its alert)');
is($r->{error}, 'supervisor_only', 'only a supervisor may');
is(q1("SELECT count(*) FROM crisis_events WHERE conversation_id = $conv2"
	. " AND acknowledged_at IS NULL AND next_alert_at IS NOT NULL"), 1, 'the alert still runs');
($st, $r) = $sup->post("/api/conversations/$conv2/crisis",
	{ level => 1, reason => '本人と話し、今は安全と確認' });
is($st, 200, 'a supervisor lowers it, with a reason');
is(q1("SELECT s.login FROM crisis_events e JOIN staff s ON s.id = e.acknowledged_by"
	. " WHERE e.conversation_id = $conv2 AND e.source = 'raised'"), 'sato',
	'which acknowledges the alert it had, by that supervisor');
is(q1("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE action IN"
	. " ('crisis.raised', 'crisis.lowered') AND object_id = $conv2"), 'crisis.raised,crisis.lowered',
	'both audited');
($st) = $cou->post("/api/conversations/$conv2/crisis", { level => 2, reason => 'また心配な発言' });
is($st, 200, 'a counsellor may raise it again');
my $other = console_signed_in($d, 'ito', staff_add($db, 'ito', 'counsellor', '伊藤'));
$cou->post("/api/conversations/$conv2/claim");
($st) = $other->post("/api/conversations/$conv2/crisis", { level => 2, reason => 'x' });
is($st, 404, "but not another counsellor's conversation");
$d->stop;

# --- 03:00 on a Sunday, nobody signed in ---
q1("UPDATE sessions SET ended_at = now(), end_reason = 'signed_out' WHERE ended_at IS NULL");
my $night = $desk->daemon(MADOGUCHI_NOW => '2026-11-29T03:00:00+09:00');
my $W = 'U' . ('3' x 32);
sub to_w { [ map { $_->{body}{messages} } @{ $sim->delivered("?user=$W") } ] }
$sim->send({ user => $W, type => 'text', text => 'ロープ用意した。もう終わりにする' });
# The second conversation's raise is still unacknowledged, so this daemon
# alerts it again too, in any order: look for the new conversation's alert.
sub night_alerts { [ grep { $_->{conversation} != $conv && $_->{conversation} != $conv2 }
	@{ $notify->received } ] }
ok(wait_until(30, sub { @{ night_alerts() } == 1 }),
	'at night, with nobody signed in, the outside alert still goes');
is(night_alerts()->[0]{level}, 'high', 'as high');
ok(wait_until(30, sub { grep { $_->{conversation} == $conv2 && $_->{round} > 1 }
	@{ $notify->received } }), 'and what was left unacknowledged before is alerted again');
ok(wait_until(30, sub { @{ to_w() } == 1 }), 'and the person gets an answer at once');
my $reply = join "\n", map { $_->{text} } @{ to_w()->[0] };
like($reply, qr/110番.*119番/s, 'with the emergency numbers');
like($reply, qr/0120-279-338/, "and the desk's 24-hour lines");
like($reply, qr/相談時間外/, 'with the after-hours reply after it');
ok(index($reply, '110番') < index($reply, '相談時間外'), 'the emergency numbers first');
is(q1("SELECT array_to_string(autoreply, ',') FROM messages WHERE direction = 'auto'"
	. " ORDER BY id DESC LIMIT 1"), 'crisis,after_hours', 'recorded as both');
$sim->send({ user => $W, type => 'text', text => 'しにたい' });
sleep 3;
is(scalar @{ to_w() }, 1, 'once per rise, not for every message');
$night->stop;
done_testing();
