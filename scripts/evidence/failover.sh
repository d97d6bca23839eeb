#!/usr/bin/env bash
# Failover evidence (PostgreSQL backend): a primary and a synchronous standby on loopback, two
# vault instances under tokenize load, kill -9 of the primary, promotion of the standby; every
# acknowledged token read back. Prints acknowledged, lost (must be 0) and the seconds without
# service. Needs Debian's postgresql-15 (`.ci/run` installs it). Part of scripts/evidence.sh.
# Usage: scripts/evidence/failover.sh [SECONDS_BEFORE] [SECONDS_AFTER] [DETECTION_SECONDS]
# BINARY defaults to the debug build.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  echo "failover: skipped (postgresql-15 is not installed)"
  exit 0
fi
BIN=${BINARY:-"$(swift build --show-bin-path)/cardvault"}
[ -x "$BIN" ] || swift build --product cardvault >&2
exec python3 scripts/evidence/failover.py "$BIN" "$@"
