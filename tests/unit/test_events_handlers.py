"""The events service's handlers without HTTP: each use case run in a unit of work on a real SQLite
database with the real outbox, as a route or a consumer runs it. Covers the main rules: capacity and
the waiting list, promotion on cancellation, attendance hours within the planned hours, partner
rights, and who may see who did what."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.events import domain, views
from services.events.app import MIGRATIONS
from services.events.handlers import attendance, registrations, sessions, support
from services.events.tables import ActivitySession, Advice, Registration
from shared import events, staff
from shared.auth import Principal, Role
from shared.db import make_engine, migrate
from shared.errors import Conflict, Invalid
from shared.outbox import Outbox, OutboxMessage
from shared.uow import UnitOfWork

STAFF = "an.medewerker@vvsg.be"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine("sqlite:///" + str(tmp_path / "x.db"))
    migrate(engine, MIGRATIONS)
    yield engine
    engine.dispose()


@contextmanager
def work(engine: Engine, role: Role = "staff", subject: str = STAFF) -> Iterator[UnitOfWork]:
    with Session(engine, expire_on_commit=False) as session:
        yield UnitOfWork(session, Outbox("/services/events"), Principal(subject, role))


def schedule(engine: Engine, role: Role = "staff", **changes: Any) -> ActivitySession:
    command: dict[str, Any] = {
        "kind": "info_session",
        "title": "Infosessie digitale drempels",
        "theme": "digitale drempels",
        "lead": "vvsg",
        "format": "online",
        "starts_at": datetime(2025, 3, 4, 13, tzinfo=UTC),
        "ends_at": datetime(2025, 3, 4, 16, tzinfo=UTC),
        **changes,
    }
    with work(engine, role) as uow:
        return uow.commit(sessions.schedule_session(sessions.ScheduleSession(**command), uow))


def register(engine: Engine, session_id: uuid.UUID, role: Role = "staff") -> Registration:
    with work(engine, role) as uow:
        command = registrations.RegisterParticipant(session_id=session_id, organisation_kind="lokaal_bestuur")
        return uow.commit(registrations.register_participant(command, uow))


def outbox(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    """Every event written, in order: (event name, data)."""
    with Session(engine) as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()  # type: ignore[arg-type]
        values = [json.loads(row.value) for row in rows if row.value]
    return [(name_of(v), v["data"]) for v in values]


def name_of(envelope: dict[str, Any]) -> str:
    return str(envelope["type"]).removeprefix(events.TYPE_PREFIX).rsplit(".v", 1)[0]


def count(engine: Engine, table: type[Any]) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


# --- capacity, waiting list, promotion ------------------------------------------------------------


def test_a_full_session_waitlists_and_a_cancellation_promotes_the_first_waiting(engine: Engine) -> None:
    activity = schedule(engine, capacity=1)
    first, second, third = (register(engine, activity.id) for _ in range(3))
    assert (first.waitlisted, second.waitlisted, third.waitlisted) == (False, True, True)

    with work(engine) as uow:
        command = registrations.CancelRegistration(session_id=activity.id, registration_id=first.id)
        result = uow.commit(registrations.cancel_registration(command, uow))
        published = [(name_of(e), e["data"]) for e in uow.published]

    assert result.registration.status == domain.REGISTRATION_CANCELLED
    assert [r.id for r in result.promoted] == [second.id]  # the first in line, not the later one
    assert [name for name, _ in published] == ["registration.cancelled", "registration.received"]
    assert published[1][1]["registration_id"] == str(second.id) and published[1][1]["waitlisted"] is False
    with work(engine) as uow:
        counts = views.session(uow.session, uow.session.get(ActivitySession, activity.id), uow.actor)  # type: ignore[arg-type]
    assert (counts.registered, counts.waitlisted) == (1, 1)


def test_a_cancelled_registration_cannot_be_cancelled_again(engine: Engine) -> None:
    activity = schedule(engine)
    registration = register(engine, activity.id)
    command = registrations.CancelRegistration(session_id=activity.id, registration_id=registration.id)
    with work(engine) as uow:
        uow.commit(registrations.cancel_registration(command, uow))
    with work(engine) as uow, pytest.raises(Conflict):
        registrations.cancel_registration(command, uow)


# --- attendance -------------------------------------------------------------------------------------


def test_attended_hours_never_exceed_the_planned_hours(engine: Engine) -> None:
    activity = schedule(engine)  # 3 planned hours
    registration = register(engine, activity.id)
    too_many = attendance.RecordAttendance(
        session_id=activity.id, registration_id=registration.id, attended=True, hours=3.5
    )
    with work(engine) as uow, pytest.raises(Invalid) as refused:
        attendance.record_attendance(too_many, uow)
    assert refused.value.field == "hours"

    partly = attendance.RecordAttendance(
        session_id=activity.id, registration_id=registration.id, attended=True, hours=1.5
    )
    with work(engine) as uow:
        recorded = uow.commit(attendance.record_attendance(partly, uow))
    assert (recorded.attended, recorded.hours) == (True, 1.5)
    assert [data["hours"] for name, data in outbox(engine) if name == "attendance.recorded"] == [1.5]


def test_an_attendance_list_with_one_bad_line_changes_nothing(engine: Engine) -> None:
    activity = schedule(engine)
    registration = register(engine, activity.id)
    csv = f"registration_id;uren\n{registration.id};2\n{uuid.uuid4()};1\n".encode()
    with work(engine) as uow:
        report = attendance.import_attendance(
            attendance.ImportAttendance(session_id=activity.id, csv=csv), uow
        )
        uow.rollback()
    assert report.applied is False
    assert [(r.line, r.status) for r in report.rows] == [(2, "ok"), (3, "error")]
    assert [name for name, _ in outbox(engine)].count("attendance.recorded") == 0


# --- partner rights ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lead", ["mediawijs", "joint"])
def test_a_partner_schedules_and_records_its_own_and_joint_activities(engine: Engine, lead: str) -> None:
    activity = schedule(engine, role="partner", lead=lead, kind="inspiration_day_online")
    registration = register(engine, activity.id, role="partner")
    with work(engine, "partner") as uow:
        held = sessions.hold_session(sessions.HoldSession(session_id=activity.id), uow)
        uow.commit(held)
    assert held.status == domain.HELD and registration.waitlisted is False


def test_a_partner_may_not_touch_a_vvsg_led_activity(engine: Engine) -> None:
    with work(engine, "partner") as uow, pytest.raises(domain.Forbidden):
        sessions.schedule_session(
            sessions.ScheduleSession(
                kind="info_session",
                title="t",
                theme="t",
                lead="vvsg",
                format="online",
                starts_at=datetime(2025, 3, 4, 13, tzinfo=UTC),
                ends_at=datetime(2025, 3, 4, 16, tzinfo=UTC),
            ),
            uow,
        )
    activity = schedule(engine)  # by staff
    registration = register(engine, activity.id)
    commands: list[Any] = [
        (
            sessions.reschedule_session,
            sessions.RescheduleSession(
                session_id=activity.id,
                starts_at=datetime(2025, 3, 5, 13, tzinfo=UTC),
                ends_at=datetime(2025, 3, 5, 16, tzinfo=UTC),
            ),
        ),
        (sessions.cancel_session, sessions.CancelSession(session_id=activity.id)),
        (sessions.hold_session, sessions.HoldSession(session_id=activity.id)),
        (sessions.publish_recording, sessions.PublishRecording(session_id=activity.id, url="https://x.be/r")),
        (
            registrations.register_participant,
            registrations.RegisterParticipant(session_id=activity.id, organisation_kind="andere"),
        ),
        (
            registrations.cancel_registration,
            registrations.CancelRegistration(session_id=activity.id, registration_id=registration.id),
        ),
        (
            attendance.record_attendance,
            attendance.RecordAttendance(
                session_id=activity.id, registration_id=registration.id, attended=True
            ),
        ),
    ]
    before = outbox(engine)
    for handler, command in commands:
        with work(engine, "partner") as uow, pytest.raises(domain.Forbidden, match="mediawijs or joint"):
            handler(command, uow)
    assert outbox(engine) == before
    with Session(engine) as session:
        unchanged = session.get(ActivitySession, activity.id)
        assert unchanged is not None and unchanged.status == domain.SCHEDULED
        assert unchanged.updated_by == STAFF


# --- advice and trajectories ------------------------------------------------------------------------


def test_advice_is_published_once_with_the_actor_and_shown_without_it_to_a_viewer(engine: Engine) -> None:
    organisation = uuid.uuid4()
    with work(engine) as uow:
        command = support.GiveAdvice(
            organisation_id=organisation,
            topic="toegankelijke website",
            channel="meeting",
            given_on=date(2025, 2, 3),
        )
        advice = uow.commit(support.give_advice(command, uow))
        assert [e["actor"] for e in uow.published] == [staff.pseudonym(STAFF)]
    assert [name for name, _ in outbox(engine)] == ["advice.given"]
    assert count(engine, Advice) == 1
    assert views.advice(advice, Principal(STAFF, "staff")).created_by == STAFF
    assert views.advice(advice, Principal("dash", "viewer")).created_by is None
    assert views.advice(advice, Principal("mw", "partner")).created_by is None


def test_a_trajectory_is_not_completed_before_it_started(engine: Engine) -> None:
    with work(engine) as uow:
        command = support.StartTrajectory(
            organisation_id=uuid.uuid4(),
            stage="starting",
            methodology="coaching",
            description="a\nb",
            started_on=date(2025, 2, 1),
        )
        trajectory = uow.commit(support.start_trajectory(command, uow))
    early = support.CompleteTrajectory(trajectory_id=trajectory.id, completed_on=date(2025, 1, 1))
    with work(engine) as uow, pytest.raises(Invalid):
        support.complete_trajectory(early, uow)
    done = support.CompleteTrajectory(trajectory_id=trajectory.id, completed_on=date(2025, 6, 1))
    with work(engine) as uow:
        completed = uow.commit(support.complete_trajectory(done, uow))
    assert completed.completed_on == date(2025, 6, 1)
    assert views.trajectory(completed, Principal("dash", "viewer")).updated_by is None
