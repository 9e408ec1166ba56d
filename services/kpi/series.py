"""Monthly progress of the count and hour KPIs: the value at the end of each month of the year (up to D),
for the dashboard's charts.

Asking the whole report twelve times would be correct but slow; most KPIs list their dated items, so
their value at a month's end is the number (or the hours) of the items dated up to then — the same as
`as_of` would give. Only where that does not hold (stock figures such as members, or items without a
date) is the KPI computed again with `as_of` at each month's end."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from services.kpi import kpis
from services.kpi.core import BRUSSELS, Context, Period, period

NOT_CUMULATIVE_UNITS = frozenset({"%", "score"})
HOURS_FIELD = "participant_hours"


def month_ends(span: Period) -> list[date]:
    ends = []
    for month in range(1, span.end.month + 1):
        last = date(span.year, month, calendar.monthrange(span.year, month)[1])
        ends.append(min(last, span.end))
    return ends


def _from_items(answer: dict[str, Any], ends: list[date]) -> list[float] | None:
    items = answer["items"]
    if not items:  # nothing dated to go by: a stock figure may have been above zero during the year
        return None
    try:
        days = [date.fromisoformat(i["date"]) for i in items]
    except (KeyError, TypeError, ValueError):
        return None
    if answer["value"] == len(items) and answer["unit"] != "uren":
        return [sum(1 for d in days if d <= end) for end in ends]
    if all(isinstance(i.get(HOURS_FIELD), int | float) for i in items):
        hours = [float(i[HOURS_FIELD]) for i in items]
        if abs(round(sum(sorted(hours)), 2) - float(answer["value"])) < 0.005:
            return [
                round(sum(sorted(h for d, h in zip(days, hours, strict=True) if d <= end)), 2) for end in ends
            ]
    return None


def monthly(session: Session, year: int, as_of: date | None, now: datetime) -> dict[str, Any]:
    answer = kpis.report(session, year, as_of, now)
    span = period(year, as_of, now.astimezone(BRUSSELS).date())
    ends = month_ends(span)
    contexts: dict[date, Context] = {}
    series = []
    for kpi in answer["kpis"]:
        if kpi["unit"] in NOT_CUMULATIVE_UNITS or kpi["code"] not in kpis.KPIS:
            continue
        values = _from_items(kpi, ends)
        if values is None:
            compute = kpis.KPIS[kpi["code"]]
            values = []
            for end in ends:
                ctx = contexts.setdefault(end, Context(session, Period(year, span.start, end)))
                values.append(compute(ctx).value)
        series.append(
            {
                "code": kpi["code"],
                "title": kpi["title"],
                "unit": kpi["unit"],
                "target": kpi["target"],
                "values": values,
            }
        )
    return {
        "year": year,
        "as_of": answer["as_of"],
        "generated_at": answer["generated_at"],
        "months": [end.isoformat() for end in ends],
        "series": series,
    }
