"""Per-record costs for the capacity plan in docs/OPERATIONS.md, measured on PostgreSQL and Kafka:

    python -m bench.capacity --postgres postgresql://vvsg@127.0.0.1:55499/postgres \
        --kafka 127.0.0.1:19092 [--kafka-log-dir /tmp/shared-infra/kafka/data] [--networks 2]

1. The representative mix of bench.common (one network, five years) is counted by kind: records per
   session and per member-year, the two things that grow with the network.
2. KPI read models: the mix is applied with the projector's own code (TrackedConsumer.process, batches
   of 1,000, inbox and positions included) into a fresh PostgreSQL database; bytes per record =
   the sum of pg_total_relation_size over its tables / records. The inbox (processed_events) is shown
   apart, bytes per row.
3. Outbox: the same envelopes written as outbox rows (what shared.outbox.Outbox.add writes) into a
   fresh database, all marked published as they are after the relay (the outbox is never pruned).
4. Kafka: the mix is produced the way the relay does when it is quiet — one record per request,
   idempotent, acks=all — to topics of its own; with --kafka-log-dir the partitions' segment files are
   measured on the broker's disk (read only), otherwise only the payload bytes are reported.

Everything is created under fresh names and removed again. Prints a JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.common import PARTITIONS, Mix, postgres_database
from services.kpi import projection
from services.kpi.generations import MIGRATIONS
from shared import events
from shared.db import make_engine, migrate
from shared.kafka import ensure_topics
from shared.outbox import OutboxMessage
from shared.topics import all_topics

SESSION_TYPES = ("session.", "registration.", "attendance.", "feedback.", "recording.")
MIX_YEARS = 5


def _type(value: bytes) -> str:
    name: str = json.loads(value)["type"].removeprefix(events.TYPE_PREFIX)
    return name.rsplit(".v", 1)[0]


def mix_profile(records: list[tuple[str, bytes, bytes]]) -> dict[str, Any]:
    """What one network of the mix holds per year, per session and per member."""
    kinds = Counter(_type(v) for _t, _k, v in records)
    sessions = kinds["session.scheduled"]
    session_records = sum(n for name, n in kinds.items() if name.startswith(SESSION_TYPES))
    other = sum(kinds.values()) - session_records
    members = kinds["member.joined"] - kinds["member.left"] - kinds["member.erased"]
    return {
        "records": len(records),
        "years": MIX_YEARS,
        "sessions": sessions,
        "records_per_session": session_records / sessions,
        "members_at_end": members,
        "other_records_per_member_year": other / MIX_YEARS / members,
        "by_type": dict(kinds.most_common()),
        "mean_key_plus_value_bytes": sum(len(k) + len(v) for _t, k, v in records) / len(records),
    }


@contextlib.contextmanager
def _engine(server: str) -> Iterator[Engine]:
    """An engine on a fresh database on the server, dropped afterwards."""
    with postgres_database(server, "capacity") as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def table_sizes(engine: Engine) -> dict[str, tuple[int, int]]:
    """(rows, bytes incl. indexes and TOAST) per table of the public schema, after ANALYZE."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        names = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        ).scalars()
        sizes = {}
        for name in names:
            rows = connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar() or 0
            size = connection.execute(text("SELECT pg_total_relation_size(:t)"), {"t": name}).scalar() or 0
            sizes[name] = (int(rows), int(size))
    return sizes


def _consumer_records(records: list[tuple[str, bytes, bytes]]) -> list[ConsumerRecord[bytes, bytes]]:
    offsets: Counter[tuple[str, int]] = Counter()
    out = []
    for topic, key, value in records:
        partition = zlib.crc32(key) % PARTITIONS
        offset = offsets[(topic, partition)]
        offsets[(topic, partition)] += 1
        out.append(ConsumerRecord(topic, partition, offset, 0, 0, key, value, None, len(key), len(value), []))
    return out


