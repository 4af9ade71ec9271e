#!/usr/bin/perl
# 1,000 distinct webhooks at once: exactly 1,000 messages, none lost, none
# doubled, and the deliveries shared commits (group commit).
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Madoguchi::Test;

my $db = new_cluster();
$db->migrate;
my $d = start_daemon($db);
my $bin = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
my $slow = ($ENV{MADOGUCHI_WRAP} // '') ne '';
my $count = $slow ? 200 : 1000;

my $out = `$bin/linesim flood --webhook-url $d->{url}/webhook/line --channel-secret-file $d->{env}{MADOGUCHI_CHANNEL_SECRET_FILE} --count $count --concurrency $count --users 300 2>&1`;
is($?, 0, "linesim flood: every one of $count concurrent deliveries answered 2xx") or diag $out;
like($out, qr/sent=$count 2xx=$count non2xx=0 errors=0/, 'by its own count');
is($db->query("SELECT count(*) FROM messages WHERE direction = 'in'"), $count, "exactly $count messages stored");
is($db->query('SELECT count(DISTINCT c.contact_id) FROM messages m JOIN conversations c ON c.id = m.conversation_id'),
	$db->query('SELECT count(*) FROM contacts'), 'no contact without messages');
is($db->query("SELECT count(*) FROM (SELECT contact_id FROM conversations WHERE state <> 'closed' GROUP BY 1 HAVING count(*) > 1) x"),
	0, 'one open conversation per contact');
my $commits = $d->metric('madoguchi_ingest_batch_deliveries_count');
ok($commits < $count, "fewer commits ($commits) than deliveries: they were grouped");

is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
