#!/usr/bin/perl
# Data key rotation (issue 10): with a new key appended to the key file and
# the daemon restarted, `madoguchi keys rotate` re-seals every sealed value
# under it while webhooks keep arriving; nothing is lost, nothing is left
# under the old key, and the desk then works with the new key alone
# (messages, a TOTP sign-in, a case record).
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Encode qw(decode);
use File::Temp qw(tempdir);
use POSIX ();
use Madoguchi::Test;
use Madoguchi::Console;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $BIN = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
my $slow = $ENV{MADOGUCHI_WRAP} ? 1 : 0;
my $dir = tempdir('keys-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($k1, $k2) = (Madoguchi::Test::random_hex(32), Madoguchi::Test::random_hex(32));
my $file1 = Madoguchi::Test::write_file("$dir/k1", "1:$k1\n");
my $file12 = Madoguchi::Test::write_file("$dir/k12", "1:$k1\n2:$k2\n");
my $file2 = Madoguchi::Test::write_file("$dir/k2", "2:$k2\n");
chmod 0644, $file1, $file12, $file2;	# the daemon may run as another user

my $db = new_cluster();
$db->migrate;
sub q1 { $db->query($_[0]) }
my $secret = Madoguchi::Test::random_hex(16);
sub daemon_with { start_daemon($db, secret => $secret, env => { MADOGUCHI_DATA_KEY_FILE => $_[0] }) }
sub cli {
	my ($keyfile, @args) = @_;
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	local $ENV{MADOGUCHI_DATA_KEY_FILE} = $keyfile;
	my $out = `$BIN/madoguchi @args 2>&1`;
	return ($? >> 8, decode('UTF-8', $out));
}
my $users = 20;
sub user_of { sprintf 'U%032x', $_[0] % $users }
sub send_messages {
	my ($d, $from, $n) = @_;
	my $ok = 0;
	for my $i ($from .. $from + $n - 1) {
		my $r = signed_post($d, text_body("鍵のテスト $i", user => user_of($i)));
		$ok++ if $r->{status} == 200;
	}
	return $ok;
}

# --- under key 1: messages, a supervisor (TOTP secret), a case record ---
my $d = daemon_with($file1);
my $pw = staff_add($db, 'sato', 'supervisor', '佐藤');
my $s = console_signed_in($d, 'sato', $pw);
is(send_messages($d, 0, 100), 100, '100 messages under key 1');
my $contact = q1("SELECT min(id) FROM contacts");
my $conv = q1("SELECT min(id) FROM conversations");
$s->post("/api/conversations/$conv/claim");
my ($st) = $s->put("/api/contacts/$contact/case-record", { version => 0, attributes => {},
	categories => [], summary => '鍵を替えても読める要約' });
is($st, 200, 'a case record summary');
($st) = $s->put("/api/contacts/$contact/nickname", { nickname => 'かぎさん' });
is($st, 200, 'a nickname');
$s->post("/api/conversations/$conv/notes", { text => '内部メモ：鍵の試験' });
my ($rc, $out) = cli($file1, 'keys', 'status');
my $bodies = q1('SELECT count(*) FROM messages WHERE body IS NOT NULL');
cmp_ok($bodies, '>=', 100, 'the 100 messages and the auto-replies are sealed');
like($out, qr/^messages\.body: key 1: $bodies$/m, "status: $bodies message bodies under key 1");
like($out, qr/^staff\.totp_secret: key 1: 1$/m, 'and the TOTP secret');
is($d->stop, 0, 'stopped');

# --- key 2 appended: the daemon seals with it; rotation under load ---
$d = daemon_with($file12);
my $pid = fork // die;
if ($pid == 0) {
	my $ok = send_messages($d, 100, 200);
	POSIX::_exit($ok == 200 ? 0 : 1);
}
wait_until(30, sub { q1("SELECT count(*) FROM messages WHERE direction = 'in'") >= 110 });
my $before = q1("SELECT count(*) FROM messages WHERE direction = 'in'");
($rc, $out) = cli($file12, 'keys', 'rotate', '--batch', 20);
my $during = q1("SELECT count(*) FROM messages WHERE direction = 'in'") - $before;
note("$during messages arrived while the rotation ran");
is($rc, 0, 'keys rotate while webhooks arrive: exit 0') or diag $out;
like($out, qr/^re-sealing under key 2$/m, 'under the key file\'s last key');
like($out, qr/^messages\.body: \d+ re-sealed, 0 left$/m, 'message bodies: none left');
waitpid($pid, 0);
is($? >> 8, 0, 'all 200 webhooks sent during the rotation were answered 200');
ok(wait_until($slow ? 60 : 10, sub { q1("SELECT count(*) FROM messages WHERE direction = 'in'") == 300 }),
	'300 messages stored, none lost, none twice');
($rc, $out) = cli($file12, 'keys', 'rotate');	# what the desk wrote meanwhile is key 2 already
is($rc, 0, 'a second pass finds nothing to do');
($rc, $out) = cli($file12, 'keys', 'status');
unlike($out, qr/key 1:/, 'status: nothing under key 1 in any column') or diag $out;
$bodies = q1('SELECT count(*) FROM messages WHERE body IS NOT NULL');
like($out, qr/^messages\.body: key 2: $bodies$/m, "all $bodies bodies under key 2");
like($out, qr/^outbox\.payload: key 2: \d+$/m, 'the auto-replies still waiting to go out too');
($rc, $out) = cli($file12, 'keys', 'rotate', '--batch', '5x');
is($rc, 2, 'a batch size that is not a number: exit 2, nothing done');
($rc, $out) = cli($file12, 'keys', 'retire', '1x');
is($rc, 2, 'nor a key id');
($rc, $out) = cli($file12, 'keys', 'retire', 2);
is($rc, 1, 'the active key cannot be retired');
($rc, $out) = cli($file12, 'keys', 'retire', 1);
is($rc, 0, 'key 1 may leave the key file');
is(q1("SELECT count(*) FROM audit_log WHERE action = 'keys.rotate'"), 2, 'each rotation audited');
is($d->stop, 0, 'stopped');

# --- key 2 alone ---
($rc, $out) = cli($file2, 'messages', '--limit', 400, '--text');
unlike($out, qr/cannot decrypt/, 'every message opens with key 2 alone');
is(scalar(() = $out =~ /鍵のテスト \d+/g), 300, 'all 300 texts');
$d = daemon_with($file2);
$s = console_sign_in($d, 'sato', $s->{password}, $s->{secret}, 1);
ok($s, 'the supervisor signs in: the TOTP secret opens under key 2');
$s->post("/api/conversations/$conv/claim");
(undef, my $rec) = $s->get("/api/contacts/$contact/case-record");
is($rec->{summary}, '鍵を替えても読める要約', 'the case record reads');
is($rec->{nickname}, 'かぎさん', 'the nickname too');
(undef, my $h) = $s->get("/api/conversations/$conv");
ok((grep { ($_->{text} // '') eq '内部メモ：鍵の試験' } @{ $h->{history} }), 'and the note');
is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
