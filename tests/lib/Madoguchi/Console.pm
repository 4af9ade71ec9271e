# Madoguchi::Console - a console client for the integration tests: staff
# accounts made with the real CLI, and a session that signs in through the
# whole flow (password, TOTP enrolment with codes from oathtool, the new
# password), keeps its cookie and CSRF token, and calls the API.
package Madoguchi::Console;

use strict;
use warnings;
use utf8;
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);
use Madoguchi::Test qw(json_decode json_encode);
use Exporter 'import';

our @EXPORT = qw(staff_add console_signed_in console_sign_in);

my $BIN = $ENV{MADOGUCHI_BIN_DIR} // 'bin';

# Makes an account with `madoguchi user add`; returns its one-time password.
sub staff_add {
	my ($db, $login, $role, $name) = @_;
	local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
	local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;
	my $out = `$BIN/madoguchi user add $login --role $role --name '${\($name // $login)}' 2>&1`;
	$out =~ /^one-time password: (\S+)$/m or die "user add $login: $out";
	return $1;
}

# The TOTP code for a base32 secret, offset by whole 30-second steps.
sub totp {
	my ($secret, $steps) = @_;
	my $when = time + 30 * ($steps // 0);
	my $code = `oathtool --totp -b '$secret' --now '\@$when'`;
	chomp $code;
	return $code;
}

sub new {
	my ($class, $daemon) = @_;
	return bless { daemon => $daemon, url => $daemon->{url}, cookie => undef,
		csrf => undef, http => HTTP::Tiny->new(timeout => 30) }, $class;
}

# A call: (status, decoded body or undef, raw response). Options: no_csrf,
# csrf (a value), content_type, raw (a body sent as is), cookie (a value).
sub call {
	my ($self, $method, $path, $body, %opt) = @_;
	my %h = %{ $opt{headers} // {} };
	my $cookie = exists $opt{cookie} ? $opt{cookie} : $self->{cookie};
	$h{Cookie} = "madoguchi_session=$cookie" if defined $cookie;
	$h{'X-CSRF-Token'} = $opt{csrf} // $self->{csrf}
		if $method ne 'GET' && !$opt{no_csrf} && defined($opt{csrf} // $self->{csrf});
	my $content = $opt{raw} // (defined $body ? json_encode($body) : undef);
	$h{'Content-Type'} = $opt{content_type} // 'application/json' if defined $content;
	my $r = $self->{http}->request($method, $self->{url} . $path,
		{ headers => \%h, defined $content ? (content => $content) : () });
	for my $c (ref $r->{headers}{'set-cookie'} ? @{ $r->{headers}{'set-cookie'} } :
	    grep { defined } $r->{headers}{'set-cookie'}) {
		$self->{cookie} = $1 eq '' ? undef : $1 if $c =~ /^madoguchi_session=([^;]*)/;
		$self->{set_cookie} = $c;
	}
	my $data = eval { json_decode($r->{content}) };
	$self->{csrf} = $data->{csrf} if ref $data eq 'HASH' && $data->{csrf};
	return ($r->{status}, $data, $r);
}

sub get { my $s = shift; $s->call('GET', @_) }
sub post { my $s = shift; $s->call('POST', @_) }
sub put { my $s = shift; $s->call('PUT', @_) }
sub del { my $s = shift; $s->call('DELETE', @_) }

# A raw request on its own socket, not yet read: to race two of them.
sub send_raw {
	my ($self, $method, $path, $body) = @_;
	my ($host, $port) = $self->{url} =~ m{^http://([^:/]+):(\d+)};
	my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port)
		or die "connect: $!";
	my $content = defined $body ? json_encode($body) : '';
	print $sock "$method $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n"
		. "Cookie: madoguchi_session=$self->{cookie}\r\nX-CSRF-Token: $self->{csrf}\r\n"
		. "Content-Type: application/json\r\nContent-Length: " . length($content)
		. "\r\n\r\n$content";
	return $sock;
}

# Reads from sock into the buffer until it matches re, for up to timeout
# seconds; true if it did.
sub read_until {
	my ($sock, $bufref, $re, $timeout) = @_;
	my $end = time + $timeout;
	until ($$bufref =~ $re) {
		my $left = $end - time;
		return 0 if $left <= 0 || !IO::Select->new($sock)->can_read($left);
		my $n = sysread($sock, my $chunk, 65536);
		return 0 unless $n;
		$$bufref .= $chunk;
	}
	return 1;
}

# The status of a response to send_raw (0: none within 30 seconds; a
# stream that opened never ends, so the read must not wait for the end).
sub read_status {
	my ($sock) = @_;
	my $buf = '';
	read_until($sock, \$buf, qr{^HTTP/1\.1 \d{3} }, 30);
	return $buf =~ m{^HTTP/1\.1 (\d+)} ? $1 : 0;
}

# True once a stream opened with send_raw said hello: the process counts
# it from then on.
sub stream_ready {
	my ($sock) = @_;
	my $buf = '';
	return read_until($sock, \$buf, qr/event: hello\n/, 30);
}

# Opens GET /api/events and returns the socket once the stream has said
# hello (left for events_next to read): from then on the stream hears
# every event, so nothing the test does next can come before it.
sub events_open {
	my ($self) = @_;
	my ($host, $port) = $self->{url} =~ m{^http://([^:/]+):(\d+)};
	my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port)
		or die "connect: $!";
	print $sock "GET /api/events HTTP/1.1\r\nHost: $host\r\n"
		. "Cookie: madoguchi_session=$self->{cookie}\r\nAccept: text/event-stream\r\n\r\n";
	$self->{events} = { sock => $sock, buf => '' };
	read_until($sock, \$self->{events}{buf}, qr/event: hello\n/, 30)
		or die "the event stream did not open:\n$self->{events}{buf}";
	return $sock;
}

# The next event (name, decoded data) within timeout seconds, or ().
sub events_next {
	my ($self, $timeout) = @_;
	my $e = $self->{events};
	my $end = time + $timeout;
	while (1) {
		# Each event is one chunk: its framing lines never split it.
		if ($e->{buf} =~ /event: (\w+)\ndata: ([^\n]*)\n\n/) {
			my ($name, $data) = ($1, $2);
			$e->{buf} = substr($e->{buf}, $+[0]);
			return ($name, eval { json_decode($data) });
		}
		my $left = $end - time;
		return () if $left <= 0;
		return () unless IO::Select->new($e->{sock})->can_read($left);
		my $n = sysread($e->{sock}, my $chunk, 65536);
		return () unless $n;
		$e->{buf} .= $chunk;
	}
}

# A later sign-in: password, then the code of step (0: now, 1: the next
# 30 seconds, as a code is accepted only once).
sub console_sign_in {
	my ($daemon, $login, $password, $secret, $step) = @_;
	my $c = __PACKAGE__->new($daemon);
	my ($st) = $c->post('/api/session', { login => $login, password => $password });
	die "sign in $login: $st" unless $st == 200;
	($st, my $d) = $c->post('/api/session/totp', { code => totp($secret, $step // 0) });
	die "totp $login: $st" unless $st == 200 && $d->{stage} eq 'full';
	@$c{qw(secret password staff)} = ($secret, $password, $d->{staff});
	return $c;
}

# The whole first sign-in; returns the client, signed in, with its secret.
sub console_signed_in {
	my ($daemon, $login, $password, %opt) = @_;
	my $c = __PACKAGE__->new($daemon);
	my ($st, $d) = $c->post('/api/session', { login => $login, password => $password });
	die "sign in $login: $st" unless $st == 200;
	($st, $d) = $c->get('/api/session/enrol');
	die "enrol $login: $st" unless $st == 200;
	$c->{secret} = $d->{secret};
	($st, $d) = $c->post('/api/session/totp', { code => totp($c->{secret}) });
	die "totp $login: $st" unless $st == 200;
	$c->{password} = $opt{new_password} // "新しいパスワード-$login-2026";
	($st, $d) = $c->post('/api/session/password', { password => $c->{password} });
	die "new password $login: $st" unless $st == 200 && $d->{stage} eq 'full';
	$c->{staff} = $d->{staff};
	return $c;
}

1;
