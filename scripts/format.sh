#!/usr/bin/env bash
# Formats every Swift file with the toolchain's swift-format and the repo's .swift-format
# (4 spaces, 160 columns). scripts/test.sh runs `swift format lint --strict` over the same files,
# so an unformatted change fails the suite. Usage: scripts/format.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift format --in-place --recursive --parallel Sources Tests Package.swift
