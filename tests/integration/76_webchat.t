#!/usr/bin/perl
# The web chat's server side (webchat/API.md): a hand-off link opens once
# and only for its own person; the session is an HttpOnly cookie; calls
# without it, from another origin or without the page's header are
# refused; the terms come first; a message takes the LINE message's path
# (sealed, crisis-checked, on the console, stored once per client_id), and
# its automatic answer stays in the web chat; the live stream shows it;
# ending the session ends it everywhere.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64url);
use Madoguchi::Test;
use Madoguchi::Console;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $desk = new_desk();
my ($db, $sim) = @$desk{qw(db sim)};
sub q1 { $db->query($_[0]) }
# A Tuesday afternoon, nobody signed in: a message waits, and is told so.
my $d = $desk->daemon(MADOGUCHI_NOW => '2026-11-24T14:00:00+09:00');
my $http = HTTP::Tiny->new(max_redirect => 0, timeout => 10);

my ($A, $B) = ('U' . ('a' x 32), 'U' . ('b' x 32));
$sim->send({ user => $A, type => 'text', text => 'Aです。聞いてほしいことがあります' });
$sim->send({ user => $B, type => 'follow' });
ok(wait_until(10, sub { q1('SELECT count(*) FROM contacts') == 2 }), 'two people wrote or followed');
my %contact = map { $_ => q1("SELECT id FROM contacts WHERE external_id = '$_'") } $A, $B;
ok(wait_until(30, sub { q1("SELECT count(*) FROM messages WHERE direction = 'auto' AND (contact_id ="
	. " $contact{$A} OR conversation_id IN (SELECT id FROM conversations WHERE contact_id = $contact{$A}))") >= 1 }),
	"A has the desk's busy reply");

# A link as the desk makes one: 32 random bytes, only their hash stored;
# valid for some minutes after the daemon's clock starts.
sub link_for {
	my ($who, $minutes) = @_;
	my $raw = join '', map { chr int rand 256 } 1 .. 32;
	my $token = encode_base64url($raw);
	q1("INSERT INTO handoff_links (token_hash, contact_id, purpose, created_at, expires_at)"
		. " VALUES (decode('" . sha256_hex($raw) . "', 'hex'), $contact{$who}, 'start',"
		. " timestamptz '2026-11-24T13:00:00+09:00',"
		. " timestamptz '2026-11-24T14:00:00+09:00' + make_interval(mins => $minutes))");
	return $token;
}
# As a browser does it: the page (GET), then its button (POST, from this
# origin). The POST's answer, or the GET's when it showed no button.
sub open_link {
	my ($token, %opt) = @_;
	my $r = $http->get("$d->{url}/chat/link/$token");
	utf8::decode($r->{content});
	return $r unless $r->{status} == 200;
	$r = $http->post("$d->{url}/chat/link/$token", { headers => {
		Origin => $opt{origin} // $d->{url},
		'Content-Type' => 'application/x-www-form-urlencoded' }, content => '' });
	utf8::decode($r->{content});
	return $r;
}
sub cookie_of {
	my ($r) = @_;
	my $h = $r->{headers}{'set-cookie'} // '';
	return $h =~ /madoguchi_chat=([A-Za-z0-9_-]{43})/ ? $1 : undef;
}

my $tokenA = link_for($A, 10);
my $r = $http->get("$d->{url}/chat/link/$tokenA");
utf8::decode($r->{content});
is($r->{status}, 200, 'opening a link shows a page first');
like($r->{content}, qr{<form method="post" action="/chat/link/\Q$tokenA\E"><button},
	'with one button, which posts to the link itself');
ok(!defined $r->{headers}{'set-cookie'}, 'no session yet');
is($r->{headers}{'cache-control'}, 'no-store', 'the page is kept nowhere');
is($http->get("$d->{url}/chat/")->{headers}{'cache-control'}, 'no-cache',
	'the chat page itself: revalidated each time (one Cache-Control, not two)');
is($http->get("$d->{url}/chat/link/$tokenA")->{status}, 200,
	'fetched again (a preview, a scanner): still unspent');
is(q1('SELECT count(*) FROM handoff_links WHERE used_at IS NOT NULL'), 0,
	'nothing spent by looking');
$r = $http->post("$d->{url}/chat/link/$tokenA", { headers => {
	Origin => 'https://evil.example', 'Content-Type' => 'application/x-www-form-urlencoded' },
	content => '' });
