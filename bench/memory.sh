#!/usr/bin/env bash
# madoguchid's resident memory at idle: right after start, and again after
# a burst of 20,000 webhooks at 64 connections has drained. Target: < 16 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
loadgen=build/bench/kit/loadgen/loadgen
[ -x "$loadgen" ] || cc -O2 -pthread -o "$loadgen" build/bench/kit/loadgen/loadgen.c -lcrypto

dir=$(mktemp -d /var/tmp/madoguchi-mem.XXXXXX)
chmod 755 "$dir"
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	scripts/pg.sh stop "$dir/pg" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
scripts/pg.sh start "$dir/pg" madoguchi
secret=$(openssl rand -hex 16)
umask 077
printf '%s\n' "$secret" >"$dir/secret"
echo "1:$(openssl rand -hex 32)" >"$dir/key"
export MADOGUCHI_CONFIG=/dev/null MADOGUCHI_LOG_LEVEL=warn
export MADOGUCHI_DATABASE_URL=$(scripts/pg.sh url "$dir/pg")
export MADOGUCHI_LISTEN=127.0.0.1:18085
export MADOGUCHI_CHANNEL_SECRET_FILE=$dir/secret MADOGUCHI_DATA_KEY_FILE=$dir/key
${BIN:-bin}/madoguchi migrate >/dev/null
# As bench/target.sh: a desk holding its consultations on LINE.
${BIN:-bin}/madoguchi settings set line_mode '"direct"' --by bench >/dev/null
${BIN:-bin}/madoguchid &
pid=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:18085/readyz >/dev/null && break; sleep 0.1; done
sleep 1
rss() { awk -v k="$1" '$1 == k":" {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status"; }
echo "madoguchid resident memory"
echo "  idle after start:           $(rss VmRSS) (anonymous $(rss RssAnon), files $(rss RssFile))"
"$loadgen" -u http://127.0.0.1:18085/webhook/line -s "$secret" -c 64 -n 20000 -q >/dev/null
sleep 2
echo "  idle after 20,000 webhooks: $(rss VmRSS) (anonymous $(rss RssAnon), files $(rss RssFile); peak $(rss VmHWM))"
