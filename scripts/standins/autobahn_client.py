#!/usr/bin/env python3
"""Stand-in for `autobahn_client URL` (Autobahn client protocol), written with
Python `websockets`: /getCaseCount, /runCase?case=N&agent=rfc6455 echoing
every message until close, then /updateReports?agent=rfc6455."""
import asyncio
import sys

from websockets.asyncio.client import connect
import websockets.asyncio.messages

from websockets.exceptions import ConnectionClosed, WebSocketException

AGENT = "rfc6455"
OPTS = dict(max_size=None, ping_interval=None, compression=None,
            open_timeout=10, close_timeout=5)

# websockets >= 17 refuses (1009 "too many fragments") messages of more than
# MAX_FRAGMENTS frames in recv(); Autobahn 9.3.x/9.4.x send 65536 fragments.
websockets.asyncio.messages.MAX_FRAGMENTS = 1 << 24


async def main():
    base = (sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001").rstrip("/")
    async with connect(f"{base}/getCaseCount", **OPTS) as ws:
        count = int(await ws.recv())
    print(f"{count} cases", file=sys.stderr)
    for case in range(1, count + 1):
        try:
            async with connect(f"{base}/runCase?case={case}&agent={AGENT}", **OPTS) as ws:
                async for msg in ws:
                    await ws.send(msg)
        except (ConnectionClosed, WebSocketException, OSError) as exc:
            print(f"case {case}: {type(exc).__name__}: {exc}", file=sys.stderr)
    try:
        async with connect(f"{base}/updateReports?agent={AGENT}", **OPTS) as ws:
            pass
    except (ConnectionClosed, WebSocketException, OSError) as exc:
        print(f"updateReports: {type(exc).__name__}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
