"""Activity KPIs (meetings, info sessions, trainings, advice, tailored support) from a hand-worked year,
in any arrival order, under redelivery, and on any date."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from services.kpi import activities, catalogue, membership, projection
from services.kpi.core import Context, period
from shared import events
from shared.db import make_engine

T0 = datetime(2024, 9, 1, tzinfo=UTC)
GA, GB, GC, GD = (uuid.UUID(int=i) for i in (1, 2, 3, 4))
S = {n: uuid.UUID(int=1000 + n) for n in range(1, 16)}
R = {n: uuid.UUID(int=2000 + n) for n in range(1, 11)}
A = {n: uuid.UUID(int=3000 + n) for n in range(1, 4)}
TR = {n: uuid.UUID(int=4000 + n) for n in range(1, 6)}

CODES = tuple(activities.KPIS)


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _scheduled(n: int, kind: str, day: date, lead: str = "vvsg", hours: float = 3) -> events.SessionScheduled:
    return events.SessionScheduled(
        session_id=S[n],
        kind=kind,  # type: ignore[arg-type]
        title=f"Sessie {n}",
        theme="digitale drempels",
        lead=lead,  # type: ignore[arg-type]
        format="physical",
        starts_at=_at(day),
        ends_at=_at(day) + timedelta(hours=hours),
        planned_hours=hours,
        capacity=None,
        requested_by_organisation_id=GA if kind.endswith("_on_request") else None,
    )


def _held(n: int, day: date, participants: int = 0, hours: float = 0) -> events.SessionHeld:
    return events.SessionHeld(
        session_id=S[n], held_on=day, participants=participants, participant_hours=hours
    )


def _registered(r: int, s: int, waitlisted: bool = False) -> events.RegistrationReceived:
    return events.RegistrationReceived(
        registration_id=R[r],
        session_id=S[s],
        member_id=uuid.uuid4(),
        organisation_id=GA,
        organisation_kind="lokaal_bestuur",
        waitlisted=waitlisted,
    )


def _attended(r: int, s: int, hours: float, attended: bool = True) -> events.AttendanceRecorded:
    return events.AttendanceRecorded(registration_id=R[r], session_id=S[s], attended=attended, hours=hours)


def _trajectory(t: int, organisation: uuid.UUID, started: date, stage: str = "starting") -> events.EventData:
    return events.SupportTrajectoryStarted(
        trajectory_id=TR[t],
        organisation_id=organisation,
        started_on=started,
        stage=stage,  # type: ignore[arg-type]
        methodology="De Wisselaar",
        description=f"Traject {t}: collega's uit alle beleidsdomeinen meekrijgen",
    )


def _story() -> list[events.EventData]:
    """A year of activity, in the order it happened."""
    return [
        events.OrganisationRegistered(
            organisation_id=GA, name="Gemeente A", kind="lokaal_bestuur", registered_on=date(2024, 1, 1)
        ),
        events.OrganisationRegistered(
            organisation_id=GB, name="Gemeente B", kind="lokaal_bestuur", registered_on=date(2024, 1, 1)
        ),
        _trajectory(4, GC, date(2023, 1, 1)),
        events.SupportTrajectoryCompleted(
            trajectory_id=TR[4], completed_on=date(2024, 12, 31), summary="klaar"
        ),
        _trajectory(1, GA, date(2024, 9, 1)),
        events.AdviceGiven(
            advice_id=A[2],
            organisation_id=GA,
            given_on=date(2024, 12, 20),
            topic="bereik",
            channel="phone",
            with_mediawijs=False,
        ),
        _scheduled(13, "steering_group", date(2025, 1, 30), hours=2),
        _held(13, date(2025, 1, 30)),
        events.AdviceGiven(
            advice_id=A[1],
            organisation_id=GA,
            given_on=date(2025, 2, 2),
            topic="digitale balie",
            channel="meeting",
            with_mediawijs=True,
        ),
        _scheduled(10, "workshop_on_request", date(2025, 2, 11)),
        _held(10, date(2025, 2, 11)),
        events.SupportTrajectoryCompleted(
            trajectory_id=TR[1], completed_on=date(2025, 3, 1), summary="afgerond"
        ),
        # S1: the VVSG info session with partial, corrected and cancelled registrations
        _scheduled(1, "info_session", date(2025, 3, 4)),
        _registered(1, 1),
        _registered(2, 1),
        _registered(3, 1),
        _registered(4, 1, waitlisted=True),
        _registered(5, 1),
        events.RegistrationCancelled(registration_id=R[5], session_id=S[1]),
        _registered(4, 1, waitlisted=False),  # promoted into the freed seat
        _attended(1, 1, 3),
        _attended(2, 1, 1.5),
        _attended(3, 1, 0, attended=False),
        _attended(4, 1, 3),
        _attended(4, 1, 2),  # corrected: left after two hours
        _held(1, date(2025, 3, 4), 3, 6.5),
        events.RecordingPublished(session_id=S[1], url="https://www.vvsg.be/opname/infosessie"),
        _scheduled(12, "training_multiday", date(2025, 3, 20), lead="mediawijs", hours=6),
        _held(12, date(2025, 3, 20)),
        _scheduled(2, "info_session", date(2025, 4, 1), lead="mediawijs"),
        _registered(6, 2),
        _attended(6, 2, 2),
        _held(2, date(2025, 4, 1), 1, 2),
        _trajectory(2, GB, date(2025, 4, 1), "growing"),
        _scheduled(3, "network_meeting_general", date(2025, 5, 10)),
        _held(3, date(2025, 5, 10)),
        _trajectory(3, GA, date(2025, 6, 1), "experienced"),
        _scheduled(6, "training_thematic", date(2025, 6, 2), hours=6),
        _registered(7, 6),
        _registered(8, 6),
        _attended(7, 6, 6),
        _attended(8, 6, 4),
        _held(6, date(2025, 6, 2), 2, 10),
        _scheduled(14, "steering_group", date(2025, 6, 30), hours=2),
        _held(14, date(2025, 6, 30)),
        _scheduled(11, "presentation_on_request", date(2025, 7, 7), hours=1),
        _held(11, date(2025, 7, 7)),
        _scheduled(15, "coordination_meeting", date(2025, 8, 1), hours=1),
        _held(15, date(2025, 8, 1)),
        _scheduled(5, "network_meeting_thematic", date(2025, 9, 1)),
        events.SessionCancelled(session_id=S[5], cancelled_on=date(2025, 8, 20)),
        _scheduled(7, "training_integrated", date(2025, 9, 15)),
        _registered(9, 7),
        _attended(9, 7, 2.5),
        _held(7, date(2025, 9, 15), 1, 2.5),
        _scheduled(8, "inspiration_day_physical", date(2025, 10, 1), lead="mediawijs", hours=7),
        _held(8, date(2025, 10, 1)),
        _scheduled(9, "inspiration_day_online", date(2025, 11, 5), lead="mediawijs", hours=4),
        _held(9, date(2025, 11, 5)),
        events.AdviceGiven(
            advice_id=A[3],
            organisation_id=GB,
            given_on=date(2025, 11, 30),
            topic="toegankelijke website",
            channel="mail",
            with_mediawijs=False,
        ),
        # S4: planned for December, moved to January: it counts in the year it is held
        _scheduled(4, "network_meeting_general", date(2025, 12, 15)),
        events.SessionRescheduled(
            session_id=S[4],
            starts_at=_at(date(2026, 1, 20)),
            ends_at=_at(date(2026, 1, 20), 12),
            planned_hours=3,
        ),
        _trajectory(5, GD, date(2026, 1, 10)),
        _held(4, date(2026, 1, 20)),
    ]


def _events() -> list[events.Event]:
    return [
        events.decode(events.encode(events.new_envelope(d, source="/test", time=T0 + timedelta(minutes=i))))
        for i, d in enumerate(_story())
    ]


def _engine(tmp_path: Path) -> Engine:
    """Only the tables these KPIs read and the projection of their events writes (an organisation's
    event derives its spells again); the migration itself is checked in test_events_kpi_schema."""
    engine = make_engine(f"sqlite:///{tmp_path}/kpi-{uuid.uuid4().hex}.db")
    tables = [model.__table__ for model in (*activities.TABLES, *membership.TABLES)]
    SQLModel.metadata.create_all(engine, tables=tables)  # type: ignore[arg-type]
    return engine


def _report(
    tmp_path: Path, order: list[events.Event], year: int, as_of: date | None = None
) -> dict[str, Any]:
    """What `GET /kpis/{year}` answers for these KPIs, computed the way services.kpi.kpis does."""
    engine = _engine(tmp_path)
    with Session(engine) as session:
        for event in order:
            projection.apply(session, [event])
            session.commit()
        ctx = Context(session, period(year, as_of, date(2026, 2, 1)))
        answers = {}
        for code, compute in activities.KPIS.items():
            result = compute(ctx)
            goal = catalogue.target(code, year)
            answers[code] = {
                "value": result.value,
                "target": goal,
                "status": catalogue.status(result.value, goal),
                "unit": catalogue.DEFINITIONS[code].unit,
                "items": result.items,
            }
    engine.dispose()
    return answers


def _values(report: dict[str, Any]) -> dict[str, Any]:
    return {code: report[code]["value"] for code in CODES}


YEAR_2025 = {
    "OD1.1-bijeenkomsten-algemeen": 1,
    "OD1.1-bijeenkomsten-specifiek": 0,
    "OD1.2-infosessies": 1,
    "OD1.2-deelnemersuren": 6.5,
    "OD1.2-inspiratiedag-fysiek": 1,
    "OD1.2-inspiratiedag-online": 1,
    "OD1.3-op-vraag": 2,
    "OD2.1-meerdaagse": 1,
    "OD2.2-thematisch": 1,
    "OD2.2-geintegreerd": 1,
    "OD2.2-deelnemersuren": 12.5,
    "OD3.2-advies": 2,
    "OD3.3-op-maat": 2,
    "afstemming-stuurgroep": 2,
    "afstemming-overleg": 1,
}

MID_2025 = {
    **{code: 0 for code in CODES},
    "OD1.1-bijeenkomsten-algemeen": 1,
    "OD1.2-infosessies": 1,
    "OD1.2-deelnemersuren": 6.5,
    "OD1.3-op-vraag": 1,
    "OD2.1-meerdaagse": 1,
    "OD2.2-thematisch": 1,
    "OD2.2-deelnemersuren": 10.0,
    "OD3.2-advies": 1,
    "OD3.3-op-maat": 2,
    "afstemming-stuurgroep": 2,
}

INFO_SESSION_ITEM = {
    "session_id": str(S[1]),
    "title": "Sessie 1",
    "date": "2025-03-04",
    "kind": "info_session",
    "lead": "vvsg",
    "format": "physical",
    "theme": "digitale drempels",
    "participants": 3,
    "participant_hours": 6.5,
    "registrations": 4,
    "recording_url": "https://www.vvsg.be/opname/infosessie",
}


@pytest.fixture(scope="module")
def year_2025(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _report(tmp_path_factory.mktemp("kpi"), _events(), 2025)


def test_the_year_matches_the_hand_worked_figures(year_2025: dict[str, Any]) -> None:
    assert _values(year_2025) == YEAR_2025


def test_the_info_session_overview_lists_participants_and_exact_hours(year_2025: dict[str, Any]) -> None:
    assert year_2025["OD1.2-infosessies"]["items"] == [INFO_SESSION_ITEM]
    assert year_2025["OD1.2-deelnemersuren"]["items"] == [INFO_SESSION_ITEM]


def test_targets_and_statuses_come_with_each_kpi(year_2025: dict[str, Any]) -> None:
    hours = year_2025["OD1.2-deelnemersuren"]
    assert (hours["target"], hours["status"], hours["unit"]) == (100, "niet behaald", "uren")
    assert (year_2025["afstemming-stuurgroep"]["target"], year_2025["afstemming-stuurgroep"]["status"]) == (
        2,
        "behaald",
    )
    assert year_2025["OD3.2-advies"]["status"] == "geen doel"


def test_training_hours_count_thematic_and_integrated_trainings_only(year_2025: dict[str, Any]) -> None:
    items = year_2025["OD2.2-deelnemersuren"]["items"]
    assert [(i["kind"], i["participants"], i["participant_hours"]) for i in items] == [
        ("training_thematic", 2, 10.0),
        ("training_integrated", 1, 2.5),
    ]


def test_tailored_support_lists_each_organisation_with_its_trajectories(year_2025: dict[str, Any]) -> None:
    items = year_2025["OD3.3-op-maat"]["items"]
    assert [(i["organisation"], i["organisation_kind"]) for i in items] == [
        ("Gemeente A", "lokaal_bestuur"),
        ("Gemeente B", "lokaal_bestuur"),
    ]
    assert [(t["stage"], t["methodology"], t["completed_on"]) for t in items[0]["trajectories"]] == [
        ("starting", "De Wisselaar", "2025-03-01"),
        ("experienced", "De Wisselaar", None),
    ]
    assert items[0]["trajectories"][0]["description"].startswith("Traject 1")


def test_advice_lists_the_conversations_of_the_year(year_2025: dict[str, Any]) -> None:
    items = year_2025["OD3.2-advies"]["items"]
    assert [(i["date"], i["organisation"], i["channel"], i["with_mediawijs"]) for i in items] == [
        ("2025-02-02", "Gemeente A", "meeting", True),
        ("2025-11-30", "Gemeente B", "mail", False),
    ]


def test_a_cancelled_session_never_counts(year_2025: dict[str, Any]) -> None:
    assert all(str(S[5]) != i.get("session_id") for k in year_2025.values() for i in k["items"])


def test_a_session_moved_from_december_to_january_counts_in_january(tmp_path: Path) -> None:
    report = _report(tmp_path, _events(), 2026)
    assert report["OD1.1-bijeenkomsten-algemeen"]["value"] == 1
    assert report["OD1.1-bijeenkomsten-algemeen"]["items"][0]["date"] == "2026-01-20"
    assert report["OD3.3-op-maat"]["value"] == 3  # two trajectories still running, one new


def test_as_of_mid_year_answers_what_was_true_then(tmp_path: Path) -> None:
    assert _values(_report(tmp_path, _events(), 2025, date(2025, 6, 30))) == MID_2025


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_arrival_order_gives_the_same_answer(tmp_path: Path, seed: int) -> None:
    shuffled = _events()
    random.Random(seed).shuffle(shuffled)
    report = _report(tmp_path, shuffled, 2025)
    assert _values(report) == YEAR_2025
    assert report["OD1.2-infosessies"]["items"] == [INFO_SESSION_ITEM]


def test_every_event_applied_twice_changes_nothing(tmp_path: Path) -> None:
    twice = [e for e in _events() for _ in range(2)]
    report = _report(tmp_path, twice, 2025)
    assert _values(report) == YEAR_2025
    assert report["OD1.2-infosessies"]["items"] == [INFO_SESSION_ITEM]


def test_a_session_cancelled_after_it_was_held_stays_held(tmp_path: Path) -> None:
    late = events.SessionCancelled(session_id=S[3], cancelled_on=date(2025, 6, 1))
    story = [*_events(), events.decode(events.encode(events.new_envelope(late, source="/test")))]
    assert _report(tmp_path, story, 2025)["OD1.1-bijeenkomsten-algemeen"]["value"] == 1


def test_held_sessions_tells_other_kpis_which_sessions_were_held(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with Session(engine) as session:
        for event in _events():
            projection.apply(session, [event])
        session.commit()
        held = activities.held_sessions(Context(session, period(2025, date(2025, 3, 31))))
    engine.dispose()
    assert [(h.session_id, h.kind, h.held_on) for h in held] == [
        (S[13], "steering_group", date(2025, 1, 30)),
        (S[10], "workshop_on_request", date(2025, 2, 11)),
        (S[1], "info_session", date(2025, 3, 4)),
        (S[12], "training_multiday", date(2025, 3, 20)),
    ]
