#!/usr/bin/env python3
"""Interop (b)/(d) peer: a Python `websockets` echo server on 127.0.0.1, free
port, permessage-deflate accepted (websockets' default `compression="deflate"`).
Prints `PORT <n>` on stdout once listening; runs until killed.

Per connection, at its end: `CONN ext=<Sec-WebSocket-Extensions answered or
-> messages=<data messages received> compressed=<of them with RSV1>`."""
import asyncio

import websockets.asyncio.messages
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Opcode

websockets.asyncio.messages.MAX_FRAGMENTS = 1 << 24  # no fragment-count limit


async def echo(ws):
    counts = {"messages": 0, "compressed": 0}
    for ext in ws.protocol.extensions:
        if isinstance(ext, PerMessageDeflate):
            orig = ext.decode

            def decode(frame, *, max_size=None, _orig=orig):
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                    counts["messages"] += 1
                    counts["compressed"] += bool(frame.rsv1)
                return _orig(frame, max_size=max_size)

            ext.decode = decode
    try:
        async for msg in ws:
            if not ws.protocol.extensions:
                counts["messages"] += 1
            await ws.send(msg)
    except ConnectionClosed:
        pass
    finally:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions", "-") if ws.response else "-"
        print(f"CONN ext={ext} messages={counts['messages']} compressed={counts['compressed']}", flush=True)


async def main():
    async with serve(echo, "127.0.0.1", 0, max_size=None, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
