"""Rows written and looked up as arrays on PostgreSQL (shared.arrays), and the same calls on SQLite:
every value comes back as it went in, an odd column takes the row-by-row way, UTCDateTime still
refuses a naive datetime, and on PostgreSQL the rows go in one statement, not one per row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from services.kpi.activities import KpiActivityAttendance
from services.kpi.app import MIGRATIONS
from services.kpi.store import BatchStore
from shared.arrays import delete_among, insert_rows, select_among
from shared.db import make_engine, migrate

pytestmark = pytest.mark.integration

_metadata = MetaData()
_TABLE = Table(
    "array_rows",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("uid", Uuid, nullable=True),
    Column("name", String(50), nullable=True),
    Column("day", Date, nullable=True),
    Column("moment", UTCDateTime, nullable=True),
    Column("flag", Boolean, nullable=True),
    Column("hours", Float, nullable=True),
)


class _Statements:
    """The statements an engine sends, and whether each was an executemany."""

    def __init__(self, engine: Engine) -> None:
        self.sent: list[bool] = []
        event.listen(engine, "before_cursor_execute", self._sent)

    def _sent(self, _conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            self.sent.append(many)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    _metadata.create_all(made)
    try:
        yield made
    finally:
        made.dispose()


def _rows(count: int) -> list[dict[str, Any]]:
    brussels = timezone(timedelta(hours=2))
    return [
        {
            "id": index,
            "uid": uuid.UUID(int=index * 7919) if index % 5 else None,
            "name": f'rij {index} – ‘é’ "x" {{,}}' if index % 3 else None,
            "day": date(2020, 1, 1) + timedelta(days=index) if index % 4 else None,
            "moment": datetime(2021, 3, 28, 1, 30, tzinfo=brussels if index % 2 else UTC)
            + timedelta(minutes=index),
            "flag": None if index % 7 == 0 else index % 2 == 0,
            "hours": index / 4 if index % 6 else None,
        }
        for index in range(count)
    ]


def _stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(_TABLE).order_by(_TABLE.c.id))]


def test_rows_come_back_as_they_went_in(engine: Engine) -> None:
    rows = _rows(1_200)
    statements = _Statements(engine)
    with engine.begin() as connection:
        insert_rows(connection, _TABLE, rows)
    stored = _stored(engine)
    assert [row["moment"].utcoffset() for row in stored] == [timedelta(0)] * len(rows)
    assert stored == rows  # aware datetimes compare by instant
    # PostgreSQL: one statement of arrays; SQLite: the driver's executemany
    assert statements.sent == ([False] if engine.dialect.name == "postgresql" else [True])


def test_a_column_of_nothing_but_nulls(engine: Engine) -> None:
    rows = [{"id": index, "uid": None, "name": None, "moment": None} for index in range(3)]
    with engine.begin() as connection:
        insert_rows(connection, _TABLE, rows)
    assert [(row["id"], row["uid"], row["name"], row["moment"]) for row in _stored(engine)] == [
        (0, None, None, None),
        (1, None, None, None),
        (2, None, None, None),
    ]


def test_a_column_of_two_types_goes_row_by_row(engine: Engine) -> None:
    rows = [{"id": 1, "hours": 2}, {"id": 2, "hours": 2.5}]  # an int among floats: no one array type
    statements = _Statements(engine)
    with engine.begin() as connection:
        insert_rows(connection, _TABLE, rows)
    assert [(row["id"], row["hours"]) for row in _stored(engine)] == [(1, 2.0), (2, 2.5)]
    assert statements.sent == [True]


def test_a_naive_datetime_is_refused_and_nothing_is_written(engine: Engine) -> None:
    rows = [{"id": 1, "moment": datetime(2024, 1, 1, tzinfo=UTC)}, {"id": 2, "moment": datetime(2024, 1, 1)}]
    with pytest.raises((ValueError, StatementError), match="timezone"), engine.begin() as connection:
        insert_rows(connection, _TABLE, rows)
    assert _stored(engine) == []


def test_no_rows_sends_nothing(engine: Engine) -> None:
    statements = _Statements(engine)
    with engine.begin() as connection:
        insert_rows(connection, _TABLE, [])
    assert statements.sent == []


def test_statements_built_once_take_their_ids_at_each_call(engine: Engine) -> None:
    """`select_among` and `delete_among`: one statement object per table and columns, whatever the
    ids (an empty list included), on both databases."""
    rows = _rows(30)
    with engine.begin() as connection:
        insert_rows(connection, _TABLE, rows)
    dialect = engine.dialect.name
    wanted = select_among(dialect, _TABLE, ("id", "name"), "uid")
    assert select_among(dialect, _TABLE, ("id", "name"), "uid") is wanted
    uids = [row["uid"] for row in rows if row["uid"] is not None]
    with engine.begin() as connection:
        found = sorted(connection.execute(wanted, {"ids": [*uids[:4], uuid.uuid4()]}).all())
        assert found == [(row["id"], row["name"]) for row in rows if row["uid"] in uids[:4]]
        assert connection.execute(wanted, {"ids": []}).all() == []
        assert len(connection.execute(wanted, {"ids": uids}).all()) == len(uids)
        gone = connection.execute(delete_among(dialect, _TABLE, "uid"), {"ids": uids[:5]})
        assert gone.rowcount == 5
    assert [row["uid"] for row in _stored(engine)] == [
        row["uid"] for row in rows if row["uid"] not in uids[:5]
    ]


@pytest.fixture
def kpi_engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    migrate(made, MIGRATIONS)
    try:
        yield made
    finally:
        made.dispose()


def _attendance(store: BatchStore, registration: uuid.UUID, hours: Any) -> None:
    moment = datetime(2025, 5, 1, 9, tzinfo=UTC)
    row = store.new(
        KpiActivityAttendance,
        registration_id=registration,
        session_id=registration,
        attended=True,
        hours=hours,
        version_time=moment,
        version_event_id=f"e-{registration}",
    )
    store.add(row)


def test_the_read_model_store_writes_and_reads_back_through_arrays(kpi_engine: Engine) -> None:
    """The KPI store's upsert and preload: new rows, then changed ones (the upsert's update), then a
    preload of known and unknown keys; a column of two types (an int among floats) written too."""
    registrations = [uuid.UUID(int=index + 1) for index in range(600)]
    with Session(kpi_engine) as session:
        store = BatchStore(session, {})
        for index, registration in enumerate(registrations):
            _attendance(store, registration, index + 0.5)
        store.write()
        session.commit()
    with Session(kpi_engine) as session:
        store = BatchStore(session, {})
        for index, registration in enumerate(registrations[:300]):
            _attendance(store, registration, index if index % 2 else float(index))  # ints and floats
        store.write()
        session.commit()
    with Session(kpi_engine) as session:
        store = BatchStore(session, {})
        unknown = uuid.UUID(int=10_000)
        keys = [*registrations, unknown]
        if kpi_engine.dialect.name == "sqlite":  # (per 500 keys, as `preload` does)
            store._preload_sqlite(KpiActivityAttendance, keys[:500])
            store._preload_sqlite(KpiActivityAttendance, keys[500:])
        else:
            store._preload_postgresql(KpiActivityAttendance, keys)
        hours = {key: row.hours for (_model, key), row in store.rows.items() if row is not None}
        moments = {row.version_time for row in store.rows.values() if row is not None}
    assert hours == {
        registration: float(index) if index < 300 else index + 0.5
        for index, registration in enumerate(registrations)
    }
    assert unknown not in hours
    assert moments == {datetime(2025, 5, 1, 9, tzinfo=UTC)}
