#!/usr/bin/env bash
# Real headless Chromium against the broadcast example over https:// with a
# certificate made by the test (tests/browser_chat.rs): the chat page loads,
# its WebSocket connects over wss:// on the resumable subprotocol chat.v2
# (Chromium's own Network events say so), it shows who it is and who is
# online, and a line sent from the page reaches a second chat.v2 client (in
# Rust, over wss://) under the page's name. With redis-server on the PATH
# the node runs on Redis and is killed and started again under the page,
# which must resume: same name, one status line, nothing twice.
#
#   scripts/browser_chat.sh
#
# Installs Debian's `chromium` with apt when no Chromium is found ($CHROMIUM,
# or chromium / chromium-browser / google-chrome on the PATH; see
# scripts/lib_chromium.sh). When it cannot be installed, says so loudly and
# exits 0, except under CI (CI set), where the browser test must run and the
# script fails instead.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib_chromium.sh
ensure_chromium browser_chat "the chat.v2 page's" \
  "wss:// browser test did NOT run."
# --all-features: the artifacts of the README's test command are reused;
# FEATURES=tokio,rustls picks features instead.
if [ -n "${FEATURES:-}" ]; then features=(--features "$FEATURES"); else features=(--all-features); fi
RFC6455_BROWSER_REQUIRED=1 cargo test "${features[@]}" --test browser_chat -- --nocapture
