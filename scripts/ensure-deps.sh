#!/usr/bin/env bash
# Installs the one system package cardvault builds against (libsodium-dev), when missing.
set -euo pipefail
if ! pkg-config --exists libsodium 2>/dev/null; then
  echo "installing libsodium-dev" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libsodium-dev pkg-config >&2
fi
