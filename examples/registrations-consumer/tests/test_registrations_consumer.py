"""One scenario, written once, run in memory (FastStream's TestKafkaBroker) and against the real broker:
sessions scheduled in v1 and v2, registrations from municipalities and others, a redelivered event, a
record that breaks the contract and an event of a type the consumer does not follow."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cloudevents.core.bindings.kafka import KafkaMessage, to_structured_event
from cloudevents.core.v1.event import CloudEvent
from faststream.kafka import TestKafkaBroker
from registrations_consumer.app import DEFAULT_SCHEMAS, TOPIC, Consumer, Settings, build
from registrations_consumer.contract import Contract, Refused

SCHEMA_BASE = "https://schemas.vvsg.be/digitaleinclusie/"
MUNICIPALITY_A, MUNICIPALITY_B, UNIVERSITY = (str(uuid.uuid4()) for _ in range(3))
ONLINE_SESSION, VENUE_SESSION = str(uuid.uuid4()), str(uuid.uuid4())


def _event(
    name: str, version: int, subject: str, data: dict[str, Any], event_id: str | None = None
) -> KafkaMessage:
    """A record as the producing project writes it: structured mode, keyed by the subject."""
    attributes = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "/services/events",
        "type": f"be.vvsg.digitaleinclusie.{name}.v{version}",
        "subject": subject,
        "time": datetime(2025, 3, 1, 9, tzinfo=UTC),
        "datacontenttype": "application/json",
    }
    if version > 1:  # the v1 records of older producers carry no dataschema
        attributes["dataschema"] = f"{SCHEMA_BASE}{name}/v{version}.json"
    return to_structured_event(CloudEvent(attributes, data), key_mapper=lambda _event: subject.encode())


def _session(session_id: str, fmt: str, **v2: Any) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "kind": "info_session",
        "title": "Infosessie",
        "theme": "digitale drempels",
        "lead": "vvsg",
        "format": fmt,
        "starts_at": "2025-03-11T13:00:00+01:00",
        "ends_at": "2025-03-11T15:00:00+01:00",
        "planned_hours": 2,
        "capacity": 20,
        **v2,
    }


def _registration(
    session_id: str, organisation_id: str, kind: str = "lokaal_bestuur", waitlisted: bool = False
) -> dict[str, Any]:
    return {
        "registration_id": str(uuid.uuid4()),
        "session_id": session_id,
        "member_id": None,
        "organisation_id": organisation_id,
        "organisation_kind": kind,
        "waitlisted": waitlisted,
    }


def scenario() -> list[KafkaMessage]:
    first = _registration(ONLINE_SESSION, MUNICIPALITY_A)
    first_id = str(uuid.uuid4())
    return [
        _event("session.scheduled", 1, ONLINE_SESSION, _session(ONLINE_SESSION, "online")),
        _event(
            "session.scheduled",
            2,
            VENUE_SESSION,
            _session(
                VENUE_SESSION,
                "physical",
                location="Bischoffsheimlaan 1-8, 1000 Brussel",
                description="Met koffie.",
            ),
        ),
        _event("registration.received", 1, ONLINE_SESSION, first, first_id),
        _event("registration.received", 1, ONLINE_SESSION, first, first_id),  # redelivered: once
        _event("registration.received", 1, ONLINE_SESSION, _registration(ONLINE_SESSION, MUNICIPALITY_A)),
        _event("registration.received", 1, VENUE_SESSION, _registration(VENUE_SESSION, MUNICIPALITY_B)),
        _event(
            "registration.received",
            1,
            VENUE_SESSION,
            _registration(VENUE_SESSION, UNIVERSITY, "kennisinstelling"),
        ),
        _event(
            "registration.received",
            1,
            VENUE_SESSION,
            _registration(VENUE_SESSION, MUNICIPALITY_B, waitlisted=True),
        ),
        _event(
            "registration.received",
            1,
            VENUE_SESSION,
            _registration(VENUE_SESSION, MUNICIPALITY_B, "gemeente"),
        ),
        _event(
            "session.held",
            1,
            ONLINE_SESSION,
            {
                "session_id": ONLINE_SESSION,
                "held_on": "2025-03-11",
                "participants": 2,
                "participant_hours": 4,
            },
        ),
    ]


def assert_outcome(consumer: Consumer) -> None:
    assert consumer.store.seats_per_municipality() == {MUNICIPALITY_A: 2, MUNICIPALITY_B: 1}
    online, venue = consumer.store.session(ONLINE_SESSION), consumer.store.session(VENUE_SESSION)
    assert online == {
        "title": "Infosessie",
        "capacity": 20,
        "location": "online",
        "seats_taken": 2,
    }  # v1 upcast
    assert venue is not None and venue["location"] == "Bischoffsheimlaan 1-8, 1000 Brussel"
    assert venue["seats_taken"] == 2  # the municipality and the university; not the waiting list
    assert consumer.store.processed() == 7  # two sessions, five registrations; the duplicate once
    assert len(consumer.refused) == 1 and "organisation_kind" in consumer.refused[0]


async def _in_memory(consumer: Consumer, prefix: str, records: list[KafkaMessage]) -> None:
    async with TestKafkaBroker(consumer.broker) as broker:
        for record in records:
            headers = {name: value.decode() for name, value in record.headers.items()}
            await broker.publish(record.value, prefix + TOPIC, key=record.key, headers=headers)


async def _on_kafka(consumer: Consumer, prefix: str, records: list[KafkaMessage], bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + TOPIC, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for record in records:
            key = record.key if isinstance(record.key, bytes) else str(record.key).encode()
            await producer.send_and_wait(
                prefix + TOPIC, record.value, key=key, headers=list(record.headers.items())
            )
    finally:
        await producer.stop()
    async with consumer.broker:
        await consumer.broker.start()
        deadline = time.monotonic() + 60
        while consumer.store.processed() < 7 or len(consumer.refused) < 1:
            assert time.monotonic() < deadline, "the consumer did not read the scenario in time"
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # anything more would be a duplicate: give it the chance to show
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([prefix + TOPIC])
    finally:
        await admin.close()


@pytest.fixture(params=["memory", "kafka"])
async def run(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], Coroutine[Any, Any, Consumer]]]:
    prefix = f"rc{uuid.uuid4().hex[:8]}."
    bootstrap = (
        request.getfixturevalue("kafka_bootstrap_servers") if request.param == "kafka" else "127.0.0.1:9"
    )
    consumer = build(
        Settings(bootstrap_servers=bootstrap, topic_prefix=prefix, database=str(tmp_path / "seats.db"))
    )

    async def play() -> Consumer:
        if request.param == "memory":
            await _in_memory(consumer, prefix, scenario())
        else:
            await _on_kafka(consumer, prefix, scenario(), bootstrap)
        return consumer

    yield play
    consumer.store.close()


async def test_seats_per_municipality_from_v1_and_v2_sessions_once_per_event(
    run: Callable[[], Coroutine[Any, Any, Consumer]],
) -> None:
    assert_outcome(await run())


def test_a_record_that_is_not_a_cloudevent_is_refused_with_the_sdks_reason() -> None:
    with pytest.raises(Refused, match="not a CloudEvent"):
        Contract(DEFAULT_SCHEMAS).read(
            {"content-type": b"application/cloudevents+json"},
            b"key",
            b"not json",
            frozenset({"session.scheduled"}),
        )


def test_a_version_without_a_published_schema_is_refused() -> None:
    record = _event("session.scheduled", 9, VENUE_SESSION, _session(VENUE_SESSION, "online"))
    with pytest.raises(Refused, match="no published schema"):
        Contract(DEFAULT_SCHEMAS).read(record.headers, None, record.value, frozenset({"session.scheduled"}))
