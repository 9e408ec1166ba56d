"""HTTP routes of the events service for sessions and registrations, and what the other route modules
(attendance, support) share: the database session, the outbox, roles, and the session lock.

Every command on a session takes the session row's lock first (an UPDATE of its lock counter, which
PostgreSQL and SQLite both serialise), so capacity, the waiting list and attendance totals stay right
under concurrent requests. Every change writes its catalogue event through the outbox in the same
transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from services.events import domain, seats
from services.events.consumers import organisation_of
from services.events.schemas import (
    AttendanceDayRead,
    RecordingCreate,
    RegistrationCancelled,
    RegistrationCreate,
    RegistrationRead,
    SessionCancel,
    SessionCreate,
    SessionHold,
    SessionRead,
    SessionReschedule,
)
from services.events.tables import (
    ActivitySession,
    AttendanceDay,
    KnownMember,
    Registration,
)
from shared import events
from shared.auth import ACTIVITY_WRITERS, READERS, STAFF, Principal, require
from shared.errors import Conflict, Invalid, NotFound
from shared.web import OutboxDep, Page, SessionDep

# --- dependencies -------------------------------------------------------------------------------


Writer = Annotated[Principal, Depends(require(*ACTIVITY_WRITERS))]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Reader = Annotated[Principal, Depends(require(*READERS))]

router = APIRouter()


def commit_or_conflict(db: Session) -> None:
    try:
        db.commit()
    except IntegrityError as exc:  # two requests raced past the checks
        db.rollback()
        raise Conflict("this conflicts with an existing record (the same member registered twice?)") from exc


# --- sessions -----------------------------------------------------------------------------------


_Counts = seats.Counts
_counts = seats.counts
locked_session = seats.locked_session  # the route modules import it from here


def _read(activity: ActivitySession, counts: _Counts | None) -> SessionRead:
    counts = counts or _Counts()
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
        registered=counts.registered,
        waitlisted=counts.waitlisted,
        participants=counts.participants,
        participant_hours=counts.participant_hours,
        updated_at=activity.updated_at,
        updated_by=activity.updated_by,
    )


def _session_read(db: Session, activity: ActivitySession) -> SessionRead:
    db.flush()
    return _read(activity, _counts(db, [activity.id]).get(activity.id))


def _get(db: Session, session_id: uuid.UUID) -> ActivitySession:
    activity = db.get(ActivitySession, session_id)
    if activity is None:
        raise NotFound(f"no session with id {session_id}")
    return activity


def schedule_of(activity: ActivitySession) -> domain.Schedule:
    return domain.Schedule(
        domain.to_utc(activity.starts_at), domain.to_utc(activity.ends_at), activity.planned_hours
    )


def _touch(activity: ActivitySession, who: Principal) -> None:
    activity.updated_at = domain.now()
    activity.updated_by = who.subject


@router.post("/sessions", status_code=status.HTTP_201_CREATED, tags=["sessions"])
def schedule_session(body: SessionCreate, db: SessionDep, outbox: OutboxDep, who: Writer) -> SessionRead:
    schedule = domain.plan(body.starts_at, body.ends_at, body.planned_hours)
    domain.check_requested_by(body.kind, body.requested_by_organisation_id)
    activity = ActivitySession(
        kind=body.kind,
        title=body.title,
        theme=body.theme,
        lead=body.lead,
        format=body.format,
        starts_at=schedule.starts_at,
        ends_at=schedule.ends_at,
        planned_hours=schedule.planned_hours,
        capacity=body.capacity,
        requested_by_organisation_id=body.requested_by_organisation_id,
        created_by=who.subject,
        updated_by=who.subject,
    )
    db.add(activity)
    outbox.add(
        db,
        events.SessionScheduled(
            session_id=activity.id,
            kind=body.kind,
            title=body.title,
            theme=body.theme,
            lead=body.lead,
            format=body.format,
            starts_at=schedule.starts_at,
            ends_at=schedule.ends_at,
            planned_hours=schedule.planned_hours,
            capacity=body.capacity,
            requested_by_organisation_id=body.requested_by_organisation_id,
        ),
        actor=who.subject,
    )
    answer = _session_read(db, activity)
    commit_or_conflict(db)
    return answer


@router.get("/sessions", tags=["sessions"])
def list_sessions(
    db: SessionDep,
    _who: Reader,
    kind: events.SessionKind | None = None,
    state: Annotated[Literal["scheduled", "cancelled", "held"] | None, Query(alias="status")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="starting in this year")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[SessionRead]:
    stmt = select(ActivitySession)
    if kind:
        stmt = stmt.where(col(ActivitySession.kind) == kind)
    if state:
        stmt = stmt.where(col(ActivitySession.status) == state)
    if year:
        first = datetime.combine(date(year, 1, 1), time(), domain.BRUSSELS).astimezone(UTC)
        after = datetime.combine(date(year + 1, 1, 1), time(), domain.BRUSSELS).astimezone(UTC)
        stmt = stmt.where(col(ActivitySession.starts_at) >= first, col(ActivitySession.starts_at) < after)
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = list(
        db.execute(
            stmt.order_by(col(ActivitySession.starts_at), col(ActivitySession.id)).limit(limit).offset(offset)
        ).scalars()
    )
    counts = _counts(db, [r.id for r in rows])
    return Page[SessionRead](
        items=[_read(r, counts.get(r.id)) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/sessions/{session_id}", tags=["sessions"])
def get_session(session_id: uuid.UUID, db: SessionDep, _who: Reader) -> SessionRead:
    return _session_read(db, _get(db, session_id))


def _recorded_days(db: Session, session_id: uuid.UUID) -> dict[uuid.UUID, dict[date, domain.DayAttendance]]:
    rows = db.execute(
        select(AttendanceDay)
        .join(Registration, col(Registration.id) == col(AttendanceDay.registration_id))
        .where(col(Registration.session_id) == session_id)
    ).scalars()
    recorded: dict[uuid.UUID, dict[date, domain.DayAttendance]] = {}
    for row in rows:
        recorded.setdefault(row.registration_id, {})[row.day] = domain.DayAttendance(row.attended, row.hours)
    return recorded


@router.post("/sessions/{session_id}/reschedule", tags=["sessions"])
def reschedule_session(
    session_id: uuid.UUID, body: SessionReschedule, db: SessionDep, outbox: OutboxDep, who: Writer
) -> SessionRead:
    activity = locked_session(db, session_id)
    domain.check_can_reschedule(activity.status)
    planned = body.planned_hours if body.planned_hours is not None else activity.planned_hours
    schedule = domain.plan(body.starts_at, body.ends_at, planned)
    domain.check_reschedule_keeps_attendance(schedule, _recorded_days(db, activity.id))
    activity.starts_at, activity.ends_at = schedule.starts_at, schedule.ends_at
    activity.planned_hours = schedule.planned_hours
    _touch(activity, who)
    db.add(activity)
    outbox.add(
        db,
        events.SessionRescheduled(
            session_id=activity.id,
            starts_at=schedule.starts_at,
            ends_at=schedule.ends_at,
            planned_hours=schedule.planned_hours,
        ),
        actor=who.subject,
    )
    answer = _session_read(db, activity)
    commit_or_conflict(db)
    return answer


@router.post("/sessions/{session_id}/cancel", tags=["sessions"])
def cancel_session(
    session_id: uuid.UUID,
    db: SessionDep,
    outbox: OutboxDep,
    who: Writer,
    body: Annotated[SessionCancel | None, Body()] = None,
) -> SessionRead:
    activity = locked_session(db, session_id)
    domain.check_can_cancel(activity.status)
    cancelled_on = domain.business_date(body.cancelled_on if body else None, "cancelled_on")
    activity.status, activity.cancelled_on = domain.CANCELLED, cancelled_on
    _touch(activity, who)
    db.add(activity)
    outbox.add(
        db, events.SessionCancelled(session_id=activity.id, cancelled_on=cancelled_on), actor=who.subject
    )
    answer = _session_read(db, activity)
    commit_or_conflict(db)
    return answer


@router.post("/sessions/{session_id}/held", tags=["sessions"])
def mark_held(
    session_id: uuid.UUID,
    db: SessionDep,
    outbox: OutboxDep,
    who: Writer,
    body: Annotated[SessionHold | None, Body()] = None,
) -> SessionRead:
    """Marks the session held and publishes its participants and participant hours from the attendance."""
    activity = locked_session(db, session_id)
    held_on = domain.held_on(
        activity.status, schedule_of(activity), body.held_on if body else None, domain.today()
    )
    registrations = db.execute(
        select(Registration).where(
            col(Registration.session_id) == activity.id,
            col(Registration.status) == domain.REGISTERED,
        )
    ).scalars()
    attendance = [domain.DayAttendance(r.attended, r.hours) for r in registrations]
    activity.status, activity.held_on = domain.HELD, held_on
    _touch(activity, who)
    db.add(activity)
    outbox.add(
        db,
        events.SessionHeld(
            session_id=activity.id,
            held_on=held_on,
            participants=domain.participants(attendance),
            participant_hours=domain.session_totals(attendance).hours,
        ),
        actor=who.subject,
    )
    answer = _session_read(db, activity)
    commit_or_conflict(db)
    return answer


@router.post("/sessions/{session_id}/recording", tags=["sessions"])
def publish_recording(
    session_id: uuid.UUID, body: RecordingCreate, db: SessionDep, outbox: OutboxDep, who: Writer
) -> SessionRead:
    activity = locked_session(db, session_id)
    domain.check_can_publish_recording(activity.status)
    activity.recording_url = body.url
    _touch(activity, who)
    db.add(activity)
    outbox.add(db, events.RecordingPublished(session_id=activity.id, url=body.url), actor=who.subject)
    answer = _session_read(db, activity)
    commit_or_conflict(db)
    return answer


# --- registrations ------------------------------------------------------------------------------


def registration_read(db: Session, registration: Registration) -> RegistrationRead:
    days = db.execute(
        select(AttendanceDay)
        .where(col(AttendanceDay.registration_id) == registration.id)
        .order_by(col(AttendanceDay.day))
    ).scalars()
    return RegistrationRead(
        id=registration.id,
        session_id=registration.session_id,
        member_id=registration.member_id,
        organisation_id=registration.organisation_id,
        organisation_kind=registration.organisation_kind,
        organisation_known=registration.organisation_known,
        waitlisted=registration.waitlisted,
        status=registration.status,
        attended=registration.attended,
        hours=registration.hours,
        days=[AttendanceDayRead(day=d.day, attended=d.attended, hours=d.hours) for d in days],
        registered_at=registration.registered_at,
        cancelled_at=registration.cancelled_at,
    )


def registration_of(db: Session, activity: ActivitySession, registration_id: uuid.UUID) -> Registration:
    registration = db.get(Registration, registration_id)
    if registration is None or registration.session_id != activity.id:
        raise NotFound(f"no registration with id {registration_id} for this session")
    return registration


@router.post(
    "/sessions/{session_id}/registrations", status_code=status.HTTP_201_CREATED, tags=["registrations"]
)
def register(
    session_id: uuid.UUID, body: RegistrationCreate, db: SessionDep, outbox: OutboxDep, who: Writer
) -> RegistrationRead:
    """A member (by id) or an outside participant (organisation kind). A full session puts the
    registration on its waiting list."""
    activity = locked_session(db, session_id)
    domain.check_can_register(activity.status)
    organisation_id, known = body.organisation_id, True
    kind: str | None = body.organisation_kind
    if body.member_id is not None:
        member = db.get(KnownMember, body.member_id)
        if member is not None and member.status == "erased":
            raise Invalid("member_id", "this member's data was erased")
        twice = db.execute(
            select(col(Registration.id)).where(
                col(Registration.session_id) == activity.id,
                col(Registration.member_id) == body.member_id,
                col(Registration.status) == domain.REGISTERED,
            )
        ).first()
        if twice is not None:
            raise Conflict(f"member {body.member_id} is already registered for this session")
        found_id, found_kind = organisation_of(db, body.member_id)
        if found_kind is not None:
            organisation_id, kind = found_id, found_kind
        else:  # not heard of yet: completed once members.events tells us (see consumers)
            organisation_id, known = found_id or body.organisation_id, False
    elif kind is None:
        raise Invalid("member_id", "give a member id, or the organisation kind of an outside participant")
    confirmed, waiting = seats.seats(db, activity.id)
    registration = Registration(
        session_id=activity.id,
        member_id=body.member_id,
        organisation_id=organisation_id,
        organisation_kind=kind or domain.UNKNOWN_KIND,
        organisation_known=known,
        waitlisted=domain.goes_on_waiting_list(confirmed, activity.capacity, waiting),
        registered_by=who.subject,
    )
    db.add(registration)
    outbox.add(db, seats.received(registration), actor=who.subject)
    db.flush()
    answer = registration_read(db, registration)
    commit_or_conflict(db)
    return answer


@router.get("/sessions/{session_id}/registrations", tags=["registrations"])
def list_registrations(
    session_id: uuid.UUID,
    db: SessionDep,
    _who: Reader,
    state: Annotated[Literal["registered", "cancelled", "all"], Query(alias="status")] = "registered",
) -> list[RegistrationRead]:
    activity = _get(db, session_id)
    stmt = select(Registration).where(col(Registration.session_id) == activity.id)
    if state != "all":
        stmt = stmt.where(col(Registration.status) == state)
    rows = db.execute(stmt.order_by(col(Registration.registered_at), col(Registration.id))).scalars().all()
    return [registration_read(db, r) for r in rows]


@router.get("/sessions/{session_id}/registrations/{registration_id}", tags=["registrations"])
def get_registration(
    session_id: uuid.UUID, registration_id: uuid.UUID, db: SessionDep, _who: Reader
) -> RegistrationRead:
    return registration_read(db, registration_of(db, _get(db, session_id), registration_id))


@router.post("/sessions/{session_id}/registrations/{registration_id}/cancel", tags=["registrations"])
def cancel_registration(
    session_id: uuid.UUID, registration_id: uuid.UUID, db: SessionDep, outbox: OutboxDep, who: Writer
) -> RegistrationCancelled:
    """Cancels a registration; a freed seat goes at once to the first on the waiting list, which is
    published as `registration.received` again for that registration, now with waitlisted=false."""
    activity = locked_session(db, session_id)
    registration = registration_of(db, activity, registration_id)
    domain.check_can_cancel_registration(
        activity.status, registration.status, registration.hours if registration.attended else 0.0
    )
    promoted = seats.cancel(db, outbox, activity, registration, who.subject)
    answer = RegistrationCancelled(
        cancelled=registration_read(db, registration),
        promoted=[registration_read(db, r) for r in promoted],
    )
    commit_or_conflict(db)
    return answer
