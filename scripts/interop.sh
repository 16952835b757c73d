#!/usr/bin/env bash
# Interop checks for rfc6455 against real peers: Python `websockets` and
# Node `ws` (both pinned, installed locally under scripts/interop/).
#
#   scripts/interop.sh
#
# (a) our `echo_server` driven by a Python websockets client
#     (interop/py_client_checks.py) and a Node ws client
#     (interop/node_client_checks.js): text (ASCII, empty, 2/3/4-byte UTF-8
#     incl. U+FFFF and U+10FFFF, also as fragments split inside code points),
#     binary (0, 125, 126, 65535, 65536 bytes, 4 MiB, fragmented), ping/pong
#     payloads, close 1000 and 4000 + reason echoed.
# (b) our `client` example against a Python websockets echo server and a Node
#     ws echo server (interop/client_checks.py): lines piped in, echoes on
#     stdout.
# (c) permessage-deflate (RFC 7692), real clients -> our `echo_server`
#     (interop/py_deflate_checks.py, interop/node_deflate_checks.js):
#     negotiation seen in the response header, round trips (empty, UTF-8
#     split across fragments, 1/4/16 MiB, fragmented), every echo compressed
#     (RSV1), then a matrix of offers (no_context_takeover x window bits):
#     answer accepted by the peer library + round trips; server_max_window_bits=8
#     must be declined and the connection work uncompressed.
# (d) permessage-deflate, our `client URL --deflate` -> Python websockets and
#     Node ws echo servers with compression on (interop/client_checks.py
#     --deflate): echoes, plus the servers' view (extension answered, client
#     messages compressed). Skipped (`# SKIP` line) if `client --help` does
#     not mention --deflate.
# (e) WebSockets over HTTP/2 (RFC 8441, h2c) with Node's own `http2` module,
#     frames by `ws`'s Receiver/Sender over the HTTP/2 stream: a Node client
#     (interop/node_h2_client_checks.js: extended CONNECT, `:protocol`
#     websocket) against our `hyper_server`, and our HTTP/2 client
#     (`h2_client_checks`, rfc6455::hyper::Http2Connection) against a Node
#     echo server with `enableConnectProtocol` (interop/node_h2_echo_server.js,
#     whose log must show every WebSocket on one HTTP/2 connection): texts,
#     binaries up to 1 MiB, fragments, ping/pong, two WebSockets at once,
#     permessage-deflate, closes 1000 and 4000.
#
# Every check prints `ok - ...` or `FAIL - ...: detail`; the last line is
# `N passed, M failed` (`, K skipped` added when parts were skipped); the exit
# status is non-zero if M > 0.
#
# Environment (all optional):
#   ECHO_SERVER_BIN=...   command instead of target/release/examples/echo_server
#   CLIENT_BIN=...        command instead of target/release/examples/client
#     (word-split; e.g. ECHO_SERVER_BIN="scripts/standins/run.sh echo_server";
#      the build is skipped when both are overridden)
#   HYPER_SERVER_BIN=...  command instead of target/release/examples/hyper_server
#   H2_CLIENT_BIN=...     command instead of target/release/examples/h2_client_checks
#     (part e; both built with `--features hyper`)
#   INTEROP_NO_BUILD=1    skip `cargo build --release --examples`
#   INTEROP_PARTS="a b c d e"   which parts to run

set -uo pipefail

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPTS_DIR/.." && pwd)"
HERE="$SCRIPTS_DIR/interop"
VENV="$HERE/.venv"
PY="$VENV/bin/python"
WEBSOCKETS_VERSION=17.4 # keep in sync with interop/requirements.txt
WS_VERSION=8.23.0       # keep in sync with interop/package.json + package-lock.json
PARTS="${INTEROP_PARTS:-a b c d e}"

EXAMPLES="$ROOT/target/release/examples"
read -r -a ECHO_SERVER_CMD <<<"${ECHO_SERVER_BIN:-$EXAMPLES/echo_server}"
read -r -a CLIENT_CMD <<<"${CLIENT_BIN:-$EXAMPLES/client}"
read -r -a HYPER_SERVER_CMD <<<"${HYPER_SERVER_BIN:-$EXAMPLES/hyper_server}"
read -r -a H2_CLIENT_CMD <<<"${H2_CLIENT_BIN:-$EXAMPLES/h2_client_checks}"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/rfc6455-interop.XXXXXX")"
RESULTS="$TMP/results.txt"
: >"$RESULTS"

log() { printf '# %s\n' "$*"; }

START=$SECONDS
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

stop_pid() {
    local pid="$1" keep=() p
    kill "$pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null
    for p in "${PIDS[@]}"; do [[ "$p" != "$pid" ]] && keep+=("$p"); done
    PIDS=("${keep[@]}")
}

