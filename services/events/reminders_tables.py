"""The two tables the mails around a session need beyond the sign-up's (reminders.py): where a member
is mailed, and which session feedback requests are still unanswered.

Addresses of members come from the compacted members.contacts topic (the one channel for contact
details, shared/contacts.py), kept here only as an address and a first name for the mails about the
sessions a member is registered for; a tombstone or `member.erased` deletes the row (consumers.py).
The feedback requests are ids only, from feedback.events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel


class MemberAddress(SQLModel, table=True):
    """A member's e-mail address and first name, from members.contacts: the latest record wins."""

    __tablename__ = "ev_member_addresses"

    member_id: uuid.UUID = Field(primary_key=True)
    email: str = Field(max_length=320)
    first_name: str | None = Field(default=None, max_length=200)


class FeedbackRequest(SQLModel, table=True):
    """A feedback request about a session (feedback.requested) and whether it was answered
    (feedback.received with its request id). Either event may come first."""

    __tablename__ = "ev_feedback_requests"

    request_id: uuid.UUID = Field(primary_key=True)
    session_id: uuid.UUID = Field(index=True)
    member_id: uuid.UUID | None = Field(default=None, index=True)
    requested_at: datetime | None = None  # the request event's time; none: only the answer seen yet
    answered: bool = False
