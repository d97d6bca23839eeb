#!/usr/bin/env bash
# Benchmarks the release build over loopback HTTP and prints figures beside baselines measured
# in the same run:
#   - tokenize (POST /v1/cards, a new card per request) vs. the no-HTTP baseline: encrypt +
#     one durable SQLite insert per card, one transaction each (cardvault-bench baseline);
#   - metadata GET (audited) vs. the server's own constant answer, GET /healthz.
# Each measurement runs ROUNDS times (default 3); the table shows medians.
# The client's tokenize limits are raised (rate off, enumeration limit 1,000,000): the guard still
# does its work per card, it just never refuses the benchmark's millions of distinct cards.
# SEAL=pkcs11 runs the vault under the pkcs11 seal against a SoftHSM2 token made in the work
# folder (the master key in the token); the default is the file seal.
# BACKEND=postgres runs the vault on a throwaway PostgreSQL 15 cluster in the work folder
# (initdb, loopback port, fsync and synchronous_commit on); its tokenize baseline is pgbench
# with one INSERT of a card-sized row per transaction at the same concurrency (CONNS clients).
# Usage: scripts/bench.sh   (env: ROUNDS, DURATION seconds per wrk run, CONNS, THREADS, SEAL, BACKEND)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18787}
SEAL=${SEAL:-file}
BACKEND=${BACKEND:-sqlite}
PG=/usr/lib/postgresql/15/bin

scripts/ensure-deps.sh
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk
fi
swift build -c release --product cardvault >&2
swift build -c release --product cardvault-bench >&2
BIN_DIR="$(swift build -c release --show-bin-path)"
CV="$BIN_DIR/cardvault"
BENCH="$BIN_DIR/cardvault-bench"

WORK="$(mktemp -d /tmp/cardvault-bench.XXXXXX)"
SERVER_PID=""
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  wait 2>/dev/null
  [ -f "$WORK/pg/postmaster.pid" ] && as_postgres "$PG/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
DATABASE="$WORK/vault.sqlite"
if [ "$BACKEND" = postgres ]; then
  [ -x "$PG/initdb" ] || { echo "BACKEND=postgres needs Debian's postgresql-15" >&2; exit 1; }
  chmod 755 "$WORK"
  [ "$(id -u)" -eq 0 ] && chown postgres "$WORK"
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_postgres "$PG/initdb" -D "$WORK/pg" -U cardvault -A trust -E UTF8 >/dev/null
  as_postgres "$PG/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o "-p $PGPORT -k $WORK -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
  "$PG/psql" -h 127.0.0.1 -p "$PGPORT" -U cardvault -d postgres -qc 'CREATE DATABASE vault' -c 'CREATE DATABASE baseline'
  "$PG/psql" -h 127.0.0.1 -p "$PGPORT" -U cardvault -d baseline -qc \
    'CREATE TABLE cards (id BIGSERIAL PRIMARY KEY, fingerprint TEXT UNIQUE NOT NULL, nonce BYTEA NOT NULL, ciphertext BYTEA NOT NULL, created_at BIGINT NOT NULL)'
  # One card-sized row per transaction: a unique fingerprint, a 24-byte nonce, 64 bytes of ciphertext.
  echo "INSERT INTO cards (fingerprint, nonce, ciphertext, created_at) VALUES (md5(random()::text || clock_timestamp()::text), decode(substr(md5(random()::text) || md5(random()::text), 1, 48), 'hex'), decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex'), 0);" > "$WORK/insert.sql"
  DATABASE="postgres://cardvault@127.0.0.1:$PGPORT/vault"
fi
FLAGS=(--database "$DATABASE" --keys-dir "$WORK/keys")

if [ "$SEAL" = pkcs11 ]; then
  mkdir -p "$WORK/softhsm/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK/softhsm/tokens" > "$WORK/softhsm/softhsm2.conf"
  export SOFTHSM2_CONF="$WORK/softhsm/softhsm2.conf"
  PIN="bench-$RANDOM$RANDOM"
  softhsm2-util --init-token --free --label cardvault-bench --pin "$PIN" --so-pin "$PIN-so" >/dev/null
  (umask 077; echo "$PIN" > "$WORK/softhsm/pin")
  export CARDVAULT_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so CARDVAULT_PKCS11_TOKEN=cardvault-bench \
    CARDVAULT_PKCS11_PIN_FILE="$WORK/softhsm/pin"
