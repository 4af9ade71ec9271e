#!/usr/bin/perl
# Strict mode: the desk's LINE account carries only fixed templates. A
# counsellor's own words are refused before they are stored, the outbox's
# trigger refuses free text whatever path wrote it, and the sender fails a
# free-text row left over from direct mode rather than send it. Only a
# supervisor's emergency exception lets one conversation continue on LINE,
# for its time, recorded and audited.
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
sub cli {
	my ($args, $public_url) = @_;
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	local $ENV{MADOGUCHI_PUBLIC_URL} = $public_url // "http://127.0.0.1:$desk->{port}";
	my $bin = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
	return scalar `$bin/madoguchi $args 2>&1`;
}
like(cli(q{settings set line_mode '"strict"' --by admin}, ''), qr/strict needs public_url/,
	'strict mode without a public_url is refused: nobody could reach the web chat');
like(cli(q{settings set line_mode '"strict"' --by admin}, "http://127.0.0.1:$desk->{port}"),
	qr/changed by cli:admin/, 'the desk turns strict');
like(cli(q{settings set line_mode '"sometimes"' --by admin}), qr/expected "direct" or "strict"/,
	'a mode it does not know is refused');
like(cli(q{settings set reply_waiting_after_seconds 2 --by admin}), qr/changed by/,
	'a reply unseen for 2 s is announced on LINE (a minute by default)');

my $d = $desk->daemon(MADOGUCHI_NOW => '2026-11-24T14:00:00+09:00',
	MADOGUCHI_OUTBOX_RETRY_MIN_MS => 50, MADOGUCHI_OUTBOX_RETRY_MAX_MS => 200,
	MADOGUCHI_PUBLIC_URL => "http://127.0.0.1:$desk->{port}/");
my $c = console_signed_in($d, 'kato', staff_add($db, 'kato', 'counsellor', '加藤'));
my $s = console_signed_in($d, 'sato', staff_add($db, 'sato', 'supervisor', '佐藤'));

