#!/usr/bin/perl
# Auto-replies end to end: the webhook stores, the decision is made, the
# outbox sends it through the simulated LINE. The desk's clock is set to a
# Saturday afternoon (closed), so the after-hours rules apply.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Madoguchi::Test;

my $db = new_cluster();
$db->migrate;
my $port = free_port();
my $secret = random_hex(16);
my $token = random_hex(16);
my $sim = start_sim(secret => $secret, token => $token,
	webhook_url => "http://127.0.0.1:$port/webhook/line");
my $d = start_daemon($db, port => $port, secret => $secret, token => $token,
	line_api => $sim->{url},
	env => { MADOGUCHI_NOW => '2026-11-28T15:00:00+09:00' });	# a Saturday
sub q1 { $db->query($_[0]) }
sub delivered_to { scalar @{ $sim->delivered("?user=$_[0]") } }

my $U1 = 'U' . ('1' x 32);
my $sent = $sim->send({ user => $U1, type => 'text', text => '今、話せますか' });
is($sent->{status}, 200, 'a message on a Saturday afternoon is stored');
ok(wait_until(10, sub { delivered_to($U1) == 1 }), 'one auto-reply reaches LINE');
my ($reply) = @{ $sim->delivered("?user=$U1") };
is($reply->{path}, '/v2/bot/message/reply', 'sent with the reply token, free of charge');
my $text = $reply->{body}{messages}[0]{text};
like($text, qr/相談時間外/, 'it says the desk is closed');
like($text, qr/月〜金 11:00〜20:00/, 'with the hours');
like($text, qr/11月30日（月）11:00/, 'and when it next opens (Monday 11:00)');
like($text, qr/0120-279-338/, 'and a 24-hour hotline');
ok(wait_until(5, sub { q1("SELECT delivery FROM messages WHERE direction = 'auto'") eq 'sent' }),
	'the auto message is recorded as sent');
is(q1("SELECT array_to_string(autoreply, ',') FROM messages WHERE direction = 'auto'"),
	'after_hours', 'marked as the after-hours reply');
is(q1("SELECT state || '/' || via || '/' || attempts FROM outbox"), 'sent/reply/1',
	'its outbox row: sent by reply in one attempt');
is(q1("SELECT count(*) FROM outbox WHERE payload IS NOT NULL"), 0,
	'the sent payload is erased from the outbox');

$sent = $sim->send({ user => $U1, type => 'text', text => 'もう一つ' });
$sent = $sim->send({ user => $U1, type => 'image' });
ok(wait_until(10, sub { delivered_to($U1) == 2 }), 'an image gets a reply');
($reply) = @{ $sim->delivered("?user=$U1") }[1];
like($reply->{body}{messages}[0]{text}, qr/文字で送って/, 'asking for text');
unlike($reply->{body}{messages}[0]{text}, qr/相談時間外/,
	'and not the after-hours text again (once per closed period)');
sleep 1;
is(delivered_to($U1), 2, 'the second text of the closed period gets nothing');
is(q1("SELECT count(*) FROM autoreply_pending"), 0, 'every queued event decided');

# A new friend, then one who unblocks.
my $U2 = 'U' . ('2' x 32);
$sim->send({ user => $U2, type => 'follow' });
ok(wait_until(10, sub { delivered_to($U2) == 1 }), 'a follow gets the greeting');
like($sim->delivered("?user=$U2")->[0]{body}{messages}[0]{text}, qr/友だち追加ありがとう/,
	'a welcome');
$sim->send({ user => $U2, type => 'unfollow' });
$sim->send({ user => $U2, type => 'follow', unblocked => JSON::PP::true });
ok(wait_until(10, sub { delivered_to($U2) == 2 }), 'unblocking gets a reply');
like($sim->delivered("?user=$U2")->[1]{body}{messages}[0]{text}, qr/おかえりなさい/,
	'a shorter welcome back');
is(q1("SELECT count(*) FROM messages WHERE conversation_id IS NULL AND direction = 'auto'"), 2,
	'greetings belong to the contact, not to a conversation');

# A message from someone who then blocked: nothing is sent, it is recorded.
my $U3 = 'U' . ('3' x 32);
my $now = int(time * 1000);
my $raw = { destination => 'U0123456789abcdef0123456789abcdef', events => [
	{ type => 'message', mode => 'active', timestamp => $now, replyToken => random_hex(16),
	  source => { type => 'user', userId => $U3 }, webhookEventId => '01BLOCK0000000000000000001',
	  deliveryContext => { isRedelivery => JSON::PP::false },
	  message => { type => 'text', id => '100000000000000001', quoteToken => 'q', text => 'やっぱりいいです' } },
	{ type => 'unfollow', mode => 'active', timestamp => $now + 1,
	  source => { type => 'user', userId => $U3 }, webhookEventId => '01BLOCK0000000000000000002',
	  deliveryContext => { isRedelivery => JSON::PP::false } } ] };
is(signed_post($d, $raw)->{status}, 200, 'a message and a block in one delivery');
ok(wait_until(10, sub { q1("SELECT count(*) FROM outbox WHERE state = 'undeliverable'") == 1 }),
	'the reply to a contact who blocked is undeliverable');
is(q1("SELECT delivery FROM messages m JOIN conversations c ON c.id = m.conversation_id
	JOIN contacts p ON p.id = c.contact_id WHERE p.external_id = '$U3' AND m.direction = 'auto'"),
	'undeliverable', 'recorded on the message');
isnt(q1("SELECT undeliverable_at FROM contacts WHERE external_id = '$U3'"), '',
	'and on the contact');
is(scalar @{ $sim->requests("?user=$U3") }, 0, 'nothing was sent to LINE for them');

diag(join "\n", grep { !/db.query|http.request/ } split /\n/, $d->log_text) if $ENV{SHOWLOG};
is($d->stop, 0, 'daemon exits cleanly');
done_testing;
