#!/usr/bin/perl
# The webhook against a real PostgreSQL and the LINE simulator: what is
# stored, what is refused, and that nothing is stored twice or half.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Time::HiRes qw(time);
use IO::Socket::INET;
use Madoguchi::Test;

my $db = new_cluster();
$db->migrate;
my $d = start_daemon($db);
my $sim = start_sim(secret => $d->{secret}, webhook_url => "$d->{url}/webhook/line");
my $USER = 'U4f3e2d1c0b9a89786756453423120f1e';

# Headers only, announcing a body over the cap: the answer must come first.
sub oversize_status {
	my ($d, $len) = @_;
	my ($port) = $d->{url} =~ /:(\d+)$/;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die;
	print $s "POST /webhook/line HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		. "x-line-signature: x\r\nContent-Length: $len\r\n\r\n";
	my $line = <$s> // '';
	return $line =~ m{^HTTP/1\.\d (\d+)} ? $1 : "no answer: $line";
}
sub count { $db->query($_[0]) }

# --- health ---
is($d->get('/healthz')->{status}, 200, 'healthz');
my $ready = $d->get('/readyz');
is($ready->{status}, 200, 'readyz: database reachable, schema current');
like($ready->{content}, qr/"schema":\d+/, 'readyz names the schema version');

# --- verification request ---
is(signed_post($d, '{"destination":"U0123456789abcdef0123456789abcdef","events":[]}')->{status},
	200, "LINE's verification request (no events) gets 200");

# --- a text message, delivered three times ---
my $text = "こんにちは、相談したいです \x{1F64F}";
my $body = text_body($text, user => $USER);
my $raw = json_encode($body);
is(signed_post($d, $raw)->{status}, 200, 'text message accepted');
$body->{events}[0]{deliveryContext}{isRedelivery} = JSON::PP::true;
is(signed_post($d, $body)->{status}, 200, 'first redelivery answered 200');
is(signed_post($d, $body)->{status}, 200, 'second redelivery answered 200');
is(count("SELECT count(*) FROM messages WHERE direction = 'in'"), 1, 'stored once under three deliveries');
is(count('SELECT count(*) FROM webhook_events'), 1, 'one event recorded');
is(count("SELECT kind || '/' || accepted || '/' || direction FROM messages WHERE direction = 'in'"),
	'text/true/in', 'an accepted inbound text');
is(count("SELECT count(*) FROM conversations WHERE state = 'waiting'"), 1,
	'a waiting conversation opened');
is(count("SELECT position(convert_to('相談', 'UTF8') in body) FROM messages WHERE direction = 'in'"), 0,
	'the body is not stored in clear');
{
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	local $ENV{MADOGUCHI_DATA_KEY_FILE} = $d->{env}{MADOGUCHI_DATA_KEY_FILE};
	my $bin = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
	my $out = `$bin/madoguchi messages --text`;
	utf8::decode($out);
	like($out, qr/\Q$text\E/, 'and decrypts to what the user wrote, emoji included');
}

# --- the simulator's own webhook, with \u escapes as LINE writes them ---
my $r = $sim->post_json('/sim/send', { user => $USER, type => 'text', text => "二通目です \x{1F600}" });
is($r->{status}, 200, 'simulator send');
is(json_decode($r->{content})->{status}, 200, 'madoguchid answered the simulator 200');
is(count("SELECT count(*) FROM messages WHERE direction = 'in'"), 2, 'second message stored');
is(count("SELECT count(DISTINCT conversation_id) FROM messages WHERE direction = 'in'"), 1,
	'in the same open conversation');

# --- bad signatures: 401, nothing stored ---
my $before = count('SELECT count(*) FROM webhook_events');
my $fresh = json_encode(text_body('届かないはず', user => $USER));
is(signed_post($d, $fresh, signature => undef)->{status}, 401, 'missing signature: 401');
is(signed_post($d, $fresh, signature => 'AAAA' . ('A' x 39) . '=')->{status}, 401,
	'wrong signature: 401');
(my $tampered = $fresh) =~ s/"mode":"active"/"mode":"standby"/ or die;
my $good_sig = Digest::SHA::hmac_sha256_base64($fresh, $d->{secret}) . '=';
is(signed_post($d, $tampered, signature => $good_sig)->{status}, 401,
	'tampered body with the original signature: 401');
is(signed_post($d, $fresh, signature => 'not base64 at all')->{status}, 401,
	'malformed signature: 401');
is(count('SELECT count(*) FROM webhook_events'), $before, 'nothing stored for any of them');
is($d->metric('madoguchi_webhook_rejected_total{reason="signature"}'), 4,
	'each counted in metrics');