result() { # result ok|FAIL DESCRIPTION [DETAIL]
    local line
    if [[ "$1" == ok ]]; then line="ok - $2"; else line="FAIL - $2: ${3:-failed}"; fi
    echo "$line"
    echo "$line" >>"$RESULTS"
}

skip() { # skip DESCRIPTION REASON
    local line="# SKIP - $1: $2"
    echo "$line"
    echo "$line" >>"$RESULTS"
}

finish() {
    local passed failed skipped
    passed="$(grep -c '^ok - ' "$RESULTS")"
    failed="$(grep -c '^FAIL - ' "$RESULTS")"
    skipped="$(grep -c '^# SKIP - ' "$RESULTS")"
    log "interop run took $((SECONDS - START))s"
    if ((skipped > 0)); then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
    ((failed == 0))
    exit $?
}

# run_checker NAME TIMEOUT CMD...: run a checker script, relay its ok/FAIL
# lines; a checker that does not reach `# done` is a failure.
run_checker() {
    local name="$1" secs="$2" out="$TMP/checker.out"
    shift 2
    # in the background + wait, so that INT/TERM traps run at once
    timeout -k 5 "$secs" "$@" >"$out" 2>"$TMP/checker.err" &
    local cpid=$!
    PIDS+=("$cpid")
    wait "$cpid"
    local rc=$?
    stop_pid "$cpid"
    grep -E '^(ok|FAIL) - ' "$out" | tee -a "$RESULTS"
    if ! grep -qx '# done' "$out"; then
        local why="exit status $rc"
        ((rc == 124)) && why="timed out after ${secs}s"
        result FAIL "$name completed" "$why; stderr: $(tail -c 400 "$TMP/checker.err" | tr '\n' ' ')"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_listening() { # wait_listening PORT PID SECONDS
    local port="$1" pid="$2" deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# start_peer NAME LOG CMD...: start an echo server that prints `PORT n`;
# sets PEER_PID and PEER_PORT.
start_peer() {
    local name="$1" logf="$2"
    shift 2
    "$@" >"$logf" 2>&1 &
    PEER_PID=$!
    PIDS+=("$PEER_PID")
    PEER_PORT=""
    for _ in $(seq 1 75); do # 15 s
        PEER_PORT="$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$logf" | head -n1)"
        [[ -n "$PEER_PORT" ]] && return 0
        kill -0 "$PEER_PID" 2>/dev/null || break
        sleep 0.2
    done
    result FAIL "$name starts" "did not print its port within 15 s: $(tail -c 300 "$logf" | tr '\n' ' ')"
    stop_pid "$PEER_PID"
    return 1
}

# --- setup --------------------------------------------------------------------
setup() {
    if [[ ! -x "$PY" ]]; then
        log "creating venv $VENV"
        python3 -m venv "$VENV" >"$TMP/setup.log" 2>&1 || return 1
    fi
    local have
    have="$("$PY" -c 'import importlib.metadata as m; print(m.version("websockets"))' 2>/dev/null || true)"
    if [[ "$have" != "$WEBSOCKETS_VERSION" ]]; then
        log "installing websockets==$WEBSOCKETS_VERSION"
        "$PY" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" >>"$TMP/setup.log" 2>&1 || return 1
    fi
    if [[ "$(cd "$HERE" && node -p 'require("./node_modules/ws/package.json").version' 2>/dev/null)" != "$WS_VERSION" ]]; then
        log "installing ws@$WS_VERSION (npm ci)"
        (cd "$HERE" && npm ci --no-audit --no-fund) >>"$TMP/setup.log" 2>&1 || return 1
    fi
}

build() {
    [[ "${INTEROP_NO_BUILD:-0}" == 1 ]] && { log "skipping cargo build"; return 0; }
    if [[ " $PARTS " =~ \ [abcd]\  && (-z "${ECHO_SERVER_BIN:-}" || -z "${CLIENT_BIN:-}") ]]; then
        log "cargo build --release --examples"
        (cd "$ROOT" && cargo build --release --examples) >"$TMP/build.log" 2>&1 || return 1
    fi
    if [[ " $PARTS " == *" e "* && (-z "${HYPER_SERVER_BIN:-}" || -z "${H2_CLIENT_BIN:-}") ]]; then
        log "cargo build --release --features hyper --example hyper_server --example h2_client_checks"
        (cd "$ROOT" && cargo build --release --features hyper --example hyper_server --example h2_client_checks) \
            >>"$TMP/build.log" 2>&1 || return 1
    fi
}

if ! setup; then
    result FAIL "install websockets==$WEBSOCKETS_VERSION and ws@$WS_VERSION" "$(tail -c 600 "$TMP/setup.log" | tr '\n' ' ')"
    finish
fi
if ! build; then
    result FAIL "cargo build --release --examples" "$(tail -c 1500 "$TMP/build.log")"
    finish
fi

# --- (a) real clients -> our echo_server ----------------------------------------------
have_cmd() { # have_cmd NAME CMD...
    local name="$1"
    shift
    command -v "$1" >/dev/null 2>&1 && return 0
    result FAIL "$name is there" "'$1' not found or not executable (did \`cargo build --release --examples\` build it?)"
    return 1
}

# start_echo_server LOGFILE: start our echo_server on a free port; sets
# ES_PID and ES_PORT.
start_echo_server() {
    local logf="$1"
    have_cmd echo_server "${ECHO_SERVER_CMD[@]}" || return 1
    ES_PORT="$(free_port)"
    "${ECHO_SERVER_CMD[@]}" "127.0.0.1:$ES_PORT" >"$logf" 2>&1 &
    ES_PID=$!
    PIDS+=("$ES_PID")
    if ! wait_listening "$ES_PORT" "$ES_PID" 15; then
        result FAIL "echo_server listens on 127.0.0.1:$ES_PORT" "not listening within 15 s: $(tail -c 300 "$logf" | tr '\n' ' ')"
        stop_pid "$ES_PID"
        return 1
    fi
}

# stop_echo_server LOGFILE WHAT FAILS_BEFORE: the server must have survived
# WHAT; its log is shown if there were new failures since FAILS_BEFORE.
stop_echo_server() {
    local logf="$1" what="$2" failed_before="$3"
    if kill -0 "$ES_PID" 2>/dev/null; then
        result ok "echo_server still running after $what"
    else
        result FAIL "echo_server still running after $what" "it exited: $(tail -c 300 "$logf" | tr '\n' ' ')"
    fi
    if (($(grep -c '^FAIL - ' "$RESULTS") > failed_before)); then
        log "last lines of the echo_server log:"
        tail -n 20 "$logf" | sed 's/^/#   /'
    fi
    stop_pid "$ES_PID"
}

part_a() {
    local logf="$TMP/echo_server.log" before
    before="$(grep -c '^FAIL - ' "$RESULTS")"
    start_echo_server "$logf" || return
    log "(a) echo_server (${ECHO_SERVER_CMD[*]}) on 127.0.0.1:$ES_PORT"
    run_checker "py-websockets client checks" 300 "$PY" "$HERE/py_client_checks.py" "ws://127.0.0.1:$ES_PORT"
    run_checker "node-ws client checks" 300 node "$HERE/node_client_checks.js" "ws://127.0.0.1:$ES_PORT"
    stop_echo_server "$logf" "all client checks" "$before"
}

# --- (c) permessage-deflate: real clients -> our echo_server ------------------------------
part_c() {
    local logf="$TMP/echo_server_deflate.log" before
    before="$(grep -c '^FAIL - ' "$RESULTS")"
    start_echo_server "$logf" || return
    log "(c) permessage-deflate: echo_server (${ECHO_SERVER_CMD[*]}) on 127.0.0.1:$ES_PORT"
    run_checker "py-websockets deflate checks" 180 "$PY" "$HERE/py_deflate_checks.py" "ws://127.0.0.1:$ES_PORT"
    run_checker "node-ws deflate checks" 180 node "$HERE/node_deflate_checks.js" "ws://127.0.0.1:$ES_PORT"
    stop_echo_server "$logf" "all deflate client checks" "$before"
}

# --- (b) our client -> real echo servers ------------------------------------------------
part_b() {
    local name
    have_cmd client "${CLIENT_CMD[@]}" || return
    for name in py node; do
        local label cmd
        if [[ $name == py ]]; then
            label="client -> py-websockets server"
            cmd=("$PY" "$HERE/py_echo_server.py")
        else
            label="client -> node-ws server"
            cmd=(node "$HERE/node_echo_server.js")
        fi
        start_peer "$label: echo server" "$TMP/$name-server.log" "${cmd[@]}" || continue
        log "(b) ${CLIENT_CMD[*]} ws://127.0.0.1:$PEER_PORT ($label)"
        run_checker "$label checks" 120 python3 "$HERE/client_checks.py" "$label" \
            "ws://127.0.0.1:$PEER_PORT" "${CLIENT_CMD[@]}"
        stop_pid "$PEER_PID"
    done
}

# --- (d) permessage-deflate: our client --deflate -> real echo servers ------------------
part_d() {
    local name help
    have_cmd client "${CLIENT_CMD[@]}" || return
    help="$(timeout -k 2 5 "${CLIENT_CMD[@]}" --help </dev/null 2>&1)"
    if ! grep -q -- '--deflate' <<<"$help"; then
        skip "client --deflate -> py-websockets / node-ws servers (permessage-deflate)" \
            "\`${CLIENT_CMD[*]} --help\` does not mention --deflate"
        return
    fi
    for name in py node; do
        local label cmd logf="$TMP/$name-deflate-server.log"
        if [[ $name == py ]]; then
            label="client --deflate -> py-websockets server"
            cmd=("$PY" "$HERE/py_echo_server.py")
        else
            label="client --deflate -> node-ws server"
            cmd=(node "$HERE/node_echo_server.js" --deflate)
        fi
        start_peer "$label: echo server" "$logf" "${cmd[@]}" || continue
        log "(d) ${CLIENT_CMD[*]} ws://127.0.0.1:$PEER_PORT --deflate ($label)"
        run_checker "$label checks" 120 python3 "$HERE/client_checks.py" --deflate --server-log "$logf" \
            "$label" "ws://127.0.0.1:$PEER_PORT" "${CLIENT_CMD[@]}"
        stop_pid "$PEER_PID"
    done
}

# --- (e) HTTP/2 (RFC 8441): Node http2 <-> our hyper server and HTTP/2 client ---
part_e() {
    local logf="$TMP/hyper_server.log" port hpid before
    # A Node http2 client -> our hyper_server.
    if have_cmd hyper_server "${HYPER_SERVER_CMD[@]}"; then
        before="$(grep -c '^FAIL - ' "$RESULTS")"
        port="$(free_port)"
        "${HYPER_SERVER_CMD[@]}" "127.0.0.1:$port" >"$logf" 2>&1 &
        hpid=$!
        PIDS+=("$hpid")
        if wait_listening "$port" "$hpid" 15; then
            log "(e) node http2 client -> ${HYPER_SERVER_CMD[*]} on 127.0.0.1:$port (extended CONNECT, h2c)"
            run_checker "node http2 client checks" 120 node "$HERE/node_h2_client_checks.js" "http://127.0.0.1:$port"
            if kill -0 "$hpid" 2>/dev/null; then
                result ok "hyper_server still running after the node http2 client checks"
            else
                result FAIL "hyper_server still running after the node http2 client checks" \
                    "it exited: $(tail -c 300 "$logf" | tr '\n' ' ')"
            fi
            if (($(grep -c '^FAIL - ' "$RESULTS") > before)); then
                log "last lines of the hyper_server log:"
                tail -n 20 "$logf" | sed 's/^/#   /'
            fi
        else
            result FAIL "hyper_server listens on 127.0.0.1:$port" "not listening within 15 s: $(tail -c 300 "$logf" | tr '\n' ' ')"
        fi
        stop_pid "$hpid"
    fi
    # Our HTTP/2 client -> a Node http2 echo server.
    have_cmd h2_client_checks "${H2_CLIENT_CMD[@]}" || return
    local label="h2 client -> node http2 server" slog="$TMP/node-h2-server.log"
    start_peer "$label: echo server" "$slog" node "$HERE/node_h2_echo_server.js" || return
    log "(e) ${H2_CLIENT_CMD[*]} http://127.0.0.1:$PEER_PORT ($label)"
    run_checker "$label checks" 120 "${H2_CLIENT_CMD[@]}" "http://127.0.0.1:$PEER_PORT" "$label"
    stop_pid "$PEER_PID"
    # The server's view: every WebSocket a stream of the one HTTP/2 connection,
    # one of them compressed.
    local streams sessions
    streams="$(grep -c '^STREAM ' "$slog")"
    sessions="$(sed -n 's/^STREAM session=\([0-9]*\) .*/\1/p' "$slog" | sort -u | wc -l)"
    if ((streams >= 4 && sessions == 1)); then
        result ok "$label: the server saw $streams WebSocket streams, all on one HTTP/2 connection"
    else
        result FAIL "$label: the server saw every WebSocket on one HTTP/2 connection" \
            "$streams streams on $sessions connections: $(tr '\n' ' ' <"$slog" | tail -c 400)"
    fi
    if grep -q '^STREAM .* ext=permessage-deflate.* messages=[1-9]' "$slog"; then
        result ok "$label: the server answered permessage-deflate and received messages on it"
    else
        result FAIL "$label: the server answered permessage-deflate" "$(tr '\n' ' ' <"$slog" | tail -c 400)"
    fi
}

for part in $PARTS; do
    case "$part" in
    a) part_a ;;
    b) part_b ;;
    c) part_c ;;
    d) part_d ;;
    e) part_e ;;
    *) result FAIL "INTEROP_PARTS" "unknown part $part" ;;
    esac
done
finish
