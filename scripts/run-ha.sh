#!/usr/bin/env bash
# The HA lab on one host (root): three PostgreSQL 15 nodes under Patroni with etcd, two vault
# instances and a Horizonpay simulator, each in its own network namespace (scripts/ha/lab.py
# says how it is wired; deploy/README.md how production differs).
#   scripts/run-ha.sh            bring it up from nothing (installs Debian's patroni,
#                                etcd-server, pgbackrest and postgresql-15 when missing)
#   scripts/run-ha.sh status     Patroni's members and each vault's /readyz
#   scripts/run-ha.sh stop       remove everything it made
# CARDVAULT_HA_STRICT=1 starts Patroni with synchronous_mode_strict. BINARY defaults to the debug
# build of cardvault (cardvault-simulator is taken from the same folder).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-up}" in
  stop|status) exec python3 scripts/ha/lab.py "$1" ;;
  up) ;;
  *) echo "usage: scripts/run-ha.sh [up|status|stop]" >&2; exit 64 ;;
esac
[ "$(id -u)" = 0 ] || { echo "run-ha: needs root (network namespaces)" >&2; exit 1; }
if ! command -v patroni >/dev/null || ! command -v etcd >/dev/null || ! command -v pgbackrest >/dev/null \
  || [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p /etc/postgresql-common
  [ -f /etc/postgresql-common/createcluster.conf ] || echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf
  apt-get update -q >/dev/null
  apt-get install -y -q patroni etcd-server pgbackrest postgresql-15 iproute2 >/dev/null
fi
BIN=${BINARY:-"$(swift build --show-bin-path)/cardvault"}
if [ ! -x "$BIN" ] || [ ! -x "$(dirname "$BIN")/cardvault-simulator" ]; then
  swift build --product cardvault >&2
  swift build --product cardvault-simulator >&2
fi
exec python3 scripts/ha/lab.py up "$BIN"
