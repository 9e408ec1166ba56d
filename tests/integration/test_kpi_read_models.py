"""The KPIs answered from the read models the projector keeps per member (spells, counted changes; see
services.kpi.membership) give, on every day, exactly what folding every stored fact up to that day gave
— the way the KPIs were computed per request before (issue 14). The reference below is that fold, kept
verbatim as the oracle; a random history arrives in random order and batches, partly redelivered, on
SQLite and PostgreSQL. The migration's backfill (refold_everyone) derives the same rows again."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import delete, select
from sqlmodel import Session, col

from services.kpi import membership, projection
from services.kpi.app import MIGRATIONS
from services.kpi.core import Context, Period, naive_utc
from services.kpi.membership import (
    KpiKnowledgeSharingFact,
    KpiKnowledgeSharingSpell,
    KpiMemberChange,
    KpiMemberCount,
    KpiMembershipFact,
    KpiMemberSpell,
    KpiOrganisation,
    KpiOrganisationCount,
    KpiOrganisationSpell,
    KpiSharingCount,
)
from shared import events
from shared.db import make_engine, migrate
from shared.events import LOCAL_GOVERNMENT_KINDS

pytestmark = pytest.mark.integration

T0 = datetime(2023, 1, 1, tzinfo=UTC)
ORGANISATIONS = {
    uuid.UUID(int=1): "lokaal_bestuur",
    uuid.UUID(int=2): "intergemeentelijk_samenwerkingsverband",
    uuid.UUID(int=3): "middenveldorganisatie",
    uuid.UUID(int=4): "lokaal_bestuur",
}
NEVER_REGISTERED = uuid.UUID(int=9)  # members join it, its kind is not known: "onbekend"


def _history(seed: int) -> list[events.EventData]:
    """Members joining, moving, leaving, rejoining, erased; in and out of knowledge sharing; several facts
    of one member on one day. Business days are drawn from a small set, so they often coincide."""
    rng = random.Random(seed)
    days = sorted({date(2023, 6, 1) + timedelta(days=rng.randrange(0, 940)) for _ in range(60)})
    orgs = [*ORGANISATIONS, NEVER_REGISTERED]
    data: list[events.EventData] = [
        events.OrganisationRegistered(organisation_id=o, name=f"Org {o.int}", kind=k, registered_on=days[0])
        for o, k in ORGANISATIONS.items()
    ]
    data.append(
        events.OrganisationUpdated(organisation_id=uuid.UUID(int=3), name="Org 3", kind="lokaal_bestuur")
    )
    for n in range(60):
        member = uuid.UUID(int=1000 + n)
        for _ in range(rng.randint(1, 7)):
            day = rng.choice(days)
            org = rng.choice(orgs)
            pick = rng.random()
            if pick < 0.35:
                data.append(events.MemberJoined(member_id=member, organisation_id=org, joined_on=day))
            elif pick < 0.5:
                data.append(
                    events.MemberMoved(
                        member_id=member,
                        from_organisation_id=org,
                        to_organisation_id=rng.choice(orgs),
                        moved_on=day,
                    )
                )
            elif pick < 0.65:
                data.append(events.MemberLeft(member_id=member, organisation_id=org, left_on=day))
            elif pick < 0.7:
                data.append(events.MemberErased(member_id=member, erased_on=day))
            elif pick < 0.85:
                data.append(events.KnowledgeSharingJoined(member_id=member, joined_on=day))
            else:
                data.append(events.KnowledgeSharingLeft(member_id=member, left_on=day))
    return data


def _records(data: list[events.EventData], seed: int) -> list[ConsumerRecord[bytes, bytes]]:
    """Each event with its own envelope time (unrelated to its business day), in a random order, a
    third delivered twice."""
    rng = random.Random(seed)
    minutes = rng.sample(range(100_000), len(data))
    values = [
        events.encode(events.new_envelope(d, source="/test", time=T0 + timedelta(minutes=m)))
        for d, m in zip(data, minutes, strict=True)
    ]
    values += rng.sample(values, len(values) // 3)
    rng.shuffle(values)
    return [
        ConsumerRecord("t", 0, offset, 0, 0, None, value, None, 0, len(value), ())
        for offset, value in enumerate(values)
    ]


# --- the reference: the fold of every fact up to D, as the KPIs did it per request before ---------

_RANK = {"joined": 0, "moved": 1, "left": 2, "erased": 3}


def _order(fact: Any) -> tuple[date, datetime, int]:
    return (fact.on_date, naive_utc(fact.event_time), _RANK.get(fact.fact, 9))


def _reference(session: Session, period: Period) -> dict[str, tuple[Any, Any]]:
    kinds = {o.organisation_id: o.kind for o in session.scalars(select(KpiOrganisation))}

    def kind_of(organisation_id: uuid.UUID | None) -> str:
        return kinds.get(organisation_id, "onbekend") if organisation_id else "onbekend"

    facts = sorted(
        session.scalars(select(KpiMembershipFact).where(col(KpiMembershipFact.on_date) <= period.end)),
        key=_order,
    )
    states: dict[uuid.UUID, list[Any]] = {}  # member -> [active, organisation]
    erased: set[uuid.UUID] = set()
    for fact in facts:
        if fact.member_id in erased:
            continue
        state = states.setdefault(fact.member_id, [False, None])
        if fact.fact == "joined":
            state[0], state[1] = True, fact.organisation_id
        elif fact.fact == "moved":
            state[1] = fact.organisation_id
        else:
            state[0] = False
            if fact.fact == "erased":
                erased.add(fact.member_id)
    joined: Counter[str] = Counter()
    left: Counter[str] = Counter()
    organisation_of: dict[uuid.UUID, uuid.UUID | None] = {}
    inside: set[uuid.UUID] = set()
    erased = set()
    for fact in facts:
        if fact.member_id in erased:
            continue
        in_year = fact.on_date >= period.start
        if fact.fact == "joined":
            inside.add(fact.member_id)
            organisation_of[fact.member_id] = fact.organisation_id
            if in_year:
                joined[kind_of(fact.organisation_id)] += 1
        elif fact.fact == "moved":
            organisation_of[fact.member_id] = fact.organisation_id
        else:
            if fact.fact == "erased":
                erased.add(fact.member_id)
            if fact.member_id not in inside:
                continue
            inside.discard(fact.member_id)
            if in_year:
                left[kind_of(fact.organisation_id or organisation_of.get(fact.member_id))] += 1
    leden = sorted(set(joined) | set(left))
    per_kind: dict[str, set[uuid.UUID]] = defaultdict(set)
    for active, organisation_id in states.values():
        if active and organisation_id is not None:
            per_kind[kind_of(organisation_id)].add(organisation_id)
    sharing_facts = session.scalars(
        select(KpiKnowledgeSharingFact).where(col(KpiKnowledgeSharingFact.on_date) <= period.end)
    )
    sharing: dict[uuid.UUID, bool] = {}
    erased = set()
    for fact in sorted(sharing_facts, key=_order):
        if fact.member_id in erased:
            continue
        if fact.fact == "erased":
            erased.add(fact.member_id)
        sharing[fact.member_id] = fact.fact == "joined"
    return {
        "OD1.1-leden": (
            sum(1 for active, _ in states.values() if active),
            [{"organisation_kind": k, "joined": joined[k], "left": left[k]} for k in leden],
        ),
        "OD1.1-besturen": (
            sum(len(per_kind.get(k, ())) for k in LOCAL_GOVERNMENT_KINDS),
            [{"organisation_kind": k, "organisations": len(v)} for k, v in sorted(per_kind.items())],
        ),
        "OD1.1-kennisdeling": (sum(sharing.values()), []),
    }


def _answers(session: Session, period: Period) -> dict[str, tuple[Any, Any]]:
    ctx = Context(session, period)
    return {
        code: (computed.value, computed.items)
        for code, compute in membership.KPIS.items()
        for computed in [compute(ctx)]
    }


def _every_day() -> list[Period]:
    periods = [Period(2025, date(2025, 1, 1), date(2025, 1, 1) + timedelta(days=n)) for n in range(365)]
    periods += [
        Period(2024, date(2024, 1, 1), date(2024, 1, 1) + timedelta(days=n)) for n in range(0, 366, 5)
    ]
    return [*periods, Period(2023, date(2023, 1, 1), date(2023, 12, 31))]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_day_answers_what_the_fold_of_every_fact_gives(database_url: str, seed: int) -> None:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    tracked = projection.projector(topics=["t"], engine=engine, batch_size=1000)
    records = _records(_history(seed), seed)
    rng = random.Random(seed)
    start = 0
    while start < len(records):  # batches of random size, so one member's facts span several
        size = rng.randint(1, 40)
        asyncio.run(tracked.process(records[start : start + size], None))  # type: ignore[arg-type]
        start += size
    try:
        with Session(engine) as session:
            checked = Counter[str]()
            for period in _every_day():
                expected = _reference(session, period)
                assert _answers(session, period) == expected, period
                checked.update(code for code, (value, _items) in expected.items() if value)
            # the history is not trivial: every KPI is above zero on some of the days
            assert set(checked) == set(membership.KPIS)
            # what a migration derives from the stored facts is what the projector kept
            before = {model: _rows(session, model) for model in _DERIVED}
            for model in _DERIVED:
                session.execute(delete(model))
            membership.refold_everyone(session.connection())
            assert {model: _rows(session, model) for model in _DERIVED} == before
            assert all(before.values())
            # and what the migrations adding the counts derive from the spells
            for spells, counts in _COUNTED:
                session.execute(delete(counts))
                membership.count_everyone(session.connection(), spells, counts)
                assert _rows(session, counts) == before[counts]
    finally:
        engine.dispose()


def test_an_organisation_whose_kind_changes_after_its_members_joined_is_counted_under_the_new_kind(
    database_url: str,
) -> None:
    """The kind comes (registered) or changes (updated) in a batch without any membership event: the
    organisations' counts move to it all the same, for every day."""
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    tracked = projection.projector(topics=["t"], engine=engine, batch_size=1000)
    organisation, joined_on = uuid.uuid4(), date(2024, 3, 1)
    steps: list[tuple[events.EventData, str, int]] = [  # the event, then the kind counted, and besturen
        (
            events.MemberJoined(member_id=uuid.uuid4(), organisation_id=organisation, joined_on=joined_on),
            "onbekend",
            0,
        ),
        (
            events.OrganisationRegistered(
                organisation_id=organisation, name="Gent", kind="lokaal_bestuur", registered_on=joined_on
            ),
            "lokaal_bestuur",
            1,
        ),
        (
            events.OrganisationUpdated(
                organisation_id=organisation, name="Gent", kind="middenveldorganisatie"
            ),
            "middenveldorganisatie",
            0,
        ),
    ]
    try:
        for offset, (data, kind, counted) in enumerate(steps):
            value = events.encode(
                events.new_envelope(data, source="/test", time=T0 + timedelta(minutes=offset))
            )
            record = ConsumerRecord("t", 0, offset, 0, 0, None, value, None, 0, len(value), ())
            asyncio.run(tracked.process([record], None))  # type: ignore[arg-type]
            with Session(engine) as session:
                for day in (joined_on, date(2025, 12, 31)):
                    period = Period(day.year, date(day.year, 1, 1), day)
                    answers = _answers(session, period)
                    assert answers["OD1.1-besturen"] == (
                        counted,
                        [{"organisation_kind": kind, "organisations": 1}],
                    )
                    assert answers == _reference(session, period)
    finally:
        engine.dispose()


_DERIVED = (
    KpiMemberSpell,
    KpiMemberChange,
    KpiOrganisationSpell,
    KpiKnowledgeSharingSpell,
    KpiMemberCount,
    KpiSharingCount,
    KpiOrganisationCount,
)
# each counts table with the spells it counts
_COUNTED = (
    (KpiMemberSpell, KpiMemberCount),
    (KpiKnowledgeSharingSpell, KpiSharingCount),
    (KpiOrganisationSpell, KpiOrganisationCount),
)
_COUNTS = tuple(counts for _spells, counts in _COUNTED)


def _rows(session: Session, model: Any) -> list[tuple[Any, ...]]:
    table = model.__table__
    statement = select(table)
    if model in _COUNTS:  # a day whose changes cancelled out may keep its row, at 0
        statement = statement.where(table.c.delta != 0)
    return sorted(tuple(row) for row in session.execute(statement))