def measure_kpi(server: str, records: list[tuple[str, bytes, bytes]]) -> dict[str, Any]:
    with _engine(server) as engine:
        migrate(engine, MIGRATIONS)
        empty = sum(size for _rows, size in table_sizes(engine).values())
        tracked = projection.projector(topics=[], engine=engine, batch_size=1000)
        consumer_records = _consumer_records(records)
        started = time.monotonic()

        async def apply() -> None:
            for start in range(0, len(consumer_records), 1000):
                await tracked.process(consumer_records[start : start + 1000], None)

        asyncio.run(apply())
        seconds = time.monotonic() - started
        sizes = table_sizes(engine)
        total = sum(size for _rows, size in sizes.values())
        inbox_rows, inbox_bytes = sizes["processed_events"]
        return {
            "records": len(records),
            "applied": tracked.stats.applied,
            "seconds": round(seconds, 1),
            "records_per_second": round(len(records) / seconds),
            "database_bytes_empty": empty,
            "database_bytes": total,
            "bytes_per_record": round((total - empty) / len(records)),
            "inbox_bytes_per_row": round(inbox_bytes / inbox_rows),
            "tables": {t: {"rows": r, "bytes": b} for t, (r, b) in sizes.items() if r},
        }


def measure_outbox(server: str, records: list[tuple[str, bytes, bytes]]) -> dict[str, Any]:
    with _engine(server) as engine:
        OutboxMessage.metadata.create_all(engine, tables=[OutboxMessage.__table__])  # type: ignore[attr-defined]
        headers = json.dumps({"content-type": events.CONTENT_TYPE})
        with Session(engine) as session:
            for topic, key, value in records:
                session.add(
                    OutboxMessage(
                        topic=topic,
                        key=key.decode(),
                        value=value,
                        headers=headers,
                        event_id=json.loads(value)["id"],
                    )
                )
            session.commit()
            session.execute(text("UPDATE outbox SET published_at = now()"))
            session.commit()
        rows, size = table_sizes(engine)["outbox"]
        return {"rows": rows, "bytes": size, "bytes_per_row": round(size / rows)}


async def _produce_one_by_one(bootstrap: str, prefix: str, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        headers = [("content-type", events.CONTENT_TYPE.encode())]
        for topic, key, value in records:
            await producer.send_and_wait(
                prefix + topic, value, key=key, headers=headers, partition=zlib.crc32(key) % PARTITIONS
            )
    finally:
        await producer.stop()


async def _delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([prefix + spec.name for spec in all_topics()])
    finally:
        await admin.close()


def measure_kafka(
    bootstrap: str, log_dir: Path | None, records: list[tuple[str, bytes, bytes]]
) -> dict[str, Any]:
    prefix = f"capacity{uuid.uuid4().hex[:8]}."
    asyncio.run(ensure_topics(bootstrap, all_topics(partitions=PARTITIONS), prefix=prefix))
    try:
        started = time.monotonic()
        asyncio.run(_produce_one_by_one(bootstrap, prefix, records))
        seconds = time.monotonic() - started
        result: dict[str, Any] = {
            "records": len(records),
            "produce_seconds_one_by_one": round(seconds, 1),
            "payload_bytes_per_record": round(sum(len(k) + len(v) for _t, k, v in records) / len(records)),
        }
        if log_dir is not None:
            time.sleep(1)
            on_disk = sum(f.stat().st_size for f in log_dir.glob(f"{prefix}*/*.log"))
            result["log_bytes_on_disk"] = on_disk
            result["log_bytes_per_record"] = round(on_disk / len(records))
        return result
    finally:
        asyncio.run(_delete_topics(bootstrap, prefix))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres", required=True, help="a server URL, e.g. postgresql://vvsg@host:5432/postgres"
    )
    parser.add_argument("--kafka", required=True, help="bootstrap servers")
    parser.add_argument("--kafka-log-dir", type=Path, default=None, help="the broker's log.dirs, read only")
    parser.add_argument("--networks", type=int, default=1, help="copies of the mix (fresh ids each)")
    args = parser.parse_args(argv)
    records = [r for seed in range(args.networks) for r in Mix(seed=7 + seed).network()]
    report = {
        "mix": mix_profile(records),
        "kpi_postgresql": measure_kpi(args.postgres, records),
        "outbox_postgresql": measure_outbox(args.postgres, records),
        "kafka": measure_kafka(args.kafka, args.kafka_log_dir, records),
    }
    report["mix"]["records_per_session"] = round(report["mix"]["records_per_session"], 2)
    report["mix"]["other_records_per_member_year"] = round(report["mix"]["other_records_per_member_year"], 3)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
