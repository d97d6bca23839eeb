#!/usr/bin/env bash
# Sets up and runs cardvault on this machine with its embedded defaults:
# libsodium-dev installed if missing, release build of the vault and of the provider simulators
# (.build/release/cardvault-simulator, for the walk-throughs), dev keys in ./keys, SQLite in
# ./data, listening on 127.0.0.1:8787 (CARDVAULT_LISTEN, or arguments, which go to `serve`).
# On first run it also creates a client `dev` with the card scopes and keeps its secret in
# ./data/dev-client-secret (mode 0600) for the README's curl examples. Run it again at will:
# every step is done once. With BINARY set (the docs test) it uses that binary and builds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
if [ -z "${BINARY:-}" ]; then
  swift build -c release --product cardvault
  swift build -c release --product cardvault-simulator
  BINARY="$(swift build -c release --show-bin-path)/cardvault"
fi
BIN=$BINARY
mkdir -p -m 700 data
"$BIN" keys init
if [ ! -s data/dev-client-secret ]; then
  umask 077
  "$BIN" clients add dev --scopes cards:write,cards:read --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' > data/dev-client-secret
  echo "created client 'dev'; its secret is in data/dev-client-secret"
fi
exec "$BIN" serve "$@"
