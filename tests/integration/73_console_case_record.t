#!/usr/bin/perl
# Case records: attributes only with a consent date, codes from the desk's
# lists, sealed free text, two editors never overwriting each other, who
# may see a record, and the audit of every view and change.
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
my $d = start_daemon($db, env => { MADOGUCHI_NOW => '2026-11-24T14:00:00+09:00' });
sub q1 { $db->query($_[0]) }
my $a = console_signed_in($d, 'aoki', staff_add($db, 'aoki', 'counsellor', '青木'));
my $b = console_signed_in($d, 'baba', staff_add($db, 'baba', 'counsellor', '馬場'));
my $s = console_signed_in($d, 'sato', staff_add($db, 'sato', 'supervisor', '佐藤'));

is(signed_post($d, text_body('相談させてください', user => 'U' . ('3' x 32)))->{status}, 200,
	'a message');
my $conv = q1('SELECT id FROM conversations');
my $contact = q1('SELECT contact_id FROM conversations');
my ($st, $r) = $b->get("/api/contacts/$contact/case-record");
is($st, 200, 'an unclaimed conversation: any counsellor may read the record');
is($r->{version}, 0, 'empty so far');
is($r->{case_number}, sprintf('No.%06d', $contact), 'with the case number');
$a->post("/api/conversations/$conv/claim");
($st) = $b->get("/api/contacts/$contact/case-record");
is($st, 404, 'once another holds it: not for this counsellor');
($st) = $s->get("/api/contacts/$contact/case-record");
is($st, 200, 'a supervisor sees it');

my %record = (version => 0,
	attributes => { age_band => { value => '16_18', consent_on => '2026-11-24' },
		family => { value => 'parent', consent_on => '2026-11-24' } },
	categories => ['care', 'school'],
	summary => '母親の介護と進学の両立に悩んでいる。');
($st, $r) = $a->put("/api/contacts/$contact/case-record", \%record);
is($st, 200, 'the holder writes the record');
is($r->{version}, 1, 'version 1');
($st, $r) = $a->put("/api/contacts/$contact/case-record", \%record);
is($st, 409, 'an edit from an old version: 409');
is($r->{error}, 'stale', 'stale');
($st, $r) = $a->put("/api/contacts/$contact/case-record", { %record, version => 1,
	attributes => { gender => { value => 'female' } } });
is($st, 400, 'an attribute without the date of consent: 400');
is($r->{error}, 'consent', 'consent');
($st, $r) = $a->put("/api/contacts/$contact/case-record", { %record, version => 1,
	categories => ['gossip'] });
is($st, 400, 'a category not in the taxonomy: 400');
is($r->{error}, 'invalid_code', 'invalid_code');
($st, $r) = $a->put("/api/contacts/$contact/case-record", { %record, version => 1,
	attributes => { age_band => { value => '99', consent_on => '2026-11-24' } } });
is($r->{error}, 'invalid_code', 'an age band not on the list: invalid_code');
is(q1("SELECT count(*) FROM case_records WHERE summary::text LIKE '%介護%'"), 0,
	'the summary is stored sealed');

($st, $r) = $a->put("/api/contacts/$contact/case-record", { %record, version => 1,
	attributes => { age_band => { value => '16_18', consent_on => '2026-13-45' } } });
is($st, 400, 'an impossible consent date: 400, not a database error');
($st) = $a->put("/api/contacts/$contact/case-record", { %record, version => 1, categories => ['care', ''] });
is($st, 400, 'an empty category: 400');
($st) = $a->post("/api/contacts/$contact/referrals", { agency => 'care', referred_on => '2026-02-30' });
is($st, 400, 'a referral on 30 February: 400');
($st) = $a->put("/api/contacts/$contact/nickname", { nickname => 'はなさん' });
is($st, 200, 'a nickname');
my (undef, $q) = $a->get('/api/queue');
is($q->{conversations}[0]{contact}{nickname}, 'はなさん', 'the queue shows it');
($st, $r) = $a->post("/api/contacts/$contact/referrals", { agency => 'nowhere', referred_on => '2026-11-24' });
is($st, 400, 'a referral to an agency not on the list: 400');
($st) = $a->post("/api/contacts/$contact/referrals",
	{ agency => 'care', referred_on => '2026-11-24', outcome => 'pending', note => '地域包括支援センターを紹介' });
is($st, 200, 'a referral');
($st, $r) = $a->post("/api/contacts/$contact/follow-ups", { plan => '来週、進路の話を聞く', due_on => '2026-12-01' });
is($st, 200, 'a follow-up plan');
my $fu = $r->{id};
($st) = $b->post("/api/follow-ups/$fu/done");
is($st, 404, "another counsellor cannot mark it done");
($st) = $a->post("/api/follow-ups/$fu/done");
is($st, 200, 'the holder marks it done');

($st, $r) = $a->get("/api/contacts/$contact/case-record");
is($r->{version}, 1, 'read back: version 1');
is($r->{attributes}{age_band}{value}, '16_18', 'the age band');
is($r->{attributes}{age_band}{consent_on}, '2026-11-24', 'with its consent date');
is($r->{attributes}{gender}{value}, undef, 'no gender given');
is_deeply($r->{categories}, ['care', 'school'], 'the categories');
is($r->{summary}, '母親の介護と進学の両立に悩んでいる。', 'the summary');
is($r->{updated_by}, '青木', 'who wrote it');
is($r->{referrals}[0]{note}, '地域包括支援センターを紹介', 'the referral, its note opened');
is($r->{follow_ups}[0]{plan}, '来週、進路の話を聞く', 'the follow-up plan');
ok($r->{follow_ups}[0]{done_at}, 'done, with when');
is(scalar @{ $r->{conversations} }, 1, 'and the conversations');

my (undef, $desk) = $a->get('/api/desk');
ok((grep { $_->{code} eq 'user_ended' } @{ $desk->{close_reasons} }), 'the desk\'s close reasons');
ok((grep { $_->{ja} eq '家族の世話' } @{ $desk->{case_categories} }), 'and categories, in Japanese');
is($desk->{session_soft_limit_minutes}, 50, 'and the soft session limit');

is(q1("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE object_type = 'contact'"),
	'case_record.view,case_record.view,case_record.edit,contact.nickname,referral.add,'
	. 'follow_up.add,follow_up.done,case_record.view', 'every view and change of the record is audited');
is(q1("SELECT count(*) FROM audit_log WHERE object_type = 'contact' AND staff_id IS NULL"), 0,
	'each with who');
is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
