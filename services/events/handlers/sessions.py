"""Scheduling, rescheduling, cancelling and holding a session, and publishing its recording.

Every command on an existing session takes the session row's lock first (seats.locked_session), so
capacity, the waiting list and attendance totals stay right under concurrent requests. A partner
(Mediawijs) acts only on sessions led by Mediawijs or jointly (domain.check_may_act_on)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from services.events import domain, seats
from services.events.tables import ActivitySession, AttendanceDay, Registration
from shared import events
from shared.errors import Invalid
from shared.uow import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class ScheduleSession:
    kind: events.SessionKind
    title: str
    theme: str
    lead: events.Lead
    format: events.SessionFormat
    starts_at: datetime
    ends_at: datetime
    planned_hours: float | None = None
    capacity: int | None = None
    requested_by_organisation_id: uuid.UUID | None = None
    # session.scheduled v2: published and stored
    location: str | None = None
    online_link: str | None = None
    description: str | None = None
    registration_deadline: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RescheduleSession:
    session_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    planned_hours: float | None = None
    # session.rescheduled v2: none means unchanged
    location: str | None = None
    online_link: str | None = None
    description: str | None = None
    registration_deadline: datetime | None = None


def _deadline(deadline: datetime | None, schedule: domain.Schedule) -> datetime | None:
    """Registration closes at the latest when the session ends; a moment without offset is Brussels."""
    if deadline is None:
        return None
    deadline = domain.to_utc(deadline)
    if deadline > schedule.ends_at:
        raise Invalid("registration_deadline", "registration must close before the session ends")
    return deadline


@dataclass(frozen=True, kw_only=True)
class CancelSession:
    session_id: uuid.UUID
    cancelled_on: date | None = None
    reason: str | None = None  # stored for staff, not published (it may name a person)


@dataclass(frozen=True, kw_only=True)
class HoldSession:
    session_id: uuid.UUID
    held_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class PublishRecording:
    session_id: uuid.UUID
    url: str


def schedule_of(activity: ActivitySession) -> domain.Schedule:
    return domain.Schedule(
        domain.to_utc(activity.starts_at), domain.to_utc(activity.ends_at), activity.planned_hours
    )


def session_for(uow: UnitOfWork, session_id: uuid.UUID) -> ActivitySession:
    """The session, locked for this transaction, once the actor may act on it (404, then 403)."""
    activity = seats.locked_session(uow.session, session_id)
    domain.check_may_act_on(uow.actor.role, activity.lead)
    return activity


def _touch(activity: ActivitySession, uow: UnitOfWork) -> None:
    activity.updated_at = domain.now()
    activity.updated_by = uow.actor.subject
    uow.session.add(activity)


def schedule_session(command: ScheduleSession, uow: UnitOfWork) -> ActivitySession:
    domain.check_may_act_on(uow.actor.role, command.lead)
    schedule = domain.plan(command.starts_at, command.ends_at, command.planned_hours)
    domain.check_requested_by(command.kind, command.requested_by_organisation_id)
    deadline = _deadline(command.registration_deadline, schedule)
    activity = ActivitySession(
        kind=command.kind,
        title=command.title,
        theme=command.theme,
        lead=command.lead,
        format=command.format,
        starts_at=schedule.starts_at,
        ends_at=schedule.ends_at,
        planned_hours=schedule.planned_hours,
        capacity=command.capacity,
        requested_by_organisation_id=command.requested_by_organisation_id,
        location=command.location,
        online_link=command.online_link,
        description=command.description,
        registration_deadline=deadline,
        created_by=uow.actor.subject,
        updated_by=uow.actor.subject,
    )
    uow.session.add(activity)
    uow.publish(
        events.SessionScheduled(
            session_id=activity.id,
            kind=command.kind,
            title=command.title,
            theme=command.theme,
            lead=command.lead,
            format=command.format,
            starts_at=schedule.starts_at,
            ends_at=schedule.ends_at,
            planned_hours=schedule.planned_hours,
            capacity=command.capacity,
            requested_by_organisation_id=command.requested_by_organisation_id,
            location=command.location,
            online_link=command.online_link,
            description=command.description,
            registration_deadline=deadline,
        )
    )
    return activity


def recorded_days(db: Session, session_id: uuid.UUID) -> dict[uuid.UUID, dict[date, domain.DayAttendance]]:
    rows = db.execute(
        select(AttendanceDay)
        .join(Registration, col(Registration.id) == col(AttendanceDay.registration_id))
        .where(col(Registration.session_id) == session_id)
    ).scalars()
    recorded: dict[uuid.UUID, dict[date, domain.DayAttendance]] = {}
    for row in rows:
        recorded.setdefault(row.registration_id, {})[row.day] = domain.DayAttendance(row.attended, row.hours)
    return recorded


def reschedule_session(command: RescheduleSession, uow: UnitOfWork) -> ActivitySession:
    activity = session_for(uow, command.session_id)
    domain.check_can_reschedule(activity.status)
    planned = command.planned_hours if command.planned_hours is not None else activity.planned_hours
    schedule = domain.plan(command.starts_at, command.ends_at, planned)
    domain.check_reschedule_keeps_attendance(schedule, recorded_days(uow.session, activity.id))
    deadline = _deadline(command.registration_deadline, schedule)
    if deadline is None and activity.registration_deadline is not None:
        # the kept deadline must still close before the session's new end
        _deadline(activity.registration_deadline, schedule)
    if domain.to_utc(activity.starts_at) != schedule.starts_at:
        activity.previous_starts_at = activity.starts_at
    activity.revision += 1
    activity.starts_at, activity.ends_at = schedule.starts_at, schedule.ends_at
    activity.planned_hours = schedule.planned_hours
    # v2: a practical field left out stays as it was
    if command.location is not None:
        activity.location = command.location
    if command.online_link is not None:
        activity.online_link = command.online_link
    if command.description is not None:
        activity.description = command.description
    if deadline is not None:
        activity.registration_deadline = deadline
    _touch(activity, uow)
    uow.publish(
        events.SessionRescheduled(
            session_id=activity.id,
            starts_at=schedule.starts_at,
            ends_at=schedule.ends_at,
            planned_hours=schedule.planned_hours,
            location=command.location,
            online_link=command.online_link,
            description=command.description,
            registration_deadline=deadline,
        )
    )
    return activity


def cancel_session(command: CancelSession, uow: UnitOfWork) -> ActivitySession:
    activity = session_for(uow, command.session_id)
    domain.check_can_cancel(activity.status)
    cancelled_on = domain.business_date(command.cancelled_on, "cancelled_on")
    activity.status, activity.cancelled_on = domain.CANCELLED, cancelled_on
    activity.cancel_reason = command.reason or None
    activity.revision += 1
    _touch(activity, uow)
    uow.publish(events.SessionCancelled(session_id=activity.id, cancelled_on=cancelled_on))
    return activity


def hold_session(command: HoldSession, uow: UnitOfWork) -> ActivitySession:
    """Marks the session held and publishes its participants and participant hours from the attendance."""
    activity = session_for(uow, command.session_id)
    held_on = domain.held_on(activity.status, schedule_of(activity), command.held_on, domain.today())
    registrations = uow.session.execute(
        select(Registration).where(
            col(Registration.session_id) == activity.id,
            col(Registration.status) == domain.REGISTERED,
        )
    ).scalars()
    attendance = [domain.DayAttendance(r.attended, r.hours) for r in registrations]
    activity.status, activity.held_on = domain.HELD, held_on
    _touch(activity, uow)
    uow.publish(
        events.SessionHeld(
            session_id=activity.id,
            held_on=held_on,
            participants=domain.participants(attendance),
            participant_hours=domain.session_totals(attendance).hours,
        )
    )
    return activity


def publish_recording(command: PublishRecording, uow: UnitOfWork) -> ActivitySession:
    activity = session_for(uow, command.session_id)
    domain.check_can_publish_recording(activity.status)
    activity.recording_url = command.url
    _touch(activity, uow)
    uow.publish(events.RecordingPublished(session_id=activity.id, url=command.url))
    return activity
