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
# or chromium / chromium-browser / google-chrome on the PATH; see
# scripts/lib_chromium.sh). When it cannot be installed, says so loudly and
# exits 0, except under CI (CI set), where the browser test must run and the
# script fails instead.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib_chromium.sh
ensure_chromium browser_h2 "the HTTP/2 WebSocket" \
  "browser test did NOT run."
# --all-features: the artifacts of the README's test command are reused.
RFC6455_BROWSER_REQUIRED=1 cargo test --all-features --test browser_h2 -- --nocapture
