#!/usr/bin/perl
# The calendar and settings CLI: the output contracts, the desk's own
# exceptions read back from the database, and clear refusals.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Madoguchi::Test;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $db = new_cluster();
$db->migrate;
my $bin = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
# Output and exit status of the CLI, run against the cluster.
sub cli {
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	my $out = `$bin/madoguchi @_ 2>&1`;
	utf8::decode($out);
	return ($out, $? >> 8);
}
sub out { (cli(@_))[0] }
sub status { (cli(@_))[1] }

# --- the contracts, with the built-in calendar ---
my $h = out('calendar holidays 2027 --defaults');
my @lines = split /\n/, $h;
is(scalar @lines, 17, '2027 has 17 national holidays');
ok((grep { $_ eq "2027-03-22\t振替休日" } @lines), 'YYYY-MM-DD<TAB>name, the substitute for the equinox');
is(out('calendar check 2026-12-28T20:30+09:00 --defaults'),
	"open: no\nnext_open: 2027-01-04T11:00:00+09:00\nreply_due: 2027-01-04T20:00:00+09:00\n",
	'check: closed over the new year, next open and the reply deadline');
is(out('calendar check 2026-11-27T19:59:30+09:00 --defaults'),
	"open: yes\nnext_open: 2026-11-27T19:59:30+09:00\nreply_due: 2026-11-30T20:00:00+09:00\n",
	'Friday 19:59: open; due by Monday evening');

# --- the desk's exceptions, from the database ---
like(out('calendar close 2026-12-01 --by admin'), qr/recorded by cli:admin/, 'close a Tuesday');
like(out('calendar check 2026-12-01T12:00+09:00'), qr/^open: no\nnext_open: 2026-12-02T11:00:00\+09:00\n/,
	'closed that day, open the next');
like(out('calendar open 2026-12-05 10:00-16:00'), qr/recorded/, 'open a Saturday, 10-16');
like(out('calendar check 2026-12-05T15:59+09:00'), qr/^open: yes/, 'open that Saturday afternoon');
like(out('calendar check 2026-12-05T16:00+09:00'), qr/^open: no/, 'closed at its closing time');
like(out('calendar holiday-add 2026-12-24 テスト記念日'), qr/recorded/, 'a holiday the law added');
like(out('calendar holiday-cancel 2026-11-23'), qr/recorded/, 'a holiday cancelled');
$h = out('calendar holidays 2026');
like($h, qr/^2026-12-24\tテスト記念日$/m, 'the added holiday is listed');
unlike($h, qr/^2026-11-23/m, 'the cancelled one is not');
like(out('calendar holidays 2026 --defaults'), qr/^2026-11-23\t勤労感謝の日$/m, '--defaults ignores the desk');
like(out('calendar list'), qr/^2026-12-05\topen\t10:00-16:00\t/m, 'list shows the exceptions');
like(out('calendar close 2026-12-01 --by admin2'), qr/recorded/, 'the same exception again');
is($db->query(q{SELECT count(*) FROM settings_changes WHERE key = 'calendar_exceptions' AND old_value IS NOT NULL}),
	1, 'its change keeps what it replaced');
like(out('calendar remove 2026-12-01 closed'), qr/removed/, 'remove it');
like(out('calendar check 2026-12-01T12:00+09:00'), qr/^open: yes/, 'open again');

# --- refusals ---
is(status('calendar close 2026-02-30'), 2, 'an impossible date: exit 2');
is(status('calendar open 2026-12-05 16:00-10:00'), 2, 'closing before opening: exit 2');
is(status('calendar check 2026-12-28T20:30'), 2, 'a time without its zone: exit 2');
like(out('calendar holidays 1948'), qr/1949 to 2099/, 'a year out of range says which are covered');
is(status('calendar remove 2026-12-09 closed'), 1, 'removing what is not there: exit 1');
is(status('calendar frobnicate'), 2, 'an unknown subcommand: exit 2');

# --- settings ---
is(out('settings get min_staff_on_duty'), "2\n", 'a default from the migration');
my ($o, $st) = cli(q{settings set hours '{"mon": ["25:00", "20:00"]}'});
is($st, 2, 'impossible hours refused');
like($o, qr/hours:/, 'saying which setting');
($o, $st) = cli(q{settings set autoreply_busy --text 'お待ちください {nope}'});
is($st, 2, 'an unknown placeholder refused');
like($o, qr/\{nope\}/, 'naming it');
like(out(q{settings set min_staff_on_duty 1 --by admin}), qr/changed by cli:admin/, 'a valid change');
like(out('settings history min_staff_on_duty'), qr/cli:admin\tmin_staff_on_duty\t2 -> 1/, 'kept with who and what');
is(status('settings set no_such_key 1'), 2, 'an unknown setting refused');

# --- the console's settings: each default passes its own check ---
for my $k (qw(close_reasons case_categories case_attributes referral_agencies
	canned_phrases idle_close_text restriction_notice_cooldown restriction_notice_block
	session_idle_minutes login_lockout due_soon_minutes session_soft_limit_minutes)) {
	my $v = out("settings get $k");
	chomp $v;
	$v =~ s/'/'\\''/g;
	like(out("settings set $k '$v'"), qr/changed by/, "$k: its default is accepted back");
}
is(status(q{settings set close_reasons '[{"code": "a b", "ja": "x", "en": "x"}]'}), 2,
	'a close reason code with a space refused');
is(status(q{settings set close_reasons '[{"code": "a", "ja": "x", "en": "x"}, {"code": "a", "ja": "y", "en": "y"}]'}), 2,
	'duplicate codes refused');

# --- the reply deadline policy ---
is(status(q{settings set reply_deadline '{"kind": "business_minutes"}'}), 2,
	'a policy without its minutes refused');
like(out(q{settings set reply_deadline '{"kind": "business_minutes", "minutes": 30}'}),
	qr/changed by/, 'replies due within 30 business minutes');
like(out('calendar check 2026-12-08T19:50+09:00'), qr/^reply_due: 2026-12-09T11:20:00\+09:00$/m,
	'Tuesday 19:50: ten minutes that day, twenty the next morning');
like(out(q{settings set reply_deadline '{"kind": "next_business_day_end"}'}), qr/changed by/,
	'back to the end of the next business day');
like(out('calendar check 2026-12-08T19:50+09:00'), qr/^reply_due: 2026-12-09T20:00:00\+09:00$/m,
	'due Wednesday 20:00');
done_testing;
