"""OD 1.1 membership: the read models of organisations, members and the knowledge-sharing channel,
how events fill them, and the KPIs computed from them.

Facts are stored with their business dates, never as running totals, so any day can be asked for
(`as_of`) and the order in which records arrive never matters. Folding every fact up to the day asked
on each request made an answer cost as much as the history (issue 14), so the projector also keeps
what that fold yields per member, refolded from all of that member's facts whenever one of its events
arrives (so a late or out-of-order fact corrects it):
- spells: the days a member is active, from one business day to the next day its state changes, with
  the organisation it is with (`kpi_member_spells`); likewise in the knowledge-sharing channel
  (`kpi_knowledge_sharing_spells`);
- per organisation, the union of its members' spells (`kpi_organisation_spells`): "organisations with
  an active member on D" counts organisations, not members;
- changes: the joins and leaves the KPI counts, on their business days, with the organisation at the
  time (`kpi_member_changes`): "joined and left in year Y up to D" is one indexed GROUP BY;
- the net change of the number of active members per day and per year (`kpi_member_counts`), kept
  with the spells: "how many are active on D" adds up the years before D's and D's year's days up to
  D, a few hundred rows however long the history, where counting the spells around D reads one row
  per active member; likewise for the knowledge-sharing channel (`kpi_sharing_counts`) and for the
  organisations with an active member, per organisation kind (`kpi_organisation_counts`). An
  organisation's spells carry the kind they are counted under; when its kind changes (or becomes
  known), the batch that says so derives its spells again and moves their count to the new kind.
The fold is the one the KPIs did per request before (same order: business day, event time, joined
before moved before left before erased; after an erasure nothing of the member counts)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Date,
    Executable,
    Index,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    cast,
    func,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel, col

from services.kpi.core import Computed, Context, Handler, among, naive_utc, within
from services.kpi.store import ReadModels
from shared import events
from shared.arrays import delete_among, insert_rows, select_among
from shared.db import insert_for
from shared.events import LOCAL_GOVERNMENT_KINDS

UNKNOWN_KIND = "onbekend"
_RANK = {"joined": 0, "moved": 1, "left": 2, "erased": 3}
OPEN_END = date(9999, 12, 31)  # the end of a spell that has not ended (indexable, unlike NULL)
_CHUNK = 500  # member ids per statement: well under SQLite's and PostgreSQL's parameter limits


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


class KpiMemberSpell(SQLModel, table=True):
    """A member active from `from_on` to the day before `until_on` (OPEN_END: still active), with the
    organisation it is with then: derived from the member's facts (see the module's docstring)."""

    __tablename__ = "kpi_member_spells"
    __table_args__ = (
        Index("ix_kpi_member_spells_on", "until_on", "from_on", "organisation_id"),
        Index("ix_kpi_member_spells_organisation", "organisation_id", "from_on", "until_on"),
    )

    member_id: uuid.UUID = Field(primary_key=True)
    from_on: date = Field(primary_key=True)
    until_on: date
    organisation_id: uuid.UUID | None = None


class KpiMemberChange(SQLModel, table=True):
    """A join or a leave the OD1.1-leden items count, on its business day, at the organisation the
    member joined or left: derived from the member's facts."""

    __tablename__ = "kpi_member_changes"

    member_id: uuid.UUID = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    on_date: date = Field(index=True)
    change: str = Field(max_length=20)  # joined | left
    organisation_id: uuid.UUID | None = None


class KpiOrganisationSpell(SQLModel, table=True):
    """An organisation with at least one active member from `from_on` to the day before `until_on`:
    the union of its members' spells, derived again whenever one of them changes or the organisation's
    kind does. `kind` is the kind the spell is counted under in `kpi_organisation_counts`: the
    organisation's kind when the spells were last derived (UNKNOWN_KIND while it is not known)."""

    __tablename__ = "kpi_organisation_spells"

    organisation_id: uuid.UUID = Field(primary_key=True)
    from_on: date = Field(primary_key=True)
    until_on: date
    # no default: rows derived by a migration from before this column exist without it
    kind: str = Field(max_length=60)


