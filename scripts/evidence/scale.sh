#!/usr/bin/env bash
# Scale evidence (release build): tokenize throughput and metadata GET latency on an almost empty
# vault, then the same after seeding CARDS cards (default 1,000,000), and the database size per
# card. Same wrk settings both times (CONNS connections, RUN_SECONDS per run).
set -euo pipefail
cd "$(dirname "$0")/../.."
CARDS=${CARDS:-1000000}; CONNS=${CONNS:-32}; RUN=${RUN_SECONDS:-10}; PORT=${PORT:-18798}
scripts/ensure-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
swift build -c release --product cardvault >&2 && swift build -c release --product cardvault-bench >&2
BIN="$(swift build -c release --show-bin-path)"; CV="$BIN/cardvault"
WORK="$(mktemp -d /tmp/cardvault-scale.XXXXXX)"; SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
FLAGS=(--database "$WORK/vault.sqlite" --keys-dir "$WORK/keys")
"$CV" keys init "${FLAGS[@]}" >/dev/null
export CARDVAULT_BENCH_SECRET="$("$CV" clients add scale --scopes cards:write,cards:read --json "${FLAGS[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
cat bench/metadata.lua bench/report.lua > "$WORK/get.lua"; cat bench/tokenize.lua bench/report.lua > "$WORK/post.lua"
serve() { CARDVAULT_TOKENIZE_RATE=0 CARDVAULT_ENUMERATION_LIMIT=1000000 CARDVAULT_ENUMERATION_TENANT_LIMIT=1000000 CARDVAULT_LOG_LEVEL=warning "$CV" serve --listen "127.0.0.1:$PORT" "${FLAGS[@]}" 2>>"$WORK/server.log" & SERVER=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done; }
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; }
measure() { # label
  serve
  echo "$1 tokenize $(wrk -t2 -c"$CONNS" -d"${RUN}s" --latency -s "$WORK/post.lua" "http://127.0.0.1:$PORT/v1/cards" | grep '^RESULT')" >> "$WORK/results.txt"
  echo "$1 get $(wrk -t2 -c"$CONNS" -d"${RUN}s" --latency -s "$WORK/get.lua" "http://127.0.0.1:$PORT/v1/cards" | grep '^RESULT')" >> "$WORK/results.txt"
  stop
}
# Almost empty: 2,000 cards to read.
"$BIN/cardvault-bench" seed --count 2000 --offset 90000000 --database "$WORK/vault.sqlite" --keys-dir "$WORK/keys" > "$WORK/small.txt"
export CARDVAULT_BENCH_TOKENS="$WORK/small.txt"
measure empty
# Grow to CARDS cards, then read random ones across all of them.
t0=$(date +%s)
"$BIN/cardvault-bench" seed --count "$CARDS" --database "$WORK/vault.sqlite" --keys-dir "$WORK/keys" > "$WORK/all.txt"
seed_seconds=$(( $(date +%s) - t0 ))
shuf -n 200000 "$WORK/all.txt" > "$WORK/sample.txt"; export CARDVAULT_BENCH_TOKENS="$WORK/sample.txt"
measure full
python3 - "$WORK" "$seed_seconds" <<'PY'
import os, re, sqlite3, sys
work, seed_seconds = sys.argv[1], int(sys.argv[2])
db = f"{work}/vault.sqlite"
con = sqlite3.connect(db); con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
cards = con.execute("SELECT COUNT(*) FROM cards").fetchone()[0]
audit = con.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
con.close()
size = os.path.getsize(db)
r = {}
for line in open(f"{work}/results.txt"):
    phase, kind = line.split()[:2]
    r[(phase, kind)] = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
print(f"scale evidence: {cards:,} cards (seeded in {seed_seconds} s, {cards / max(seed_seconds, 1):,.0f} cards/s), {audit:,} audit rows")
print(f"  database {size / 1e6:,.0f} MB = {size / cards:,.0f} bytes per card (card row, indexes and its audit row)")
print(f"  {'':18}{'empty req/s':>12}{'1M req/s':>10}{'ratio':>7}{'empty p50/p99 ms':>18}{'1M p50/p99 ms':>16}")
for kind in ("tokenize", "get"):
    e, f = r[("empty", kind)], r[("full", kind)]
    print(f"  {kind:<18}{e['rps']:>12.0f}{f['rps']:>10.0f}{f['rps'] / e['rps']:>7.2f}{e['p50_ms']:>9.2f}/{e['p99_ms']:<8.2f}{f['p50_ms']:>7.2f}/{f['p99_ms']:.2f}")
print(f"  errors: {int(sum(v['non2xx'] + v['socket_errors'] for v in r.values()))}")
PY
