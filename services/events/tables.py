"""The events service's tables (SQLModel): sessions, registrations, attendance per day, advice and
tailored-support trajectories, and a local copy of what the members service publishes.

The local copy (`ev_` tables) holds no personal data: organisations with their kind, members by id
with their organisation, and per member only the SHA-256 of their normalised e-mail address.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import Column, Index, Text, text
from sqlmodel import Field, SQLModel

from shared.ids import new_id


def _now() -> datetime:
    return datetime.now(UTC)


# --- what this service holds and does ----------------------------------------------------------


class ActivitySession(SQLModel, table=True):
    __tablename__ = "ev_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=40, index=True)
    title: str = Field(max_length=500)
    theme: str = Field(max_length=500)
    lead: str = Field(max_length=20)
    format: str = Field(max_length=20)
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    planned_hours: float
    capacity: int | None = None
    requested_by_organisation_id: uuid.UUID | None = None
    status: str = Field(default="scheduled", max_length=20, index=True)
    cancelled_on: date | None = None
    held_on: date | None = None
    recording_url: str | None = Field(default=None, max_length=2000)
    # the practical fields of session.scheduled/rescheduled v2, for the public agenda and its sign-up
    location: str | None = Field(default=None, max_length=300)  # a venue's address, or "online"
    online_link: str | None = Field(default=None, max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    registration_deadline: datetime | None = None  # none: registration open until the session starts
    # why it was cancelled, for staff; kept off the event (free text may name a person, topics keep it
    # forever) and off the public pages
    cancel_reason: str | None = Field(default=None, max_length=500)
    # what a calendar needs to follow changes: the start before the latest move (schema.org's
    # previousStartDate; none: never moved) and a revision bumped by each move or cancellation (the
    # SEQUENCE of the session's iCalendar event, RFC 5545 3.8.7.4)
    previous_starts_at: datetime | None = None
    revision: int = 0
    # bumped by every command on the session: its UPDATE takes the row lock that serialises them
    lock_version: int = 0
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=_now)
    updated_by: str = Field(max_length=200)


class Registration(SQLModel, table=True):
    __tablename__ = "ev_registrations"
    __table_args__ = (
        # the same member once per session (a cancelled registration makes room for a new one)
        Index(
            "ux_ev_registrations_member",
            "session_id",
            "member_id",
            unique=True,
            sqlite_where=text("status = 'registered' AND member_id IS NOT NULL"),
            postgresql_where=text("status = 'registered' AND member_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="ev_sessions.id", index=True)
    member_id: uuid.UUID | None = Field(default=None, index=True)
    organisation_id: uuid.UUID | None = None
    organisation_kind: str = Field(max_length=60)
    # false while the member or their organisation is not in the local copy yet
    organisation_known: bool = True
    waitlisted: bool = False
    status: str = Field(default="registered", max_length=20)
    attended: bool = False  # totals over the recorded days
    hours: float = 0.0
    registered_at: datetime = Field(default_factory=_now)
    registered_by: str = Field(max_length=200)
    cancelled_at: datetime | None = None


class PublicSignup(SQLModel, table=True):
    """A registration made on the public agenda, with what the form told us beyond the registration.

    A member recognised by e-mail address is kept by digest only (the members service holds their
    details); an outside participant's name, address and organisation are kept here — never on a
    topic — so that they can be reached about the session (mails: to come). The digest also stops the
    same address from signing up twice for a session, and counts an address's sign-ups for the limit."""

    __tablename__ = "ev_public_signups"

    registration_id: uuid.UUID = Field(foreign_key="ev_registrations.id", primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="ev_sessions.id", index=True)
    email_sha256: str = Field(max_length=64, index=True)
    member_id: uuid.UUID | None = None  # recognised by the address
    name: str | None = Field(default=None, max_length=200)  # outside participants only
    email: str | None = Field(default=None, max_length=320)
    organisation_name: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=_now, index=True)
    # SHA-256 of the personal cancel link's token (mails.py): the token itself is only in the mail
    cancel_token_sha256: str | None = Field(default=None, max_length=64, unique=True, index=True)


class SignupMail(SQLModel, table=True):
    """A mail about a public sign-up, written in the same transaction as what it tells (outbox-like) and
    sent once by the sender loop (mails.py): `pending` → `sending` (claimed, committed before the SMTP
    conversation) → `sent`; a mail found `sending` after a restart is `interrupted`, never sent again.
    The address, name and cancel token are kept only until the mail is sent (or dropped)."""

    __tablename__ = "ev_signup_mails"
    __table_args__ = (Index("ux_ev_signup_mails_once", "registration_id", "kind", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    registration_id: uuid.UUID = Field(index=True)
    kind: str = Field(max_length=20)  # confirmation | moved_up
    status: str = Field(default="pending", max_length=20, index=True)  # pending|sending|sent|dropped|...
    recipient: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    token: str | None = Field(default=None, max_length=100)  # the raw cancel token, until sent
    attempts: int = 0
    note: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=_now)
    sent_at: datetime | None = None


class AttendanceDay(SQLModel, table=True):
    """Attendance of one registration on one day of the session; a new record replaces it."""

    __tablename__ = "ev_attendance"

    registration_id: uuid.UUID = Field(foreign_key="ev_registrations.id", primary_key=True)
    day: date = Field(primary_key=True)
    attended: bool
    hours: float
    recorded_at: datetime = Field(default_factory=_now)
    recorded_by: str = Field(max_length=200)


class Advice(SQLModel, table=True):
    __tablename__ = "ev_advice"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = Field(index=True)
    given_on: date = Field(index=True)
    topic: str = Field(max_length=500)
    channel: str = Field(max_length=20)
    with_mediawijs: bool = False
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=200)


class SupportTrajectory(SQLModel, table=True):
    __tablename__ = "ev_support_trajectories"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = Field(index=True)
    started_on: date
    stage: str = Field(max_length=20)
    methodology: str = Field(max_length=500)
    description: str = Field(sa_column=Column(Text, nullable=False))
    completed_on: date | None = None
    summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=_now)
    updated_by: str = Field(max_length=200)


# --- the local copy of the members service's facts ---------------------------------------------


class KnownOrganisation(SQLModel, table=True):
    """Latest name and kind per organisation; the event with the latest time wins."""

    __tablename__ = "ev_organisations"

    organisation_id: uuid.UUID = Field(primary_key=True)
    name: str = Field(max_length=500)
    kind: str = Field(max_length=60)
    version_time: datetime
    version_event_id: str = Field(max_length=200)


class KnownMember(SQLModel, table=True):
    """Each member's organisation and state, from the member.* events in business order."""

    __tablename__ = "ev_members"

    member_id: uuid.UUID = Field(primary_key=True)
    organisation_id: uuid.UUID | None = Field(default=None, index=True)
    organisation_on: date | None = None
    organisation_time: datetime | None = None
    status: str = Field(default="active", max_length=20)  # active | left | erased
    status_on: date | None = None
    status_time: datetime | None = None


class ContactDigest(SQLModel, table=True):
    """SHA-256 of a member's normalised e-mail address: enough to match a CSV line, no address kept."""

    __tablename__ = "ev_contact_digests"

    member_id: uuid.UUID = Field(primary_key=True)
    email_sha256: str = Field(max_length=64, index=True)
