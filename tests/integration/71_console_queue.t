#!/usr/bin/perl
# The queue across two madoguchid on one database: a message stored by one
# process reaches a console on the other by LISTEN/NOTIFY and SSE; two
# counsellors claiming at once on different processes, one wins; the
# holder's reply reaches the simulated LINE; notes never do; what the
# console shows never includes the LINE user id.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Madoguchi::Test;
use Madoguchi::Console;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $db = new_cluster();
$db->migrate;
my $port = free_port();
my $secret = random_hex(16);
my $token = random_hex(16);
my $sim = start_sim(secret => $secret, token => $token,
	webhook_url => "http://127.0.0.1:$port/webhook/line");
# A Tuesday afternoon: open, so no after-hours reply in the way.
# One desk clock in both processes, however long each takes to start
# (under valgrind a second or more, and not the same for both).
my %common = (secret => $secret, token => $token, line_api => $sim->{url},
	data_key => random_hex(32),
	env => { MADOGUCHI_NOW => '2026-11-24T14:00:00+09:00',
		MADOGUCHI_NOW_AT => sprintf('%.6f', time) });
my $d1 = start_daemon($db, port => $port, %common);
my $d2 = start_daemon($db, %common);
sub q1 { $db->query($_[0]) }

my $a = console_signed_in($d1, 'aoki', staff_add($db, 'aoki', 'counsellor', '青木'));
my $b = console_signed_in($d2, 'baba', staff_add($db, 'baba', 'counsellor', '馬場'));
my $s = console_signed_in($d1, 'sato', staff_add($db, 'sato', 'supervisor', '佐藤'));
$_->put('/api/me/presence', { presence => 'online' }) for $a, $b;

# --- live: stored through process 1, seen on a stream of process 2 ---
$b->events_open;
my ($ev) = $b->events_next(5);
is($ev, 'hello', 'the stream opens with hello');
my $U1 = 'U' . ('7' x 32);
my $t0 = time;
my $r = $sim->send({ user => $U1, type => 'text', text => '<script>alert(1)</script>こんにちは' });
is($r->{status}, 200, 'a message through process 1');
my ($name, $data) = $b->events_next(5);
my $took = time - $t0;
is($name, 'inbound', 'the console on process 2 hears of it');
ok($took < 1, sprintf('within a second (%.0f ms, webhook included)', $took * 1000));
my $conv = $data->{conversations}[0];
ok($conv, 'the event names the conversation');

my ($st, $q, $raw) = $b->get('/api/queue');
is($st, 200, 'the queue');
my ($item) = grep { $_->{id} == $conv } @{ $q->{conversations} };
ok($item, 'lists the conversation');
is($item->{preview}{text}, '<script>alert(1)</script>こんにちは', 'the preview is the text, as text');
like($item->{contact}{case_number}, qr/^No\.\d{6}$/, 'the contact by case number');
is($item->{contact}{returning}, JSON::PP::false, 'a new contact');
is($item->{assignee}, undef, 'nobody holds it yet');
ok($item->{reply_due_at}, 'it has a reply deadline');
unlike($raw->{content}, qr/$U1/, 'the LINE user id is nowhere in the answer');

# --- two counsellors on two processes claim at once ---
my $sa = $a->send_raw('POST', "/api/conversations/$conv/claim");
my $sb = $b->send_raw('POST', "/api/conversations/$conv/claim");
my @got = sort (Madoguchi::Console::read_status($sa), Madoguchi::Console::read_status($sb));
is("@got", '200 409', 'one claim wins, the other gets 409');
my $holder = q1("SELECT s.login FROM conversations c JOIN staff s ON s.id = c.assignee_id WHERE c.id = $conv");
my ($mine, $other) = $holder eq 'aoki' ? ($a, $b) : ($b, $a);
is(q1("SELECT count(*) FROM conversation_events WHERE kind = 'claimed'"), 1, 'one claim recorded');
($name, $data) = $b->events_next(5);
is($name, 'conversation', 'the claim is announced');
is($data->{change}, 'claimed', 'as claimed');

($st, $q) = $other->get('/api/queue');
ok(!(grep { $_->{id} == $conv } @{ $q->{conversations} }), 'the other counsellor no longer sees it');
($st) = $other->get("/api/conversations/$conv");
is($st, 404, 'nor can open it');
($st, $q) = $s->get('/api/queue');
my ($sv) = grep { $_->{id} == $conv } @{ $q->{conversations} };
is($sv->{assignee}{display_name}, $holder eq 'aoki' ? '青木' : '馬場', 'the supervisor sees who holds it');
($st, $data) = $other->post("/api/conversations/$conv/messages", { text => '横から' });
is($st, 409, 'the other counsellor cannot reply');
is($data->{error}, 'not_yours', 'not theirs');

# --- the holder replies and notes ---
($st, $data) = $mine->post("/api/conversations/$conv/messages", { text => '' });
is($st, 400, 'an empty reply: 400');
($st, $data) = $mine->post("/api/conversations/$conv/messages",
	{ text => "メッセージありがとうございます。\n相談員の青木です。" });
is($st, 200, 'the holder replies');
ok(wait_until(10, sub { scalar @{ $sim->delivered("?user=$U1") } == 1 }),
	'the reply reaches LINE');
my ($sent) = @{ $sim->delivered("?user=$U1") };
is($sent->{body}{messages}[0]{text}, "メッセージありがとうございます。\n相談員の青木です。",
	'with its text');
