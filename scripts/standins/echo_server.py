#!/usr/bin/env python3
"""Stand-in for `echo_server [ADDR]` (default 127.0.0.1:9001), written with
Python `websockets`, to develop scripts/autobahn.sh and scripts/interop.sh
before the Rust example exists. Echoes every message with its type, 64 MiB
limit, no keepalive pings, no permessage-deflate; a close frame is answered by
echoing its code (websockets does that by itself)."""
import asyncio
import sys

from websockets.asyncio.server import serve
import websockets.asyncio.messages

from websockets.exceptions import ConnectionClosed

# websockets >= 17 refuses (1009 "too many fragments") messages of more than
# MAX_FRAGMENTS frames in recv(); Autobahn 9.3.x/9.4.x send 65536 fragments.
websockets.asyncio.messages.MAX_FRAGMENTS = 1 << 24


async def echo(ws):
    try:
        async for msg in ws:
            await ws.send(msg)
    except ConnectionClosed:
        pass


async def main():
    addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9001"
    host, _, port = addr.rpartition(":")
    async with serve(
        echo,
        host.strip("[]"),
        int(port),
        max_size=64 * 1024 * 1024,
        ping_interval=None,
        compression=None,
        server_header="rfc6455-standin",
    ) as server:
        print(f"listening on {addr}", file=sys.stderr, flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
