#!/usr/bin/perl
# Crisis detection on the real path: a message that says a life is at risk
# raises its conversation in the transaction that stores it (with a record
# of the rise, due for an alert at once); a farewell after earlier worries
# counts as high; ordinary messages and idioms raise nothing; the desk's
# own lexicon lines apply without a restart; `madoguchi crisis check`
# prints its contract format. And the audit trail: append-only for the
# application, and `audit verify` names the entry a superuser altered.
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
my $d = $desk->daemon(MADOGUCHI_NOW => '2026-11-24T14:00:00+09:00');
sub q1 { $db->query($_[0]) }

my $bin = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
# Output and exit status of the CLI (arguments unquoted: no shell).
sub cli {
	my ($stdin, @args) = @_;
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	my $in = $db->dir . '/stdin.txt';
	open(my $w, '>:encoding(UTF-8)', $in) or die;
	print $w $stdin // '';
	close $w;
	open(my $saved, '<&', \*STDIN) or die;
	open(STDIN, '<', $in) or die;
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>&', \*STDOUT) or die;
		exec("$bin/madoguchi", map { my $a = $_; utf8::encode($a); $a } @args)
			or die "madoguchi: $!";
	}
	my $out = do { local $/; <$fh> } // '';
	close $fh;
	my $rc = $? >> 8;
	open(STDIN, '<&', $saved) or die;
	utf8::decode($out);
	return ($out, $rc);
}

my %user = map { $_ => 'U' . (sprintf '%032d', $_) } 1 .. 6;
sub say_as {
	my ($n, $text) = @_;
	my $before = q1("SELECT count(*) FROM messages WHERE direction = 'in'");
	$sim->send({ user => $user{$n}, type => 'text', text => $text });
	wait_until(10, sub { q1("SELECT count(*) FROM messages WHERE direction = 'in'") > $before })
		or BAIL_OUT('a message was not stored');
}
sub conv_of {
	q1("SELECT cv.id FROM conversations cv JOIN contacts c ON c.id = cv.contact_id"
	 . " WHERE c.external_id = '$user{$_[0]}' AND cv.state <> 'closed'");
}
sub last_in {
	my $conv = conv_of($_[0]);
	my $row = q1("SELECT crisis_level, coalesce(crisis_rule, '-') FROM messages"
		. " WHERE conversation_id = $conv AND direction = 'in' ORDER BY id DESC LIMIT 1");
	utf8::decode($row);
	[ split /\t/, $row ];
}

# --- one message that says a life is at risk ---
say_as(1, 'もう死にたい。今日は本当に無理');
my $c1 = conv_of(1);
is(last_in(1)->[0], 2, 'a stated wish to die is stored as high');
like(last_in(1)->[1], qr/^intent\@lexicon\.txt:\d+$/, 'with the rule that matched, not the words');
is(q1("SELECT crisis_level FROM conversations WHERE id = $c1"), 2,
	'the conversation is raised in the same transaction');
is(q1("SELECT count(*) FROM crisis_events WHERE conversation_id = $c1"
	. " AND source = 'detected' AND level = 2 AND previous_level = 0"
	. " AND next_alert_at IS NOT NULL AND acknowledged_at IS NULL"), 1,
	'one record of the rise, due for an alert at once');
is(q1("SELECT kind || ':' || code FROM conversation_events WHERE conversation_id = $c1"),
	'crisis_raised:2', "the rise is in the conversation's history");
is(q1("SELECT count(*) FROM audit_log WHERE action = 'crisis.detected' AND object_id = $c1"), 1,
	'and in the audit trail');
is(q1("SELECT count(*) FROM messages WHERE crisis_rule LIKE '%今日は%'"), 0,
	'no message words in the rule column');
say_as(1, 'しにたい');
is(q1("SELECT count(*) FROM crisis_events WHERE conversation_id = $c1"), 1,
	'a second high message in a high conversation adds no second rise');

# --- half-width kana, spacing, idioms ---
say_as(2, 'ｼ ﾆ ﾀ ｲ');
is(last_in(2)->[0], 2, 'half-width, spaced kana are found');
say_as(3, '死ぬほど眠い');
is(last_in(3)->[0], 0, 'an idiom raises nothing');
say_as(3, '明日の面談の時間って変えられますか？');
is(q1('SELECT crisis_level FROM conversations WHERE id = ' . conv_of(3)), 0,
	'an ordinary conversation stays at 0');
is(q1('SELECT count(*) FROM crisis_events WHERE conversation_id = ' . conv_of(3)), 0,
	'and has no crisis record');

# --- context: a farewell after earlier worries ---
say_as(4, 'さようなら');
is(last_in(4)->[0], 0, 'a goodbye on its own is nothing');
say_as(5, 'もう無理');
is(last_in(5)->[0], 1, 'もう無理 alone is medium');
my $c5 = conv_of(5);
is(q1("SELECT next_alert_at IS NULL FROM crisis_events WHERE conversation_id = $c5"), 't',
	'a rise to medium is recorded but not alerted');
