"""History size: does a KPI answer stay as fast when the topics hold ten or a hundred times more history?

For each size N: N records of the representative mix (bench.common.Mix) are produced onto fresh topics,
the KPI service is started as a process (`python -m services.kpi`) on a fresh database, and measured:
- catch-up: from starting the process until its projector's stored positions reach the topics' ends
  (the service's start-up included; the moment it answers /health/ready is shown apart);
- `GET /kpis/{year}`: p50/p95 of `--requests` sequential requests after one warm-up request, once
  without and once with `?as_of=` (a day in mid-year);
- `GET /kpis/{year}/report.xlsx`: the median of `--xlsx` requests;
- the service's peak resident memory (VmHWM).

    python -m bench.history_size                        # 10k and 100k records, SQLite
    python -m bench.history_size --sizes 10000,100000,1000000 --postgres postgresql://vvsg@127.0.0.1:55499/postgres

History, not a bigger network: the mix is five years (2021–2025) of one network, repeated with fresh
ids. Repeated as it is, a bigger N would also make the asked year bigger (N/11k networks holding
sessions in 2025), and the answer itself would grow. Here repetition k of the network is moved k × 5
years back (every date in its payloads; envelope times unchanged), so the asked year 2025 holds one
network's year whatever N, and everything else is history before it: members who joined decades ago
and are still active, sessions held, feedback given in earlier years. `--same-years` keeps the mix as
it is instead (a bigger network, a bigger answer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import create_engine, text

from bench.common import Mix, broker, free_port, fresh_database, fresh_prefix, produce_fast
from services.kpi import rebuild
from services.kpi.projection import PROJECTOR
from shared.auth import issue_token
from shared.db import normalise_url
from shared.topics import DOMAIN_TOPICS

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "h" * 40
YEAR = 2025  # the mix's last year: the one asked for
AS_OF = "2025-06-30"
YEARS_PER_NETWORK = 5
_POSITIONS = text("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer = :c")
_DAY = re.compile(r"^(\d{4})(-\d{2}-\d{2})")


def _shifted(value: Any, years: int) -> Any:
    """Every date (and the date part of every timestamp) in a payload, `years` earlier."""
    if isinstance(value, dict):
        return {k: _shifted(v, years) for k, v in value.items()}
    if isinstance(value, str):
        found = _DAY.match(value)
        if found:
            return f"{int(found[1]) - years:04d}{value[4:]}"
    return value


def history(count: int, seed: int = 11, same_years: bool = False) -> Iterator[tuple[str, bytes, bytes]]:
    """`count` records of the mix; repetition k of the network k × 5 years earlier (see the docstring)."""
    mix = Mix(seed=seed)
    made = 0
    repetition = 0
    while True:
        years = 0 if same_years else repetition * YEARS_PER_NETWORK
        for topic, key, value in mix.network():
            if made >= count:
                return
            made += 1
            if years:
                envelope = json.loads(value)
                envelope["data"] = _shifted(envelope["data"], years)
                value = json.dumps(envelope, separators=(",", ":")).encode()
            yield topic, key, value
        repetition += 1


async def _ends(bootstrap: str, prefix: str) -> dict[tuple[str, int], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await rebuild._partitions(bootstrap, [prefix + t for t in DOMAIN_TOPICS])
        ends = await consumer.end_offsets(partitions)
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _peak_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _timings(
    client: httpx.Client, path: str, count: int, params: dict[str, str] | None = None
) -> list[float]:
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path, params=params)
        seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code} {response.text[:500]}")
    return seconds


def measure(
    bootstrap: str,
    size: int,
    *,
    postgres: str | None = None,
    requests: int = 20,
    xlsx: int = 3,
    same_years: bool = False,
    catch_up_limit: float = 1800.0,
    keep: bool = False,
) -> dict[str, Any]:
    prefix = fresh_prefix(bootstrap)
    started = time.perf_counter()
    produced = asyncio.run(produce_fast(bootstrap, prefix, history(size, same_years=same_years)))
    produce_seconds = time.perf_counter() - started
    ends = asyncio.run(_ends(bootstrap, prefix))
    total = sum(ends.values())
    print(f"  {produced:,} records produced in {produce_seconds:.1f} s", flush=True)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vvsg-bench-history-")))
        url = stack.enter_context(fresh_database(postgres, tmp, "kpi", "bench_history", keep))
        port = free_port()
        log_path = tmp / "kpi.log"
        log = stack.enter_context(log_path.open("wb"))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "AUTH_SECRET": SECRET,
            "LINK_SECRET": "bench-link-" + "l" * 40,
            "LOG_LEVEL": "WARNING",
            "HTTP_PORT": str(port),
            "HTTP_HOST": "127.0.0.1",
        }
        launched = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "services.kpi"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            engine = create_engine(normalise_url(url))
            ready_seconds: float | None = None
            done = 0
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"the KPI service stopped:\n{log_path.read_text()[-3000:]}")
                elapsed = time.perf_counter() - launched
                if elapsed > catch_up_limit:
                    raise SystemExit(f"no catch-up within {catch_up_limit:.0f} s ({done:,} of {total:,})")
                if ready_seconds is None:
                    try:
                        if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                            ready_seconds = elapsed
                    except httpx.HTTPError:
                        pass
                try:
                    with engine.connect() as connection:
                        done = int(connection.execute(_POSITIONS, {"c": PROJECTOR}).scalar_one())
                except Exception:  # noqa: BLE001 - not migrated yet
                    done = 0
                if ready_seconds is not None and done >= total:
                    break
                time.sleep(0.25)
            catch_up = time.perf_counter() - launched
            engine.dispose()
            print(
                f"  caught up with {total:,} records in {catch_up:.1f} s (ready after {ready_seconds:.1f} s)",
                flush=True,
            )
            token = issue_token(SECRET, "bench@vvsg.be", "staff")
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
                path = f"/kpis/{YEAR}"
                _timings(client, path, 1)  # warm-up: the first answer builds caches (mappers, statements)
                plain = _timings(client, path, requests)
                as_of = _timings(client, path, requests, {"as_of": AS_OF})
                members = next(
                    k["value"] for k in client.get(path).json()["kpis"] if k["code"] == "OD1.1-leden"
                )
                report = _timings(client, f"{path}/report.xlsx", xlsx)
            peak = _peak_mib(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    result = {
        "records": produced,
        "produce_seconds": produce_seconds,
        "ready_seconds": ready_seconds,
        "catch_up_seconds": catch_up,
        "kpis_p50": _percentile(plain, 0.5),
        "kpis_p95": _percentile(plain, 0.95),
        "as_of_p50": _percentile(as_of, 0.5),
        "as_of_p95": _percentile(as_of, 0.95),
        "xlsx_median": statistics.median(report),
        "peak_mib": peak,
        "members_active": members,
    }
    print(
        f"  /kpis/{YEAR}: p50 {result['kpis_p50'] * 1000:.0f} ms, p95 {result['kpis_p95'] * 1000:.0f} ms; "
        f"?as_of={AS_OF}: p50 {result['as_of_p50'] * 1000:.0f} ms, p95 {result['as_of_p95'] * 1000:.0f} ms; "
        f"report.xlsx {result['xlsx_median']:.2f} s",
        flush=True,
    )
    return result


def table(results: list[dict[str, Any]], database: str) -> str:
    """The figures as a Markdown table (what docs/BENCHMARKS.md shows)."""
    lines = [
        f"| records ({database}) | catch-up | records/s | `GET /kpis/{YEAR}` p50 / p95 | "
        f"`?as_of={AS_OF}` p50 / p95 | `report.xlsx` | peak RSS |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['records']:,} | {r['catch_up_seconds']:.1f} s | "
            f"{r['records'] / r['catch_up_seconds']:,.0f} | "
            f"{r['kpis_p50'] * 1000:.0f} / {r['kpis_p95'] * 1000:.0f} ms | "
            f"{r['as_of_p50'] * 1000:.0f} / {r['as_of_p95'] * 1000:.0f} ms | "
            f"{r['xlsx_median'] * 1000:.0f} ms | {r['peak_mib']:.0f} MiB |"
        )
    if len(results) > 1 and results[0]["kpis_p95"] > 0:
        ratio = results[-1]["kpis_p95"] / results[0]["kpis_p95"]
        lines.append("")
        lines.append(
            f"p95 of `GET /kpis/{YEAR}` at {results[-1]['records']:,} ÷ at "
            f"{results[0]['records']:,} records: {ratio:.2f}"
        )
    return "\n".join(lines)


def run(
    bootstrap: str,
    sizes: list[int],
    *,
    postgres: str | None = None,
    requests: int = 20,
    xlsx: int = 3,
    same_years: bool = False,
    keep: bool = False,
) -> list[dict[str, Any]]:
    results = []
    for size in sizes:
        print(f"history of {size:,} records", flush=True)
        results.append(
            measure(
                bootstrap,
                size,
                postgres=postgres,
                requests=requests,
                xlsx=xlsx,
                same_years=same_years,
                keep=keep,
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="records per run, comma-separated (1000000 takes the better part of ten minutes to catch up)",
    )
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL; SQLite when not given")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--xlsx", type=int, default=3)
    parser.add_argument("--same-years", action="store_true", help="repeat the mix without moving it back")
    parser.add_argument(
        "--keep", action="store_true", help="PostgreSQL: keep each size's database and print its URL"
    )
    args = parser.parse_args()
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",")]
    with broker() as bootstrap:
        results = run(
            bootstrap,
            sizes,
            postgres=args.postgres,
            requests=args.requests,
            xlsx=args.xlsx,
            same_years=args.same_years,
            keep=args.keep,
        )
    print()
    print(table(results, "PostgreSQL" if args.postgres else "SQLite"))


if __name__ == "__main__":
    main()
