#!/usr/bin/env bash
# Chat and idle-memory figures for `--uring` vs the tokio (epoll) path, the
# same `load` client, alternating servers (as scripts/chat_load.sh).
#   T=target/release/examples PARTS="saturation broadcast10k echoidle" bash scripts/uring_chat_measure.sh
set -u
T=${T:-target/release/examples}
PARTS=${PARTS:-saturation broadcast10k echoidle}
PORT=9500
run() { # label server-args... -- load-args...
  local label=$1; shift
  local sargs=()
  while [ "$1" != "--" ]; do [ -n "$1" ] && sargs+=("$1"); shift; done; shift
  PORT=$((PORT + 1))
  "${sargs[0]}" "127.0.0.1:$PORT" "${sargs[@]:1}" >/dev/null 2>&1 &
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
