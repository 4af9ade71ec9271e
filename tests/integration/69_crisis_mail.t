#!/usr/bin/perl
# Crisis alerts by e-mail: at 03:00 on a Sunday, with nobody signed in, a
# high-risk message reaches the desk's on-duty address through its mail
# server at once (libcurl's SMTP on the daemon's loop), in Japanese that
# survives any relay, naming the case and never the words; unacknowledged,
# the on-call address is added; a server that refuses is retried; a desk
# without a mail server sees its e-mail targets recorded as failed, not
# silently skipped; a configuration that cannot work stops the start.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use File::Temp ();
use Madoguchi::Test;
use Madoguchi::SmtpSink;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $bin = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
my $desk = new_desk();
my ($db, $sim) = @$desk{qw(db sim)};
sub q1 { $db->query($_[0]) }
sub cli {
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	return scalar `$bin/madoguchi @_ 2>&1`;
}

# --- the setting takes e-mail targets, and only plain addresses ---
like(cli(q{settings set crisis_alert '{"repeat_minutes": 5, "notify": [{"kind": "email", "to": "duty@desk.example.jp"}], "on_call": [{"kind": "email", "to": "chief@desk.example.jp"}]}'}),
	qr/changed by/, 'e-mail targets in crisis_alert');
my $bad = cli(q{settings set crisis_alert '{"repeat_minutes": 5, "notify": [{"kind": "email", "to": "duty@desk.example.jp\nBcc: x@evil.example"}], "on_call": []}'});
is($? >> 8, 2, 'an address with a line break is refused');
like($bad, qr/"email", "to"/, 'saying what a target is');
cli(q{settings set desk_name '"こども・若者LINE相談"'});

my $smtp = smtp_sink();
my %mail_env = (MADOGUCHI_SMTP_URL => $smtp->url,
	MADOGUCHI_SMTP_FROM => 'madoguchi@desk.example.jp', MADOGUCHI_SMTP_STARTTLS => 0);
my $d = $desk->daemon(MADOGUCHI_NOW => '2026-11-29T03:00:00+09:00', %mail_env);	# a Sunday

my $U = 'U' . ('4' x 32);
$sim->send({ user => $U, type => 'text', text => '薬ぜんぶ飲んだ。もう終わりにする' });
ok(wait_until(30, sub { @{ $smtp->received } == 1 }), 'at night the duty address gets an e-mail at once')
	or diag $d->log_text =~ /(.*crisis\..*)/g;
my $m = $smtp->received->[0];
my $number = sprintf('No.%06d', q1('SELECT id FROM contacts'));
is_deeply($m->{to}, ['duty@desk.example.jp'], 'to the notify address');
is($m->{from}, 'madoguchi@desk.example.jp', 'from the configured sender');
like($m->{subject}, qr/^【緊急】こども・若者LINE相談: .*相談 \Q$number\E、1回目/,
	'the subject names the desk, the case and the round');
like($m->{body}, qr/検知: 2026-11-29 03:00（日本時間）/, 'the body says when, in Japan time');
like($m->{body}, qr/危機レベル: 高/, 'and how high');
unlike($m->{subject} . $m->{body}, qr/薬|飲んだ|終わりに/, 'never what the person wrote');
like($m->{content_type}, qr{text/plain; charset=UTF-8}, 'plain text, UTF-8');
ok($m->{raw} !~ /[^\x00-\x7f]/, 'seven-bit on the wire (encoded words, base64)');
ok(wait_until(5, sub { q1("SELECT count(*) FROM crisis_notifications WHERE sent_at IS NOT NULL"
	. " AND last_status = 250") == 1 }), "the send is recorded with the server's 250");

# --- unacknowledged: again, and the on-call address too ---
q1("UPDATE crisis_events SET next_alert_at = '2026-11-28T00:00:00+09:00'");
ok(wait_until(30, sub { @{ $smtp->received } == 3 }), 'round 2 to both addresses');
is_deeply([ sort map { @{ $_->{to} } } @{ $smtp->received }[1, 2] ],
	[ 'chief@desk.example.jp', 'duty@desk.example.jp' ], 'the on-call address added');
like($smtp->received->[2]{subject}, qr/2回目/, 'as round 2');

# --- a server that refuses is retried, not dropped ---
$smtp->rcpt_reply('451 4.3.0 try later');
q1("UPDATE crisis_events SET next_alert_at = '2026-11-28T00:00:00+09:00'");
ok(wait_until(30, sub { q1("SELECT count(*) FROM crisis_notifications WHERE round = 3"
	. " AND sent_at IS NULL AND next_attempt_at IS NOT NULL AND attempts = 1"
	. " AND last_error LIKE 'SMTP 451%'") == 2 }), "refused: both kept for a retry, with the server's reply")
	or diag q1("SELECT string_agg(concat_ws(' ', round, attempts, last_status, last_error), '; ') FROM crisis_notifications");
