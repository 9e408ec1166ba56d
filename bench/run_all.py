# ruff: noqa: E501  (the Markdown table rows read better unbroken)
"""Runs every KPI benchmark in one go, on one machine, against one broker, and writes the figures and
the command that produced them to docs/BENCHMARKS.md.

    .venv/bin/python -m bench.run_all                      # starts its own broker (deploy.local_kafka)
    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 .venv/bin/python -m bench.run_all --rebuild-records 1000000 \
        --postgres postgresql://vvsg@127.0.0.1:55499/postgres

With --postgres (a server's URL; fresh databases are made on it and dropped) the rebuild, the command →
/kpis latency, the history sizes and the write side are measured on PostgreSQL too, each right after its
SQLite run; the page opens with issue 14's goals and whether this run met them.

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

from bench import history_size, latency, members_write, rebuild_1m, replay
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


# the databases a run may measure: its key in the results, its name on the page
DATABASES = (("sqlite", "SQLite"), ("postgresql", "PostgreSQL"))


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


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def goals(results: dict[str, Any]) -> list[str]:
    """Issue 14's goals, each with this run's figures and whether they meet it (a Markdown table)."""
    lines = ["| goal | database | measured | met |", "| --- | --- | --- | --- |"]
    for database, label in DATABASES:
        if (r := results["replay"].get(database)) is not None:
            raw, projector, naive = r["raw"], r["projector"], r["naive"]
            lines += [
                f"| projector ÷ raw aiokafka consume ≥ 0.1 | {label} | {_n(projector.per_second)} ÷ "
                f"{_n(raw.per_second)} records/s = {projector.per_second / raw.per_second:.3f} | "
                f"{_met(projector.per_second >= 0.1 * raw.per_second)} |",
                f"| projector ÷ naive commit-per-event ≥ 50× | {label} | {_n(projector.per_second)} ÷ "
                f"{_n(naive.per_second)} records/s = {projector.per_second / naive.per_second:.1f}× | "
                f"{_met(projector.per_second >= 50 * naive.per_second)} |",
            ]
    for database, label in DATABASES:
        if (c := results["rebuild"].get(database)) is not None:
            ok = c["seconds"] <= 60 and c["peak_pss_mib"] <= 512
            lines.append(
                f"| rebuild of {_n(c['records'])} records ≤ 60 s, peak PSS ≤ 512 MiB | {label} | "
                f"{c['seconds']:.1f} s, {c['peak_pss_mib']:.0f} MiB | {_met(ok)} |"
            )
    for database, label in DATABASES:
        if (h := results["history"].get(database)) is not None:
            worst = max(x["kpis_p95"] for x in h)
            ratio = h[-1]["kpis_p95"] / h[0]["kpis_p95"] if len(h) > 1 and h[0]["kpis_p95"] > 0 else None
            sizes = " / ".join(f"{x['kpis_p95'] * 1000:.0f}" for x in h)
            lines.append(
                f"| `GET /kpis/{history_size.YEAR}` p95 ≤ 50 ms at every size"
                f"{', largest ÷ smallest ≤ 2' if ratio is not None else ''} | {label} | "
                f"{sizes} ms at {' / '.join(_n(x['records']) for x in h)} records"
                f"{f'; ratio {ratio:.2f}' if ratio is not None else ''} | "
                f"{_met(worst <= 0.050 and (ratio is None or ratio <= 2))} |"
            )
            lines.append(
                f"| `report.xlsx` ≤ 1 s | {label} | {h[-1]['xlsx_median']:.2f} s at {_n(h[-1]['records'])} records "
                f"| {_met(h[-1]['xlsx_median'] <= 1)} |"
            )
    for database, label in DATABASES:
        if (d := results["latency"].get(database)) is not None:
            lines.append(
                f"| command → visible in `/kpis` at 100/s: p99 ≤ 250 ms | {label} | "
                f"p99 {d['p99'] * 1000:.0f} ms ({d['achieved_rate']:.0f}/s sent) | {_met(d['p99'] <= 0.250)} |"
            )
    for database, label in DATABASES:
        if (w := results["write"].get(database)) is not None:
            lines.append(
                f"| `POST /members` at 100/s: p99 ≤ 50 ms | {label} | p99 {w['p99_ms']:.1f} ms "
                f"({w['answered_rate']:.0f}/s answered) | {_met(w['p99_ms'] <= 50)} |"
            )
    return lines


def _replay_rows(r: dict[str, Any], label: str) -> list[str]:
    """The (a) and (b) table of one database's replay, and where the projector's CPU went."""
    raw, one, projector, naive = r["raw"], r["projector_one"], r["projector"], r["naive"]
    workers = r["workers"]
    return [
        f"| reader ({label}) | records | seconds | records/s | vs raw | vs naive |",
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
        f"The projector's CPU ({label}), one process: {r['projector_one_cpu']}; {workers} processes: "
        f"{r['projector_cpu']}.",
        "",
        f"Each figure is its measure's best of {r['rounds']} rounds (raw, one process, {workers} processes, "
        "naive, one after the other in each round), in records/s: "
        + "; ".join(
            f"{name} {' / '.join(_n(rate.per_second) for rate in r[key + '_rounds'])}"
            for key, name in (
                ("raw", "raw"),
                ("projector_one", "one process"),
                ("projector", f"{workers} processes"),
                ("naive", "naive"),
            )
        )
        + ".",
        "",
    ]


def write(results: dict[str, Any], command: str, args_rate: float, reference_rate: float) -> str:
    r0 = results["replay"]["sqlite"]
    c0, d0 = results["rebuild"]["sqlite"], results["latency"]["sqlite"]
    latency_runs = [
        *((label, args_rate, results["latency"][db]) for db, label in DATABASES if db in results["latency"]),
        ("SQLite", reference_rate, results["reference"]),
    ]
    measured = [label for database, label in DATABASES if database in results["rebuild"]]
    lines = [
        "# KPI projector benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on one machine: {_cpu()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {' and '.join(measured)}, a single local Kafka broker. "
        "The machines are shared and noisy: compare the ratios, measured side by side in one run.",
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
        "",
        "## Issue 14's goals in this run",
        "",
        *goals(results),
        "",
        "The rebuild of 2,000,000 records (≤ 2.2 × the 1M time) is not part of this run: "
        "`python -m bench.rebuild_1m --records 2000000 [--postgres URL]`.",
        "",
        "## (a) and (b): replay rate, side by side on the same records",
        "",
        f"{_n(r0['records'])} records of the representative mix (produced in {r0['produce_seconds']:.1f} s), "
        "read from the start of the four domain topics (3 partitions each); the projectors write into fresh "
        "databases, first SQLite files, then (with --postgres) PostgreSQL databases, on new topics each.",
        "",
        *(
            line
            for database, label in DATABASES
            if (r := results["replay"].get(database)) is not None
            for line in _replay_rows(r, label)
        ),
        f"## (c) rebuild of {_n(c0['records'])} records",
        "",
        f"`python -m services.kpi.rebuild` into a fresh generation: the same {_n(c0['records'])} records "
        f"(produced in {c0['produce_seconds']:.1f} s with a batched producer) for each database.",
        "",
        "| database | records | wall time | records/s | peak PSS, processes summed | peak RSS summed | "
        "largest process (max RSS) | database size |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {label} | {_n(c['records'])} | {c['seconds']:.1f} s | {_n(c['records'] / c['seconds'])} | "
            f"{c['peak_pss_mib']:.0f} MiB | {c['peak_rss_sum_mib']:.0f} MiB | {c['peak_mib']:.0f} MiB | "
            f"{c['database_mib']:.0f} MiB |"
            for database, label in DATABASES
            if (c := results["rebuild"].get(database)) is not None
        ),
        "",
        "## (d) from an HTTP command to its effect in /kpis",
        "",
        f"{d0['commands']} `POST /members` over {d0['commands'] / args_rate:.0f} s at a target of {args_rate:.0f} per second, "
        f"members and KPI services as processes (both on {', then both on '.join(measured)}); a reader follows `/kpis/changes` and asks "
        "`/kpis/{year}` as the dashboard does. Latency of the k-th command: the first answer showing at least "
        "k members minus the moment the k-th command was sent.",
        "",
        "| database | target rate (achieved) | | p50 | p95 | p99 | max |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
        *(
            row
            for label, rate, x in latency_runs
            for row in (
                f"| {label} | {rate:.0f}/s ({x['achieved_rate']:.0f}/s) | command → visible in /kpis | {x['p50'] * 1000:.0f} ms | "
                f"{x['p95'] * 1000:.0f} ms | {x['p99'] * 1000:.0f} ms | {x['max'] * 1000:.0f} ms |",
                f"| | | of which: the members service answering the POST | {x['command_p50'] * 1000:.0f} ms | "
                f"{x['command_p95'] * 1000:.0f} ms | | |",
            )
        ),
        "",
        f"The lower-rate rows are a reference at {reference_rate:.0f} commands/s, where nothing queues: the latency "
        "of the pipeline itself (outbox relay, Kafka, a projector batch, the KPI query). On a busy shared machine "
        f"the members service (SQLite, one writer) may not keep up with {args_rate:.0f}/s; its own answer time "
        "is shown so that its queue is not mistaken for the pipeline's.",
        "",
        "## (e) the write side alone: `POST /members` at 100/s",
        "",
        f"`bench.members_write`: open loop, {results['write_seconds']:.0f} s after 3 s of warm-up, the members service "
        "as a process with its outbox relay publishing to the broker, bench.http's lean client.",
        "",
        "| database | answered /s | p50 | p95 | p99 | max | service CPU per command |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {label} | {w['answered_rate']:.1f} | {w['p50_ms']:.1f} ms | {w['p95_ms']:.1f} ms | "
            f"{w['p99_ms']:.1f} ms | {w['max_ms']:.1f} ms | {w['cpu_ms_per_command']:.1f} ms |"
            for database, label in DATABASES
            if (w := results["write"].get(database)) is not None
        ),
        "",
        "## (f) history size: a KPI answer as the topics' history grows",
        "",
        "`bench.history_size`: N records of the representative mix, repetition k of the five-year network "
        f"moved k × 5 years back so that {history_size.YEAR} holds one network's year at every N and the rest is "
        "history; the KPI service as a process on a fresh database catches up from the start of the "
        f"topics, then answers {results['history_requests']} sequential `GET /kpis/{history_size.YEAR}` "
        "(after one warm-up), as many with `?as_of=`, and 3 `report.xlsx` (median).",
        "",
        *(
            part
            for database, label in DATABASES
            if (h := results["history"].get(database)) is not None
            for part in (history_size.table(h, label), "")
        ),
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
    parser.add_argument(
        "--replay-rounds", type=int, default=replay.ROUNDS, help="(a)+(b): each measure's best of this many"
    )
    parser.add_argument("--rebuild-records", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--reference-rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--history-sizes", default="10000,100000", help="bench.history_size's sizes, comma-separated"
    )
    parser.add_argument("--history-requests", type=int, default=20)
    parser.add_argument(
        "--write-seconds", type=float, default=30.0, help="bench.members_write's measured seconds"
    )
    parser.add_argument(
        "--postgres",
        default="",
        help="a PostgreSQL server's URL: rebuild, latency, history and write side measured on it too",
    )
    args = parser.parse_args()
    command = " ".join(
        [
            *(f"{k}={shlex.quote(v)}" for k, v in os.environ.items() if k == "KAFKA_BOOTSTRAP_SERVERS"),
            ".venv/bin/python -m bench.run_all",
            *map(shlex.quote, sys.argv[1:]),
        ]
    )
    databases = {"sqlite": None, **({"postgresql": args.postgres} if args.postgres else {})}
    sizes = [int(size) for size in args.history_sizes.split(",")]
    results: dict[str, Any] = {"replay": {}, "rebuild": {}, "latency": {}, "history": {}}
    with broker() as bootstrap:
        for database, postgres in databases.items():
            print(f"(a)+(b) replay, {database}", flush=True)
            results["replay"][database] = replay.run(
                bootstrap,
                args.replay_records,
                args.naive_records,
                postgres=postgres,
                rounds=args.replay_rounds,
            )
        for database, postgres in databases.items():
            print(f"(c) rebuild, {database}", flush=True)
            results["rebuild"][database] = rebuild_1m.run(bootstrap, args.rebuild_records, postgres=postgres)
        for database, postgres in databases.items():
            print(f"(d) latency, {database}", flush=True)
            for attempt in (1, 2):  # a busy shared machine may drop a connection; one retry
                try:
                    results["latency"][database] = latency.run(bootstrap, args.rate, args.seconds, postgres)
                    break
                except Exception as exc:
                    print(f"  latency run {attempt} failed: {exc!r}", flush=True)
                    if attempt == 2:
                        raise
        print(f"(d) reference at {args.reference_rate:.0f}/s, sqlite", flush=True)
        results["reference"] = latency.run(bootstrap, args.reference_rate, args.seconds)
        print("(e) the write side", flush=True)
        results["write"] = members_write.run(
            bootstrap,
            members_write.arguments(
                [
                    "--seconds",
                    str(args.write_seconds),
                    "--databases",
                    ",".join(databases),
                    "--postgres",
                    args.postgres,
                ]
            ),
        )
        results["write_seconds"] = args.write_seconds
        for database, postgres in databases.items():
            print(f"(f) history size, {database}", flush=True)
            results["history"][database] = history_size.run(
                bootstrap, sizes, postgres=postgres, requests=args.history_requests
            )
    results["history_requests"] = args.history_requests
    print(write(results, command, args.rate, args.reference_rate))


if __name__ == "__main__":
    main()
