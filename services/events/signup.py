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
(erasure, retention).

Double opt-in: an address the service does not know as a member's is registered only once its owner
followed the link mailed to it and pressed the button (`confirm`); until then the sign-up is an
`ev_outsider_links` row (optin.py) that holds no seat, publishes nothing and counts towards the
address's daily limit, so that nobody can have the agenda mail a stranger more than a few times a day.
An unconfirmed sign-up goes when its link expires, with the retention job."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, cast

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from services.events import domain, mails, optin
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


def read_email(value: str | None) -> tuple[str, ErrorCode | None]:
    """An address as typed, normalised (what the digest is made of), or what is wrong with it."""
    email, problem = _line(value, EMAIL_MAX)
    if problem:
        return email, problem
    try:
        return domain.normalise_email(validate_email(email, check_deliverability=False).normalized), None
    except EmailNotValidError:
        return email, "not_an_email"


def read_form(form: Mapping[str, str]) -> ReadForm:
    """The submitted fields, or what is wrong with each (in the form's order)."""
    if form.get(HONEYPOT, "").strip():
        return ReadForm(honeypot=True)
    errors: dict[str, ErrorCode] = {}
    name, problem = _line(form.get("name"), NAME_MAX)
    if problem:
        errors["name"] = problem
    email, problem = read_email(form.get("email"))
    if problem:
        errors["email"] = problem
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

Outcome = Literal["registered", "waitlisted", "already", "closed", "too_many", "confirm"]


@dataclass(frozen=True)
class SignedUp:
    outcome: Outcome
    registration: Registration | None = None
    retry_after: int | None = None  # too_many: seconds until the address may sign up again
    link: optin.OutsiderLink | None = None  # confirm: the opt-in link queued for its mail


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
    if _already_registered(db, activity.id, digest):
        return SignedUp("already")
    member_id = _member_by_address(uow, digest)
    if member_id is None:
        waiting = _waiting_optin(db, activity.id, digest, now)
        if waiting is not None:  # asked again before confirming: the same answer, no second mail
            return SignedUp("confirm", link=waiting)
    wait = _wait_for_address(db, digest, now)
    if wait:
        return SignedUp("too_many", retry_after=wait)
    if member_id is None:
        link, _token = optin.new_link(
            optin.OPTIN,
            digest,
            now,
            session_id=activity.id,
            email=form.email,
            name=form.name,
            organisation_name=form.organisation,
            organisation_kind=form.organisation_kind,
        )
        db.add(link)
        db.flush()
        return SignedUp("confirm", link=link)
    return _register(uow, activity, form, digest, member_id, now)


def _already_registered(db: Session, session_id: uuid.UUID, digest: str) -> bool:
    found = db.execute(
        select(col(PublicSignup.registration_id))
        .join(Registration, col(Registration.id) == col(PublicSignup.registration_id))
        .where(
            col(PublicSignup.session_id) == session_id,
            col(PublicSignup.email_sha256) == digest,
            col(Registration.status) == domain.REGISTERED,
        )
        .limit(1)
    ).first()
    return found is not None


def _waiting_optin(
    db: Session, session_id: uuid.UUID, digest: str, now: datetime
) -> optin.OutsiderLink | None:
    found: optin.OutsiderLink | None = db.execute(
        select(optin.OutsiderLink)
        .where(
            col(optin.OutsiderLink.kind) == optin.OPTIN,
            col(optin.OutsiderLink.session_id) == session_id,
            col(optin.OutsiderLink.email_sha256) == digest,
            col(optin.OutsiderLink.confirmed_at).is_(None),
            col(optin.OutsiderLink.expires_at) > now,
        )
        .limit(1)
    ).scalar_one_or_none()
    return found


def _wait_for_address(db: Session, digest: str, now: datetime) -> int:
    """0 while the address may sign up again today; otherwise the seconds until the oldest of its
    sign-ups of the last day (registered or waiting for confirmation) leaves the window."""
    since = now - timedelta(days=1)
    registered = db.execute(
        select(col(PublicSignup.created_at)).where(
            col(PublicSignup.email_sha256) == digest, col(PublicSignup.created_at) > since
        )
    ).scalars()
    unconfirmed = db.execute(
        select(col(optin.OutsiderLink.created_at)).where(
            col(optin.OutsiderLink.kind) == optin.OPTIN,
            col(optin.OutsiderLink.email_sha256) == digest,
            col(optin.OutsiderLink.confirmed_at).is_(None),
            col(optin.OutsiderLink.created_at) > since,
        )
    ).scalars()
    moments = sorted(optin.utc(m) for m in [*registered, *unconfirmed])
    if len(moments) < PER_ADDRESS_PER_DAY:
        return 0
    oldest = moments[-PER_ADDRESS_PER_DAY]
    return max(1, int((oldest + timedelta(days=1) - now).total_seconds()) + 1)