class DailyCounts(SQLModel):
    """The columns of a maintained count: the net change of a number (spells starting minus spells
    ending) per day (`grain` "d") and per year (`grain` "y", on 1 January). The number on D = the years'
    rows before D's year + the days' rows of D's year up to D. A spell still open has no end to count."""

    grain: str = Field(primary_key=True, max_length=1)
    on_date: date = Field(primary_key=True)
    delta: int


class KpiMemberCount(DailyCounts, table=True):
    """The number of active members (`DailyCounts`)."""

    __tablename__ = "kpi_member_counts"


class KpiSharingCount(DailyCounts, table=True):
    """The number of members in the knowledge-sharing channel (`DailyCounts`)."""

    __tablename__ = "kpi_sharing_counts"


class KpiOrganisationCount(DailyCounts, table=True):
    """The number of organisations with an active member, per kind they are counted under
    (`DailyCounts`, a row per kind)."""

    __tablename__ = "kpi_organisation_counts"

    kind: str = Field(primary_key=True, max_length=60)


class KpiKnowledgeSharingSpell(SQLModel, table=True):
    """A member in the knowledge-sharing channel from `from_on` to the day before `until_on`."""

    __tablename__ = "kpi_knowledge_sharing_spells"

    member_id: uuid.UUID = Field(primary_key=True)
    from_on: date = Field(primary_key=True)
    until_on: date


TABLES = (
    KpiOrganisation,
    KpiMembershipFact,
    KpiKnowledgeSharingFact,
    KpiMemberSpell,
    KpiMemberChange,
    KpiOrganisationSpell,
    KpiKnowledgeSharingSpell,
    KpiMemberCount,
    KpiSharingCount,
    KpiOrganisationCount,
)


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


# --- what the facts of one member yield (refolded per batch) -------------------------------------

_MEMBERSHIP_EVENTS = (events.MemberJoined, events.MemberMoved, events.MemberLeft, events.MemberErased)
_SHARING_EVENTS = (events.KnowledgeSharingJoined, events.KnowledgeSharingLeft, events.MemberErased)
_ORGANISATION_EVENTS = (events.OrganisationRegistered, events.OrganisationUpdated)
# the same as sets of exact types, for `fold_batch` (the catalogue's payload classes are not subclassed)
_MEMBERSHIP_TYPES: frozenset[type[events.EventData]] = frozenset(_MEMBERSHIP_EVENTS)
_SHARING_TYPES: frozenset[type[events.EventData]] = frozenset(_SHARING_EVENTS)
_ORGANISATION_TYPES: frozenset[type[events.EventData]] = frozenset(_ORGANISATION_EVENTS)
_FOLDED_EVENTS = _MEMBERSHIP_TYPES | _SHARING_TYPES | _ORGANISATION_TYPES


def _fact_order(fact: Any) -> tuple[date, datetime, int, str]:
    """Business day, then event time, then joined < moved < left < erased; the event id last, so that
    even facts alike in all of that fold the same way every time."""
    return (fact.on_date, naive_utc(fact.event_time), _RANK.get(fact.fact, 9), fact.event_id)


def _days(facts: Sequence[Any]) -> Iterable[tuple[date, date, list[Any]]]:
    """The facts in fold order, grouped per business day: (day, the next day with a fact or OPEN_END,
    that day's facts)."""
    ordered = sorted(facts, key=_fact_order)
    groups: list[tuple[date, list[Any]]] = []
    for fact in ordered:
        if groups and groups[-1][0] == fact.on_date:
            groups[-1][1].append(fact)
        else:
            groups.append((fact.on_date, [fact]))
    for index, (day, group) in enumerate(groups):
        following = groups[index + 1][0] if index + 1 < len(groups) else OPEN_END
        yield day, following, group


