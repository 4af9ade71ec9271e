#!/bin/sh
# A private PostgreSQL cluster in a directory of ours: unix socket inside it,
# no TCP port. PostgreSQL refuses to run as root, so as root the cluster
# belongs to the unprivileged "postgres" user.
#
#   scripts/pg.sh start DIR [DBNAME]   create once, start, make DBNAME
#   scripts/pg.sh stop DIR
#   scripts/pg.sh url DIR [DBNAME]     the conninfo to reach it
set -eu

cmd=${1:?usage: pg.sh start|stop|url DIR [DBNAME]}
dir=${2:?usage: pg.sh start|stop|url DIR [DBNAME]}
db=${3:-madoguchi}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

pgbin() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	echo "pg.sh: PostgreSQL server not found (run make deps)" >&2
	exit 1
}

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

url() {
	echo "host=$dir/sock dbname=$db user=madoguchi"
}

# As root the server runs as postgres, which must be able to reach $dir.
check_reachable() {
	[ "$(id -u)" -eq 0 ] || return 0
	if ! runuser -u postgres -- test -x "$dir"; then
		echo "pg.sh: the postgres user cannot reach $dir; make its parent" \
			"directories traversable (chmod o+x) or use a checkout" \
			"outside /root" >&2
		exit 1
	fi
}

start() {
	bin=$(pgbin)
	# The folder is the server's: as root, the postgres user's.
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	check_reachable
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		mkdir -p "$dir/data" "$dir/sock"
		chmod 700 "$dir/data"
		[ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
		as_owner "$bin/initdb" -D "$dir/data" -U madoguchi --auth=trust \
			-E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2; exit 1; }
		cat >>"$dir/data/postgresql.conf" <<CONF
# --- madoguchi local cluster ---
listen_addresses = ''
unix_socket_directories = '$dir/sock'
max_connections = 100
logging_collector = off
timezone = 'Asia/Tokyo'
${PG_EXTRA_CONF:-}
CONF
	fi
	if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
			-t 60 start >/dev/null || { tail -20 "$dir/server.log" >&2; exit 1; }
	fi
	if [ "$(psql "host=$dir/sock dbname=postgres user=madoguchi" -Atc \
	    "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
		psql "host=$dir/sock dbname=postgres user=madoguchi" -q \
			-c "CREATE DATABASE \"$db\""
	fi
}

stop() {
	bin=$(pgbin)
	[ -f "$dir/data/postmaster.pid" ] || return 0
	as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

case "$cmd" in
start) start ;;
stop) stop ;;
url) url ;;
*) echo "usage: pg.sh start|stop|url DIR [DBNAME]" >&2; exit 2 ;;
esac
