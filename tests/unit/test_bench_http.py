"""bench.http's lean client, which the write benchmark sends its commands with, against a real uvicorn
serving a small FastAPI app on 127.0.0.1: statuses, bodies and headers come through, connections are
reused, and a connection that breaks is replaced."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI, Header, Response

from bench.common import free_port
from bench.http import LeanClient


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo", status_code=201)
    def echo(body: dict[str, int], response: Response, x_tag: str = Header(default="")) -> dict[str, object]:
        response.headers["X-Seen"] = x_tag
        return {"sum": sum(body.values()), "tag": x_tag}

    @app.post("/refuse")
    def refuse(body: dict[str, int]) -> Response:
        return Response(status_code=409, content=b"no")

    return app


@contextlib.asynccontextmanager
async def _server(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_the_lean_client_posts_json_and_reads_the_answers() -> None:
    async with _server(_app()) as url:
        client = LeanClient(url, {"Authorization": "Bearer t"}, connections=2)
        answers = await asyncio.gather(
            *(client.post("/echo", {"a": i, "b": 1}, {"X-Tag": f"t{i}"}) for i in range(20))
        )
        assert [status for status, _ in answers] == [201] * 20
        wanted = [{"sum": i + 1, "tag": f"t{i}"} for i in range(20)]
        assert [json.loads(body) for _, body in answers] == wanted
        assert await client.post("/refuse", {"a": 1}) == (409, b"no")
        # two connections were opened and kept: the pool holds two open ones
        opened = [client.free.get_nowait() for _ in range(2)]
        assert all(connection is not None for connection in opened)
        for connection in opened:
            client.free.put_nowait(connection)
        await client.close()


async def test_a_broken_connection_is_replaced() -> None:
    async with _server(_app()) as url:
        client = LeanClient(url, {}, connections=1)
        assert (await client.post("/echo", {"a": 1}))[0] == 201
        connection = client.free.get_nowait()
        assert connection is not None
        connection[1].close()  # the connection breaks between two requests
        await connection[1].wait_closed()
        client.free.put_nowait(connection)
        failed = False
        try:
            await client.post("/echo", {"a": 2})
        except (OSError, EOFError):
            failed = True
        assert failed
        assert await client.post("/echo", {"a": 3}) == (201, b'{"sum":3,"tag":""}')
        await client.close()
