#!/usr/bin/perl
# The console's sign-in and its guards: password, TOTP enrolment and check
# (codes from oathtool, computed apart from madoguchi), the new password
# owed after a one-time one, cookie flags, CSRF, roles, lockout, throttling,
# idle sessions and disabled accounts.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Madoguchi::Test;
use Madoguchi::Console;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $db = new_cluster();
$db->migrate;
my $d = start_daemon($db);
sub q1 { $db->query($_[0]) }

# --- every endpoint refuses a caller without a session ---
my @endpoints = (
	[GET => '/api/session'], [DELETE => '/api/session'],
	[GET => '/api/session/enrol'], [POST => '/api/session/totp'],
	[POST => '/api/session/password'], [GET => '/api/events'],
	[PUT => '/api/me/presence'], [GET => '/api/queue'],
	[GET => '/api/conversations/1'], [POST => '/api/conversations/1/claim'],
	[POST => '/api/conversations/1/messages'], [POST => '/api/conversations/1/notes'],
	[GET => '/api/staff'],
);
my $anon = Madoguchi::Console->new($d);
for my $e (@endpoints) {
	my ($st, $body) = $anon->call($e->[0], $e->[1], $e->[0] eq 'GET' ? undef : {});
	is($st, 401, "$e->[0] $e->[1] without a session: 401");
}
my ($st, $body) = $anon->call('GET', '/api/queue', undef, cookie => 'A' x 43);
is($st, 401, 'an unknown session token: 401');
($st) = $anon->call('DELETE', '/api/queue');
is($st, 405, 'a known path with another method: 405');
($st) = $anon->get('/api/nothing-here');
is($st, 404, 'an unknown API path: 404');

# --- the first sign-in, step by step ---
my $pw = staff_add($db, 'sato', 'supervisor', '佐藤 花子');
like($pw, qr/^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/i, 'user add prints a one-time password');
is(q1("SELECT count(*) FROM staff WHERE password_hash LIKE '\$argon2id\$%'"), 1,
	'stored as an Argon2id hash');
my $c = Madoguchi::Console->new($d);
($st, $body) = $c->post('/api/session', { login => 'sato', password => 'wrong password' });
is($st, 401, 'a wrong password: 401');
is($body->{error}, 'bad_credentials', 'with its code');
($st, $body) = $c->post('/api/session', { login => 'nobody', password => 'x' });
is($st, 401, 'an unknown login answers the same');
($st) = $c->post('/api/session', undef, raw => 'login=sato&password=x',
	content_type => 'application/x-www-form-urlencoded');
