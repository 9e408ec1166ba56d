"""CPU time per record of the KPI projector's own work, without Kafka: N records of the representative
mix (bench.common.Mix) as consumer records, decoded and applied in transactions of `--batch` records
(`TrackedConsumer._apply`, the code the replay and the live projector run) into a fresh SQLite database
(or, with --postgres, a fresh database on that PostgreSQL server), under the replay's collector
settings. `time.process_time` around decode and around each transaction: on a shared machine CPU time
moves far less with the load than wall time does.

    python -m bench.projector_cpu --records 20000 --batch 5000
    python -m bench.projector_cpu --records 100000 --batch 20000 --postgres postgresql://vvsg@127.0.0.1:55499/postgres

On PostgreSQL the client's CPU is only part of the cost (the server's work runs beside it): the wall
time says more there.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import zlib
from collections.abc import Iterator

from aiokafka.structs import ConsumerRecord

from bench.common import PARTITIONS, Mix, postgres_database
from services.kpi import projection, rebuild
from services.kpi.generations import MIGRATIONS
from shared.consumer import Item, decode_event
from shared.db import make_engine, migrate


def records(count: int) -> list[ConsumerRecord[bytes, bytes]]:
    """The mix as a consumer would read it: keyed to a partition, offsets counted per partition."""
    offsets: dict[tuple[str, int], int] = {}
    found: list[ConsumerRecord[bytes, bytes]] = []
    for topic, key, value in Mix().records(count):
        partition = zlib.crc32(key) % PARTITIONS
        offset = offsets.get((topic, partition), 0)
        offsets[(topic, partition)] = offset + 1
        found.append(
            ConsumerRecord(topic, partition, offset, 0, 0, key, value, None, len(key), len(value), [])
        )
    return found


@contextlib.contextmanager
def _database(postgres: str | None) -> Iterator[str]:
    if postgres is not None:
        with postgres_database(postgres, "projector_cpu") as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="vvsg-bench-cpu-") as tmp:
        yield f"sqlite:///{tmp}/kpi.db"


def measure(count: int, batch: int, postgres: str | None = None) -> tuple[float, float, float]:
    """(decode, transaction) CPU microseconds per record, and the wall seconds of the whole."""
    read = records(count)
    with _database(postgres) as url:
        engine = make_engine(url)
        migrate(engine, MIGRATIONS)
        tracked = projection.projector(topics=[], engine=engine, batch_size=batch)
        decoding = applying = 0.0
        started = time.perf_counter()
        with rebuild.quiet_collector():
            for start in range(0, len(read), batch):
                chunk = read[start : start + batch]
                t0 = time.process_time()
                items = [Item(record, *decode_event(record)) for record in chunk]
                t1 = time.process_time()
                tracked._apply(items, chunk, set())
                decoding += t1 - t0
                applying += time.process_time() - t1
        wall = time.perf_counter() - started
        engine.dispose()
    return decoding / count * 1e6, applying / count * 1e6, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=rebuild.REPLAY_BATCH)
    parser.add_argument("--postgres", help="a PostgreSQL server's URL: a fresh database there, not SQLite")
    args = parser.parse_args()
    decoding, applying, wall = measure(args.records, args.batch, args.postgres)
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"{args.records} records, batch {args.batch}, {database}: decode {decoding:.1f} us, transaction "
        f"{applying:.1f} us CPU/record; wall {wall:.1f} s ({args.records / wall:,.0f} records/s)"
    )


if __name__ == "__main__":
    main()
