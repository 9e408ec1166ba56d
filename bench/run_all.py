# ruff: noqa: E501  (the Markdown table rows read better unbroken)
"""Runs every KPI benchmark in one go, on one machine, against one broker, and writes the figures and
the command that produced them to docs/BENCHMARKS.md.

    .venv/bin/python -m bench.run_all                      # starts its own broker (deploy.local_kafka)
    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 .venv/bin/python -m bench.run_all --rebuild-records 1000000

Every load stops by itself; everything listens on 127.0.0.1 only. These are measurements, not tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import history_size, latency, rebuild_1m, replay
from bench.common import broker
from services.kpi import rebuild

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "BENCHMARKS.md"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _n(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


# What follows this line in docs/BENCHMARKS.md was measured by other commands (a profile, bench.sse_idle):
# a new run of this script rewrites the part above it and keeps the rest.
KEEP_MARK = "<!-- Measured by hand (bench.replay --profile, bench.sse_idle, …): bench.run_all keeps everything below this line. -->"


def _kept() -> str:
    try:
        existing = OUT.read_text()
    except FileNotFoundError:
        return "\n" + KEEP_MARK + "\n"
    at = existing.find(KEEP_MARK)
    return "\n" + (existing[at:] if at >= 0 else KEEP_MARK + "\n")


def write(results: dict[str, Any], command: str, args_rate: float, reference_rate: float) -> str:
    r, c, d = results["replay"], results["rebuild"], results["latency"]
    raw, one, projector, naive = r["raw"], r["projector_one"], r["projector"], r["naive"]
    workers = r["workers"]
    lines = [
        "# KPI projector benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on one machine: {_cpu()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite read models, a single local Kafka broker. "
        "The machines are shared and noisy: compare the ratios, measured side by side in one run.",
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
        "",
        "## (a) and (b): replay rate, side by side on the same records",
        "",
        f"{_n(r['records'])} records of the representative mix (produced in {r['produce_seconds']:.1f} s), "
        "read from the start of the four domain topics (3 partitions each).",
        "",
        "| reader | records | seconds | records/s | vs raw | vs naive |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| raw aiokafka consume (no processing) | {_n(raw.records)} | {raw.seconds:.1f} | "
        f"{_n(raw.per_second)} | 1 | {raw.per_second / naive.per_second:.0f}× |",
        f"| KPI projector, one process: TrackedConsumer + projection, 1 commit per batch of {replay.BATCH} | "
        f"{_n(one.records)} | {one.seconds:.1f} | {_n(one.per_second)} | {one.per_second / raw.per_second:.3f} | "
        f"{one.per_second / naive.per_second:.1f}× |",
        f"| KPI projector as the rebuild runs it: {workers} processes, each on its share of the partitions, "
        f"batches of {rebuild.batch_for(workers)} | {_n(projector.records)} | {projector.seconds:.1f} | "
        f"{_n(projector.per_second)} | {projector.per_second / raw.per_second:.3f} | "
        f"{projector.per_second / naive.per_second:.1f}× |",
        f"| naive projector: same code, 1 commit per event | {_n(naive.records)} | {naive.seconds:.1f} | "
        f"{_n(naive.per_second)} | {naive.per_second / raw.per_second:.4f} | 1 |",
        "",
        f"The projector's CPU, one process: {r['projector_one_cpu']}; {workers} processes: "
        f"{r['projector_cpu']}.",
        "",
        "## (c) rebuild of a million records",
        "",
        f"`python -m services.kpi.rebuild` into a fresh SQLite generation: {_n(c['records'])} records "
        f"(produced in {c['produce_seconds']:.1f} s with a batched producer).",
        "",
        "| records | wall time | records/s | peak PSS, processes summed | peak RSS summed | "
        "largest process (max RSS) | database size |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {_n(c['records'])} | {c['seconds']:.0f} s | {_n(c['records'] / c['seconds'])} | "
        f"{c['peak_pss_mib']:.0f} MiB | {c['peak_rss_sum_mib']:.0f} MiB | {c['peak_mib']:.0f} MiB | "
        f"{c['database_mib']:.0f} MiB |",
        "",
        "## (d) from an HTTP command to its effect in /kpis",
        "",
        f"{d['commands']} `POST /members` over {d['commands'] / args_rate:.0f} s at a target of {args_rate:.0f} per second, "
        "members and KPI services as processes on SQLite; a reader follows `/kpis/changes` and asks "
        "`/kpis/{year}` as the dashboard does. Latency of the k-th command: the first answer showing at least "
        "k members minus the moment the k-th command was sent.",
        "",
        "| target rate (achieved) | | p50 | p95 | p99 | max |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        *(
            row
            for rate, x in ((args_rate, d), (reference_rate, results["reference"]))
            for row in (
                f"| {rate:.0f}/s ({x['achieved_rate']:.0f}/s) | command → visible in /kpis | {x['p50'] * 1000:.0f} ms | "
                f"{x['p95'] * 1000:.0f} ms | {x['p99'] * 1000:.0f} ms | {x['max'] * 1000:.0f} ms |",
                f"| | of which: the members service answering the POST | {x['command_p50'] * 1000:.0f} ms | "
                f"{x['command_p95'] * 1000:.0f} ms | | |",
            )
        ),
        "",
        f"The lower-rate rows are a reference at {reference_rate:.0f} commands/s, where nothing queues: the latency "
        "of the pipeline itself (outbox relay, Kafka, a projector batch, the KPI query). On a busy shared machine "
        f"the members service (SQLite, one writer) may not keep up with {args_rate:.0f}/s; its own answer time "
        "is shown so that its queue is not mistaken for the pipeline's.",
        "",
        "## (f) history size: a KPI answer as the topics' history grows",
        "",
        "`bench.history_size`: N records of the representative mix, repetition k of the five-year network "
        f"moved k × 5 years back so that {history_size.YEAR} holds one network's year at every N and the rest is "
        "history; the KPI service as a process on a fresh SQLite database catches up from the start of the "
        f"topics, then answers {results['history_requests']} sequential `GET /kpis/{history_size.YEAR}` "
        "(after one warm-up), as many with `?as_of=`, and 3 `report.xlsx` (median).",
        "",
        history_size.table(results["history"], "SQLite"),
        "",
        "## Reading the figures",
        "",
        "- The projector does per record what the raw reader does not: validates the CloudEvents envelope and "
        "payload (shared/events.decode, pydantic), checks the inbox, makes read-model rows and writes them. "
        "Its batch path (services/kpi/store.py) loads every row a batch may touch in one query per table and "
        "writes each table with one upsert per batch; the inbox is one SELECT of known ids and one executemany "
        'INSERT per batch (shared/consumer.py). Where the CPU goes: "The projector at batch speed" below.',
        "",
    ]
    text = "\n".join(lines) + _kept()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replay-records", type=int, default=200_000)
    parser.add_argument("--naive-records", type=int, default=10_000)
    parser.add_argument("--rebuild-records", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--reference-rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--history-sizes", default="10000,100000", help="bench.history_size's sizes, comma-separated"
    )
    parser.add_argument("--history-requests", type=int, default=20)
    args = parser.parse_args()
    command = " ".join(
        [
            *(f"{k}={shlex.quote(v)}" for k, v in os.environ.items() if k == "KAFKA_BOOTSTRAP_SERVERS"),
            ".venv/bin/python -m bench.run_all",
            *map(shlex.quote, sys.argv[1:]),
        ]
    )
    with broker() as bootstrap:
        print("(a)+(b) replay", flush=True)
        replay_result = replay.run(bootstrap, args.replay_records, args.naive_records)
        print("(c) rebuild", flush=True)
        rebuild_result = rebuild_1m.run(bootstrap, args.rebuild_records)
        print("(d) latency", flush=True)
        for attempt in (1, 2):  # a busy shared machine may drop a connection; one retry
            try:
                latency_result = latency.run(bootstrap, args.rate, args.seconds)
                break
            except Exception as exc:
                print(f"  latency run {attempt} failed: {exc!r}", flush=True)
                if attempt == 2:
                    raise
        print(f"(d) reference at {args.reference_rate:.0f}/s", flush=True)
        reference_result = latency.run(bootstrap, args.reference_rate, args.seconds)
        print("(f) history size", flush=True)
        sizes = [int(size) for size in args.history_sizes.split(",")]
        history_result = history_size.run(bootstrap, sizes, requests=args.history_requests)
    results = {
        "replay": replay_result,
        "rebuild": rebuild_result,
        "latency": latency_result,
        "reference": reference_result,
        "history": history_result,
        "history_requests": args.history_requests,
    }
    print(write(results, command, args.rate, args.reference_rate))


if __name__ == "__main__":
    main()
