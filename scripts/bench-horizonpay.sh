#!/usr/bin/env bash
# Forwarding overhead: the same Horizonpay P2P restriction check sent straight to the simulator
# and through cardvault (tokens swapped for cards, answer redacted, every card read audited),
# measured in one run, with two more measurements to explain the difference:
#   - a pass-through proxy (`cardvault-bench proxy`): the same server framework and the vault's
#     own provider client, no vault work. Its cost is one more HTTP hop on this machine.
#   - a simulator that takes LATENCY_MS to answer, as a real provider does.
# Restriction checks are used because a transfer consumes its security code: each one would
# need a fresh code, which is not forwarding work. ROUNDS rounds, medians.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-8}; CONNS=${CONNS:-16}; THREADS=${THREADS:-2}; LATENCY_MS=${LATENCY_MS:-20}
VPORT=${VPORT:-18797}; SPORT=${SPORT:-18798}; PPORT=${PPORT:-18799}; SLOWPORT=${SLOWPORT:-18800}

scripts/ensure-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
swift build -c release --product cardvault >&2
swift build -c release --product cardvault-bench >&2
swift build -c release --product cardvault-simulator >&2
BIN="$(swift build -c release --show-bin-path)"
# BIN_DIR=folder forwards through the cardvault binary there instead (an older build, for a
# before/after pair in the same hour); the simulators and the proxy stay this build's.
CV="${BIN_DIR:-$BIN}/cardvault"
SIM="$BIN/cardvault-simulator"
WORK="$(mktemp -d /tmp/cardvault-hpbench.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
FLAGS=(--database "$WORK/vault.sqlite" --keys-dir "$WORK/keys")
export HP_BASIC="Basic $(printf '29:sim-secret-key' | base64)"

"$SIM" horizonpay --listen "127.0.0.1:$SPORT" 2>"$WORK/sim.log" & PIDS+=($!)
"$SIM" horizonpay --listen "127.0.0.1:$SLOWPORT" --latency-ms "$LATENCY_MS" 2>"$WORK/slow-sim.log" & PIDS+=($!)
"$BIN/cardvault-bench" proxy --listen "127.0.0.1:$PPORT" --upstream "http://127.0.0.1:$SPORT" --authorization "$HP_BASIC" 2>"$WORK/proxy.log" & PIDS+=($!)
"$CV" keys init "${FLAGS[@]}" >/dev/null
export CARDVAULT_BENCH_SECRET="$("$CV" clients add bench --scopes cards:write,horizonpay:forward --json "${FLAGS[@]}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
export HORIZONPAY_SHOP_ID=29 HORIZONPAY_SECRET_KEY=sim-secret-key HORIZONPAY_PUBLIC_KEY=sim-public-key

# One vault at a time, on the same database: first against the instant simulator, then the slow one.
start_vault() {
  HORIZONPAY_GATEWAY_URL="http://127.0.0.1:$1" HORIZONPAY_CHECKOUT_URL="http://127.0.0.1:$1" CARDVAULT_LOG_LEVEL=warning \
    "$CV" serve --listen "127.0.0.1:$VPORT" "${FLAGS[@]}" 2>>"$WORK/server.log" & VAULT=$!; PIDS+=("$VAULT")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$VPORT/healthz" >/dev/null && break; sleep 0.1; done
}
start_vault "$SPORT"
for port in "$SPORT" "$SLOWPORT"; do
  for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$port/__simulator/calls" >/dev/null && break; sleep 0.1; done
done
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PPORT/" && break; sleep 0.1; done

card() { curl -s -X POST "http://127.0.0.1:$VPORT/v1/cards" -H "Authorization: Bearer $CARDVAULT_BENCH_SECRET" -d "$1" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
export HP_FROM="$(card '{"number":"4012001037141112","exp_month":"01","exp_year":"2030"}')"
export HP_TO="$(card '{"number":"4200000000000000","exp_month":"02","exp_year":"2031"}')"

cat bench/restrictions-direct.lua bench/report.lua > "$WORK/direct.lua"
cat bench/restrictions-vault.lua bench/report.lua > "$WORK/vault.lua"
run() { # name connections threads script port
  echo "$1 $(wrk -t"$3" -c"$2" -d"${DURATION}s" --latency -s "$WORK/$4.lua" "http://127.0.0.1:$5" | grep '^RESULT')" | tee -a "$WORK/results.txt" >&2
}
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  for c in "$CONNS" 1; do
    t=$THREADS; [ "$c" -lt "$t" ] && t=$c
    run "direct/$c" "$c" "$t" direct "$SPORT"
    run "proxy/$c" "$c" "$t" direct "$PPORT"
    run "vault/$c" "$c" "$t" vault "$VPORT"
  done
done
kill "$VAULT"; wait "$VAULT" 2>/dev/null || true
start_vault "$SLOWPORT"
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS, simulator answering in $LATENCY_MS ms" >&2
  run "slow-direct/$CONNS" "$CONNS" "$THREADS" direct "$SLOWPORT"
  run "slow-vault/$CONNS" "$CONNS" "$THREADS" vault "$VPORT"
done

python3 - "$WORK/results.txt" "$CONNS" "$DURATION" "$ROUNDS" "$LATENCY_MS" <<'PY'
import re, statistics, sys
path, conns, duration, rounds, latency = sys.argv[1:6]
runs = {}
for line in open(path):
    name, rest = line.split(" RESULT ")
    runs.setdefault(name, []).append({k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", rest)})
med = lambda n, k: statistics.median(r[k] for r in runs[n])
errors = sum(r.get("non2xx", 0) + r.get("socket_errors", 0) for n in runs for r in runs[n])
print(f"Horizonpay forwarding overhead: {rounds} rounds, medians; wrk, {duration} s per run")
labels = {"direct": "direct to the simulator (cards in the body)", "proxy": "pass-through proxy (same server + client)",
          "vault": "through cardvault (vault tokens, audited)"}
def table(title, prefix, names, c):
    print(f"\n{title}")
    print(f"{'measurement':<46}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for n in names:
        k = f"{prefix}{n}/{c}"
        print(f"{labels[n]:<46}{med(k,'rps'):>9.0f}{med(k,'p50_ms'):>9.2f}{med(k,'p99_ms'):>9.2f}")
    d, v = f"{prefix}direct/{c}", f"{prefix}vault/{c}"
    print(f"cardvault adds {med(v,'p50_ms') - med(d,'p50_ms'):.2f} ms at p50 (target <= 1) and keeps {med(v,'rps') / med(d,'rps'):.2f} of the throughput (target >= 0.5)")
    if "proxy" in names:
        p = f"{prefix}proxy/{c}"
        print(f"of which the extra HTTP hop (proxy - direct): {med(p,'p50_ms') - med(d,'p50_ms'):.2f} ms, throughput {med(p,'rps') / med(d,'rps'):.2f};"
              f" the vault's own work (vault - proxy): {med(v,'p50_ms') - med(p,'p50_ms'):.2f} ms")
for c in (conns, "1"):
    table(f"simulator answering at once, {c} connection(s)", "", ["direct", "proxy", "vault"], c)
table(f"simulator answering in {latency} ms (a provider's processing time), {conns} connections", "slow-", ["direct", "vault"], conns)
print(f"\nnon-2xx answers and socket errors: {int(errors)}")
PY
