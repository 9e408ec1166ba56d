"""The faster SQLite bind conversions (shared.binds.faster, used by the KPI store and shared.arrays)
give exactly what the columns' own bind processors give, on many values of every column type of the
read models: a row written through the batch path is the same text in the database as one written by
`session.execute`."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import Boolean, Date, Float, Table, Uuid
from sqlalchemy.dialects import sqlite
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

import services.kpi.app  # noqa: F401 - every KPI table on the metadata
from shared.binds import faster

DIALECT = sqlite.dialect()
# pydantic's own offset-0 tzinfo, which the events' timestamps carry (not datetime.UTC)
PYDANTIC_UTC = TypeAdapter(datetime).validate_python("2025-01-01T00:00:00Z").tzinfo


def _days(r: random.Random) -> list[Any]:
    days = [date(1, 1, 1), date(999, 12, 31), date(9999, 12, 31), None]
    days += [date(1, 1, 1) + timedelta(days=r.randrange(3_652_058)) for _ in range(2000)]
    return days


def _moments(r: random.Random) -> list[Any]:
    zones = [
        UTC,
        PYDANTIC_UTC,
        timezone(timedelta(0)),
        timezone(timedelta(hours=2)),
        timezone(-timedelta(hours=5)),
    ]
    moments: list[Any] = [
        None,
        datetime(1, 1, 2, tzinfo=UTC),
        datetime(9999, 12, 30, 23, 59, 59, 999_999, tzinfo=UTC),
    ]
    for _ in range(3000):
        moment = datetime(1900, 1, 1) + timedelta(
            seconds=r.randrange(6_000_000_000), microseconds=r.choice([0, r.randrange(1_000_000)])
        )
        moments.append(moment.replace(tzinfo=r.choice(zones)))
    return moments


def _columns() -> list[tuple[str, Any]]:
    found = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name.startswith("kpi_"):
            found += [(f"{table.name}.{column.name}", column.type) for column in cast_table(table).columns]
    return found


def cast_table(table: Any) -> Table:
    assert isinstance(table, Table)
    return table


@pytest.mark.parametrize(("column", "kind"), _columns(), ids=[name for name, _ in _columns()])
def test_the_faster_conversion_gives_what_the_bind_processor_gives(column: str, kind: Any) -> None:
    process = kind._cached_bind_processor(DIALECT)
    if process is None:
        return  # written as is
    r = random.Random(column)
    if isinstance(kind, UTCDateTime):
        values = _moments(r)
    elif isinstance(kind, Date):
        values = _days(r)
    elif isinstance(kind, Boolean):
        values = [True, False, None, 0, 1]
    elif isinstance(kind, Float):
        values = [r.uniform(0, 10_000) for _ in range(100)] + [0, 3, None]
    else:
        assert isinstance(kind, Uuid), column  # a type this test does not know yet
        values = [uuid.UUID(int=r.getrandbits(128)) for _ in range(100)] + [None]
    quick = faster(kind, process)
    for value in values:
        assert quick(value) == process(value), (column, value)


@pytest.mark.parametrize("kind", [Date(), UTCDateTime(), Boolean()], ids=repr)
def test_dates_timestamps_and_flags_take_the_faster_path(kind: Any) -> None:
    process = kind._cached_bind_processor(DIALECT)
    assert faster(kind, process) is not process


def test_a_naive_timestamp_is_still_refused() -> None:
    kind = UTCDateTime()
    quick = faster(kind, kind._cached_bind_processor(DIALECT))
    with pytest.raises(ValueError, match="timezone"):
        quick(datetime(2025, 1, 1))
    with pytest.raises(TypeError):
        faster(Date(), Date()._cached_bind_processor(DIALECT))("2025-01-01")
