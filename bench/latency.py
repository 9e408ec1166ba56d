"""(d) From an HTTP command to its effect in `/kpis`: members are registered over the members service's
API at a steady 100 commands per second while a poller reads `/kpis/{year}` back to back; the latency
of the k-th command is the moment a reader first sees at least k members minus the moment the k-th
command was sent (so it includes the outbox relay, Kafka, the projector's batch and the KPI query).
The reader waits on `/kpis/changes?settle=0` (an answer at the first committed batch, not after the
0.3 s a dashboard lets a burst settle) and then asks `/kpis/{year}`: what it measures is when a command
becomes visible in `/kpis`, not how often a dashboard chooses to refresh.

    python -m bench.latency --rate 100 --seconds 20 [--postgres postgresql://…/postgres]

With --postgres both services keep their state in fresh databases on that server (created here and
dropped at the end) instead of SQLite files.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import broker, free_port, fresh_database, fresh_prefix
from bench.http import ERRORS, LeanClient
from services.kpi.core import BRUSSELS
from shared import topics
from shared.auth import issue_token
from shared.kafka import partitions_of
from shared.service import freeze_heap

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "b" * 40
ORGANISATIONS = 200


def _start(name: str, env: dict[str, str], log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (log_dir / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", f"services.{name}"],
        cwd=ROOT,
        env={**os.environ, **env, "HTTP_PORT": str(port), "HTTP_HOST": "127.0.0.1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} stopped: {(log_dir / f'{name}.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{name} did not become ready")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _load(members_url: str, kpi_url: str, rate: float, seconds: float, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    year = datetime.now(BRUSSELS).year
    total = int(rate * seconds)
    async with (
        # 50 reused connections: enough for 100 commands/s at tens of ms each; with 1,000 new ones the
        # client itself saturated while the service sat idle (bench/members_write.py found it)
        httpx.AsyncClient(
            headers=headers,
            timeout=120,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
        ) as members,
        httpx.AsyncClient(headers=headers, timeout=120) as kpi,
    ):
        members.base_url = httpx.URL(members_url)
        kpi.base_url = httpx.URL(kpi_url)
        # the members spread over organisations as in the network (~650 members of 200+ local
        # governments): the KPI projector derives an organisation's spells again from all its members'
        # spells whenever one of them changes, so 6,000 members of one organisation would measure that
        # refold growing through the run (from 12 to 60+ ms a batch), which no real organisation causes
        organisations = []
        for number in range(ORGANISATIONS):
            created = await members.post(
                "/organisations", json={"name": f"Gemeente Bench {number}", "kind": "lokaal_bestuur"}
            )
            organisations.append(created.json()["id"])
        sent: list[float] = [0.0] * total
        sent_wall: list[float] = [0.0] * total  # the same moments by the wall clock (Kafka's timestamps)
        answered: list[float] = [0.0] * total
        failures = 0
        seen: list[tuple[float, int]] = []
        seen_wall: list[tuple[float, int]] = []

        # the commands through bench.http's lean client: httpx's CPU per request was CPU the two
        # services lacked on this 2-core machine (bench/members_write.py measured it)
        lean = LeanClient(members_url, headers, 50)

        async def command(index: int) -> None:
            nonlocal failures
            sent[index] = time.perf_counter()
            sent_wall[index] = time.time()
            body = {
                "first_name": "Bench",
                "last_name": f"Lid {index}",
                "email": f"lid{index}@bench.example.org",
                "organisation_id": organisations[index % ORGANISATIONS],
            }
            try:
                status, _ = await asyncio.wait_for(lean.post("/members", body), 120)
            except ERRORS:
                failures += 1
                return
            answered[index] = time.perf_counter() - sent[index]
            if status != 201:
                failures += 1

        async def poll(stop: asyncio.Event) -> None:
            # wait for the change feed, then read /kpis (polling /kpis back to back would mostly
            # measure the CPU that polling takes away on a small machine); settle=0: at the first
            # committed batch, not 0.3 s later as a dashboard asks
            token = ""
            while not stop.is_set():
                try:
                    change = await kpi.get("/kpis/changes", params={"after": token, "wait": 1, "settle": 0})
                    token = change.json()["token"] if change.status_code == 200 else token
                    response = await kpi.get(f"/kpis/{year}")
                except httpx.HTTPError:  # a dropped connection on a busy machine: ask again
                    continue
                if response.status_code == 200:
                    value = next(k["value"] for k in response.json()["kpis"] if k["code"] == "OD1.1-leden")
                    seen.append((time.perf_counter(), int(value)))
                    seen_wall.append((time.time(), int(value)))

        stop = asyncio.Event()
        # the client's own collector pauses would count as the service's latency (one of 114 ms was
        # timed in a run): what it holds before measuring is frozen, as a served service does
        freeze_heap()
        poller = asyncio.create_task(poll(stop))
        started = time.perf_counter()
        tasks = []
        for index in range(total):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(command(index)))
        await asyncio.gather(*tasks)
        send_seconds = time.perf_counter() - started
        deadline = time.perf_counter() + 120
        while (not seen or seen[-1][1] < total) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await poller
        await lean.close()
    order = sorted(sent)
    latencies = []
    for k in range(1, total + 1):
        when = next((t for t, value in seen if value >= k), None)
        if when is not None:
            latencies.append(when - order[k - 1])
    polls = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    return {
        "sent_wall": sorted(sent_wall),
        "seen_wall": seen_wall,
        "commands": total,
        "failures": failures,
        "achieved_rate": total / send_seconds,
        "seen": len(latencies),
        "p50": _percentile(latencies, 0.50),
        "p95": _percentile(latencies, 0.95),
        "p99": _percentile(latencies, 0.99),
        "max": max(latencies),
        "poll_interval": statistics.median(polls) if polls else 0.0,
        "command_p50": _percentile(answered, 0.50),
        "command_p95": _percentile(answered, 0.95),
    }


async def _published(bootstrap: str, topic: str) -> list[float]:
    """When each member.joined record was handed to the broker (its CreateTime, set by the members
    service's producer as the outbox relay sends it), in order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        found = await partitions_of(bootstrap, [topic])
        partitions = [TopicPartition(topic, p) for p in found.get(topic, [])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        stamps: list[float] = []
        read = 0
        while read < sum(ends.values()):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                read += len(records)
                stamps += [r.timestamp / 1000 for r in records if b".member.joined." in (r.value or b"")]
        return sorted(stamps)
    finally:
        await consumer.stop()


def _stages(result: dict[str, Any], published: list[float]) -> dict[str, float]:
    """The k-th command's way split at the broker: sent -> its record published (the members service
    and its outbox relay), published -> seen in /kpis (Kafka, the KPI projector, the reader)."""
    sent, seen = result["sent_wall"], result["seen_wall"]
    relay, visible = [], []
    for k in range(1, min(len(sent), len(published)) + 1):
        relay.append(published[k - 1] - sent[k - 1])
        when = next((t for t, value in seen if value >= k), None)
        if when is not None:
            visible.append(when - published[k - 1])
    return {
        f"{name}_{label}": _percentile(values, share)
        for name, values in (("to_broker", relay), ("to_kpis", visible))
        if values
        for label, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
    }


def run(bootstrap: str, rate: float, seconds: float, postgres: str | None = None) -> dict[str, Any]:
    """One load; `postgres`: a PostgreSQL server's URL to keep both services' state on (a fresh
    database each) instead of SQLite."""
    prefix = fresh_prefix(bootstrap)
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="vvsg-bench-latency-"))
        databases = {
            name: stack.enter_context(fresh_database(postgres, Path(tmp), name, f"bench_latency_{name}"))
            for name in ("members", "kpi")
        }
        base = {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "AUTH_SECRET": SECRET,
            "LINK_SECRET": "bench-link-" + "l" * 40,
            "LOG_LEVEL": "WARNING",
        }
        started = []
        try:
            members, members_url = _start(
                "members", {**base, "DATABASE_URL": databases["members"]}, Path(tmp)
            )
            started.append(members)
            kpi, kpi_url = _start("kpi", {**base, "DATABASE_URL": databases["kpi"]}, Path(tmp))
            started.append(kpi)
            token = issue_token(SECRET, "bench@vvsg.be", "staff")
            result = asyncio.run(_load(members_url, kpi_url, rate, seconds, token))
            published = asyncio.run(_published(bootstrap, prefix + topics.MEMBERS_EVENTS))
            result.update(_stages(result, published))
        finally:
            for process in reversed(started):
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
    ms = {
        k: round(result[k] * 1000)
        for k in (
            *("p50", "p95", "p99", "max", "command_p50", "command_p95"),
            *(f"{stage}_{p}" for stage in ("to_broker", "to_kpis") for p in ("p50", "p95", "p99")),
        )
        if k in result
    }
    print(
        f"  {result['commands']} commands at {result['achieved_rate']:.0f}/s: {ms} ms; "
        f"{result['failures']} failed, the reader saw a new count every "
        f"{result['poll_interval'] * 1000:.0f} ms (median)",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--postgres", default=None, help="a PostgreSQL server's URL: both services on fresh databases there"
    )
    args = parser.parse_args()
    with broker() as bootstrap:
        run(bootstrap, args.rate, args.seconds, args.postgres)


if __name__ == "__main__":
    main()
