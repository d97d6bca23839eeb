#!/usr/bin/env bash
# Forwarding overhead: the same Horizonpay P2P restriction check sent straight to the simulator
# and through cardvault (tokens swapped for cards, answer redacted, every card read audited),
# measured in one run. Restriction checks are used because a transfer consumes its security
# code: each one would need a fresh code, which is not forwarding work. ROUNDS rounds, medians.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-10}; CONNS=${CONNS:-16}; THREADS=${THREADS:-2}
VPORT=${VPORT:-18797}; SPORT=${SPORT:-18798}

scripts/ensure-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
swift build -c release --product cardvault >&2
CV="$(swift build -c release --show-bin-path)/cardvault"
WORK="$(mktemp -d /tmp/cardvault-hpbench.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
FLAGS=(--database "$WORK/vault.sqlite" --keys-dir "$WORK/keys")

"$CV" simulate horizonpay --listen "127.0.0.1:$SPORT" 2>"$WORK/sim.log" & PIDS+=($!)
"$CV" keys init "${FLAGS[@]}" >/dev/null
export CARDVAULT_BENCH_SECRET="$("$CV" clients add bench --scopes cards:write,horizonpay:forward --json "${FLAGS[@]}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
export HORIZONPAY_GATEWAY_URL="http://127.0.0.1:$SPORT" HORIZONPAY_CHECKOUT_URL="http://127.0.0.1:$SPORT" \
       HORIZONPAY_SHOP_ID=29 HORIZONPAY_SECRET_KEY=sim-secret-key HORIZONPAY_PUBLIC_KEY=sim-public-key
CARDVAULT_LOG_LEVEL=warning "$CV" serve --listen "127.0.0.1:$VPORT" "${FLAGS[@]}" 2>"$WORK/server.log" & PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$VPORT/healthz" >/dev/null && curl -s "http://127.0.0.1:$SPORT/__simulator/calls" >/dev/null && break; sleep 0.1; done

card() { curl -s -X POST "http://127.0.0.1:$VPORT/v1/cards" -H "Authorization: Bearer $CARDVAULT_BENCH_SECRET" -d "$1" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
export HP_FROM="$(card '{"number":"4012001037141112","exp_month":"01","exp_year":"2030"}')"
export HP_TO="$(card '{"number":"4200000000000000","exp_month":"02","exp_year":"2031"}')"
export HP_BASIC="Basic $(printf '29:sim-secret-key' | base64)"

cat bench/restrictions-direct.lua bench/report.lua > "$WORK/direct.lua"
cat bench/restrictions-vault.lua bench/report.lua > "$WORK/vault.lua"
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  echo "direct $(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$WORK/direct.lua" "http://127.0.0.1:$SPORT" | grep '^RESULT')" | tee -a "$WORK/results.txt" >&2
  echo "vault $(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$WORK/vault.lua" "http://127.0.0.1:$VPORT" | grep '^RESULT')" | tee -a "$WORK/results.txt" >&2
done

python3 - "$WORK/results.txt" "$CONNS" "$DURATION" "$ROUNDS" <<'PY'
import re, statistics, sys
path, conns, duration, rounds = sys.argv[1:5]
runs = {}
for line in open(path):
    name, rest = line.split(" RESULT ")
    runs.setdefault(name, []).append({k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", rest)})
med = lambda n, k: statistics.median(r[k] for r in runs[n])
errors = sum(r.get("non2xx", 0) + r.get("socket_errors", 0) for n in runs for r in runs[n])
print(f"Horizonpay forwarding overhead: {rounds} rounds, medians; wrk {conns} connections, {duration} s per run")
print(f"{'measurement':<46}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
print(f"{'direct to the simulator (cards in the body)':<46}{med('direct','rps'):>9.0f}{med('direct','p50_ms'):>9.2f}{med('direct','p99_ms'):>9.2f}")
print(f"{'through cardvault (vault tokens, audited)':<46}{med('vault','rps'):>9.0f}{med('vault','p50_ms'):>9.2f}{med('vault','p99_ms'):>9.2f}")
print(f"added at p50 = {med('vault','p50_ms') - med('direct','p50_ms'):.2f} ms (target <= 1)   throughput kept = {med('vault','rps') / med('direct','rps'):.2f} (target >= 0.5)")
print(f"non-2xx answers and socket errors: {int(errors)}")
PY
