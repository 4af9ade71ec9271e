#!/usr/bin/perl
# Cooldowns and blocks: only a supervisor places one, with a reason; the
# person gets the desk's neutral notice first (through the simulated LINE);
# their messages are still stored but get no automatic reply and leave the
# counsellors' queue; lifting brings them back; all of it audited.
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
my $c = console_signed_in($d, 'kato', staff_add($db, 'kato', 'counsellor', '加藤'));
my $s = console_signed_in($d, 'sato', staff_add($db, 'sato', 'supervisor', '佐藤'));

my $U = 'U' . ('9' x 32);
sub to_user { [ map { $_->{body}{messages}[0]{text} } @{ $sim->delivered("?user=$U") } ] }
$sim->send({ user => $U, type => 'text', text => 'ばーか' });
ok(wait_until(10, sub { @{ to_user() } == 1 }), 'the first message gets the busy reply (nobody online)');
my $contact = q1('SELECT id FROM contacts');

my ($st, $r) = $c->post("/api/contacts/$contact/restriction", { kind => 'block', reason => 'x' });
is($st, 403, 'a counsellor may not restrict');
($st, $r) = $s->post("/api/contacts/$contact/restriction", { kind => 'cooldown', reason => '暴言の繰り返し' });
is($st, 400, 'a cooldown without its hours: 400');
($st, $r) = $s->post("/api/contacts/$contact/restriction",
	{ kind => 'cooldown', hours => 24, reason => '暴言の繰り返し' });
is($st, 200, 'a supervisor places a 24-hour cooldown');
ok(wait_until(10, sub { @{ to_user() } == 2 }), 'the person gets a notice first');
my $notice = to_user()->[1];
like($notice, qr/LINE相談/, 'from the desk, by name');
like($notice, qr/11月25日（水）14:00まで/, 'saying until when');
unlike($notice, qr/暴言/, 'and not the reason');

$sim->send({ user => $U, type => 'text', text => 'まだ送ります' });
sleep 3;
is(q1("SELECT count(*) FROM messages WHERE direction = 'in'"), 2, 'their messages are still stored');
is(scalar @{ to_user() }, 2, 'but get no automatic reply');
my (undef, $q) = $c->get('/api/queue');
is(scalar @{ $q->{conversations} }, 0, "the conversation left the counsellor's queue");
my $conv = q1('SELECT id FROM conversations');
($st) = $c->get("/api/conversations/$conv");
is($st, 404, 'nor can the counsellor open it by its id');
($st) = $c->post("/api/conversations/$conv/claim");
is($st, 409, 'or claim it');
($st) = $c->get("/api/contacts/$contact/case-record");
is($st, 404, 'or read the case record');
(undef, $q) = $s->get('/api/queue');
ok($q->{conversations}[0]{restricted}, 'the supervisor still sees it, marked');
(undef, $r) = $s->get("/api/contacts/$contact/case-record");
is($r->{restriction}{kind}, 'cooldown', 'the case record shows the cooldown');
is($r->{restriction}{reason}, '暴言の繰り返し', 'and, to the supervisor, why');
is(q1("SELECT count(*) FROM contact_restrictions WHERE reason::text LIKE '%暴言%'"), 0,
	'the reason is stored sealed');

($st) = $s->del("/api/contacts/$contact/restriction");
is($st, 200, 'lifted');
(undef, $q) = $c->get('/api/queue');
is(scalar @{ $q->{conversations} }, 1, "back in the counsellor's queue");
($st) = $s->del("/api/contacts/$contact/restriction");
is($st, 404, 'lifting again: 404');
($st) = $s->post("/api/contacts/$contact/restriction", { kind => 'block', reason => '脅迫' });
is($st, 200, 'a block');
ok(wait_until(10, sub { @{ to_user() } == 3 }), 'with its own notice');
like(to_user()->[2], qr/停止しました/, 'saying replies have stopped');
is(q1("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE action LIKE 'contact.%'"),
	'contact.restrict,contact.lift,contact.restrict', 'each step audited');
is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
