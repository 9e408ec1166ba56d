"""What erasing a member means for the events service (applied when `member.erased` arrives).

Kept, because the KPIs of every earlier date are built from them and they name the person by id only:
the member's registrations, attendance days and hours, and the local copy of the member (organisation
and status "erased"). The member id now points at an anonymised record in the members service.

Gone: the digests of the e-mail address (nothing left to match an attendance list or a public sign-up
with), with them every personal link mailed to the address (cancel, opt-in and data links), and the
person's seats at sessions that had not started when the person was erased — nobody can be reached
or recognised at the door any more, and the seat goes to the first on the waiting list. Those sessions
are held after the erasure (a session is never marked held before its first day), so no figure of an
earlier date changes. A registration with attendance recorded is never touched."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlmodel import Session, col

from services.events import domain, mails, seats
from services.events.handlers.registrations import release_seat
from services.events.optin import OutsiderLink
from services.events.tables import ActivitySession, AttendanceDay, ContactDigest, PublicSignup, Registration
from shared import events
from shared.auth import Principal
from shared.outbox import Outbox, causation_id_var
from shared.uow import UnitOfWork

ACTOR = "events-service"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def forget_contact(db: Session, member_id: uuid.UUID) -> None:
    # every personal link mailed to the member's address (a sign-up waiting for its opt-in from before
    # the address was known as the member's, a data link): found by the digests about to go
    digests = set(
        db.execute(
            select(col(ContactDigest.email_sha256)).where(col(ContactDigest.member_id) == member_id)
        ).scalars()
    )
    digests.update(
        db.execute(
            select(col(PublicSignup.email_sha256)).where(col(PublicSignup.member_id) == member_id)
        ).scalars()
    )
    if digests:
        db.execute(delete(OutsiderLink).where(col(OutsiderLink.email_sha256).in_(digests)))
    db.execute(delete(ContactDigest).where(col(ContactDigest.member_id) == member_id))
    # the digests the public sign-up kept of the member's address (the registrations themselves stay),
    # with them the cancel links, and any mail about those sign-ups not sent yet
    signed_up = db.execute(
        select(col(PublicSignup.registration_id)).where(col(PublicSignup.member_id) == member_id)
    ).scalars()
    mails.forget(db, signed_up)
    db.execute(delete(PublicSignup).where(col(PublicSignup.member_id) == member_id))


def release_seats(db: Session, outbox: Outbox, member_id: uuid.UUID, cause: events.Event) -> list[uuid.UUID]:
    """Cancel the member's registrations for sessions that had not started at the moment of erasure
    (the event's time, so a service catching up later decides the same). Returns the ids cancelled."""
    erased_at = _utc(cause.time)
    # the consumer's own transaction: the seats are freed as a cancellation by staff would free them
    # (the same handler), on behalf of whoever erased the member, and the consumer commits
    uow = UnitOfWork(db, outbox, Principal(subject=cause.envelope.actor or ACTOR, role="staff"))
    candidates = db.execute(
        select(col(Registration.session_id))
        .join(ActivitySession, col(ActivitySession.id) == col(Registration.session_id))
        .where(
            col(Registration.member_id) == member_id,
            col(Registration.status) == domain.REGISTERED,
            col(ActivitySession.status) == domain.SCHEDULED,
        )
        .distinct()
    ).scalars()
    cancelled: list[uuid.UUID] = []
    for session_id in sorted(set(candidates), key=str):  # one lock order for every transaction
        activity = seats.locked_session(db, session_id)
        if activity.status != domain.SCHEDULED or _utc(activity.starts_at) <= erased_at:
            continue
        registrations = db.execute(
            select(Registration).where(
                col(Registration.session_id) == session_id,
                col(Registration.member_id) == member_id,
                col(Registration.status) == domain.REGISTERED,
            )
        ).scalars()
        for registration in list(registrations):
            recorded = db.execute(
                select(col(AttendanceDay.day)).where(col(AttendanceDay.registration_id) == registration.id)
            ).first()
            if recorded is not None:
                continue
            caused = causation_id_var.set(cause.id)
            try:
                release_seat(uow, activity, registration)
            finally:
                causation_id_var.reset(caused)
            cancelled.append(registration.id)
    return cancelled
