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
# INSTANCES=2 (with BACKEND=postgres) also starts a second server on the same database and
# measures tokenize and metadata twice per round: against one instance with every connection,
# and with the connections split across both (two wrk processes at once; req/s summed, p50 and
# p99 the worse of the two); it prints two-instance / one-instance.
# Usage: scripts/bench.sh   (env: ROUNDS, DURATION seconds per wrk run, CONNS, THREADS, SEAL, BACKEND, INSTANCES, BIN_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18787}
SEAL=${SEAL:-file}
BACKEND=${BACKEND:-sqlite}
INSTANCES=${INSTANCES:-1}
[ "$INSTANCES" = 1 ] || [ "$BACKEND" = postgres ] || { echo "INSTANCES=2 needs BACKEND=postgres (several instances share one database)" >&2; exit 1; }
PG=/usr/lib/postgresql/15/bin

scripts/ensure-deps.sh
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk
fi
# BIN_DIR=folder benchmarks the cardvault and cardvault-bench binaries there instead (an older
# build, for same-hour before/after pairs).
if [ -z "${BIN_DIR:-}" ]; then
  swift build -c release --product cardvault >&2
  swift build -c release --product cardvault-bench >&2
  BIN_DIR="$(swift build -c release --show-bin-path)"
fi
CV="$BIN_DIR/cardvault"
BENCH="$BIN_DIR/cardvault-bench"

WORK="$(mktemp -d /tmp/cardvault-bench.XXXXXX)"
SERVER_PID=""
SECOND_PID=""
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  [ -n "$SECOND_PID" ] && kill "$SECOND_PID" 2>/dev/null
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
if [ "$INSTANCES" = 2 ]; then
  CARDVAULT_TOKENIZE_RATE=0 CARDVAULT_ENUMERATION_LIMIT=1000000 CARDVAULT_LOG_LEVEL=warning "$CV" serve --listen "127.0.0.1:$((PORT + 1))" \
    --admin-socket "$WORK/admin-2.sock" "${FLAGS[@]}" 2>"$WORK/server-2.log" &
  SECOND_PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$((PORT + 1))/healthz" >/dev/null && break; sleep 0.1; done
fi

cat bench/report.lua > "$WORK/healthz.lua"
cat bench/tokenize.lua bench/report.lua > "$WORK/tokenize.lua"
cat bench/metadata.lua bench/report.lua > "$WORK/metadata.lua"

# CPU time (ms) the vault servers and, for postgres, the database's processes have used so far:
# per-request CPU is the difference over a run divided by its requests (the capacity model in
# docs/performance.md is built from it).
cpu_ms() { # pid...
  local total=0 p
  for p in "$@"; do [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo $((total * 1000 / $(getconf CLK_TCK)))
}
vault_pids() { echo "$SERVER_PID" $SECOND_PID; }
db_pids() { [ "$BACKEND" = postgres ] && pgrep -u postgres -d ' ' postgres || true; }
run_wrk() { # name path script
  local out v0 d0
  v0=$(cpu_ms $(vault_pids)); d0=$(cpu_ms $(db_pids))
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$3" "http://127.0.0.1:$PORT$2" | grep '^RESULT')
  echo "$1 $out vault_cpu_ms=$(( $(cpu_ms $(vault_pids)) - v0 )) db_cpu_ms=$(( $(cpu_ms $(db_pids)) - d0 ))" | tee -a "$WORK/results.txt" >&2
}
run_wrk_split() { # name path script: half the connections on each instance, at the same time
  local half=$((CONNS / 2)) threads=$(( THREADS > 1 ? THREADS / 2 : 1 ))
  CARDVAULT_BENCH_STREAM=1 wrk -t"$threads" -c"$half" -d"${DURATION}s" --latency -s "$3" "http://127.0.0.1:$PORT$2" | grep '^RESULT' > "$WORK/split-1" &
  local first=$!
  CARDVAULT_BENCH_STREAM=2 wrk -t"$threads" -c"$half" -d"${DURATION}s" --latency -s "$3" "http://127.0.0.1:$((PORT + 1))$2" | grep '^RESULT' > "$WORK/split-2" &
  local second=$!
  wait "$first" "$second"
  local out
  out=$(python3 - "$WORK/split-1" "$WORK/split-2" <<'PY'
import re, sys
runs = [{k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", open(p).read())} for p in sys.argv[1:]]
print("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d socket_errors=%d" % (
    sum(r["rps"] for r in runs), max(r["p50_ms"] for r in runs), max(r["p99_ms"] for r in runs),
    sum(r["non2xx"] for r in runs), sum(r["socket_errors"] for r in runs)))
PY
)
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
  if [ "$INSTANCES" = 2 ]; then
    run_wrk_split tokenize2 /v1/cards "$WORK/tokenize.lua"
    run_wrk_split metadata2 /v1/cards "$WORK/metadata.lua"
  fi
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
def per_request(name, key):
    values = [r[key] / r["requests"] for r in runs.get(name, []) if key in r and r.get("requests")]
    return statistics.median(values) if values else float("nan")
for name in ["tokenize", "metadata"]:
    line = f"CPU per {name} request: vault {per_request(name, 'vault_cpu_ms'):.3f} ms"
    if backend == "postgres":
        line += f", PostgreSQL {per_request(name, 'db_cpu_ms'):.3f} ms"
    print(line)
t = med("tokenize", "rps") / med("baseline", "rps")
m = med("metadata", "rps") / med("healthz", "rps")
targets = ((0.5, 50, 0.25) if backend == "postgres" else (1.5, 20, 0.4))
print(f"tokenize / baseline  = {t:.2f}  (target >= {targets[0]})  p99 {med('tokenize','p99_ms'):.1f} ms (target < {targets[1]})")
print(f"metadata / healthz   = {m:.2f}  (target >= {targets[2]})")
if "tokenize2" in runs:
    for name, label in [("tokenize2", "POST /v1/cards, 2 instances"), ("metadata2", "GET /v1/cards/{token}, 2 instances")]:
        print(f"{label:<40}{med(name,'rps'):>10.0f}{med(name,'p50_ms'):>9.2f}{med(name,'p99_ms'):>9.2f}")
    print(f"2 instances / 1: tokenize {med('tokenize2','rps') / med('tokenize','rps'):.2f}, metadata {med('metadata2','rps') / med('metadata','rps'):.2f}  (target >= 1.0)")
print(f"non-2xx answers and socket errors: {int(errors)}")
PY
