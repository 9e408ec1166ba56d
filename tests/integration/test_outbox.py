"""The transactional outbox and its relay against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

import pytest
from faststream.kafka import KafkaBroker
from sqlmodel import Session

from services.members.app import MIGRATIONS
from shared import events, kafka, messaging, topics
from shared.db import make_engine, migrate, transaction
from shared.outbox import Outbox, OutboxRelay, drain, outbox_backlog
from shared.settings import Settings
from tests.infra import read_topic

pytestmark = pytest.mark.integration


def _broker(bootstrap: str) -> KafkaBroker:
    """The relay publishes through a service's FastStream broker (shared.messaging)."""
    return messaging.make_broker(Settings(service_name="test", kafka_bootstrap_servers=bootstrap))


async def test_relay_publishes_committed_events_in_order_per_key(
    database_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    outbox = Outbox("/services/test", topic_prefix)
    members = [uuid.uuid4() for _ in range(5)]
    written: dict[str, list[str]] = {str(m): [] for m in members}
    for day in range(1, 11):
        for member in members:
            with transaction(engine) as session:
                envelope = outbox.add(
                    session,
                    events.KnowledgeSharingJoined(member_id=member, joined_on=date(2025, 1, day)),
                )
            written[str(member)].append(envelope["id"])
    with pytest.raises(RuntimeError), transaction(engine) as session:
        outbox.add(session, events.KnowledgeSharingLeft(member_id=members[0], left_on=date(2025, 2, 1)))
        raise RuntimeError("the command failed after writing its event")

    broker = _broker(kafka_bootstrap)
    await broker.start()
    relay = OutboxRelay(engine, broker, batch_size=7)
    task = asyncio.create_task(relay.run())
    try:
        await drain(relay)
    finally:
        task.cancel()
        await broker.stop()
    records = await read_topic(kafka_bootstrap, topic_prefix + topics.MEMBERS_EVENTS)
    seen: dict[str, list[str]] = {str(m): [] for m in members}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        envelope = json.loads(record.value)
        assert record.key.decode() == envelope["subject"]
        seen[record.key.decode()].append(envelope["id"])
    assert seen == written  # all of them, once, in order per key; not the rolled-back one
    assert outbox_backlog(engine) == (0, 0.0)
    engine.dispose()


async def test_a_contact_tombstone_is_published_as_a_null_value(
    database_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    outbox = Outbox("/services/test", topic_prefix)
    member = str(uuid.uuid4())
    with Session(engine) as session:
        outbox.add_record(session, topic=topics.MEMBERS_CONTACTS, key=member, value={"email": "a@b.be"})
        outbox.add_record(session, topic=topics.MEMBERS_CONTACTS, key=member, value=None)
        session.commit()
    broker = _broker(kafka_bootstrap)
    await broker.start()
    relay = OutboxRelay(engine, broker)
    task = asyncio.create_task(relay.run())
    try:
        await drain(relay)
    finally:
        task.cancel()
        await broker.stop()
    records = await read_topic(kafka_bootstrap, topic_prefix + topics.MEMBERS_CONTACTS)
    assert [(r.key.decode(), r.value) for r in records] == [
        (member, b'{"email": "a@b.be"}'),
        (member, None),
    ]
    engine.dispose()


async def test_the_relays_broker_check_asks_for_no_topic(kafka_bootstrap: str) -> None:
    """The relay's readiness check (shared.kafka.broker_answers) asks the broker for the metadata of no
    topic: FastStream's own ping reads every topic's, which on a broker with thousands of topics cost
    the members service a tenth of its CPU at 100 commands/s (bench.members_write)."""
    broker = _broker(kafka_bootstrap)
    assert not await kafka.broker_answers(broker, 0.5)  # not started: nothing to ask with
    await broker.start()
    try:
        admin = broker.config.admin_client
        asked: list[list[str] | None] = []
        original = admin._get_cluster_metadata

        async def recording(topics: list[str] | None = None) -> object:
            asked.append(topics)
            return await original(topics)

        admin._get_cluster_metadata = recording  # type: ignore[method-assign]
        assert await kafka.broker_answers(broker, 5)
        assert asked == [[]]
    finally:
        await broker.stop()
    assert not await kafka.broker_answers(broker, 0.5)  # stopped: no client to ask with
