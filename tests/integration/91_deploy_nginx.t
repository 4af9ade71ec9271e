#!/usr/bin/perl
# The shipped nginx site in front of two madoguchid on one PostgreSQL, over
# HTTPS with a self-signed certificate: signed webhooks spread over
# keep-alive connections are each stored once and both instances take
# some; an instance stopped mid-stream loses no delivery (the rolling
# restart of an upgrade); each instance's console event stream, through
# nginx, hears a message that came through the other; the console paths
# answer only the desk's network (here 127.0.0.2) and see the client's
# address through X-Forwarded-For; /metrics is never public; the headers
# and the body cap are nginx's, the Content-Security-Policy madoguchid's.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256_base64);
use File::Temp qw(tempdir);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use Madoguchi::Test;
use Madoguchi::Console;

plan skip_all => 'nginx is not installed (Debian package nginx)'
	unless system('command -v nginx >/dev/null 2>&1') == 0;
plan skip_all => 'curl is not installed' unless system('command -v curl >/dev/null 2>&1') == 0;
# The console's allowed address: any 127/8 address is this machine.
plan skip_all => 'cannot bind 127.0.0.2'
	unless IO::Socket::INET->new(LocalAddr => '127.0.0.2', Listen => 1);

my $ROOT = abs_path('.');
my $D = "$ROOT/deploy";
# Under valgrind each webhook costs tens of milliseconds: fewer of them
# still spread over both instances and every connection.
my $N = $ENV{MADOGUCHI_WRAP} ? 40 : 200;

sub slurp { open(my $fh, '<', $_[0]) or die "$_[0]: $!"; local $/; <$fh> }
sub spew { open(my $fh, '>', $_[0]) or die "$_[0]: $!"; print $fh $_[1]; close $fh }

my $db = new_cluster();
$db->migrate;
my ($secret, $key) = (random_hex(16), random_hex(32));
my $https = free_port();
my %env = (MADOGUCHI_CONSOLE_TRUSTED_PROXIES => '127.0.0.1',
	MADOGUCHI_PUBLIC_URL => "https://localhost:$https");
my @d = map { start_daemon($db, secret => $secret, data_key => $key, env => \%env) } 1 .. 2;
my @port = map { $_->{url} =~ /:(\d+)$/ } @d;

# --- nginx, rendered from deploy/nginx with this test's ports and paths ---
my $dir = tempdir('nginx-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/$_" for qw(snippets logs ssl tmp);
system("cp $D/nginx/snippets/*.conf $dir/snippets/") == 0 or die;
# The desk's network, for this test: 127.0.0.2 only.
spew("$dir/snippets/madoguchi-console-access.conf", "allow 127.0.0.2;\ndeny all;\n");
my $ca = "$dir/ssl/fullchain.pem";
system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
	. " -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
	. " -keyout $dir/ssl/privkey.pem -out $ca 2>/dev/null") == 0 or die 'openssl req';
my ($http, $mon) = (free_port(), free_port());
my $site = slurp("$D/nginx/madoguchi.conf");
$site =~ s{/etc/ssl/madoguchi/}{$dir/ssl/}g;
$site =~ s{/var/log/nginx/}{$dir/logs/}g;
$site =~ s{^\s*listen \[::\]:.*\n}{}mg;
$site =~ s{listen 443 }{listen 127.0.0.1:$https }g;
$site =~ s{listen 80;}{listen 127.0.0.1:$http;}g;
$site =~ s{listen 127\.0\.0\.1:9180;}{listen 127.0.0.1:$mon;}g;
$site =~ s{127\.0\.0\.1:8081}{127.0.0.1:$port[0]}g or die 'no upstream 8081';
$site =~ s{127\.0\.0\.1:8082}{127.0.0.1:$port[1]}g or die 'no upstream 8082';
spew("$dir/site.conf", $site);
# As root, workers would otherwise run as nobody, shut out of the temp dir.
spew("$dir/nginx.conf", ($> == 0 ? "user root;\n" : '')
	. "daemon off;\nworker_processes 1;\npid $dir/nginx.pid;\nerror_log $dir/logs/error.log;\n"
	. "events { worker_connections 1024; }\nhttp {\n"
	. join('', map { "\t${_}_temp_path $dir/tmp/$_;\n" } qw(client_body proxy fastcgi uwsgi scgi))
	. "\tinclude $dir/site.conf;\n}\n");
my $nginx = fork // die;
if ($nginx == 0) {
	setpgrp(0, 0);
	open(STDOUT, '>>', "$dir/logs/stdout.log");
	open(STDERR, '>&', \*STDOUT);
	exec('nginx', '-p', "$dir/", '-c', "$dir/nginx.conf") or die "nginx: $!";
}
END {
	local $?;
	if ($nginx) { kill 'QUIT', $nginx; waitpid($nginx, 0) }
}
my $base = "https://127.0.0.1:$https";

