"""What open dashboards cost the KPI service: the service started as a process on a history of the
representative mix, caught up and idle; its CPU time (utime + stime from /proc/<pid>/stat, every thread)
is sampled over 30 s with no stream open, then over 30 s with 100 open `GET /kpis/{year}/stream`
connections, and reported as % of one core (goal: < 5 % with the 100 streams). Then one published event
that changes a KPI: how long until all 100 streams have it. Then SIGTERM with the streams still open:
how long the service takes to stop.

    python -m bench.sse_idle --streams 100 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import Mix, broker, fresh_prefix, produce_fast
from bench.latency import SECRET, _start
from shared import events
from shared.auth import issue_token

YEAR = 2025
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15 of the line


async def _quiet(client: httpx.AsyncClient, settle: float = 3.0) -> None:
    """Until the read models stopped changing for `settle` seconds (the projector has caught up)."""
    token = (await client.get("/kpis/changes", params={"wait": 0})).json()["token"]
    while True:
        answer = await client.get("/kpis/changes", params={"after": token, "wait": settle})
        if answer.json()["token"] == token:
            return
        token = answer.json()["token"]


class Subscriber:
    def __init__(self) -> None:
        self.snapshot = asyncio.Event()
        self.heartbeats = 0
        self.changes: list[float] = []  # when each change event arrived

    async def follow(self, client: httpx.AsyncClient, url: str, params: dict[str, str]) -> None:
        async with client.stream("GET", url, params=params) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line == "event: snapshot":
                    self.snapshot.set()
                elif line == "event: change":
                    self.changes.append(time.perf_counter())
                elif line.startswith(": heartbeat"):
                    self.heartbeats += 1


async def _measure(
    pid: int, url: str, streams: int, seconds: float, bootstrap: str, prefix: str
) -> dict[str, Any]:
    token = issue_token(SECRET, "bench@vvsg.be", "viewer")
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=httpx.Timeout(30, read=None), limits=limits
    ) as client:
        await _quiet(client)
        before = cpu_seconds(pid)
        await asyncio.sleep(seconds)
        baseline = (cpu_seconds(pid) - before) / seconds

        subscribers = [Subscriber() for _ in range(streams)]
        # half with the bearer header (any client), half with a ticket, as the dashboard opens it
        tasks = []
        opened = time.perf_counter()
        for n, subscriber in enumerate(subscribers):
            params: dict[str, str] = {}
            if n % 2:
                params["ticket"] = (await client.post("/kpis/stream-tickets")).json()["ticket"]
            tasks.append(asyncio.create_task(subscriber.follow(client, f"/kpis/{YEAR}/stream", params)))
        await asyncio.wait_for(asyncio.gather(*(s.snapshot.wait() for s in subscribers)), 120)
        print(
            f"  {streams} streams open with their snapshot in {time.perf_counter() - opened:.1f} s",
            flush=True,
        )
        await asyncio.sleep(1)
        before = cpu_seconds(pid)
        await asyncio.sleep(seconds)
        with_streams = (cpu_seconds(pid) - before) / seconds
        heartbeats = sum(s.heartbeats for s in subscribers)

        article = events.ArticlePublished(
            article_id=uuid.uuid4(),
            title="Benchmarkartikel",
            magazine="Lokaal",
            published_on=date(YEAR, 6, 1),
        )
        envelope = events.new_envelope(article, source="/bench/sse-idle", time=datetime.now(UTC))
        sent = time.perf_counter()
        await produce_fast(
            bootstrap, prefix, iter([(article.TOPIC, article.key().encode(), events.encode(envelope))])
        )
        deadline = time.monotonic() + 60
        while any(not s.changes for s in subscribers) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        arrived = [s.changes[0] - sent for s in subscribers if s.changes]
        return {
            "streams": streams,
            "seconds": seconds,
            "idle_no_streams": baseline,
            "idle_with_streams": with_streams,
            "heartbeats": heartbeats,
            "change_received": len(arrived),
            "change_first": min(arrived) if arrived else None,
            "change_last": max(arrived) if arrived else None,
            "tasks": tasks,
        }


def run(bootstrap: str, streams: int, seconds: float, records: int) -> dict[str, Any]:
    prefix = fresh_prefix(bootstrap)
    produced = asyncio.run(produce_fast(bootstrap, prefix, Mix().records(records)))
    print(f"  {produced} records of the representative mix on the topics", flush=True)
    with tempfile.TemporaryDirectory(prefix="vvsg-bench-sse-") as tmp:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "AUTH_SECRET": SECRET,
            "LINK_SECRET": "bench-link-" + "l" * 40,
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite:///{tmp}/kpi.db",
        }
        process, url = _start("kpi", env, Path(tmp))
        try:

            async def measure_then_stop() -> dict[str, Any]:
                result = await _measure(process.pid, url, streams, seconds, bootstrap, prefix)
                # SIGTERM while every stream is still open: the service ends them and stops
                stopping = time.perf_counter()
                process.terminate()
                await asyncio.to_thread(process.wait, 60)
                result["stop_seconds"] = time.perf_counter() - stopping
                await asyncio.gather(*result.pop("tasks"), return_exceptions=True)
                return result

            result = asyncio.run(measure_then_stop())
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    result["records"] = produced
    print(
        f"  idle, no stream: {100 * result['idle_no_streams']:.2f} % of one core; "
        f"with {streams} streams: {100 * result['idle_with_streams']:.2f} % "
        f"({result['heartbeats']} heartbeats in {seconds:.0f} s)",
        flush=True,
    )
    if result["change_last"] is not None:
        print(
            f"  one change reached {result['change_received']}/{streams} streams "
            f"in {1000 * result['change_first']:.0f}–{1000 * result['change_last']:.0f} ms",
            flush=True,
        )
    print(f"  SIGTERM with {streams} streams open: stopped in {result['stop_seconds']:.1f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--records", type=int, default=20_000, help="history on the topics first")
    args = parser.parse_args()
    with broker() as bootstrap:
        run(bootstrap, args.streams, args.seconds, args.records)


if __name__ == "__main__":
    main()
