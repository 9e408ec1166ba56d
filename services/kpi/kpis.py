"""Answers `GET /kpis/{year}`: every KPI the read models can compute, with its target and status, as a
typed `KpiReport` (built once; `report` is its JSON for what stores or renders it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from services.kpi import activities, catalogue, communications, feedback, membership
from services.kpi.core import BRUSSELS, Computed, Context, period


def _registry() -> dict[str, Callable[[Context], Computed]]:
    """Every module's KPIs, in the order of the design's KPI table; a code claimed twice is a bug."""
    merged: dict[str, Callable[[Context], Computed]] = {}
    for module in (membership, activities, communications, feedback):
        for code, compute in module.KPIS.items():
            if code in merged:
                raise RuntimeError(f"KPI {code} is computed by two modules")
            merged[code] = compute
    order = list(catalogue.DEFINITIONS)
    return dict(sorted(merged.items(), key=lambda item: order.index(item[0])))


KPIS = _registry()


class KpiAnswer(BaseModel):
    """One KPI of the answer: its figure, target and status, and the items behind the figure."""

    code: str
    title: str
    value: int | float
    target: int | float | None
    status: str
    unit: str
    items: list[dict[str, Any]]  # JSON objects whose fields depend on the KPI


class KpiReport(BaseModel):
    """The answer of `GET /kpis/{year}`."""

    year: int
    as_of: date
    generated_at: datetime
    targets_version: str
    kpis: list[KpiAnswer]


def answer(session: Session, year: int, as_of: date | None, now: datetime) -> KpiReport:
    """Every registered KPI with its target, status and items, on day D of `year`."""
    ctx = Context(session, period(year, as_of, now.astimezone(BRUSSELS).date()))
    goals = catalogue.targets(year)
    answers = []
    for code, compute in KPIS.items():
        definition = catalogue.DEFINITIONS[code]
        result = compute(ctx)
        goal = goals.of(code)
        answers.append(
            KpiAnswer(
                code=code,
                title=definition.title,
                value=result.value,
                target=goal,
                status=catalogue.status(result.value, goal),
                unit=definition.unit,
                items=result.items,
            )
        )
    return KpiReport(
        year=year, as_of=ctx.period.end, generated_at=now, targets_version=goals.version, kpis=answers
    )


def report(session: Session, year: int, as_of: date | None, now: datetime) -> dict[str, Any]:
    """`answer` as JSON (what the API serves), for what stores or renders it as a document."""
    return answer(session, year, as_of, now).model_dump(mode="json")