Rows = list[dict[str, Any]]


def fold_member(member_id: uuid.UUID, facts: Sequence[Any]) -> tuple[Rows, Rows]:
    """One member's spells and counted changes from all its membership facts (any order)."""
    spells: Rows = []
    changes: Rows = []
    active, erased = False, False
    organisation_id: uuid.UUID | None = None
    for day, following, group in _days(facts):
        for fact in group:
            if erased:
                break
            if fact.fact == "joined":
                active, organisation_id = True, fact.organisation_id
                changes.append({"on_date": day, "change": "joined", "organisation_id": organisation_id})
            elif fact.fact == "moved":
                organisation_id = fact.organisation_id
            else:  # left or erased: a leave counted once, at the organisation the member was with
                erased = fact.fact == "erased"
                if active:
                    left_from = fact.organisation_id or organisation_id
                    changes.append({"on_date": day, "change": "left", "organisation_id": left_from})
                active = False
        if active:
            spells.append(
                {
                    "member_id": member_id,
                    "from_on": day,
                    "until_on": following,
                    "organisation_id": organisation_id,
                }
            )
    for seq, change in enumerate(changes):
        change.update(member_id=member_id, seq=seq)
    return spells, changes


def fold_sharing(member_id: uuid.UUID, facts: Sequence[Any]) -> list[dict[str, Any]]:
    """One member's spells in the knowledge-sharing channel from all its facts (any order)."""
    spells: Rows = []
    inside, erased = False, False
    for day, following, group in _days(facts):
        for fact in group:
            if erased:
                break
            erased = fact.fact == "erased"
            inside = fact.fact == "joined"
        if inside:
            spells.append({"member_id": member_id, "from_on": day, "until_on": following})
    return spells


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


def _facts_of(
    connection: Connection, model: type[SQLModel], ids: list[uuid.UUID], pending: Mapping[str, Any]
) -> dict[uuid.UUID, list[Any]]:
    """The stored facts of these members, with `pending` (facts by event id not written yet, the
    batch's own) in place of stored ones of the same event id."""
    table = _table(model)
    wanted: tuple[str, ...] = ("member_id", "event_id", "fact", "on_date", "event_time")
    if "organisation_id" in table.c:
        wanted += ("organisation_id",)
    per_member: dict[uuid.UUID, list[Any]] = defaultdict(list)
    statement = select_among(connection.dialect.name, table, wanted, "member_id")
    for row in connection.execute(statement, {"ids": ids}):
        if row.event_id not in pending:
            per_member[row.member_id].append(row)
    if pending:
        chunk = set(ids)
        for fact in pending.values():
            if fact.member_id in chunk:
                per_member[fact.member_id].append(fact)
    return per_member


def _replace(connection: Connection, model: type[SQLModel], ids: list[uuid.UUID], rows: Rows) -> None:
    table = _table(model)
    statement = delete_among(connection.dialect.name, table, "member_id")
    for start in range(0, len(ids), _CHUNK):
        connection.execute(statement, {"ids": ids[start : start + _CHUNK]})
    insert_rows(connection, table, rows)


@dataclass
class Refold:
    """What `refold` derives for some members, read and folded (`fold`), and what stores it (`write`).
    Apart, so that the reading part can run before a write lock (services.kpi.projection): a member's
    facts and spells are written only through its own events, which share one Kafka key."""

    members: list[uuid.UUID]
    spells: Rows
    changes: Rows
    sharing: list[uuid.UUID]
    sharing_spells: Rows
    affected: set[uuid.UUID | None]  # the organisations whose spells to derive again
    deltas: dict[date, int]
    sharing_deltas: dict[date, int]

    def write(self, connection: Connection, organisations: bool = True, counts: bool = True) -> None:
        """The members' spells and changes replaced, then the organisations' spells derived again from
        their members' spells (these and the others'), then the counts moved."""
        _replace(connection, KpiMemberSpell, self.members, self.spells)
        _replace(connection, KpiMemberChange, self.members, self.changes)
        if organisations:
            # once for the whole batch, after every member's spells: its locks are then taken in one go
            refold_organisations(connection, self.affected, counts)
        if counts:
            _count(connection, self.deltas, KpiMemberCount)
        _replace(connection, KpiKnowledgeSharingSpell, self.sharing, self.sharing_spells)
        if counts:
            _count(connection, self.sharing_deltas, KpiSharingCount)