is(scalar @{ $smtp->received }, 3, 'nothing was taken');
$smtp->rcpt_reply('250 OK');
q1("UPDATE crisis_notifications SET next_attempt_at = '2026-11-28T00:00:00+09:00' WHERE sent_at IS NULL");
ok(wait_until(15, sub { @{ $smtp->received } == 5 }), 'and delivered on the retry');

# --- acknowledged: no more mail ---
my $sup_id = q1("INSERT INTO staff (login, display_name, role) VALUES ('sato', '佐藤', 'supervisor') RETURNING id");
q1("UPDATE crisis_events SET acknowledged_at = '2026-11-29T03:05:00+09:00', acknowledged_by = $sup_id, next_alert_at = NULL");
sleep 6;
is(scalar @{ $smtp->received }, 5, 'none after the acknowledgement');
$d->stop;

# --- no mail server configured: left to a process that has one, then ---
# --- recorded as failed and retried ---
my $plain = $desk->daemon(MADOGUCHI_NOW => '2026-11-29T03:10:00+09:00');
my $W = 'U' . ('5' x 32);
$sim->send({ user => $W, type => 'text', text => '今から飛び降りる' });
ok(wait_until(30, sub { q1("SELECT count(*) FROM crisis_notifications WHERE round = 1"
	. " AND sent_at IS NULL AND gave_up_at IS NULL") == 1 }), 'the alert is queued');
sleep 6;	# a claim tick
is(q1("SELECT attempts FROM crisis_notifications WHERE round = 1 AND sent_at IS NULL"), 0,
	'a process without a mail server leaves it to one that has one');
q1("UPDATE crisis_notifications SET next_attempt_at = '2026-11-29T03:05:00+09:00'"
	. " WHERE sent_at IS NULL AND gave_up_at IS NULL");	# none took it for minutes
ok(wait_until(30, sub { q1("SELECT count(*) FROM crisis_notifications"
	. " WHERE last_error = 'no smtp_url configured' AND next_attempt_at IS NOT NULL") == 1 }),
	'when none has, it is recorded as failed and kept for a retry');
$plain->stop;

# --- a configuration that cannot work stops the start ---
for my $case ([ { MADOGUCHI_SMTP_URL => 'http://127.0.0.1:25', MADOGUCHI_SMTP_FROM => 'a@b.example' },
		qr/smtp_url: expected smtp/, 'a URL that is no mail server' ],
	[ { MADOGUCHI_SMTP_URL => $smtp->url, MADOGUCHI_SMTP_FROM => 'nobody' },
		qr/smtp_from: expected/, 'a sender that is no address' ],
	[ { %mail_env, MADOGUCHI_SMTP_USER => 'desk', MADOGUCHI_SMTP_PASSWORD_FILE => '/nonexistent/pw' },
		qr/smtp_password_file: /, 'a password file that cannot be read' ],
	[ { %mail_env, MADOGUCHI_SMTP_USER => 'desk' },
		qr/smtp_user: smtp_user and smtp_password_file go together/, 'a user without a password' ],
	[ { %mail_env, MADOGUCHI_SMTP_URL => 'smtp://mail.desk.example.jp:587',
		MADOGUCHI_SMTP_USER => 'desk', MADOGUCHI_SMTP_PASSWORD_FILE => '/dev/null' },
		qr/smtp_starttls: a password goes to another host only over TLS/,
		'a password to another host without TLS' ]) {
	my ($env, $want, $what) = @$case;
	my $out = start_fails($env);
	like($out, $want, "refused at start: $what");
}

sub start_fails {
	my ($env) = @_;
	my $dir = File::Temp::tempdir(CLEANUP => 1);
	local %ENV = (%ENV, MADOGUCHI_CONFIG => '/dev/null',
		MADOGUCHI_DATABASE_URL => $db->conninfo, MADOGUCHI_LISTEN => '127.0.0.1:' . free_port(),
		MADOGUCHI_CHANNEL_SECRET_FILE => Madoguchi::Test::write_file("$dir/s", "x\n"),
		MADOGUCHI_DATA_KEY_FILE => Madoguchi::Test::write_file("$dir/k", '1:' . ('ab' x 32) . "\n"), %$env);
	my $out = `timeout 10 $bin/madoguchid 2>&1`;
	return ($? >> 8) == 1 ? $out : "exit $?: $out";
}
done_testing();
