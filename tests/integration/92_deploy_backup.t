#!/usr/bin/perl
# The backup path of deploy/: a cluster archiving its WAL with the shipped
# archive_command to a pgBackRest repository configured from the shipped
# pgbackrest.conf, a full backup between two rounds of webhooks, then
# deploy/backup/restore-drill.sh: it restores the backup into a fresh
# cluster, replays the archive to its restore point and finds every row;
# and it fails when a table's rows never reach the archive (an UNLOGGED
# table, made so on purpose).
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Cwd qw(abs_path);
use Madoguchi::Test;

plan skip_all => 'pgbackrest is not installed (Debian package pgbackrest)'
	unless system('command -v pgbackrest >/dev/null 2>&1') == 0;
# The drill exercises PostgreSQL and pgBackRest, not madoguchid, which
# only fills the database here: under valgrind it would add minutes and
# check nothing the other tests do not.
plan skip_all => 'the drill does not test madoguchid; not repeated under MADOGUCHI_WRAP'
	if $ENV{MADOGUCHI_WRAP};

my $ROOT = abs_path('.');
my $BIN = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
$BIN = "$ROOT/$BIN" unless $BIN =~ m{^/};

sub slurp { open(my $fh, '<', $_[0]) or die "$_[0]: $!"; local $/; <$fh> }
sub spew { open(my $fh, '>', $_[0]) or die "$_[0]: $!"; print $fh $_[1]; close $fh }

# As root the cluster is the postgres user's, so is everything it writes.
my @as_pg = $> == 0 ? ('runuser', '-u', 'postgres', '--') : ();
sub own { system('chown', '-R', 'postgres:', @_) if $> == 0 }

my $db = new_cluster();
$db->migrate;
my $dir = $db->dir;
my $b = "$dir/backup";
mkdir $b;
mkdir "$b/$_" for qw(repo spool log lock drill);
own($b);

# The shipped pgbackrest.conf, with this test's paths.
my $conf = slurp("$ROOT/deploy/pgbackrest/pgbackrest.conf");
my %set = ('repo1-path' => "$b/repo", 'spool-path' => "$b/spool",
	'log-path' => "$b/log", 'lock-path' => "$b/lock",
	'pg1-path' => "$dir/pg/data", 'pg1-socket-path' => "$dir/pg/sock");
for my $k (sort keys %set) {
	$conf =~ s/^\Q$k\E=.*$/$k=$set{$k}/m or die "pgbackrest.conf has no $k";
}
# The test cluster's superuser; the passphrase a desk keeps in conf.d.
$conf =~ s/^(pg1-path=.*)$/$1\npg1-user=madoguchi/m;
$conf =~ s/^(repo1-cipher-type=.*)$/$1\nrepo1-cipher-pass=${\ random_hex(24)}/m;
spew("$b/pgbackrest.conf", $conf);
own("$b/pgbackrest.conf");
$ENV{PGBACKREST_CONFIG} = "$b/pgbackrest.conf";

# The shipped settings for archiving, pointed at that configuration.
my $pgconf = slurp("$ROOT/deploy/postgresql/postgresql.conf");
my @archive = grep { /^(archive_mode|archive_command|archive_timeout|wal_level)\s*=/ }
	split /\n/, $pgconf;
is(scalar @archive, 4, 'the shipped postgresql.conf sets wal_level and archiving');
s/pgbackrest /pgbackrest --config=$b\/pgbackrest.conf / for @archive;
open(my $fh, '>>', "$dir/pg/data/postgresql.conf") or die;
print $fh join("\n", '', @archive, '');
close $fh;
$db->stop;
$db->start;
is($db->query('SHOW archive_mode'), 'on', 'archiving on after a restart');

sub pgbackrest {
	my $out = `@as_pg pgbackrest --stanza=madoguchi @_ 2>&1`;
	return ($? == 0, $out);
}
my ($ok, $out) = pgbackrest('stanza-create');
ok($ok, 'stanza created') or diag $out;
($ok, $out) = pgbackrest('check');
ok($ok, 'pgbackrest check: WAL reaches the repository') or diag $out;

my $d = start_daemon($db);
sub send_texts {
	my ($tag, $n) = @_;
	my $stored = 0;
	for my $i (1 .. $n) {
		$stored++ if signed_post($d, text_body("$tag $i",
			user => sprintf('U%032x', $i % 7)))->{status} == 200;
	}
	return $stored;
}
is(send_texts('before the backup', 20), 20, 'twenty messages before the backup');
($ok, $out) = pgbackrest('--type=full', 'backup');
ok($ok, 'full backup') or diag $out;
is(send_texts('after the backup', 20), 20, 'twenty more, only in the archived WAL');

sub drill {
	my $port = free_port();
	my $out = `DRILL_LIVE='$db->{conninfo}' DRILL_DIR='$b/drill' DRILL_PORT=$port \\
		PATH='$BIN':"\$PATH" $ROOT/deploy/backup/restore-drill.sh 2>&1`;
	return ($? >> 8, $out);
}

my ($rc, $report) = drill();
note $report;
is($rc, 0, 'the drill passes') or diag $report;
my $live = $db->query("SELECT count(*) FROM messages");
cmp_ok($live, '>=', 40, 'the live database holds the forty messages');
like($report, qr/^messages\s+$live\s+$live$/m,
	'the restored copy has every message, those after the backup too');
like($report, qr/^audit_log\s+(\d+)\s+\1$/m, 'and the same audit trail');
like($report, qr/^audit: \d+ entries, chain intact/m, 'whose hash chain verifies in the copy');
ok(!-e "$b/drill/data", 'the scratch cluster is gone');

# A table outside the WAL is outside every backup: the drill must say so.
$db->query('ALTER TABLE audit_log SET UNLOGGED');
($rc, $report) = drill();
isnt($rc, 0, 'the drill fails when a table lost its rows in the copy');
like($report, qr/^audit_log\s+0\s+[1-9]\d*\s+DIFFERENT$/m, 'and names the table')
	or diag $report;
like($report, qr/FAILED/, 'and says it failed');
ok(!-e "$b/drill/data", 'the scratch cluster is removed after a failure too');

is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
