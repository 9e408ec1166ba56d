"""The consumer's inbox (`processed_events`) decides which records of a batch are fresh by their event id:
on SQLite one INSERT … RETURNING claims the batch's ids (shared.consumer, `_CLAIM_IDS_SQLITE`), ids that
would not come back from JSON unchanged take the SELECT-then-INSERT path, as PostgreSQL always does.
Every path must pick the same records, on a real database of each kind."""

from __future__ import annotations

import uuid

from aiokafka.structs import ConsumerRecord
from sqlalchemy import select
from sqlmodel import Session

from services.kpi.app import MIGRATIONS
from shared.consumer import Item, ProcessedEvent, TrackedConsumer
from shared.db import make_engine, migrate

NAME = "inbox-test"


def _items(ids: list[str], first_offset: int) -> list[Item[str]]:
    return [
        Item(ConsumerRecord("t", 0, first_offset + n, 0, 0, b"k", b"v", None, 1, 1, []), event_id, event_id)
        for n, event_id in enumerate(ids)
    ]


def test_a_batch_applies_each_event_id_once_whatever_its_characters(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    applied: list[str] = []
    tracked: TrackedConsumer[str] = TrackedConsumer(
        name=NAME,
        topics=["t"],
        engine=engine,
        handle=lambda _session, value, _record: applied.append(value),
        decode=lambda record: (record.value.decode(), record.value.decode()),
    )
    plain = [str(uuid.uuid4()) for _ in range(4)]
    # ids the claiming statement leaves to the other path (control characters, not ASCII), and one it
    # takes although JSON escapes it (quotes and a backslash)
    odd = ["tab\there", "Zoë", "line\nbreak", "smile \U0001f642", 'quote"and\\slash']
    try:
        # a first batch: every id once, and two of them twice within the batch (republished)
        first = plain[:2] + odd[4:] + plain[:1] + odd[4:]
        tracked._apply(_items(first, 0), [item.record for item in _items(first, 0)], set())
        assert applied == [plain[0], plain[1], odd[4]]
        assert tracked.stats.duplicates == 2

        # a second batch (later offsets): the known ids again, new ones, the odd ones in any mix
        applied.clear()
        second = [plain[1], plain[2], *odd, plain[0], odd[0], plain[3], plain[2]]
        tracked._apply(_items(second, 10), [item.record for item in _items(second, 10)], set())
        assert applied == [plain[2], *odd[:4], plain[3]]
        assert tracked.stats.duplicates == 2 + 5

        # a batch of plain ids only again: the claiming statement, with the odd ones stored before
        applied.clear()
        third = [plain[3], str(uuid.UUID(int=7)), plain[0]]
        tracked._apply(_items(third, 30), [item.record for item in _items(third, 30)], set())
        assert applied == [str(uuid.UUID(int=7))]

        with Session(engine) as session:
            stored = session.execute(
                select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == NAME)
            ).scalars()
            assert sorted(stored) == sorted([*plain, *odd, str(uuid.UUID(int=7))])
    finally:
        engine.dispose()
