"""Toelichting: the explanation staff write for a KPI of a year ("why 'Overleg' is 11 against a target of
12"), printed beside the figures in every form of the report and frozen with it.

One explanation per KPI and year; writing again replaces it and records who wrote it and when. The
rows live in the base database, beside the frozen reports, so a rebuild of the read models never
touches them. Who wrote it is the token's subject (often an e-mail address): only staff and admin see
it, never viewers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from shared.db import transaction


class KpiExplanation(SQLModel, table=True):
    __tablename__ = "kpi_explanations"

    year: int = Field(primary_key=True)
    code: str = Field(primary_key=True, max_length=100)
    text: str = Field(sa_column=Column(Text, nullable=False))
    written_by: str = Field(max_length=200)
    written_at: datetime


def write(engine: Engine, year: int, code: str, text: str, who: str, now: datetime) -> KpiExplanation:
    """Stores (or replaces) the explanation of one KPI for one year."""
    with transaction(engine) as session:
        row = session.get(KpiExplanation, (year, code))
        if row is None:
            row = KpiExplanation(year=year, code=code, text=text, written_by=who, written_at=now)
        else:
            row.text, row.written_by, row.written_at = text, who, now
        session.add(row)
    return row


def remove(engine: Engine, year: int, code: str) -> bool:
    with transaction(engine) as session:
        row = session.get(KpiExplanation, (year, code))
        if row is None:
            return False
        session.delete(row)
    return True


def of_year(engine: Engine, year: int) -> list[KpiExplanation]:
    with Session(engine) as session:
        query = select(KpiExplanation).where(KpiExplanation.year == year).order_by(col(KpiExplanation.code))
        return list(session.exec(query))


def as_json(row: KpiExplanation) -> dict[str, Any]:
    """How an explanation is served and frozen (the author included; `shown` hides it from viewers)."""
    written_at = row.written_at if row.written_at.tzinfo else row.written_at.replace(tzinfo=UTC)
    return {
        "year": row.year,
        "code": row.code,
        "text": row.text,
        "written_at": written_at.astimezone(UTC).isoformat(),
        "written_by": row.written_by,
    }


def shown(explanation: dict[str, Any], show_authors: bool) -> dict[str, Any]:
    return explanation if show_authors else {**explanation, "written_by": None}
