#!/usr/bin/env bash
# Real headless Chromium against the axum_chat example over https:// with a
# certificate made by the test (tests/browser_h2.rs): the page loads over
# HTTP/2, its wss:// WebSocket connects and sends a chat line, and the test
# proves that the WebSocket rode the page's own HTTP/2 connection (RFC 8441)
# from the server's log (the GET and the extended CONNECT on one connection)
# and from Chromium's net log (one HTTP2_SESSION sent both).
#
#   scripts/browser_h2.sh
#
# Installs Debian's `chromium` with apt when no Chromium is found ($CHROMIUM,
# or chromium / chromium-browser / google-chrome on the PATH). When it
# cannot be installed, says so loudly and exits 0, except under CI (CI set),
# where the browser test must run and the script fails instead.
set -euo pipefail
cd "$(dirname "$0")/.."

have_chromium() {
  [ -n "${CHROMIUM:-}" ] && return 0
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
    command -v google-chrome >/dev/null 2>&1 || command -v google-chrome-stable >/dev/null 2>&1
}

if ! have_chromium && command -v apt-get >/dev/null 2>&1; then
  echo "browser_h2: no Chromium; installing Debian's chromium with apt"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null || true
fi

if ! have_chromium; then
  banner=$(printf '#%.0s' $(seq 72))
  echo "$banner"
  echo "# browser_h2: Chromium could not be installed: the HTTP/2 WebSocket"
  echo "# browser test did NOT run."
  echo "$banner"
  if [ -n "${CI:-}" ]; then
    exit 1
  fi
  exit 0
fi

command -v chromium >/dev/null 2>&1 && chromium --version 2>/dev/null || true
# --all-features: the artifacts of the README's test command are reused.
RFC6455_BROWSER_REQUIRED=1 cargo test --all-features --test browser_h2 -- --nocapture
