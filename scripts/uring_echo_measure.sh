#!/usr/bin/env bash
# Echo, 16 connections, 64 B, window 1: each server in turn, ROUNDS rounds,
# the same `load` client. Prints load's summary lines per server.
# Needs: target/release/examples/{async_echo_server,load} built with
# --features tokio,uring; compio_echo and floor_echo (bench/uring_candidates,
# each skipped if not built); optionally
# FWS_BENCH=<bench/async_echo binary> for the fastwebsockets server.
set -u
T=${T:-target/release/examples}
ROUNDS=${ROUNDS:-2}
SECS=${SECS:-8}
CONNS=${CONNS:-16}
COMPIO=${COMPIO:-bench/uring_candidates/target/release/compio_echo}
FLOOR=${FLOOR:-bench/uring_candidates/target/release/floor_echo}
run() { # name port cmd...
  local name=$1 port=$2; shift 2
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep 0.7
  echo "== $name"
  $T/load ws://127.0.0.1:$port/ --conns $CONNS --senders $CONNS --window 1 --size 64 --seconds $SECS --server-pid $pid 2>&1 \
    | grep -E "^(deliveries  |latency|server CPU|server RSS|deliveries lost)"
  kill $pid; wait $pid 2>/dev/null
}
for r in $(seq $ROUNDS); do
  echo "#### round $r"
  run uring 9401 $T/async_echo_server 127.0.0.1:9401 --uring
  [ -x "$COMPIO" ] && run compio 9402 $COMPIO 127.0.0.1:9402
  # The floor: a raw io_uring echo with almost no WebSocket layer
  # (bench/uring_candidates/src/bin/floor_echo.rs), one thread.
  [ -x "$FLOOR" ] && run floor 9404 $FLOOR 127.0.0.1:9404
  run tokio-epoll 9403 $T/async_echo_server 127.0.0.1:9403
  if [ -n "${FWS_BENCH:-}" ]; then
    # The bench's fastwebsockets server (tokio, 2 workers); prints "PORT n".
    coproc FWS { RFC6455_ASYNC_ECHO_ROLE=fastwebsockets exec $FWS_BENCH; }
    read -r _ fport <&"${FWS[0]}"
    fpid=$FWS_PID
    echo "== fastwebsockets"
    $T/load ws://127.0.0.1:$fport/ --conns $CONNS --senders $CONNS --window 1 --size 64 --seconds $SECS --server-pid $fpid 2>&1 \
      | grep -E "^(deliveries  |latency|server CPU|server RSS|deliveries lost)"
    kill $fpid; wait $fpid 2>/dev/null
  fi
done