my $U = 'U' . ('7' x 32);
sub to_user { [ map { $_->{body}{messages}[0]{text} } @{ $sim->delivered("?user=$U") } ] }
$sim->send({ user => $U, type => 'text', text => '話を聞いてほしいです' });
ok(wait_until(10, sub { @{ to_user() } == 1 }), 'the busy reply still goes on LINE');
is(q1("SELECT template FROM outbox"), 'busy,handoff', 'as templates: busy, and the hand-off');
my ($first) = @{ $sim->delivered("?user=$U") };
my $button = $first->{body}{messages}[-1];
is($button->{template}{type}, 'buttons', 'the hand-off is a button');
like($button->{template}{actions}[0]{uri}, qr{^http://127\.0\.0\.1:\d+/chat/link/[A-Za-z0-9_-]{43}$},
	'opening a single-use link to the web chat');
unlike($button->{template}{actions}[0]{uri}, qr/$U/, 'which carries no LINE user id');
is(q1("SELECT count(*) FROM handoff_links WHERE purpose = 'start' AND used_at IS NULL"), 1,
	'the link is recorded (its hash only)');
$sim->send({ user => $U, type => 'text', text => 'まだですか' });
sleep 2;
is(scalar @{ to_user() }, 1, 'another LINE message while the link is fresh: no second link');
my $conv = q1('SELECT id FROM conversations');
my ($st, $r) = $c->post("/api/conversations/$conv/claim");
is($st, 200, 'a counsellor takes the conversation');

($st, $r) = $c->post("/api/conversations/$conv/messages", { text => 'こんにちは、加藤です', via => 'line' });
is($st, 409, "a counsellor's own words may not go on LINE");
is($r->{error}, 'strict_mode', 'and the console is told why');
is(q1("SELECT count(*) FROM messages WHERE direction = 'out'"), 0, 'nothing was stored');
($st, $r) = $c->post("/api/conversations/$conv/messages", { text => 'こんにちは、加藤です' });
is($st, 200, 'without asking for LINE, the reply goes to the web chat');
is(q1("SELECT via || ',' || delivery FROM messages WHERE direction = 'out'"), 'webchat,sent',
	'stored there, delivered');
ok(wait_until(20, sub { @{ to_user() } == 2 }), 'nobody saw it: LINE carries a notice');
like(to_user()->[1], qr/お返事が届いています/, 'that a reply waits');
my $notice = $sim->delivered("?user=$U")->[1]{body};
like($notice->{messages}[-1]{template}{actions}[0]{uri}, qr{/chat/link/},
	'with a fresh link');
unlike(json_encode($notice), qr/加藤です/, 'never the reply itself');
is(q1("SELECT count(*) FROM messages WHERE direction = 'out' AND webchat_notified_at IS NOT NULL"), 1,
	'the reply is marked as announced');
($st) = $c->post("/api/conversations/$conv/messages", { text => 'ゆっくりで大丈夫です' });
is($st, 200, 'a second reply');
ok(wait_until(20, sub { q1("SELECT count(*) FROM messages WHERE direction = 'out'"
	. " AND webchat_notified_at IS NOT NULL") == 2 }), 'it is unseen too, and dealt with');
is(scalar @{ to_user() }, 2, 'but no second notice while the first link is unused');

# The last line of defence: free text written by any other path.
my $msg = q1("SELECT min(id) FROM messages WHERE direction = 'in'");
my $contact = q1('SELECT id FROM contacts');
my $out = `psql -X -q -v ON_ERROR_STOP=1 -d '${\ $db->conninfo}' -c "INSERT INTO outbox
	(message_id, contact_id, channel_id, payload, payload_key_id, created_at,
	 next_attempt_at, give_up_at) SELECT $msg, $contact, channel_id, '\\x00', 1, now(),
	now(), now() + interval '1 hour' FROM contacts WHERE id = $contact" 2>&1`;
like($out, qr/strict mode: only templates may be sent on LINE/,
	"the outbox's trigger refuses free text written behind the console's back");

($st) = $c->post("/api/conversations/$conv/emergency-exception", { reason => '命の危険' });
is($st, 403, 'a counsellor may not grant the emergency exception');
($st) = $s->post("/api/conversations/$conv/emergency-exception", { minutes => 30 });
is($st, 400, 'a supervisor must give a reason');
($st, $r) = $s->post("/api/conversations/$conv/emergency-exception",
	{ reason => '自殺の危険が高く、Webチャットに移れない', minutes => 30 });
is($st, 200, 'a supervisor grants it, with a reason, for 30 minutes');
like($r->{until}, qr/^2026-11-24T05:3\d:\d\d/, 'until when (UTC)');
is(q1("SELECT count(*) FROM strict_exceptions WHERE reason_key_id IS NOT NULL"
	. " AND position(convert_to('自殺', 'UTF8') in reason) = 0"), 1,
	'the reason is stored sealed');
is(q1("SELECT detail->>'minutes' FROM audit_log WHERE action = 'conversation.emergency_exception'"),
	30, 'the grant is in the audit trail');
is(q1("SELECT count(*) FROM conversation_events WHERE kind = 'strict_exception'"), 1,
	"and in the conversation's history");

($st) = $c->post("/api/conversations/$conv/messages", { text => '今どこにいますか？' });
is($st, 200, 'under the exception the counsellor answers');
ok(wait_until(10, sub { @{ to_user() } == 3 }), 'on LINE');
is(to_user()->[2], '今どこにいますか？', 'with their own words');
is(q1("SELECT count(*) FROM outbox WHERE template IS NULL"), 1, 'as free text');

($st) = $c->del("/api/conversations/$conv/emergency-exception");
is($st, 403, 'a counsellor may not end it either');
($st) = $s->del("/api/conversations/$conv/emergency-exception");
is($st, 200, 'the supervisor ends it early');
($st) = $s->del("/api/conversations/$conv/emergency-exception");
is($st, 409, 'ending it again: nothing to end');
($st, $r) = $c->post("/api/conversations/$conv/messages", { text => 'もう一度', via => 'line' });
is($st, 409, 'after it, free text on LINE is refused again');
is(q1("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log"
	. " WHERE action LIKE 'conversation.emergency%'"),
	'conversation.emergency_exception,conversation.emergency_exception_end',
	'both steps audited');

# A free-text reply written in direct mode and still waiting when the desk
# turns strict is failed, not sent.
like(cli(q{settings set line_mode '"direct"' --by admin}), qr/changed by/, 'back to direct');
$sim->faults({ status => 500, count => 100000, path => '/v2/bot/message/push' });
($st) = $c->post("/api/conversations/$conv/messages", { text => '届くかな' });
is($st, 200, 'in direct mode the counsellor answers on LINE');
ok(wait_until(10, sub { q1("SELECT max(attempts) FROM outbox WHERE template IS NULL"
	. " AND state = 'pending'") >= 1 }), 'LINE fails, the reply waits to be tried again');
ok($d->metric('madoguchi_outbox_pending') >= 1, "the desk's monitoring counts it waiting");
like(cli(q{settings set line_mode '"strict"' --by admin}), qr/changed by/, 'strict again');
ok(wait_until(30, sub { q1("SELECT count(*) FROM outbox WHERE state = 'failed'") == 1 }),
	'the waiting reply is failed');
# Cleared only now: an attempt made just before strict mode began must
# still meet LINE down, or it would be delivered and prove nothing.
HTTP::Tiny->new->request('DELETE', "$sim->{url}/sim/faults");
like(q1("SELECT last_error FROM outbox WHERE state = 'failed'"), qr/^strict mode/, 'saying why');
is(scalar(grep { defined && $_ eq '届くかな' } @{ to_user() }), 0, 'and never reached LINE');

# Someone taps the button: what they wrote on LINE is in the web chat,
# but not LINE's pointer to a button that is not there.
my $V = 'U' . ('5' x 32);
$sim->send({ user => $V, type => 'text', text => '夜になると不安になります' });
ok(wait_until(10, sub { @{ $sim->delivered("?user=$V") } == 1 }), 'another person writes on LINE');
my $vbutton = $sim->delivered("?user=$V")->[0]{body}{messages}[-1];
my $http = HTTP::Tiny->new(max_redirect => 0);
my $link = $vbutton->{template}{actions}[0]{uri};
is($http->get($link)->{status}, 200, 'the button shows the page with its one button');
my $opened = $http->post($link, { headers => { Origin => $d->{url},
	'Content-Type' => 'application/x-www-form-urlencoded' }, content => '' });
is($opened->{status}, 303, 'whose tap opens the web chat');
my ($cookie) = ($opened->{headers}{'set-cookie'} // '') =~ /(madoguchi_chat=[^;]+)/;
my $state = json_decode($http->get("$d->{url}/chat/api/state",
	{ headers => { Cookie => $cookie // '' } })->{content});
is($state->{messages}[0]{text}, '夜になると不安になります', 'where what was written on LINE is');
is(scalar(grep { $_->{text} =~ /下のボタン/ } @{ $state->{messages} }), 0,
	"without LINE's words about the button");
my $vconv = q1("SELECT id FROM conversations WHERE contact_id = (SELECT id FROM contacts"
	. " WHERE external_id = '$V')");
$c->post("/api/conversations/$vconv/claim");
($st) = $c->post("/api/conversations/$vconv/messages", { text => '夜は不安になりますよね' });
is($st, 200, 'a counsellor answers them');
$state = json_decode($http->get("$d->{url}/chat/api/state",
	{ headers => { Cookie => $cookie // '' } })->{content});
is($state->{messages}[-1]{text}, '夜は不安になりますよね', 'their page shows the reply');
sleep 6;
is(q1("SELECT count(*) FROM messages WHERE direction = 'out' AND webchat_seen_at IS NOT NULL"
	. " AND conversation_id = $vconv"), 1, 'seen');
is(scalar @{ $sim->delivered("?user=$V") }, 1, 'so LINE says nothing about it');

my $F = 'U' . ('f' x 32);
$sim->send({ user => $F, type => 'follow' });
ok(wait_until(10, sub { @{ $sim->delivered("?user=$F") } == 1 }), 'a new friend gets the greeting');
my $greet = $sim->delivered("?user=$F")->[0]{body}{messages};
like($greet->[0]{text}, qr/友だち追加ありがとうございます/, 'the greeting itself');
is($greet->[-1]{template}{type}, 'buttons', 'and, in strict mode, the way into the web chat');
like($greet->[0]{text}, qr/下のボタンから開いて/, "in strict mode's own words: the button is the way in");
unlike($greet->[0]{text}, qr/文字で送ってください|LINEでは送らないで/,
	'not the direct-mode invitation to write on LINE');

my $S = 'U' . ('d' x 32);
$sim->send({ user => $S, type => 'sticker' });
ok(wait_until(10, sub { @{ $sim->delivered("?user=$S") } == 1 }), 'a sticker on LINE is answered');
my $sticker = $sim->delivered("?user=$S")->[0]{body}{messages};
like($sticker->[0]{text}, qr/画像やスタンプ.*専用のページで、文字で/s,
	'text only, in strict words: go on in the web chat');
is($sticker->[-1]{template}{type}, 'buttons', 'with the button to it');

is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
