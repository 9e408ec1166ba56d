"""The newsletter service's tables (SQLModel). Every name starts with `nl_`.

Addresses live in `nl_contacts` (a copy of members.contacts), `nl_subscribers` (public subscribers and
members who consented) and `nl_bounces`; every other table names people by id only, so that erasing a
person means deleting their rows in those three tables and the queue rows that point at them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.ids import new_id


def _now() -> datetime:
    return datetime.now(UTC)


class Contact(SQLModel, table=True):
    """A member's contact details, as the compacted topic members.contacts last said."""

    __tablename__ = "nl_contacts"

    member_id: uuid.UUID = Field(primary_key=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    email: str = Field(max_length=254, index=True)
    organisation_id: uuid.UUID | None = None
    newsletter_consent: bool = False
    active: bool = True
    updated_at: datetime = Field(default_factory=_now)


class ErasedMember(SQLModel, table=True):
    """Ids (never addresses) of erased members: a late contact record for them is ignored."""

    __tablename__ = "nl_erased_members"

    member_id: uuid.UUID = Field(primary_key=True)
    erased_at: datetime = Field(default_factory=_now)


class Subscriber(SQLModel, table=True):
    """One address on the newsletter list. status: pending (waits for confirmation), active,
    unsubscribed. A member's consent makes an active subscriber linked by `member_id`."""

    __tablename__ = "nl_subscribers"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    first_name: str | None = Field(default=None, max_length=100)
    member_id: uuid.UUID | None = Field(default=None, unique=True)
    status: str = Field(max_length=20, index=True)
    source: str = Field(max_length=20)  # member | public
    created_at: datetime = Field(default_factory=_now)
    confirmation_requested_at: datetime | None = None
    subscribed_at: datetime | None = None
    unsubscribed_at: datetime | None = None


class Bounce(SQLModel, table=True):
    """An address a mail server refused permanently (5xx): it is never mailed again."""

    __tablename__ = "nl_bounces"

    email: str = Field(primary_key=True, max_length=254)
    bounced_at: datetime = Field(default_factory=_now)
    reason: str = Field(max_length=500)


class Issue(SQLModel, table=True):
    """A newsletter issue. status: draft, scheduled (sent by the sender at `scheduled_at`), sending
    (deliveries queued), sent, failed. `schedule_missed_at`: a scheduled sending found nobody to send
    to, and the issue became a draft again."""

    __tablename__ = "nl_issues"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    title: str = Field(max_length=200)
    body: str = Field(max_length=100_000)  # Markdown
    status: str = Field(default="draft", max_length=20, index=True)
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=_now)
    send_requested_at: datetime | None = None
    send_requested_by: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = None
    recipients: int | None = None
    scheduled_at: datetime | None = None
    scheduled_by: str | None = Field(default=None, max_length=200)
    schedule_missed_at: datetime | None = None


class Delivery(SQLModel, table=True):
    """One issue to one subscriber. status: queued → sending → sent | bounced | skipped | failed.

    'sending' is committed just before the end of the SMTP DATA phase, 'sent' right after the
    server's 250; the unique constraint makes a second row for the same pair impossible."""

    __tablename__ = "nl_deliveries"
    __table_args__ = (
        UniqueConstraint("issue_id", "subscriber_id", name="uq_nl_deliveries_issue_subscriber"),
        Index("ix_nl_deliveries_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    issue_id: uuid.UUID = Field(foreign_key="nl_issues.id", index=True)
    subscriber_id: uuid.UUID = Field(index=True)
    status: str = Field(default="queued", max_length=20)
    confirmed: bool = True  # False: left 'sending' by a crash; counted as sent, never resent
    attempts: int = 0
    queued_at: datetime = Field(default_factory=_now)
    next_attempt_at: datetime = Field(default_factory=_now)
    last_error: str | None = Field(default=None, max_length=500)
    claimed_at: datetime | None = None
    finished_at: datetime | None = None


class ServiceMail(SQLModel, table=True):
    """A mail another service's event asked for (or a subscription confirmation), at most one per
    causing event: `cause_id` is the CloudEvents id, `dedupe_key` names what it is about
    (kind and registration, request or subscription id). Addresses are looked up when sending."""

    __tablename__ = "nl_service_mails"
    __table_args__ = (Index("ix_nl_service_mails_due", "status", "next_attempt_at"),)

    cause_id: str = Field(primary_key=True, max_length=200)
    dedupe_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40)
    member_id: uuid.UUID | None = Field(default=None, index=True)
    subscriber_id: uuid.UUID | None = Field(default=None, index=True)
    subject_type: str | None = Field(default=None, max_length=40)
    subject_id: uuid.UUID | None = None
    reference_id: uuid.UUID | None = None  # registration or feedback request
    waitlisted: bool = False
    status: str = Field(default="queued", max_length=20)
    confirmed: bool = True
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=_now)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=_now)
    cause_time: datetime = Field(default_factory=_now)
    claimed_at: datetime | None = None
    finished_at: datetime | None = None


class Subject(SQLModel, table=True):
    """What a service mail is about: a session (activities.events) or a survey (feedback.events)."""

    __tablename__ = "nl_subjects"

    id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=40)  # session kind, or "survey"
    title: str = Field(max_length=500)
    format: str | None = Field(default=None, max_length=20)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cancelled: bool = False


class Article(SQLModel, table=True):
    """An article in a magazine (Lokaal, ...)."""

    __tablename__ = "nl_articles"
    __table_args__ = (
        UniqueConstraint("magazine", "title", "published_on", name="uq_nl_articles_magazine_title_day"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    title: str = Field(max_length=500)
    magazine: str = Field(max_length=200)
    published_on: date = Field(index=True)
    url: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=200)


class GoodPractice(SQLModel, table=True):
    """A good practice published on the website."""

    __tablename__ = "nl_good_practices"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    title: str = Field(max_length=500)
    organisation_id: uuid.UUID | None = None
    published_on: date = Field(index=True)
    url: str = Field(max_length=2000, unique=True)
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=200)


class Tool(SQLModel, table=True):
    """A tool or handbook in the OD 3.1 catalogue. A retired tool keeps its row (the catalogue's events
    and the KPI history name it), and its link stays taken."""

    __tablename__ = "nl_tools"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    title: str = Field(max_length=500)
    summary: str = Field(max_length=2000)  # what it helps with
    audience: str = Field(max_length=500)  # for whom
    made_by: str = Field(max_length=20, index=True)  # vvsg, mediawijs, together, other
    url: str = Field(max_length=2000, unique=True)
    version: str = Field(max_length=50)
    last_reviewed_on: date
    next_review_on: date = Field(index=True)
    published_on: date = Field(index=True)
    updated_on: date | None = None
    retired_on: date | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=200)
    updated_by: str | None = Field(default=None, max_length=200)
