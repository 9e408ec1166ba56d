"""Signing up on the public agenda: the form's fields checked, then an ordinary registration.

A member of the network is recognised by the digest of their e-mail address (the events service's
copy of members.contacts) and registered as that member; anyone else — a stranger, someone who left
the network — registers as an outside participant with the organisation kind they chose. Either way
the registration goes through the same handler as the staff API (a full session puts them on the
waiting list) and is published as an ordinary `registration.received`, with no name or address on it.

Abuse is held off without annoying people: a honeypot field (the page says thanks and nothing
happens), one sign-up per address and session, a few sign-ups per address a day, and a limit per
client address on the route (public.py). What the form told us is forgotten 60 days after the
session ended (`forget_old_signups`, run hourly by app.py).

Each sign-up queues a confirmation mail (mails.py) in its own transaction, with a personal cancel link
whose token the database keeps as a digest only; `cancel_by_link` cancels through the staff API's
handler, so the waiting list moves up as it does there. The link dies with the sign-up details
(erasure, retention). Double opt-in for unknown addresses is still to come."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, cast

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from services.events import domain, mails
from services.events.handlers import registrations
from services.events.handlers.sessions import session_for
from services.events.tables import ActivitySession, ContactDigest, KnownMember, PublicSignup, Registration
from shared import events
from shared.auth import Principal
from shared.errors import Conflict
from shared.uow import UnitOfWork

# the public form acts as no person: `public` is never turned into a staff id (shared.staff)
PUBLIC = Principal(subject="public", role="viewer")
HONEYPOT = "website"
PER_ADDRESS_PER_DAY = 5
# how long what the form told us is kept after the session ended: long enough for the feedback round and
# questions about the attendance list, then only the anonymous registration (organisation kind) stays
KEEP_AFTER_SESSION = timedelta(days=60)
NAME_MAX, EMAIL_MAX, ORGANISATION_MAX = 200, 320, 300

ORGANISATION_KINDS: dict[str, str] = {
    "lokaal_bestuur": "Lokaal bestuur (gemeente, OCMW, district)",
    "intergemeentelijk_samenwerkingsverband": "Intergemeentelijk samenwerkingsverband",
    "middenveldorganisatie": "Middenveldorganisatie",
    "kennisinstelling": "Kennisinstelling (hogeschool, universiteit, onderzoek)",
    "bovenlokale_overheid": "Bovenlokale overheid",
    "andere": "Andere",
}

ErrorCode = Literal["missing", "too_long", "control_character", "not_an_email", "not_a_choice"]


@dataclass(frozen=True)
class SignupForm:
    name: str
    email: str  # normalised (what the digest is made of)
    organisation: str
    organisation_kind: events.OrganisationKind


@dataclass
class ReadForm:
    form: SignupForm | None = None
    errors: dict[str, ErrorCode] = field(default_factory=dict)
    honeypot: bool = False


def _line(value: str | None, limit: int) -> tuple[str, ErrorCode | None]:
    text = (value or "").strip()
    if not text:
        return "", "missing"
    if len(text) > limit:
        return text, "too_long"
    if any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in text):
        return text, "control_character"
    return text, None


def read_form(form: Mapping[str, str]) -> ReadForm:
    """The submitted fields, or what is wrong with each (in the form's order)."""
    if form.get(HONEYPOT, "").strip():
        return ReadForm(honeypot=True)
    errors: dict[str, ErrorCode] = {}
    name, problem = _line(form.get("name"), NAME_MAX)
    if problem:
        errors["name"] = problem
    email, problem = _line(form.get("email"), EMAIL_MAX)
    if problem:
        errors["email"] = problem
    else:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["email"] = "not_an_email"
    organisation, problem = _line(form.get("organisation"), ORGANISATION_MAX)
    if problem:
        errors["organisation"] = problem
    kind = form.get("organisation_kind", "")
    if kind not in ORGANISATION_KINDS:
        errors["organisation_kind"] = "missing" if not kind else "not_a_choice"
    if errors:
        return ReadForm(errors=errors)
    return ReadForm(
        form=SignupForm(
            name, domain.normalise_email(email), organisation, cast(events.OrganisationKind, kind)
        )
    )


# --- the use case ---------------------------------------------------------------------------------

Outcome = Literal["registered", "waitlisted", "already", "closed", "too_many"]


@dataclass(frozen=True)
class SignedUp:
    outcome: Outcome
    registration: Registration | None = None


def _member_by_address(uow: UnitOfWork, digest: str) -> uuid.UUID | None:
    """The active member with this address, if the service knows one (a left or erased member is not)."""
    found: ContactDigest | None = uow.session.execute(
        select(ContactDigest).where(col(ContactDigest.email_sha256) == digest).limit(1)
    ).scalar_one_or_none()
    if found is None:
        return None
    member_id = found.member_id
    member = uow.session.get(KnownMember, member_id)
    if member is not None and member.status != "active":
        return None
    return member_id


def sign_up(session_id: uuid.UUID, form: SignupForm, uow: UnitOfWork, now: datetime) -> SignedUp:
    db = uow.session
    activity = session_for(uow, session_id)  # locks the session: the checks below hold until commit
    closes = domain.to_utc(activity.registration_deadline or activity.starts_at)
    if activity.status != domain.SCHEDULED or now >= closes:
        return SignedUp("closed")
    digest = domain.email_digest(form.email)
    already = db.execute(
        select(col(PublicSignup.registration_id))
        .join(Registration, col(Registration.id) == col(PublicSignup.registration_id))
        .where(
            col(PublicSignup.session_id) == activity.id,
            col(PublicSignup.email_sha256) == digest,
            col(Registration.status) == domain.REGISTERED,
        )
        .limit(1)
    ).first()
    if already is not None:
        return SignedUp("already")
    recent = db.execute(
        select(func.count())
        .select_from(PublicSignup)
        .where(
            col(PublicSignup.email_sha256) == digest,
            col(PublicSignup.created_at) > now - timedelta(days=1),
        )
    ).scalar_one()
    if recent >= PER_ADDRESS_PER_DAY:
        return SignedUp("too_many")
    member_id = _member_by_address(uow, digest)
    command = registrations.RegisterParticipant(
        session_id=activity.id,
        member_id=member_id,
        organisation_kind=None if member_id else form.organisation_kind,
    )
    try:
        registration = registrations.register_participant(command, uow)
    except Conflict:  # the member was registered by staff already
        return SignedUp("already")
    outsider = member_id is None
    token, token_digest = mails.new_token()
    db.add(
        PublicSignup(
            registration_id=registration.id,
            session_id=activity.id,
            email_sha256=digest,
            member_id=member_id,
            name=form.name if outsider else None,
            email=form.email if outsider else None,
            organisation_name=form.organisation if outsider else None,
            created_at=now,
            cancel_token_sha256=token_digest,
        )
    )
    mails.queue_confirmation(db, registration.id, form.name, form.email, token)
    db.flush()
    return SignedUp("waitlisted" if registration.waitlisted else "registered", registration)


# --- retention -------------------------------------------------------------------------------------


def forget_old_signups(engine: Engine, now: datetime, keep: timedelta = KEEP_AFTER_SESSION) -> int:
    """Deletes the sign-up details (an outsider's name, address and organisation; any address digest)
    of sessions that ended more than `keep` ago; the registrations stay. Returns how many went."""
    ended = select(col(ActivitySession.id)).where(col(ActivitySession.ends_at) < now - keep)
    with Session(engine) as db:
        going = db.execute(
            select(col(PublicSignup.registration_id)).where(col(PublicSignup.session_id).in_(ended))
        ).scalars()
        mails.forget(db, going)
        result = db.execute(delete(PublicSignup).where(col(PublicSignup.session_id).in_(ended)))
        db.commit()
    return int(getattr(result, "rowcount", 0) or 0)


# --- the personal cancel link ------------------------------------------------------------------------

LinkState = Literal["cancellable", "already", "too_late"]
TOKEN_MAX = 100


@dataclass(frozen=True)
class CancelLink:
    signup: PublicSignup
    registration: Registration
    activity: ActivitySession
    state: LinkState


def find_link(
    db: Session, token: str, now: datetime, keep: timedelta = KEEP_AFTER_SESSION
) -> CancelLink | None:
    """The sign-up a cancel token was made for; None when there is none any more (never made, the person
    erased, the details past retention)."""
    if not token or len(token) > TOKEN_MAX:
        return None
    found: PublicSignup | None = db.execute(
        select(PublicSignup).where(col(PublicSignup.cancel_token_sha256) == mails.token_digest(token))
    ).scalar_one_or_none()
    if found is None:
        return None
    registration = db.get(Registration, found.registration_id)
    activity = db.get(ActivitySession, found.session_id)
    if registration is None or activity is None:
        return None
    if domain.to_utc(activity.ends_at) < now - keep:  # past retention, even before the hourly job ran
        return None
    state: LinkState = "cancellable"
    if registration.status != domain.REGISTERED:
        state = "already"
    elif activity.status != domain.SCHEDULED or now >= domain.to_utc(activity.starts_at):
        state = "too_late"
    return CancelLink(found, registration, activity, state)


def cancel_by_link(token: str, uow: UnitOfWork, now: datetime) -> CancelLink | None:
    """Cancels the registration of a cancel link through the staff API's handler (the waiting list moves
    up). Returns the link as it was found (its state says whether it was cancelled now); None: no link."""
    link = find_link(uow.session, token, now)
    if link is None or link.state != "cancellable":
        return link
    # the session locked first, then the registration read again: two clicks at once cancel once
    session_for(uow, link.activity.id)
    uow.session.refresh(link.registration)
    if link.registration.status != domain.REGISTERED:
        return CancelLink(link.signup, link.registration, link.activity, "already")
    command = registrations.CancelRegistration(
        session_id=link.activity.id, registration_id=link.registration.id
    )
    registrations.cancel_registration(command, uow)
    return link
