#!/bin/sh
# The restore drill: proves that the desk's backups restore, and restore
# everything. Installed as /usr/local/sbin/madoguchi-restore-drill and run
# monthly by madoguchi-restore-drill.timer (as postgres), or by hand.
#
#  1. On the live database, for an instant, the main tables are locked
#     against writes (SHARE: in-flight transactions finish first, new ones
#     wait), a named restore point is written and each table's highest id
#     noted. From then on the live tables only grow past those ids.
#  2. The WAL segment holding the restore point is switched out and waited
#     for in the archive.
#  3. The latest pgBackRest backup is restored into a fresh cluster in
#     DRILL_DIR, on DRILL_PORT, never archiving, and replayed from the
#     archive up to that restore point.
#  4. Each table's row count in the restored copy is compared with the
#     live table's count of rows up to the noted id. Any difference (a
#     lost transaction, a gap in the archive, a corrupt backup) exits 1.
#
# Settings (environment):
#   DRILL_STANZA   pgBackRest stanza (madoguchi)
#   DRILL_LIVE     libpq conninfo of the live database, as a superuser
#                  (it writes the restore point) (dbname=madoguchi)
#   DRILL_DIR      scratch directory, created and removed (a new temporary
#                  directory)
#   DRILL_PORT     the scratch cluster's port; it listens on no address,
#                  only on a socket in DRILL_DIR (55432)
#   DRILL_TABLES   the tables compared; each has a growing id column
#   DRILL_KEEP=1   leave the scratch cluster running, to look at it
#   PGBACKREST_CONFIG and other PGBACKREST_* variables reach pgBackRest.
#
# Run as root, the cluster's commands run as the postgres user.
set -eu
bin=""

stanza=${DRILL_STANZA:-madoguchi}
live=${DRILL_LIVE:-dbname=madoguchi}
port=${DRILL_PORT:-55432}
tables=${DRILL_TABLES:-"contacts conversations messages conversation_events outbox crisis_events staff audit_log"}
keep=${DRILL_KEEP:-0}

