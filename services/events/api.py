"""HTTP routes of the events service for sessions and registrations: each command route turns the
request into a command, runs its handler (handlers/) in a unit of work and commits the answer; each
read route reads the tables through views.py."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, status
from sqlalchemy import func, select
from sqlmodel import col

from services.events import domain, views
from services.events.handlers import registrations, sessions
from services.events.schemas import (
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
from services.events.tables import ActivitySession, Registration
from services.events.web import Reader, WriterWork
from shared import events
from shared.web import Page, SessionDep

router = APIRouter()


# --- sessions -----------------------------------------------------------------------------------


@router.post("/sessions", status_code=status.HTTP_201_CREATED, tags=["sessions"])
def schedule_session(body: SessionCreate, uow: WriterWork) -> SessionRead:
    activity = sessions.schedule_session(sessions.ScheduleSession(**body.model_dump()), uow)
    return uow.commit(views.session(uow.session, activity, uow.actor))


@router.get("/sessions", tags=["sessions"])
def list_sessions(
    db: SessionDep,
    who: Reader,
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
    return Page[SessionRead](items=views.sessions(db, rows, who), total=total, limit=limit, offset=offset)


@router.get("/sessions/{session_id}", tags=["sessions"])
def get_session(session_id: uuid.UUID, db: SessionDep, who: Reader) -> SessionRead:
    return views.session(db, views.get_session(db, session_id), who)


@router.post("/sessions/{session_id}/reschedule", tags=["sessions"])
def reschedule_session(session_id: uuid.UUID, body: SessionReschedule, uow: WriterWork) -> SessionRead:
    command = sessions.RescheduleSession(session_id=session_id, **body.model_dump())
    return uow.commit(views.session(uow.session, sessions.reschedule_session(command, uow), uow.actor))


@router.post("/sessions/{session_id}/cancel", tags=["sessions"])
def cancel_session(
    session_id: uuid.UUID, uow: WriterWork, body: Annotated[SessionCancel | None, Body()] = None
) -> SessionRead:
    """Cancels the session; the reason is kept for staff, not published (it may name a person)."""
    command = sessions.CancelSession(
        session_id=session_id,
        cancelled_on=body.cancelled_on if body else None,
        reason=body.reason if body else None,
    )
    return uow.commit(views.session(uow.session, sessions.cancel_session(command, uow), uow.actor))


@router.post("/sessions/{session_id}/held", tags=["sessions"])
def mark_held(
    session_id: uuid.UUID, uow: WriterWork, body: Annotated[SessionHold | None, Body()] = None
) -> SessionRead:
    """Marks the session held and publishes its participants and participant hours from the attendance."""
    command = sessions.HoldSession(session_id=session_id, held_on=body.held_on if body else None)
    return uow.commit(views.session(uow.session, sessions.hold_session(command, uow), uow.actor))


@router.post("/sessions/{session_id}/recording", tags=["sessions"])
def publish_recording(session_id: uuid.UUID, body: RecordingCreate, uow: WriterWork) -> SessionRead:
    command = sessions.PublishRecording(session_id=session_id, url=body.url)
    return uow.commit(views.session(uow.session, sessions.publish_recording(command, uow), uow.actor))


# --- registrations ------------------------------------------------------------------------------


@router.post(
    "/sessions/{session_id}/registrations", status_code=status.HTTP_201_CREATED, tags=["registrations"]
)
def register(session_id: uuid.UUID, body: RegistrationCreate, uow: WriterWork) -> RegistrationRead:
    """A member (by id) or an outside participant (organisation kind). A full session puts the
    registration on its waiting list."""
    command = registrations.RegisterParticipant(session_id=session_id, **body.model_dump())
    return uow.commit(views.registration(uow.session, registrations.register_participant(command, uow)))


@router.get("/sessions/{session_id}/registrations", tags=["registrations"])
def list_registrations(
    session_id: uuid.UUID,
    db: SessionDep,
    _who: Reader,
    state: Annotated[Literal["registered", "cancelled", "all"], Query(alias="status")] = "registered",
) -> list[RegistrationRead]:
    activity = views.get_session(db, session_id)
    stmt = select(Registration).where(col(Registration.session_id) == activity.id)
    if state != "all":
        stmt = stmt.where(col(Registration.status) == state)
    rows = db.execute(stmt.order_by(col(Registration.registered_at), col(Registration.id))).scalars().all()
    return [views.registration(db, r) for r in rows]


@router.get("/sessions/{session_id}/registrations/{registration_id}", tags=["registrations"])
def get_registration(
    session_id: uuid.UUID, registration_id: uuid.UUID, db: SessionDep, _who: Reader
) -> RegistrationRead:
    return views.registration(
        db, views.registration_of(db, views.get_session(db, session_id), registration_id)
    )


@router.post("/sessions/{session_id}/registrations/{registration_id}/cancel", tags=["registrations"])
def cancel_registration(
    session_id: uuid.UUID, registration_id: uuid.UUID, uow: WriterWork
) -> RegistrationCancelled:
    """Cancels a registration; a freed seat goes at once to the first on the waiting list, which is
    published as `registration.received` again for that registration, now with waitlisted=false."""
    command = registrations.CancelRegistration(session_id=session_id, registration_id=registration_id)
    result = registrations.cancel_registration(command, uow)
    return uow.commit(
        RegistrationCancelled(
            cancelled=views.registration(uow.session, result.registration),
            promoted=[views.registration(uow.session, r) for r in result.promoted],
        )
    )
