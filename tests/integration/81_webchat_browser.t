#!/usr/bin/perl
# The web chat in a real phone-sized browser (issue 7): Debian's chromium
# driven by playwright-core (tests/browser/webchat.mjs), against the real
# daemon, PostgreSQL and the simulated LINE, the desk in strict mode. A
# person follows the account and writes on LINE; the desk answers with a
# single-use link as a button; the browser opens it, accepts the terms and
# writes; a counsellor answers from the console API while the page is open
# and the reply shows live. LINE carries only templates: neither the reply
# nor what was written in the web chat reaches the simulator. The page asks
# nothing of any other origin and breaks no CSP rule; the link opens once;
# ending the consultation wipes the page and the session. Screenshots go to
# build/screenshots/webchat-*.png.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use IO::Handle;
use IPC::Open2;
use Time::HiRes qw(sleep time);
use Madoguchi::Test;
use Madoguchi::Console;
use Madoguchi::Browser;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my ($dir, $shots) = browser_ready();
unlink glob("$shots/webchat-*.png");

my $desk = new_desk();
my ($db, $sim, $port) = @$desk{qw(db sim port)};
sub q1 { $db->query($_[0]) }
sub cli {
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	local $ENV{MADOGUCHI_PUBLIC_URL} = "http://127.0.0.1:$port/";
	my $bin = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
	return scalar `$bin/madoguchi @_ 2>&1`;
}
like(cli(q{settings set line_mode '"strict"' --by admin}), qr/changed by cli:admin/,
	'the desk turns strict');
# A reply the page did not show within 2 s would be announced on LINE (a
# minute by default): this one is shown, so LINE must stay silent.
like(cli(q{settings set reply_waiting_after_seconds 2 --by admin}), qr/changed by/,
	'a reply unseen for 2 s is announced on LINE');
# A Tuesday afternoon, the desk open. The session cookie stays Secure:
# chromium keeps Secure cookies of http://127.0.0.1, a trustworthy origin.
my $d = $desk->daemon(MADOGUCHI_NOW => '2026-11-24T14:00:00+09:00',
	MADOGUCHI_PUBLIC_URL => "http://127.0.0.1:$port/");
my $kato = console_signed_in($d, 'kato', staff_add($db, 'kato', 'counsellor', '加藤'));

my $U = 'U' . ('7e' x 16);
my $LINE_TEXT = 'LINEから書いています。話を聞いてほしいです';
my $WEB_TEXT = 'Webチャットで書いています。眠れない日が続いています';
my $REPLY = '加藤です。眠れない日が続いているのですね、お話を聞かせてください。';

