"""Three ways to write N rows into PostgreSQL with SQLAlchemy and psycopg, side by side, alternated:
- `executemany`: `connection.execute(insert(table), rows)`, psycopg's executemany (one statement per
  row, pipelined) — how the KPI projector wrote its rows until shared.arrays;
- `arrays (text)`: one INSERT … SELECT FROM unnest(…) with one array parameter per column bound by
  SQLAlchemy (psycopg sends an array in its text form, built in Python);
- `arrays (binary)`: the same statement through `shared.arrays.insert_rows` (arrays in binary).
The rows have the columns a read model has (UUIDs, text, a date, a timestamp, a flag, a number, some
NULLs); each write is one transaction, rolled back, into a table of a fresh database. Wall and client
CPU time per write.

    python -m bench.pg_arrays --postgres postgresql://vvsg@127.0.0.1:55499/postgres --rows 20000
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Column, Date, Float, Integer, MetaData, String, Table, Uuid, insert
from sqlalchemy.engine import Connection
from sqlmodel.sql.sqltypes import UTCDateTime

from bench.common import postgres_database
from shared import arrays
from shared.db import make_engine

_metadata = MetaData()
TABLE = Table(
    "bench_rows",
    _metadata,
    Column("row_id", Uuid, primary_key=True),
    Column("member_id", Uuid, nullable=False),
    Column("name", String(200), nullable=True),
    Column("on_date", Date, nullable=False),
    Column("event_time", UTCDateTime, nullable=False),
    Column("attended", Boolean, nullable=False),
    Column("hours", Float, nullable=True),
    Column("position", Integer, nullable=False),
)


def rows(count: int) -> list[dict[str, Any]]:
    start = datetime(2024, 1, 1, 8, tzinfo=UTC)
    return [
        {
            "row_id": uuid.uuid4(),
            "member_id": uuid.UUID(int=index % 650 + 1),
            "name": f"sessie {index}" if index % 3 else None,
            "on_date": date(2024, 1, 1) + timedelta(days=index % 366),
            "event_time": start + timedelta(minutes=index),
            "attended": index % 2 == 0,
            "hours": (index % 8) / 2 if index % 5 else None,
            "position": index,
        }
        for index in range(count)
    ]


def _executemany(connection: Connection, values: list[dict[str, Any]]) -> None:
    connection.execute(insert(TABLE), values)


def _arrays_text(connection: Connection, values: list[dict[str, Any]]) -> None:
    names = list(values[0])
    statement = insert(TABLE).from_select(names, arrays.unnested(TABLE, names))
    connection.execute(statement, {arrays.parameter(name): [row[name] for row in values] for name in names})


def _arrays_binary(connection: Connection, values: list[dict[str, Any]]) -> None:
    arrays.insert_rows(connection, TABLE, values)


WAYS: dict[str, Callable[[Connection, list[dict[str, Any]]], None]] = {
    "executemany": _executemany,
    "arrays (text)": _arrays_text,
    "arrays (binary)": _arrays_binary,
}


def run(postgres: str, count: int, repeat: int) -> dict[str, dict[str, float]]:
    """Per way, the median wall and client CPU milliseconds of writing `count` rows."""
    values = rows(count)
    walls: dict[str, list[float]] = {name: [] for name in WAYS}
    cpus: dict[str, list[float]] = {name: [] for name in WAYS}
    with postgres_database(postgres, "pg_arrays") as url:
        engine = make_engine(url)
        _metadata.create_all(engine)
        try:
            for _ in range(repeat + 1):  # the first round warms up, and is not counted
                for name, way in WAYS.items():
                    with engine.connect() as connection:
                        wall, cpu = time.perf_counter(), time.process_time()
                        with connection.begin() as transaction:
                            way(connection, values)
                            transaction.rollback()
                        walls[name].append(time.perf_counter() - wall)
                        cpus[name].append(time.process_time() - cpu)
        finally:
            engine.dispose()
    return {
        name: {
            "wall_ms": statistics.median(walls[name][1:]) * 1000,
            "cpu_ms": statistics.median(cpus[name][1:]) * 1000,
        }
        for name in WAYS
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", required=True, help="a PostgreSQL server's URL")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = run(args.postgres, args.rows, args.repeat)
    base = result["executemany"]["wall_ms"]
    print(f"{args.rows} rows, median of {args.repeat} (each way in turn):")
    for name, figures in result.items():
        print(
            f"  {name:16} wall {figures['wall_ms']:8.1f} ms, client CPU {figures['cpu_ms']:8.1f} ms, "
            f"{base / figures['wall_ms']:5.1f}x executemany"
        )


if __name__ == "__main__":
    main()
