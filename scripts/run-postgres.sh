#!/usr/bin/env bash
# The optional third command: cardvault on PostgreSQL with two instances, on this machine.
# Installs postgresql-15 if missing, starts a local cluster in ./data/pg (loopback port 55432,
# as the postgres user when run as root), creates the database, dev keys in ./keys-pg and a
# `dev` client (secret in data/pg-dev-client-secret, 0600), then runs two instances on
# 127.0.0.1:8787 and 127.0.0.1:8788 (PORT_A, PORT_B) sharing it. Ctrl-C stops both instances;
# the cluster keeps running (stop it with: scripts/run-postgres.sh stop). Admin commands name the
# vault: --database postgres://cardvault@127.0.0.1:55432/cardvault --keys-dir ./keys-pg.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=/usr/lib/postgresql/15/bin
PGPORT=${PGPORT:-55432}
DATA="$PWD/data/pg"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${1:-}" = stop ]; then
  as_postgres "$PG/pg_ctl" -D "$DATA" -m fast stop || true
  exit 0
fi
scripts/ensure-deps.sh
if [ ! -x "$PG/initdb" ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  mkdir -p /etc/postgresql-common 2>/dev/null || true
  [ -f /etc/postgresql-common/createcluster.conf ] || echo 'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15
fi
mkdir -p -m 700 data
if [ ! -d "$DATA" ]; then
  mkdir -p "$DATA"
  [ "$(id -u)" -eq 0 ] && chown postgres "$DATA" && chmod 711 data
  as_postgres "$PG/initdb" -D "$DATA" -U cardvault -A trust -E UTF8 >/dev/null
fi
if ! as_postgres "$PG/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  as_postgres "$PG/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -o "-p $PGPORT -k $DATA -c listen_addresses=127.0.0.1" start >/dev/null || {
    echo "PostgreSQL did not start on 127.0.0.1:$PGPORT; its log is $DATA/server.log:" >&2
    tail -5 "$DATA/server.log" >&2
    echo "(another server on that port? choose another one: PGPORT=55433 $0)" >&2
    exit 1
  }
fi
"$PG/psql" -h 127.0.0.1 -p "$PGPORT" -U cardvault -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'cardvault'" | grep -q 1 \
  || "$PG/psql" -h 127.0.0.1 -p "$PGPORT" -U cardvault -d postgres -qc 'CREATE DATABASE cardvault'
if [ -z "${BINARY:-}" ]; then
  swift build -c release --product cardvault
  BINARY="$(swift build -c release --show-bin-path)/cardvault"
fi
BIN=$BINARY
URL="postgres://cardvault@127.0.0.1:$PGPORT/cardvault"
FLAGS=(--database "$URL" --keys-dir ./keys-pg)
"$BIN" keys init "${FLAGS[@]}"
if [ ! -s data/pg-dev-client-secret ]; then
  (umask 077; "$BIN" clients add dev --scopes cards:write,cards:read --json "${FLAGS[@]}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' > data/pg-dev-client-secret)
  echo "created client 'dev'; its secret is in data/pg-dev-client-secret"
fi
PORT_A=${PORT_A:-8787}; PORT_B=${PORT_B:-8788}
"$BIN" serve --listen "127.0.0.1:$PORT_A" "${FLAGS[@]}" &   # admin socket: keys-pg/admin.sock, the default
A=$!
"$BIN" serve --listen "127.0.0.1:$PORT_B" --admin-socket keys-pg/admin-b.sock "${FLAGS[@]}" &
B=$!
trap 'kill $A $B 2>/dev/null; wait' INT TERM EXIT
echo "two instances on $URL: http://127.0.0.1:$PORT_A and http://127.0.0.1:$PORT_B (Ctrl-C stops them)"
echo "admin commands reach the first instance: cardvault COMMAND --database $URL --keys-dir ./keys-pg"
wait
