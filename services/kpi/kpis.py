"""Computes the KPIs of one year on one date D from the read models (see the KPI table in DESIGN.md)."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from services.kpi import catalogue
from services.kpi.tables import KpiKnowledgeSharingFact, KpiMembershipFact, KpiOrganisation
from shared.events import LOCAL_GOVERNMENT_KINDS

BRUSSELS = ZoneInfo("Europe/Brussels")
UNKNOWN_KIND = "onbekend"
_RANK = {"joined": 0, "moved": 1, "left": 2, "erased": 3}


@dataclass(frozen=True)
class Period:
    year: int
    start: date
    end: date  # D: the last day that counts


def period(year: int, as_of: date | None, today: date | None = None) -> Period:
    today = today or datetime.now(BRUSSELS).date()
    year_end = date(year, 12, 31)
    end = as_of if as_of is not None else (today if today.year == year else year_end)
    return Period(year, date(year, 1, 1), min(end, year_end))


@dataclass
class Computed:
    value: float
    items: list[dict[str, Any]]


@dataclass
class MemberState:
    active: bool
    organisation_id: uuid.UUID | None


class Context:
    """Loads each read model at most once per request."""

    def __init__(self, session: Session, period: Period) -> None:
        self.session = session
        self.period = period
        self._cache: dict[str, Any] = {}

    def memo(self, name: str, load: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = load()
        return self._cache[name]

    def organisations(self) -> dict[uuid.UUID, KpiOrganisation]:
        return self.memo(  # type: ignore[no-any-return]
            "organisations",
            lambda: {o.organisation_id: o for o in self.session.execute(select(KpiOrganisation)).scalars()},
        )

    def kind_of(self, organisation_id: uuid.UUID | None) -> str:
        organisation = self.organisations().get(organisation_id) if organisation_id else None
        return organisation.kind if organisation else UNKNOWN_KIND

    def membership_facts(self) -> list[KpiMembershipFact]:
        return self.memo(  # type: ignore[no-any-return]
            "membership_facts",
            lambda: list(
                self.session.execute(
                    select(KpiMembershipFact).where(KpiMembershipFact.on_date <= self.period.end)
                ).scalars()
            ),
        )

    def members_on_end(self) -> dict[uuid.UUID, MemberState]:
        return self.memo("members_on_end", lambda: replay_memberships(self.membership_facts()))


def _order(fact: KpiMembershipFact | KpiKnowledgeSharingFact) -> tuple[date, datetime, int]:
    event_time = fact.event_time.replace(tzinfo=None) if fact.event_time.tzinfo else fact.event_time
    return (fact.on_date, event_time, _RANK.get(fact.fact, 9))


def replay_memberships(facts: list[KpiMembershipFact]) -> dict[uuid.UUID, MemberState]:
    """Each member's state after the given facts, taken in business order whatever their arrival order."""
    states: dict[uuid.UUID, MemberState] = {}
    erased: set[uuid.UUID] = set()
    for fact in sorted(facts, key=_order):
        if fact.member_id in erased:
            continue
        state = states.setdefault(fact.member_id, MemberState(False, None))
        if fact.fact == "joined":
            state.active, state.organisation_id = True, fact.organisation_id
        elif fact.fact == "moved":
            state.organisation_id = fact.organisation_id
        elif fact.fact == "left":
            state.active = False
        elif fact.fact == "erased":
            state.active = False
            erased.add(fact.member_id)
    return states


def members(ctx: Context) -> Computed:
    states = ctx.members_on_end()
    active = sum(1 for s in states.values() if s.active)
    # joined and left during the year, per organisation kind (the organisation at that moment)
    joined: Counter[str] = Counter()
    left: Counter[str] = Counter()
    current: dict[uuid.UUID, uuid.UUID | None] = {}
    gone: set[uuid.UUID] = set()
    for fact in sorted(ctx.membership_facts(), key=_order):
        if fact.member_id in gone and fact.fact != "joined":
            continue
        in_year = fact.on_date >= ctx.period.start
        if fact.fact == "joined":
            gone.discard(fact.member_id)
            current[fact.member_id] = fact.organisation_id
            if in_year:
                joined[ctx.kind_of(fact.organisation_id)] += 1
        elif fact.fact == "moved":
            current[fact.member_id] = fact.organisation_id
        elif fact.fact in ("left", "erased"):
            if fact.member_id not in current:
                continue
            organisation_id = fact.organisation_id or current.get(fact.member_id)
            gone.add(fact.member_id)
            if in_year:
                left[ctx.kind_of(organisation_id)] += 1
    kinds = sorted(set(joined) | set(left))
    items = [{"organisation_kind": k, "joined": joined[k], "left": left[k]} for k in kinds]
    return Computed(active, items)


def local_governments(ctx: Context) -> Computed:
    per_kind: dict[str, set[uuid.UUID]] = defaultdict(set)
    for state in ctx.members_on_end().values():
        if state.active and state.organisation_id is not None:
            per_kind[ctx.kind_of(state.organisation_id)].add(state.organisation_id)
    value = sum(len(per_kind.get(k, ())) for k in LOCAL_GOVERNMENT_KINDS)
    items = [{"organisation_kind": k, "organisations": len(v)} for k, v in sorted(per_kind.items())]
    return Computed(value, items)


def knowledge_sharing(ctx: Context) -> Computed:
    facts = ctx.session.execute(
        select(KpiKnowledgeSharingFact).where(KpiKnowledgeSharingFact.on_date <= ctx.period.end)
    ).scalars()
    inside: dict[uuid.UUID, bool] = {}
    erased: set[uuid.UUID] = set()
    for fact in sorted(facts, key=_order):
        if fact.member_id in erased:
            continue
        if fact.fact == "erased":
            erased.add(fact.member_id)
        inside[fact.member_id] = fact.fact == "joined"
    return Computed(sum(inside.values()), [])


KPIS: dict[str, Callable[[Context], Computed]] = {
    "OD1.1-leden": members,
    "OD1.1-besturen": local_governments,
    "OD1.1-kennisdeling": knowledge_sharing,
}


def report(session: Session, year: int, as_of: date | None, now: datetime) -> dict[str, Any]:
    p = period(year, as_of, now.astimezone(BRUSSELS).date())
    ctx = Context(session, p)
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
    return {"year": year, "as_of": p.end.isoformat(), "generated_at": now.isoformat(), "kpis": answers}
