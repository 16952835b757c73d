#!/usr/bin/env python3
"""Interop (a): drive an echo server (our `echo_server`) with a Python
`websockets` client. Usage: py_client_checks.py ws://127.0.0.1:PORT

Prints one line per check: `ok - ...` or `FAIL - ...: detail`, then
`# done` once every check has run (scripts/interop.sh counts the lines).
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import websockets.asyncio.messages
from websockets.asyncio.client import connect

# websockets >= 17 refuses messages of more than MAX_FRAGMENTS (default 4096)
# frames in recv(); lift it so "no fragment limits" holds on our side too.
websockets.asyncio.messages.MAX_FRAGMENTS = 1 << 24

LABEL = "py-websockets client -> echo_server"
TIMEOUT = 20.0  # seconds per check
CASES = json.loads((Path(__file__).parent / "cases.json").read_text(encoding="utf-8"))

passed = failed = 0


def report(ok: bool, name: str, detail: str = "") -> None:
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {LABEL}: {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL - {LABEL}: {name}: {detail}", flush=True)


def split_inside_code_points(data: bytes) -> list[bytes]:
    """Split right after the lead byte of every multi-byte UTF-8 sequence, so
    every boundary falls inside a code point."""
    frags, start = [], 0
    for i, b in enumerate(data):
        if b >= 0xC0:
            frags.append(data[start : i + 1])
            start = i + 1
    frags.append(data[start:])
    return frags


def describe(msg) -> str:
    kind = "text" if isinstance(msg, str) else "binary"
    return f"{kind} of {len(msg.encode() if isinstance(msg, str) else msg)} bytes"


class Runner:
    def __init__(self, url: str) -> None:
        self.url = url
        self.ws = None

    async def conn(self):
        if self.ws is None or self.ws.state.name != "OPEN":
            self.ws = await connect(
                self.url,
                max_size=None,
                max_queue=None,
                ping_interval=None,
                open_timeout=10,
                close_timeout=5,
                # the default: offers permessage-deflate, which the server may decline
            )
        return self.ws

    async def check(self, name: str, coro_fn) -> None:
        try:
            detail = await asyncio.wait_for(coro_fn(), TIMEOUT)
        except asyncio.TimeoutError:
            detail = f"timed out after {TIMEOUT:.0f}s"
        except Exception as exc:  # noqa: BLE001 - report anything as a failure
            detail = f"{type(exc).__name__}: {exc}"
        if detail:
            # the connection may be unusable now; start afresh for the next check
            if self.ws is not None:
                self.ws.transport.abort() if self.ws.transport else None
            self.ws = None
        report(not detail, name, detail or "")

    async def echo(self, message, expected) -> str | None:
        ws = await self.conn()
        await ws.send(message, text=isinstance(expected, str))
        got = await ws.recv()
        if type(got) is not type(expected):
            return f"expected {describe(expected)}, got {describe(got)}"
        if got != expected:
            return f"payload differs: expected {describe(expected)}, got {describe(got)}"
        return None


async def main() -> int:
    url = sys.argv[1]
    r = Runner(url)

    # --- text messages, single frame
    for case in CASES["texts"]:
        text = case["text"]
        await r.check(f"text {case['name']} ({len(text.encode())} bytes) echoed as text",
                      lambda t=text: r.echo(t, t))

    # --- text messages as byte fragments split inside code points
    for case in CASES["texts"]:
        data = case["text"].encode()
        if all(b < 0x80 for b in data):
            continue
        frags = split_inside_code_points(data)
        await r.check(
            f"text {case['name']} in {len(frags)} fragments split inside code points",
            lambda f=frags, t=case["text"]: r.echo(f, t))
    everything = "".join(c["text"] for c in CASES["texts"])
    one_byte = [bytes([b]) for b in everything.encode()]
    await r.check(f"text with all of the above, one byte per fragment ({len(one_byte)} fragments)",
                  lambda: r.echo(one_byte, everything))
    await r.check("text in 3 str fragments (whole code points)",
                  lambda: r.echo(["frag-one ", "\u20ac two ", "\U0001F600 three"],
                                 "frag-one \u20ac two \U0001F600 three"))

    # --- binary messages
    for size in CASES["binary_sizes"]:
        payload = os.urandom(size)
        await r.check(f"binary {size} bytes echoed as binary",
                      lambda p=payload: r.echo(p, p))
    parts = [os.urandom(1000), b"", os.urandom(70000), os.urandom(3)]
    await r.check("binary in 4 fragments (incl. an empty one) echoed as one message",
                  lambda: r.echo(parts, b"".join(parts)))

    # --- ping / pong
    for name, payload in (("short", b"ping \x00\xff payload"), ("125-byte", os.urandom(125))):
        async def ping(p=payload):
            ws = await r.conn()
            waiter = await ws.ping(p)  # resolves only on a pong with the same payload
            await asyncio.wait_for(waiter, 5)
            return None
        await r.check(f"ping with {name} payload answered by pong with the same payload", ping)

    # --- close handshakes (fresh connection each)
    for code, reason in ((1000, ""), (4000, "custom reason \u2713")):
        async def close(code=code, reason=reason):
            if r.ws is not None:
                await r.ws.close()
                r.ws = None
            ws = await r.conn()
            r.ws = None
            await ws.close(code, reason)
            rcvd = ws.protocol.close_rcvd
            if rcvd is None:
                return "no close frame received"
            if rcvd.code != code:
                return f"echoed close code {rcvd.code}, expected {code}"
            if rcvd.reason != reason:
                return f"close code {rcvd.code} ok but echoed reason {rcvd.reason!r}, expected {reason!r}"
            return None
        label = f"close {code}" + (f" with reason {reason!r}" if reason else "")
        await r.check(f"{label}: same code and reason echoed", close)

    print("# done", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
