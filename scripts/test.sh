#!/usr/bin/env bash
# The whole test suite: every test target, against real SQLite files and a real HTTP server on
# 127.0.0.1. Usage: scripts/test.sh [extra swift test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build --build-tests
swift test --skip-build "$@"
