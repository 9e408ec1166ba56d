"""Puts together what a yearly report prints (services.kpi.report.Document): the KPI answer, the
previous year's figures beside it and the explanations — live from the read models, or exactly as
frozen. Used by the API and by the direct database export alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from services.kpi import explanations, freeze, report

AnswerOf = Callable[[int, date | None], dict[str, Any]]  # (year, as_of) → the KPI answer as served


def a_year_earlier(day: date) -> date:
    """The same day one year earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def previous_of(answer_of: AnswerOf, answer: dict[str, Any]) -> report.Previous:
    """The previous year as it stood on the same day a year earlier: for a finished year that is the
    whole previous year, for the running year the comparison is like for like."""
    earlier = answer_of(int(answer["year"]) - 1, a_year_earlier(date.fromisoformat(answer["as_of"])))
    return report.Previous(
        int(earlier["year"]),
        date.fromisoformat(earlier["as_of"]),
        {k["code"]: k["value"] for k in earlier["kpis"]},
    )


def explanations_json(base: Engine, year: int) -> list[dict[str, Any]]:
    return [explanations.as_json(row) for row in explanations.of_year(base, year)]


def _explained(found: list[dict[str, Any]], show_people: bool) -> dict[str, report.Explanation]:
    return {
        e["code"]: report.Explanation.from_json(explanations.shown(e, show_people))
        for e in found
        if e["text"].strip()
    }


def live(
    answer_of: AnswerOf, base: Engine, year: int, as_of: date | None, show_people: bool
) -> report.Document:
    answer = answer_of(year, as_of)
    return report.Document(
        answer=answer,
        previous=previous_of(answer_of, answer),
        explanations=_explained(explanations_json(base, year), show_people),
    )


def frozen(row: freeze.KpiFrozenReport, show_people: bool) -> report.Document:
    previous = freeze.previous_of(row)
    return report.Document(
        answer=json.loads(row.answer),
        previous=report.Previous.from_json(previous) if previous is not None else None,
        explanations=_explained(freeze.explanations_of(row, True), show_people),
        frozen=report.Frozen(row.frozen_at, row.frozen_by if show_people else None),
    )