def fold(
    connection: Connection,
    membership: Iterable[uuid.UUID],
    sharing: Iterable[uuid.UUID],
    counts: bool = True,
    renamed: Iterable[uuid.UUID] = (),
    pending: Mapping[type[SQLModel], Mapping[str, Any]] | None = None,
) -> Refold:
    """Reads these members' facts (with the `pending` ones, by table and event id: a batch's facts
    not written yet) and their stored spells, and folds them: what `Refold.write` stores."""
    pending = pending or {}
    members = sorted(set(membership))
    affected: set[uuid.UUID | None] = set(renamed)
    deltas: dict[date, int] = defaultdict(int)
    spells: Rows = []
    changes: Rows = []
    member_spells_table = _table(KpiMemberSpell)
    dialect = connection.dialect.name
    for start in range(0, len(members), _CHUNK):
        ids = members[start : start + _CHUNK]
        facts = _facts_of(connection, KpiMembershipFact, ids, pending.get(KpiMembershipFact, {}))
        for member_id in ids:
            member_spells, member_changes = fold_member(member_id, facts.get(member_id, []))
            spells += member_spells
            changes += member_changes
        for organisation_id, from_on, until_on in connection.execute(
            select_among(
                dialect, member_spells_table, ("organisation_id", "from_on", "until_on"), "member_id"
            ),
            {"ids": ids},
        ):
            affected.add(organisation_id)
            _tally(deltas, from_on, until_on, -1)
    for spell in spells:
        affected.add(spell["organisation_id"])
        _tally(deltas, spell["from_on"], spell["until_on"], +1)
    sharers = sorted(set(sharing))
    sharing_deltas: dict[date, int] = defaultdict(int)
    sharing_spells: Rows = []
    sharing_spells_table = _table(KpiKnowledgeSharingSpell)
    for start in range(0, len(sharers), _CHUNK):
        ids = sharers[start : start + _CHUNK]
        facts = _facts_of(connection, KpiKnowledgeSharingFact, ids, pending.get(KpiKnowledgeSharingFact, {}))
        rows = [row for member_id in ids for row in fold_sharing(member_id, facts.get(member_id, []))]
        if counts:
            _spell_deltas(connection, sharing_spells_table, ids, rows, sharing_deltas)
        sharing_spells += rows
    return Refold(members, spells, changes, sharers, sharing_spells, affected, deltas, sharing_deltas)


def refold(
    connection: Connection,
    membership: Iterable[uuid.UUID],
    sharing: Iterable[uuid.UUID],
    organisations: bool = True,
    counts: bool = True,
    renamed: Iterable[uuid.UUID] = (),
) -> None:
    """Derives again the spells and changes of these members from all their stored facts, the spells
    of the organisations they were or are with (and of the `renamed` ones, whose name or kind an event
    of the batch gave) and the counts (unless `organisations` or `counts` is false: a migration before
    the table existed), in the caller's transaction (after the batch's rows are written)."""
    fold(connection, membership, sharing, counts, renamed).write(connection, organisations, counts)