is($r->{status}, 403, "another site's form cannot spend it (nor tie a browser to A's consultation)");
$r = $http->post("$d->{url}/chat/link/$tokenA", { headers => {
	'Content-Type' => 'application/x-www-form-urlencoded' }, content => '' });
is($r->{status}, 403, 'nor a POST that does not say where it comes from');
is(q1('SELECT count(*) FROM handoff_links WHERE used_at IS NOT NULL'), 0, 'still unspent');
is($http->request('PUT', "$d->{url}/chat/link/$tokenA")->{status}, 405, 'another method: 405');
$r = open_link($tokenA);
is($r->{status}, 303, 'a fresh link opens');
is($r->{headers}{location}, '/chat/', 'onto the chat page, the token gone from the address bar');
like($r->{headers}{'set-cookie'}, qr/madoguchi_chat=[^;]+; Path=\/chat\/; HttpOnly; SameSite=Lax; Secure/,
	'with an HttpOnly, Secure session cookie for /chat/ only');
my $cookieA = cookie_of($r);
is(q1("SELECT count(*) FROM webchat_sessions WHERE token_hash = decode('"
	. sha256_hex(MIME::Base64::decode_base64url($cookieA)) . "', 'hex')"), 1,
	'only the hash of the session token is stored');
$r = open_link($tokenA);
is($r->{status}, 410, 'the same link a second time: 410');
like($r->{content}, qr/新しいリンクをお送りします/, 'saying how to get a new one');
is(open_link(link_for($A, -1))->{status}, 410, 'an expired link: 410');
is(open_link('A' x 43)->{status}, 410, 'an unknown link: 410');
is(open_link('not-a-token')->{status}, 410, 'a malformed one: 410');
is(q1('SELECT count(*) FROM webchat_sessions'), 1, 'none of those made a session');

sub api {
	my ($method, $path, $cookie, $body, %h) = @_;
	my %headers = (%h);
	$headers{Cookie} = "madoguchi_chat=$cookie" if defined $cookie;
	if ($method eq 'POST') {
		$headers{'Content-Type'} //= 'application/json';
		$headers{'X-Madoguchi-Chat'} //= '1';
		delete $headers{'X-Madoguchi-Chat'} if $headers{'X-Madoguchi-Chat'} eq '-';
	}
	my $res = $http->request($method, "$d->{url}$path", { headers => \%headers,
		defined $body ? (content => ref $body ? json_encode($body) : $body) : () });
	return ($res->{status}, eval { json_decode($res->{content}) }, $res);
}

my ($st, $s) = api('GET', '/chat/api/state', undef);
is($st, 401, 'no cookie: 401');
($st, $s) = api('GET', '/chat/api/state', 'B' x 43);
is($st, 401, 'a cookie of no session: 401');
($st, $s) = api('GET', '/chat/api/state', $cookieA);
is($st, 200, 'the state, with the session');
is($s->{desk}{name}, 'LINE相談', "the desk's name");
ok($s->{desk}{open}, 'open now (Tuesday 14:00)');
like($s->{desk}{hours}, qr/11:00/, 'its hours in words');
is($s->{terms}{accepted}, JSON::PP::false, 'the terms not yet accepted');
like($s->{terms}{text}, qr/警察や児童相談所/, "the terms say confidentiality's one exception");
is($s->{messages}[0]{text}, 'Aです。聞いてほしいことがあります',
	'what A wrote on LINE is there: one conversation, whichever way it came');
is($s->{messages}[0]{from}, 'me', 'as theirs');
like($s->{messages}[1]{text}, qr/混み合/, "and the desk's busy reply sent on LINE");
is($s->{messages}[1]{from}, 'desk', "as the desk's");
ok(defined $s->{queue}, 'A is waiting for a reply');

($st) = api('POST', '/chat/api/messages', $cookieA, { text => 'こんにちは', client_id => 'abcdefgh1' });
is($st, 403, 'writing before the terms: 403');
($st) = api('POST', '/chat/api/terms', $cookieA, { version => '1999-01' });
is($st, 409, 'an old version of the terms: 409');
($st) = api('POST', '/chat/api/terms', $cookieA, { version => $s->{terms}{version} }, 'X-Madoguchi-Chat' => '-');
is($st, 403, "without the page's header: 403");
($st) = api('POST', '/chat/api/terms', $cookieA, { version => $s->{terms}{version} },
	Origin => 'https://evil.example');
