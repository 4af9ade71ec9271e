package Madoguchi::SmtpSink;
# A stand-in for the desk's mail server: a small SMTP server in a child
# process (one more per connection, as libcurl keeps connections open)
# that keeps every message it accepts, with its envelope, one JSON line
# each. The reply to RCPT TO is the test's to set (a 4xx refuses).
use strict;
use warnings;
use IO::Socket::INET;
use POSIX ();
use File::Temp qw(tempdir);
use MIME::Base64 qw(decode_base64);
use Encode qw(decode);
use Madoguchi::Test;
use Exporter 'import';
our @EXPORT = qw(smtp_sink);

sub smtp_sink {
	my $dir = tempdir('madoguchi-smtp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
		Listen => 16, ReuseAddr => 1) or die "smtp sink: $!";
	my $self = bless { dir => $dir, port => $listen->sockport }, __PACKAGE__;
	$self->rcpt_reply('250 OK');
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		$SIG{CHLD} = 'IGNORE';
		while (my $c = $listen->accept) {
			my $kid = fork // next;
			if ($kid == 0) {
				serve($self, $c);
				POSIX::_exit(0);	# not exit: END blocks would stop the test's clusters
			}
			close $c;
		}
		POSIX::_exit(0);
	}
	$self->{pid} = $pid;
	close $listen;
	return $self;
}

sub url { 'smtp://127.0.0.1:' . $_[0]{port} }

sub say_line { my ($c, $l) = @_; print $c "$l\r\n"; }

sub serve {
	my ($self, $c) = @_;
	local $/ = "\r\n";
	$c->autoflush(1);
	say_line($c, '220 sink ESMTP');
	my ($from, @to);
	while (defined(my $line = <$c>)) {
		$line =~ s/\r\n\z//;
		if ($line =~ /^(EHLO|HELO)/i) {
			say_line($c, '250 sink');
		} elsif ($line =~ /^MAIL FROM:\s*<([^>]*)>/i) {
			($from, @to) = ($1);
			say_line($c, '250 OK');
		} elsif ($line =~ /^RCPT TO:\s*<([^>]*)>/i) {
			my ($addr, $reply) = ($1, $self->rcpt_reply);
			push @to, $addr if $reply =~ /^2/;
			say_line($c, $reply);
		} elsif ($line =~ /^DATA/i) {
			say_line($c, '354 go on');
			my $data = '';
			while (defined(my $l = <$c>)) {
				last if $l eq ".\r\n";
				$l =~ s/^\.//;
				$data .= $l;
			}
			keep($self, $from, \@to, $data);
			say_line($c, '250 kept');
		} elsif ($line =~ /^(RSET|NOOP)/i) {
			say_line($c, '250 OK');
		} elsif ($line =~ /^QUIT/i) {
			say_line($c, '221 bye');
			last;
		} else {
			say_line($c, '502 not here');
		}
	}
	close $c;
}

# The message decoded: subject (encoded words) and body (base64), as text.
sub keep {
	my ($self, $from, $to, $data) = @_;
	my ($head, $body) = split /\r\n\r\n/, $data, 2;
	$head =~ s/\r\n[ \t]+/ /g;	# unfold
	my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } split /\r\n/, $head;
	my $subject = decode('MIME-Header', $h{subject} // '');
	my $text = decode('UTF-8', decode_base64($body // ''));
	my $line = Madoguchi::Test::json_encode({ from => $from, to => $to,
		subject => $subject, body => $text, raw => $data,
		content_type => $h{'content-type'} });
	open(my $fh, '>>', "$self->{dir}/mail") or die;
	print $fh "$line\n";
	close $fh;
}

# Every message accepted so far: {from, to, subject, body, raw, content_type}.
sub received {
	my ($self) = @_;
	open(my $fh, '<', "$self->{dir}/mail") or return [];
	return [ map { Madoguchi::Test::json_decode($_) } grep { length } map { chomp; $_ } <$fh> ];
}

# The reply to RCPT TO from now on ("250 OK", or "451 try later" to refuse).
sub rcpt_reply {
	my ($self, $reply) = @_;
	my $path = "$self->{dir}/rcpt";
	if (defined $reply) {
		open(my $fh, '>', $path) or die;
		print $fh $reply;
		close $fh;
		return $reply;
	}
	open(my $fh, '<', $path) or return '250 OK';
	my $r = <$fh>;
	return $r // '250 OK';
}

sub DESTROY {
	my ($self) = @_;
	return unless $self->{pid};
	local $?;	# reaping the child must not become the test's exit status
	kill 'TERM', $self->{pid};
	waitpid($self->{pid}, 0);
}

1;
