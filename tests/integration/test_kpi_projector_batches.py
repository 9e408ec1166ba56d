"""The projector's batch path (services.kpi.projection.projector: one commit per batch, lookups answered
from the store preloaded for the batch) gives exactly the answer of applying the same events one by one,
whatever the order, however the events fall into batches and however often they are redelivered inside
one batch."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from sqlmodel import Session

from services.kpi import kpis, projection
from services.kpi.app import MIGRATIONS
from shared import events
from shared.consumer import TrackedConsumer
from shared.db import make_engine, migrate
from tests import kpi_year

pytestmark = pytest.mark.integration

NOW = datetime(2026, 2, 1, tzinfo=UTC)


def _answer(session: Session) -> list[tuple[str, Any, Any]]:
    return [(k["code"], k["value"], k["items"]) for k in kpis.report(session, 2025, None, NOW)["kpis"]]


def _one_by_one(url: str) -> list[tuple[str, Any, Any]]:
    engine = make_engine(url)
    migrate(engine, MIGRATIONS)
    with Session(engine) as session:
        for event in kpi_year.decoded(kpi_year.year_data()):
            projection.apply(session, [event])
            session.commit()
        answer = _answer(session)
    engine.dispose()
    return answer


def _records(values: list[bytes]) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        ConsumerRecord(
            topic="t",
            partition=0,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=None,
            value=value,
            checksum=None,
            serialized_key_size=0,
            serialized_value_size=len(value),
            headers=(),
        )
        for offset, value in enumerate(values)
    ]


def _in_batches(url: str, values: list[bytes], size: int) -> list[tuple[str, Any, Any]]:
    engine = make_engine(url)
    migrate(engine, MIGRATIONS)
    tracked: TrackedConsumer[events.Event] = projection.projector(
        topics=["t"],
        engine=engine,
        batch_size=1000,
    )
    records = _records(values)
    for start in range(0, len(records), size):
        asyncio.run(tracked.process(records[start : start + size], None))  # type: ignore[arg-type]
    with Session(engine) as session:
        answer = _answer(session)
    engine.dispose()
    return answer


@pytest.mark.parametrize(("seed", "size"), [(1, 1000), (2, 7), (3, 1)])
def test_batches_give_the_answer_of_one_by_one(
    database_url: str, tmp_path: Path, seed: int, size: int
) -> None:
    values = [value for _topic, _key, value in kpi_year.envelope_records(kpi_year.year_data())]
    shuffled = values + random.Random(seed).sample(values, len(values) // 3)  # a third redelivered
    random.Random(seed).shuffle(shuffled)
    expected = _one_by_one(f"sqlite:///{tmp_path}/one-{uuid.uuid4().hex}.db")
    assert _in_batches(database_url, shuffled, size) == expected


def test_a_second_batch_sees_the_rows_of_the_first(tmp_path: Path) -> None:
    values = [value for _topic, _key, value in kpi_year.envelope_records(kpi_year.year_data())]
    expected = _one_by_one(f"sqlite:///{tmp_path}/one.db")
    assert _in_batches(f"sqlite:///{tmp_path}/batches.db", values, len(values) // 2) == expected
