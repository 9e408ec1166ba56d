"""The members service's tables (SQLModel): organisations and the people in the network."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlmodel import Field, SQLModel

from shared.ids import new_id


def _now() -> datetime:
    return datetime.now(UTC)


class Organisation(SQLModel, table=True):
    __tablename__ = "organisations"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=60, index=True)
    nis_code: str | None = Field(default=None, max_length=5, unique=True)
    registered_on: date
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=_now)
    updated_by: str = Field(max_length=200)


class Member(SQLModel, table=True):
    __tablename__ = "members"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    email: str = Field(max_length=254, unique=True)
    phone: str | None = Field(default=None, max_length=40)
    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    newsletter_consent: bool = False
    joined_on: date
    left_on: date | None = None
    active: bool = True
    in_knowledge_sharing: bool = False
    erased_on: date | None = None  # personal data anonymised (right to erasure); the id stays
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=_now)
    updated_by: str = Field(max_length=200)
