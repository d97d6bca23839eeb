#!/usr/bin/env bash
# Installs the system packages cardvault builds and tests against, when missing: libsodium-dev
# (crypto), libp11-kit-dev (the PKCS#11 header of the pkcs11 seal) and softhsm2 (the PKCS#11
# token the tests and the pkcs11 walk-through use).
set -euo pipefail
missing=()
pkg-config --exists libsodium 2>/dev/null || missing+=(libsodium-dev pkg-config)
pkg-config --exists p11-kit-1 2>/dev/null || missing+=(libp11-kit-dev)
[ -e /usr/lib/softhsm/libsofthsm2.so ] || missing+=(softhsm2)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi
