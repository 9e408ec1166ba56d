"""The migrations create exactly the tables the models declare: the events service's, and the KPI
service's activity read models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Index, Table
from sqlmodel import SQLModel

import services.events.tables
import services.kpi.activities
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
