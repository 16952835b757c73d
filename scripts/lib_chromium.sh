# Sourced by scripts/browser_h2.sh and scripts/browser_chat.sh: finds
# Chromium, installing Debian's `chromium` with apt when none is found
# ($CHROMIUM, or chromium / chromium-browser / google-chrome on the PATH).
#
#   . scripts/lib_chromium.sh
#   ensure_chromium NAME "FIRST LINE" "MORE LINES"...
#
# When Chromium cannot be installed, ensure_chromium prints a banner,
# "# NAME: Chromium could not be installed: FIRST LINE" and "# MORE LINES",
# and exits the script: 0, or 1 under CI (CI set), where the browser test
# must run. Otherwise it prints Chromium's version (where it can) and
# returns.

have_chromium() {
  [ -n "${CHROMIUM:-}" ] && return 0
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
    command -v google-chrome >/dev/null 2>&1 || command -v google-chrome-stable >/dev/null 2>&1
}

ensure_chromium() {
  local name=$1 first=$2 line banner
  shift 2
  if ! have_chromium && command -v apt-get >/dev/null 2>&1; then
    echo "$name: no Chromium; installing Debian's chromium with apt"
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null || true
  fi

  if ! have_chromium; then
    banner=$(printf '#%.0s' $(seq 72))
    echo "$banner"
    echo "# $name: Chromium could not be installed: $first"
    for line in "$@"; do
      echo "# $line"
    done
    echo "$banner"
    if [ -n "${CI:-}" ]; then
      exit 1
    fi
    exit 0
  fi

  command -v chromium >/dev/null 2>&1 && chromium --version 2>/dev/null || true
}
