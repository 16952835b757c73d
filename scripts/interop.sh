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
#
# Every check prints `ok - ...` or `FAIL - ...: detail`; the last line is
# `N passed, M failed`; the exit status is non-zero if M > 0.
#
# Environment (all optional):
#   ECHO_SERVER_BIN=...   command instead of target/release/examples/echo_server
#   CLIENT_BIN=...        command instead of target/release/examples/client
#     (word-split; e.g. ECHO_SERVER_BIN="scripts/standins/run.sh echo_server";
#      the build is skipped when both are overridden)
#   INTEROP_NO_BUILD=1    skip `cargo build --release --examples`
#   INTEROP_PARTS="a b"   which parts to run

set -uo pipefail

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPTS_DIR/.." && pwd)"
HERE="$SCRIPTS_DIR/interop"
VENV="$HERE/.venv"
PY="$VENV/bin/python"
WEBSOCKETS_VERSION=17.4 # keep in sync with interop/requirements.txt
WS_VERSION=8.23.0       # keep in sync with interop/package.json + package-lock.json
PARTS="${INTEROP_PARTS:-a b}"

EXAMPLES="$ROOT/target/release/examples"
read -r -a ECHO_SERVER_CMD <<<"${ECHO_SERVER_BIN:-$EXAMPLES/echo_server}"
read -r -a CLIENT_CMD <<<"${CLIENT_BIN:-$EXAMPLES/client}"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/rfc6455-interop.XXXXXX")"
RESULTS="$TMP/results.txt"
: >"$RESULTS"

log() { printf '# %s\n' "$*"; }

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

finish() {
    local passed failed
    passed="$(grep -c '^ok - ' "$RESULTS")"
    failed="$(grep -c '^FAIL - ' "$RESULTS")"
    echo "$passed passed, $failed failed"
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
    if [[ "${INTEROP_NO_BUILD:-0}" == 1 || (-n "${ECHO_SERVER_BIN:-}" && -n "${CLIENT_BIN:-}") ]]; then
        log "skipping cargo build"
        return 0
    fi
    log "cargo build --release --examples"
    (cd "$ROOT" && cargo build --release --examples) >"$TMP/build.log" 2>&1
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

part_a() {
    local port pid logf="$TMP/echo_server.log"
    have_cmd echo_server "${ECHO_SERVER_CMD[@]}" || return
    port="$(free_port)"
    "${ECHO_SERVER_CMD[@]}" "127.0.0.1:$port" >"$logf" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if ! wait_listening "$port" "$pid" 15; then
        result FAIL "echo_server listens on 127.0.0.1:$port" "not listening within 15 s: $(tail -c 300 "$logf" | tr '\n' ' ')"
        stop_pid "$pid"
        return
    fi
    log "(a) echo_server (${ECHO_SERVER_CMD[*]}) on 127.0.0.1:$port"
    run_checker "py-websockets client checks" 300 "$PY" "$HERE/py_client_checks.py" "ws://127.0.0.1:$port"
    run_checker "node-ws client checks" 300 node "$HERE/node_client_checks.js" "ws://127.0.0.1:$port"
    if kill -0 "$pid" 2>/dev/null; then
        result ok "echo_server still running after all client checks"
    else
        result FAIL "echo_server still running after all client checks" "it exited: $(tail -c 300 "$logf" | tr '\n' ' ')"
    fi
    if grep -q '^FAIL - ' "$RESULTS"; then
        log "last lines of the echo_server log:"
        tail -n 20 "$logf" | sed 's/^/#   /'
    fi
    stop_pid "$pid"
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

for part in $PARTS; do
    case "$part" in
    a) part_a ;;
    b) part_b ;;
    *) result FAIL "INTEROP_PARTS" "unknown part $part" ;;
    esac
done
finish