# --- malformed and wrong shapes ---
my $resp = signed_post($d, '{"events": [');
is($resp->{status}, 400, 'malformed JSON: 400');
like($resp->{content}, qr/not JSON/, 'with a clear error');
$resp = signed_post($d, '{"hello":"world"}');
is($resp->{status}, 400, 'JSON that is not a webhook: 400');
like($resp->{content}, qr/not a LINE webhook/, 'says why');
is(signed_post($d, json_encode(event_body(message => { type => 'text', id => '1' })))->{status},
	400, 'text message without text: 400');
is(signed_post($d, $fresh, content_type => 'text/plain')->{status}, 415, 'wrong content type: 415');
is(signed_post($d, $fresh, method => 'PUT')->{status}, 405, 'wrong method: 405');
is($d->get('/webhook/line')->{status}, 405, 'GET: 405');
my $big = '{"events":[],"pad":"' . ('x' x (1024 * 1024)) . '"}';
is(signed_post($d, substr($big, 0, 1024 * 1024 - 100) . '"}')->{status}, 200,
	'a body just under 1 MiB is read');
is(oversize_status($d, 2 * 1024 * 1024), 413,
	'Content-Length over 1 MiB: 413 before the body is read');
my $bigfile = "$d->{dir}/big.json";
open(my $bf, '>', $bigfile) or die;
print $bf $big;
close $bf;
my $curl = `curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'x-line-signature: x' --data-binary \@$bigfile $d->{url}/webhook/line`;
is($curl, '413', 'a client sending 1 MiB + 20 bytes gets 413');
is($d->get('/nowhere')->{status}, 404, 'unknown path: 404');
is(count('SELECT count(*) FROM webhook_events'), $before, 'still nothing stored');

# --- unknown event types: 200 and a counter ---
is(signed_post($d, event_body(type => 'somethingNew', somethingNew => { a => 1 }))->{status},
	200, 'unknown event type: 200');
is($d->metric('madoguchi_webhook_events_total{type="unknown",outcome="ignored_type"}'), 1,
	'counted as unknown');

# --- an image: recorded, never fetched ---
$r = $sim->post_json('/sim/send', { user => $USER, type => 'image' });
is(json_decode($r->{content})->{status}, 200, 'image accepted');
is(count("SELECT count(*) FROM messages WHERE kind = 'image' AND NOT accepted AND body IS NULL"),
	1, 'image recorded as received, not accepted, no content');
sleep 0.2;
is(scalar(grep { $_->{path} =~ m{/content} } @{ $sim->requests }), 0,
	'the simulator saw no content request');
for my $kind (qw(sticker video audio file location)) {
	$sim->post_json('/sim/send', { user => $USER, type => $kind });
}
is(count("SELECT string_agg(kind, ',' ORDER BY id) FROM messages WHERE NOT accepted"),
	'image,sticker,video,audio,file,location', 'every other kind recorded too');

# --- follow / unfollow ---
my $U2 = 'U00000000000000000000000000000002';
$sim->post_json('/sim/send', { user => $U2, type => 'follow' });
is(count("SELECT follow_state FROM contacts WHERE external_id = '$U2'"), 'following', 'follow');
$sim->post_json('/sim/send', { user => $U2, type => 'unfollow' });
is(count("SELECT follow_state || '/' || (blocked_since IS NOT NULL) FROM contacts WHERE external_id = '$U2'"),
	'blocked/true', 'unfollow: blocked since then');
$sim->post_json('/sim/send', { user => $U2, type => 'follow', unblocked => JSON::PP::true });
is(count("SELECT follow_state || '/' || (blocked_since IS NULL) FROM contacts WHERE external_id = '$U2'"),
	'following/true', 'unblocked: following again');
my $old_unfollow = event_body(type => 'unfollow', user => $U2, timestamp => 1000);
is(signed_post($d, $old_unfollow)->{status}, 200, 'a late, older unfollow is accepted');
is(count("SELECT follow_state FROM contacts WHERE external_id = '$U2'"), 'following',
	'but does not override the newer follow');

# --- unsend ---
my $msg = text_body('取り消します', user => $U2);
signed_post($d, $msg);
my $mid = $msg->{events}[0]{message}{id};
signed_post($d, event_body(type => 'unsend', user => $U2, unsend => { messageId => $mid }));
is(count("SELECT (body IS NULL) || '/' || (unsent_at IS NOT NULL) FROM messages WHERE external_id = '$mid'"),
	'true/true', 'unsend erases the text and marks the message');

