#!/usr/bin/perl
# Which auto-reply a message gets, at the edges of the desk's calendar and
# its staffing: the test clock (MADOGUCHI_NOW) puts a daemon at each moment.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);
use Madoguchi::Test;

my $db = new_cluster();
$db->migrate;
my $n = 0;

# One message from a new person at $now; the auto-reply kinds it got.
sub reply_at {
	my ($now, %o) = @_;
	my $user = $o{user} // sprintf 'U%032x', ++$n;
	my $d = start_daemon($db, env => { MADOGUCHI_NOW => $now });
	is(signed_post($d, text_body('こんにちは', user => $user))->{status}, 200, "stored at $now");
	wait_until(10, sub { $db->query('SELECT count(*) FROM autoreply_pending') == 0 });
	my $kinds = $db->query("SELECT coalesce(string_agg(array_to_string(m.autoreply, ','), ';'), 'none')
		FROM messages m JOIN conversations c ON c.id = m.conversation_id
		JOIN contacts p ON p.id = c.contact_id
		WHERE p.external_id = '$user' AND m.direction = 'auto'
		  AND m.sent_at >= '$now'::timestamptz");
	is($d->stop, 0, 'daemon stops cleanly');
	return $kinds;
}

is(reply_at('2026-11-30T10:59:00+09:00'), 'after_hours', 'Monday 10:59: not open yet');
is(reply_at('2026-11-30T11:00:00+09:00'), 'busy', 'Monday 11:00, nobody on duty: busy');
is(reply_at('2026-11-30T19:59:00+09:00'), 'busy', 'Monday 19:59: still open');
is(reply_at('2026-11-30T20:00:00+09:00'), 'after_hours', 'Monday 20:00: closed');
is(reply_at('2026-11-28T15:00:00+09:00'), 'after_hours', 'a Saturday');
is(reply_at('2026-11-23T12:00:00+09:00'), 'after_hours', 'a national holiday (勤労感謝の日)');
is(reply_at('2026-05-06T12:00:00+09:00'), 'after_hours', 'a substitute holiday (振替休日)');
is(reply_at('2026-12-31T12:00:00+09:00'), 'after_hours', '12/31: year-end closure');
is(reply_at('2026-11-27T12:00:00+09:00'), 'busy', 'the Friday before a weekend');

# Once per closed period, per contact.
my $u = 'U' . ('a' x 32);
is(reply_at('2026-11-28T15:00:00+09:00', user => $u), 'after_hours', 'first message of a closed period');
is(reply_at('2026-11-28T22:00:00+09:00', user => $u), 'none', 'the same period: nothing more');
is(reply_at('2026-11-30T21:00:00+09:00', user => $u), 'after_hours', 'the next closed period: again');

# Staffing, with the queue emptied first (everyone above is still waiting).
$db->query(q{UPDATE conversations SET state = 'closed', closed_at = now()});
sub cli {
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	my $bin = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
	return scalar `$bin/madoguchi @_ 2>&1`;
}
$db->query(q{INSERT INTO staff (login, display_name, role, presence) VALUES
	('sato', '佐藤', 'counsellor', 'online'), ('suzuki', '鈴木', 'supervisor', 'online')});
# Signed in to a console at the desk's 12:00 (70_console_auth.t signs in for real).
$db->query(q{INSERT INTO sessions (token_hash, staff_id, stage, created_at, last_seen_at, expires_at)
	SELECT sha256(login::bytea), id, 'full', '2026-11-30T11:50+09', '2026-11-30T11:59+09',
	       '2026-11-30T20:00+09' FROM staff});
is(reply_at('2026-11-30T12:00:00+09:00'), 'none', 'two on duty with room: a counsellor will answer');
$db->query(q{UPDATE staff SET presence = 'offline' WHERE login = 'suzuki'});
is(reply_at('2026-11-30T12:00:00+09:00'), 'busy', 'fewer on duty than the minimum of two: busy');
$db->query(q{UPDATE staff SET presence = 'online'});
# Each takes one of the two waiting; one conversation each is all they can hold.
$db->query(q{UPDATE conversations c SET assignee_id = s.id, claimed_at = now()
	FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM staff) s,
	     (SELECT id, row_number() OVER (ORDER BY id) AS n FROM conversations WHERE state = 'waiting') w
	WHERE c.id = w.id AND s.n = w.n});
like(cli('settings set capacity_per_counsellor 1'), qr/changed by/, 'capacity set to one each');
is(reply_at('2026-11-30T12:00:00+09:00'), 'busy', 'every counsellor at capacity: busy');
like($db->query(q{SELECT reply_due_at AT TIME ZONE 'Asia/Tokyo' FROM conversations ORDER BY id DESC LIMIT 1}),
	qr/^2026-12-01 20:00:00/, 'its reply is due by the end of the next business day');

# The desk can turn a reply off, and the daemon follows.
like(cli(q{settings set autoreply_busy '""' --by admin}), qr/changed by cli:admin/,
	'settings set turns the busy reply off');
is(reply_at('2026-11-30T12:00:00+09:00'), 'none', 'no busy reply once it is off');
done_testing;
