#!/usr/bin/env bash
# Connection evidence (release build, one run on a noisy 2-core box): one local caller holds
# IDLE (default 5,000) idle and SLOW (2,000) slowloris connections for HOLD (30) seconds, reopening
# whatever the server closes, while another caller tokenizes with CONNS (4) connections.
# Prints the tokenizer's p99 alone and under the flood (target: within 3x), /healthz probes
# failed during the flood (target: 0), and the server's RSS at start, at its peak and after the
# flood (target: within 20% of the start).
# Usage: scripts/evidence/connections.sh   (env: IDLE, SLOW, HOLD, CONNS)
set -euo pipefail
cd "$(dirname "$0")/../.."
IDLE=${IDLE:-5000}; SLOW=${SLOW:-2000}; HOLD=${HOLD:-30}; CONNS=${CONNS:-4}; PORT=${PORT:-18798}
scripts/ensure-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
swift build -c release --product cardvault >&2
BIN="$(swift build -c release --show-bin-path)"; CV="$BIN/cardvault"
WORK="$(mktemp -d /tmp/cardvault-conns.XXXXXX)"; SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
FLAGS=(--database "$WORK/vault.sqlite" --keys-dir "$WORK/keys")
"$CV" keys init "${FLAGS[@]}" >/dev/null
export CARDVAULT_BENCH_SECRET="$("$CV" clients add load --scopes cards:write,cards:read --json "${FLAGS[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
ulimit -n 65536 2>/dev/null || ulimit -n 16384
CARDVAULT_TOKENIZE_RATE=0 CARDVAULT_ENUMERATION_LIMIT=1000000 CARDVAULT_ENUMERATION_TENANT_LIMIT=1000000 CARDVAULT_LOG_LEVEL=warning "$CV" serve --listen "127.0.0.1:$PORT" "${FLAGS[@]}" 2>"$WORK/server.log" & SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
cat bench/tokenize.lua bench/report.lua > "$WORK/post.lua"
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$SERVER/status"; }
tokenize() { wrk -t1 -c"$CONNS" -d"$1s" --latency -s "$WORK/post.lua" "http://127.0.0.1:$PORT/v1/cards" | grep '^RESULT'; }
p99() { sed -E 's/.*p99_ms=([0-9.]+).*/\1/'; }

tokenize 5 >/dev/null   # warm up
rss_start=$(rss)
alone=$(tokenize 15)
echo "alone:       $alone" >&2
python3 scripts/evidence/connection_flood.py "$PORT" "$IDLE" "$SLOW" "$HOLD" > "$WORK/flood.json" & FLOOD=$!
peak=$rss_start
sleep 5   # the flood is up
tokenize 15 > "$WORK/under.txt" & TOK=$!
while kill -0 "$FLOOD" 2>/dev/null; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 1; done
wait "$TOK" "$FLOOD"
under=$(cat "$WORK/under.txt")
echo "under flood: $under" >&2
echo "flood:       $(cat "$WORK/flood.json")" >&2
sleep 10  # the closed connections' memory handed back
rss_after=$(rss)
python3 - "$alone" "$under" "$WORK/flood.json" "$rss_start" "$peak" "$rss_after" "$IDLE" "$SLOW" "$HOLD" <<'PY'
import json, re, sys
alone, under, flood, start, peak, after, idle, slow, hold = sys.argv[1:]
p = lambda line: float(re.search(r"p99_ms=([0-9.]+)", line).group(1))
f = json.load(open(flood))
ratio = p(under) / p(alone)
rss = int(after) / int(start)
print(f"connections: {idle} idle + {slow} slowloris for {hold} s (held at most {f['max_held']}, {f['closed_by_server']} closed by deadlines, "
      f"{f['connect_failed']} refused): tokenize p99 {p(alone):.1f} ms alone, {p(under):.1f} ms under the flood (x{ratio:.2f}, target <= 3); "
      f"/healthz {f['probes'] - f['probe_failures']}/{f['probes']} answered; RSS {start} MB, peak {peak}, after {after} (x{rss:.2f}, target <= 1.2)")
PY
