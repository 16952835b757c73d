#!/usr/bin/env python3
"""Interop (c): permessage-deflate (RFC 7692) against an echo server (our
`echo_server`, which accepts any offer, keeps context takeover when allowed
and compresses every message) with a Python `websockets` client.

Usage: py_deflate_checks.py ws://127.0.0.1:PORT

1. default compression (`compression="deflate"`): negotiation seen in the
   response's Sec-WebSocket-Extensions, then text/binary round trips incl.
   empty, 1/4/16 MiB, fragmented and UTF-8 split across fragments; every echo
   must come back compressed (RSV1 on its first frame).
2. a matrix of ClientPerMessageDeflateFactory parameters (compression=None):
   per combination, "answer accepted" (websockets accepts the server's
   answer, whose parameters match the offer) and "round trips" (repeated,
   long-distance-repetitive and random 64 KiB messages, split UTF-8, all
   echoes compressed). server_max_window_bits=8 must be declined (no
   extension in the answer) and the connection must work uncompressed.

Prints `ok - ...` / `FAIL - ...: detail` lines, `# ...` notes, then `# done`.
"""
from __future__ import annotations

import asyncio
import os
import random
import sys

import websockets.asyncio.messages
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)
from websockets.frames import Opcode
from websockets.headers import parse_extension

websockets.asyncio.messages.MAX_FRAGMENTS = 1 << 24  # no fragment-count limit

LABEL = "py-websockets deflate client -> echo_server"
TIMEOUT = 20.0  # seconds per check
BIG_TIMEOUT = 60.0  # seconds for checks with 16 MiB messages
MIB = 1 << 20

passed = failed = 0


