"""A lean HTTP/1.1 client for load benchmarks: JSON POSTs over a fixed pool of keep-alive connections,
written on asyncio streams.

Why not httpx: on this 2-core machine the benchmark client shares the cores with the service it
measures, its database and the broker. httpx spent 2.7 ms of CPU per request (`bench.members_write`:
0.27–0.75 of a core at 100 requests/s, more the further the service fell behind), CPU the service then
lacked; this client spends a tenth of that, so the figures say more about the service and less about
the client. It speaks only what the services answer: a status line, headers and a `Content-Length`
body (uvicorn's answers to these requests); anything else is an error.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

# what `LeanClient.post` raises when a request fails (the connection, or an answer it cannot read),
# besides the TimeoutError of a caller's asyncio.wait_for
ERRORS = (TimeoutError, OSError, EOFError, ValueError)


class LeanClient:
    """`post` sends one request on a free connection of the pool (waiting for one if all are busy) and
    returns the status and the body's bytes. A connection that fails is closed and opened afresh on the
    next request that needs it."""

    def __init__(self, base_url: str, headers: dict[str, str], connections: int) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
        for _ in range(connections):
            self.free.put_nowait(None)  # opened when first needed

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body, separators=(",", ":")).encode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.headers}{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        connection = await self.free.get()
        try:
            if connection is None:
                connection = await asyncio.open_connection(self.host, self.port)
            reader, writer = connection
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            lengths = [
                int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
            ]
            if not lengths:
                raise ValueError("an answer without Content-Length")
            answer = await reader.readexactly(lengths[0])
        except BaseException:
            if connection is not None:
                connection[1].close()
            self.free.put_nowait(None)
            raise
        self.free.put_nowait(connection)
        return status, answer

    async def close(self) -> None:
        while not self.free.empty():
            connection = self.free.get_nowait()
            if connection is not None:
                connection[1].close()
