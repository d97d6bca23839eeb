#!/usr/bin/env bash
# Fuzzes the running vault with schemathesis (PyPI) against its own OpenAPI document: every
# route, a credential with every scope, both provider simulators configured, so that no route
# answers 503 for want of a provider. Fails on any 5xx other than the documented provider
# faults, a crash, or an answer that does not conform to the document (status, content type,
# schema). Bounded by FUZZ_SECONDS (default 240). Uses the debug build scripts/test.sh made,
# or builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-240}; EXAMPLES=${EXAMPLES:-60}
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
python3 -c 'import schemathesis' 2>/dev/null || python3 -m pip install -q schemathesis
# The console script pip installed, wherever this python keeps them (pyenv shims may lag).
ST="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/schemathesis"
swift build --product cardvault >&2
swift build --product cardvault-simulator >&2
CV="$(swift build --show-bin-path)/cardvault"
SIM="$(swift build --show-bin-path)/cardvault-simulator"
WORK="$(mktemp -d /tmp/cardvault-fuzz.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HP=$(port); IO=$(port); VP=$(port)
FLAGS=(--database "$WORK/vault.sqlite" --keys-dir "$WORK/keys")
"$CV" keys init "${FLAGS[@]}" >/dev/null
S=$("$CV" clients add fuzz --scopes cards:write,cards:read,horizonpay:forward,horizonpay:notify,ioka:write,ioka:forward,ioka:events --json "${FLAGS[@]}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
"$SIM" horizonpay --listen "127.0.0.1:$HP" 2>"$WORK/hp.log" & PIDS+=($!)
"$SIM" ioka --listen "127.0.0.1:$IO" 2>"$WORK/ioka.log" & PIDS+=($!)
HORIZONPAY_GATEWAY_URL="http://127.0.0.1:$HP" HORIZONPAY_CHECKOUT_URL="http://127.0.0.1:$HP" HORIZONPAY_SHOP_ID=29 \
HORIZONPAY_SECRET_KEY=sim-secret-key HORIZONPAY_PUBLIC_KEY=sim-public-key HORIZONPAY_TIMEOUT_SECONDS=5 HORIZONPAY_ALLOW_UNSIGNED_NOTIFICATIONS=1 \
IOKA_API_URL="http://127.0.0.1:$IO" IOKA_API_KEY=sim-ioka-api-key IOKA_TIMEOUT_SECONDS=5 CARDVAULT_LOG_LEVEL=warning \
  "$CV" serve --listen "127.0.0.1:$VP" "${FLAGS[@]}" 2>"$WORK/server.log" & SERVER=$!; PIDS+=($SERVER)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$VP/healthz" >/dev/null && break; sleep 0.1; done
# Some real tokens and references, so generated requests also reach the provider paths.
curl -s -X POST "http://127.0.0.1:$VP/v1/cards" -H "Authorization: Bearer $S" \
  -d '{"number":"4012001037141112","exp_month":1,"exp_year":2031,"verification_value":"123"}' >/dev/null
curl -s -X POST "http://127.0.0.1:$VP/v1/ioka/cards" -H "Authorization: Bearer $S" -d '{"card_id":"TESTCARDID"}' >/dev/null

set +e
# Every answer must conform to the document, and none may be a 5xx.
timeout $((FUZZ_SECONDS + 60)) "$ST" run "http://127.0.0.1:$VP/openapi.json" -H "Authorization: Bearer $S" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
  --max-examples "$EXAMPLES" --max-time "$FUZZ_SECONDS" --request-timeout 20 --seed 20261123 --workers 2 \
  --suppress-health-check all --report junit --report-dir "$WORK/report" 2>&1 | tee "$WORK/fuzz.txt" | tail -40
FUZZ=${PIPESTATUS[0]}
set -e
ALIVE=0; kill -0 "$SERVER" 2>/dev/null && ALIVE=1
CRASH=$(grep -ciE 'fatal error|panic|segmentation' "$WORK/server.log" || true)
echo "schemathesis exit $FUZZ; server alive: $ALIVE; crash lines in its log: $CRASH"
[ "$FUZZ" = 0 ] && [ "$ALIVE" = 1 ] && [ "$CRASH" = 0 ]
