# Madoguchi::Test - what the integration tests share: a throwaway PostgreSQL
# cluster, the real madoguchid and the LINE simulator on free ports, signed
# webhook bodies, and queries. Core Perl only (HTTP::Tiny, JSON::PP,
# Digest::SHA), so a fresh Debian machine runs it as is.
#
# Set MADOGUCHI_BIN_DIR to test another build (the sanitizer one) and
# MADOGUCHI_WRAP to run the daemon under a tool (valgrind).
package Madoguchi::Test;

use strict;
use warnings;
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256_base64);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use Exporter 'import';

our @EXPORT = qw(new_cluster start_daemon start_sim signed_post text_body
	event_body wait_until json_decode json_encode free_port random_hex new_desk);

my $ROOT = abs_path(__FILE__ =~ s{tests/lib/Madoguchi/Test\.pm$}{}r || '.');
my $BIN = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
$BIN = "$ROOT/$BIN" unless $BIN =~ m{^/};
my $JSON = JSON::PP->new->canonical->utf8;
my $seq = 0;
my (@clusters, @processes);

# END blocks run last-defined first, so this one runs before File::Temp's
# removes the temporary directories: nothing is left running without them.
END {
	local $?;	# the exit status is Test::More's to set, not pg.sh's
	$_->stop(5) for grep { defined } @processes;
	$_->stop_quietly for grep { defined } @clusters;
}

sub json_decode { $JSON->decode($_[0]) }
sub json_encode { $JSON->encode($_[0]) }

# A port for a listener started later. Drawn below the kernel's ephemeral
# range: a port the kernel handed out (LocalPort 0) is free again once
# probed, and any outgoing connection may take it as its source port before
# the daemon binds it (CI saw exactly that under valgrind's slow start).
my %ports_given;
sub free_port {
	my $low = 32768;
	if (open(my $fh, '<', '/proc/sys/net/ipv4/ip_local_port_range')) {
		($low) = split ' ', scalar <$fh>;
	}
	my $first = 10000;
	$low > $first + 1000 or die "ephemeral ports start at $low: no room below";
	for (1 .. 200) {
		my $port = $first + int rand($low - $first);
		next if $ports_given{$port};
		my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
			LocalPort => $port, ReuseAddr => 1) or next;
		close $s;
		$ports_given{$port} = 1;
		return $port;
	}
	die "no free port below $low";
}

sub wait_until {
	my ($timeout, $check) = @_;
	my $end = time + $timeout;
	while (time < $end) {
		my $v = $check->();
		return $v if $v;
		sleep 0.05;
	}
	return;
}

# ---- PostgreSQL --------------------------------------------------------

