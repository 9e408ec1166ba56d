"""OD 1.1 membership: the read models of organisations, members and the knowledge-sharing channel,
how events fill them, and the KPIs computed from them.

Facts are stored with their business dates, never as running totals, so any day can be asked for
(`as_of`) and the order in which records arrive never matters."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Field, SQLModel, col

from services.kpi.core import Computed, Context, Handler, naive_utc
from services.kpi.store import ReadModels
from shared import events
from shared.events import LOCAL_GOVERNMENT_KINDS

UNKNOWN_KIND = "onbekend"
_RANK = {"joined": 0, "moved": 1, "left": 2, "erased": 3}


class KpiOrganisation(SQLModel, table=True):
    """Latest known name and kind per organisation; the event with the latest `time` wins."""

    __tablename__ = "kpi_organisations"

    organisation_id: uuid.UUID = Field(primary_key=True)
    name: str = Field(max_length=500)
    kind: str = Field(max_length=60)
    nis_code: str | None = Field(default=None, max_length=5)
    registered_on: date | None = None
    version_time: datetime


class KpiMembershipFact(SQLModel, table=True):
    """One row per membership event: joined, moved, left or erased, on its business date."""

    __tablename__ = "kpi_membership_facts"

    event_id: str = Field(primary_key=True, max_length=200)
    member_id: uuid.UUID = Field(index=True)
    fact: str = Field(max_length=20)
    on_date: date = Field(index=True)
    organisation_id: uuid.UUID | None = None
    event_time: datetime


class KpiKnowledgeSharingFact(SQLModel, table=True):
    """Joined or left the online knowledge-sharing channel (erasure ends it too)."""

    __tablename__ = "kpi_knowledge_sharing_facts"

    event_id: str = Field(primary_key=True, max_length=200)
    member_id: uuid.UUID = Field(index=True)
    fact: str = Field(max_length=20)
    on_date: date = Field(index=True)
    event_time: datetime


TABLES = (KpiOrganisation, KpiMembershipFact, KpiKnowledgeSharingFact)


# --- projection ---------------------------------------------------------------------------------


def _organisation(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.OrganisationRegistered | events.OrganisationUpdated)
    row = store.get(KpiOrganisation, data.organisation_id)
    registered_on = getattr(data, "registered_on", None)
    if row is None:
        store.add(
            store.new(
                KpiOrganisation,
                organisation_id=data.organisation_id,
                name=data.name,
                kind=data.kind,
                nis_code=data.nis_code,
                registered_on=registered_on,
                version_time=event.time,
            )
        )
        return
    if registered_on is not None:
        row.registered_on = registered_on
    if naive_utc(event.time) >= naive_utc(row.version_time):
        row.name, row.kind, row.nis_code = data.name, data.kind, data.nis_code
        row.version_time = event.time
    store.add(row)


def _membership(store: ReadModels, event: events.Event) -> None:
    data = event.data
    organisation_id: uuid.UUID | None
    if isinstance(data, events.MemberJoined):
        fact, on, organisation_id = "joined", data.joined_on, data.organisation_id
    elif isinstance(data, events.MemberMoved):
        fact, on, organisation_id = "moved", data.moved_on, data.to_organisation_id
    elif isinstance(data, events.MemberLeft):
        fact, on, organisation_id = "left", data.left_on, data.organisation_id
    elif isinstance(data, events.MemberErased):
        fact, on, organisation_id = "erased", data.erased_on, None
        store.add(
            store.new(
                KpiKnowledgeSharingFact,
                event_id=event.id,
                member_id=data.member_id,
                fact="erased",
                on_date=on,
                event_time=event.time,
            )
        )
    else:
        raise TypeError(type(data))
    store.add(
        store.new(
            KpiMembershipFact,
            event_id=event.id,
            member_id=data.member_id,
            fact=fact,
            on_date=on,
            organisation_id=organisation_id,
            event_time=event.time,
        )
    )


def _knowledge_sharing(store: ReadModels, event: events.Event) -> None:
    data = event.data
    if isinstance(data, events.KnowledgeSharingJoined):
        fact, on = "joined", data.joined_on
    elif isinstance(data, events.KnowledgeSharingLeft):
        fact, on = "left", data.left_on
    else:
        raise TypeError(type(data))
    store.add(
        store.new(
            KpiKnowledgeSharingFact,
            event_id=event.id,
            member_id=data.member_id,
            fact=fact,
            on_date=on,
            event_time=event.time,
        )
    )


HANDLERS: dict[type[events.EventData], Handler] = {
    events.OrganisationRegistered: _organisation,
    events.OrganisationUpdated: _organisation,
    events.MemberJoined: _membership,
    events.MemberMoved: _membership,
    events.MemberLeft: _membership,
    events.MemberErased: _membership,
    events.KnowledgeSharingJoined: _knowledge_sharing,
    events.KnowledgeSharingLeft: _knowledge_sharing,
}

# The rows these handlers look up, and the events that name them (by the key's field, or by their own
# id for an `event_id` key): the projection preloads them per batch.
LOOKUPS: dict[type[SQLModel], tuple[type[events.EventData], ...]] = {
    KpiOrganisation: (events.OrganisationRegistered, events.OrganisationUpdated),
}


# --- queries ------------------------------------------------------------------------------------


class MemberState:
    __slots__ = ("active", "organisation_id")

    def __init__(self) -> None:
        self.active = False
        self.organisation_id: uuid.UUID | None = None


def _order(fact: KpiMembershipFact | KpiKnowledgeSharingFact) -> tuple[date, datetime, int]:
    return (fact.on_date, naive_utc(fact.event_time), _RANK.get(fact.fact, 9))


def organisations(ctx: Context) -> dict[uuid.UUID, KpiOrganisation]:
    return ctx.memo(
        "organisations",
        lambda: {o.organisation_id: o for o in ctx.session.execute(select(KpiOrganisation)).scalars()},
    )


def kind_of(ctx: Context, organisation_id: uuid.UUID | None) -> str:
    organisation = organisations(ctx).get(organisation_id) if organisation_id else None
    return organisation.kind if organisation else UNKNOWN_KIND


def membership_facts(ctx: Context) -> list[KpiMembershipFact]:
    """Facts up to D, in business order (date, then event time) whatever order they arrived in."""

    def load() -> list[KpiMembershipFact]:
        rows = ctx.session.execute(
            select(KpiMembershipFact).where(col(KpiMembershipFact.on_date) <= ctx.period.end)
        ).scalars()
        return sorted(rows, key=_order)

    return ctx.memo("membership_facts", load)


def member_states(ctx: Context) -> dict[uuid.UUID, MemberState]:
    """Each member on D: active or not, and at which organisation (following moves)."""

    def replay() -> dict[uuid.UUID, MemberState]:
        states: dict[uuid.UUID, MemberState] = {}
        erased: set[uuid.UUID] = set()
        for fact in membership_facts(ctx):
            if fact.member_id in erased:
                continue
            state = states.setdefault(fact.member_id, MemberState())
            if fact.fact == "joined":
                state.active, state.organisation_id = True, fact.organisation_id
            elif fact.fact == "moved":
                state.organisation_id = fact.organisation_id
            else:  # left or erased
                state.active = False
                if fact.fact == "erased":
                    erased.add(fact.member_id)
        return states

    return ctx.memo("member_states", replay)


def members(ctx: Context) -> Computed:
    """OD1.1-leden: members active on D; items: joined and left during the year per organisation kind."""
    joined: Counter[str] = Counter()
    left: Counter[str] = Counter()
    organisation_of: dict[uuid.UUID, uuid.UUID | None] = {}
    inside: set[uuid.UUID] = set()
    erased: set[uuid.UUID] = set()
    for fact in membership_facts(ctx):
        if fact.member_id in erased:
            continue
        in_year = fact.on_date >= ctx.period.start
        if fact.fact == "joined":
            inside.add(fact.member_id)
            organisation_of[fact.member_id] = fact.organisation_id
            if in_year:
                joined[kind_of(ctx, fact.organisation_id)] += 1
        elif fact.fact == "moved":
            organisation_of[fact.member_id] = fact.organisation_id
        else:  # left or erased: counted once, at the organisation the member was with
            if fact.fact == "erased":
                erased.add(fact.member_id)
            if fact.member_id not in inside:
                continue
            inside.discard(fact.member_id)
            if in_year:
                left[kind_of(ctx, fact.organisation_id or organisation_of.get(fact.member_id))] += 1
    active = sum(1 for s in member_states(ctx).values() if s.active)
    kinds = sorted(set(joined) | set(left))
    return Computed(active, [{"organisation_kind": k, "joined": joined[k], "left": left[k]} for k in kinds])


def local_governments(ctx: Context) -> Computed:
    """OD1.1-besturen: local governments and ISVs with an active member on D; items: per kind."""
    per_kind: dict[str, set[uuid.UUID]] = defaultdict(set)
    for state in member_states(ctx).values():
        if state.active and state.organisation_id is not None:
            per_kind[kind_of(ctx, state.organisation_id)].add(state.organisation_id)
    value = sum(len(per_kind.get(k, ())) for k in LOCAL_GOVERNMENT_KINDS)
    items = [{"organisation_kind": k, "organisations": len(v)} for k, v in sorted(per_kind.items())]
    return Computed(value, items)


def knowledge_sharing(ctx: Context) -> Computed:
    """OD1.1-kennisdeling: members in the knowledge-sharing channel on D."""
    facts = ctx.session.execute(
        select(KpiKnowledgeSharingFact).where(col(KpiKnowledgeSharingFact.on_date) <= ctx.period.end)
    ).scalars()
    inside: dict[uuid.UUID, bool] = {}
    erased: set[uuid.UUID] = set()
    for fact in sorted(facts, key=_order):
        if fact.member_id in erased:
            continue
        if fact.fact == "erased":
            erased.add(fact.member_id)
        inside[fact.member_id] = fact.fact == "joined"
    return Computed(sum(inside.values()))


KPIS = {
    "OD1.1-leden": members,
    "OD1.1-besturen": local_governments,
    "OD1.1-kennisdeling": knowledge_sharing,
}
