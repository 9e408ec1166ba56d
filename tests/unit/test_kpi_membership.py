"""OD 1.1 membership KPIs from a hand-worked scenario, in any arrival order, on any date."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from services.kpi import kpis, projection
from services.kpi.app import MIGRATIONS
from shared import events
from shared.db import make_engine, migrate

A, B, C = (uuid.UUID(int=i) for i in (1, 2, 3))
M1, M2, M3, M4, M5 = (uuid.UUID(int=100 + i) for i in range(1, 6))
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _events() -> list[events.Event]:
    datas: list[events.EventData] = [
        events.OrganisationRegistered(
            organisation_id=A, name="Gemeente A", kind="lokaal_bestuur", registered_on=date(2024, 1, 1)
        ),
        events.OrganisationRegistered(
            organisation_id=B,
            name="ISV B",
            kind="intergemeentelijk_samenwerkingsverband",
            registered_on=date(2024, 1, 1),
        ),
        events.OrganisationRegistered(
            organisation_id=C, name="VZW C", kind="middenveldorganisatie", registered_on=date(2024, 1, 1)
        ),
        events.MemberJoined(member_id=M1, organisation_id=A, joined_on=date(2024, 5, 1)),
        events.KnowledgeSharingJoined(member_id=M1, joined_on=date(2025, 1, 10)),
        events.MemberJoined(member_id=M2, organisation_id=A, joined_on=date(2025, 2, 1)),
        events.KnowledgeSharingJoined(member_id=M2, joined_on=date(2025, 2, 5)),
        events.MemberJoined(member_id=M3, organisation_id=B, joined_on=date(2025, 3, 1)),
        events.MemberJoined(member_id=M4, organisation_id=C, joined_on=date(2025, 4, 1)),
        events.KnowledgeSharingJoined(member_id=M4, joined_on=date(2025, 5, 1)),
        events.KnowledgeSharingLeft(member_id=M2, left_on=date(2025, 6, 30)),
        events.MemberLeft(member_id=M2, organisation_id=A, left_on=date(2025, 6, 30)),
        events.MemberMoved(
            member_id=M3, from_organisation_id=B, to_organisation_id=C, moved_on=date(2025, 9, 1)
        ),
        events.MemberErased(member_id=M4, erased_on=date(2025, 10, 15)),
        events.MemberJoined(member_id=M5, organisation_id=A, joined_on=date(2025, 11, 1)),
        # a later rename of C; it may well arrive before C's registration
        events.OrganisationUpdated(organisation_id=C, name="VZW C (nieuw)", kind="middenveldorganisatie"),
    ]
    return [
        events.decode(events.encode(events.new_envelope(d, source="/test", time=T0 + timedelta(minutes=i))))
        for i, d in enumerate(datas)
    ]


def _answer(tmp_path: Path, order: list[events.Event], as_of: date | None) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{tmp_path}/kpi-{uuid.uuid4().hex}.db")
    migrate(engine, MIGRATIONS)
    with Session(engine) as session:
        for event in order:
            projection.apply(session, [event])
            session.commit()
        report = kpis.report(session, 2025, as_of, datetime(2026, 2, 1, tzinfo=UTC))
    engine.dispose()
    return {
        k["code"]: (k["value"], k["items"])
        for k in report["kpis"]
        if k["code"].startswith("OD1.1-") and k["code"] in END_OF_YEAR
    }


END_OF_YEAR = {
    "OD1.1-leden": (
        3,
        [
            {"organisation_kind": "intergemeentelijk_samenwerkingsverband", "joined": 1, "left": 0},
            {"organisation_kind": "lokaal_bestuur", "joined": 2, "left": 1},
            {"organisation_kind": "middenveldorganisatie", "joined": 1, "left": 1},
        ],
    ),
    "OD1.1-besturen": (
        1,
        [
            {"organisation_kind": "lokaal_bestuur", "organisations": 1},
            {"organisation_kind": "middenveldorganisatie", "organisations": 1},
        ],
    ),
    "OD1.1-kennisdeling": (1, []),
}

MID_YEAR = {
    "OD1.1-leden": (
        3,
        [
            {"organisation_kind": "intergemeentelijk_samenwerkingsverband", "joined": 1, "left": 0},
            {"organisation_kind": "lokaal_bestuur", "joined": 1, "left": 1},
            {"organisation_kind": "middenveldorganisatie", "joined": 1, "left": 0},
        ],
    ),
    "OD1.1-besturen": (
        2,
        [
            {"organisation_kind": "intergemeentelijk_samenwerkingsverband", "organisations": 1},
            {"organisation_kind": "lokaal_bestuur", "organisations": 1},
            {"organisation_kind": "middenveldorganisatie", "organisations": 1},
        ],
    ),
    "OD1.1-kennisdeling": (2, []),
}


def test_the_year_end_answer_matches_the_hand_worked_figures(tmp_path: Path) -> None:
    assert _answer(tmp_path, _events(), None) == END_OF_YEAR


def test_as_of_mid_year_answers_what_was_true_then(tmp_path: Path) -> None:
    assert _answer(tmp_path, _events(), date(2025, 7, 1)) == MID_YEAR


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_any_arrival_order_gives_the_same_answer(tmp_path: Path, seed: int) -> None:
    shuffled = _events()
    random.Random(seed).shuffle(shuffled)
    assert _answer(tmp_path, shuffled, None) == END_OF_YEAR
    assert _answer(tmp_path, shuffled, date(2025, 7, 1)) == MID_YEAR


def test_the_latest_organisation_event_wins_whatever_arrives_first(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/org.db")
    migrate(engine, MIGRATIONS)
    evs = _events()
    rename = evs[-1]
    registration = evs[2]
    with Session(engine) as session:
        projection.apply(session, [rename])
        projection.apply(session, [registration])
        session.commit()
        from services.kpi.membership import KpiOrganisation

        row = session.get(KpiOrganisation, C)
        assert row is not None
        assert (row.name, row.registered_on) == ("VZW C (nieuw)", date(2024, 1, 1))
    engine.dispose()
