#!/usr/bin/env bash
# `cardvault import` throughput and memory, beside the seeding baseline of scripts/bench.sh
# measured in the same run: cards/s of a sealed JSON-lines file of ROWS new cards into an empty
# SQLite vault (batches of BATCH rows per commit), against `cardvault-bench seed` (tokenize
# through the domain, 256 in flight, group commits) on the same machine; and the importer's
# peak resident memory for ROWS and for ROWS/4 rows (flat means it does not grow with the file).
# Target (issue 23): >= 5,000 cards/s; peak RSS of ROWS within 10% of ROWS/4.
# Usage: scripts/bench-import.sh   (env: ROWS, default 200000; BATCH, default 500; ROUNDS, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-200000}; BATCH=${BATCH:-500}; ROUNDS=${ROUNDS:-3}
scripts/ensure-deps.sh
swift build -c release --product cardvault >&2
swift build -c release --product cardvault-bench >&2
BIN="$(swift build -c release --show-bin-path)"
WORK="$(mktemp -d /tmp/cardvault-import-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

cards() { # count offset: JSON lines of Luhn-valid test Visa numbers
  python3 - "$1" "$2" <<'PY'
import sys
n, offset = int(sys.argv[1]), int(sys.argv[2])
def luhn(body):
    total = 0
    for i, d in enumerate(reversed(body)):
        d = int(d)
        if i % 2 == 0:
            d *= 2
            if d > 9: d -= 9
        total += d
    return body + str((10 - total % 10) % 10)
out = sys.stdout
for i in range(n):
    out.write('{"number":"%s","exp_month":"12","exp_year":"2031","reference":"ref-%d"}\n' % (luhn("4" + str(offset + i).zfill(14)), i))
PY
}

run_import() { # rows label: prints "label seconds maxrss_kb"
  local dir="$WORK/$2"; rm -rf "$dir"; mkdir -p "$dir"
  local flags=(--database "$dir/vault.sqlite" --keys-dir "$dir/keys")
  "$BIN/cardvault" keys init "${flags[@]}" >/dev/null
  local key; key="$("$BIN/cardvault" import-key "${flags[@]}")"
  cards "$1" 20000000 | "$BIN/cardvault" seal-file --to "$key" --out "$dir/cards.sealed" >/dev/null
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$dir/rss" "$BIN/cardvault" import --tenant default "$dir/cards.sealed" --batch-size "$BATCH" "${flags[@]}" >/dev/null
  end=$(date +%s.%N)
  echo "$2 $(python3 -c "print($end - $start)") $(cat "$dir/rss")"
}

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  dir="$WORK/seed"; rm -rf "$dir"; mkdir -p "$dir"
  "$BIN/cardvault" keys init --database "$dir/vault.sqlite" --keys-dir "$dir/keys" >/dev/null
  start=$(date +%s.%N)
  "$BIN/cardvault-bench" seed --count 20000 --database "$dir/vault.sqlite" --keys-dir "$dir/keys" >/dev/null
  end=$(date +%s.%N)
  echo "seed $(python3 -c "print($end - $start)") 0" | tee -a "$WORK/results.txt" >&2
  run_import "$ROWS" "import" | tee -a "$WORK/results.txt" >&2
  run_import "$((ROWS / 4))" "quarter" | tee -a "$WORK/results.txt" >&2
done

python3 - "$WORK/results.txt" "$ROWS" <<'PY'
import statistics, sys
path, rows = sys.argv[1], int(sys.argv[2])
runs = {}
for line in open(path):
    name, seconds, rss = line.split()
    runs.setdefault(name, []).append((float(seconds), int(rss)))
med = lambda name, i: statistics.median(r[i] for r in runs[name])
seed = 20000 / med("seed", 0)
imp = rows / med("import", 0)
quarter = (rows // 4) / med("quarter", 0)
print(f"cardvault import: {len(runs['import'])} rounds, medians")
print(f"{'measurement':<52}{'cards/s':>10}{'peak RSS MiB':>14}")
print(f"{'baseline: cardvault-bench seed, 20,000 cards':<52}{seed:>10.0f}{'':>14}")
print(f"{f'import, {rows:,} rows (process start to exit)':<52}{imp:>10.0f}{med('import', 1) / 1024:>14.1f}")
print(f"{f'import, {rows // 4:,} rows':<52}{quarter:>10.0f}{med('quarter', 1) / 1024:>14.1f}")
print(f"import / seed = {imp / seed:.2f}; import {imp:.0f} cards/s (target >= 5000)")
print(f"peak RSS {rows:,} rows / {rows // 4:,} rows = {med('import', 1) / med('quarter', 1):.2f} (flat: <= 1.10)")
PY