def _spell_deltas(
    connection: Connection, spells: Table, ids: list[uuid.UUID], rows: Rows, deltas: dict[date, int]
) -> None:
    """Adds to `deltas` what replacing these members' stored spells by `rows` changes: the stored ones
    no longer start and end, the new ones do."""
    for from_on, until_on in connection.execute(
        select_among(connection.dialect.name, spells, ("from_on", "until_on"), "member_id"), {"ids": ids}
    ):
        _tally(deltas, from_on, until_on, -1)
    for row in rows:
        _tally(deltas, row["from_on"], row["until_on"], +1)


def _tally(deltas: dict[date, int], from_on: date, until_on: date, sign: int) -> None:
    """Adds a spell from `from_on` to the day before `until_on` to the net changes per day (`sign` +1),
    or takes it away (-1): the number goes up on its first day and down on its end."""
    deltas[from_on] += sign
    deltas[until_on] -= sign


def _count_kinds(
    connection: Connection,
    deltas: dict[str | None, dict[date, int]],
    model: type[DailyCounts],
) -> None:
    """`_count` for each kind's net changes (the key None: a table not counted per kind), in kind
    order, so that the counts' locks are taken in one order."""
    for kind in sorted(deltas, key=str):
        _count(connection, deltas[kind], model, kind)


def _count(
    connection: Connection, deltas: dict[date, int], model: type[DailyCounts], kind: str | None = None
) -> None:
    """Adds the net changes per day to the days' and years' rows of `model`'s table (those of `kind`,
    for a table counted per kind). One statement for the batch, its rows in key order: scaled-out
    projectors add to the same rows (an addition, so in any order), and taking the rows' locks in one
    order means two batches never wait for each other in a circle (this runs after the organisations'
    locks, which are taken in order too)."""
    per_key: dict[tuple[str, date], int] = defaultdict(int)
    for day, delta in deltas.items():
        if delta and day != OPEN_END:  # a spell still open has no end to count
            per_key["d", day] += delta
            per_key["y", date(day.year, 1, 1)] += delta
    rows = [
        {"grain": grain, "on_date": day, "delta": delta}
        for (grain, day), delta in sorted(per_key.items())
        if delta
    ]
    if not rows:
        return
    table = _table(model)
    keyed = {"kind": kind} if kind is not None else {}
    if connection.dialect.name == "postgresql":
        # one statement with the rows as three arrays: psycopg's executemany ran one statement per row
        # (10 ms for 300 days, and a batch of a history decades long touches that many)
        connection.execute(
            _count_postgresql(table),
            {
                "grains": [row["grain"] for row in rows],
                "days": [row["on_date"] for row in rows],
                "deltas": [row["delta"] for row in rows],
                **keyed,
            },
        )
        return
    ins = insert_for(connection.dialect.name, table)
    connection.execute(
        ins.on_conflict_do_update(
            index_elements=list(table.primary_key.columns),
            set_={"delta": table.c.delta + ins.excluded.delta},
        ),
        [{**row, **keyed} for row in rows],
    )


@cache
def _count_postgresql(table: Table) -> Executable:
    """The upsert of `_count` on PostgreSQL, built once per counts table: the rows come as three arrays,
    unnested in the arrays' (key) order, so the rows' locks are taken in that order; a table counted
    per kind takes the kind as one more parameter."""
    rows = (
        func.unnest(
            cast(bindparam("grains"), ARRAY(String())),
            cast(bindparam("days"), ARRAY(Date())),
            cast(bindparam("deltas"), ARRAY(Integer())),
        )
        .table_valued("grain", "on_date", "delta", with_ordinality="n")
        .render_derived(name="t")
    )
    columns: list[Any] = [rows.c.grain, rows.c.on_date, rows.c.delta]
    if "kind" in table.c:
        columns.append(cast(bindparam("kind"), String()).label("kind"))
    ins = postgresql.insert(table).from_select(
        [column.name for column in columns], select(*columns).order_by(rows.c.n)
    )
    return ins.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={"delta": table.c.delta + ins.excluded.delta},
    )