say() { printf 'restore-drill: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# PostgreSQL refuses to run as root.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

live_sql() {
	as_pg psql -X -q -At -v ON_ERROR_STOP=1 -d "$live" "$@"
}

if [ -n "${DRILL_DIR:-}" ]; then
	dir=$DRILL_DIR
	[ -e "$dir/data" ] && die "$dir/data exists: a drill still running, or left (DRILL_KEEP)?"
	mkdir -p "$dir"
else
	dir=$(mktemp -d "${TMPDIR:-/var/tmp}/madoguchi-drill.XXXXXX")
fi
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
chmod 700 "$dir"
# The copy is reached as the same role, in the same database, as the live one.
scratch="host=$dir port=$port $(live_sql -c "SELECT format('dbname=%s user=%s', current_database(), current_user)")"

cleanup() {
	rc=$?
	if [ "$keep" = 1 ]; then
		say "kept: $dir (psql \"$scratch\"); stop with: pg_ctl -D $dir/data stop"
	else
		[ -f "$dir/data/postmaster.pid" ] && [ -n "$bin" ] &&
			as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
		rm -rf "$dir/data" "$dir/server.log" "$dir/pg_hba.conf" "$dir/pg_ident.conf" \
		    "$dir/mark.err"
		[ -n "${DRILL_DIR:-}" ] || rmdir "$dir" 2>/dev/null || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- 1. the restore point and the ids it covers --------------------------
point="drill-$(date -u +%Y%m%dT%H%M%SZ)-$$"
locks=""
maxes=""
for t in $tables; do
	locks="$locks${locks:+, }$t"
	maxes="$maxes${maxes:+ UNION ALL }SELECT '$t', coalesce(max(id), 0) FROM $t"
done
# Writers wait for the lock only while these few statements run; a lock
# that cannot be had in 5 s (a migration running, say) fails the drill
# rather than hold the desk up. The tables are locked one after another,
# so a writer that holds a later one and then writes an earlier one (an
# auto-reply: the outbox, then its contact) deadlocks with the drill, and
# PostgreSQL ends one of the two: when it is the drill, it tries again.
mark_point() {
	live_sql 2>"$dir/mark.err" <<SQL
SET lock_timeout = '5s';
BEGIN;
LOCK TABLE $locks IN SHARE MODE;
SELECT 'point', pg_create_restore_point('$point');
$maxes;
COMMIT;
SQL
}
try=1
until bounds=$(mark_point); do
	if [ "$try" -ge 3 ] || ! grep -q 'deadlock detected' "$dir/mark.err"; then
		cat "$dir/mark.err" >&2
		die "cannot mark a restore point on the live database"
	fi
	say "deadlock with a writer; marking the restore point again"
	try=$((try + 1))
	sleep 1
done
rm -f "$dir/mark.err"
bounds=$(printf '%s\n' "$bounds" | grep -v '^point|')

# --- 2. the restore point in the archive ---------------------------------
segment=$(live_sql -c 'SELECT pg_walfile_name(pg_switch_wal())')
i=0
until [ "$(live_sql -c "SELECT coalesce(last_archived_wal, '') >= '$segment' FROM pg_stat_archiver")" = t ]; do
	i=$((i + 1))
	[ "$i" -le 600 ] || die "WAL segment $segment not archived within 120 s"
	sleep 0.2
done

# --- 3. restore into a fresh cluster --------------------------------------
say "restoring the latest backup of stanza $stanza to restore point $point in $dir"
as_pg pgbackrest --stanza="$stanza" --pg1-path="$dir/data" \
	--type=name --target="$point" --target-action=promote \
	--archive-mode=off restore ||
	die "pgbackrest restore failed"
# Debian keeps these in /etc, outside the data directory: the scratch
# cluster gets its own. Only the postgres user can reach its socket.
printf 'local all all trust\n' >"$dir/pg_hba.conf"
: >"$dir/pg_ident.conf"
[ -f "$dir/data/postgresql.conf" ] || : >"$dir/data/postgresql.conf"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pg_hba.conf" "$dir/pg_ident.conf" \
	"$dir/data/postgresql.conf"
# The server of the backup's own major version.
version=$(cat "$dir/data/PG_VERSION")
bin=/usr/lib/postgresql/$version/bin
[ -x "$bin/pg_ctl" ] || bin=$(dirname "$(command -v pg_ctl)")
[ -x "$bin/pg_ctl" ] || die "no PostgreSQL $version server here"
# Whatever the live configuration says: no network, no archiving into the
# live repository, no replication, little memory; hot_standby off so the
# replay needs no setting as large as the primary's.
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 3600 \
	-o "-c port=$port -c listen_addresses='' -c unix_socket_directories='$dir'" \
	-o "-c hba_file='$dir/pg_hba.conf' -c ident_file='$dir/pg_ident.conf'" \
	-o "-c archive_mode=off -c hot_standby=off -c max_wal_senders=0" \
	-o "-c max_replication_slots=0 -c shared_buffers=128MB -c max_connections=20" \
	-o "-c shared_preload_libraries='' -c cluster_name=madoguchi-drill" \
	start >/dev/null || { tail -20 "$dir/server.log" >&2; die "the restored cluster did not start"; }
i=0
until [ "$(as_pg psql -X -At -d "$scratch" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
	i=$((i + 1))
	if [ "$i" -gt 300 ]; then
		as_pg psql -X -At -d "$scratch" -c 'SELECT 1' >&2 || true
		die "the restored cluster still recovers, or refuses us, a minute after it started"
	fi
	sleep 0.2
done

# --- 4. compare -----------------------------------------------------------
bad=0
printf '%-22s %12s %12s\n' table restored live
for line in $bounds; do
	t=${line%%|*}
	max=${line#*|}
	restored=$(as_pg psql -X -At -v ON_ERROR_STOP=1 -d "$scratch" -c "SELECT count(*) FROM $t") ||
		die "cannot count $t in the restored copy"
	now=$(live_sql -c "SELECT count(*) FROM $t WHERE id <= $max")
	mark=""
	if [ "$restored" != "$now" ]; then
		mark="  DIFFERENT"
		bad=1
	fi
	printf '%-22s %12s %12s%s\n' "$t" "$restored" "$now" "$mark"
done

# The audit trail's hash chain must hold in the copy too (when the CLI is here).
if command -v madoguchi >/dev/null 2>&1; then
	if ! as_pg env MADOGUCHI_CONFIG=/dev/null MADOGUCHI_DATABASE_URL="$scratch" \
	    madoguchi audit verify >&2; then
		say "the restored audit trail does not verify"
		bad=1
	fi
fi

if [ "$bad" -ne 0 ]; then
	say "FAILED: the restored copy differs from the live database"
	exit 1
fi
say "passed: the latest backup and the archive restore every row up to $point"