def _register(
    uow: UnitOfWork,
    activity: ActivitySession,
    form: SignupForm,
    digest: str,
    member_id: uuid.UUID | None,
    now: datetime,
) -> SignedUp:
    db = uow.session
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


# --- the double opt-in --------------------------------------------------------------------------------

ConfirmOutcome = Literal["registered", "waitlisted", "already", "closed", "confirmed_before"]


@dataclass(frozen=True)
class Confirmed:
    outcome: ConfirmOutcome
    activity: ActivitySession
    registration: Registration | None = None


def find_optin(db: Session, token: str, now: datetime) -> tuple[optin.OutsiderLink, ActivitySession] | None:
    """The opt-in link a token was made for and its session; None when it does not work (any more)."""
    link = optin.find(db, optin.OPTIN, token, now)
    if link is None or link.session_id is None:
        return None
    activity = db.get(ActivitySession, link.session_id)
    return None if activity is None else (link, activity)


def _forget_form(link: optin.OutsiderLink, now: datetime, registration: Registration | None) -> None:
    """Confirmed: what the form said now lives on the sign-up (or nowhere); the link keeps its digests
    until it expires, so that a second click says "al bevestigd"."""
    link.confirmed_at = now
    link.registration_id = registration.id if registration else None
    link.email = link.name = link.organisation_name = link.organisation_kind = None


def confirm(token: str, uow: UnitOfWork, now: datetime) -> Confirmed | None:
    """Registers the sign-up an opt-in link was mailed for, as `sign_up` registers a member: through the
    staff API's handler (a full session: the waiting list), a `registration.received` in the outbox, a
    confirmation mail with a cancel link. None: no such link (any more)."""
    db = uow.session
    found = find_optin(db, token, now)
    if found is None:
        return None
    link, activity = found
    if link.confirmed_at is not None:
        return Confirmed("confirmed_before", activity)
    activity = session_for(uow, activity.id)  # the session locked, then the link read again:
    db.refresh(link)  # two clicks at once register once
    if link.confirmed_at is not None:
        return Confirmed("confirmed_before", activity)
    closes = domain.to_utc(activity.registration_deadline or activity.starts_at)
    if activity.status != domain.SCHEDULED or now >= closes:
        return Confirmed("closed", activity)
    digest = link.email_sha256
    kind = link.organisation_kind if link.organisation_kind in ORGANISATION_KINDS else "andere"
    form = SignupForm(
        link.name or "",
        link.email or "",
        link.organisation_name or "",
        cast(events.OrganisationKind, kind),
    )
    if _already_registered(db, activity.id, digest) or not form.email:
        _forget_form(link, now, None)
        db.add(link)
        return Confirmed("already", activity)
    result = _register(uow, activity, form, digest, _member_by_address(uow, digest), now)
    _forget_form(link, now, result.registration)
    db.add(link)
    db.flush()
    outcome: ConfirmOutcome = (
        "already" if result.outcome == "already" else cast(ConfirmOutcome, result.outcome)
    )
    return Confirmed(outcome, activity, result.registration)


# --- retention -------------------------------------------------------------------------------------


def forget_old_signups(engine: Engine, now: datetime, keep: timedelta = KEEP_AFTER_SESSION) -> int:
    """Deletes the sign-up details (an outsider's name, address and organisation; any address digest)
    of sessions that ended more than `keep` ago; the registrations stay. Returns how many went. The
    expired personal links (optin.py: unconfirmed sign-ups, data links) go too, uncounted."""
    ended = select(col(ActivitySession.id)).where(col(ActivitySession.ends_at) < now - keep)
    with Session(engine) as db:
        going = db.execute(
            select(col(PublicSignup.registration_id)).where(col(PublicSignup.session_id).in_(ended))
        ).scalars()
        mails.forget(db, going)
        result = db.execute(delete(PublicSignup).where(col(PublicSignup.session_id).in_(ended)))
        # the personal links past their validity: unconfirmed sign-ups (no seat, never registered) with
        # what their form said, confirmed ones' digests, data links
        db.execute(delete(optin.OutsiderLink).where(col(optin.OutsiderLink.expires_at) <= now))
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
