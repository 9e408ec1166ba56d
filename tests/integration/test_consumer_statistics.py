"""A consumer on PostgreSQL analyses its own tables as they fill (shared.consumer._Statistics), so the
plans PostgreSQL keeps for psycopg's prepared statements are made again from the tables' real size,
not from the empty tables of the first batch (a look-up of 500 ids in the inbox: 0.9 s against 19 ms).
Autovacuum is switched off for the test's tables, so every statistic seen here is the consumer's."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.projector_cpu import records
from services.kpi import projection
from services.kpi.app import MIGRATIONS
from shared.db import analyse, make_engine, migrate
from tests import infra

pytestmark = pytest.mark.integration


@pytest.fixture
def kpi_database(postgres_server: str) -> Iterator[Engine]:
    with infra.postgres_database(postgres_server) as url:
        engine = make_engine(url)
        migrate(engine, MIGRATIONS)
        with engine.begin() as connection:
            for (table,) in connection.execute(
                text("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()")
            ):
                connection.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        try:
            yield engine
        finally:
            engine.dispose()


def _rows_planned(engine: Engine, table: str) -> float:
    """What the planner believes the table holds: -1 until it is first analysed (PostgreSQL 14+)."""
    with engine.connect() as connection:
        return float(
            connection.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:table)"), {"table": table}
            ).scalar_one()
        )


def test_the_kpi_projector_analyses_its_tables_once_it_has_applied_5000_records(
    kpi_database: Engine,
) -> None:
    tracked = projection.projector(topics=[], engine=kpi_database, batch_size=1000)
    read = records(6_000)

    async def apply(start: int, stop: int) -> None:
        for at in range(start, stop, 1000):
            await tracked.process(read[at : at + 1000], None)

    asyncio.run(apply(0, 4_000))
    assert tracked.stats.applied == 4_000
    assert _rows_planned(kpi_database, "processed_events") == -1  # not analysed yet

    asyncio.run(apply(4_000, 6_000))
    assert tracked.stats.applied == 6_000
    # analysed once, after the fifth batch: the inbox as it was then, and the read models with it
    assert _rows_planned(kpi_database, "processed_events") == 5_000
    assert _rows_planned(kpi_database, "kpi_membership_facts") > 0


def test_analyse_reaches_the_tables_of_the_connections_schema_only(kpi_database: Engine) -> None:
    with kpi_database.begin() as connection:
        connection.exec_driver_sql("CREATE SCHEMA other")
        connection.exec_driver_sql("CREATE TABLE other.elsewhere (id int) WITH (autovacuum_enabled = false)")
        connection.exec_driver_sql("INSERT INTO other.elsewhere SELECT generate_series(1, 10)")
    analyse(kpi_database)
    assert _rows_planned(kpi_database, "processed_events") == 0  # analysed: empty
    assert _rows_planned(kpi_database, "other.elsewhere") == -1  # another schema: left alone


def test_analyse_does_nothing_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/kpi.db")
    try:
        migrate(engine, MIGRATIONS)
        analyse(engine)
        with engine.connect() as connection:
            statistics = connection.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).scalar_one()
        assert statistics == 0  # SQLite's ANALYZE would have made this table
    finally:
        engine.dispose()
