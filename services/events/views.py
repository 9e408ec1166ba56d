"""The events service's read models, built from its tables for one reader: a session with its seat
counts, a registration with its attendance days, advice and trajectories. Who did what (a staff
member's e-mail address) is shown to staff and admin only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from services.events import domain, seats
from services.events.schemas import (
    AdviceRead,
    AttendanceDayRead,
    RegistrationRead,
    SessionRead,
    TrajectoryRead,
)
from services.events.tables import ActivitySession, Advice, AttendanceDay, Registration, SupportTrajectory
from shared.auth import Principal
from shared.errors import NotFound


def session_read(activity: ActivitySession, counts: seats.Counts | None, reader: Principal) -> SessionRead:
    counts = counts or seats.Counts()
    return SessionRead(
        id=activity.id,
        kind=activity.kind,
        title=activity.title,
        theme=activity.theme,
        lead=activity.lead,
        format=activity.format,
        starts_at=activity.starts_at,
        ends_at=activity.ends_at,
        planned_hours=activity.planned_hours,
        capacity=activity.capacity,
        requested_by_organisation_id=activity.requested_by_organisation_id,
        status=activity.status,
        cancelled_on=activity.cancelled_on,
        held_on=activity.held_on,
        recording_url=activity.recording_url,
        location=activity.location,
        online_link=activity.online_link,
        description=activity.description,
        registration_deadline=activity.registration_deadline,
        cancel_reason=domain.staff_only(reader.role, activity.cancel_reason),
        registered=counts.registered,
        waitlisted=counts.waitlisted,
        participants=counts.participants,
        participant_hours=counts.participant_hours,
        updated_at=activity.updated_at,
        updated_by=domain.who_did_it(reader.role, activity.updated_by),
    )


def session(db: Session, activity: ActivitySession, reader: Principal) -> SessionRead:
    """One session with its counts as they stand in this transaction."""
    db.flush()
    return session_read(activity, seats.counts(db, [activity.id]).get(activity.id), reader)


def sessions(db: Session, rows: Sequence[ActivitySession], reader: Principal) -> list[SessionRead]:
    counts = seats.counts(db, [r.id for r in rows])
    return [session_read(r, counts.get(r.id), reader) for r in rows]


def registration(db: Session, row: Registration) -> RegistrationRead:
    db.flush()
    days = db.execute(
        select(AttendanceDay)
        .where(col(AttendanceDay.registration_id) == row.id)
        .order_by(col(AttendanceDay.day))
    ).scalars()
    return RegistrationRead(
        id=row.id,
        session_id=row.session_id,
        member_id=row.member_id,
        organisation_id=row.organisation_id,
        organisation_kind=row.organisation_kind,
        organisation_known=row.organisation_known,
        waitlisted=row.waitlisted,
        status=row.status,
        attended=row.attended,
        hours=row.hours,
        days=[AttendanceDayRead(day=d.day, attended=d.attended, hours=d.hours) for d in days],
        registered_at=row.registered_at,
        cancelled_at=row.cancelled_at,
    )


def advice(row: Advice, reader: Principal) -> AdviceRead:
    return AdviceRead(
        id=row.id,
        organisation_id=row.organisation_id,
        given_on=row.given_on,
        topic=row.topic,
        channel=row.channel,
        with_mediawijs=row.with_mediawijs,
        created_by=domain.who_did_it(reader.role, row.created_by),
    )


def trajectory(row: SupportTrajectory, reader: Principal) -> TrajectoryRead:
    return TrajectoryRead(
        id=row.id,
        organisation_id=row.organisation_id,
        started_on=row.started_on,
        stage=row.stage,
        methodology=row.methodology,
        description=row.description,
        completed_on=row.completed_on,
        summary=row.summary,
        updated_at=row.updated_at,
        updated_by=domain.who_did_it(reader.role, row.updated_by),
    )


# --- loading by id, for reads and commands alike ---------------------------------------------------


def get_session(db: Session, session_id: uuid.UUID) -> ActivitySession:
    activity = db.get(ActivitySession, session_id)
    if activity is None:
        raise NotFound(f"no session with id {session_id}")
    return activity


def registration_of(db: Session, activity: ActivitySession, registration_id: uuid.UUID) -> Registration:
    row = db.get(Registration, registration_id)
    if row is None or row.session_id != activity.id:
        raise NotFound(f"no registration with id {registration_id} for this session")
    return row


def get_trajectory(db: Session, trajectory_id: uuid.UUID) -> SupportTrajectory:
    row = db.get(SupportTrajectory, trajectory_id)
    if row is None:
        raise NotFound(f"no support trajectory with id {trajectory_id}")
    return row
