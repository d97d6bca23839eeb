#!/usr/bin/env bash
# Load evidence (release build), each figure a median-free single run on a noisy 2-core box:
#   1. 1,000 concurrent connections on the audited metadata GET: errors must be 0;
#   2. a tokenize + GET load (CONNS each) without a rewrap, then the same load while
#      `keys rotate` + `keys rewrap` re-encrypt CARDS cards (default 100,000): p99 of both
#      beside each other, and the rewrap's rows per second.
# Usage: scripts/evidence/load.sh   (env: CARDS, CONNS, RUN_SECONDS)
set -euo pipefail
cd "$(dirname "$0")/../.."
CARDS=${CARDS:-100000}; CONNS=${CONNS:-32}; SECONDS_RUN=${RUN_SECONDS:-15}; PORT=${PORT:-18797}
scripts/ensure-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
swift build -c release --product cardvault >&2 && swift build -c release --product cardvault-bench >&2
BIN="$(swift build -c release --show-bin-path)"; CV="$BIN/cardvault"
WORK="$(mktemp -d /tmp/cardvault-load.XXXXXX)"; SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
FLAGS=(--database "$WORK/vault.sqlite" --keys-dir "$WORK/keys")
"$CV" keys init "${FLAGS[@]}" >/dev/null
export CARDVAULT_BENCH_SECRET="$("$CV" clients add load --scopes cards:write,cards:read --json "${FLAGS[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
started=$(date +%s.%N)
"$BIN/cardvault-bench" seed --count "$CARDS" --database "$WORK/vault.sqlite" --keys-dir "$WORK/keys" > "$WORK/tokens.txt"
echo "seeded $CARDS cards in $(python3 -c "print(round($(date +%s.%N) - $started, 1))") s" >&2
export CARDVAULT_BENCH_TOKENS="$WORK/tokens.txt"
ulimit -n 65536 2>/dev/null || ulimit -n 8192
CARDVAULT_TOKENIZE_RATE=0 CARDVAULT_ENUMERATION_LIMIT=1000000 CARDVAULT_ENUMERATION_TENANT_LIMIT=1000000 CARDVAULT_LOG_LEVEL=warning "$CV" serve --listen "127.0.0.1:$PORT" "${FLAGS[@]}" 2>"$WORK/server.log" & SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
cat bench/metadata.lua bench/report.lua > "$WORK/get.lua"; cat bench/tokenize.lua bench/report.lua > "$WORK/post.lua"
V="http://127.0.0.1:$PORT"

# 1. A thousand connections held open.
thousand=$(wrk -t2 -c1000 -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$WORK/get.lua" "$V/v1/cards" | grep '^RESULT')
echo "1000 connections: $thousand" >&2

mixed() { # label duration
  wrk -t1 -c"$CONNS" -d"$2" --latency -s "$WORK/post.lua" "$V/v1/cards" | grep '^RESULT' | sed "s/^/$1 tokenize /" > "$WORK/$1-post.txt" &
  A=$!
  wrk -t1 -c"$CONNS" -d"$2" --latency -s "$WORK/get.lua" "$V/v1/cards" | grep '^RESULT' | sed "s/^/$1 get /" > "$WORK/$1-get.txt" &
  B=$!
}
# 2a. Without a rewrap.
mixed quiet "${SECONDS_RUN}s"; wait "$A" "$B"
# 2b. The same load while rotate + rewrap run; the load lasts as long as the rewrap.
"$CV" keys rotate "${FLAGS[@]}" >/dev/null
mixed rewrap 600s
sleep 1
"$CV" keys rewrap --json ${REWRAP_FLAGS:-} "${FLAGS[@]}" > "$WORK/rewrap.json"
# wrk reports what it measured when interrupted.
kill -INT $(pgrep -f "wrk -t1 -c$CONNS -d600s") 2>/dev/null || true
wait "$A" "$B" 2>/dev/null || true
cat "$WORK"/quiet-*.txt "$WORK"/rewrap-*.txt >&2
python3 - "$WORK" "$CARDS" "$thousand" <<'PY'
import json, re, sys, glob
work, cards, thousand = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def parse(line): return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
t = parse(thousand)
runs = {}
for f in glob.glob(f"{work}/*-*.txt"):
    for line in open(f):
        phase, kind = line.split()[:2]
        runs[(phase, kind)] = parse(line)
rw = json.load(open(f"{work}/rewrap.json"))
print(f"load evidence: {cards:,} cards")
print(f"  1,000 concurrent connections (GET metadata): {t['rps']:.0f} req/s, p99 {t['p99_ms']:.1f} ms, non-2xx {int(t['non2xx'])}, socket errors {int(t['socket_errors'])}")
print(f"  keys rewrap under load: {rw['rewrapped']:,} cards in {rw['seconds']:.1f} s = {rw['rewrapped']/max(rw['seconds'],1e-9):,.0f} rows/s, remaining {rw['remaining']}")
print(f"  {'':24}{'p99 quiet':>12}{'p99 during rewrap':>20}{'req/s quiet':>13}{'req/s rewrap':>14}")
for kind in ("tokenize", "get"):
    q, r = runs.get(("quiet", kind), {}), runs.get(("rewrap", kind), {})
    print(f"  {kind:<24}{q.get('p99_ms', 0):>10.1f}ms{r.get('p99_ms', 0):>18.1f}ms{q.get('rps', 0):>13.0f}{r.get('rps', 0):>14.0f}")
errors = int(t['non2xx'] + t['socket_errors']) + sum(int(v.get('non2xx', 0) + v.get('socket_errors', 0)) for v in runs.values())
print(f"  errors: {errors}")
PY
