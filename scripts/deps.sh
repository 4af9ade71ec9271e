#!/bin/sh
# Installs the Debian packages madoguchi needs, only those missing, and says
# which. Used by `make run`, `make test` and CI.
set -eu

PACKAGES="gcc make pkg-config libc6-dev libevent-dev libcjson-dev
libcurl4-openssl-dev libssl-dev libpq-dev postgresql postgresql-client
libargon2-dev liboath-dev libqrencode-dev libunistring-dev liblinear-dev
libncurses-dev
libxlsxwriter-dev libzip-dev p7zip-full nginx pgbackrest
openssl curl perl valgrind oathtool tmux chromium"

missing=""
# The browser tests drive chromium with playwright-core from npm: Node.js
# and npm from Debian, unless the machine has its own already.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	PACKAGES="$PACKAGES nodejs npm"
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "deps: not root and no sudo: install these yourself:$missing" >&2
	exit 1
fi
# madoguchi runs its own clusters (scripts/pg.sh): installing the server
# must not also create and start Debian's default one on port 5432.
case "$missing" in
*" postgresql "*|*" postgresql")
	$sudo mkdir -p /etc/postgresql-common/createcluster.d
	echo "create_main_cluster = false" |
		$sudo tee /etc/postgresql-common/createcluster.d/madoguchi.conf >/dev/null
	;;
esac
# Nor may a package start a service of its own (nginx on port 80): the
# tests run their own, on ports they choose. A policy the machine already
# has is left as it is.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
	$sudo chmod 755 $policy
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
status=0
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends $missing >/dev/null || status=$?
[ -n "$policy" ] && $sudo rm -f $policy
[ $status -eq 0 ] || exit $status
echo "deps: done"
