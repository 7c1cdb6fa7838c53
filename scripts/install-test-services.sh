#!/usr/bin/env bash
# Services the tests need that pip cannot provide: headless Chromium (Debian's package) for the browser tests.
# Installed only when missing and when we may (root, or passwordless sudo); tests that need it say so if absent.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else
  echo "[services] chromium missing and cannot install it (not root): browser tests will fail"; exit 0; fi
echo "[services] installing chromium from Debian's packages"
$sudo apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null 2>&1 \
  || echo "[services] chromium install failed: browser tests will fail"
