#!/usr/bin/env bash
# Chat and echo load figures, every server driven by the same `load` example
# in the same run: the Node.js seed (../shared/seed), the blocking
# `broadcast`, `async_broadcast` and `async_echo_server`.
#
#   scripts/chat_load.sh                 # everything below
#   CHAT_LOAD_PARTS="saturation idle" scripts/chat_load.sh
#   CHAT_LOAD_SERVERS="seed async_broadcast" scripts/chat_load.sh
#
# Parts (CHAT_LOAD_PARTS, default all):
#   saturation  1,000 clients, 4 senders x 8 messages in flight, 10 s
#   rate        5,000 clients, 10 messages/s (50,000 deliveries/s), 10 s
#               (joins: time until every join notice arrived)
#   idle        10,000 clients: chat servers' memory per connection after
#               all joins, then one 64-byte message broadcast to all, once a
#               second for 10 s (p50/p99, server CPU per broadcast); the
#               echo server's memory per connection after each echoed one
#               message. The seed is not run at 10,000 (its join storm of
#               50 M notices takes many minutes).
# Output: every `load` summary, under a header per run, in
# reports/chat_load/<part>-<server>.txt, and a table on stdout.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SEED_SRC="${SEED_SRC:-$ROOT/../shared/seed}"
OUT="$ROOT/reports/chat_load"
PARTS="${CHAT_LOAD_PARTS:-saturation rate idle}"
mkdir -p "$OUT"

cd "$ROOT"
cargo build --release --quiet --example broadcast
cargo build --release --quiet --features tokio --example async_broadcast --example async_echo_server --example load
BIN="$ROOT/target/release/examples"

SEED_DIR=""
if command -v node >/dev/null && [ -f "$SEED_SRC/chat_server.js" ]; then
    SEED_DIR="$(mktemp -d)"
    cp "$SEED_SRC/chat_server.js" "$SEED_SRC/package.json" "$SEED_DIR/"
    (cd "$SEED_DIR" && npm install --silent >/dev/null 2>&1) || SEED_DIR=""
fi
[ -n "$SEED_DIR" ] || echo "chat_load: the Node.js seed cannot be run here: skipped" >&2

PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done
    [ -z "$SEED_DIR" ] || rm -rf "$SEED_DIR"
}
trap cleanup EXIT

PORT=9300
# run PART NAME LOAD-ARGS... : starts server NAME, runs load, stops it.
run() {
    local part="$1" name="$2"
    shift 2
    PORT=$((PORT + 1))
    case "$name" in
        seed) node "$SEED_DIR/chat_server.js" "$PORT" >/dev/null 2>&1 & ;;
        broadcast) "$BIN/broadcast" "127.0.0.1:$PORT" --ping-interval 0 2>/dev/null & ;;
        async_broadcast) "$BIN/async_broadcast" "127.0.0.1:$PORT" --ping-interval 0 2>/dev/null & ;;
        async_echo_server) "$BIN/async_echo_server" "127.0.0.1:$PORT" 2>/dev/null & ;;
    esac
    local pid=$!
    PIDS+=("$pid")
    sleep 1
    local file="$OUT/$part-$name.txt"
    echo "== $part: $name, load $*" | tee "$file"
    "$BIN/load" "ws://127.0.0.1:$PORT/" --server-pid "$pid" "$@" 2>&1 \
        | grep -v '^\[' | tee -a "$file"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    sleep 2
}

chat_servers=(broadcast async_broadcast)
[ -z "$SEED_DIR" ] || chat_servers=(seed "${chat_servers[@]}")
# CHAT_LOAD_SERVERS="async_broadcast" runs only those chat servers.
if [ -n "${CHAT_LOAD_SERVERS:-}" ]; then
    read -r -a chat_servers <<<"$CHAT_LOAD_SERVERS"
fi

for part in $PARTS; do
    case "$part" in
        saturation)
            for s in "${chat_servers[@]}"; do
                run saturation "$s" --conns 1000 --senders 4 --window 8 --seconds 10
            done ;;
        rate)
            for s in "${chat_servers[@]}"; do
                run rate "$s" --conns 5000 --senders 1 --rate 10 --seconds 10
            done ;;
        idle)
            for s in broadcast async_broadcast; do
                run idle "$s" --conns 10000 --senders 1 --rate 1 --seconds 10
            done
            run idle async_echo_server --conns 10000 --senders 1 --window 1 --seconds 2 ;;
        *) echo "chat_load: unknown part $part" >&2; exit 2 ;;
    esac
done

echo
echo "summary (reports/chat_load/):"
for f in "$OUT"/*.txt; do
    printf '%-34s' "$(basename "$f" .txt)"
    grep -E '^(connections|deliveries  |latency|server CPU|server RSS)' "$f" \
        | sed -E 's/ +/ /g' | tr '\n' '|' ; echo
done
