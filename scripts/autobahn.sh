#!/usr/bin/env bash
# Autobahn TestSuite conformance run for rfc6455, with the `kosoku` runner
# (a Python 3 / Rust port of Autobahn's fuzzingclient/fuzzingserver that
# runs the original Autobahn case files).
#
#   scripts/autobahn.sh            # build examples, run both roles
#
# Roles:
#   server  our `echo_server` on a free loopback port, driven by
#           `kosoku -m fuzzingclient`
#   client  `kosoku -m fuzzingserver` on a free loopback port, driven by our
#           `autobahn_client ws://127.0.0.1:PORT`
#
# Each role is run one Autobahn section at a time (1, 2, ..., 10), so a
# section that hangs or crashes costs only itself; each section's reports go
# to reports/autobahn/<role>/<section>/ (index.json + index.html + per case).
# The verdicts are read from index.json (never from kosoku's exit code, which
# is 1 for UNIMPLEMENTED cases too). Exit status is non-zero if any case is
# FAILED (anything but OK / NON-STRICT / INFORMATIONAL / UNIMPLEMENTED, in
# behavior or behaviorClose), NON-STRICT, or if a section could not run.
#
# Environment (all optional):
#   AUTOBAHN_ROLES="server client"  roles to run, in order
#   AUTOBAHN_INCLUDE_DEFLATE=0      1: also run sections 12 and 13
#                                   (permessage-deflate)
#   AUTOBAHN_SECTIONS="..."         override the section list entirely
#   AUTOBAHN_ROLE_TIMEOUT=360       seconds allowed for each role (all its
#                                   sections together); kosoku also has its own
#                                   per-case timeouts
#   AUTOBAHN_PARALLELISM=1          kosoku -p for the server role
#   AUTOBAHN_PARALLEL_ROLES=0       1: run the roles at the same time (each has
#                                   its own peer processes, ports and reports)
#   AUTOBAHN_NO_BUILD=0             1: skip `cargo build --release --examples`
#   AUTOBAHN_REPORTS=reports/autobahn  where the reports go (<dir>/<role>/<section>/),
#                                   e.g. a second directory for the tokio examples
#   AUTOBAHN_LABEL=                 a word put before the role in the summary
#                                   lines (e.g. "h2" -> "h2 server: 517 cases, ...")
#   ECHO_SERVER_BIN=...             command used instead of
#                                   target/release/examples/echo_server
#   AUTOBAHN_CLIENT_BIN=...         command used instead of
#                                   target/release/examples/autobahn_client
#     (both are word-split, e.g. ECHO_SERVER_BIN="scripts/standins/run.sh echo_server";
#      the build is skipped when every role's binary is overridden)
#   KOSOKU_VERSION=0.1.0            pinned runner version

set -uo pipefail

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPTS_DIR/.." && pwd)"
VENV="$SCRIPTS_DIR/.venv"
REPORTS="${AUTOBAHN_REPORTS:-$ROOT/reports/autobahn}"

KOSOKU_VERSION="${KOSOKU_VERSION:-0.1.0}"
ROLES="${AUTOBAHN_ROLES:-server client}"
ROLE_TIMEOUT="${AUTOBAHN_ROLE_TIMEOUT:-360}"
PARALLELISM="${AUTOBAHN_PARALLELISM:-1}"
SECTIONS="${AUTOBAHN_SECTIONS:-1 2 3 4 5 6 7 9 10}" # there is no section 8
if [[ "${AUTOBAHN_INCLUDE_DEFLATE:-0}" == 1 && -z "${AUTOBAHN_SECTIONS:-}" ]]; then
    SECTIONS="$SECTIONS 12 13"
fi

# ---------------------------------------------------------------------------
# Cases excluded from every run, by id or glob (passed to kosoku -x).
# One per line, each with a comment saying why and the issue tracking it, e.g.
#   "9.7.*"   # takes too long in CI, see issue #NN
EXCLUDE_CASES=(
)
# ---------------------------------------------------------------------------

EXAMPLES="$ROOT/target/release/examples"
read -r -a ECHO_SERVER_CMD <<<"${ECHO_SERVER_BIN:-$EXAMPLES/echo_server}"
read -r -a AUTOBAHN_CLIENT_CMD <<<"${AUTOBAHN_CLIENT_BIN:-$EXAMPLES/autobahn_client}"

log() { printf '[autobahn] %s\n' "$*" >&2; }

# --- cleanup of everything started in the background -------------------------
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # give it a moment, then insist
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

forget_pid() { # forget_pid PID
    local keep=() p
    for p in "${PIDS[@]}"; do [[ "$p" != "$1" ]] && keep+=("$p"); done
    PIDS=("${keep[@]}")
}

stop_pid() { # stop_pid PID: TERM, wait up to 2 s, KILL
    local pid="$1"
    kill "$pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null
    forget_pid "$pid"
}

