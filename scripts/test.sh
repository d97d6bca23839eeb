#!/usr/bin/env bash
# The whole test suite: every test target, against real SQLite files and a real HTTP server on
# 127.0.0.1, then schemathesis against the running vault's OpenAPI document (scripts/fuzz-api.sh,
# FUZZ_SECONDS, default 120; FUZZ_SECONDS=0 skips it), after the short crash evidence
# (scripts/evidence.sh; EVIDENCE=0 skips it). Formatting is checked first (scripts/format.sh).
# Usage: scripts/test.sh [extra swift test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
# Formatting first: it takes seconds (scripts/format.sh fixes what it finds).
swift format lint --strict --recursive --parallel Sources Tests Package.swift
swift build --build-tests
swift test --skip-build "$@"
if [ "${EVIDENCE:-1}" != 0 ]; then
  scripts/evidence.sh
fi
if [ "${FUZZ_SECONDS:-120}" != 0 ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-120} scripts/fuzz-api.sh
fi
