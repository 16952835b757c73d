#!/usr/bin/env bash
# Runs a stand-in with the interop venv's Python (which has `websockets`).
# Usage: scripts/standins/run.sh echo_server|autobahn_client|client ARGS...
# e.g. ECHO_SERVER_BIN="scripts/standins/run.sh echo_server" scripts/autobahn.sh
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$here/../interop/.venv/bin/python"
[[ -x "$py" ]] || { echo "run scripts/interop.sh once first (creates $py)" >&2; exit 2; }
name="$1"; shift
exec "$py" "$here/$name.py" "$@"
