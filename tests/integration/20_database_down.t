#!/usr/bin/perl
# PostgreSQL stops in the middle of a run: deliveries get 500 (LINE
# redelivers), nothing is half written, madoguchid keeps running, says it is
# not ready, reconnects when the database is back, and the redeliveries are
# stored. Nothing acknowledged is lost.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Time::HiRes qw(sleep);
use Madoguchi::Test;

my $db = new_cluster();
$db->migrate;
my $d = start_daemon($db);

my @before = map { text_body("停止前 $_") } 1 .. 5;
is(signed_post($d, $_)->{status}, 200, 'stored before the outage') for @before;

$db->stop;
my @during = map { text_body("停止中 $_") } 1 .. 5;
my @codes = map { signed_post($d, $_)->{status} } @during;
is_deeply(\@codes, [(500) x 5], 'during the outage every delivery gets 500');
like(signed_post($d, $during[0])->{content}, qr/LINE will redeliver/, 'and says so');
is($d->get('/healthz')->{status}, 200, 'the process is alive');
my $r = $d->get('/readyz');
is($r->{status}, 503, 'readyz: not ready');
like($r->{content}, qr/database/, 'because of the database');
ok($d->metric('madoguchi_db_connection_failures_total') >= 1, 'the lost connections are counted');
$r = $d->get('/metrics');
is($r->{status}, 200, 'metrics answer during the outage');
like($r->{content}, qr/^madoguchi_desk_state_up 0$/m, 'saying the desk\'s state could not be read');
unlike($r->{content}, qr/^madoguchi_outbox_pending /m, 'and giving none of it');

$db->start;
ok(wait_until(20, sub { $d->get('/readyz')->{status} == 200 }), 'ready again once PostgreSQL is back');
for my $body (@during) {
	$body->{events}[0]{deliveryContext}{isRedelivery} = JSON::PP::true;
	is(signed_post($d, $body)->{status}, 200, 'redelivery stored');
}
is(signed_post($d, $before[0])->{status}, 200, 'an old redelivery is still 200');
is($db->query("SELECT count(*) FROM messages WHERE direction = 'in'"), 10, 'all ten messages, each once');
is($db->query('SELECT count(*) FROM webhook_events'), 10, 'no stray event rows');
is($db->query('SELECT count(*) FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id WHERE c.id IS NULL'),
	0, 'no message without its conversation');

# The database is gone before madoguchid starts: it still starts, not ready.
$db->stop;
my $d2 = start_daemon($db, not_ready_ok => 1);
is($d2->get('/readyz')->{status}, 503, 'started without a database: not ready');
is(signed_post($d2, text_body('x'))->{status}, 500, 'and answers 500');
$db->start;
ok(wait_until(20, sub { $d2->get('/readyz')->{status} == 200 }), 'connects when it comes');
is(signed_post($d2, text_body('遅れて届く'))->{status}, 200, 'and stores');
is($d2->stop, 0, 'second daemon stops cleanly');

# A database never migrated: not ready, with the fix in the answer.
$db->query('CREATE DATABASE empty');
(my $empty = $db->conninfo) =~ s/dbname=madoguchi/dbname=empty/;
my $d3 = start_daemon(bless({ conninfo => $empty }, 'Madoguchi::Test::Cluster'), not_ready_ok => 1);
# It connects in the background: wait for the answer that names the schema.
$r = wait_until(20, sub { my $x = $d3->get('/readyz'); $x->{content} =~ /schema/ ? $x : undef })
	// $d3->get('/readyz');
is($r->{status}, 503, 'unmigrated database: not ready');
like($r->{content}, qr/run madoguchi migrate/, 'says to migrate');
is(signed_post($d3, text_body('x'))->{status}, 500, 'and a delivery gets 500, not 200');
is($d3->stop, 0, 'third daemon stops cleanly');

is($d->stop, 0, 'madoguchid stops cleanly after the outage');
done_testing();
