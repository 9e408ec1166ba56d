"""What every KPI module shares: the period asked for, a per-request cache of read models, results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar, cast

from sqlmodel import Session

from services.kpi.store import ReadModels
from shared import events
from shared.clock import BRUSSELS as BRUSSELS  # re-exported: the KPI modules use it
from shared.clock import business_today

T = TypeVar("T")

# A projection handler: one event into the read models (services.kpi.projection runs them).
Handler = Callable[[ReadModels, events.Event], None]


@dataclass(frozen=True)
class Period:
    year: int
    start: date
    end: date  # D: the last day that counts

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def period(year: int, as_of: date | None, today: date | None = None) -> Period:
    """D is 31 December, today for the running year, or `as_of` (never past the year's end)."""
    today = today or business_today()
    year_end = date(year, 12, 31)
    end = as_of if as_of is not None else (today if today.year == year else year_end)
    return Period(year, date(year, 1, 1), min(end, year_end))


@dataclass
class Computed:
    value: int | float
    items: list[dict[str, Any]] = field(default_factory=list)


class Context:
    """One KPI request: the session, the period, and read models loaded at most once."""

    def __init__(self, session: Session, period: Period) -> None:
        self.session = session
        self.period = period
        self._cache: dict[str, object] = {}

    def memo(self, name: str, load: Callable[[], T]) -> T:
        """`load()` the first time `name` is asked for; the same object afterwards. One name, one type."""
        if name not in self._cache:
            self._cache[name] = load()
        return cast(T, self._cache[name])


def naive_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without their offset; every stored time is UTC."""
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
