#!/usr/bin/env python3
"""Interop (b): our `client URL` example against a real echo server.

Usage: client_checks.py LABEL URL CLIENT_CMD...

Runs CLIENT_CMD URL twice:
  1. piped: all lines on stdin at once then EOF (as `printf ... | client URL`);
     expects every line back on stdout, in order, and exit status 0.
  2. interactive: one line at a time, waiting for its echo before the next;
     then EOF, and expects exit status 0.
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

TIMEOUT = 15.0  # seconds per check
CASES = json.loads((Path(__file__).parent / "cases.json").read_text(encoding="utf-8"))
LINES: list[str] = CASES["client_lines"] + ["x" * 70000]  # one line > 65535 bytes


def short(s: str) -> str:
    return repr(s) if len(s) < 60 else f"<{len(s)}-char line {s[:12]!r}...>"


def main() -> int:
    label, url, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
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
        proc = subprocess.run(cmd + [url], input=data, capture_output=True, timeout=TIMEOUT)
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
    proc = subprocess.Popen(cmd + [url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
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
    print("# done", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
