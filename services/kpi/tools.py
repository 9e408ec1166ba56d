"""OD 3.1 tools and handbooks: the read model of the catalogue's events (`tool.published`,
`tool.updated`, `tool.retired` on communications.events) and its two KPIs — the tools disclosed in the
year, and the tools in the catalogue whose next review date has passed on day D.

Every event is kept as one row (keyed by its event id), with the business date it takes effect
(`published_on`, `updated_on`, `retired_on`): the catalogue as it stood on any day D is the latest row
per tool dated on or before D, so `as_of` and a report frozen earlier give what was known then. The
events of one tool share a key, so they arrive in order; two changes on one day are ordered by their
time. The catalogue holds tens of tools, so a KPI reads every row dated up to D."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Executable, select
from sqlmodel import Field, SQLModel, col

from services.kpi.core import Computed, Context, Handler, naive_utc, until
from services.kpi.store import ReadModels
from shared import events

PUBLISHED, UPDATED, RETIRED = "published", "updated", "retired"
_ORDER = {PUBLISHED: 0, UPDATED: 1, RETIRED: 2}


class KpiToolChange(SQLModel, table=True):
    """One event of the catalogue; a retirement carries only its date."""

    __tablename__ = "kpi_tool_changes"

    event_id: str = Field(primary_key=True, max_length=200)
    tool_id: uuid.UUID = Field(index=True)
    change: str = Field(max_length=10)  # published, updated, retired
    effective_on: date = Field(index=True)
    event_time: datetime
    title: str | None = Field(default=None, max_length=500)
    audience: str | None = Field(default=None, max_length=500)
    made_by: str | None = Field(default=None, max_length=20)
    url: str | None = Field(default=None, max_length=2000)
    version: str | None = Field(default=None, max_length=50)
    last_reviewed_on: date | None = None
    next_review_on: date | None = None


TABLES = (KpiToolChange,)


# --- projection ---------------------------------------------------------------------------------


def _change(store: ReadModels, event: events.Event) -> None:
    data = event.data
    if store.get(KpiToolChange, event.id) is not None:
        return
    values: dict[str, Any] = {}
    if isinstance(data, events.ToolPublished | events.ToolUpdated):
        values = {
            "title": data.title,
            "audience": data.audience,
            "made_by": data.made_by,
            "url": data.url,
            "version": data.version,
            "last_reviewed_on": data.last_reviewed_on,
            "next_review_on": data.next_review_on,
        }
    if isinstance(data, events.ToolPublished):
        change, effective_on = PUBLISHED, data.published_on
    elif isinstance(data, events.ToolUpdated):
        change, effective_on = UPDATED, data.updated_on
    else:
        assert isinstance(data, events.ToolRetired)
        change, effective_on = RETIRED, data.retired_on
    store.add(
        store.new(
            KpiToolChange,
            event_id=event.id,
            tool_id=data.tool_id,
            change=change,
            effective_on=effective_on,
            event_time=event.time,
            **values,
        )
    )


HANDLERS: dict[type[events.EventData], Handler] = {
    events.ToolPublished: _change,
    events.ToolUpdated: _change,
    events.ToolRetired: _change,
}

# keyed by the event's own id: the projection preloads the batch's ids
LOOKUPS: dict[type[SQLModel], tuple[type[events.EventData], ...]] = {
    KpiToolChange: (events.ToolPublished, events.ToolUpdated, events.ToolRetired),
}


# --- the catalogue on day D ---------------------------------------------------------------------


@dataclass(frozen=True)
class ToolOn:
    """A tool as the catalogue showed it on day D."""

    tool_id: uuid.UUID
    entry: KpiToolChange  # the latest published/updated row dated on or before D
    published_on: date
    retired_on: date | None  # on or before D

    def review_overdue(self, day: date) -> bool:
        """Still in the catalogue on `day`, and its next review date lies before it."""
        return (
            self.retired_on is None
            and self.entry.next_review_on is not None
            and self.entry.next_review_on < day
        )

    def item(self, day: date) -> dict[str, Any]:
        e = self.entry
        return {
            "title": e.title,
            "published_on": self.published_on.isoformat(),
            "made_by": e.made_by,
            "audience": e.audience,
            "version": e.version,
            "last_reviewed_on": e.last_reviewed_on.isoformat() if e.last_reviewed_on else None,
            "next_review_on": e.next_review_on.isoformat() if e.next_review_on else None,
            "review_overdue": self.review_overdue(day),
            "retired_on": self.retired_on.isoformat() if self.retired_on else None,
            "link": e.url,
            "tool_id": str(self.tool_id),
        }


@cache
def _changes_until_end() -> Executable:
    return select(KpiToolChange).where(until(col(KpiToolChange.effective_on)))


def catalogue_on(ctx: Context) -> list[ToolOn]:
    """Every tool published on or before D, as it stood on D (retired ones too, with their date)."""

    def load() -> list[ToolOn]:
        rows = ctx.session.scalars(_changes_until_end(), ctx.bounds).all()
        by_tool: dict[uuid.UUID, list[KpiToolChange]] = {}
        for row in rows:
            by_tool.setdefault(row.tool_id, []).append(row)
        found = []
        for tool_id, changes in by_tool.items():
            published = [c.effective_on for c in changes if c.change == PUBLISHED]
            entries = [c for c in changes if c.change != RETIRED]
            if not published or not entries:  # an update whose publication is dated later: not yet
                continue
            latest = max(
                entries, key=lambda c: (c.effective_on, naive_utc(c.event_time), _ORDER[c.change], c.event_id)
            )
            retired = [c.effective_on for c in changes if c.change == RETIRED]
            found.append(ToolOn(tool_id, latest, min(published), min(retired) if retired else None))
        return sorted(found, key=lambda t: (t.published_on, t.entry.title or "", str(t.tool_id)))

    return ctx.memo("tools", load)


def disclosed(ctx: Context) -> Computed:
    """OD3.1-hulpmiddelen: tools and handbooks published in the year (up to D); items: each tool as it
    stood on D, flagged where its next review date lies before D."""
    day = ctx.period.end
    items = [t.item(day) for t in catalogue_on(ctx) if ctx.period.contains(t.published_on)]
    return Computed(len(items), items)


def review_overdue(ctx: Context) -> Computed:
    """OD3.1-herziening: tools in the catalogue on D (published, whatever the year, and not retired)
    whose next review date lies before D; items: each of them."""
    day = ctx.period.end
    items = [t.item(day) for t in catalogue_on(ctx) if t.review_overdue(day)]
    return Computed(len(items), items)


KPIS = {
    "OD3.1-hulpmiddelen": disclosed,
    "OD3.1-herziening": review_overdue,
}
