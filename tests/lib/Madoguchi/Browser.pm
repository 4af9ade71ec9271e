# Madoguchi::Browser - what every browser test does first: skip where a
# browser adds nothing (under valgrind, the daemon's other tests cover its
# paths there) or cannot run (no chromium or node), install playwright-core
# from the lockfile once, and make the screenshot folder.
package Madoguchi::Browser;

use strict;
use warnings;
use Test::More;
use Exporter 'import';

our @EXPORT = qw(browser_ready);

# Returns (the scripts' folder, the screenshot folder), or skips the test.
sub browser_ready {
	plan skip_all => 'not under valgrind' if $ENV{MADOGUCHI_WRAP};
	plan skip_all => 'no chromium or node (make deps installs them)'
		unless -x '/usr/bin/chromium' && system('sh', '-c', 'command -v node >/dev/null') == 0;
	my $dir = 'tests/browser';
	unless (-d "$dir/node_modules/playwright-core") {
		system("cd $dir && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund"
			. " --loglevel=error >/dev/null") == 0 or BAIL_OUT('npm ci failed');
	}
	my $shots = 'build/screenshots';
	system('mkdir', '-p', $shots);
	return ($dir, $shots);
}

1;
