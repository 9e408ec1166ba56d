"""The migrations create exactly the tables the models declare: the events service's and the KPI
service's; and a KPI migration that adds a derived table fills it from what the database held."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Column, Index, Table, text
from sqlmodel import SQLModel

import services.events.tables
import services.kpi.activities
import services.kpi.tables
from services.events.app import MIGRATIONS as EVENTS_MIGRATIONS
from services.kpi.app import MIGRATIONS as KPI_MIGRATIONS
from shared.db import make_engine, migrate


def _table_of(change: Any) -> str:
    """The table an autogenerate difference is about (add_table, add_index, modify_type, ...)."""
    op = change[0] if isinstance(change, list) else change
    for part in op[1:]:
        if isinstance(part, Table):
            return str(part.name)
        if isinstance(part, Index | Column) and part.table is not None:
            return str(part.table.name)
    return str(op[2]) if len(op) > 2 and isinstance(op[2], str) else ""


def _differences(database: str, migrations: Path | None, prefix: str) -> list[Any]:
    engine = make_engine(database)
    if migrations is not None:
        migrate(engine, migrations)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    return [change for change in diff if _table_of(change).startswith(prefix)]


def test_the_comparison_sees_a_table_missing(tmp_path: Path) -> None:
    assert _differences(f"sqlite:///{tmp_path}/empty.db", None, "kpi_act_sessions")


def test_the_events_migration_matches_the_events_tables(tmp_path: Path) -> None:
    assert services.events.tables.ActivitySession.__tablename__ == "ev_sessions"
    assert _differences(f"sqlite:///{tmp_path}/events.db", EVENTS_MIGRATIONS, "ev_") == []


def test_the_kpi_migration_creates_the_activity_read_models(tmp_path: Path) -> None:
    assert _differences(f"sqlite:///{tmp_path}/kpi.db", KPI_MIGRATIONS, "kpi_act_") == []


def test_the_kpi_migrations_create_every_kpi_table(tmp_path: Path) -> None:
    assert services.kpi.tables.TABLES  # every KPI model is in SQLModel's metadata
    assert _differences(f"sqlite:///{tmp_path}/kpi.db", KPI_MIGRATIONS, "kpi_") == []


def _upgrade(connection: Any, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(KPI_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _insert_spells(connection: Any, table: str, spells: list[tuple[str, date, date]]) -> None:
    """Spells (whose id, from, until) as a revision before the counts stored them."""
    connection.execute(
        text(f"INSERT INTO {table} VALUES (:id, :from_on, :until_on)"),
        [{"id": key, "from_on": from_on, "until_on": until_on} for key, from_on, until_on in spells],
    )


def test_the_sharing_counts_migration_counts_the_spells_already_derived(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/kpi.db")
    try:
        with engine.begin() as connection:
            _upgrade(connection, "0a4c2e6b8d13")  # the revision before the sharing counts
            spells = [  # two members in the channel from 2024-03-01; one of them left on 2025-02-10
                (uuid.uuid4().hex, date(2024, 3, 1), date(2025, 2, 10)),
                (uuid.uuid4().hex, date(2024, 3, 1), date(9999, 12, 31)),
            ]
            _insert_spells(connection, "kpi_knowledge_sharing_spells", spells)
        migrate(engine, KPI_MIGRATIONS)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT grain, on_date, delta FROM kpi_sharing_counts ORDER BY grain, on_date")
            ).all()
        # both starts on the day and in its year; the leave on its day and year; the open end not at all
        assert [tuple(row) for row in rows] == [
            ("d", "2024-03-01", 2),
            ("d", "2025-02-10", -1),
            ("y", "2024-01-01", 2),
            ("y", "2025-01-01", -1),
        ]
    finally:
        engine.dispose()


def test_the_organisation_counts_migration_counts_the_spells_under_their_organisations_kinds(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/kpi.db")
    known, unknown = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        with engine.begin() as connection:
            _upgrade(connection, "5c1e9a7f3b20")  # the revision before the organisation counts
            connection.execute(
                text(
                    "INSERT INTO kpi_organisations (organisation_id, name, kind, version_time)"
                    " VALUES (:o, 'Gent', 'lokaal_bestuur', '2024-01-01 00:00:00')"
                ),
                {"o": known},
            )
            spells = [  # the known one active from 2024-03-01 to 2025-02-10 and again from 2025-05-01
                (known, date(2024, 3, 1), date(2025, 2, 10)),
                (known, date(2025, 5, 1), date(9999, 12, 31)),
                (unknown, date(2024, 3, 1), date(9999, 12, 31)),  # never registered: kind not known
            ]
            _insert_spells(connection, "kpi_organisation_spells", spells)
        migrate(engine, KPI_MIGRATIONS)
        with engine.connect() as connection:
            kinds = connection.execute(
                text("SELECT organisation_id, from_on, kind FROM kpi_organisation_spells")
            ).all()
            rows = connection.execute(
                text(
                    "SELECT kind, grain, on_date, delta FROM kpi_organisation_counts"
                    " ORDER BY kind, grain, on_date"
                )
            ).all()
        assert sorted(tuple(row) for row in kinds) == sorted(
            [
                (known, "2024-03-01", "lokaal_bestuur"),
                (known, "2025-05-01", "lokaal_bestuur"),
                (unknown, "2024-03-01", "onbekend"),
            ]
        )
        # each start on its day and in its year, the end on its day and year; open ends not at all
        assert [tuple(row) for row in rows] == [
            ("lokaal_bestuur", "d", "2024-03-01", 1),
            ("lokaal_bestuur", "d", "2025-02-10", -1),
            ("lokaal_bestuur", "d", "2025-05-01", 1),
            ("lokaal_bestuur", "y", "2024-01-01", 1),
            ("onbekend", "d", "2024-03-01", 1),
            ("onbekend", "y", "2024-01-01", 1),
        ]
    finally:
        engine.dispose()
