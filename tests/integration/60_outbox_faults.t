#!/usr/bin/perl
# The outbox when LINE misbehaves: 429s, a 500 storm, a refusal, a send
# that hangs while the process is killed, and two processes on one
# database. Every reply must reach LINE exactly once, or be recorded as
# failed with LINE's reason.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Time::Local ();
use Madoguchi::Test;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $db = new_cluster();
$db->migrate;
my $port = free_port();
my $secret = random_hex(16);
my $token = random_hex(16);
my $sim = start_sim(secret => $secret, token => $token,
	webhook_url => "http://127.0.0.1:$port/webhook/line");
my %env = (MADOGUCHI_NOW => '2026-11-28T15:00:00+09:00',	# Saturday: after hours
	MADOGUCHI_OUTBOX_RETRY_MIN_MS => 50, MADOGUCHI_OUTBOX_RETRY_MAX_MS => 200);
# Every process of one desk shares its data key. A daemon started later
# has its test clock later too, as real clocks would be.
my $minute = 0;
sub daemon {
	my (%more) = @_;
	my $p = delete $more{port} // $port;
	my $d = start_daemon($db, port => $p, secret => $secret, token => $token,
		line_api => $sim->{url}, env => { %env,
		MADOGUCHI_NOW => sprintf('2026-11-28T15:%02d:00+09:00', $minute++), %more });
	$env{MADOGUCHI_DATA_KEY_FILE} //= $d->{env}{MADOGUCHI_DATA_KEY_FILE};
	return $d;
}
my $d = daemon();
my $n = 0;
# A new friend of the account (its greeting goes by reply, before the test).
sub user {
	my $u = sprintf 'U%032x', 0xfa000 + ++$n;
	$sim->send({ user => $u, type => 'follow' });
	wait_until(10, sub { q1("SELECT count(*) FROM outbox o JOIN contacts c ON c.id = o.contact_id
		WHERE c.external_id = '$u' AND o.state = 'sent'") == 1 }) or die "no greeting for $u";
	return $u;
}
sub q1 { $db->query($_[0]) }
# Seconds since the epoch of the simulator's "2026-12-07T07:01:02.123Z".
sub iso_s {
	my ($y, $mo, $d, $h, $mi, $s) = $_[0] =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):([\d.]+)Z$/
		or die "not a time: $_[0]";
	return Time::Local::timegm(0, $mi, $h, $d, $mo - 1, $y) + $s;
}
sub pushes { [ grep { $_->{path} eq '/v2/bot/message/push' } @{ $sim->requests("?user=$_[0]") } ] }
# The outbox row of the contact's latest message (not the greeting).
sub outbox_of {
	q1("SELECT o.state || '/' || coalesce(o.via, '-') || '/' || o.attempts || '/' || coalesce(o.last_error, '')
		FROM outbox o JOIN contacts c ON c.id = o.contact_id WHERE c.external_id = '$_[0]'
		ORDER BY o.id DESC LIMIT 1");
}
# A text whose event's reply token LINE never issued: the reply is refused
# as "Invalid reply token" and the sender falls back to push at once.
sub write_in { signed_post($_[1] // $d, text_body('たすけて', user => $_[0]))->{status} }

# --- 429 three times, then accepted ---
my $u = user();
$sim->faults({ status => 429, count => 3, path => '/v2/bot/message/push' });
is(write_in($u), 200, 'a message after hours');
ok(wait_until(15, sub { outbox_of($u) =~ /^sent/ }), 'its reply is sent in the end');
my $p = pushes($u);
is(scalar(grep { $_->{status} == 429 } @$p), 3, 'three pushes answered 429');
is(scalar(grep { $_->{delivered} } @$p), 1, 'exactly one delivered');
my %keys = map { $_->{retryKey} => 1 } @$p;
is(scalar keys %keys, 1, 'one retry key for every attempt');
like(outbox_of($u), qr{^sent/push/4/}, 'four attempts, by push after the refused reply token');

# --- a storm of 500s, then recovery ---
$u = user();
$sim->faults({ status => 500, count => 8, path => '/v2/bot/message/push' });
is(write_in($u), 200, 'a message while LINE answers 500');
ok(wait_until(20, sub { outbox_of($u) =~ /^sent/ }), 'sent once LINE recovers');
$p = pushes($u);
is(scalar(grep { $_->{status} == 500 } @$p), 8, 'eight 500s on the way');
is(scalar(grep { $_->{delivered} } @$p), 1, 'one delivery');

# --- refused for good: 400 fails at once, with LINE's reason ---
$u = user();
$sim->faults({ status => 400, count => 1, path => '/v2/bot/message/push' });
is(write_in($u), 200, 'a message whose reply LINE will refuse');
ok(wait_until(10, sub { outbox_of($u) =~ /^failed/ }), 'marked failed');
like(outbox_of($u), qr{^failed/push/1/HTTP 400}, 'at the first attempt, with the HTTP status and reason');
is(q1("SELECT m.delivery FROM messages m JOIN outbox o ON o.message_id = m.id
	JOIN contacts c ON c.id = o.contact_id WHERE c.external_id = '$u' ORDER BY o.id DESC LIMIT 1"), 'failed',
	'the message shows it');

# --- killed while a send hangs; LINE had accepted it ---
$u = user();
$sim->faults({ status => 'hang', count => 1, path => '/v2/bot/message/push', accept => JSON::PP::true });
is(write_in($u), 200, 'a message whose reply will hang after LINE accepted it');
ok(wait_until(10, sub { scalar @{ pushes($u) } == 1 }), 'the push reached LINE');
kill 'KILL', $d->{pid};
waitpid($d->{pid}, 0);
$d->{status} = 'killed';
like(outbox_of($u), qr{^pending/}, 'the row is still pending after the kill');
$d = daemon();
ok(wait_until(60, sub { outbox_of($u) =~ /^sent/ }), 'the restarted daemon finishes it')
	or diag(outbox_of($u));
$p = pushes($u);
is(scalar(grep { $_->{delivered} } @$p), 1, 'delivered exactly once');
is(scalar(grep { $_->{status} == 409 } @$p), 1, 'the second attempt met 409: already accepted');
# Taken over once the dead session's request has surely timed out (LINE
# request timeout 15 s, then 5 s more), never while it might still be
# answered: the simulator's clock says when each attempt came, however
# long the restart took.
my ($first) = grep { $_->{delivered} } @$p;
my ($again) = grep { $_->{status} == 409 } @$p;
cmp_ok(iso_s($again->{time}) - iso_s($first->{time}), '>=', 15,
	'not taken over while the first request might still be answered');
is(scalar(keys %{{ map { $_->{retryKey} => 1 } @$p }}), 1, 'with the same retry key');

# --- two processes on one database ---
my $d2 = daemon(port => free_port());
my @users = map { user() } 1 .. 60;
for my $i (0 .. $#users) {
	is(write_in($users[$i], $i % 2 ? $d2 : $d), 200, "message $i") or last;
}
ok(wait_until(30, sub { q1("SELECT count(*) FROM outbox WHERE state = 'pending'") == 0 }),
	'every reply done');
my $double = 0;
for my $x (@users) {
	# (A greeting may be pushed too: the processes' test clocks differ.)
	my $k = scalar(grep { $_->{delivered} && $_->{body}{messages}[0]{text} =~ /相談時間外/ }
		@{ $sim->requests("?user=$x") });
	diag("$x: $k delivered; ", join(' ', map { "$_->{retryKey}/$_->{status}" } @{ pushes($x) }), ' rows: ',
		q1("SELECT string_agg(o.id || ':' || o.retry_key || ':' || array_to_string(m.autoreply, ','), ' ') FROM outbox o JOIN messages m ON m.id = o.message_id JOIN contacts c ON c.id = o.contact_id WHERE c.external_id = '$x'")) if $k != 1;
	$double++ if $k != 1;
}
is($double, 0, 'sixty replies, each delivered exactly once by two processes');
my $by1 = () = $d->log_text =~ /event=outbox.attempt .*state=sent/g;
my $by2 = () = $d2->log_text =~ /event=outbox.attempt .*state=sent/g;
note("sent by process 1: $by1, by process 2: $by2");

# --- a give-up time bounds all retries ---
$u = user();	# greeted first: two seconds may not be enough under valgrind
is($d2->stop, 0, 'second daemon stops cleanly');
is($d->stop, 0, 'first daemon stops cleanly');
$d = daemon(MADOGUCHI_OUTBOX_GIVE_UP_SECONDS => 2);
$sim->faults({ status => 500, count => 100000, path => '/v2/bot/message/push' });
is(write_in($u), 200, 'a message while LINE is down for good');
ok(wait_until(15, sub { outbox_of($u) =~ /^failed/ }), 'given up after the bound');
like(outbox_of($u), qr{^failed/push/\d+/gave up after \d+ attempts: HTTP 500}, 'saying why');
$sim->post_json('/sim/faults', { clear => JSON::PP::true });
is($d->stop, 0, 'daemon stops cleanly');
done_testing;