say_as(5, 'さようなら');
is(last_in(5)->[0], 2, 'the same goodbye after a worry is high');
like(last_in(5)->[1], qr/^farewell\@/, 'by the context rule');
is(q1("SELECT string_agg(previous_level || '>' || level, ',' ORDER BY id)"
	. " FROM crisis_events WHERE conversation_id = $c5"), '0>1,1>2',
	'both rises are on record');

# --- the desk's own lines, applied without a restart ---
my ($out, $rc) = cli(undef, 'settings', 'set', 'crisis_terms',
	'[{"kind":"high","rule":"desk","pattern":"(ロープ|縄)"}]');
is($rc, 0, 'a desk adds a lexicon line') or diag $out;
($out, $rc) = cli(undef, 'settings', 'set', 'crisis_terms', '[{"kind":"loud","rule":"x","pattern":"a"}]');
is($rc, 2, 'an unknown kind is refused');
like($out, qr/crisis_terms\[0\]: unknown kind/, 'saying which line and why');
($out, $rc) = cli(undef, 'settings', 'set', 'crisis_terms', '[{"kind":"high","rule":"x","pattern":"(a|b"}]');
is($rc, 2, 'a broken pattern is refused');
ok(wait_until(60, sub { $d->log_text =~ /crisis\.terms_applied/ }),
	'the daemon rebuilds its lexicon when the setting changes');
say_as(6, 'ロープ');
is(last_in(6)->[0], 2, "and applies the desk's line");
is(last_in(6)->[1], 'desk@crisis_terms[0]', "and names the desk's rule");

# --- the CLI's contract ---
($out, $rc) = cli("死にたい\n今日の夕飯なに？\nもう限界\n", 'crisis', 'check', '--no-desk');
is($rc, 0, 'crisis check exits 0');
my @lines = split /\n/, $out;
is(scalar @lines, 3, 'one line out per line in');
like($lines[0], qr/^high\tintent\@lexicon\.txt:\d+\t死にたい$/, 'LEVEL<TAB>rule<TAB>text for a high one');
is($lines[1], "none\t-\t今日の夕飯なに？", 'none with - for the rule');
like($lines[2], qr/^medium\t\S+\tもう限界$/, 'medium');
($out) = cli("ロープ\n", 'crisis', 'check');
like($out, qr/^high\tdesk\@crisis_terms/, "with a reachable database, the desk's lines apply");
($out) = cli("ロープ\n", 'crisis', 'check', '--no-desk');
like($out, qr/^none\t/, '--no-desk leaves them out');
($out, $rc) = cli(undef, 'crisis', 'frobnicate');
is($rc, 2, 'an unknown subcommand exits 2');

# --- the audit trail ---
my $s = console_signed_in($d, 'sato', staff_add($db, 'sato', 'supervisor', '佐藤'));
$s->get("/api/conversations/$c1") for 1 .. 3;
ok(q1('SELECT count(*) FROM audit_log') >= 4, 'views and sign-ins are in the audit trail');
Madoguchi::Console->new($d)->post('/api/session', { login => 'sato', password => 'wrong password!' });
$s->post("/api/conversations/$c1/claim");
$s->post("/api/conversations/$c1/notes", { text => '本人と連絡を取る' });
$s->call('DELETE', '/api/session');
my %did = map { $_ => 1 } split /,/, q1("SELECT string_agg(DISTINCT action, ',') FROM audit_log");
ok($did{$_}, "audited: $_") for qw(session.sign_in session.sign_in_failed session.sign_out
	conversation.view conversation.claimed conversation.note settings.change staff.add);
is(q1("SELECT count(*) FROM audit_log WHERE detail::text LIKE '%連絡%'"), 0,
	'a note is audited, never its words');
($out, $rc) = cli(undef, 'audit', 'verify');
is($rc, 0, 'audit verify: the chain holds') or diag $out;
like($out, qr/^audit: \d+ entries, chain intact, last entry \d+, hash [0-9a-f]{64}$/m,
	'and says how many entries and the last hash');
ok(!eval { q1("UPDATE audit_log SET actor = 'x' WHERE id = (SELECT min(id) FROM audit_log)"); 1 },
	'the application cannot change an entry');
ok(!eval { q1('DELETE FROM audit_log'); 1 }, 'nor delete one');
ok(!eval { q1('TRUNCATE audit_log'); 1 }, 'nor empty the table');
my $victim = q1("SELECT id FROM audit_log WHERE action = 'conversation.view' ORDER BY id LIMIT 1 OFFSET 1");
q1("SET session_replication_role = replica;"
 . " UPDATE audit_log SET actor = 'someone-else' WHERE id = $victim");
($out, $rc) = cli(undef, 'audit', 'verify');
is($rc, 1, 'after a superuser altered an entry by hand, verify fails');
is($out, "audit: entry $victim was altered: its content does not match its hash\n",
	'and names that entry');
q1("SET session_replication_role = replica;"
 . " UPDATE audit_log SET actor = 'sato' WHERE id = $victim;"
 . " DELETE FROM audit_log WHERE id = $victim");
($out, $rc) = cli(undef, 'audit', 'verify');
like($out, qr/^audit: entry \d+ does not follow entry \d+: an entry between them was removed/,
	'a removed entry is found too');

$d->stop;
done_testing();
