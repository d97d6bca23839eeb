#!/usr/bin/env bash
# Checks that cardvault runs with W^X enforced, as systemd's MemoryDenyWriteExecute=true does:
# the kernel's PR_SET_MDWE (Linux 6.3+, inherited across exec) refuses any mapping that is
# writable and executable, or becomes executable after being writable. The server then serves
# tokenize, read, update, delete, a Horizonpay forward and an ioka forward (the provider HTTP
# client, JSON, libsodium, SQLite), and must not crash. Prints PASS or FAIL.
set -uo pipefail   # no -e: every step's answer is collected and judged at the end
cd "$(dirname "$0")/.."
swift build -c release --product cardvault >&2
swift build -c release --product cardvault-simulator >&2
CV="$(swift build -c release --show-bin-path)/cardvault"
SIM="$(swift build -c release --show-bin-path)/cardvault-simulator"
WORK="$(mktemp -d /tmp/cardvault-mdwe.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
mdwe() { exec python3 -c 'import ctypes,os,sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0: sys.exit("PR_SET_MDWE not supported by this kernel (needs Linux 6.3+)")
os.execv(sys.argv[1], sys.argv[1:])' "$@"; }
FLAGS=(--database "$WORK/vault.sqlite" --keys-dir "$WORK/keys")
"$CV" keys init "${FLAGS[@]}" >/dev/null
S=$("$CV" clients add mdwe --scopes cards:write,cards:read,horizonpay:forward,ioka:write,ioka:forward --json "${FLAGS[@]}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
"$SIM" horizonpay --listen 127.0.0.1:18890 2>/dev/null & PIDS+=($!)
"$SIM" ioka --listen 127.0.0.1:18891 2>/dev/null & PIDS+=($!)
export HORIZONPAY_GATEWAY_URL=http://127.0.0.1:18890 HORIZONPAY_CHECKOUT_URL=http://127.0.0.1:18890 HORIZONPAY_SHOP_ID=29 \
       HORIZONPAY_SECRET_KEY=sim-secret-key HORIZONPAY_PUBLIC_KEY=sim-public-key IOKA_API_URL=http://127.0.0.1:18891 IOKA_API_KEY=sim-ioka-api-key
mdwe "$CV" serve --listen 127.0.0.1:18892 "${FLAGS[@]}" 2>"$WORK/server.log" & SERVER=$!; PIDS+=($SERVER)
V=http://127.0.0.1:18892
for _ in $(seq 1 100); do curl -sf $V/healthz >/dev/null && curl -sf 127.0.0.1:18890/__simulator/calls >/dev/null \
  && curl -sf 127.0.0.1:18891/__simulator/calls >/dev/null && break; sleep 0.1; done
j() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
codes=()
FROM=$(curl -s -X POST $V/v1/cards -H "Authorization: Bearer $S" -d '{"number":"4012001037141112","exp_month":1,"exp_year":2031,"holder":"A B","verification_value":"123"}' | j '["token"]')
TO=$(curl -s -X POST $V/v1/cards -H "Authorization: Bearer $S" -d '{"number":"4200000000000000","exp_month":2,"exp_year":2031}' | j '["token"]')
codes+=($(curl -s -o /dev/null -w '%{http_code}' $V/v1/cards/$FROM -H "Authorization: Bearer $S"))
codes+=($(curl -s -o /dev/null -w '%{http_code}' -X PATCH $V/v1/cards/$TO -H "Authorization: Bearer $S" -d '{"holder":"C D"}'))
codes+=($(curl -s -o /dev/null -w '%{http_code}' -X POST $V/v1/horizonpay/p2ps -H "Authorization: Bearer $S" -H "Idempotency-Key: wx-$$-1" \
  -d '{"request":{"amount":100,"currency":"KZT","description":"x","credit_card":{"token":"'$FROM'"},"recipient_card":{"token":"'$TO'"}}}'))
RCV=$(curl -s -X POST $V/v1/ioka/cards -H "Authorization: Bearer $S" -d '{"card_id":"TESTCARDID"}' | j '["token"]')
codes+=($(curl -s -o /dev/null -w '%{http_code}' -X POST $V/v1/ioka/transfer-orders -H "Authorization: Bearer $S" -H "Idempotency-Key: wx-$$-2" -d '{"amount":100,"type":"TOPUP","receiver_id":"'$RCV'"}'))
codes+=($(curl -s -o /dev/null -w '%{http_code}' -X DELETE $V/v1/cards/$TO -H "Authorization: Bearer $S"))
echo "answers under W^X: ${codes[*]} (want 200 200 200 201 204)"
if [ "${codes[*]}" = "200 200 200 201 204" ] && kill -0 $SERVER 2>/dev/null; then echo PASS; else echo FAIL; tail -5 "$WORK/server.log"; exit 1; fi
