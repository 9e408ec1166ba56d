"""(c) A rebuild of a million records — about a hundred times five real years of one network — with
`python -m services.kpi.rebuild` into a fresh SQLite database (or, with --postgres, a fresh database on
that PostgreSQL server); wall time, rate and the peak memory.
The rebuild replays in two forked processes by default (services.kpi.rebuild.WORKERS), so memory is
given three ways: the peak of the processes' proportional set sizes summed (PSS: a page two processes
share counts half in each: the memory the rebuild really takes), the peak of their resident set sizes
summed (shared pages counted in each: an upper bound), and the largest single process's peak RSS.
Producing the records is timed apart.

    python -m bench.rebuild_1m --records 1000000
    python -m bench.rebuild_1m --workers 1,2,1,2            # the same records, side by side
    python -m bench.rebuild_1m --batch-sizes 5000,20000     # per process, with the default workers
    python -m bench.rebuild_1m --postgres postgresql://vvsg@127.0.0.1:55499/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import Mix, broker, fresh_database, fresh_prefix, produce_fast
from shared.db import normalise_url

ROOT = Path(__file__).resolve().parent.parent


def run(
    bootstrap: str,
    records: int,
    batch_sizes: list[int | None] | None = None,
    workers: list[int | None] | None = None,
    postgres: str | None = None,
) -> dict[str, Any]:
    """Produces the records once, then rebuilds from them once per number of workers and batch size
    (None: the rebuild's default), each into a fresh database (SQLite, or one on the PostgreSQL server
    `postgres`); the result of the first rebuild, with every rebuild's under "runs"."""
    prefix = fresh_prefix(bootstrap)
    started = time.perf_counter()
    produced = asyncio.run(produce_fast(bootstrap, prefix, Mix(seed=11).records(records)))
    produce_seconds = time.perf_counter() - started
    print(f"  produced {produced} records in {produce_seconds:.1f} s", flush=True)
    runs = [
        _rebuild(bootstrap, prefix, produced, size, count, postgres)
        for count in workers or [None]
        for size in batch_sizes or [None]
    ]
    return {**runs[0], "produce_seconds": produce_seconds, "runs": runs}


def _tree(pid: int) -> list[int]:
    """The process and its descendants."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            queue += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
    return found


def _memory(pid: int) -> tuple[int, int]:
    """PSS and RSS of the process tree under `pid`, summed, in KiB."""
    pss = rss = 0
    for member in _tree(pid):
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                name, _, value = line.partition(":")
                if name == "Pss":
                    pss += int(value.split()[0])
                elif name == "Rss":
                    rss += int(value.split()[0])
        except OSError:  # ended meanwhile
            pass
    return pss, rss


class _Peak:
    """Samples the memory of a process tree ten times a second, keeping the peaks."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.pss = self.rss = 0
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.halt.is_set():
            pss, rss = _memory(self.pid)
            self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)
            self.halt.wait(0.1)

    def stop(self) -> None:
        self.halt.set()
        self.thread.join()


def _rebuild(
    bootstrap: str,
    prefix: str,
    produced: int,
    batch_size: int | None,
    workers: int | None,
    postgres: str | None = None,
) -> dict[str, Any]:
    """`python -m services.kpi.rebuild` of the topics under `prefix` into a fresh SQLite database, or a
    fresh database on the PostgreSQL server `postgres`."""
    command = [sys.executable, "-m", "services.kpi.rebuild", "--quiet"]
    if batch_size is not None:
        command += ["--batch-size", str(batch_size)]
    if workers is not None:
        command += ["--workers", str(workers)]
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="vvsg-bench-rebuild-"))
        database_url = stack.enter_context(fresh_database(postgres, Path(tmp), "kpi", "bench_rebuild"))
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
        }
        log = Path(tmp) / "rebuild.log"
        with log.open("w") as out:
            started = time.perf_counter()
            process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=out)
            peak = _Peak(process.pid)
            try:
                _pid, status, usage = os.wait4(process.pid, 0)
                seconds = time.perf_counter() - started
            finally:
                peak.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
        logged = log.read_text()
        if process.returncode != 0:
            raise SystemExit(f"rebuild failed ({process.returncode}):\n{logged[-3000:]}")
        size = _size(database_url, tmp)
    peak_mib = usage.ru_maxrss / 1024  # Linux reports KiB; the largest of the process and its children
    print(
        f"  rebuild ({workers or 'default'} workers, batch size {batch_size or 'default'}): {seconds:.1f} s, "
        f"{produced / seconds:,.0f} records/s; peak PSS summed {peak.pss / 1024:.0f} MiB, RSS summed "
        f"{peak.rss / 1024:.0f} MiB, largest process {peak_mib:.0f} MiB; "
        f"database {size / 1024 / 1024:.0f} MiB ({'SQLite' if postgres is None else 'PostgreSQL'})",
        flush=True,
    )
    return {
        "records": produced,
        "batch_size": batch_size,
        "workers": workers,
        "seconds": seconds,
        "peak_mib": peak_mib,
        "peak_pss_mib": peak.pss / 1024,
        "peak_rss_sum_mib": peak.rss / 1024,
        "database_mib": size / 1024 / 1024,
        "log": logged.strip().splitlines()[-3:],
    }


def _size(database_url: str, directory: str) -> int:
    """Bytes of the rebuilt generation: its SQLite files, or the whole PostgreSQL database (the new
    generation is a schema in it, beside the empty base)."""
    if database_url.startswith("sqlite"):
        return sum(f.stat().st_size for f in Path(directory).glob("kpi.g2.db*"))
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--batch-sizes",
        default="",
        help="comma-separated: one rebuild of the same records per size, in this order (default: one "
        "rebuild with the rebuild's own batch size)",
    )
    parser.add_argument(
        "--workers",
        default="",
        help="comma-separated: one rebuild of the same records per number of processes, in this order "
        "(default: the rebuild's own)",
    )
    parser.add_argument(
        "--postgres",
        default=None,
        help="a PostgreSQL server's URL: rebuild into a fresh database on it instead of SQLite",
    )
    args = parser.parse_args()
    sizes: list[int | None] = [int(size) for size in args.batch_sizes.split(",") if size.strip()]
    workers: list[int | None] = [int(count) for count in args.workers.split(",") if count.strip()]
    with broker() as bootstrap:
        run(bootstrap, args.records, sizes or None, workers or None, args.postgres)


if __name__ == "__main__":
    main()
