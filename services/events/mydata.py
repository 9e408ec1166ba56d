"""An outside participant's own data (issue 16): what the public agenda keeps on an e-mail address that
is not a member's, shown to whoever holds the address, and erased at their request.

The address is never looked up as typed: the form at /agenda/mijn-gegevens asks for a link (optin.py,
kind "data") that goes to the address only, and only when the agenda keeps something on it; the page
always answers the same, so it tells nobody whether an address signed up. Members are not served
here: their data and its erasure belong to the members service (member.erased, erasure.py).

Erasing removes what the sign-up form told us (name, address, organisation, the digests), the cancel
links and opt-in links with them, and any mail about them not sent yet; the person's seats at
sessions still to come are cancelled through the staff API's handler, so the waiting list moves up
as it does there. The registrations stay, anonymous (an organisation kind, no name): the figures of
every earlier date are built from them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from services.events import agenda, domain, mails, optin
from services.events.handlers import registrations
from services.events.handlers.sessions import session_for
from services.events.tables import ActivitySession, PublicSignup, Registration
from shared.uow import UnitOfWork

REQUESTS_PER_DAY = 3  # data links mailed to one address a day


@dataclass(frozen=True)
class HeldSignup:
    session_title: str
    session_when: str
    status: str  # in words
    name: str
    email: str
    organisation: str
    organisation_kind: str
    signed_up_at: datetime
    confirmed: bool


def _outsider_signups(db: Session, digest: str) -> list[PublicSignup]:
    return list(
        db.execute(
            select(PublicSignup)
            .where(col(PublicSignup.email_sha256) == digest, col(PublicSignup.member_id).is_(None))
            .order_by(col(PublicSignup.created_at))
        ).scalars()
    )


def _waiting_optins(db: Session, digest: str) -> list[optin.OutsiderLink]:
    return list(
        db.execute(
            select(optin.OutsiderLink)
            .where(
                col(optin.OutsiderLink.kind) == optin.OPTIN,
                col(optin.OutsiderLink.email_sha256) == digest,
                col(optin.OutsiderLink.confirmed_at).is_(None),
            )
            .order_by(col(optin.OutsiderLink.created_at))
        ).scalars()
    )


def holds_something(db: Session, digest: str) -> bool:
    return bool(_outsider_signups(db, digest) or _waiting_optins(db, digest))


def request_link(db: Session, email: str, now: datetime) -> optin.OutsiderLink | None:
    """Queues a data link for this (normalised) address when the agenda keeps something on it and the
    address got fewer than REQUESTS_PER_DAY links today; None otherwise (the page says the same)."""
    digest = domain.email_digest(email)
    if not holds_something(db, digest):
        return None
    today = db.execute(
        select(func.count())
        .select_from(optin.OutsiderLink)
        .where(
            col(optin.OutsiderLink.kind) == optin.DATA,
            col(optin.OutsiderLink.email_sha256) == digest,
            col(optin.OutsiderLink.created_at) > now - timedelta(days=1),
        )
    ).scalar_one()
    if today >= REQUESTS_PER_DAY:
        return None
    link, _token = optin.new_link(optin.DATA, digest, now, email=email)
    db.add(link)
    db.flush()
    return link


def _status_words(registration: Registration | None) -> str:
    if registration is None:
        return "onbekend"
    if registration.status != domain.REGISTERED:
        return "afgemeld"
    return "op de wachtlijst" if registration.waitlisted else "ingeschreven"


def held(db: Session, digest: str) -> list[HeldSignup]:
    """Everything the agenda keeps on the address, in the order it came: sign-ups, then sign-ups
    still waiting for their confirmation."""
    found: list[HeldSignup] = []
    for signup in _outsider_signups(db, digest):
        activity = db.get(ActivitySession, signup.session_id)
        registration = db.get(Registration, signup.registration_id)
        found.append(
            HeldSignup(
                session_title=activity.title if activity else "",
                session_when=agenda.when_words(activity.starts_at, activity.ends_at) if activity else "",
                status=_status_words(registration),
                name=signup.name or "",
                email=signup.email or "",
                organisation=signup.organisation_name or "",
                organisation_kind=registration.organisation_kind if registration else "",
                signed_up_at=signup.created_at,
                confirmed=True,
            )
        )
    for link in _waiting_optins(db, digest):
        activity = db.get(ActivitySession, link.session_id) if link.session_id else None
        found.append(
            HeldSignup(
                session_title=activity.title if activity else "",
                session_when=agenda.when_words(activity.starts_at, activity.ends_at) if activity else "",
                status="nog niet bevestigd",
                name=link.name or "",
                email=link.email or "",
                organisation=link.organisation_name or "",
                organisation_kind=link.organisation_kind or "",
                signed_up_at=link.created_at,
                confirmed=False,
            )
        )
    return found


def erase(uow: UnitOfWork, digest: str, now: datetime) -> int:
    """Erases what the agenda keeps on the address (see the module's docstring) in the caller's
    transaction. Returns how many seats at sessions still to come were given up."""
    db = uow.session
    signups = _outsider_signups(db, digest)
    cancelled = 0
    # one lock order for every transaction (erasure.py does the same)
    for signup in sorted(signups, key=lambda s: str(s.session_id)):
        registration = db.get(Registration, signup.registration_id)
        if registration is None or registration.status != domain.REGISTERED:
            continue
        activity = session_for(uow, signup.session_id)  # locked: the seat count holds until commit
        db.refresh(registration)
        if (
            registration.status != domain.REGISTERED
            or activity.status != domain.SCHEDULED
            or domain.to_utc(activity.starts_at) <= now
        ):
            continue  # a session under way or over keeps its attendance list as it was
        registrations.cancel_registration(
            registrations.CancelRegistration(session_id=activity.id, registration_id=registration.id), uow
        )
        cancelled += 1
    ids: list[uuid.UUID] = [s.registration_id for s in signups]
    mails.forget(db, ids)
    if ids:
        db.execute(delete(PublicSignup).where(col(PublicSignup.registration_id).in_(ids)))
    db.execute(delete(optin.OutsiderLink).where(col(optin.OutsiderLink.email_sha256) == digest))
    db.flush()
    return cancelled
