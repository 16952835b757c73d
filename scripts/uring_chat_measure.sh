#!/usr/bin/env bash
# Chat and idle-memory figures for `--uring` vs the tokio (epoll) path, the
# same `load` client, alternating servers (as scripts/chat_load.sh).
#   T=target/release/examples PARTS="saturation rate broadcast10k echoidle" bash scripts/uring_chat_measure.sh
# `rate` (5,000 clients at 50,000 deliveries/s) also runs the Node.js seed
# (../shared/seed, `npm install`ed into a temporary directory), alternating
# with the two paths.
set -u
T=${T:-target/release/examples}
PARTS=${PARTS:-saturation rate broadcast10k echoidle}
SEED_SRC=${SEED_SRC:-$(dirname "$0")/../../shared/seed}
SEED_DIR=""
if [[ " $PARTS " == *" rate "* ]] && command -v node >/dev/null && [ -f "$SEED_SRC/chat_server.js" ]; then
  SEED_DIR=$(mktemp -d)
  cp "$SEED_SRC/chat_server.js" "$SEED_SRC/package.json" "$SEED_DIR/"
  (cd "$SEED_DIR" && npm install --silent >/dev/null 2>&1) || SEED_DIR=""
  trap 'rm -rf "$SEED_DIR"' EXIT
fi
PORT=9500
run() { # label server-args... -- load-args...
  local label=$1; shift
  local sargs=()
  while [ "$1" != "--" ]; do [ -n "$1" ] && sargs+=("$1"); shift; done; shift
  PORT=$((PORT + 1))
  if [ "${sargs[0]}" = seed ]; then
    node "$SEED_DIR/chat_server.js" "$PORT" >/dev/null 2>&1 &
  else
    "${sargs[0]}" "127.0.0.1:$PORT" "${sargs[@]:1}" >/dev/null 2>&1 &
  fi
  local pid=$!
  sleep 1
  echo "== $label: load $*"
  $T/load ws://127.0.0.1:$PORT/ "$@" --server-pid $pid 2>&1 \
    | grep -E "^(joins|connections|deliveries  |latency|server CPU|server RSS|deliveries lost|messages sent)"
  kill $pid; wait $pid 2>/dev/null
}
for part in $PARTS; do
  case $part in
    saturation)
      for f in --uring ""; do
        run "saturation async_broadcast $f" $T/async_broadcast --ping-interval 0 $f -- --conns 1000 --senders 4 --window 8 --seconds 10
      done ;;
    rate)
      [ -n "$SEED_DIR" ] || echo "uring_chat_measure: the Node.js seed cannot be run here: skipped" >&2
      for f in seed --uring ""; do
        if [ "$f" = seed ]; then
          [ -n "$SEED_DIR" ] && run "rate seed" seed -- --conns 5000 --senders 1 --rate 10 --seconds 10
        else
          run "rate async_broadcast $f" $T/async_broadcast --ping-interval 0 $f -- --conns 5000 --senders 1 --rate 10 --seconds 10
        fi
      done ;;
    broadcast10k)
      for f in --uring ""; do
        run "10k clients async_broadcast $f" $T/async_broadcast --ping-interval 0 $f -- --conns 10000 --senders 1 --rate 1 --seconds 10
      done ;;
    echoidle)
      for f in --uring ""; do
        run "10k echo connections async_echo_server $f" $T/async_echo_server $f -- --conns 10000 --senders 1 --window 1 --seconds 2
      done ;;
  esac
done
