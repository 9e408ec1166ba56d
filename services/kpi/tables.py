"""Read models of the KPI service. They store facts with their business dates, not running totals,
so that any date can be asked for (`as_of`) and arrival order never matters."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel import Field, SQLModel


class KpiOrganisation(SQLModel, table=True):
    """Latest known name and kind per organisation; the event with the latest `time` wins."""

    __tablename__ = "kpi_organisations"

    organisation_id: uuid.UUID = Field(primary_key=True)
    name: str = Field(max_length=500)
    kind: str = Field(max_length=60)
    nis_code: str | None = Field(default=None, max_length=5)
    registered_on: date | None = None
    version_time: datetime


class KpiMembershipFact(SQLModel, table=True):
    """One row per membership event: joined, moved, left or erased, on its business date."""

    __tablename__ = "kpi_membership_facts"

    event_id: str = Field(primary_key=True, max_length=200)
    member_id: uuid.UUID = Field(index=True)
    fact: str = Field(max_length=20)
    on_date: date = Field(index=True)
    organisation_id: uuid.UUID | None = None
    event_time: datetime


class KpiKnowledgeSharingFact(SQLModel, table=True):
    """Joined or left the online knowledge-sharing channel (erasure ends it too)."""

    __tablename__ = "kpi_knowledge_sharing_facts"

    event_id: str = Field(primary_key=True, max_length=200)
    member_id: uuid.UUID = Field(index=True)
    fact: str = Field(max_length=20)
    on_date: date = Field(index=True)
    event_time: datetime
