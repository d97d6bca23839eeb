#!/usr/bin/env bash
# HA evidence (scripts/evidence/ha.py says what it does): brings up the lab of scripts/run-ha.sh,
# runs the scenarios under load, prints one table, removes the lab. Needs root.
# Usage: scripts/evidence/ha.sh [SCENARIOS]   (default 1,2,3,4,5,6,7; CI runs 1,2,5,7)
# BINARY defaults to the debug build.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "ha: skipped (needs root for network namespaces)"; exit 0; }
if ! command -v patroni >/dev/null || ! command -v etcd >/dev/null || ! command -v pgbackrest >/dev/null; then
  echo "ha: skipped (patroni, etcd-server or pgbackrest is not installed; scripts/run-ha.sh installs them)"
  exit 0
fi
BIN=${BINARY:-"$(swift build --show-bin-path)/cardvault"}
[ -x "$BIN" ] || swift build --product cardvault >&2
[ -x "$(dirname "$BIN")/cardvault-simulator" ] || swift build --product cardvault-simulator >&2
exec python3 scripts/evidence/ha.py "$BIN" "$@"
