"""What every KPI module shares: the period asked for, a per-request cache of read models, results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import String, bindparam, type_coerce
from sqlalchemy.sql.elements import ColumnElement
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
        self._sqlite = session.get_bind().dialect.name == "sqlite"

    def raw_key(self, value: Any) -> Any:
        """An id as `raw_id` columns hand it back on this database: to look rows read with `raw_id` up
        by a uuid.UUID the answer already holds."""
        return value.hex if self._sqlite else value

    @property
    def bounds(self) -> dict[str, date]:
        """The parameters of `within` and `until`: the period's first and last day."""
        return {"start": self.period.start, "end": self.period.end}

    def memo(self, name: str, load: Callable[[], T]) -> T:
        """`load()` the first time `name` is asked for; the same object afterwards. One name, one type."""
        if name not in self._cache:
            self._cache[name] = load()
        return cast(T, self._cache[name])


def naive_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without their offset; every stored time is UTC."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def raw_id(column: Any) -> ColumnElement[Any]:
    """A Uuid column read as the driver hands it back: on SQLite its 32 hex digits (a str), on
    PostgreSQL the driver's own uuid.UUID. For ids that are only compared with each other (or looked up
    with `Context.raw_key`): building a uuid.UUID for every row read was a fifth of a KPI answer's CPU
    (its registrations, attendances and feedback requests, bench.history_size at 1M records)."""
    return type_coerce(column, String)


# The KPIs' statements are built once (each in a function under functools.cache) with what changes
# from one answer to the next as bind parameters, given when they run: the period's bounds
# (`Context.bounds`), a list of ids (`among`). Built anew on every request, a statement cost ~0.2 ms of
# SQLAlchemy's construction and cache key: with the 18 of an answer, ~10 % of it. A statement object
# keeps its cache key (docs/BENCHMARKS.md, 2026-12-06).


def within(column: Any) -> ColumnElement[bool]:
    """`column` in the asked period, first and last day included (parameters: `Context.bounds`)."""
    return cast(ColumnElement[bool], column.between(bindparam("start"), bindparam("end")))


def until(column: Any) -> ColumnElement[bool]:
    """`column` on or before the period's last day (parameters: `Context.bounds`)."""
    return cast(ColumnElement[bool], column <= bindparam("end"))


def among(column: Any) -> ColumnElement[bool]:
    """`column IN` the list given as the parameter `ids` (expanded when the statement runs)."""
    return cast(ColumnElement[bool], column.in_(bindparam("ids", expanding=True)))
