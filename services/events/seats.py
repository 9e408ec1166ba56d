"""Seats of a session, shared by the handlers and the consumers: the session lock, the counts of
registrations with and without a seat, and the `registration.received` event of a registration."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from services.events import domain
from services.events.tables import ActivitySession, Registration
from shared import events
from shared.errors import NotFound


@dataclass
class Counts:
    registered: int = 0
    waitlisted: int = 0
    participants: int = 0
    participant_hours: float = 0.0


def counts(db: Session, session_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Counts]:
    if not session_ids:
        return {}
    active = col(Registration.status) == domain.REGISTERED
    attended = active & (col(Registration.attended) == True)  # noqa: E712
    rows = db.execute(
        select(
            col(Registration.session_id),
            func.sum(case((active & (col(Registration.waitlisted) == False), 1), else_=0)),  # noqa: E712
            func.sum(case((active & (col(Registration.waitlisted) == True), 1), else_=0)),  # noqa: E712
            func.sum(case((attended, 1), else_=0)),
            func.sum(case((attended, col(Registration.hours)), else_=0.0)),
        )
        .where(col(Registration.session_id).in_(session_ids))
        .group_by(col(Registration.session_id))
    ).all()
    return {
        row[0]: Counts(int(row[1] or 0), int(row[2] or 0), int(row[3] or 0), domain.round_hours(row[4] or 0))
        for row in rows
    }


def seats(db: Session, session_id: uuid.UUID) -> tuple[int, int]:
    """Registrations with a seat, and on the waiting list."""
    found = counts(db, [session_id]).get(session_id) or Counts()
    return found.registered, found.waitlisted


def locked_session(db: Session, session_id: uuid.UUID) -> ActivitySession:
    """The session, locked for this transaction: its UPDATE makes concurrent commands wait their turn."""
    result: CursorResult[Any] = db.execute(  # type: ignore[assignment]
        update(ActivitySession)
        .where(col(ActivitySession.id) == session_id)
        .values(lock_version=col(ActivitySession.lock_version) + 1)
    )
    if not result.rowcount:
        raise NotFound(f"no session with id {session_id}")
    activity = db.get(ActivitySession, session_id, populate_existing=True)
    assert activity is not None
    return activity


def received(registration: Registration) -> events.RegistrationReceived:
    return events.RegistrationReceived(
        registration_id=registration.id,
        session_id=registration.session_id,
        member_id=registration.member_id,
        organisation_id=registration.organisation_id,
        organisation_kind=registration.organisation_kind,
        waitlisted=registration.waitlisted,
    )
