"""Answers `GET /kpis/{year}`: every KPI the read models can compute, with its target and status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from services.kpi import catalogue, membership
from services.kpi.core import BRUSSELS, Computed, Context, period

KPIS: dict[str, Callable[[Context], Computed]] = {
    **membership.KPIS,
}


def report(session: Session, year: int, as_of: date | None, now: datetime) -> dict[str, Any]:
    ctx = Context(session, period(year, as_of, now.astimezone(BRUSSELS).date()))
    answers = []
    for code, compute in KPIS.items():
        definition = catalogue.DEFINITIONS[code]
        result = compute(ctx)
        goal = catalogue.target(code, year)
        answers.append(
            {
                "code": code,
                "title": definition.title,
                "value": result.value,
                "target": goal,
                "status": catalogue.status(result.value, goal),
                "unit": definition.unit,
                "items": result.items,
            }
        )
    return {
        "year": year,
        "as_of": ctx.period.end.isoformat(),
        "generated_at": now.isoformat(),
        "kpis": answers,
    }
