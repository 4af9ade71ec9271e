#!/usr/bin/perl
# The configuration deploy/ ships, checked by the tools that will read it:
# nginx -t on the nginx site (with a self-signed certificate and this
# test's paths), systemd-analyze verify (and its security score) on the
# units, madoguchid's own parser on the settings file; then the database
# roles of deploy/postgresql/roles.sql on a real cluster with the shipped
# SCRAM line of pg_hba.conf: migrations as the owner, madoguchid and the
# CLI as the application role storing a webhook and signing a counsellor
# in, and the audit trail append-only for that role.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use Madoguchi::Test;
use Madoguchi::Console;

my $ROOT = abs_path('.');
my $BIN = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
$BIN = "$ROOT/$BIN" unless $BIN =~ m{^/};
my $D = "$ROOT/deploy";

sub slurp { open(my $fh, '<', $_[0]) or die "$_[0]: $!"; local $/; <$fh> }
sub spew { open(my $fh, '>', $_[0]) or die "$_[0]: $!"; print $fh $_[1]; close $fh }
sub have { system("command -v $_[0] >/dev/null 2>&1") == 0 }

my %config = map { /^(\w+)\s+=\s*(.*?)\s+# (MADOGUCHI_\w+)$/ ? ($1 => [$2, $3]) : () }
	split /\n/, `MADOGUCHI_CONFIG=/dev/null $BIN/madoguchi config`;
my %env_names = map { $_->[1] => 1 } values %config;
ok(keys %config > 20, 'madoguchi config lists the settings');

# --- the settings file and the names used across deploy/ ----------------
{
	my $out = `$BIN/madoguchi -c $D/etc/madoguchi.conf config 2>&1`;
	is($?, 0, 'deploy/etc/madoguchi.conf is accepted by the parser') or diag $out;
	my @files = grep { -f } glob("$D/*.md $D/*/* $D/*/*/*");
	my %seen;
	for my $f (@files) {
		$seen{$_} //= $f for slurp($f) =~ /\b(MADOGUCHI_[A-Z_]+)\b/g;
	}
	my @unknown = grep { !$env_names{$_} && $_ ne 'MADOGUCHI_CONFIG' } sort keys %seen;
	is_deeply(\@unknown, [], 'every MADOGUCHI_ variable deploy/ names exists')
		or diag join "\n", map { "$_ in $seen{$_}" } @unknown;
}

# --- nginx -t ------------------------------------------------------------
SKIP: {
	skip 'nginx is not installed (Debian package nginx)', 3 unless have('nginx');
	my $dir = tempdir('nginx-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	mkdir "$dir/$_" for qw(snippets logs ssl tmp);
	system("cp $D/nginx/snippets/*.conf $dir/snippets/") == 0 or die;
	system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
		. " -keyout $dir/ssl/privkey.pem -out $dir/ssl/fullchain.pem 2>/dev/null") == 0
		or die 'openssl req';
	my $site = slurp("$D/nginx/madoguchi.conf");
	$site =~ s{/etc/ssl/madoguchi/}{$dir/ssl/}g;
	$site =~ s{/var/log/nginx/}{$dir/logs/}g;
	# Ports of our own instead of 80, 443 and 9180 (which may be taken).
	my ($http, $https, $mon) = (free_port(), free_port(), free_port());
	$site =~ s{^\s*listen \[::\]:.*\n}{}mg;
	$site =~ s{listen 443 }{listen 127.0.0.1:$https }g;
	$site =~ s{listen 80;}{listen 127.0.0.1:$http;}g;
	$site =~ s{listen 127\.0\.0\.1:9180;}{listen 127.0.0.1:$mon;}g;
	spew("$dir/site.conf", $site);
	spew("$dir/nginx.conf", "pid $dir/nginx.pid;\nerror_log $dir/logs/error.log;\n"
		. "events {}\nhttp {\n\tclient_body_temp_path $dir/tmp;\n\tinclude $dir/site.conf;\n}\n");
	my $out = `nginx -t -p $dir/ -c $dir/nginx.conf 2>&1`;
	is($?, 0, 'nginx -t accepts the shipped site, snippets and TLS settings') or diag $out;
	unlike($out, qr/\[warn\]/, 'without a warning') or diag $out;

	my ($cap) = $site =~ /client_max_body_size (\d+)m;/;
	is(($cap // 0) * 1024 * 1024, $config{max_body_bytes}[0],
		"nginx's body cap is madoguchid's max_body_bytes");
}

# --- systemd-analyze verify ------------------------------------------------
SKIP: {
	skip 'systemd-analyze is not installed (Debian package systemd)', 3
		unless have('systemd-analyze');
	my $dir = tempdir('units-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	# Instances of the templates, as the timers and the README name them,
	# with ExecStart pointing at binaries that exist here.
	my %as = ('madoguchid@.service' => ['madoguchid@8081.service'],
		'madoguchi-backup@.service' => ['madoguchi-backup@full.service',
			'madoguchi-backup@diff.service']);
	my $pgbackrest = have('pgbackrest') ? '/usr/bin/pgbackrest' : '/bin/true';
	my @units;
	for my $f (glob("$D/systemd/*")) {
		(my $name = $f) =~ s{.*/}{};
		my $u = slurp($f);
		$u =~ s{/usr/local/bin/}{$BIN/}g;
		$u =~ s{/usr/local/sbin/madoguchi-restore-drill}{$D/backup/restore-drill.sh}g;
		$u =~ s{/usr/bin/pgbackrest}{$pgbackrest}g;
		for my $n (@{ $as{$name} // [$name] }) {
			spew("$dir/$n", $u);
			push @units, "$dir/$n";
		}
	}
	my $out = `systemd-analyze verify --man=no @units 2>&1`;
	is($?, 0, 'systemd-analyze verify accepts every unit') or diag $out;
	is($out, '', 'and has nothing to say') or diag $out;
	$out = `systemd-analyze security --offline=true --no-pager $dir/madoguchid\@8081.service 2>&1`;
	my ($score) = $out =~ /Overall exposure level for \S+: ([\d.]+)/;
	cmp_ok($score // 99, '<=', 2.0, "madoguchid's unit is hardened (exposure "
		. ($score // '?') . ' of 10)') or diag $out;
}

# --- PostgreSQL roles --------------------------------------------------------
my $db = new_cluster();
my $super = $db->conninfo;	# the test cluster's superuser, "madoguchi"
(my $base = $super) =~ s/ user=\S+//;
my $pw = { map { $_ => random_hex(16) } qw(madoguchi_owner madoguchi_app madoguchi_monitor) };

sub psql_as {
	my ($conninfo, $sql, %env) = @_;
	local @ENV{keys %env} = values %env;
	my $out = `psql -X -q -At -w -v ON_ERROR_STOP=1 -d '$conninfo' -c "$sql" 2>&1`;
	chomp $out;
	return ($? == 0, $out);
}

my $roles = `psql -X -q -w -v ON_ERROR_STOP=1 -d '$super' -f $D/postgresql/roles.sql 2>&1`;
is($?, 0, 'roles.sql runs on a fresh database') or diag $roles;
$db->query("ALTER ROLE $_ PASSWORD '$pw->{$_}'") for sort keys %$pw;

# The shipped pg_hba.conf line for a local madoguchi, after one for the
# test's superuser; anything else is refused.
my ($local) = grep { /^local\s+madoguchi\s/ } split /\n/, slurp("$D/postgresql/pg_hba.conf");
like($local // '', qr/scram-sha-256$/, 'pg_hba.conf: the local line asks for SCRAM');
spew($db->dir . '/pg/data/pg_hba.conf', "local all madoguchi trust\n$local\nlocal all all reject\n");
$db->query('SELECT pg_reload_conf()');

my $pgpass = $db->dir . '/pgpass';
spew($pgpass, join '', map { "*:*:*:$_:$pw->{$_}\n" } sort keys %$pw);
chmod 0600, $pgpass;
my ($ok, $out) = psql_as("$base user=madoguchi_app", 'SELECT 1', PGPASSFILE => '/dev/null');
ok(!$ok, 'the application role cannot connect without its password');
like($out, qr/password/, '(a password is asked for)');
($ok, $out) = psql_as("$base user=madoguchi_app", 'SHOW password_encryption', PGPASSFILE => $pgpass);
is($out, 'scram-sha-256', 'it connects with it, and passwords are stored as SCRAM verifiers');
is($db->query(q{SELECT count(*) FROM pg_authid WHERE rolname LIKE 'madoguchi\_%'
	AND rolpassword LIKE 'SCRAM-SHA-256$%'}), 3, 'the three roles have SCRAM verifiers');

# Migrations as the owner, then roles.sql again for what they created.
$out = `MADOGUCHI_CONFIG=/dev/null MADOGUCHI_DATABASE_URL='$base user=madoguchi_owner' PGPASSFILE=$pgpass $BIN/madoguchi migrate 2>&1`;
is($?, 0, 'madoguchi migrate as madoguchi_owner') or diag $out;
$roles = `psql -X -q -w -v ON_ERROR_STOP=1 -d '$super' -f $D/postgresql/roles.sql 2>&1`;
is($?, 0, 'roles.sql runs again after the migrations') or diag $roles;
is($db->query(q{SELECT count(*) FROM pg_tables WHERE schemaname = 'public'
	AND tableowner <> 'madoguchi_owner'}), 0, 'the owner owns every table');
($ok, $out) = psql_as("$base user=madoguchi_app", 'CREATE TABLE x (a int)', PGPASSFILE => $pgpass);
ok(!$ok && $out =~ /permission denied for schema public/, 'the application cannot change the schema')
	or diag $out;

# madoguchid and the CLI as the application role.
my $app = bless { conninfo => "$base user=madoguchi_app" }, 'Madoguchi::Test::Cluster';
my $d = start_daemon($app, env => { PGPASSFILE => $pgpass,
	MADOGUCHI_PUBLIC_URL => 'https://soudan.example.lg.jp' });
is(signed_post($d, text_body('ロールの確認です'))->{status}, 200,
	'a signed webhook is answered 200 by madoguchid as madoguchi_app');
is($db->query("SELECT count(*) FROM messages WHERE direction = 'in'"), 1, 'and stored');
my $otp = do {
	local $ENV{PGPASSFILE} = $pgpass;
	staff_add($app, 'sato', 'supervisor', 'Sato');
};
ok($otp, 'madoguchi user add as madoguchi_app');
my $c = console_signed_in($d, 'sato', $otp);
my ($st) = $c->get('/api/queue');
is($st, 200, 'a supervisor signs in and reads the queue');
cmp_ok($db->query(q{SELECT count(*) FROM audit_log WHERE action LIKE 'session.%'
	OR action LIKE 'staff.%'}), '>=', 2, 'the audit trail was written by madoguchi_app');
unlike($d->log_text, qr/permission denied|42501/, 'madoguchid was refused nothing');

# The audit trail: append-only for the application, by its grants.
for my $sql ("UPDATE audit_log SET actor = 'x'", 'DELETE FROM audit_log', 'TRUNCATE audit_log') {
	($ok, $out) = psql_as("$base user=madoguchi_app", $sql, PGPASSFILE => $pgpass);
	ok(!$ok && $out =~ /permission denied for table audit_log/,
		"madoguchi_app: $sql is refused by its privileges") or diag $out;
}
($ok, $out) = psql_as("$base user=madoguchi_app",
	q{INSERT INTO audit_log (actor, action) VALUES ('test', 'deploy.check') RETURNING hash IS NOT NULL},
	PGPASSFILE => $pgpass);
is($out, 't', 'madoguchi_app: INSERT into audit_log works (and is chained)');
($ok, $out) = psql_as("$base user=madoguchi_app",
	'INSERT INTO schema_migrations (version, name) VALUES (999, \'x\')', PGPASSFILE => $pgpass);
ok(!$ok, 'madoguchi_app cannot write the schema version');
$out = `MADOGUCHI_CONFIG=/dev/null MADOGUCHI_DATABASE_URL='$base user=madoguchi_app' PGPASSFILE=$pgpass $BIN/madoguchi audit verify 2>&1`;
is($?, 0, 'the chain verifies') or diag $out;

# --- monitoring ------------------------------------------------------------
# postgres_exporter's queries run as madoguchi_monitor, which reads them
# and nothing of what people wrote.
my $queries = slurp("$D/prometheus/queries.yaml");
my %query;
while ($queries =~ /^(\w+):\n  query: \|\n((?:    .*\n)+)/mg) {
	my ($name, $sql) = ($1, $2);
	$sql =~ s/^    //mg;
	$query{$name} = $sql;
}
ok(keys %query >= 4, 'queries.yaml: ' . join(', ', sort keys %query));
my %from_queries;
for my $name (sort keys %query) {
	(my $sql = $query{$name}) =~ s/"/\\"/g;
	($ok, $out) = psql_as("$base user=madoguchi_monitor", $sql, PGPASSFILE => $pgpass);
	ok($ok && $out =~ /^[\d.|]+$/, "$name runs as madoguchi_monitor: $out") or diag $out;
	my ($metrics) = $queries =~ /^\Q$name\E:\n.*?\n  metrics:\n((?:    .*\n)+)/ms;
	$from_queries{"${name}_$_"} = 1 for ($metrics // '') =~ /^    - (\w+):/mg;
}
($ok, $out) = psql_as("$base user=madoguchi_monitor", 'SELECT payload FROM outbox', PGPASSFILE => $pgpass);
ok(!$ok, 'madoguchi_monitor cannot read a payload');
($ok, $out) = psql_as("$base user=madoguchi_monitor", 'SELECT count(*) FROM messages', PGPASSFILE => $pgpass);
ok(!$ok, 'nor any message');

# Every madoguchi_ series the alerts use is one madoguchid exports (a name
# in its source) or one of queries.yaml's.
my %exported;
for my $f (glob("$ROOT/{webhook,storage,autoreply,outbox,lib,daemon,operator-console,crisis,webchat}/*.c")) {
	$exported{$_} = 1 for slurp($f) =~ /"(madoguchi_[a-z_]+)"/g;
}
for my $h (grep { /_(seconds|events|deliveries)$/ } keys %exported) {
	$exported{"${h}_$_"} = 1 for qw(bucket sum count);
}
my $alerts = slurp("$D/prometheus/alerts.yml");
my %used = map { $_ => 1 } $alerts =~ /\b(madoguchi_[a-z_]*[a-z])\b/g;
my @unknown = grep { !$exported{$_} && !$from_queries{$_} } sort keys %used;
is_deeply(\@unknown, [], 'every series in alerts.yml exists (' . keys(%used) . ' used)');
SKIP: {
	skip 'promtool is not installed (Debian package prometheus)', 2
		unless have('promtool');
	$out = `promtool check rules $D/prometheus/alerts.yml 2>&1`;
	is($?, 0, 'promtool check rules alerts.yml') or diag $out;
	my $dir = tempdir('prom-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	(my $scrape = slurp("$D/prometheus/scrape.yml"))
		=~ s{/etc/prometheus/madoguchi-alerts.yml}{$D/prometheus/alerts.yml};
	spew("$dir/prometheus.yml", $scrape);
	$out = `promtool check config $dir/prometheus.yml 2>&1`;
	is($?, 0, 'promtool check config scrape.yml') or diag $out;
}

is($d->stop, 0, 'madoguchid stops cleanly');
done_testing();