# curl: (status, headers, body). Options: from (source address), header,
# data (a body), method.
sub curl {
	my ($url, %o) = @_;
	my @cmd = ('curl', '-s', '--cacert', $ca, '-D', '-', '--max-time', '20', $url);
	push @cmd, '--interface', $o{from} if $o{from};
	push @cmd, '-H', $_ for @{ $o{header} // [] };
	push @cmd, '-X', $o{method} if $o{method};
	if (defined $o{data}) {
		spew("$dir/tmp/body", $o{data});
		push @cmd, '--data-binary', "\@$dir/tmp/body";
	}
	open(my $fh, '-|', @cmd) or die "curl: $!";
	local $/;
	my $out = <$fh> // '';
	close $fh;
	my ($head, $body) = split /\r\n\r\n/, $out, 2;
	my ($status) = ($head // '') =~ m{^HTTP/\S+ (\d+)};
	return ($status // 0, $head // '', $body // '');
}
ok(wait_until(10, sub { (curl("$base/chat/"))[0] == 200 }), 'nginx serves the web chat over HTTPS')
	or diag slurp("$dir/logs/error.log");

# --- webhooks over keep-alive connections ------------------------------
# Each curl sends its share on one connection (--next keeps it), four at
# once; %{num_connects} is 0 for a request on a reused connection.
sub webhook_batch {
	my ($tag, $n, $conns) = @_;
	my @pids;
	for my $k (0 .. $conns - 1) {
		my $cfg = '';
		for my $i (grep { $_ % $conns == $k } 0 .. $n - 1) {
			my $body = json_encode(text_body("$tag $i", user => sprintf('U%032x', $i % 23)));
			spew("$dir/tmp/$tag-$i.json", $body);
			my $sig = hmac_sha256_base64($body, $secret) . '=';
			$cfg .= ($cfg ? "next\n" : '') . qq{url = "$base/webhook/line"\n}
				. qq{cacert = "$ca"\nsilent\noutput = "/dev/null"\n}
				. qq{header = "Content-Type: application/json"\n}
				. qq{header = "x-line-signature: $sig"\n}
				. qq{data-binary = "\@$dir/tmp/$tag-$i.json"\n}
				. qq{write-out = "%{http_code} %{num_connects}\\n"\n};
		}
		spew("$dir/tmp/$tag-$k.curl", $cfg);
		my $pid = fork // die;
		if ($pid == 0) {
			open(STDOUT, '>', "$dir/tmp/$tag-$k.out") or die;
			exec('curl', '-K', "$dir/tmp/$tag-$k.curl") or die;
		}
		push @pids, $pid;
	}
	waitpid($_, 0) for @pids;
	my (%codes, $connects);
	for my $k (0 .. $conns - 1) {
		for (split /\n/, slurp("$dir/tmp/$tag-$k.out")) {
			my ($code, $c) = split ' ';
			$codes{$code}++;
			$connects += $c;
		}
	}
	return (\%codes, $connects);
}

sub webhook_200 { $_[0]->metric('madoguchi_http_requests_total{path="/webhook/line",status="200"}') }

# --- console streams through nginx, opened before the traffic -----------
my $otp = staff_add($db, 'tanaka', 'supervisor', 'Tanaka');
my $c = console_signed_in($d[0], 'tanaka', $otp);
my $cookie = "madoguchi_session=$c->{cookie}";
is((curl("$base/api/queue", from => '127.0.0.2', header => ["Cookie: $cookie"]))[0], 200,
	"the console's API answers the desk's network through nginx");

# Streams are opened one at a time; each instance's stream gauge says where
# nginx sent it. Round robin alternates, so two or three will do.
my (%stream, @streams);
for my $n (1 .. 6) {
	last if $stream{0} && $stream{1};
	my $file = "$dir/tmp/events-$n";
	my @before = map { $_->metric('madoguchi_console_streams') } @d;
	my $pid = fork // die;
	if ($pid == 0) {
		setpgrp(0, 0);
		open(STDOUT, '>', $file) or die;
		exec('curl', '-sN', '--cacert', $ca, '--interface', '127.0.0.2', '-H', "Cookie: $cookie",
			'-H', 'Accept: text/event-stream', "$base/api/events") or die;
	}
	push @streams, $pid;
	my $which = wait_until(10, sub {
		for my $i (0, 1) {
			return $i + 1 if $d[$i]->metric('madoguchi_console_streams') > $before[$i];
		}
		return;
	});
	die 'a stream reached no instance' unless $which;
	wait_until(5, sub { -s $file && slurp($file) =~ /event: hello/ }) or die 'no hello';
	$stream{$which - 1} //= $file;
}
END { local $?; kill 'TERM', -$_ for @streams; waitpid($_, 0) for @streams }
ok($stream{0} && $stream{1}, 'a console event stream through nginx on each instance');

my ($codes, $connects) = webhook_batch('hook', $N, 4);
is_deeply($codes, { 200 => $N }, "$N signed webhooks through nginx over HTTPS: all 200");
is($connects, 4, 'over four keep-alive connections');
is($db->query("SELECT count(*) FROM messages WHERE direction = 'in'"), $N, 'each stored');
is($db->query('SELECT count(*) FROM webhook_events'), $N, 'once');
my @took = map { webhook_200($_) } @d;
ok($took[0] > 0 && $took[1] > 0, "both instances took some ($took[0] + $took[1])");
is($took[0] + $took[1], $N, 'and nginx sent none twice');

# --- a message through one instance, heard on the other's stream ---------
for my $via (0, 1) {
	my $other = 1 - $via;
	my $user = sprintf('Uaaaa%027d', $via);
	my $at = -s $stream{$other};
	is(signed_post($d[$via], text_body("instance $via", user => $user))->{status}, 200,
		"a message through instance $via");
	my $conv = $db->query("SELECT max(v.id) FROM conversations v JOIN contacts c"
		. " ON c.id = v.contact_id WHERE c.external_id = '$user'");
	ok(wait_until(5, sub {
		substr(slurp($stream{$other}), $at) =~ /event: inbound\ndata: [^\n]*\b$conv\b/
	}), "is heard at once on instance ${other}'s stream through nginx");
}

# --- the console's wall --------------------------------------------------
for my $path ('/api/queue', '/api/events', '/console/', '/', '/console') {
	is((curl("$base$path", from => '127.0.0.1', header => ["Cookie: $cookie"]))[0], 403,
		"$path: 403 outside the desk's network");
}
is((curl("$base/console/", from => '127.0.0.2'))[0], 200, 'the console page inside it');
for my $path ('/metrics', '/healthz', '/readyz', '/nothing') {
	is((curl("$base$path", from => '127.0.0.2'))[0], 404, "$path: not public");
}
my ($st, undef, $body) = curl("http://127.0.0.1:$mon/8081/metrics");
ok($st == 200 && $body =~ /^madoguchi_http_requests_total/m,
	'the metrics of each instance on the monitoring server');

# The client's address reaches madoguchid through X-Forwarded-For, and a
# client's own header cannot pose as another.
($st) = curl("$base/api/session", from => '127.0.0.2', method => 'POST',
	header => ['Content-Type: application/json', 'X-Forwarded-For: 10.9.9.9'],
	data => '{"login": "tanaka", "password": "wrong"}');
is($st, 401, 'a failed sign-in through nginx');
is($db->query(q{SELECT host(ip) FROM audit_log WHERE action = 'session.sign_in_failed'
	ORDER BY id DESC LIMIT 1}), '127.0.0.2', "recorded with the client's address");

# --- headers, the body cap, plain HTTP ---------------------------------
my ($head);
($st, $head) = curl("$base/chat/");
like($head, qr/^strict-transport-security: max-age=\d+/mi, 'HSTS');
my @csp = $head =~ /^content-security-policy: (.*?)\r?$/mgi;
my $own = $d[0]->get('/chat/')->{headers}{'content-security-policy'};
is_deeply(\@csp, [$own], "madoguchid's Content-Security-Policy, alone");
my @rp = $head =~ /^referrer-policy: (.*?)\r?$/mgi;
is(scalar @rp, 1, 'one Referrer-Policy');
($st, $head) = curl("$base/webhook/line", method => 'GET');
like($head, qr/^x-content-type-options: nosniff/mi, 'nosniff where madoguchid sets none');
($st) = curl("$base/webhook/line", header => ['Content-Type: application/json'],
	data => '{"x":"' . ('a' x (1024 * 1024)) . '"}');
is($st, 413, 'a body over 1 MiB: 413 at nginx');
($st, $head) = curl("http://127.0.0.1:$http/chat/");
ok($st == 301 && $head =~ m{^location: https://}mi, 'plain HTTP is sent to HTTPS');

# --- a rolling restart: one instance stops while deliveries keep coming --
# madoguchid stops accepting at SIGTERM and drains; nginx sends the next
# deliveries (and one answered 500 while it drained) to the other.
my $stopper = fork // die;
if ($stopper == 0) { sleep 0.05; kill 'TERM', $d[0]{pid}; POSIX::_exit(0) }
($codes) = webhook_batch('restart', $N / 2, 4);
waitpid($stopper, 0);
is_deeply($codes, { 200 => $N / 2 }, 'while an instance stops, every delivery is 200');
is($d[0]->stop, 0, "the stopped instance exited cleanly") or diag($d[0]->log_text);
is($db->query("SELECT count(*) FROM messages WHERE direction = 'in'"), 1.5 * $N + 2,
	'and stored, once each');
$d[0] = start_daemon($db, port => $port[0], secret => $secret, data_key => $key, env => \%env);
# nginx leaves a refusing server out for fail_timeout (5 s), then tries it.
my ($round, %after) = (0);
ok(wait_until(20, sub {
	my ($c) = webhook_batch('after' . ++$round, 4, 1);
	$after{$_} += $c->{$_} for keys %$c;
	sleep 0.5;
	return webhook_200($d[0]) > 0;
}), 'the restarted instance takes deliveries again');
is_deeply(\%after, { 200 => 4 * $round }, 'and every delivery meanwhile was 200');

is($_->stop, 0, 'madoguchid stops cleanly') for @d;
done_testing();