fi
"$CV" keys init --seal "$SEAL" "${FLAGS[@]}" >/dev/null
export CARDVAULT_BENCH_SECRET="$("$CV" clients add bench --scopes cards:write,cards:read --json "${FLAGS[@]}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
"$BENCH" seed --count 2000 --database "$DATABASE" --keys-dir "$WORK/keys" > "$WORK/tokens.txt"
export CARDVAULT_BENCH_TOKENS="$WORK/tokens.txt"

CARDVAULT_TOKENIZE_RATE=0 CARDVAULT_ENUMERATION_LIMIT=1000000 CARDVAULT_LOG_LEVEL=warning "$CV" serve --listen "127.0.0.1:$PORT" "${FLAGS[@]}" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

cat bench/report.lua > "$WORK/healthz.lua"
cat bench/tokenize.lua bench/report.lua > "$WORK/tokenize.lua"
cat bench/metadata.lua bench/report.lua > "$WORK/metadata.lua"

run_wrk() { # name path script
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$3" "http://127.0.0.1:$PORT$2" | grep '^RESULT')
  echo "$1 $out" | tee -a "$WORK/results.txt" >&2
}

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  if [ "$BACKEND" = postgres ]; then
    b=$("$PG/pgbench" -n -c "$CONNS" -j "$THREADS" -T 5 -f "$WORK/insert.sql" -h 127.0.0.1 -p "$PGPORT" -U cardvault baseline 2>/dev/null \
      | awk '/^tps = / {print $3; exit}')
  else
    b=$("$BENCH" baseline --database "$WORK/baseline.sqlite" --seconds 5 | awk '/baseline_rows_per_second/ {print $2}')
  fi
  echo "baseline RESULT rps=$b" | tee -a "$WORK/results.txt" >&2
  run_wrk healthz /healthz "$WORK/healthz.lua"
  run_wrk tokenize /v1/cards "$WORK/tokenize.lua"
  run_wrk metadata /v1/cards "$WORK/metadata.lua"
done

SEAL="$SEAL" BACKEND="$BACKEND" python3 - "$WORK/results.txt" "$CONNS" "$DURATION" "$ROUNDS" <<'PY'
import re, statistics, sys
path, conns, duration, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
runs = {}
for line in open(path):
    name, rest = line.split(" RESULT ")
    runs.setdefault(name, []).append({k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", rest)})
def med(name, key):
    values = [r[key] for r in runs.get(name, []) if key in r]
    return statistics.median(values) if values else float("nan")
errors = sum(r.get("non2xx", 0) + r.get("socket_errors", 0) for n in runs for r in runs[n])
import os
backend = os.environ.get('BACKEND', 'sqlite')
print(f"cardvault benchmark ({os.environ.get('SEAL', 'file')} seal, {backend}): {rounds} rounds, medians; wrk {conns} connections, {duration} s per run")
print(f"{'measurement':<40}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
label = f"baseline: pgbench 1 INSERT/txn, {conns} clients" if backend == "postgres" else "baseline: encrypt + 1 txn/card (no HTTP)"
print(f"{label:<40}{med('baseline','rps'):>10.0f}{'':>9}{'':>9}")
for name, label in [("healthz", "GET /healthz (framework ceiling)"), ("tokenize", "POST /v1/cards (new card each)"), ("metadata", "GET /v1/cards/{token} (audited)")]:
    print(f"{label:<40}{med(name,'rps'):>10.0f}{med(name,'p50_ms'):>9.2f}{med(name,'p99_ms'):>9.2f}")
t = med("tokenize", "rps") / med("baseline", "rps")
m = med("metadata", "rps") / med("healthz", "rps")
print(f"tokenize / baseline  = {t:.2f}  (target >= 1.5)  p99 {med('tokenize','p99_ms'):.1f} ms (target < 20)")
print(f"metadata / healthz   = {m:.2f}  (target >= 0.4)")
print(f"non-2xx answers and socket errors: {int(errors)}")
PY