is($st, 415, 'a form post (as a cross-site form would send): 415');
($st, $body) = $c->post('/api/session', { login => 'sato', password => $pw });
is($st, 200, 'the one-time password opens a session');
is($body->{stage}, 'password', 'at stage password');
my $cookie = $c->{set_cookie};
like($cookie, qr/; HttpOnly/, 'the cookie is HttpOnly');
like($cookie, qr/; SameSite=Strict/, 'SameSite=Strict');
like($cookie, qr/; Secure/, 'and Secure');
my $first_token = $c->{cookie};
($st, $body) = $c->get('/api/session');
is($body->{next}, 'enrol', 'the next step: enrol an authenticator');
($st, $body) = $c->get('/api/queue');
is($st, 403, 'the queue before the second factor: 403');
is($body->{error}, 'sign_in_incomplete', 'sign-in incomplete');
($st, $body) = $c->get('/api/session/enrol');
is($st, 200, 'enrolment answers');
like($body->{secret}, qr/^[A-Z2-7]{32}$/, 'a 160-bit base32 secret');
like($body->{uri}, qr{^otpauth://totp/.*secret=$body->{secret}}, 'an otpauth URI');
like($body->{svg}, qr{^<svg .*</svg>$}s, 'and the QR code as SVG');
my $secret = $body->{secret};
(undef, $body) = $c->get('/api/session/enrol');
is($body->{secret}, $secret, 'asked again (a reload): the same secret');
isnt(q1("SELECT encode(totp_secret, 'hex') FROM staff"), '', 'the secret is stored');
unlike(q1("SELECT encode(totp_secret, 'escape') FROM staff"), qr/\Q$secret\E/,
	'sealed, not in clear');
($st) = $c->post('/api/session/totp', { code => '000000' }, no_csrf => 1);
is($st, 403, 'a change without the CSRF token: 403');
($st) = $c->post('/api/session/totp', { code => '000000' }, csrf => 'x' x 43);
is($st, 403, 'with a wrong one: 403');
my $code = Madoguchi::Console::totp($secret);
($st, $body) = $c->post('/api/session/totp', { code => $code });
is($st, 200, 'the TOTP code from oathtool is accepted');
is($body->{next}, 'new_password', 'a new password is owed');
isnt($c->{cookie}, $first_token, 'the session token was replaced');
($st) = $c->call('GET', '/api/session', undef, cookie => $first_token);
is($st, 401, 'the token from before the second factor no longer works');
($st, $body) = $c->post('/api/session/password', { password => 'short' });
is($st, 400, 'a short password is refused');
is($body->{error}, 'too_short', 'with its reason');
($st, $body) = $c->post('/api/session/password', { password => 'よく考えた長いパスワードです' });
is($st, 200, 'a long Japanese passphrase is taken');
is($body->{stage}, 'full', 'signed in');
is($body->{staff}{display_name}, '佐藤 花子', 'as 佐藤 花子');
($st) = $c->get('/api/queue');
is($st, 200, 'the queue now answers');
is(q1("SELECT password_temporary FROM staff"), 'f', 'the one-time password is spent');

# --- a second sign-in: password, then the code ---
my $c2 = Madoguchi::Console->new($d);
($st) = $c2->post('/api/session', { login => 'sato', password => $pw });
is($st, 401, 'the one-time password no longer works');
($st) = $c2->post('/api/session', { login => 'sato', password => 'よく考えた長いパスワードです' });
is($st, 200, 'the chosen one does');
($st, $body) = $c2->get('/api/session');
is($body->{next}, 'totp', 'and a code is asked for, not enrolment');
($st) = $c2->get('/api/session/enrol');
is($st, 409, 'no second enrolment');
($st) = $c2->post('/api/session/totp', { code => $code });
is($st, 401, 'a code already used is refused (replay)');
($st, $body) = $c2->post('/api/session/totp', { code => Madoguchi::Console::totp($secret, 1) });
is($st, 200, 'the next code is accepted');
is($body->{stage}, 'full', 'signed in again, beside the first session');

# --- roles ---
my $kpw = staff_add($db, 'kato', 'counsellor', '加藤');
my $k = console_signed_in($d, 'kato', $kpw);
($st, $body) = $k->get('/api/staff');
is($st, 403, 'a counsellor asking for the staff list (admin): 403');
is($body->{error}, 'forbidden', 'forbidden');
my $apw = staff_add($db, 'admin1', 'admin', '管理者');
my $a = console_signed_in($d, 'admin1', $apw);
($st, $body) = $a->get('/api/staff');
is($st, 200, 'an admin gets the staff list');
is(scalar @{ $body->{staff} }, 3, 'three accounts');
($st) = $a->get('/api/queue');
is($st, 403, 'an admin does not read consultations');
($st, $body) = $k->put('/api/me/presence', { presence => 'online' });
is($body->{presence}, 'online', 'a counsellor goes online');
($st) = $k->put('/api/me/presence', { presence => 'busy' });
is($st, 400, 'an unknown presence: 400');
($st) = $k->put('/api/me/presence', undef, raw => '{"presence":', content_type => 'application/json');
is($st, 400, 'malformed JSON: 400');

# --- lockout after five failures in a row, password or code ---
my $lpw = staff_add($db, 'ito', 'counsellor');
my $l = console_signed_in($d, 'ito', $lpw, new_password => 'ito のながいパスワード');
my $x = Madoguchi::Console->new($d);
($st) = $x->post('/api/session', { login => 'ito', password => 'ito のながいパスワード' });
is($st, 200, 'ito signs in with the password');
for my $i (1 .. 2) {
	($st) = $x->post('/api/session/totp', { code => '000000' });
	is($st, 401, "wrong code $i: 401");
}
for my $i (3 .. 4) {
	($st) = $x->post('/api/session', { login => 'ito', password => "wrong $i" });
	is($st, 401, "wrong password $i: 401");
}
($st, $body) = $x->post('/api/session', { login => 'ito', password => 'wrong 5' });
is($st, 423, 'the fifth failure locks the account');
($st, $body) = $x->post('/api/session', { login => 'ito', password => 'ito のながいパスワード' });
is($st, 423, 'even the right password is refused while locked');
is($body->{error}, 'locked', 'locked');
is(q1("SELECT count(*) FROM login_attempts WHERE login = 'ito' AND NOT ok"), 5,
	'each failure is on record');
{
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	like(`bin/madoguchi user unlock ito 2>&1`, qr/ito: unlocked/, 'user unlock');
}
($st) = $x->post('/api/session', { login => 'ito', password => 'ito のながいパスワード' });
is($st, 200, 'and ito can sign in again');

# Codes guessed in parallel cannot outrun the lockout.
my $before = q1("SELECT count(*) FROM login_attempts WHERE login = 'ito' AND NOT ok");
my @socks = map { $x->send_raw('POST', '/api/session/totp', { code => sprintf('%06d', $_) }) } 1 .. 20;
my %answers;
$answers{ Madoguchi::Console::read_status($_) }++ for @socks;
is(q1("SELECT count(*) FROM login_attempts WHERE login = 'ito' AND NOT ok") - $before, 5,
	'20 codes at once: only 5 were tried');
ok(($answers{423} // 0) >= 15 && ($answers{401} // 0) + ($answers{423} // 0) == 20,
	'the others found it locked (and tries that failed after the lock say so too)')
	or diag(join ' ', map { "$_=$answers{$_}" } sort keys %answers);
{
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	`bin/madoguchi user unlock ito 2>&1`;
}

# --- idle sessions, sign-out, disabled accounts ---
($st) = $l->get('/api/queue');
is($st, 200, "ito's first session is alive");
q1("UPDATE sessions SET last_seen_at = now() - interval '29 minutes' WHERE staff_id = "
	. "(SELECT id FROM staff WHERE login = 'ito') AND stage = 'full'");
($st) = $l->call('GET', '/api/queue', undef, headers => { 'X-Madoguchi-Background' => '1' });
is($st, 200, 'a read the console makes by itself answers');
ok(q1("SELECT last_seen_at < now() - interval '28 minutes' FROM sessions WHERE staff_id = "
	. "(SELECT id FROM staff WHERE login = 'ito') AND stage = 'full'") eq 't',
	'but does not count as activity');
q1("UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE staff_id = "
	. "(SELECT id FROM staff WHERE login = 'ito') AND stage = 'full'");
($st) = $l->get('/api/queue');
is($st, 401, 'after 30 idle minutes: 401');
ok(wait_until(30, sub { q1("SELECT count(*) FROM sessions WHERE end_reason = 'idle'") >= 1 }),
	'and the sweep records it ended as idle');
($st) = $c2->del('/api/session');
is($st, 200, 'signing out');
($st) = $c2->get('/api/queue');
is($st, 401, 'the signed-out session is gone');
($st) = $c->get('/api/queue');
is($st, 200, 'the other session of the same person is not');
{
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	like(`bin/madoguchi user disable kato 2>&1`, qr/disabled/, 'user disable');
	like(`bin/madoguchi user list 2>&1`, qr/^kato\s+counsellor\s+offline\s+yes\s+disabled/m,
		'user list shows it disabled and offline');
	like(`bin/madoguchi user reset-mfa sato 2>&1`, qr/authenticator removed/, 'user reset-mfa');
	like(`bin/madoguchi user capacity ito 3 2>&1`, qr/ito: capacity 3/, 'user capacity');
	is(q1("SELECT capacity FROM staff WHERE login = 'ito'"), 3, 'stored');
	like(`bin/madoguchi user capacity ito 99 2>&1`, qr/1-20/, 'an impossible capacity refused');
}
($st) = $k->get('/api/queue');
is($st, 401, "a disabled account's session ends at once");
($st) = $c->get('/api/queue');
is($st, 401, 'reset-mfa ends the sessions too');
my $s = Madoguchi::Console->new($d);
$s->post('/api/session', { login => 'sato', password => 'よく考えた長いパスワードです' });
(undef, $body) = $s->get('/api/session');
is($body->{next}, 'enrol', 'and the next sign-in enrols a new authenticator');
is(q1("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE action LIKE 'staff.%'"),
	'staff.add,staff.password_set,staff.add,staff.password_set,staff.add,staff.password_set,'
	. 'staff.add,staff.password_set,staff.unlock,staff.unlock,staff.disable,staff.reset_mfa,staff.capacity',
	'every account change is in the audit log');

# --- too many failures from one address ---
my $t = Madoguchi::Console->new($d);
my $throttled = 0;
for my $i (1 .. 40) {
	($st) = $t->post('/api/session', { login => "nobody$i", password => 'x' });
	$throttled++ if $st == 429;
}
ok($throttled >= 5, "an address with 30 failures in 10 minutes is throttled ($throttled × 429)");

# --- the client's address behind a proxy (127.0.0.1 is throttled by now: forget that) ---
q1("DELETE FROM login_attempts WHERE host(ip) = '127.0.0.1'");
sub attempt_ip {
	my ($daemon, $xff) = @_;
	my $c = Madoguchi::Console->new($daemon);
	$c->call('POST', '/api/session', { login => 'ghost', password => 'x' },
		headers => { 'X-Forwarded-For' => $xff });
	return q1("SELECT host(ip) FROM login_attempts WHERE login = 'ghost' ORDER BY id DESC LIMIT 1");
}
is(attempt_ip($d, '203.0.113.9'), '127.0.0.1', 'X-Forwarded-For is ignored unless the proxy is trusted');
my $p = start_daemon($db, env => { MADOGUCHI_CONSOLE_TRUSTED_PROXIES => '127.0.0.1, ::1' });
is(attempt_ip($p, '203.0.113.9'), '203.0.113.9', 'from a trusted proxy, the address it saw');
is(attempt_ip($p, '198.51.100.1, 203.0.113.7'), '203.0.113.7',
	'the rightmost one: what the client wrote further left proves nothing');
is(attempt_ip($p, '203.0.113.5, 127.0.0.1'), '203.0.113.5', 'passing over trusted proxies');
is(attempt_ip($p, 'not-an-address'), '127.0.0.1', 'garbage: the peer');
is($p->stop, 0, 'that madoguchid stops cleanly');
is($d->stop, 0, 'madoguchid stops cleanly');
unlike($d->log_text, qr/よく考えた|\Q$pw\E|$secret/, 'no password or secret in the log');
done_testing();
