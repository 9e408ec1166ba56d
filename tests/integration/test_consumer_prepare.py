"""A tracked consumer with a `prepare` hook (the KPI rebuild's processes, shared.consumer): the batch's
work that needs no lock runs in a read transaction before the write transaction, which then only
writes its result; if another consumer of the same name claimed one of the batch's event ids in between,
the prepared result is dropped and `apply` runs under the lock on what is still fresh. On a real
database of each kind."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import select, text
from sqlmodel import Session

from services.kpi.app import MIGRATIONS
from shared.consumer import ConsumerOffset, Item, ProcessedEvent, TrackedConsumer
from shared.db import make_engine, migrate, transaction

NAME = "prepare-test"


def _items(ids: list[str], first_offset: int) -> list[Item[str]]:
    return [
        Item(ConsumerRecord("t", 0, first_offset + n, 0, 0, b"k", b"v", None, 1, 1, []), event_id, event_id)
        for n, event_id in enumerate(ids)
    ]


def _consumer(
    database_url: str,
    applied: list[str],
    prepare: Callable[[Session, list[Item[str]]], Callable[[Session], None]],
) -> TrackedConsumer[str]:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    return TrackedConsumer(
        name=NAME,
        topics=["t"],
        engine=engine,
        apply=lambda _session, items: applied.extend(item.value for item in items),
        prepare=prepare,
        decode=lambda record: (record.value.decode(), record.value.decode()),
    )


def _meanwhile(database_url: str, write: Callable[[Session], object]) -> None:
    """Another process's write transaction on the same database, committed before this returns."""
    other = make_engine(database_url)
    try:
        with transaction(other) as session:
            write(session)
    finally:
        other.dispose()


def _stored(tracked: TrackedConsumer[str]) -> tuple[list[str], dict[int, int]]:
    with Session(tracked.engine) as session:
        ids = session.execute(select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == NAME))
        offsets = select(ConsumerOffset.partition, ConsumerOffset.next_offset)
        positions = session.execute(offsets.where(ConsumerOffset.consumer == NAME))
        return sorted(ids.scalars()), {partition: offset for partition, offset in positions}


def test_a_prepared_batch_is_written_by_what_prepare_returned_while_others_could_write(
    database_url: str,
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    applied: list[str] = []
    prepared: list[list[str]] = []
    written: list[list[str]] = []
    others: list[int] = []

    def prepare(session: Session, items: list[Item[str]]) -> Callable[[Session], None]:
        values = [item.value for item in items]
        prepared.append(values)
        # meanwhile another process writes: it must not wait for this transaction (no write lock);
        # a write transaction takes the lock up front on SQLite (BEGIN IMMEDIATE)
        _meanwhile(database_url, lambda writing: (writing.execute(text("SELECT 1")), others.append(1)))
        return lambda _session: written.append(values)

    tracked = _consumer(database_url, applied, prepare)
    try:
        batch = _items([ids[0], ids[1], ids[0], ids[2]], 0)  # ids[0] republished within the batch
        tracked._apply(batch, [item.record for item in batch], set())
        assert prepared == [[ids[0], ids[1], ids[2]]]
        assert written == prepared
        assert applied == []  # `apply` did not run: the prepared result was written
        assert others == [1]
        assert tracked.stats.applied == 3
        assert tracked.stats.duplicates == 1  # counted once, not by the look before the transaction
        assert _stored(tracked) == (sorted(ids), {0: 4})
    finally:
        tracked.engine.dispose()


def test_an_id_claimed_between_prepare_and_the_write_falls_back_to_apply_under_the_lock(
    database_url: str,
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    applied: list[str] = []
    written: list[list[str]] = []

    def prepare(session: Session, items: list[Item[str]]) -> Callable[[Session], None]:
        values = [item.value for item in items]
        # another process of the same name applies the event of ids[1] (republished under another key)
        _meanwhile(database_url, lambda writing: writing.add(ProcessedEvent(consumer=NAME, event_id=ids[1])))
        return lambda _session: written.append(values)

    tracked = _consumer(database_url, applied, prepare)
    try:
        batch = _items(ids, 0)
        tracked._apply(batch, [item.record for item in batch], set())
        assert written == []  # prepared for all three: not used
        assert applied == [ids[0], ids[2]]  # applied under the lock, without the one claimed meanwhile
        assert tracked.stats.applied == 2
        assert tracked.stats.duplicates == 1
        assert _stored(tracked) == (sorted(ids), {0: 3})
    finally:
        tracked.engine.dispose()


def test_positions_stored_between_prepare_and_the_write_fall_back_to_apply_under_the_lock(
    database_url: str,
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    applied: list[str] = []
    written: list[list[str]] = []

    def other_applied_the_first_two(writing: Session) -> None:
        writing.add(ConsumerOffset(consumer=NAME, topic="t", partition=0, next_offset=2))
        writing.add_all(ProcessedEvent(consumer=NAME, event_id=event_id) for event_id in ids[:2])

    def prepare(session: Session, items: list[Item[str]]) -> Callable[[Session], None]:
        values = [item.value for item in items]
        # another process of the same name applies the first two records of the partition meanwhile
        _meanwhile(database_url, other_applied_the_first_two)
        return lambda _session: written.append(values)

    tracked = _consumer(database_url, applied, prepare)
    try:
        batch = _items(ids, 0)
        tracked._apply(batch, [item.record for item in batch], set())
        assert written == []  # prepared for all three: not used
        assert applied == [ids[2]]  # the first two are behind the position stored meanwhile
        assert tracked.stats.applied == 1
        assert tracked.stats.duplicates == 0  # skipped by their position, not by their ids
        assert _stored(tracked) == (sorted(ids), {0: 3})
    finally:
        tracked.engine.dispose()


def test_prepare_needs_a_batch_apply_to_fall_back_on(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(TypeError, match="`prepare` goes with a per-batch `apply`"):
            TrackedConsumer(
                name=NAME,
                topics=["t"],
                engine=engine,
                handle=lambda _session, _value, _record: None,
                prepare=lambda _session, _items: lambda _target: None,
                decode=lambda record: (record.value, None),
            )
    finally:
        engine.dispose()