($st) = $mine->post("/api/conversations/$conv/notes", { text => " \n" });
is($st, 400, 'an empty note: 400');
($st) = $mine->post("/api/conversations/$conv/notes", { text => '学校の話。次回確認' });
is($st, 200, 'an internal note');
sleep 0.5;
is(scalar @{ $sim->delivered("?user=$U1") }, 1, 'the note never goes to LINE');
my $heard = 0;
for (1 .. 10) {
	my ($n, $e) = $b->events_next(2);
	$heard = 1, last if $n && $n eq 'conversation' && ($e->{change} // '') eq 'delivery';
}
ok($heard, 'consoles hear that the reply was delivered');
ok(wait_until(10, sub {
	my (undef, $c) = $mine->get("/api/conversations/$conv");
	my ($out) = grep { $_->{direction} && $_->{direction} eq 'out' } @{ $c->{history} };
	$out && $out->{delivery} eq 'sent' }), 'the reply shows as sent');
my (undef, $c) = $mine->get("/api/conversations/$conv");
is($c->{conversation}{state}, 'waiting_for_user', 'the conversation waits for the user');
is($c->{conversation}{reply_due_at}, undef, 'the deadline is met and cleared');
my @kinds = map { $_->{type} eq 'message' ? "$_->{direction}" : "event:$_->{kind}" } @{ $c->{history} };
is("@kinds", 'in event:claimed out event:note', 'the history in order, events included');
my ($note) = grep { $_->{type} eq 'event' && $_->{kind} eq 'note' } @{ $c->{history} };
is($note->{text}, '学校の話。次回確認', 'the note reads back');
is(q1("SELECT count(*) FROM conversation_events WHERE body::text LIKE '%学校%'"), 0,
	'and is stored sealed');
my $views = q1("SELECT count(*) FROM audit_log WHERE action = 'conversation.view'");
$mine->get("/api/conversations/$conv");
is(q1("SELECT count(*) FROM audit_log WHERE action = 'conversation.view'"
	. " AND object_id = $conv AND staff_id = (SELECT id FROM staff WHERE login = '$holder')"),
	$views + 1, 'each view of the conversation is in the audit trail, with who');

# --- a reply written before the counsellor saw a new message leaves it owed ---
my $seen = (grep { $_->{type} eq 'message' } @{ $c->{history} })[-1]{id};
$sim->send({ user => $U1, type => 'text', text => 'もうひとつ聞きたいです' });
ok(wait_until(5, sub { q1("SELECT state FROM conversations WHERE id = $conv") eq 'waiting' }),
	'a new message: waiting');
($st) = $mine->post("/api/conversations/$conv/messages", { text => 'お返事です', seen => $seen });
is($st, 200, 'a reply naming the last message seen, before the new one');
is(q1("SELECT state || '/' || (reply_due_at IS NOT NULL) FROM conversations WHERE id = $conv"),
	'waiting/true', 'the person is still owed an answer, with the deadline kept');
(undef, $c) = $mine->get("/api/conversations/$conv");
$seen = (grep { $_->{type} eq 'message' } @{ $c->{history} })[-1]{id};
($st) = $mine->post("/api/conversations/$conv/messages", { text => '確認しました', seen => $seen });
is(q1("SELECT state FROM conversations WHERE id = $conv"), 'waiting_for_user',
	'answered after reading it: waiting for the user');

# --- the person writes again: waiting, with a new deadline ---
$sim->send({ user => $U1, type => 'text', text => 'ありがとうございます' });
ok(wait_until(5, sub { q1("SELECT state FROM conversations WHERE id = $conv") eq 'waiting' }),
	'waiting again');
(undef, $c) = $mine->get("/api/conversations/$conv");
ok($c->{conversation}{reply_due_at}, 'with a new deadline');
is($c->{conversation}{assignee}{display_name}, $holder eq 'aoki' ? '青木' : '馬場',
	'still with the same counsellor');

# --- a supervisor hands it over; the new holder gives it back ---
my $other_id = $other->{staff}{id};
($st) = $mine->post("/api/conversations/$conv/transfer", { to => $other_id });
is($st, 403, 'a counsellor may not transfer');
($st, $data) = $s->post("/api/conversations/$conv/transfer", { to => 999 });
is($data->{error}, 'no_such_staff', 'to nobody: refused');
($st) = $s->post("/api/conversations/$conv/transfer", { to => $other_id, note => '学校の件に詳しいので' });
is($st, 200, 'the supervisor transfers it with a note');
(undef, $c) = $other->get("/api/conversations/$conv");
is($c->{conversation}{assignee}{id}, $other_id, 'the other counsellor now holds it');
my ($tr) = grep { $_->{type} eq 'event' && $_->{kind} eq 'transferred' } @{ $c->{history} };
is($tr->{text}, '学校の件に詳しいので', 'the transfer and its note are in the history');
($st) = $mine->get("/api/conversations/$conv");
is($st, 404, 'the first holder no longer sees it');
($st) = $mine->post("/api/conversations/$conv/release");
is($st, 409, 'nor can give it back');
($st) = $other->post("/api/conversations/$conv/release");
is($st, 200, 'the holder gives it back to the queue');
(undef, $q) = $mine->get('/api/queue');
($item) = grep { $_->{id} == $conv } @{ $q->{conversations} };
is($item->{assignee}, undef, 'unclaimed, and in everyone\'s queue again');

# --- one session cannot hold every stream of a process ---
my @held;
for (1 .. 7) {	# with the one $b has open: 8
	push @held, $b->send_raw('GET', '/api/events');
}
is(scalar(grep { Madoguchi::Console::stream_ready($_) } @held), 7, 'eight streams open');
my $ninth = $b->send_raw('GET', '/api/events');
is(Madoguchi::Console::read_status($ninth), 429, 'a ninth stream for one session: 429');
close $_ for @held;

is($_->stop, 0, 'madoguchid stops cleanly') for $d1, $d2;
done_testing();
