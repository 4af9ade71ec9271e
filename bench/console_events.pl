#!/usr/bin/perl
# How long a message takes from the webhook to the consoles: two madoguchid
# on one PostgreSQL (durable commits), CONSOLES signed-in event streams on
# the second process, MESSAGES webhooks sent one at a time to the first.
# For each, the time from sending the webhook to each stream's "inbound"
# event (an upper bound on commit-to-browser: it includes the webhook's own
# work and commit), and from LINE's 200 (after the commit) to the event.
# Then the same while LOAD more webhooks a second arrive alongside.
#
#   perl bench/console_events.pl            # about a minute
#   CONSOLES=50 MESSAGES=500 perl bench/console_events.pl
# Target (issue 5): p50 under 100 ms.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Digest::SHA;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use Madoguchi::Test;
use Madoguchi::Console;

my $consoles = $ENV{CONSOLES} // 20;
my $messages = $ENV{MESSAGES} // 200;
my $load = $ENV{LOAD} // 200;	# webhooks a second in the loaded round
binmode STDOUT, ':encoding(UTF-8)';

my $db = new_cluster();
$db->migrate;
my $key = random_hex(32);
my $secret = random_hex(16);
my $d1 = start_daemon($db, secret => $secret, data_key => $key,
	env => { MADOGUCHI_LOG_LEVEL => 'warn' });
my $d2 = start_daemon($db, secret => $secret, data_key => $key,
	env => { MADOGUCHI_LOG_LEVEL => 'warn' });
my @streams;
for my $i (1 .. $consoles) {
	my $c = console_signed_in($d2, "c$i", staff_add($db, "c$i", 'counsellor'));
	$c->events_open;
	my ($hello) = $c->events_next(5);
	die "no hello on stream $i" unless $hello && $hello eq 'hello';
	push @streams, $c;
}

my %load_conv;	# conversations of the background senders

# Sends a signed webhook without waiting: the socket, to read the answer.
sub post_async {
	my ($body) = @_;
	my $json = json_encode($body);
	my $sig = Digest::SHA::hmac_sha256_base64($json, $secret) . '=';
	my ($port) = $d1->{url} =~ /:(\d+)$/;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
		or die "connect: $!";
	print $sock "POST /webhook/line HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		. "Content-Type: application/json\r\nx-line-signature: $sig\r\n"
		. "Content-Length: " . length($json) . "\r\n\r\n$json";
	return $sock;
}

# One measured message: when it was sent, when LINE would have had its 200,
# and when each stream heard of it (an inbound event naming a conversation
# none of the background senders has).
sub measure {
	my ($i) = @_;
	my $t0 = time;
	my $web = post_async(text_body("計測 $i", user => sprintf('U%032x', $i)));
	my ($t_ok, %at);
	my $end = $t0 + 5;
	while ((!$t_ok || keys %at < @streams) && time < $end) {
		my @socks = map { $_->{events}{sock} } @streams;
		push @socks, $web unless $t_ok;
		for my $sock (IO::Select->new(@socks)->can_read(0.05)) {
			my $now = time;
			if (!$t_ok && $sock == $web) {
				my $answer = '';
				sysread($web, $answer, 4096);
				die "webhook: $answer" unless $answer =~ m{^HTTP/1\.1 200};
				$t_ok = $now;
				next;
			}
			my ($k) = grep { $streams[$_]{events}{sock} == $sock } 0 .. $#streams;
			my $e = $streams[$k]{events};
			sysread($sock, my $chunk, 65536) or next;
			$e->{buf} .= $chunk;
			while ($e->{buf} =~ s/event: inbound\ndata: ([^\n]*)\n\n//) {
				my $ids = eval { json_decode($1)->{conversations} } // [];
				$at{$k} //= $now if grep { !$load_conv{$_} } @$ids;
			}
			$e->{buf} =~ s/^.*\n\n//s;	# other events
		}
	}
	close $web;
	return ($t0, $t_ok // $t0, values %at);
}

sub pct {
	my ($p, @v) = @_;
	return -1 unless @v;
	@v = sort { $a <=> $b } @v;
	return $v[int($p / 100 * $#v + 0.5)] * 1000;
}

# Background webhooks at a steady rate from a child process.
sub start_load {
	my ($rate) = @_;
	my $pid = fork // die "fork: $!";
	return $pid if $pid;
	my $n = 0;
	my $t0 = time;
	while (1) {
		signed_post($d1, text_body("負荷 $n", user => sprintf('U%032x', 1_000_000 + $n % 500)));
		$n++;
		my $ahead = $t0 + $n / $rate - time;
		sleep $ahead if $ahead > 0;
	}
}

sub round {
	my ($label) = @_;
	my (@from_send, @from_ok, $missing);
	for my $i (1 .. $messages) {
		my ($t0, $t_ok, @at) = measure($label =~ /idle/ ? $i : $messages + $i);
		$missing += @streams - @at;
		push @from_send, map { $_ - $t0 } @at;
		push @from_ok, map { $_ - $t_ok } @at;
		sleep 0.02;
	}
	printf "%-26s %6d %9.1f %9.1f %9.1f %9.1f %8d\n", $label, scalar @from_send,
		pct(50, @from_send), pct(90, @from_send), pct(99, @from_send),
		pct(50, @from_ok), $missing // 0;
}

# The background senders' conversations exist before anything is measured.
for my $n (0 .. 499) {
	signed_post($d1, text_body("準備 $n", user => sprintf('U%032x', 1_000_000 + $n)));
}
$load_conv{$_} = 1 for split /\n/, $db->query(
	"SELECT c.id FROM conversations c JOIN contacts t ON t.id = c.contact_id"
	. " WHERE t.external_id >= 'U0000000000000000000000000f4240'");
# Drain what those announced.
$_->events_next(0.2) for @streams;
$_->{events}{buf} = '' for @streams;

printf "%d consoles on process 2, %d messages through process 1\n", $consoles, $messages;
printf "%-26s %6s %9s %9s %9s %9s %8s\n", 'round', 'events', 'p50 ms', 'p90 ms',
	'p99 ms', 'p50 ms*', 'missed';
round('idle');
my $pid = start_load($load);
sleep 1;
round("with $load webhooks/s");
kill 'KILL', $pid;
waitpid($pid, 0);
print "ms: from sending the webhook to the event; ms*: from LINE's 200 (after the commit).\n";
$_->stop for $d1, $d2;