# wait_pid_timeout PID SECONDS: wait for PID to exit; returns its status, or
# 124 (and kills it) after SECONDS.
wait_pid_timeout() {
    local pid="$1" secs="$2" deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            stop_pid "$pid"
            return 124
        fi
        sleep 0.2
    done
    wait "$pid" 2>/dev/null
    local rc=$?
    forget_pid "$pid"
    return "$rc"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listening PORT PID SECONDS: until 127.0.0.1:PORT accepts connections.
wait_listening() {
    local port="$1" pid="$2" deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# --- runner -----------------------------------------------------------------
setup_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating venv $VENV"
        python3 -m venv "$VENV" || { log "cannot create venv"; exit 2; }
    fi
    local have
    have="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("kosoku"))' 2>/dev/null || true)"
    if [[ "$have" != "$KOSOKU_VERSION" ]]; then
        log "installing kosoku==$KOSOKU_VERSION"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "kosoku==$KOSOKU_VERSION" ||
            { log "pip install kosoku==$KOSOKU_VERSION failed"; exit 2; }
    fi
}

build() {
    local need=0
    [[ " $ROLES " == *" server "* && -z "${ECHO_SERVER_BIN:-}" ]] && need=1
    [[ " $ROLES " == *" client "* && -z "${AUTOBAHN_CLIENT_BIN:-}" ]] && need=1
    if [[ "${AUTOBAHN_NO_BUILD:-0}" == 1 || $need == 0 ]]; then
        log "skipping cargo build"
        return
    fi
    log "cargo build --release --examples"
    (cd "$ROOT" && cargo build --release --examples) || { log "build failed"; exit 2; }
}

kosoku_args() { # kosoku_args SECTION -> selection flags, one per line
    printf '%s\n' -i "$1.*"
    local c
    for c in "${EXCLUDE_CASES[@]}"; do printf '%s\n' -x "$c"; done
}

have_cmd() { # have_cmd NAME CMD...: is CMD's program there? (else note a problem)
    local name="$1" dir="$2"
    shift 2
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "$name: '$1' not found or not executable (did \`cargo build --release --examples\` build it?)" >>"$dir/problems.txt"
    return 1
}

# --- server role: kosoku fuzzingclient -> our echo_server -----------------------
ECHO_PID=""
ECHO_PORT=""
start_echo_server() { # start_echo_server LOGFILE
    ECHO_PORT="$(free_port)"
    "${ECHO_SERVER_CMD[@]}" "127.0.0.1:$ECHO_PORT" >>"$1" 2>&1 &
    ECHO_PID=$!
    PIDS+=("$ECHO_PID")
    if ! wait_listening "$ECHO_PORT" "$ECHO_PID" 15; then
        stop_pid "$ECHO_PID"
        ECHO_PID=""
        return 1
    fi
}

run_server_role() {
    local dir="$REPORTS/server" start=$SECONDS deadline=$((SECONDS + ROLE_TIMEOUT))
    rm -rf "$dir" && mkdir -p "$dir"
    : >"$dir/problems.txt"
    have_cmd echo_server "$dir" "${ECHO_SERVER_CMD[@]}" || return
    if ! start_echo_server "$dir/echo_server.log"; then
        echo "echo_server (${ECHO_SERVER_CMD[*]}) did not start listening within 15 s, see $dir/echo_server.log" >>"$dir/problems.txt"
        return
    fi
    log "server role: echo_server pid $ECHO_PID on 127.0.0.1:$ECHO_PORT"
    local section left rc args
    for section in $SECTIONS; do
        left=$((deadline - SECONDS))
        if ((left <= 0)); then
            echo "section $section not run: role timeout (${ROLE_TIMEOUT}s) reached" >>"$dir/problems.txt"
            continue
        fi
        if ! kill -0 "$ECHO_PID" 2>/dev/null; then
            echo "echo_server died before section $section; restarted it" >>"$dir/problems.txt"
            if ! start_echo_server "$dir/echo_server.log"; then
                echo "echo_server could not be restarted for section $section" >>"$dir/problems.txt"
                break
            fi
        fi
        mapfile -t args < <(kosoku_args "$section")
        log "server role: section $section (time left ${left}s)"
        "$VENV/bin/kosoku" -m fuzzingclient "127.0.0.1:$ECHO_PORT" -p "$PARALLELISM" \
            -o "$dir/$section" "${args[@]}" >"$dir/kosoku-$section.log" 2>&1 &
        local kpid=$!
        PIDS+=("$kpid")
        wait_pid_timeout "$kpid" "$left"
        rc=$?
        if ((rc == 124)); then
            echo "section $section: kosoku killed at the role timeout (${ROLE_TIMEOUT}s); no report" >>"$dir/problems.txt"
        elif [[ ! -f "$dir/$section/index.json" ]]; then
            echo "section $section: kosoku exited $rc without a report, see $dir/kosoku-$section.log" >>"$dir/problems.txt"
        fi
    done
    if [[ -n "$ECHO_PID" ]]; then
        if ! kill -0 "$ECHO_PID" 2>/dev/null; then
            echo "echo_server exited during the run, see $dir/echo_server.log" >>"$dir/problems.txt"
        fi
        stop_pid "$ECHO_PID"
    fi
    log "server role took $((SECONDS - start))s"
}

# --- client role: our autobahn_client -> kosoku fuzzingserver -------------------
run_client_role() {
    local dir="$REPORTS/client" start=$SECONDS deadline=$((SECONDS + ROLE_TIMEOUT))
    rm -rf "$dir" && mkdir -p "$dir"
    : >"$dir/problems.txt"
    have_cmd autobahn_client "$dir" "${AUTOBAHN_CLIENT_CMD[@]}" || return
    local section left rc args kpid cpid url
    for section in $SECTIONS; do
        left=$((deadline - SECONDS))
        if ((left <= 0)); then
            echo "section $section not run: role timeout (${ROLE_TIMEOUT}s) reached" >>"$dir/problems.txt"
            continue
        fi
        mapfile -t args < <(kosoku_args "$section")
        local klog="$dir/kosoku-$section.log"
        # Port 0: kosoku binds an ephemeral port and prints
        # "fuzzingserver listening on ws://127.0.0.1:PORT" on stderr.
        "$VENV/bin/kosoku" -m fuzzingserver 127.0.0.1:0 -o "$dir/$section" "${args[@]}" >"$klog" 2>&1 &
        kpid=$!
        PIDS+=("$kpid")
        url=""
        for _ in $(seq 1 75); do # 15 s
            url="$(grep -o 'listening on ws://127\.0\.0\.1:[0-9]*' "$klog" 2>/dev/null | head -n1 | sed 's/^listening on //')"
            [[ -n "$url" ]] && break
            kill -0 "$kpid" 2>/dev/null || break
            sleep 0.2
        done
        if [[ -z "$url" ]]; then
            echo "section $section: kosoku fuzzingserver did not start, see $klog" >>"$dir/problems.txt"
            stop_pid "$kpid"
            continue
        fi
        log "client role: section $section on $url (time left ${left}s)"
        "${AUTOBAHN_CLIENT_CMD[@]}" "$url" >"$dir/autobahn_client-$section.log" 2>&1 &
        cpid=$!
        PIDS+=("$cpid")
        wait_pid_timeout "$cpid" "$left"
        rc=$?
        if ((rc == 124)); then
            echo "section $section: autobahn_client killed at the role timeout (${ROLE_TIMEOUT}s)" >>"$dir/problems.txt"
        elif ((rc != 0)); then
            # Not a failure by itself: kosoku drops /updateReports without a
            # close frame, which a strict client may report as an error.
            log "note: autobahn_client exited $rc for section $section (see $dir/autobahn_client-$section.log)"
        fi
        # kosoku writes the reports and exits as soon as /updateReports
        # arrives; give it a short grace period (within the role deadline).
        local grace=$((deadline - SECONDS))
        ((grace > 10)) && grace=10
        ((grace < 2)) && grace=2
        wait_pid_timeout "$kpid" "$grace"
        rc=$?
        if ((rc == 124)); then
            echo "section $section: kosoku fuzzingserver still waiting ${grace}s after autobahn_client ended (no /updateReports?); no report" >>"$dir/problems.txt"
        elif [[ ! -f "$dir/$section/index.json" ]]; then
            echo "section $section: kosoku exited $rc without a report, see $klog" >>"$dir/problems.txt"
        fi
    done
    log "client role took $((SECONDS - start))s"
}

# --- main -------------------------------------------------------------------
setup_venv
build
mkdir -p "$REPORTS"
log "sections: $SECTIONS; excluded cases: ${EXCLUDE_CASES[*]:-none}; roles: $ROLES"

status=0
summaries=()
run_role() { # run_role ROLE
    case "$1" in
    server) run_server_role ;;
    client) run_client_role ;;
    esac
}
for role in $ROLES; do
    case "$role" in
    server | client) ;;
    *) log "unknown role $role"; exit 2 ;;
    esac
done
if [[ "${AUTOBAHN_PARALLEL_ROLES:-0}" == 1 ]]; then
    # Each role in a subshell of its own, with its own cleanup of what it
    # started; stopping this script stops them (their traps run cleanup).
    for role in $ROLES; do
        (
            PIDS=()
            trap cleanup EXIT
            trap 'exit 130' INT TERM
            run_role "$role"
        ) &
        PIDS+=("$!")
    done
    for pid in "${PIDS[@]}"; do wait "$pid"; done
    PIDS=()
else
    for role in $ROLES; do run_role "$role"; done
fi
echo
for role in $ROLES; do
    python3 "$SCRIPTS_DIR/autobahn_summary.py" "${AUTOBAHN_LABEL:+$AUTOBAHN_LABEL }$role" "$REPORTS/$role" || status=1
done
echo "reports: $REPORTS/{$(echo $ROLES | tr ' ' ',')}/<section>/index.html"
exit "$status"
