"""The projection's read-model store (services.kpi.store.BatchStore) on a real SQLite database: one SELECT
per keyed table for a batch, lookups answered from it, rows added earlier or in the same batch seen, and
one upsert per table writing new and changed rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from services.kpi import projection
from services.kpi.activities import KpiActivitySessionFact
from services.kpi.app import MIGRATIONS
from services.kpi.feedback import KpiSurvey
from services.kpi.membership import KpiOrganisation
from services.kpi.store import BatchStore, key_column, named_keys
from shared import events
from shared.db import make_engine, migrate

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _event(data: events.EventData) -> events.Event:
    return events.decode(events.encode(events.new_envelope(data, source="/test", time=T0)))


def _registered(organisation_id: uuid.UUID, name: str = "Gemeente A") -> events.Event:
    return _event(
        events.OrganisationRegistered(
            organisation_id=organisation_id, name=name, kind="lokaal_bestuur", registered_on=date(2024, 1, 1)
        )
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/kpi.db")
    migrate(engine, MIGRATIONS)
    yield engine
    engine.dispose()


class _Selects:
    """Counts the statements sent to the database: SELECTs by the table they read, INSERTs by the table
    they write (an executemany counts once)."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        sa_event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement.strip())

    def reading(self, table: str) -> int:
        return sum(1 for s in self.statements if s.upper().startswith("SELECT") and f"FROM {table}" in s)

    def writing(self, table: str) -> int:
        return sum(1 for s in self.statements if s.startswith(f"INSERT INTO {table} "))


def test_a_batch_loads_each_keyed_table_once_and_answers_from_memory(engine: Engine) -> None:
    known, unknown = uuid.uuid4(), uuid.uuid4()
    with Session(engine) as session:
        session.add(
            KpiOrganisation(organisation_id=known, name="Oud", kind="lokaal_bestuur", version_time=T0)
        )
        session.commit()
    batch = [_registered(known, "Nieuw"), _registered(unknown)]
    selects = _Selects(engine)
    with Session(engine) as session:
        store = BatchStore(session, projection.LOOKUPS)
        store.preload(batch)
        assert selects.reading("kpi_organisations") == 1
        row = store.get(KpiOrganisation, known)
        assert row is not None and row.name == "Oud"
        assert store.get(KpiOrganisation, unknown) is None  # known absent: not asked again
        assert selects.reading("kpi_organisations") == 1


def test_a_key_no_event_of_the_batch_named_is_asked_of_the_database(engine: Engine) -> None:
    elsewhere = uuid.uuid4()
    with Session(engine) as session:
        session.add(KpiSurvey(survey_id=elsewhere, title="Enquête"))
        session.commit()
    selects = _Selects(engine)
    with Session(engine) as session:
        store = BatchStore(session, projection.LOOKUPS)
        store.preload([_registered(uuid.uuid4())])
        before = selects.reading("kpi_fb_surveys")
        row = store.get(KpiSurvey, elsewhere)
        assert row is not None and row.title == "Enquête"
        assert selects.reading("kpi_fb_surveys") == before + 1


def test_a_row_added_in_the_batch_is_the_one_a_later_lookup_gets(engine: Engine) -> None:
    organisation_id = uuid.uuid4()
    with Session(engine) as session:
        store = BatchStore(session, projection.LOOKUPS)
        store.preload([_registered(organisation_id)])
        added = store.new(
            KpiOrganisation, organisation_id=organisation_id, name="A", kind="x", version_time=T0
        )
        store.add(added)
        assert store.get(KpiOrganisation, organisation_id) is added
        assert added.nis_code is None and added.registered_on is None  # the model's defaults


def test_new_and_changed_rows_are_written_with_one_upsert_per_table(engine: Engine) -> None:
    known, fresh = uuid.uuid4(), uuid.uuid4()
    with Session(engine) as session:
        session.add(
            KpiOrganisation(organisation_id=known, name="Oud", kind="lokaal_bestuur", version_time=T0)
        )
        session.add(KpiSurvey(survey_id=uuid.uuid4(), title="onaangeroerd"))
        session.commit()
    selects = _Selects(engine)
    with Session(engine) as session:
        store = BatchStore(session, projection.LOOKUPS)
        store.preload([_registered(known), _registered(fresh)])
        changed = store.get(KpiOrganisation, known)
        assert changed is not None
        changed.name = "Nieuw"
        store.add(changed)
        store.add(store.new(KpiOrganisation, organisation_id=fresh, name="Vers", kind="x", version_time=T0))
        store.write()
        session.commit()
    assert selects.writing("kpi_organisations") == 1
    assert selects.writing("kpi_fb_surveys") == 0  # nothing added there, nothing written
    with Session(engine) as session:
        names = {row.organisation_id: row.name for row in session.exec(select(KpiOrganisation))}
    assert names == {known: "Nieuw", fresh: "Vers"}


def test_a_new_row_with_an_unknown_or_missing_column_is_refused(engine: Engine) -> None:
    with Session(engine) as session:
        store = BatchStore(session, projection.LOOKUPS)
        with pytest.raises(TypeError, match="naam"):
            store.new(KpiOrganisation, organisation_id=uuid.uuid4(), naam="A", kind="x", version_time=T0)
        with pytest.raises(TypeError, match="version_time"):
            store.new(KpiOrganisation, organisation_id=uuid.uuid4(), name="A", kind="x")


def test_a_batch_sees_what_an_earlier_batch_left_unflushed_in_the_session(engine: Engine) -> None:
    organisation_id = uuid.uuid4()
    rename = _event(
        events.OrganisationUpdated(organisation_id=organisation_id, name="Hernoemd", kind="lokaal_bestuur")
    )
    with Session(engine) as session:
        projection.apply(session, [_registered(organisation_id)])
        projection.apply(session, [rename])  # same session, no commit in between
        session.commit()
    with Session(engine) as session:
        row = session.get(KpiOrganisation, organisation_id)
        assert row is not None and row.name == "Hernoemd" and row.registered_on == date(2024, 1, 1)


def test_keys_come_from_the_declared_events_field_of_the_key_or_their_ids() -> None:
    organisation_id = uuid.uuid4()
    joined = _event(
        events.MemberJoined(member_id=uuid.uuid4(), organisation_id=uuid.uuid4(), joined_on=T0.date())
    )
    held = _event(
        events.SessionHeld(session_id=uuid.uuid4(), held_on=T0.date(), participants=3, participant_hours=6.0)
    )
    wanted = named_keys(projection.LOOKUPS, [_registered(organisation_id), joined, held])
    assert key_column(KpiOrganisation) == "organisation_id"
    assert wanted[KpiOrganisation] == {organisation_id}  # a member's organisation is not looked up
    assert wanted[KpiActivitySessionFact] == {held.id}
    assert wanted[KpiSurvey] == set()


@pytest.mark.parametrize("model", list(projection.LOOKUPS))
def test_every_declared_lookup_names_its_key(model: type[SQLModel]) -> None:
    column = key_column(model)
    for event_type in projection.LOOKUPS[model]:
        assert column == "event_id" or column in event_type.model_fields, (model, event_type)
        assert event_type in projection.HANDLERS, event_type
