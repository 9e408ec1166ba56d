"""The idempotent consumer against the real broker: redelivery, republished events, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from services.kpi import projection
from services.kpi.app import MIGRATIONS
from services.kpi.membership import KpiMembershipFact
from shared import events, kafka, topics
from shared.consumer import RecordRejected, TrackedConsumer, decode_event
from shared.db import make_engine, migrate
from tests.infra import produce, read_topic

pytestmark = pytest.mark.integration


def _joined(member: uuid.UUID, day: int = 1) -> tuple[bytes, bytes]:
    data = events.MemberJoined(member_id=member, organisation_id=uuid.uuid4(), joined_on=date(2025, 3, day))
    return str(member).encode(), events.encode(events.new_envelope(data, source="/test"))


def _consumer(engine: Any, bootstrap: str, prefix: str, handle: Any = None) -> TrackedConsumer[Any]:
    return TrackedConsumer(
        name="test-projector",
        topics=[prefix + topics.MEMBERS_EVENTS],
        engine=engine,
        consumer_factory=lambda group: kafka.make_consumer(bootstrap, group),
        producer_factory=lambda: kafka.make_producer(bootstrap, "test-dlq"),
        handle=handle or (lambda session, event, _record: projection.apply(session, [event])),
        decode=decode_event,
        batch_size=50,
    )


async def _run_until(consumer: TrackedConsumer[Any], processed: int, timeout: float = 30.0) -> None:
    task = asyncio.create_task(consumer.run())
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while consumer.stats.processed < processed:
            assert asyncio.get_running_loop().time() < deadline, f"consumed only {consumer.stats}"
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _facts(engine: Any) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(KpiMembershipFact)).scalar_one())


async def test_records_republished_or_redelivered_have_one_effect_and_bad_ones_go_to_the_dlq(
    database_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    topic = topic_prefix + topics.MEMBERS_EVENTS
    good = [_joined(uuid.uuid4()) for _ in range(20)]
    records: list[tuple[str, bytes | None, bytes | None]] = [(topic, k, v) for k, v in good]
    records.append((topic, b"x", b"\x00\xffnot json at all"))
    records += [(topic, k, v) for k, v in good[:5]]  # the same events published again
    await produce(kafka_bootstrap, records)

    first = _consumer(engine, kafka_bootstrap, topic_prefix)
    await _run_until(first, processed=26)
    assert _facts(engine) == 20
    assert first.stats.duplicates == 5
    dead = await read_topic(kafka_bootstrap, topics.dead_letter_topic(topic))
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers["dlq-reason"].startswith(b"not JSON")
    assert headers["dlq-topic"] == topic.encode()

    # a new consumer instance on the same database resumes where the database says: no second effect
    extra = _joined(uuid.uuid4())
    await produce(kafka_bootstrap, [(topic, *extra), (topic, *good[0])])
    second = _consumer(engine, kafka_bootstrap, topic_prefix)
    await _run_until(second, processed=2)
    assert second.stats.consumed == 2  # only the two new records were read again
    assert _facts(engine) == 21
    engine.dispose()


async def test_a_record_the_handler_refuses_goes_to_the_dlq_and_the_rest_are_applied(
    database_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    topic = topic_prefix + topics.MEMBERS_EVENTS
    refused_member = uuid.uuid4()

    def handle(session: Session, event: events.Event, record: Any) -> None:
        if getattr(event.data, "member_id", None) == refused_member:
            raise RecordRejected("this member is refused by the test")
        projection.apply(session, [event])

    batch = [_joined(uuid.uuid4(), day) for day in range(1, 11)]
    batch.insert(4, _joined(refused_member))
    await produce(kafka_bootstrap, [(topic, k, v) for k, v in batch])
    consumer = _consumer(engine, kafka_bootstrap, topic_prefix, handle)
    await _run_until(consumer, processed=11)
    assert _facts(engine) == 10
    dead = await read_topic(kafka_bootstrap, topics.dead_letter_topic(topic))
    assert [d.key for d in dead] == [str(refused_member).encode()]
    assert b"refused by the test" in dict(dead[0].headers)["dlq-reason"]
    engine.dispose()