is($st, 403, 'from another origin: 403');
($st) = api('POST', '/chat/api/terms', $cookieA, 'version=x', 'Content-Type' => 'application/x-www-form-urlencoded');
is($st, 415, 'not JSON: 415');
($st) = api('POST', '/chat/api/terms', $cookieA, { version => $s->{terms}{version} });
is($st, 200, 'the terms accepted');
is(q1('SELECT terms_version IS NOT NULL AND terms_accepted_at IS NOT NULL FROM webchat_sessions'), 't',
	'version and time recorded');

# The live stream, as a second tab would hold it.
my ($host, $port) = $d->{url} =~ m{^http://([^:/]+):(\d+)};
my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port) or die "connect: $!";
print $sock "GET /chat/api/events HTTP/1.1\r\nHost: $host:$port\r\nCookie: madoguchi_chat=$cookieA\r\n\r\n";
my $buf = '';
sub next_event {
	my ($timeout) = @_;
	my $end = time + $timeout;
	while (1) {
		if ($buf =~ /event: (\w+)\ndata: ([^\n]*)\n\n/) {
			my ($name, $data) = ($1, $2);
			$buf = substr($buf, $+[0]);
			return ($name, eval { json_decode($data) });
		}
		my $left = $end - time;
		return () if $left <= 0 || !IO::Select->new($sock)->can_read($left);
		my $n = sysread($sock, my $chunk, 65536);
		return () unless $n;
		$buf .= $chunk;
	}
}
my ($ev) = next_event(5);
is($ev, 'hello', 'the stream opens');

($st, $r) = api('POST', '/chat/api/messages', $cookieA, { text => '学校に行けなくなって三週間です', client_id => 'abcdefgh1' });
is($st, 200, 'a message from the web chat');
ok($r->{id}, 'with its id');
my ($ev2, $data);
for (1 .. 5) { ($ev2, $data) = next_event(5); last if !defined $ev2 || $ev2 eq 'message' }
is($ev2, 'message', 'the other tab sees it live');
is($data->{text}, '学校に行けなくなって三週間です', 'the text itself');
is($data->{from}, 'me', 'as theirs');
($st) = api('POST', '/chat/api/messages', $cookieA, { text => '学校に行けなくなって三週間です', client_id => 'abcdefgh1' });
is($st, 200, 'the same message again (a retry)');
is(q1("SELECT count(*) FROM messages WHERE via = 'webchat' AND direction = 'in'"), 1, 'stored once');
is(q1("SELECT count(*) FROM messages WHERE via = 'webchat' AND direction = 'in'"
	. " AND position(convert_to('学校', 'UTF8') in body) = 0 AND body_key_id IS NOT NULL"), 1,
	'sealed like any message');
is(q1("SELECT count(DISTINCT conversation_id) FROM messages WHERE direction = 'in'"
	. " AND conversation_id IN (SELECT id FROM conversations WHERE contact_id = $contact{$A})"), 1,
	'in the same conversation as the LINE message');

($st, $r) = api('POST', '/chat/api/messages', $cookieA, { text => '', client_id => 'abcdefgh2' });
is($st, 400, 'an empty message: 400');
($st, $r) = api('POST', '/chat/api/messages', $cookieA, { text => 'あ' x 2001, client_id => 'abcdefgh3' });
is($st, 400, 'over 2,000 characters: 400');
($st, $r) = api('POST', '/chat/api/messages', $cookieA, { text => 'hi', client_id => 'x' });
is($st, 400, 'a client_id too short: 400');

($st) = api('POST', '/chat/api/messages', $cookieA, { text => 'もう死にたい', client_id => 'abcdefgh4' });
is($st, 200, 'a message that says a life is at risk');
is(q1("SELECT crisis_level FROM conversations WHERE contact_id = $contact{$A}"), 2,
	'is found by the same crisis check');

