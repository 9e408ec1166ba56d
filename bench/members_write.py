"""The write side on its own: `POST /members` at a fixed open-loop rate against the members service run
as a process (uvicorn, the real broker, its outbox relay publishing as it goes), on SQLite and then on a
fresh PostgreSQL database, side by side. Issue 14's goal: 100 commands/s with p99 ≤ 50 ms on both.

    python -m bench.members_write [--rate 100] [--seconds 30] [--databases sqlite,postgresql] [--client lean]

The commands go out through bench.http's lean client (`--client httpx` for httpx): the client shares
the two cores with the service, and httpx's CPU per request was a share of what the service then lacked.

Open loop: the k-th command is sent at start + k/rate whether or not earlier ones were answered, so a
service that falls behind shows it as queueing in the latencies instead of slowing the client down.
PostgreSQL comes from --postgres or TEST_POSTGRES_URL (a server; a database is created and dropped
here); the broker from KAFKA_BOOTSTRAP_SERVERS or one started here (bench.common.broker).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.common import broker, fresh_prefix, postgres_database
from bench.http import ERRORS, LeanClient
from bench.latency import SECRET, _percentile, _start
from shared.auth import issue_token
from shared.db import normalise_url
from shared.service import freeze_heap


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _members(database_url: str) -> int:
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM members")).scalar_one())
    finally:
        engine.dispose()


async def _until_idle(pid: int, limit: float) -> float:
    """Waits until the service has done what it was sent (commands a client gave up on still run, the
    relay still publishes): its CPU use stands still for a second. The CPU time then."""
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        now = cpu_seconds(pid)
        if now - last < 0.02:
            return now
        last = now
    return last


async def _drive(
    url: str, token: str, args: argparse.Namespace, pid: int, database: str, database_url: str
) -> dict[str, Any]:
    rate, keys = args.rate, args.idempotency_keys
    headers = {"Authorization": f"Bearer {token}"}
    # Connections kept open and reused, a few dozen: enough that a command waits in the client's pool
    # only when the service is behind (the wait then counts, from the moment the command was due).
    # Not hundreds: httpx's pool does work per connection for every request, and with 1,000 of them
    # the client, not the service, was what saturated (the service sat idle with commands unsent).
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
    # a command unanswered after --timeout counts as status 0 with that latency: a service that cannot
    # keep up ends the run in bounded time instead of draining its whole queue
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=args.timeout, limits=limits
    ) as client:
        created = await client.post(
            "/organisations", json={"name": "Gemeente Bench", "kind": "lokaal_bestuur"}
        )
        created.raise_for_status()
        organisation_id = created.json()["id"]
        run = uuid.uuid4().hex[:6]
        statuses: dict[int, int] = {}
        lean = LeanClient(url, headers, args.connections) if args.client == "lean" else None

        trace: list[tuple[float, float, int]] = []  # (sent, seconds taken, status) of measured commands
        origin = 0.0

        async def command(index: int, latencies: list[float]) -> None:
            body = {
                "first_name": "Bench",
                "last_name": f"Lid {index}",
                "email": f"lid{index}.{run}@bench.example.org",
                "organisation_id": organisation_id,
            }
            extra = {"Idempotency-Key": f"bench-{run}-{index}"} if keys else {}
            sent = time.perf_counter()
            try:
                # the whole exchange within --timeout (httpx's own timeout is per read, per write)
                if lean is not None:
                    code, _ = await asyncio.wait_for(lean.post("/members", body, extra), args.timeout)
                else:
                    response = await asyncio.wait_for(
                        client.post("/members", json=body, headers=extra), args.timeout
                    )
                    code = response.status_code
            except (httpx.HTTPError, *ERRORS):
                code = 0
            latencies.append(time.perf_counter() - sent)
            statuses[code] = statuses.get(code, 0) + 1
            if origin:
                trace.append((sent - origin, latencies[-1], code))

        async def phase(first: int, count: int, latencies: list[float]) -> float:
            started = time.perf_counter()
            tasks = []
            for k in range(count):
                delay = started + k / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(command(first + k, latencies)))
            sending = time.perf_counter() - started
            await asyncio.gather(*tasks)
            return sending

        # a warm-up at the same rate, not measured: connections open, code paths and caches warm
        warm = int(rate * args.warmup)
        await phase(0, warm, [])
        statuses.clear()
        latencies: list[float] = []
        total = int(rate * args.seconds)
        await _until_idle(pid, 30)
        # the client's own collector pauses would count as the service's latency (one of 114 ms was
        # timed in a run): what it holds before measuring is frozen, as a served service does
        freeze_heap()
        before = await asyncio.to_thread(_members, database_url)
        cpu_start = cpu_seconds(pid)
        cpu, own = cpu_start, time.process_time()
        started = origin = time.perf_counter()
        origin_wall = time.time()
        sending = await phase(warm, total, latencies)
        elapsed = time.perf_counter() - started
        cpu, own = cpu_seconds(pid) - cpu, time.process_time() - own
        # CPU per command the service carried out, measured until it is idle again: on a shared
        # machine the latencies say how loaded it was, this says what a command costs the service
        done_cpu = await _until_idle(pid, args.drain) - cpu_start
        done = await asyncio.to_thread(_members, database_url) - before
        if lean is not None:
            await lean.close()
    if args.trace:
        _write_trace(Path(args.trace).with_suffix(f".{database}.tsv"), trace, origin_wall)
    return {
        "commands": total,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        # the rate the client kept sending at, and the rate answers came back (all answered / time)
        "sent_rate": total / sending if sending else 0.0,
        "answered_rate": sum(n for code, n in statuses.items() if 200 <= code < 300) / elapsed,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p95_ms": _percentile(latencies, 0.95) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        # what one command costs the service process in CPU (all its threads), and its share of a core
        "cpu_ms_per_command": cpu / total * 1000,
        "commands_done": done,
        "cpu_ms_per_command_done": done_cpu / done * 1000 if done else 0.0,
        "cpu_share": cpu / elapsed,
        # the client's own share: near 1, it is the client that cannot keep up
        "client_cpu_share": own / elapsed,
    }


def _write_trace(path: Path, trace: list[tuple[float, float, int]], origin_wall: float) -> None:
    """Every measured command as `sent_s  latency_ms  status` (sent counted from the first command, whose
    Unix time heads the file, to line it up with other records), and on stdout the slow ones (> 50 ms)
    grouped into bursts: slow commands less than 0.5 s apart belong to one burst. Bursts say that
    something stopped the service (a collection, a checkpoint, another process on the core); scattered
    ones say that it was simply busy."""
    trace.sort()
    lines = [f"# first command sent at {origin_wall:.3f} (Unix time)"]
    lines += [f"{sent:.4f}\t{took * 1000:.1f}\t{code}" for sent, took, code in trace]
    path.write_text("\n".join(lines) + "\n")
    slow = [(sent, took) for sent, took, _ in trace if took > 0.050]
    bursts: list[list[tuple[float, float]]] = []
    for sent, took in slow:
        if bursts and sent - bursts[-1][-1][0] < 0.5:
            bursts[-1].append((sent, took))
        else:
            bursts.append([(sent, took)])
    print(f"  trace: {path} ({len(trace)} commands, {len(slow)} over 50 ms in {len(bursts)} bursts)")
    for burst in bursts:
        print(
            f"    {burst[0][0]:7.2f}–{burst[-1][0]:7.2f} s: {len(burst)} commands, "
            f"slowest {max(took for _, took in burst) * 1000:.1f} ms"
        )


def measure(database: str, database_url: str, bootstrap: str, args: argparse.Namespace) -> dict[str, Any]:
    prefix = fresh_prefix(bootstrap)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "AUTH_SECRET": SECRET,
        "LINK_SECRET": "bench-link-" + "l" * 40,
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
    }
    with tempfile.TemporaryDirectory(prefix=f"vvsg-bench-write-{database}-") as logs:
        process, url = _start("members", env, Path(logs))
        try:
            token = issue_token(SECRET, "bench@vvsg.be", "staff")
            if args.profile:
                # py-spy (not a project dependency) samples whichever thread holds the GIL: where the CPU goes
                profile = Path(args.profile).with_suffix(f".{database}.txt")
                spy = subprocess.Popen(
                    [
                        args.py_spy,
                        "record",
                        "--pid",
                        str(process.pid),
                        "--format",
                        "raw",
                        "--threads",
                        "--nonblocking",
                        # --gil: where the CPU goes; --idle: where every thread waits, too
                        "--idle" if args.profile_idle else "--gil",
                        "--duration",
                        str(int(args.warmup + args.seconds)),
                        "--output",
                        str(profile),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            result = asyncio.run(_drive(url, token, args, process.pid, database, database_url))
            if args.profile:
                spy.wait(30)
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return result


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The options (`argv`; None: the command line's), also for bench.run_all."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=100.0, help="commands per second (default 100)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds (default 30)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first (default 3)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds a command may take (default 20)")
    parser.add_argument("--connections", type=int, default=50, help="client connections (default 50)")
    parser.add_argument(
        "--drain", type=float, default=40.0, help="seconds to wait for the service to go idle (default 40)"
    )
    parser.add_argument(
        "--client",
        choices=("lean", "httpx"),
        default="lean",
        help="the commands' HTTP client: bench.http's (default; a tenth of httpx's CPU) or httpx",
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL", ""))
    parser.add_argument("--idempotency-keys", action="store_true", help="send an Idempotency-Key each")
    parser.add_argument("--out", default="", help="also write the figures as JSON here")
    parser.add_argument("--profile", default="", help="py-spy raw profiles to this path (.<db>.txt)")
    parser.add_argument(
        "--profile-idle",
        action="store_true",
        help="profile every thread, waiting ones included (py-spy --idle), instead of the GIL holder",
    )
    parser.add_argument("--py-spy", default="py-spy")
    parser.add_argument(
        "--trace", default="", help="each measured command's send time and latency to this path (.<db>.tsv)"
    )
    return parser.parse_args(argv)


def run(bootstrap: str, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """One measured load per database of `args.databases`, one after the other; the figures by database."""
    wanted = [d.strip() for d in args.databases.split(",") if d.strip()]
    if "postgresql" in wanted and not args.postgres:
        raise SystemExit("PostgreSQL wanted but neither --postgres nor TEST_POSTGRES_URL is set")
    results: dict[str, dict[str, Any]] = {}
    for database in wanted:
        print(f"{database}: {int(args.rate * args.seconds)} × POST /members at {args.rate:g}/s …", flush=True)
        if database == "sqlite":
            with tempfile.TemporaryDirectory(prefix="vvsg-bench-write-db-") as tmp:
                results[database] = measure(database, f"sqlite:///{tmp}/members.db", bootstrap, args)
        elif database == "postgresql":
            with postgres_database(args.postgres, "bench_members") as url:
                results[database] = measure(database, url, bootstrap, args)
        else:
            raise SystemExit(f"unknown database {database!r}")
        # at once, so that a run cut short still says what it measured
        print(f"  {database}: {json.dumps(results[database])}", flush=True)
    return results


def main() -> None:
    args = arguments()
    with broker() as bootstrap:
        results = run(bootstrap, args)
    print()
    print(
        f"POST /members, open loop at {args.rate:g}/s for {args.seconds:g} s, after {args.warmup:g} s "
        f"warm-up, {args.client} client"
    )
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("answers (status: count)", lambda r: ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())),
        ("sent rate /s", lambda r: f"{r['sent_rate']:.1f}"),
        ("answered (2xx) rate /s", lambda r: f"{r['answered_rate']:.1f}"),
        ("p50 ms", lambda r: f"{r['p50_ms']:.1f}"),
        ("p95 ms", lambda r: f"{r['p95_ms']:.1f}"),
        ("p99 ms", lambda r: f"{r['p99_ms']:.1f}"),
        ("max ms", lambda r: f"{r['max_ms']:.1f}"),
        ("service CPU ms/command", lambda r: f"{r['cpu_ms_per_command']:.1f}"),
        ("commands done by idle", lambda r: f"{r['commands_done']}"),
        ("CPU ms/command done", lambda r: f"{r['cpu_ms_per_command_done']:.2f}"),
        ("service CPU, cores", lambda r: f"{r['cpu_share']:.2f}"),
        ("client CPU, cores", lambda r: f"{r['client_cpu_share']:.2f}"),
    ]
    print(f"{'':26}" + "".join(f"{d:>22}" for d in results))
    for label, cell in rows:
        print(f"{label:26}" + "".join(f"{cell(r):>22}" for r in results.values()))
    if args.out:
        Path(args.out).write_text(
            json.dumps({"rate": args.rate, "seconds": args.seconds, **results}, indent=2)
        )


if __name__ == "__main__":
    main()
