#!/usr/bin/env bash
# Chat servers against a crowd of clients that never read: runs the probe
# tests/stuck_readers.rs (release) against each server in turn, in one run,
# with the load average before each.
#
#   scripts/stuck_readers.sh                        # broadcast, then async_broadcast
#   scripts/stuck_readers.sh broadcast /path/to/old/broadcast
#   STUCK_CLIENTS=300 STUCK_SECONDS=15 scripts/stuck_readers.sh broadcast
#
# A server is an example name or a path to a binary named like one (the
# probe reads its `NAME: chat on http://ADDR/` banner). Settings: see the
# probe's module docs (STUCK_CLIENTS, STUCK_CHATTERS, STUCK_RATE,
# STUCK_SIZE, STUCK_SECONDS, STUCK_SERVER_ARGS, STUCK_SMAPS). Defaults:
# 3,000 clients that never read, 10 chatters x 20 lines/s of 500 bytes,
# 45 s. Everything on 127.0.0.1. Output: the probe's report per server, in
# reports/stuck_readers/<server>.txt too.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="$ROOT/reports/stuck_readers"
mkdir -p "$OUT"
cd "$ROOT"

# 3,000 sockets on each side, plus the server's: as many as allowed.
ulimit -n "$(ulimit -Hn)"

servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(broadcast async_broadcast)

cargo build --release --quiet --example broadcast
cargo build --release --quiet --features tokio --example async_broadcast
probe="$(cargo test --release --test stuck_readers --no-run 2>&1 \
    | sed -n 's/.*(\(target\/release\/deps\/stuck_readers-[^)]*\)).*/\1/p' | tail -1)"
[ -x "$probe" ] || { echo "stuck_readers: cannot find the probe binary" >&2; exit 1; }

for s in "${servers[@]}"; do
    name="$(basename "$s")"
    file="$OUT/$name.txt"
    echo "== $s, $(uptime | sed 's/.*load/load/')" | tee "$file"
    STUCK_SERVER="$s" timeout "$(( ${STUCK_SECONDS:-45} + 200 ))" "$probe" \
        --ignored --nocapture --test-threads 1 2>&1 \
        | grep -v '^running \|^test \|^$\|^server: User' | tee -a "$file"
    echo "== after $name: $(uptime | sed 's/.*load/load/')" | tee -a "$file"
    sleep 5
done
