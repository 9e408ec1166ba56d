"""Frozen reports: the answer of `GET /kpis/{year}` as submitted to the Flemish government, kept
unchanged for ever, and the differences that later corrections make against it.

A year is frozen once: a second freeze is refused (409), because "the report as submitted" is one
report, and `GET /kpis/{year}/frozen` must give the same bytes for ever (per audience: viewers never see
who froze it or who wrote an explanation, staff and admin do). The row is immutable in the
database as well (triggers refuse UPDATE and DELETE). Snapshots live in the base database, beside the
generation pointer, so a rebuild of the read models never touches them.

What was handed in is more than the KPI answer: the previous year's figures printed beside it and the
explanations (toelichting) staff wrote are frozen with it, so the frozen report renders as submitted.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from shared.db import transaction
from shared.errors import Conflict


class KpiFrozenReport(SQLModel, table=True):
    __tablename__ = "kpi_frozen_reports"

    year: int = Field(primary_key=True)
    as_of: date
    frozen_at: datetime
    frozen_by: str = Field(max_length=200)
    generation: int
    answer: str = Field(sa_column=Column(Text, nullable=False))  # the KPI answer's JSON, as served
    # the previous year's figures and the explanations as printed (JSON); NULL on reports frozen
    # before these were part of the report
    previous: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    explanations: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AlreadyFrozen(Conflict):
    pass


def freeze(
    engine: Engine,
    answer: dict[str, Any],
    who: str,
    generation: int,
    now: datetime,
    previous: dict[str, Any] | None = None,
    explanations: list[dict[str, Any]] | None = None,
) -> KpiFrozenReport:
    year = int(answer["year"])
    row = KpiFrozenReport(
        year=year,
        as_of=date.fromisoformat(answer["as_of"]),
        frozen_at=now,
        frozen_by=who,
        generation=generation,
        answer=_json(answer),
        previous=None if previous is None else _json(previous),
        explanations=_json(explanations or []),
    )
    try:
        with transaction(engine) as session:
            existing = session.get(KpiFrozenReport, year)
            if existing is not None:
                raise AlreadyFrozen(_already(existing))
            session.add(row)
    except IntegrityError:  # frozen at the same moment by someone else
        existing = frozen(engine, year)
        raise AlreadyFrozen(_already(existing) if existing else f"{year} is already frozen") from None
    return row


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False, separators=(",", ":"))


def _already(row: KpiFrozenReport) -> str:
    return (
        f"the report of {row.year} was frozen on {_utc_text(row.frozen_at)}; "
        "a frozen report never changes (see /differences for later corrections)"
    )


def frozen(engine: Engine, year: int) -> KpiFrozenReport | None:
    with Session(engine) as session:
        return session.get(KpiFrozenReport, year)


def previous_of(row: KpiFrozenReport) -> dict[str, Any] | None:
    return None if row.previous is None else json.loads(row.previous)


def explanations_of(row: KpiFrozenReport, show_authors: bool) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(row.explanations) if row.explanations else []
    return found if show_authors else [{**e, "written_by": None} for e in found]


def snapshot(row: KpiFrozenReport, show_authors: bool = True) -> dict[str, Any]:
    """The frozen report as the API returns it: always the same for the same row and audience."""
    return {
        "year": row.year,
        "as_of": row.as_of.isoformat(),
        "frozen_at": _utc_text(row.frozen_at),
        "frozen_by": row.frozen_by if show_authors else None,
        "report": json.loads(row.answer),
        "previous": previous_of(row),
        "explanations": explanations_of(row, show_authors),
    }


def _utc_text(value: datetime) -> str:
    from datetime import UTC

    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def _canonical(item: Any) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def differences(frozen_answer: dict[str, Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """KPIs whose value, target, status or items differ between the frozen and the current answer
    (both for the same day D); items are compared as a multiset, so only real changes show."""
    before = {k["code"]: k for k in frozen_answer["kpis"]}
    after = {k["code"]: k for k in current["kpis"]}
    result = []
    for code in [*before, *(c for c in after if c not in before)]:
        old, new = before.get(code), after.get(code)
        if old is None or new is None:
            known = old or new
            assert known is not None
            result.append(
                {
                    "code": code,
                    "title": known["title"],
                    "frozen": _figures(old),
                    "current": _figures(new),
                    "items_added": new["items"] if new else [],
                    "items_removed": old["items"] if old else [],
                }
            )
            continue
        old_items = Counter(_canonical(i) for i in old["items"])
        new_items = Counter(_canonical(i) for i in new["items"])
        added = [json.loads(i) for i in (new_items - old_items).elements()]
        removed = [json.loads(i) for i in (old_items - new_items).elements()]
        if _figures(old) != _figures(new) or added or removed:
            result.append(
                {
                    "code": code,
                    "title": new["title"],
                    "frozen": _figures(old),
                    "current": _figures(new),
                    "items_added": added,
                    "items_removed": removed,
                }
            )
    return result


def _figures(kpi: dict[str, Any] | None) -> dict[str, Any] | None:
    if kpi is None:
        return None
    return {"value": kpi["value"], "target": kpi["target"], "status": kpi["status"]}
