#!/usr/bin/env bash
# make run: a local desk with a simulated LINE. Creates (once) a PostgreSQL
# cluster and demo secrets in var/, migrates, starts the simulator and
# madoguchid, and stops all three on Ctrl-C. Data survives to the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# The demo settings plus this checkout's database (libpq wants an absolute
# socket directory), so the CLI finds the same desk: MADOGUCHI_CONFIG=var/demo.conf
demo_config() {
	mkdir -p var
	{ cat etc/demo.conf; echo "database_url = host=$root/var/pg/sock dbname=madoguchi user=madoguchi"; } \
		>var/demo.conf
}
export MADOGUCHI_CONFIG=var/demo.conf
SIM_PORT=8091
DAEMON_URL=http://127.0.0.1:8080

# In a subshell: the private umask must not reach var/pg and the rest.
make_secrets() (
	mkdir -p var/secrets
	chmod 700 var/secrets
	umask 077
	[ -s var/secrets/channel_secret ] || openssl rand -hex 16 >var/secrets/channel_secret
	[ -s var/secrets/access_token ] || openssl rand -hex 32 >var/secrets/access_token
	[ -s var/secrets/data.key ] || echo "1:$(openssl rand -hex 32)" >var/secrets/data.key
)

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A supervisor to sign in with. Only a hash of a password is kept, so a
# one-time password not yet used is replaced by a new one on each run.
demo_account() {
	local state
	state=$(bin/madoguchi user list | awk '$1 == "demo" { print $5 }')
	case "$state" in
	"") bin/madoguchi user add demo --name 'デモ スーパーバイザー' \
		--role supervisor --by make-run ;;
	one-time) bin/madoguchi user reset-password demo --by make-run ;;
	*) echo "login: demo (with the password you chose; a lost one:" \
		"MADOGUCHI_CONFIG=var/demo.conf bin/madoguchi user reset-password demo)" ;;
	esac
}

pids=()
stop_all() {
	trap - INT TERM EXIT
	echo
	echo "stopping..."
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	scripts/pg.sh stop var/pg || true
	echo "stopped. Data is kept in var/; the next make run continues with it."
}

for p in 8080 $SIM_PORT; do
	port_free "$p" || { echo "port $p is in use: is another make run going?" >&2; exit 1; }
done
make_secrets
demo_config
echo "database: starting PostgreSQL in var/pg"
scripts/pg.sh start var/pg madoguchi
trap stop_all INT TERM EXIT
bin/madoguchi migrate
account=$(demo_account)

bin/linesim serve --listen "127.0.0.1:$SIM_PORT" \
	--access-token-file var/secrets/access_token \
	--channel-secret-file var/secrets/channel_secret \
	--webhook-url "$DAEMON_URL/webhook/line" >var/linesim.log 2>&1 &
pids+=($!)
bin/madoguchid &
pids+=($!)

for _ in $(seq 50); do
	curl -sf "$DAEMON_URL/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
cat <<BANNER

  madoguchi is running (Ctrl-C stops it)
    console      $DAEMON_URL/console/
$(echo "$account" | sed 's/^/                 /')
                 (an authenticator app enrols at the first sign-in; or
                 oathtool --totp -b SECRET with the secret shown there)
    webhook      $DAEMON_URL/webhook/line
    health       $DAEMON_URL/readyz   metrics $DAEMON_URL/metrics
    LINE (sim)   http://127.0.0.1:$SIM_PORT   what LINE was asked: http://127.0.0.1:$SIM_PORT/sim/messages
    database     var/pg (psql "host=$root/var/pg/sock dbname=madoguchi user=madoguchi")

  Send a message as a LINE user, from another terminal:
    bin/linesim send --text 'こんにちは、相談したいことがあります'
  and see it stored, with the desk's auto-reply (encrypted at rest; --text
  decrypts it here), and what was sent to LINE:
    MADOGUCHI_CONFIG=var/demo.conf bin/madoguchi messages --text
    curl -s http://127.0.0.1:$SIM_PORT/sim/messages
  The desk's calendar and texts: MADOGUCHI_CONFIG=var/demo.conf bin/madoguchi calendar check \$(date -Iseconds)

BANNER
# The desk's mode as this var/ holds it (a desk may have been turned direct).
if [ "$(MADOGUCHI_CONFIG=var/demo.conf bin/madoguchi settings get line_mode 2>/dev/null)" = '"direct"' ]; then
	cat <<MODE
  The consultation happens on LINE itself (direct mode, chosen for this
  desk). LINE only as the doorway to the desk's own web chat (strict mode,
  the default for new desks; webchat/API.md):
    MADOGUCHI_CONFIG=var/demo.conf bin/madoguchi settings set line_mode '"strict"'

MODE
else
	cat <<MODE
  LINE is only the doorway (strict mode, the default; webchat/API.md): a
  message sent as above is answered with a button; its link (in what LINE
  was asked) opens the desk's web chat at $DAEMON_URL/chat/, where the
  console's replies arrive. To hold the consultation on LINE itself:
    MADOGUCHI_CONFIG=var/demo.conf bin/madoguchi settings set line_mode '"direct"'

MODE
fi
cat <<BANNER
  Reports (月次報告, 業務日誌...): in the console, or
    MADOGUCHI_CONFIG=var/demo.conf bin/madoguchi report monthly \$(date +%Y-%m)

BANNER
wait -n "${pids[@]}" || true