# The hand-off links the simulator delivered to U: each request's last
# message, when it is a buttons template.
sub buttons_to_u {
	return [ map { $_->{body}{messages}[-1] } grep { ($_->{body}{messages}[-1]{type} // '') eq 'template' }
		@{ $sim->delivered("?user=$U") } ];
}
sub uri_of { $_[0]{template}{actions}[0]{uri} }

$sim->send({ user => $U, type => 'follow' });
ok(wait_until(10, sub { @{ $sim->delivered("?user=$U") } == 1 }), 'the person follows: a greeting on LINE');
my $greeting = $sim->delivered("?user=$U")->[0]{body}{messages};
is($greeting->[-1]{template}{type}, 'buttons', 'the greeting comes with a button');
my $n = @{ $sim->delivered("?user=$U") };
$sim->send({ user => $U, type => 'text', text => $LINE_TEXT });
ok(wait_until(10, sub { q1("SELECT count(*) FROM messages WHERE direction = 'in'") == 1 }),
	'the person writes on LINE: stored');
ok(wait_until(10, sub { @{ $sim->delivered("?user=$U") } > $n }), 'the desk answers it on LINE');
my $buttons = buttons_to_u();
my $last = $buttons->[-1];
is($last->{template}{type}, 'buttons', "the simulator's record holds the hand-off: a buttons template");
my $link = uri_of($last);
like($link, qr{^http://127\.0\.0\.1:$port/chat/link/[A-Za-z0-9_-]{43}$}, 'whose action is a link to the web chat');
note('hand-off requests to U: ' . scalar(@$buttons) . '; LINE requests in all: '
	. scalar(@{ $sim->delivered("?user=$U") }));

# The browser side. Each line it prints is a result ("ok <name>",
# "not ok <name>: <why>") or a note ("info <text>"); "wait reply" asks the
# counsellor to answer now, and the answer is "go" on its input.
my $conv;
my ($replied_at, $line_before);
{
	local $ENV{BASE_URL} = "http://127.0.0.1:$port";
	local $ENV{SHOTS} = $shots;
	my %texts = (LINK => $link, LINE_TEXT => $LINE_TEXT, WEB_TEXT => $WEB_TEXT, REPLY => $REPLY);
	local @ENV{keys %texts} = map { my $v = $_; utf8::encode($v); $v } values %texts;
	my $pid = open2(my $out, my $in, 'node', "$dir/webchat.mjs") or die "node: $!";
	binmode $out, ':encoding(UTF-8)';
	$in->autoflush(1);
	while (my $line = <$out>) {
		chomp $line;
		if ($line =~ /^ok (.*)$/) { pass($1); }
		elsif ($line =~ /^not ok (.*)$/) { fail($1); }
		elsif ($line =~ /^info (.*)$/) { note($1); }
		elsif ($line eq 'wait reply') {
			# The person's web-chat message is on the console, as the
			# conversation's latest.
			my (undef, $q) = $kato->get('/api/queue');
			my ($c) = grep { ($_->{preview}{text} // '') eq $WEB_TEXT } @{ $q->{conversations} // [] };
			ok($c, "the web chat's message is in the counsellors' queue");
			ok($c && $c->{in_webchat}, 'which says the person is in the web chat');
			$conv = $c ? $c->{id} : q1('SELECT max(id) FROM conversations');
			my ($st) = $kato->post("/api/conversations/$conv/claim");
			is($st, 200, 'the counsellor claims the conversation');
			($st, my $r) = $kato->post("/api/conversations/$conv/messages", { text => $REPLY });
			is($st, 200, 'and answers from the console');
			$replied_at = time;
			$line_before = @{ $sim->delivered() };
			print $in "go\n";
		}
		else { note($line); }
	}
	close $in;
	close $out;
	waitpid($pid, 0);
	is($? >> 8, 0, 'the browser script finished');
}

# Well past reply_waiting_after_seconds: the page showed the reply, so LINE
# carried no notice of it.
sleep(6 - (time - $replied_at)) if defined $replied_at && time - $replied_at < 6;
is(q1("SELECT count(*) FROM messages WHERE direction = 'out' AND webchat_seen_at IS NOT NULL"), 1,
	'the reply counts as seen: the open page was shown it');
is(scalar(grep { /お返事が届いています/ } map { strings($_->{body}) } @{ $sim->delivered() }), 0,
	'so LINE carried no "a reply is waiting" notice');
is(scalar @{ $sim->delivered() }, $line_before, 'nor anything else after the reply');

# LINE carried templates only.
is(q1("SELECT via || ',' || delivery FROM messages WHERE direction = 'out'"), 'webchat,sent',
	'the reply was stored for the web chat, delivered');
is(q1("SELECT count(*) FROM messages WHERE direction = 'in' AND via = 'webchat'"), 1,
	'the message written in the browser was stored once, as from the web chat');
my $sent = @{ $sim->delivered() };
is(q1("SELECT count(*) FILTER (WHERE state = 'sent') || ':' || count(*) FILTER (WHERE template IS NULL)"
	. " FROM outbox"), "$sent:0",
	"every request LINE received came from the outbox, each a template ($sent)");
my $raw = $sim->get('/sim/messages');
is($raw->{status}, 200, "the simulator's record of LINE calls");
my $requests = json_decode($raw->{content})->{requests};
ok(@$requests >= 2, 'holds what the desk sent on LINE (' . scalar(@$requests) . ' requests: the greeting with its button, the busy reply)');
# Each body as sent (raw bytes, any \u escapes) and every string in it
# once decoded: the check finds what is there (the greeting), so it can
# find the others.
sub strings {
	my ($v) = @_;
	return ref $v eq 'HASH' ? map { strings($_) } values %$v
		: ref $v eq 'ARRAY' ? map { strings($_) } @$v : defined $v ? ($v) : ();
}
sub in_raw {
	my ($text) = @_;
	my $bytes = $text;
	utf8::encode($bytes);
	my $esc = join '', map { sprintf '\\u%04x', ord } split //, $text;
	return index($raw->{content}, $bytes) >= 0 || index(lc $raw->{content}, $esc) >= 0;
}
sub in_decoded {
	my ($text) = @_;
	return scalar grep { index($_, $text) >= 0 } map { strings($_) } @$requests;
}
sub in_record { in_raw($_[0]) || in_decoded($_[0]) }
ok(in_decoded($greeting->[0]{text}), 'the search finds the greeting in the decoded record (it works)');
ok(in_raw('友だち追加ありがとうございます'), 'and in the raw bytes');
ok(!in_record($REPLY), "no request to LINE holds the counsellor's reply");
ok(!in_record($WEB_TEXT), 'nor what the person wrote in the web chat');
ok(!in_record('眠れない'), 'nor any part of either');

is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