def report(ok: bool, name: str, detail: str = "") -> None:
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {LABEL}: {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL - {LABEL}: {name}: {detail}", flush=True)


def note(text: str) -> None:
    print(f"# {text}", flush=True)


# --- payloads ---------------------------------------------------------------
rng = random.Random(6455)


def compressible_text(size: int) -> str:
    """ASCII-heavy text with some 2/3/4-byte characters, `size` bytes UTF-8."""
    words = ["alpha", "beta", "gamma", "delta", "caf\u00e9", "\u20ac", "\u4e2d\u6587",
             "\U0001F600", "websocket", "deflate", "0123456789"]
    out, n = [], 0
    while n < size:
        w = rng.choice(words) + " "
        out.append(w)
        n += len(w.encode())
    s = "".join(out).encode()[:size].decode("utf-8", "ignore")  # the cut may drop a char
    return s + "x" * (size - len(s.encode()))


def compressible_bytes(size: int) -> bytes:
    """Random 1500-byte and 300-byte blocks repeated: back-references farther
    than 512 bytes pay off (a peer ignoring a 9-bit window would be caught)."""
    block_a, block_b = os.urandom(1500), os.urandom(300)
    unit = block_a + block_b * 3 + bytes(200)
    return (unit * (size // len(unit) + 1))[:size]


def split_inside_code_points(data: bytes) -> list[bytes]:
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


# --- connection helpers -----------------------------------------------------
class Tracked:
    """A connection plus counters of received data messages / compressed ones
    (RSV1 on the first frame), counted in PerMessageDeflate.decode."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.messages = 0
        self.compressed = 0
        self.header = ws.response.headers.get("Sec-WebSocket-Extensions")
        self.pmd = [e for e in ws.protocol.extensions if isinstance(e, PerMessageDeflate)]
        for ext in self.pmd:
            orig = ext.decode

            def decode(frame, *, max_size=None, _orig=orig):
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                    self.messages += 1
                    self.compressed += bool(frame.rsv1)
                return _orig(frame, max_size=max_size)

            ext.decode = decode

    async def echo(self, message, expected) -> str | None:
        await self.ws.send(message, text=isinstance(expected, str))
        got = await self.ws.recv()
        if type(got) is not type(expected):
            return f"expected {describe(expected)}, got {describe(got)}"
        if got != expected:
            return f"payload differs: expected {describe(expected)}, got {describe(got)}"
        return None


async def open_conn(url: str, **kw) -> Tracked:
    ws = await connect(url, max_size=None, max_queue=None, ping_interval=None,
                       open_timeout=10, close_timeout=5, **kw)
    return Tracked(ws)


async def run_check(name: str, coro_fn, timeout: float = TIMEOUT) -> bool:
    try:
        detail = await asyncio.wait_for(coro_fn(), timeout)
    except asyncio.TimeoutError:
        detail = f"timed out after {timeout:.0f}s"
    except Exception as exc:  # noqa: BLE001 - report anything as a failure
        detail = f"{type(exc).__name__}: {exc}"
    report(not detail, name, detail or "")
    return not detail


async def close_quietly(t: Tracked | None) -> None:
    if t is None:
        return
    try:
        await asyncio.wait_for(t.ws.close(), 5)
    except Exception:  # noqa: BLE001
        if t.ws.transport:
            t.ws.transport.abort()


# --- 1. default compression -------------------------------------------------
async def default_compression(url: str) -> None:
    state: dict[str, Tracked | None] = {"t": None}

    async def negotiate():
        t = await open_conn(url)  # compression="deflate" is the default
        state["t"] = t
        note(f"default offer answered with Sec-WebSocket-Extensions: {t.header}")
        if not t.header or "permessage-deflate" not in t.header:
            return f"no permessage-deflate in the answer (Sec-WebSocket-Extensions: {t.header!r})"
        if not t.pmd:
            return "websockets did not enable PerMessageDeflate"
        return None

    if not await run_check("default compression: permessage-deflate negotiated "
                           "(Sec-WebSocket-Extensions in the response)", negotiate):
        await close_quietly(state["t"])
        return

    async def conn() -> Tracked:
        if state["t"] is None or state["t"].ws.state.name != "OPEN":
            raise RuntimeError("connection lost after an earlier failure")
        return state["t"]

    async def echo(message, expected=None):
        t = await conn()
        return await t.echo(message, message if expected is None else expected)

    text64k = compressible_text(64 * 1024)
    cases = [
        ("empty text", "", TIMEOUT),
        ("empty binary", b"", TIMEOUT),
        ("text ASCII", "Hello, permessage-deflate! 0123456789", TIMEOUT),
        ("text 2/3/4-byte UTF-8 incl. U+FFFF and U+10FFFF",
         "caf\u00e9 \u20ac \u4e2d\u6587 \uffff \U0001F600 \U0010FFFF", TIMEOUT),
        ("text 64 KiB compressible", text64k, TIMEOUT),
        ("text 64 KiB compressible again (context takeover)", text64k, TIMEOUT),
        ("binary 125 bytes random", os.urandom(125), TIMEOUT),
        ("binary 65536 bytes random", os.urandom(65536), TIMEOUT),
        ("binary 1 MiB random", os.urandom(MIB), TIMEOUT),
        ("binary 1 MiB compressible", compressible_bytes(MIB), TIMEOUT),
        ("text 1 MiB compressible", compressible_text(MIB), TIMEOUT),
        ("binary 4 MiB random", os.urandom(4 * MIB), TIMEOUT),
        ("text 4 MiB compressible", compressible_text(4 * MIB), TIMEOUT),
        ("binary 16 MiB compressible", compressible_bytes(16 * MIB), BIG_TIMEOUT),
        ("binary 16 MiB of zeros (ratio ~1000:1)", bytes(16 * MIB), BIG_TIMEOUT),
        ("binary 16 MiB random", os.urandom(16 * MIB), BIG_TIMEOUT),
        ("text 16 MiB compressible", compressible_text(16 * MIB), BIG_TIMEOUT),
    ]
    for name, msg, secs in cases:
        await run_check(f"default compression: {name} echoed", lambda m=msg: echo(m), secs)

    # fragmented compressed messages (one deflate stream over several frames)
    parts = [os.urandom(1000), b"", compressible_bytes(70000), os.urandom(3)]
    await run_check("default compression: binary in 4 fragments (incl. an empty one) echoed as one message",
                    lambda: echo(parts, b"".join(parts)))
    everything = "caf\u00e9 \u00fc\u00f1\u00df \u20ac \u4e2d\u6587 \uffff \U0001F600 \U0010FFFF"
    frags = split_inside_code_points(everything.encode())
    await run_check(f"default compression: text in {len(frags)} fragments split inside code points",
                    lambda: echo(frags, everything))
    one_byte = [bytes([b]) for b in everything.encode()]
    await run_check(f"default compression: text one byte per fragment ({len(one_byte)} fragments)",
                    lambda: echo(one_byte, everything))
    await run_check("default compression: text in 3 str fragments",
                    lambda: echo(["frag-one ", "\u20ac two ", "\U0001F600 three"],
                                 "frag-one \u20ac two \U0001F600 three"))
    big = compressible_bytes(16 * MIB)
    big_frags = [big[i : i + MIB] for i in range(0, len(big), MIB)]
    await run_check("default compression: binary 16 MiB in 16 fragments of 1 MiB echoed",
                    lambda: echo(big_frags, big), BIG_TIMEOUT)
    bigtext = compressible_text(4 * MIB).encode()
    tfrags = split_inside_code_points(bigtext[: 256 * 1024])
    tfrags = [b"".join(tfrags[i : i + 50]) for i in range(0, len(tfrags), 50)]  # cuts stay inside code points
    tfrags.append(bigtext[256 * 1024 :])
    await run_check(f"default compression: 4 MiB text in {len(tfrags)} fragments split inside code points",
                    lambda: echo(tfrags, bigtext.decode()), BIG_TIMEOUT)

    async def all_compressed():
        t = await conn()
        note(f"default compression: {t.compressed} of {t.messages} echoed messages compressed")
        if t.messages == 0:
            return "no data message counted"
        if t.compressed != t.messages:
            return f"only {t.compressed} of {t.messages} echoed messages had RSV1 (compressed)"
        return None

    await run_check("default compression: every echo arrived compressed (RSV1)", all_compressed)

    async def close():
        t = await conn()
        state["t"] = None
        await t.ws.close(1000, "bye")
        rcvd = t.ws.protocol.close_rcvd
        if rcvd is None or rcvd.code != 1000 or rcvd.reason != "bye":
            return f"close echoed as {rcvd!r}"
        return None

    await run_check("default compression: close 1000 'bye' echoed", close)
    await close_quietly(state["t"])


# --- 2. parameter matrix ----------------------------------------------------
def matrix() -> list[tuple[bool, bool, int | None, int | bool | None]]:
    """(server_no_context_takeover, client_no_context_takeover,
    server_max_window_bits, client_max_window_bits); client None = not offered,
    True = offered without a value."""
    combos = []
    for snct in (False, True):
        for cnct in (False, True):
            for smwb, cmwb in ((None, True), (9, 9), (15, 15), (12, None)):
                combos.append((snct, cnct, smwb, cmwb))
    for smwb, cmwb in ((None, None), (None, 9), (None, 15), (9, None), (9, True), (9, 15),
                       (12, True), (12, 9), (15, None), (15, True), (15, 9)):
        combos.append((False, False, smwb, cmwb))
    combos.append((True, True, 9, True))
    return combos


def combo_name(snct, cnct, smwb, cmwb) -> str:
    c = "-" if cmwb is None else "offered" if cmwb is True else cmwb
    return (f"offer server_no_context_takeover={int(snct)} client_no_context_takeover={int(cnct)} "
            f"server_max_window_bits={smwb if smwb is not None else '-'} client_max_window_bits={c}")


def answer_problems(header: str | None, snct, cnct, smwb, cmwb) -> list[str]:
    """Compare the server's answer with what the offer entitles it to (and with
    echo_server's policy: agree to what is asked, keep context takeover when
    allowed)."""
    if not header:
        return [f"no Sec-WebSocket-Extensions in the answer"]
    exts = parse_extension(header)
    pmd = [params for name, params in exts if name == "permessage-deflate"]
    if len(pmd) != 1:
        return [f"expected one permessage-deflate in {header!r}"]
    p = dict(pmd[0])
    probs = []
    if snct != ("server_no_context_takeover" in p):
        probs.append("server_no_context_takeover " + ("missing" if snct else "added though not asked for"))
    if not cnct and "client_no_context_takeover" in p:
        probs.append("client_no_context_takeover added though not asked for (context takeover was allowed)")
    got_s = p.get("server_max_window_bits")
    if smwb is not None and got_s != str(smwb):
        probs.append(f"server_max_window_bits={got_s}, expected {smwb} (as offered)")
    if smwb is None and got_s is not None:
        probs.append(f"server_max_window_bits={got_s} though the offer had none")
    got_c = p.get("client_max_window_bits")
    if cmwb is None and got_c is not None:
        probs.append(f"client_max_window_bits={got_c} though the offer had none")
    if isinstance(cmwb, int) and cmwb is not True and got_c is not None and int(got_c) > cmwb:
        probs.append(f"client_max_window_bits={got_c} > offered {cmwb}")
    return probs


async def combo_checks(url: str, snct, cnct, smwb, cmwb) -> None:
    name = combo_name(snct, cnct, smwb, cmwb)
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=snct, client_no_context_takeover=cnct,
        server_max_window_bits=smwb, client_max_window_bits=cmwb)
    state: dict[str, Tracked | None] = {"t": None}

    async def negotiate():
        t = await open_conn(url, compression=None, extensions=[factory])
        state["t"] = t
        if not t.pmd:
            return f"websockets enabled no PerMessageDeflate (answer: {t.header!r})"
        probs = answer_problems(t.header, snct, cnct, smwb, cmwb)
        return f"answer {t.header!r}: " + "; ".join(probs) if probs else None

    ok = await run_check(f"{name}: answer accepted, parameters as offered", negotiate)
    t = state["t"]
    if t is None:  # websockets rejected the answer: nothing to round-trip
        report(False, f"{name}: round trips", "no connection (see above)")
        return

    async def trips():
        rep = compressible_bytes(64 * 1024)
        text = "caf\u00e9 \u20ac \U0001F600 " * 40
        for msg in ("small text \u00e9", rep, rep, os.urandom(64 * 1024), text, text,
                    compressible_text(64 * 1024), b""):
            d = await t.echo(msg, msg)
            if d:
                return d
        frags = split_inside_code_points(text.encode())
        d = await t.echo(frags, text)
        if d:
            return f"fragmented: {d}"
        if t.compressed != t.messages or t.messages != 9:
            return f"{t.compressed} of {t.messages} echoes compressed, expected 9 of 9"
        return None

    await run_check(f"{name}: round trips (64 KiB repeated/random, split UTF-8), echoes compressed", trips)
    if not ok:
        note(f"{name}: answer was {t.header!r}")
    await close_quietly(t)


async def declined_checks(url: str, snct: bool, cmwb) -> None:
    name = combo_name(snct, False, 8, cmwb)
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=snct, server_max_window_bits=8, client_max_window_bits=cmwb)

    async def run():
        t = await open_conn(url, compression=None, extensions=[factory])
        try:
            if t.header:
                return f"expected the offer declined (no extension), got {t.header!r}"
            if t.ws.protocol.extensions:
                return f"websockets enabled {t.ws.protocol.extensions}"
            for msg in ("uncompressed text \u20ac", os.urandom(65536), compressible_bytes(65536), b""):
                d = await t.echo(msg, msg)
                if d:
                    return d
            return None
        finally:
            await close_quietly(t)

    await run_check(f"{name}: declined (no extension), uncompressed round trips work", run)


async def main() -> int:
    url = sys.argv[1]
    await default_compression(url)
    for combo in matrix():
        await combo_checks(url, *combo)
    await declined_checks(url, False, True)
    await declined_checks(url, True, 9)
    print("# done", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
