#!/usr/bin/env python3
"""Interop (b) peer: a Python `websockets` echo server on 127.0.0.1, free
port. Prints `PORT <n>` on stdout once listening; runs until killed."""
import asyncio

import websockets.asyncio.messages
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

websockets.asyncio.messages.MAX_FRAGMENTS = 1 << 24  # no fragment-count limit


async def echo(ws):
    try:
        async for msg in ws:
            await ws.send(msg)
    except ConnectionClosed:
        pass


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
