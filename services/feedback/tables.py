"""The feedback service's tables (SQLModel): its own copy of what it needs from other services
(sessions, registrations, trajectories, organisations, members, the tools catalogue), the requests it
made and the answers it collected. Comments and survey answers never leave these tables."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.ids import new_id


def _now() -> datetime:
    return datetime.now(UTC)


# --- copies of other services' facts (from activities.events and members.events) ------------------


class FbSession(SQLModel, table=True):
    """A session as far as feedback needs it; filled by whichever of its events arrives first."""

    __tablename__ = "fb_sessions"

    session_id: uuid.UUID = Field(primary_key=True)
    kind: str | None = Field(default=None, max_length=60)
    title: str | None = Field(default=None, max_length=500)
    starts_at: datetime | None = None
    held_on: date | None = None
    held_event_id: str | None = Field(default=None, max_length=200)  # causation of its requests


class FbRegistration(SQLModel, table=True):
    __tablename__ = "fb_registrations"

    registration_id: uuid.UUID = Field(primary_key=True)
    session_id: uuid.UUID = Field(index=True)
    member_id: uuid.UUID | None = None
    received: bool = False  # registration.received seen (it carries the member id)
    cancelled: bool = False
    attended: bool | None = None  # the latest attendance.recorded by event time
    attendance_time: datetime | None = None
    attendance_event_id: str | None = Field(default=None, max_length=200)


class FbTrajectory(SQLModel, table=True):
    __tablename__ = "fb_trajectories"

    trajectory_id: uuid.UUID = Field(primary_key=True)
    organisation_id: uuid.UUID | None = None
    completed_on: date | None = None


class FbTool(SQLModel, table=True):
    """A tool or handbook of the catalogue (communications.events): its id and title only, and whether
    it was retired, so that a survey question can name a tool that exists and is still offered."""

    __tablename__ = "fb_tools"

    tool_id: uuid.UUID = Field(primary_key=True)
    title: str | None = Field(default=None, max_length=500)
    title_time: datetime | None = None  # the time of the event the title came from: the latest wins
    published: bool = False
    retired_on: date | None = None


class FbOrganisation(SQLModel, table=True):
    """Kind per organisation; the event with the latest time wins."""

    __tablename__ = "fb_organisations"

    organisation_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=60)
    version_time: datetime


class FbMember(SQLModel, table=True):
    """Where a member is now: the membership fact with the latest (business date, event time) wins."""

    __tablename__ = "fb_members"

    member_id: uuid.UUID = Field(primary_key=True)
    organisation_id: uuid.UUID | None = None
    active: bool = True
    erased: bool = False
    fact_on: date
    fact_time: datetime


# --- what this service owns --------------------------------------------------------------------


class FbRequest(SQLModel, table=True):
    """One personal link: for an attendee of a session, an organisation after a support trajectory,
    or a member invited to a user survey. One per subject and participant, whatever is replayed."""

    __tablename__ = "fb_requests"
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "participant_key", name="uq_fb_requests_participant"),
    )

    id: uuid.UUID = Field(primary_key=True)
    subject_type: str = Field(max_length=30)
    subject_id: uuid.UUID = Field(index=True)
    participant_key: str = Field(max_length=100)  # registration id, member id, or "organisation"
    member_id: uuid.UUID | None = None
    registration_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    requested_at: datetime
    requested_on: date
    created_at: datetime = Field(default_factory=_now)


class FbResponse(SQLModel, table=True):
    """An answer to the standard questions, through a link (request_id) or from a paper form."""

    __tablename__ = "fb_responses"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    request_id: uuid.UUID | None = Field(default=None, unique=True)  # one answer per link
    subject_type: str = Field(max_length=30)
    subject_id: uuid.UUID = Field(index=True)
    satisfaction: int | None = None
    usefulness: int | None = None
    motivated: int | None = None
    able_to_act: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_on: date
    received_at: datetime = Field(default_factory=_now)
    entered_by: str | None = Field(default=None, max_length=200)  # staff who typed in a paper form


class FbSurvey(SQLModel, table=True):
    __tablename__ = "fb_surveys"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    title: str = Field(max_length=500)
    topic: str = Field(max_length=500)
    introduction: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    questions: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    opened_on: date
    closed_on: date | None = None
    responses: int | None = None  # counted when it closes
    local_government_responses: int | None = None
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=_now)


class FbSurveyAnswer(SQLModel, table=True):
    __tablename__ = "fb_survey_answers"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    survey_id: uuid.UUID = Field(index=True)
    request_id: uuid.UUID = Field(unique=True)  # one answer per invitation
    member_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None  # where the member was when answering, if known
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_on: date
    received_at: datetime = Field(default_factory=_now)
