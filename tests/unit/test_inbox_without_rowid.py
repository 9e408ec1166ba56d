"""The inbox (processed_events) on SQLite: every service's migrations make it a table WITHOUT ROWID, and
the migration step (shared.consumer.inbox_without_rowid) keeps the ids a database already held, both
ways. PostgreSQL's side is a no-op, run by every PostgreSQL test that migrates a database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from services.events.app import MIGRATIONS as EVENTS
from services.feedback.app import MIGRATIONS as FEEDBACK
from services.kpi.generations import MIGRATIONS as KPI
from services.members.app import MIGRATIONS as MEMBERS
from services.newsletter.app import MIGRATIONS as NEWSLETTER
from shared.consumer import inbox_without_rowid
from shared.db import make_engine, migrate


def _shape(connection: Connection) -> str:
    sql = connection.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'processed_events'")
    ).scalar_one()
    return str(sql)


SERVICES = [MEMBERS, EVENTS, FEEDBACK, NEWSLETTER, KPI]


@pytest.mark.parametrize("migrations", SERVICES, ids=lambda p: p.parent.name)
def test_every_service_migrates_its_inbox_to_a_table_without_rowid(tmp_path: Path, migrations: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/service.db")
    migrate(engine, migrations)
    with engine.begin() as connection:
        assert _shape(connection).rstrip().endswith("WITHOUT ROWID")
        connection.execute(text("INSERT INTO processed_events VALUES ('projector', 'e-1')"))
        with pytest.raises(IntegrityError):  # the key still refuses an id applied twice
            connection.execute(text("INSERT INTO processed_events VALUES ('projector', 'e-1')"))
    engine.dispose()


def test_the_step_keeps_the_ids_both_ways(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/kpi.db")
    migrate(engine, KPI)
    ids = [("kpi-projector", f"event-{n:04d}") for n in range(500, 0, -1)] + [("other", "event-0001")]
    with engine.begin() as connection:
        inbox_without_rowid(connection, without=False)  # a database from before the step
        assert "WITHOUT ROWID" not in _shape(connection)
        connection.execute(
            text("INSERT INTO processed_events (consumer, event_id) VALUES (:c, :e)"),
            [{"c": c, "e": e} for c, e in ids],
        )
        inbox_without_rowid(connection)
        assert _shape(connection).rstrip().endswith("WITHOUT ROWID")
        kept = connection.execute(text("SELECT consumer, event_id FROM processed_events")).all()
        assert sorted(kept) == sorted(ids)
        assert kept == sorted(ids)  # stored in the key's order: the table is the key's tree
        tables = connection.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'processed%'")).all()
        assert tables == [("processed_events",)]
    engine.dispose()
