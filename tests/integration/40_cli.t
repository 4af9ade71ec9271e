#!/usr/bin/perl
# The admin CLI: help, migrate (idempotent), migrate --status, config.
use strict;
use warnings;
use utf8;
use lib 'tests/lib';
use Test::More;
use Madoguchi::Test;

my $bin = $ENV{MADOGUCHI_BIN_DIR} // 'bin';
my $db = new_cluster();
local $ENV{MADOGUCHI_CONFIG} = '/dev/null';
local $ENV{MADOGUCHI_DATABASE_URL} = $db->conninfo;

my $help = `$bin/madoguchi help`;
is($?, 0, 'help exits 0');
like($help, qr/^\s+migrate/m, 'help lists migrate');
like($help, qr/^\s+messages/m, 'help lists messages');
`$bin/madoguchi frobnicate 2>/dev/null`;
is($? >> 8, 2, 'an unknown command exits 2');

my $status = `$bin/madoguchi migrate --status`;
isnt($?, 0, 'status before migrating: not current (exit 1)');
like($status, qr/applied: 0/, 'nothing applied');
my $applied = `$bin/madoguchi migrate`;
like($applied, qr/applied 001_foundation/, 'migrate applies 001');
like($applied, qr/applied 002_replies/, 'and 002');
like(`$bin/madoguchi migrate`, qr/schema is current/, 'a second migrate does nothing');
is($?, 0, 'and succeeds');
$status = `$bin/madoguchi migrate --status`;
is($?, 0, 'status: current');
like($status, qr/current: yes/, 'says so');
my @files = glob('storage/migrations/*.sql');
is($db->query('SELECT count(*) FROM schema_migrations'), scalar @files, 'each recorded once');

local $ENV{MADOGUCHI_DATABASE_URL} = 'host=/nonexistent dbname=x';
my $err = `$bin/madoguchi migrate 2>&1`;
is($? >> 8, 1, 'no database: exit 1');
like($err, qr/cannot connect to the database/, 'with a clear message');

local $ENV{MADOGUCHI_LISTEN} = '127.0.0.1:9999';
like(`$bin/madoguchi config`, qr/^listen\s+= 127\.0\.0\.1:9999\s+# MADOGUCHI_LISTEN \(set\)/m,
	'config shows a value and that the environment set it');
local $ENV{MADOGUCHI_DB_CONNECTIONS} = 'many';
`$bin/madoguchi config 2>/dev/null`;
is($? >> 8, 1, 'a bad setting is refused');
done_testing();
