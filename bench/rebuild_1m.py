"""(c) A rebuild of a million records — about a hundred times five real years of one network — with
`python -m services.kpi.rebuild` into a fresh SQLite database; wall time, rate and the peak memory
(maximum resident set size) of the rebuild process. Producing the records is timed apart.

    python -m bench.rebuild_1m --records 1000000
    python -m bench.rebuild_1m --batch-sizes 5000,20000,5000,20000   # the same records, side by side
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Mix, broker, fresh_prefix, produce_fast

ROOT = Path(__file__).resolve().parent.parent


def run(bootstrap: str, records: int, batch_sizes: list[int | None] | None = None) -> dict[str, Any]:
    """Produces the records once, then rebuilds from them once per batch size (None: the rebuild's
    default); the result of the first rebuild, with every rebuild's under "runs"."""
    prefix = fresh_prefix(bootstrap)
    started = time.perf_counter()
    produced = asyncio.run(produce_fast(bootstrap, prefix, Mix(seed=11).records(records)))
    produce_seconds = time.perf_counter() - started
    print(f"  produced {produced} records in {produce_seconds:.1f} s", flush=True)
    runs = [_rebuild(bootstrap, prefix, produced, size) for size in batch_sizes or [None]]
    return {**runs[0], "produce_seconds": produce_seconds, "runs": runs}


def _rebuild(bootstrap: str, prefix: str, produced: int, batch_size: int | None) -> dict[str, Any]:
    """`python -m services.kpi.rebuild` of the topics under `prefix` into a fresh SQLite database."""
    command = [sys.executable, "-m", "services.kpi.rebuild", "--quiet"]
    if batch_size is not None:
        command += ["--batch-size", str(batch_size)]
    with tempfile.TemporaryDirectory(prefix="vvsg-bench-rebuild-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/kpi.db",
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
        }
        log = Path(tmp) / "rebuild.log"
        with log.open("w") as out:
            started = time.perf_counter()
            process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=out)
            _pid, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        text = log.read_text()
        if process.returncode != 0:
            raise SystemExit(f"rebuild failed ({process.returncode}):\n{text[-3000:]}")
        size = sum(f.stat().st_size for f in Path(tmp).glob("kpi.g2.db*"))
    peak_mib = usage.ru_maxrss / 1024  # Linux reports KiB
    print(
        f"  rebuild (batch size {batch_size or 'default'}): {seconds:.1f} s, "
        f"{produced / seconds:,.0f} records/s, peak RSS {peak_mib:.0f} MiB",
        flush=True,
    )
    return {
        "records": produced,
        "batch_size": batch_size,
        "seconds": seconds,
        "peak_mib": peak_mib,
        "database_mib": size / 1024 / 1024,
        "log": text.strip().splitlines()[-3:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--batch-sizes",
        default="",
        help="comma-separated: one rebuild of the same records per size, in this order (default: one "
        "rebuild with the rebuild's own batch size)",
    )
    args = parser.parse_args()
    sizes: list[int | None] = [int(size) for size in args.batch_sizes.split(",") if size.strip()]
    with broker() as bootstrap:
        run(bootstrap, args.records, sizes or None)


if __name__ == "__main__":
    main()
