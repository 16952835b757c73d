#!/usr/bin/env python3
"""Interop (b): our `client URL` example against a real echo server.

Usage: client_checks.py [--deflate --server-log PATH] LABEL URL CLIENT_CMD...

Runs CLIENT_CMD URL twice:
  1. piped: all lines on stdin at once then EOF (as `printf ... | client URL`);
     expects every line back on stdout, in order, and exit status 0.
  2. interactive: one line at a time, waiting for its echo before the next;
     then EOF, and expects exit status 0.
With --deflate: runs CLIENT_CMD URL --deflate, adds a 1 MiB and a 4 MiB
line, and reads the echo server's `CONN ext=... messages=N compressed=M`
lines from PATH (py_echo_server.py / node_echo_server.js print one per
connection): both connections must have negotiated permessage-deflate and
every line of >= 1 KiB must have arrived compressed (RSV1; shorter ones
may fall under the client's compression threshold).
Prints `ok - ...` / `FAIL - ...: detail` lines and `# done`. Only standard
library: runs with any Python 3.
"""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import random
import re

TIMEOUT = 15.0  # seconds per check
CASES = json.loads((Path(__file__).parent / "cases.json").read_text(encoding="utf-8"))
LINES: list[str] = CASES["client_lines"] + ["x" * 70000]  # one line > 65535 bytes


def big_line(size: int, seed: int) -> str:
    """A compressible line of `size` bytes: words with 1..4-byte UTF-8."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "caf\u00e9", "\u20ac", "\u4e2d\u6587", "\U0001F600", "deflate",
             str(rng.random())]
    out, n = [], 0
    while n < size:
        w = rng.choice(words) + " "
        out.append(w)
        n += len(w.encode())
    s = "".join(out).encode()[:size].decode("utf-8", "ignore")
    return s + "x" * (size - len(s.encode()))


def server_conns(path: str, want: int, wait: float = 5.0) -> list[str]:
    """The `CONN ...` lines of the echo server log, once `want` are there."""
    deadline = time.monotonic() + wait
    while True:
        try:
            lines = [l for l in Path(path).read_text(errors="replace").splitlines() if l.startswith("CONN ")]
        except OSError:
            lines = []
        if len(lines) >= want or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def short(s: str) -> str:
    return repr(s) if len(s) < 60 else f"<{len(s)}-char line {s[:12]!r}...>"


def main() -> int:
    args = sys.argv[1:]
    deflate, server_log = False, None
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--deflate":
            deflate = True
        elif opt == "--server-log":
            server_log = args.pop(0)
        else:
            sys.exit(f"unknown option {opt}")
    label, url, cmd = args[0], args[1], args[2:]
    global LINES
    extra = ["--deflate"] if deflate else []
    if deflate:
        LINES = LINES + [big_line(1 << 20, 1), big_line(4 << 20, 4)]
    failed = 0

    def report(ok: bool, name: str, detail: str = "") -> None:
        nonlocal failed
        if ok:
            print(f"ok - {label}: {name}", flush=True)
        else:
            failed += 1
            print(f"FAIL - {label}: {name}: {detail}", flush=True)

    # 1. piped
    data = "".join(line + "\n" for line in LINES).encode()
    try:
        proc = subprocess.run(cmd + [url] + extra, input=data, capture_output=True, timeout=TIMEOUT)
        out = proc.stdout.decode("utf-8", "replace").splitlines()
        for i, line in enumerate(LINES):
            name = f"piped stdin: line {i + 1} {short(line)} echoed"
            if i < len(out) and out[i] == line:
                report(True, name)
            else:
                got = short(out[i]) if i < len(out) else "nothing"
                report(False, name, f"got {got}")
        report(len(out) <= len(LINES), "piped stdin: no extra output lines",
               f"{len(out) - len(LINES)} extra: {[short(x) for x in out[len(LINES):]][:3]}")
        report(proc.returncode == 0, "piped stdin: client exits 0 after EOF",
               f"exit status {proc.returncode}; stderr: {proc.stderr.decode(errors='replace')[-300:]!r}")
    except subprocess.TimeoutExpired as exc:
        report(False, "piped stdin: client run", f"did not exit within {TIMEOUT:.0f}s; "
               f"stdout so far: {(exc.stdout or b'')[:200]!r}")

    # 2. interactive
    proc = subprocess.Popen(cmd + [url] + extra, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    lines_q: queue.Queue[bytes] = queue.Queue()

    def reader() -> None:
        for raw in proc.stdout:  # type: ignore[union-attr]
            lines_q.put(raw)
        lines_q.put(b"")  # EOF marker

    threading.Thread(target=reader, daemon=True).start()
    try:
        for i, line in enumerate(LINES):
            name = f"interactive: line {i + 1} {short(line)} echoed before the next is sent"
            try:
                proc.stdin.write((line + "\n").encode())  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
                raw = lines_q.get(timeout=TIMEOUT)
            except queue.Empty:
                report(False, name, f"no output within {TIMEOUT:.0f}s")
                break
            except OSError as exc:
                report(False, name, f"cannot write to client: {exc}")
                break
            got = raw.decode("utf-8", "replace").rstrip("\n")
            report(raw != b"" and got == line, name, f"got {short(got) if raw else 'EOF'}")
        try:
            proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        try:
            rc = proc.wait(timeout=TIMEOUT)
            report(rc == 0, "interactive: client exits 0 after EOF", f"exit status {rc}; stderr: "
                   f"{proc.stderr.read().decode(errors='replace')[-300:]!r}")  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            report(False, "interactive: client exits 0 after EOF", f"still running {TIMEOUT:.0f}s after EOF")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if deflate and server_log:
        conns = server_conns(server_log, 2)
        # small lines may go uncompressed (the client's threshold); big ones may not
        big = sum(len(line.encode()) >= 1024 for line in LINES)
        for i, what in enumerate(("piped", "interactive")):
            name = f"{what}: permessage-deflate negotiated, client messages of >= 1 KiB compressed"
            if i >= len(conns):
                report(False, name, f"echo server logged {len(conns)} connection(s): {conns}")
                continue
            m = re.match(r"CONN ext=(.*) messages=(\d+) compressed=(\d+)$", conns[i])
            if not m:
                report(False, name, f"unparsable server line {conns[i]!r}")
                continue
            ext, n, c = m.group(1), int(m.group(2)), int(m.group(3))
            print(f"# {label}: {what}: server answered {ext!r}; {c} of {n} client messages compressed",
                  flush=True)
            if "permessage-deflate" not in ext:
                report(False, name, f"server answered Sec-WebSocket-Extensions {ext!r}")
            elif n != len(LINES) or c < big:
                report(False, name, f"{c} of {n} client messages compressed, expected {len(LINES)} messages "
                       f"and at least the {big} of >= 1 KiB compressed")
            else:
                report(True, name)
    print("# done", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
