"""Registering for a session (a member or an outside participant; a full session puts newcomers on
its waiting list) and cancelling a registration, whose freed seat goes at once to the first on the
waiting list. Erasing a member (erasure.py) frees seats through the same `release_seat`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import col

from services.events import domain, mails, seats
from services.events.handlers.sessions import session_for
from services.events.known import organisation_of
from services.events.tables import ActivitySession, KnownMember, Registration
from services.events.views import registration_of
from shared import events
from shared.errors import Conflict, Invalid
from shared.uow import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class RegisterParticipant:
    session_id: uuid.UUID
    member_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    organisation_kind: events.OrganisationKind | None = None


@dataclass(frozen=True, kw_only=True)
class CancelRegistration:
    session_id: uuid.UUID
    registration_id: uuid.UUID


@dataclass
class CancelledRegistration:
    registration: Registration
    promoted: list[Registration] = field(default_factory=list)


def register_participant(command: RegisterParticipant, uow: UnitOfWork) -> Registration:
    """A member (by id) or an outside participant (organisation kind). A full session puts the
    registration on its waiting list."""
    db = uow.session
    activity = session_for(uow, command.session_id)
    domain.check_can_register(activity.status)
    organisation_id, known = command.organisation_id, True
    kind: str | None = command.organisation_kind
    if command.member_id is not None:
        member = db.get(KnownMember, command.member_id)
        if member is not None and member.status == "erased":
            raise Invalid("member_id", "this member's data was erased")
        twice = db.execute(
            select(col(Registration.id)).where(
                col(Registration.session_id) == activity.id,
                col(Registration.member_id) == command.member_id,
                col(Registration.status) == domain.REGISTERED,
            )
        ).first()
        if twice is not None:
            raise Conflict(f"member {command.member_id} is already registered for this session")
        found_id, found_kind = organisation_of(db, command.member_id)
        if found_kind is not None:
            organisation_id, kind = found_id, found_kind
        else:  # not heard of yet: completed once members.events tells us (see consumers)
            organisation_id, known = found_id or command.organisation_id, False
    elif kind is None:
        raise Invalid("member_id", "give a member id, or the organisation kind of an outside participant")
    confirmed, waiting = seats.seats(db, activity.id)
    registration = Registration(
        session_id=activity.id,
        member_id=command.member_id,
        organisation_id=organisation_id,
        organisation_kind=kind or domain.UNKNOWN_KIND,
        organisation_known=known,
        waitlisted=domain.goes_on_waiting_list(confirmed, activity.capacity, waiting),
        registered_by=uow.actor.subject,
    )
    db.add(registration)
    uow.publish(seats.received(registration))
    db.flush()
    return registration


def cancel_registration(command: CancelRegistration, uow: UnitOfWork) -> CancelledRegistration:
    """Cancels a registration; a freed seat goes at once to the first on the waiting list."""
    activity = session_for(uow, command.session_id)
    registration = registration_of(uow.session, activity, command.registration_id)
    domain.check_can_cancel_registration(
        activity.status, registration.status, registration.hours if registration.attended else 0.0
    )
    return CancelledRegistration(registration, release_seat(uow, activity, registration))


def release_seat(
    uow: UnitOfWork, activity: ActivitySession, registration: Registration
) -> list[Registration]:
    """Cancel a registration of a locked session (the caller checked that it may be) and give freed
    seats to the head of the waiting list, each published as `registration.received` again, now with
    waitlisted=false. Returns the registrations promoted."""
    db = uow.session
    registration.status, registration.cancelled_at = domain.REGISTRATION_CANCELLED, domain.now()
    db.add(registration)
    uow.publish(events.RegistrationCancelled(registration_id=registration.id, session_id=activity.id))
    db.flush()
    confirmed, waiting = seats.seats(db, activity.id)
    promoted: list[Registration] = []
    count = domain.promotions(confirmed, activity.capacity, waiting)
    if count:
        promoted = list(
            db.execute(
                select(Registration)
                .where(
                    col(Registration.session_id) == activity.id,
                    col(Registration.status) == domain.REGISTERED,
                    col(Registration.waitlisted) == True,  # noqa: E712
                )
                .order_by(col(Registration.registered_at), col(Registration.id))
                .limit(count)
            ).scalars()
        )
    for lucky in promoted:
        lucky.waitlisted = False
        db.add(lucky)
        uow.publish(seats.received(lucky))
        mails.queue_moved_up(db, lucky)  # "er is een plaats vrijgekomen", if they signed up publicly
    db.flush()
    return promoted
