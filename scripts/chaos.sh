#!/usr/bin/env bash
# The chat's chaos test (examples/chat_chaos.rs): a real redis-server
# (appendonly yes), 4 chat nodes (2 broadcast, 2 async_broadcast), 1,000
# chat.v2 clients, 50 of them sending 50 lines/s in total for 60 s; during
# the run a node is killed (SIGKILL), every Redis connection is cut (CLIENT
# KILL TYPE normal), Redis is killed and restarted, and 10% of the clients'
# connections are reset. Fails unless every transcript matches the stream:
# 0 acknowledged lines lost, 0 duplicates, 0 out of order. Four plain clients
# (the seed's strings, no resume) run through all of it too, saying a line
# every 500 ms (every 20 ms around the Redis faults), and are checked line by
# line: everything they read is in the stream, in its order, once, or is an
# outage notice, or a plain line said on their own node while it had no
# Redis; their losses (while reconnecting; lines kept on a node) are counted.
#
# Usage: scripts/chaos.sh [chat_chaos flags...], e.g. --clients 200 --seconds 20
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null 2>&1; then
  echo "chaos.sh: redis-server is needed (apt-get install -y redis-server)" >&2
  exit 1
fi
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --features tokio \
  --example broadcast --example async_broadcast --example chat_chaos
exec "$target/release/examples/chat_chaos" --bin-dir "$target/release/examples" "$@"