def _union(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Overlapping or touching [from, until) spans merged."""
    merged: list[list[date]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


# the first key of the two-key advisory locks the organisation refold takes (PostgreSQL)
_ORGANISATION_LOCKS = 0x4B50494F  # "KPIO"


def _lock_organisations(connection: Connection, ids: list[uuid.UUID]) -> None:
    """On PostgreSQL, lock these organisations for the rest of the transaction. Scaled-out projectors
    apply members of one organisation side by side (members.events is keyed by member); without the
    lock, each reads its own members' spells but not the other's uncommitted ones, and the last to
    commit writes an organisation's spells without the other's members, or both insert the same
    spell and one batch fails. With it, the second waits and then (READ COMMITTED: each statement
    sees what is committed) reads the first one's spells too. The keys are taken in ascending order, so
    two batches never wait for each other in a circle. SQLite has one writer at a time anyway."""
    if not ids or connection.dialect.name != "postgresql":
        return
    keys = sorted({int.from_bytes(i.bytes[:4], "big", signed=True) for i in ids})
    # the ORDER BY in the subquery feeds the aggregate in order: the locks are taken in that order
    connection.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(:space, k)) FROM"
            " (SELECT k FROM unnest(CAST(:keys AS integer[])) AS t(k) ORDER BY k) AS ordered"
        ),
        {"space": _ORGANISATION_LOCKS, "keys": keys},
    )


def refold_organisations(
    connection: Connection, organisations: Iterable[uuid.UUID | None], counts: bool = True
) -> None:
    """Derives again the spells of these organisations from their members' spells, under each one's
    kind now, and moves their count (`kpi_organisation_counts`) from the stored spells' kinds to the new
    ones (unless `counts` is false: a migration from before the kinds and counts were kept)."""
    ids = sorted({o for o in organisations if o is not None})
    _lock_organisations(connection, ids)
    spells_table, table = _table(KpiMemberSpell), _table(KpiOrganisationSpell)
    organisations_table = _table(KpiOrganisation)
    dialect = connection.dialect.name
    deltas: dict[str | None, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for start in range(0, len(ids), _CHUNK):
        chunk = {"ids": ids[start : start + _CHUNK]}
        kinds: dict[uuid.UUID, str] = {}
        if counts:
            organisations_of_chunk = connection.execute(
                select_among(dialect, organisations_table, ("organisation_id", "kind"), "organisation_id"),
                chunk,
            )
            kinds = {organisation_id: kind for organisation_id, kind in organisations_of_chunk}
            for kind, from_on, until_on in connection.execute(
                select_among(dialect, table, ("kind", "from_on", "until_on"), "organisation_id"), chunk
            ):
                _tally(deltas[kind], from_on, until_on, -1)
        spans: dict[uuid.UUID, list[tuple[date, date]]] = defaultdict(list)
        for organisation_id, from_on, until_on in connection.execute(
            select_among(
                dialect, spells_table, ("organisation_id", "from_on", "until_on"), "organisation_id"
            ),
            chunk,
        ):
            spans[organisation_id].append((from_on, until_on))
        rows: Rows = []
        for organisation_id, member_spans in spans.items():
            kind = kinds.get(organisation_id, UNKNOWN_KIND)
            for from_on, until_on in _union(member_spans):
                row: dict[str, Any] = {
                    "organisation_id": organisation_id,
                    "from_on": from_on,
                    "until_on": until_on,
                }
                if counts:
                    row["kind"] = kind
                    _tally(deltas[kind], from_on, until_on, +1)
                rows.append(row)
        connection.execute(delete_among(dialect, table, "organisation_id"), chunk)
        insert_rows(connection, table, rows)
    _count_kinds(connection, deltas, KpiOrganisationCount)


def fold_batch(
    connection: Connection,
    batch: Sequence[events.Event],
    pending: Mapping[type[SQLModel], Mapping[str, Any]] | None = None,
) -> Refold | None:
    """`fold` for the members the batch's membership and knowledge-sharing events name, and for the
    organisations its organisation events name (their kind may have changed); None: it names none.
    `pending`: the batch's facts, not written yet."""
    membership: set[uuid.UUID] = set()
    sharing: set[uuid.UUID] = set()
    renamed: set[uuid.UUID] = set()
    # by exact type, in one pass: an isinstance of a pydantic model's class that fails asks its
    # metaclass (ABCMeta), and three of those for every record of a batch cost 0.8 µs a record
    for event in batch:
        kind = type(event.data)
        if kind in _FOLDED_EVENTS:
            data: Any = event.data  # one of the types of the sets: each has the field read
            if kind in _MEMBERSHIP_TYPES:
                membership.add(data.member_id)
            if kind in _SHARING_TYPES:
                sharing.add(data.member_id)
            if kind in _ORGANISATION_TYPES:
                renamed.add(data.organisation_id)
    if not (membership or sharing or renamed):
        return None
    return fold(connection, membership, sharing, renamed=renamed, pending=pending)


# the tables of the facts `fold` reads: a batch's own ones are handed to it before they are written
FACTS = (KpiMembershipFact, KpiKnowledgeSharingFact)


def refold_everyone(connection: Connection, organisations: bool = True, counts: bool = True) -> None:
    """`refold` for every member with a fact: what a migration adding these tables fills them with."""
    membership = connection.execute(select(_table(KpiMembershipFact).c.member_id).distinct()).scalars()
    sharing = connection.execute(select(_table(KpiKnowledgeSharingFact).c.member_id).distinct()).scalars()
    refold(connection, list(membership), list(sharing), organisations, counts)


def count_everyone(
    connection: Connection,
    spells: type[SQLModel] = KpiMemberSpell,
    counts: type[DailyCounts] = KpiMemberCount,
) -> None:
    """The counts of `counts` from every spell of `spells` (the active members', the knowledge-sharing
    channel's, or the organisations' per the kind they carry): what a migration adding the counts
    table fills it with."""
    deltas: dict[str | None, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    table = _table(spells)
    per_kind = "kind" in _table(counts).c
    kind_column = table.c.kind if per_kind else null()
    for from_on, until_on, kind in connection.execute(select(table.c.from_on, table.c.until_on, kind_column)):
        _tally(deltas[kind], from_on, until_on, +1)
    _count_kinds(connection, deltas, counts)


# --- queries ------------------------------------------------------------------------------------


def organisations(ctx: Context, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, KpiOrganisation]:
    """The organisations of these ids that the read model knows (loaded once per request)."""
    known: dict[uuid.UUID, KpiOrganisation | None] = ctx.memo("organisations", dict)
    missing = sorted({i for i in ids if i is not None and i not in known})
    for start in range(0, len(missing), _CHUNK):
        chunk = missing[start : start + _CHUNK]
        found = ctx.session.execute(_organisations_among(), {"ids": chunk}).scalars()
        known.update({row.organisation_id: row for row in found})
        for organisation_id in chunk:
            known.setdefault(organisation_id, None)
    return {i: row for i, row in known.items() if row is not None}


@cache
def _organisations_among() -> Executable:
    return select(KpiOrganisation).where(among(col(KpiOrganisation.organisation_id)))


def kind_of(ctx: Context, organisation_id: uuid.UUID | None) -> str:
    organisation = organisations(ctx, [organisation_id]).get(organisation_id) if organisation_id else None
    return organisation.kind if organisation else UNKNOWN_KIND


def _kind() -> Any:
    """The kind of the organisation joined in (UNKNOWN_KIND for none or one not known): kind_of in SQL."""
    return func.coalesce(col(KpiOrganisation.kind), UNKNOWN_KIND).label("kind")


def _organisation_of(model: type[KpiMemberSpell] | type[KpiMemberChange]) -> Any:
    return col(KpiOrganisation.organisation_id) == col(model.organisation_id)


def active_members(ctx: Context, day: date) -> int:
    """Members active on `day`: the years' net changes before its year and its year's days' up to it."""
    return _counted(ctx, day, KpiMemberCount)


def _up_to(model: type[DailyCounts]) -> Any:
    """The rows of a counts table whose sum is the number on a day: the years' before its year and its
    year's days' up to it (parameters: `_day`)."""
    grain, on_date = col(model.grain), col(model.on_date)
    year, day = bindparam("year", type_=Date), bindparam("day", type_=Date)
    return or_(and_(grain == "y", on_date < year), and_(grain == "d", on_date >= year, on_date <= day))


def _day(day: date) -> dict[str, date]:
    """The parameters of `_up_to` for `day`."""
    return {"year": date(day.year, 1, 1), "day": day}


@cache
def _sum_up_to(model: type[DailyCounts]) -> Executable:
    return select(func.coalesce(func.sum(model.delta), 0)).where(_up_to(model))


def _counted(ctx: Context, day: date, model: type[DailyCounts]) -> int:
    """The number `model` counts on `day`."""
    return int(ctx.session.execute(_sum_up_to(model), _day(day)).scalar_one())


@cache
def _sum_per_kind_up_to() -> Executable:
    model = KpiOrganisationCount
    return select(col(model.kind), func.sum(model.delta)).where(_up_to(model)).group_by(col(model.kind))


def _counted_per_kind(ctx: Context, day: date) -> list[tuple[str, int]]:
    """The organisations with an active member on `day`, per the kind they are counted under."""
    return [(kind, int(total)) for kind, total in ctx.session.execute(_sum_per_kind_up_to(), _day(day))]


def members(ctx: Context) -> Computed:
    """OD1.1-leden: members active on D; items: joined and left during the year per organisation kind."""
    active = active_members(ctx, ctx.period.end)
    counted: dict[str, dict[str, int]] = defaultdict(lambda: {"joined": 0, "left": 0})
    for kind_name, change, count in ctx.session.execute(_changes_per_kind_in_period(), ctx.bounds):
        counted[kind_name][change] += count
    items = [
        {"organisation_kind": k, "joined": c["joined"], "left": c["left"]} for k, c in sorted(counted.items())
    ]
    return Computed(int(active), items)


@cache
def _changes_per_kind_in_period() -> Executable:
    kind = _kind()
    return (
        select(kind, col(KpiMemberChange.change), func.count())
        .select_from(KpiMemberChange)
        .outerjoin(KpiOrganisation, _organisation_of(KpiMemberChange))
        .where(within(col(KpiMemberChange.on_date)))
        .group_by(kind, col(KpiMemberChange.change))
    )


def local_governments(ctx: Context) -> Computed:
    """OD1.1-besturen: local governments and ISVs with an active member on D; items: per kind. From the
    maintained counts per kind: counting the organisations' spells around D read one row per
    organisation with an active member (5,400, 3-4 ms of the answer at 1M records of history)."""
    per_kind = {kind: n for kind, n in _counted_per_kind(ctx, ctx.period.end) if n}
    value = sum(per_kind.get(k, 0) for k in LOCAL_GOVERNMENT_KINDS)
    items = [{"organisation_kind": k, "organisations": n} for k, n in sorted(per_kind.items())]
    return Computed(value, items)


def knowledge_sharing(ctx: Context) -> Computed:
    """OD1.1-kennisdeling: members in the knowledge-sharing channel on D (its maintained counts: counting
    its spells around D read one row per member in the channel, 2.3 ms at 1M records of history)."""
    return Computed(_counted(ctx, ctx.period.end, KpiSharingCount))


KPIS = {
    "OD1.1-leden": members,
    "OD1.1-besturen": local_governments,
    "OD1.1-kennisdeling": knowledge_sharing,
}