sub new_cluster {
	my $dir = tempdir('madoguchi-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	chmod 0755, $dir;
	# Tests measure behaviour, not disks: no fsync in throwaway clusters.
	local $ENV{PG_EXTRA_CONF} = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off";
	system("$ROOT/scripts/pg.sh", 'start', "$dir/pg", 'madoguchi') == 0
		or die "cannot start PostgreSQL in $dir";
	my $self = bless { dir => $dir, conninfo => "host=$dir/pg/sock dbname=madoguchi user=madoguchi" },
		'Madoguchi::Test::Cluster';
	push @clusters, $self;
	return $self;
}

package Madoguchi::Test::Cluster;

sub conninfo { $_[0]{conninfo} }
sub dir { $_[0]{dir} }

# One value (first column of the first row), or all rows as arrays.
sub query {
	my ($self, $sql) = @_;
	utf8::encode($sql) if utf8::is_utf8($sql);
	open(my $fh, '-|', 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
		'-F', "\t", '-d', $self->{conninfo}, '-c', $sql) or die "psql: $!";
	local $/;
	my $out = <$fh>;
	close $fh or die "psql failed: $sql";
	$out =~ s/\n+\z//;
	return $out;
}

# New desks start strict (LINE as the doorway only); the tests written for
# the consultation on LINE itself run their desk direct unless they ask.
sub migrate {
	my ($self, %opt) = @_;
	local $ENV{MADOGUCHI_DATABASE_URL} = $self->{conninfo};
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	my $out = `$BIN/madoguchi migrate 2>&1`;
	die "migrate failed: $out" if $?;
	$self->query(q{UPDATE settings SET value = '"direct"'}
		. q{ WHERE key = 'line_mode' AND channel_id IS NULL})
		unless ($opt{line_mode} // 'direct') eq 'strict';
	return $out;
}

sub stop {
	my ($self) = @_;
	system("$ROOT/scripts/pg.sh", 'stop', "$self->{dir}/pg") == 0 or die 'pg stop';
}

sub start {
	my ($self) = @_;
	system("$ROOT/scripts/pg.sh", 'start', "$self->{dir}/pg", 'madoguchi') == 0
		or die 'pg start';
}

sub stop_quietly {
	my ($self) = @_;
	return unless $self->{dir} && -d "$self->{dir}/pg/data";
	system("$ROOT/scripts/pg.sh stop '$self->{dir}/pg' >/dev/null 2>&1");
}

sub DESTROY { local $?; $_[0]->stop_quietly }

package Madoguchi::Test;

# ---- processes ----------------------------------------------------------

sub spawn {
	my ($log, $env, @cmd) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		$ENV{$_} = $env->{$_} for keys %$env;
		open(STDOUT, '>>', $log) or die;
		open(STDERR, '>&', \*STDOUT) or die;
		setpgrp(0, 0);
		exec(@cmd) or die "exec $cmd[0]: $!";
	}
	return $pid;
}

sub write_file {
	my ($path, $content) = @_;
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh $content;
	close $fh;
	chmod 0600, $path;
	return $path;
}

sub random_hex { join '', map { sprintf '%02x', int rand 256 } 1 .. $_[0] }

# Starts madoguchid against the cluster; returns a handle with url, secret,
# log, and stop() that returns the exit status (0 = clean and leak-free
# under the sanitizers and valgrind).
sub start_daemon {
	my ($cluster, %opt) = @_;
	my $dir = tempdir('madoguchid-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $port = $opt{port} // free_port();
	my $secret = $opt{secret} // random_hex(16);
	my %env = (
		MADOGUCHI_CONFIG => '/dev/null',
		MADOGUCHI_LISTEN => "127.0.0.1:$port",
		MADOGUCHI_DATABASE_URL => $cluster->conninfo,
		MADOGUCHI_CHANNEL_SECRET_FILE => write_file("$dir/secret", "$secret\n"),
		MADOGUCHI_ACCESS_TOKEN_FILE => write_file("$dir/token", $opt{token} // random_hex(16)),
		MADOGUCHI_DATA_KEY_FILE => write_file("$dir/key",
			'1:' . ($opt{data_key} // random_hex(32)) . "\n"),
		MADOGUCHI_LOG_LEVEL => 'debug',
		MADOGUCHI_LINE_API_BASE => $opt{line_api} // 'http://127.0.0.1:9',
		%{ $opt{env} // {} },
	);
	my @wrap = split ' ', ($ENV{MADOGUCHI_WRAP} // '');
	my $log = "$dir/madoguchid.log";
	my $pid = spawn($log, \%env, @wrap, "$BIN/madoguchid");
	my $self = bless { pid => $pid, url => "http://127.0.0.1:$port", secret => $secret,
		log => $log, dir => $dir, env => \%env }, 'Madoguchi::Test::Daemon';
	push @processes, $self;
	my $slow = @wrap ? 60 : 10;
	wait_until($slow, sub { $self->get('/healthz')->{status} == 200 })
		or die "madoguchid did not start:\n" . $self->log_text;
	unless ($opt{not_ready_ok}) {
		wait_until($slow, sub { $self->get('/readyz')->{status} == 200 })
			or die "madoguchid not ready:\n" . $self->log_text;
	}
	return $self;
}

# A migrated cluster and the simulated LINE, with secrets and a port fixed
# for madoguchid, so $desk->daemon(ENV) can start it again (on another test
# clock, say) and still read what it stored.
sub new_desk {
	my $db = new_cluster();
	$db->migrate;
	my $port = free_port();
	my $desk = bless { db => $db, port => $port, secret => random_hex(16),
		token => random_hex(16), data_key => random_hex(32) }, 'Madoguchi::Test::Desk';
	$desk->{sim} = start_sim(secret => $desk->{secret}, token => $desk->{token},
		webhook_url => "http://127.0.0.1:$port/webhook/line");
	return $desk;
}

sub start_sim {
	my (%opt) = @_;
	my $dir = tempdir('linesim-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $port = free_port();
	my $log = "$dir/linesim.log";
	my $pid = spawn($log, {}, "$BIN/linesim", 'serve',
		'--listen', "127.0.0.1:$port",
		'--access-token-file', write_file("$dir/token", $opt{token} // random_hex(16)),
		'--channel-secret-file', write_file("$dir/secret", "$opt{secret}\n"),
		'--webhook-url', $opt{webhook_url}, @{ $opt{args} // [] });
	my $self = bless { pid => $pid, url => "http://127.0.0.1:$port", log => $log },
		'Madoguchi::Test::Sim';
	push @processes, $self;
	wait_until(10, sub { $self->get('/sim/messages')->{status} == 200 })
		or die "linesim did not start";
	return $self;
}

# ---- webhook bodies -----------------------------------------------------

sub event_id { sprintf '01TEST%06d%014d', $$ % 1000000, ++$seq }

sub event_body {
	my (%e) = @_;
	my $user = delete $e{user} // 'U4f3e2d1c0b9a89786756453423120f1e';
	my $event = {
		type => 'message', mode => 'active', timestamp => int(time * 1000),
		source => { type => 'user', userId => $user },
		webhookEventId => event_id(),
		deliveryContext => { isRedelivery => JSON::PP::false },
		%e,
	};
	return { destination => 'U0123456789abcdef0123456789abcdef', events => [$event] };
}

sub text_body {
	my ($text, %e) = @_;
	return event_body(replyToken => random_hex(16), message => {
		type => 'text', id => sprintf('%018d', ++$seq), quoteToken => 'q', text => $text },
		%e);
}

# POST a body (hash: encoded here; string: sent as is) signed with secret.
sub signed_post {
	my ($daemon, $body, %opt) = @_;
	$body = json_encode($body) if ref $body;
	my $sig = hmac_sha256_base64($body, $daemon->{secret}) . '=';
	$sig = $opt{signature} if exists $opt{signature};
	my %h = ('Content-Type' => $opt{content_type} // 'application/json; charset=utf-8');
	$h{'x-line-signature'} = $sig if defined $sig;
	return HTTP::Tiny->new(timeout => 30)->request($opt{method} // 'POST',
		$daemon->{url} . ($opt{path} // '/webhook/line'), { headers => \%h, content => $body });
}

package Madoguchi::Test::Process;

sub get {
	my ($self, $path) = @_;
	return HTTP::Tiny->new(timeout => 10)->get($self->{url} . $path);
}

sub post_json {
	my ($self, $path, $data) = @_;
	return HTTP::Tiny->new(timeout => 30)->request('POST', $self->{url} . $path,
		{ headers => { 'Content-Type' => 'application/json' },
		  content => Madoguchi::Test::json_encode($data) });
}

sub log_text {
	my ($self) = @_;
	open(my $fh, '<', $self->{log}) or return '';
	local $/;
	return <$fh>;
}

# SIGTERM, then the exit status (or 'killed' after the timeout).
sub stop {
	my ($self, $timeout) = @_;
	return $self->{status} if defined $self->{status};
	kill 'TERM', $self->{pid};
	my $end = Time::HiRes::time() + ($timeout // 60);
	while (Time::HiRes::time() < $end) {
		if (waitpid($self->{pid}, POSIX::WNOHANG()) == $self->{pid}) {
			return $self->{status} = $? >> 8 | ($? & 127);
		}
		Time::HiRes::sleep(0.05);
	}
	kill 'KILL', -$self->{pid};
	waitpid($self->{pid}, 0);
	return $self->{status} = 'killed';
}

sub DESTROY {
	my ($self) = @_;
	local $?;	# reaping the child must not become the test's exit status
	$self->stop(5) unless defined $self->{status};
}

package Madoguchi::Test::Daemon;
our @ISA = ('Madoguchi::Test::Process');

# A metric's value from /metrics (0 if absent).
sub metric {
	my ($self, $series) = @_;
	my $text = $self->get('/metrics')->{content} // '';
	for my $line (split /\n/, $text) {
		return $1 if index($line, "$series ") == 0 && $line =~ / (\S+)$/;
	}
	return 0;
}

package Madoguchi::Test::Desk;

sub daemon {
	my ($self, %env) = @_;
	return Madoguchi::Test::start_daemon($self->{db}, port => $self->{port},
		secret => $self->{secret}, token => $self->{token},
		data_key => $self->{data_key}, line_api => $self->{sim}{url}, env => \%env);
}

package Madoguchi::Test::Sim;
our @ISA = ('Madoguchi::Test::Process');

sub requests {
	my ($self, $query) = @_;
	my $r = $self->get('/sim/messages' . ($query // ''));
	return Madoguchi::Test::json_decode($r->{content})->{requests};
}

# Messages the simulated LINE accepted for delivery (reply and push).
sub delivered {
	my ($self, $query) = @_;
	return [ grep { $_->{delivered} && $_->{path} =~ m{/message/(reply|push)$} }
		@{ $self->requests($query) } ];
}

# Has the simulated platform send a webhook; its answer, decoded.
sub send {
	my ($self, $spec) = @_;
	my $r = $self->post_json('/sim/send', $spec);
	die "sim/send: $r->{status} $r->{content}" unless $r->{status} == 200;
	return Madoguchi::Test::json_decode($r->{content});
}

sub faults {
	my ($self, $spec) = @_;
	my $r = $self->post_json('/sim/faults', $spec);
	die "sim/faults: $r->{status} $r->{content}" unless $r->{status} == 200;
}

1;
