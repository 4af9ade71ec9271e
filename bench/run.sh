#!/usr/bin/env bash
# madoguchid against the peer in one run of the shared bench kit
# (../shared/bench/run.sh): floors, the bare-evhttp ceiling, the Node.js
# peer, then madoguchid, all with durable commits (fsync on,
# synchronous_commit on), at concurrency 1, 16 and 64, zero loss checked by
# counting rows. Then madoguchid's resident memory at idle.
#
#   make bench                       # about 4 minutes
#   DURATION=8 WARMUP=2 make bench   # a quick look
# Results: build/bench/results.txt and build/bench/memory.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
kit=${BENCH_KIT:-$root/../shared/bench}
[ -f "$kit/run.sh" ] || { echo "bench: no kit at $kit (set BENCH_KIT)" >&2; exit 1; }

# The kit builds its tools beside itself; the shared copy is read-only.
mkdir -p build/bench
rm -rf build/bench/kit
cp -r "$kit" build/bench/kit
chmod -R u+w build/bench/kit

TARGET_NAME=madoguchi \
TARGET_CMD="bash '$root/bench/target.sh'" \
TARGET_URL="http://127.0.0.1:${TARGET_PORT:-18081}/webhook/line" \
TARGET_SCHEMA=none \
TARGET_COUNT_SQL="SELECT count(*) FROM messages WHERE direction = 'in'" \
RESULTS_FILE="$root/build/bench/results.txt" \
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp} \
	bash build/bench/kit/run.sh

bash bench/memory.sh | tee build/bench/memory.txt