# B's link opens B's conversation only.
my $cookieB = cookie_of(open_link(link_for($B, 10)));
ok($cookieB, "B's own link opens");
($st, $s) = api('GET', '/chat/api/state', $cookieB);
is(scalar @{ $s->{messages} }, 0, "B sees nothing of A's conversation");
is($s->{queue}, undef, 'and waits for nothing yet');
api('POST', '/chat/api/terms', $cookieB, { version => $s->{terms}{version} });
($st) = api('POST', '/chat/api/messages', $cookieB, { text => 'はじめまして', client_id => 'bbbbbbbb1' });
is($st, 200, 'B writes first in the web chat');
ok(wait_until(10, sub { q1("SELECT count(*) FROM messages WHERE direction = 'auto' AND via = 'webchat'"
	. " AND contact_id IS NULL AND conversation_id IN (SELECT id FROM conversations"
	. " WHERE contact_id = $contact{$B})") == 1 }), "the desk's automatic answer stays in the web chat");
sleep 1;
is(scalar(grep { ($_->{body}{messages}[0]{text} // '') =~ /混み合/ } @{ $sim->delivered("?user=$B") }), 0,
	'and does not go on LINE');
($st, $s) = api('GET', '/chat/api/state', $cookieB);
like($s->{messages}[-1]{text}, qr/混み合/, 'B sees it in the chat');
is($s->{messages}[-1]{from}, 'desk', "as the desk's");

my $c = console_signed_in($d, 'kato', staff_add($db, 'kato', 'counsellor', '加藤'));
my (undef, $q) = $c->get('/api/queue');
my ($convB) = grep { $_->{contact}{id} == $contact{$B} } @{ $q->{conversations} };
is($convB->{preview}{text}, 'はじめまして', "the counsellors' queue shows the web chat's message");
my ($convA) = grep { $_->{contact}{id} == $contact{$A} } @{ $q->{conversations} };
ok($convA->{in_webchat}, 'A has the web chat open now, and the console says so');
# B opens the page: the console hears it at once, not at B's next message.
$c->events_open;
$c->events_next(5);	# hello
my $sockB = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port) or die "connect: $!";
print $sockB "GET /chat/api/events HTTP/1.1\r\nHost: $host:$port\r\nCookie: madoguchi_chat=$cookieB\r\n\r\n";
my $heard;
for (1 .. 10) {
	my ($name, $data) = $c->events_next(1);
	next unless $name && $name eq 'conversation' && ($data->{change} // '') eq 'webchat';
	$heard = $data;
	last;
}
is_deeply($heard && $heard->{conversations}, [$convB->{id}],
	'the page opened: a console event names the conversation (change webchat)');
close $sockB;
my $C = 'U' . ('c' x 32);
$sim->send({ user => $C, type => 'text', text => 'LINEだけで書いています' });
ok(wait_until(10, sub { @{ ($c->get('/api/queue'))[1]{conversations} } == 3 }),
	'a third person writes on LINE only');
(undef, $q) = $c->get('/api/queue');
my ($convC) = grep { $_->{contact}{id} != $contact{$A} && $_->{contact}{id} != $contact{$B} } @{ $q->{conversations} };
ok(!$convC->{in_webchat}, 'who has never opened the web chat: not in it');
my (undef, $hist) = $c->get("/api/conversations/$convB->{id}");
is_deeply([ map { $_->{via} } grep { $_->{type} eq 'message' } @{ $hist->{history} } ],
	[ 'channel', 'webchat', 'webchat' ],
	'each message says which way it came: the greeting on LINE, then the web chat');
(undef, $hist) = $c->get("/api/conversations/$convA->{id}");
is($hist->{history}[0]{via}, 'channel', "A's first came on LINE");

($st) = api('POST', '/chat/api/end', $cookieA, {});
is($st, 200, 'A ends the consultation');
($st) = api('GET', '/chat/api/state', $cookieA);
is($st, 401, 'the session is over');
my $ended = 0;
for (1 .. 10) { my ($e) = next_event(2); last unless defined $e; $ended ||= $e eq 'ended' }
ok($ended, "the other tab's stream is told it ended");

my $page = $http->get("$d->{url}/chat/");
is($page->{status}, 200, 'the page');
like($page->{headers}{'content-security-policy'}, qr/^default-src 'self'/, "allowed nothing but this origin");
is($http->get("$d->{url}/chat/..%2f..%2foperator-console%2fweb%2findex.html")->{status}, 404,
	'nothing outside its folder, even a page that exists');
is($http->get("$d->{url}/chat/chat.js")->{status}, 200, 'its own files it serves');

is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
