#!/usr/bin/perl
# Reply deadlines and closing, on the desk's test clock: a message on a
# Monday evening is due by Tuesday 20:00; within the desk's due-soon time
# the console marks it due soon, at 20:00 overdue, once each, on the
# stream. Closing takes one of the desk's reasons and refuses when a new
# message came in unseen; a conversation silent after the desk's answer
# closes itself; the next message opens a new one.
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
sub daemon_at { $desk->daemon(MADOGUCHI_NOW => $_[0]) }
my $pw = staff_add($db, 'sato', 'supervisor', '佐藤');

my $d = daemon_at('2026-11-30T19:00:00+09:00');	# a Monday, open
my $U = 'U' . ('5' x 32);
$sim->send({ user => $U, type => 'text', text => '相談です' });
my $conv = q1("SELECT id FROM conversations");
is(q1("SELECT reply_due_at AT TIME ZONE 'Asia/Tokyo' FROM conversations"), '2026-12-01 20:00:00',
	'due by the end of the next business day');
is($d->stop, 0, 'stopped');

# At 18:30 the deadline is an hour and a half away, beyond the desk's
# due-soon time (an hour). The stream is open (it said hello) before the
# desk widens that time to two hours; the next sweep then marks it due
# soon, while someone listens, however slowly the sign-in went.
$d = daemon_at('2026-12-01T18:30:00+09:00');
my $s = console_signed_in($d, 'sato', $pw);
$s->events_open;
sleep 6;	# a sweep or more at the desk's own setting
is(q1("SELECT due_soon_at IS NULL FROM conversations"), 't', 'an hour and a half before: not yet due soon');
{
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	like(`bin/madoguchi settings set due_soon_minutes 120 2>&1`, qr/changed by/,
		'the desk calls two hours before a deadline due soon');
}
my @events;
my $deadline = time + 30;
while (time < $deadline) {
	my ($name, $data) = $s->events_next(1);
	push @events, "$name:$data->{change}" if $name && $name eq 'conversation';
	last if @events;
}
is("@events", 'conversation:due_soon', 'then due soon, announced');
my (undef, $c) = $s->get("/api/conversations/$conv");
ok($c->{conversation}{due_soon} && !$c->{conversation}{overdue}, 'marked due soon, not overdue');
my (undef, $list) = $s->get('/api/deadlines');
is(scalar @{ $list->{conversations} }, 1, "the supervisor's list of today's deadlines has it");
is($d->stop, 0, 'stopped');

$d = daemon_at('2026-12-01T19:59:57+09:00');
$s = console_sign_in($d, 'sato', $s->{password}, $s->{secret}, 1);
ok(wait_until(15, sub { q1("SELECT overdue_at IS NOT NULL FROM conversations") eq 't' }),
	'past 20:00: overdue');
is($d->metric('madoguchi_conversations_overdue'), 1, "the desk's monitoring counts it");
sleep 6;	# another sweep or two
is(q1("SELECT string_agg(kind, ',' ORDER BY id) FROM conversation_events"), 'due_soon,overdue',
	'each mark made once, in the history');
(undef, $c) = $s->get('/api/queue');
ok($c->{conversations}[0]{overdue}, 'the queue shows it overdue');

# --- closing by hand ---
my ($st, $body) = $s->post("/api/conversations/$conv/claim");
is($st, 200, 'claimed');
(undef, $c) = $s->get("/api/conversations/$conv");
my $seen = (grep { $_->{type} eq 'message' } @{ $c->{history} })[-1]{id};
($st, $body) = $s->post("/api/conversations/$conv/close", { reason => 'bored', seen => $seen });
is($st, 400, 'a reason not on the desk\'s list: 400');
$sim->send({ user => $U, type => 'text', text => 'まだいますか' });
($st, $body) = $s->post("/api/conversations/$conv/close", { reason => 'user_ended', seen => $seen });
is($st, 409, 'a message came in after what was seen: 409');
is($body->{error}, 'new_message', 'new_message');
(undef, $c) = $s->get("/api/conversations/$conv");
$seen = (grep { $_->{type} eq 'message' } @{ $c->{history} })[-1]{id};
($st, $body) = $s->post("/api/conversations/$conv/close",
	{ reason => 'user_ended', seen => $seen, note => '本人から終了の申し出' });
is($st, 200, 'closed with a reason and a note');
is(q1("SELECT state || '/' || close_reason FROM conversations WHERE id = $conv"), 'closed/user_ended',
	'recorded');
($st) = $s->post("/api/conversations/$conv/close", { reason => 'user_ended', seen => $seen });
is($st, 409, 'closing twice: 409');
$sim->send({ user => $U, type => 'text', text => 'また相談したいです' });
ok(wait_until(5, sub { q1("SELECT count(*) FROM conversations") == 2 }),
	'the next message opens a new conversation');
(undef, $c) = $s->get('/api/queue');
ok($c->{conversations}[0]{contact}{returning}, 'a returning contact');
my $conv2 = $c->{conversations}[0]{id};

# --- closing by itself after silence ---
$s->post("/api/conversations/$conv2/claim");
($st) = $s->post("/api/conversations/$conv2/messages", { text => 'お返事します' });
is($st, 200, 'answered');
{
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	like(`bin/madoguchi settings set idle_close_minutes 10 2>&1`, qr/changed by/,
		'the desk closes silent conversations after 10 minutes');
	like(`bin/madoguchi settings set idle_close_text --text 'また話したくなったら、いつでもメッセージしてください。' 2>&1`,
		qr/changed by/, 'with a closing message');
}
sleep 6;
is(q1("SELECT state FROM conversations WHERE id = $conv2"), 'waiting_for_user', 'not yet');
is($d->stop, 0, 'stopped');
$d = daemon_at('2026-12-01T20:12:00+09:00');
ok(wait_until(15, sub { q1("SELECT state FROM conversations WHERE id = $conv2") eq 'closed' }),
	'eleven minutes of silence later: closed');
is(q1("SELECT close_reason FROM conversations WHERE id = $conv2"), 'no_reply', 'as no reply');
is(q1("SELECT count(*) FROM conversation_events WHERE kind = 'auto_closed'"), 1, 'in the history');
ok(wait_until(10, sub { grep { ($_->{body}{messages}[0]{text} // '') =~ /いつでもメッセージ/ }
	@{ $sim->delivered("?user=$U") } }), 'the closing message reaches the person');
is(q1("SELECT array_to_string(autoreply, ',') FROM messages WHERE conversation_id = $conv2"
	. " AND direction = 'auto' ORDER BY id DESC LIMIT 1"), 'closing', 'recorded in the conversation');
is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
