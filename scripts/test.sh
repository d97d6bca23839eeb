#!/usr/bin/env bash
# The whole test suite: every test target, against real SQLite files and a real HTTP server on
# 127.0.0.1, then the docs' walk-throughs (scripts/docs-test.py), then schemathesis against the running vault's OpenAPI document (scripts/fuzz-api.sh,
# FUZZ_SECONDS, default 120; FUZZ_SECONDS=0 skips it), after the short crash evidence
# (scripts/evidence.sh; EVIDENCE=0 skips it). Formatting is checked first (scripts/format.sh).
# Usage: scripts/test.sh [extra swift test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
# Formatting first: it takes seconds (scripts/format.sh fixes what it finds).
swift format lint --strict --recursive --parallel Sources Tests Package.swift
# Every module declares exactly what it imports (Package.swift against the import lines).
scripts/check-imports.py
# The project's own code builds without a warning (dependencies' warnings are theirs). A fresh
# build (CI's) compiles every file; an incremental one only re-checks what changed.
BUILD_LOG="$(mktemp /tmp/cardvault-build.XXXXXX)"
swift build --build-tests 2>&1 | tee "$BUILD_LOG"
WARNINGS=$(grep -E "^$PWD/(Sources|Tests|Package.swift)[^:]*:[0-9]+:[0-9]+: warning:" "$BUILD_LOG" | sort -u || true)
rm -f "$BUILD_LOG"
if [ -n "$WARNINGS" ]; then
  echo "$WARNINGS" >&2
  echo "the project's own code has $(echo "$WARNINGS" | wc -l) compiler warning(s); fix them" >&2
  exit 1
fi
# A watchdog (TEST_TIMEOUT seconds, default 1500; the suite takes about 70 s here): a hung test
# fails the run within it, naming the tests that started and never finished.
LOG="$(mktemp /tmp/cardvault-test.XXXXXX)"
status=0
timeout -k 10 "${TEST_TIMEOUT:-1500}" swift test --skip-build --disable-xctest "$@" 2>&1 | tee "$LOG" || status=$?
if [ "$status" != 0 ]; then
  echo >&2
  echo "swift test exited $status (124: the watchdog's ${TEST_TIMEOUT:-1500} s ran out); started and not finished:" >&2
  python3 - "$LOG" <<'PY' >&2
import re, sys
started, ended = [], set()
for line in open(sys.argv[1], errors="replace"):
    if "Test run " in line: continue  # the run's own start and end, not a test
    if m := re.search(r"Test (.+?) started\.$", line): started.append(m.group(1))
    elif m := re.search(r"Test (.+?) (passed|failed|skipped)", line): ended.add(m.group(1))
for name in dict.fromkeys(started):
    if name not in ended: print("  " + name)
PY
  rm -f "$LOG"
  exit "$status"
fi
rm -f "$LOG"
# The walk-throughs of the README and docs/, run as written in a fresh folder, twice
# (scripts/docs-test.py; DOCS=0 skips it). It uses the debug binaries built above.
if [ "${DOCS:-1}" != 0 ]; then
  python3 scripts/docs-test.py
fi
if [ "${EVIDENCE:-1}" != 0 ]; then
  scripts/evidence.sh
fi
if [ "${FUZZ_SECONDS:-120}" != 0 ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-120} scripts/fuzz-api.sh
fi
