#!/usr/bin/env bash
# The short evidence runs (also part of scripts/test.sh and so of CI), each printing its figures:
#   1. crash durability: 20 kill -9 of the server under tokenize load, nothing acknowledged lost;
#   2. rewrap crash: 10 kill -9 of `keys rewrap` at random points, then completion; every card
#      decrypts, one version in use, audit chain intact;
#   3. failover (PostgreSQL, when installed): primary killed under load on two instances, the
#      synchronous standby promoted, nothing acknowledged lost (scripts/evidence/failover.sh);
#   4. HA, shortened (root with Patroni and etcd installed; HA_SCENARIOS=none skips it): the lab
#      of scripts/run-ha.sh, scenarios 1, 2, 5 and 7 of scripts/evidence/ha.sh.
# BINARY defaults to the debug build; pass a release binary for faster runs.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BINARY:-"$(swift build --show-bin-path)/cardvault"}
[ -x "$BIN" ] || swift build --product cardvault >&2
python3 scripts/evidence/crash_durability.py "$BIN" "${CRASH_ROUNDS:-20}" "${CRASH_SECONDS:-1.5}" | tail -1
python3 scripts/evidence/rewrap_crash.py "$BIN" "${REWRAP_CARDS:-8000}" "${REWRAP_KILLS:-10}" | tail -1
BINARY="$BIN" scripts/evidence/failover.sh | tail -1
[ "${HA_SCENARIOS:-1,2,5,7}" = none ] || BINARY="$BIN" scripts/evidence/ha.sh "${HA_SCENARIOS:-1,2,5,7}" | grep -v '^scenario' | tail -8
