"""A tracked consumer's batch whose transaction PostgreSQL ends for a deadlock with another writer of the
same database (the KPI rebuild's processes, a scaled-out service's instances) is run again at once and
applied once; a transaction that conflicts every time, or fails for another reason, still escapes
(shared.consumer.CONFLICT_STATES). On a real PostgreSQL server, with a real deadlock."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from services.kpi.app import MIGRATIONS
from shared.consumer import CONFLICT_ATTEMPTS, Item, TrackedConsumer, conflicted
from shared.db import make_engine, migrate
from tests.infra import postgres_database

pytestmark = pytest.mark.integration

NAME = "conflict-test"


@pytest.fixture
def url(postgres_server: str) -> Iterator[str]:
    with postgres_database(postgres_server) as database:
        yield database


def _items(count: int) -> list[Item[str]]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    return [
        Item(ConsumerRecord("t", 0, n, 0, 0, b"k", b"v", None, 1, 1, []), event_id, event_id)
        for n, event_id in enumerate(ids)
    ]


def _deadlock(session: Session, url: str, threads: list[threading.Thread]) -> None:
    """Makes this session's transaction one side of a deadlock with another connection's, which PostgreSQL
    breaks by ending this one: it looks for a deadlock after 0.1 s of waiting, the other after 10 s."""
    first, second = random.sample(range(1, 2**31), 2)
    session.execute(text("SET LOCAL deadlock_timeout = '100ms'"))
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": first})
    holding = threading.Event()

    def other() -> None:
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(text("SET LOCAL deadlock_timeout = '10s'"))
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": second})
                holding.set()
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": first})  # waits
        finally:
            engine.dispose()

    thread = threading.Thread(target=other, daemon=True)
    threads.append(thread)  # it ends once this transaction is rolled back
    thread.start()
    assert holding.wait(10)
    time.sleep(0.2)  # the other is waiting for `first` now
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": second})  # the cycle


@pytest.fixture
def threads() -> Iterator[list[threading.Thread]]:
    started: list[threading.Thread] = []
    yield started
    for thread in started:
        thread.join(15)
        assert not thread.is_alive()


def _consumer(
    url: str, deadlocks: int, applied: list[list[str]], threads: list[threading.Thread]
) -> TrackedConsumer[str]:
    engine = make_engine(url)
    migrate(engine, MIGRATIONS)
    attempts = [0]

    def apply(session: Session, items: list[Item[str]]) -> None:
        attempts[0] += 1
        if attempts[0] <= deadlocks:
            _deadlock(session, url, threads)
        applied.append([item.value for item in items])

    return TrackedConsumer(
        name=NAME,
        topics=["t"],
        engine=engine,
        apply=apply,
        decode=lambda record: (record.value.decode(), None),
    )


def _inbox(tracked: TrackedConsumer[str]) -> tuple[int, int]:
    with tracked.engine.connect() as connection:
        ids = connection.execute(
            text("SELECT count(*) FROM processed_events WHERE consumer = :c"), {"c": NAME}
        ).scalar_one()
        position = connection.execute(
            text("SELECT next_offset FROM consumer_offsets WHERE consumer = :c"), {"c": NAME}
        ).scalar()
    return int(ids), int(position or 0)


def test_a_batch_ended_by_a_deadlock_is_run_again_and_applied_once(
    url: str, threads: list[threading.Thread]
) -> None:
    applied: list[list[str]] = []
    tracked = _consumer(url, 1, applied, threads)
    try:
        batch = _items(3)
        tracked._apply(batch, [item.record for item in batch], set())
        assert applied == [[item.value for item in batch]]  # the second attempt, once
        assert tracked.stats.conflicts == 1
        assert tracked.stats.applied == 3
        assert tracked.stats.duplicates == 0  # the failed attempt's look at the inbox does not count
        assert _inbox(tracked) == (3, 3)  # the ids and the position of the attempt that went through
    finally:
        tracked.engine.dispose()


def test_a_batch_that_conflicts_every_time_escapes_with_nothing_stored(
    url: str, threads: list[threading.Thread]
) -> None:
    applied: list[list[str]] = []
    tracked = _consumer(url, CONFLICT_ATTEMPTS, applied, threads)
    try:
        batch = _items(2)
        with pytest.raises(OperationalError) as raised:
            tracked._apply(batch, [item.record for item in batch], set())
        assert conflicted(raised.value)
        assert applied == []
        assert tracked.stats.conflicts == CONFLICT_ATTEMPTS - 1
        assert tracked.stats.applied == 0
        assert _inbox(tracked) == (0, 0)
    finally:
        tracked.engine.dispose()


def test_other_database_errors_are_not_run_again(url: str) -> None:
    engine = make_engine(url)
    migrate(engine, MIGRATIONS)
    attempts: list[int] = []

    def apply(session: Session, items: list[Item[str]]) -> None:
        attempts.append(1)
        session.execute(text("SET LOCAL statement_timeout = '50ms'"))
        session.execute(text("SELECT pg_sleep(1)"))  # cancelled: 57014, an OperationalError, no conflict

    tracked = TrackedConsumer(
        name=NAME, topics=["t"], engine=engine, apply=apply, decode=lambda r: (r.value.decode(), None)
    )
    try:
        batch = _items(1)
        with pytest.raises(OperationalError) as raised:
            tracked._apply(batch, [item.record for item in batch], set())
        assert not conflicted(raised.value)
        assert attempts == [1]
        assert tracked.stats.conflicts == 0
    finally:
        engine.dispose()
