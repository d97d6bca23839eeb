#!/usr/bin/env bash
# Sets up and runs cardvault on this machine with its embedded defaults:
# libsodium-dev installed if missing, release build, dev keys in ./keys, SQLite in ./data,
# listening on 127.0.0.1:8787. On first run it also creates a client `dev` with every scope
# and prints its secret once (kept in ./data/dev-client-secret, mode 0600, for the README's
# curl examples).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product cardvault
BIN="$(swift build -c release --show-bin-path)/cardvault"
mkdir -p -m 700 data
"$BIN" keys init
if [ ! -s data/dev-client-secret ]; then
  umask 077
  "$BIN" clients add dev --scopes cards:write,cards:read --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' > data/dev-client-secret
  echo "created client 'dev'; its secret is in data/dev-client-secret"
fi
exec "$BIN" serve "$@"
