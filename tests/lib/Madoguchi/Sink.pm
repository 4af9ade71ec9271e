package Madoguchi::Sink;
# A stand-in for an outside alert target (a desk's chat or paging webhook):
# a tiny HTTP server in a child process that keeps every request's body,
# one JSON line each, and answers with the status the test sets.
use strict;
use warnings;
use IO::Socket::INET;
use File::Temp qw(tempdir);
use Madoguchi::Test;
use Exporter 'import';
our @EXPORT = qw(alert_sink);

sub alert_sink {
	my $dir = tempdir('madoguchi-sink-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
		Listen => 16, ReuseAddr => 1) or die "sink: $!";
	my $self = bless { dir => $dir, url => 'http://127.0.0.1:' . $listen->sockport . '/alert' },
		__PACKAGE__;
	$self->status(200);
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		while (my $c = $listen->accept) {
			serve_one($self, $c);
		}
		exit 0;
	}
	$self->{pid} = $pid;
	close $listen;
	return $self;
}

sub serve_one {
	my ($self, $c) = @_;
	local $/ = "\r\n";
	my $len = 0;
	while (defined(my $line = <$c>)) {
		last if $line eq "\r\n";
		$len = $1 if $line =~ /^Content-Length:\s*(\d+)/i;
	}
	read($c, my $body, $len) if $len;
	open(my $fh, '>>', "$self->{dir}/bodies") or die;
	print $fh ($body // ''), "\n";
	close $fh;
	my $status = do { open(my $s, '<', "$self->{dir}/status"); <$s> } // 200;
	print $c "HTTP/1.1 $status X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	close $c;
}

sub url { $_[0]{url} }

# Every body received so far, decoded.
sub received {
	my ($self) = @_;
	open(my $fh, '<', "$self->{dir}/bodies") or return [];
	return [ map { Madoguchi::Test::json_decode($_) } grep { length } map { chomp; $_ } <$fh> ];
}

# The status the next requests get.
sub status {
	my ($self, $status) = @_;
	open(my $fh, '>', "$self->{dir}/status") or die;
	print $fh $status;
	close $fh;
}

sub DESTROY {
	my ($self) = @_;
	return unless $self->{pid};
	local $?;	# reaping the child must not become the test's exit status
	kill 'TERM', $self->{pid};
	waitpid($self->{pid}, 0);
}

1;