# The same body carries a message and its unsend; then an unsend that comes
# before its message (LINE's order can differ). Neither text may be kept.
my $both = text_body('すぐ取り消す', user => $U2);
my $mid2 = $both->{events}[0]{message}{id};
push @{ $both->{events} }, event_body(type => 'unsend', user => $U2,
	unsend => { messageId => $mid2 })->{events}[0];
is(signed_post($d, $both)->{status}, 200, 'a message and its unsend in one body');
is(count("SELECT (body IS NULL) || '/' || (unsent_at IS NOT NULL) FROM messages WHERE external_id = '$mid2'"),
	'true/true', 'stored without its text');
my $late = text_body('遅れて届いた取り消し済み', user => $U2);
my $mid3 = $late->{events}[0]{message}{id};
signed_post($d, event_body(type => 'unsend', user => $U2, unsend => { messageId => $mid3 }));
is(signed_post($d, $late)->{status}, 200, 'a message after its own unsend');
is(count("SELECT (body IS NULL) || '/' || (unsent_at IS NOT NULL) FROM messages WHERE external_id = '$mid3'"),
	'true/true', 'stored without its text too');

# --- several events in one body, and the same event twice in one body ---
my $multi = text_body('一つ目', user => $USER);
my $second = text_body('二つ目', user => $U2)->{events}[0];
push @{ $multi->{events} }, $second, $second;
my $n0 = count("SELECT count(*) FROM messages WHERE direction = 'in'");
is(signed_post($d, $multi)->{status}, 200, 'three events in one body');
is(count("SELECT count(*) FROM messages WHERE direction = 'in'") - $n0, 2, 'two stored: the repeat once');

# --- the LINE Python SDK's multi-event fixture ---
open(my $fh, '<', 'tests/fixtures/sdk-python-webhook.json') or die;
my $sdk = do { local $/; <$fh> };
is(signed_post($d, $sdk)->{status}, 200, "LINE Python SDK fixture accepted");
is(count("SELECT count(*) FROM webhook_events WHERE event_key LIKE 'sha256:%'"), 8,
	'its one-to-one user events kept under made-up keys');
is(signed_post($d, $sdk)->{status}, 200, 'and again');
is(count("SELECT count(*) FROM webhook_events WHERE event_key LIKE 'sha256:%'"), 8,
	'without storing anything twice');
is($d->metric('madoguchi_webhook_events_total{type="join",outcome="ignored_type"}'), 2,
	'group events counted, not stored');

# --- metrics ---
my $m = $d->get('/metrics')->{content};
like($m, qr/^madoguchi_http_requests_total\{path="\/webhook\/line",status="200"\} \d+/m,
	'requests by path and status');
like($m, qr/^madoguchi_ingest_commit_seconds_bucket\{le="0.01"\} \d+/m, 'commit latency histogram');
like($m, qr/^madoguchi_ingest_batch_events_count \d+/m, 'batch sizes');
like($m, qr/^madoguchi_desk_state_up 1$/m, "the desk's state, read from the database");
like($m, qr/^madoguchi_outbox_pending \d+$/m, 'replies LINE has not taken yet');
like($m, qr/^madoguchi_outbox_oldest_pending_seconds \d+$/m, 'and how long the oldest has waited');
like($m, qr/^madoguchi_conversations_overdue \d+$/m, 'people waiting past their deadline');
like($m, qr/^madoguchi_crisis_alerts_unacknowledged \d+$/m, 'crisis alerts nobody acknowledged');
# A database too slow to answer: the scrape still gets this process's own.
my $locker = fork // die "fork: $!";
if ($locker == 0) {
	exec 'psql', '-X', '-q', '-d', $db->conninfo, '-c',
		'BEGIN; LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;';
	exit 127;
}
ok(wait_until(5, sub { count("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock'"
	. " AND relation = 'outbox'::regclass") == 1 }), 'the outbox locked by another session');
my $t = time;
my $slow = $d->get('/metrics');
my $took = time - $t;
waitpid($locker, 0);
is($slow->{status}, 200, 'metrics answer while the database cannot');
like($slow->{content}, qr/^madoguchi_desk_state_up 0$/m, "without the desk's state");
like($slow->{content}, qr/^madoguchi_ingest_batch_events_count \d+/m, "with this process's own");
ok($took >= 1.5 && $took < 5, sprintf('after waiting 2 s for it (%.1f s)', $took));
like($d->get('/metrics')->{content}, qr/^madoguchi_desk_state_up 1$/m, 'and the next scrape has it again');

is($d->stop, 0, 'madoguchid stops cleanly on SIGTERM (exit 0, no leaks under the checkers)');
done_testing();
