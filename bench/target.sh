#!/usr/bin/env bash
# Starts madoguchid the way the shared bench kit starts a target: it hands
# over PORT, CHANNEL_SECRET and DATABASE_URL (see ../shared/bench/README.md);
# madoguchi takes secrets from files, so they are written to a private
# directory first, and the fresh database is migrated.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
umask 077
printf '%s\n' "$CHANNEL_SECRET" >"$dir/secret"
echo "1:$(openssl rand -hex 32)" >"$dir/key"
export MADOGUCHI_CONFIG=/dev/null
export MADOGUCHI_DATABASE_URL="$DATABASE_URL"
export MADOGUCHI_LISTEN="127.0.0.1:$PORT"
export MADOGUCHI_CHANNEL_SECRET_FILE="$dir/secret"
export MADOGUCHI_DATA_KEY_FILE="$dir/key"
export MADOGUCHI_LOG_LEVEL=warn
bin/madoguchi migrate >/dev/null
# The peer stores what LINE delivers; so does a desk holding its
# consultations on LINE. A fresh database starts strict (the web chat),
# which needs a public_url this bench has no use for.
bin/madoguchi settings set line_mode '"direct"' --by bench >/dev/null
# Not exec: the trap removes the secrets when the kit stops the group.
bin/madoguchid
