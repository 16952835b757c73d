#!/usr/bin/env python3
"""Stand-in for `client URL`: sends each stdin line as a text message, prints
each received message on stdout (text as-is, binary as `<binary N bytes>`).
On stdin EOF it sends a close frame and keeps reading until the close
handshake ends (so echoes already in flight are still printed)."""
import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def main():
    url = sys.argv[1]
    loop = asyncio.get_running_loop()
    async with connect(url, max_size=None, ping_interval=None, close_timeout=5) as ws:
        async def reader():
            try:
                async for msg in ws:
                    if isinstance(msg, str):
                        sys.stdout.write(msg + "\n")
                    else:
                        sys.stdout.write(f"<binary {len(msg)} bytes>\n")
                    sys.stdout.flush()
            except ConnectionClosed:
                pass

        task = asyncio.create_task(reader())
        while True:
            line = await loop.run_in_executor(None, sys.stdin.buffer.readline)
            if not line:
                break
            await ws.send(line.rstrip(b"\n").decode("utf-8", "replace"))
        await ws.close()
        await task


if __name__ == "__main__":
    asyncio.run(main())
