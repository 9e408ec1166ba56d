"""The idempotent consumer: batches from Kafka applied in one database transaction together with the
positions they came from (a tracking record) and the ids of the events they carried (an inbox).

A redelivered record is skipped by its position, a republished event by its CloudEvents id, so neither
has a second effect. A record that cannot be read, or that its handler refuses, goes to
`<topic>.dlq` with the reason in its headers, and the consumer carries on with the next one.
The database, not Kafka's committed offsets, decides where a consumer resumes: on every partition
assignment its transport seeks to the positions stored beside its state (`stored_positions`).

This module knows no transport: `TrackedConsumer.process` takes a batch of records and a sender for
dead letters. FastStream subscribers drive it in the services (shared.messaging), a FastStream
subscriber on self-assigned partitions in the KPI rebuild (services.kpi.rebuild).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, Protocol, TypeVar, cast

from aiokafka.structs import ConsumerRecord
from sqlalchemy import Executable, Table, bindparam, insert, inspect, select
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Field, Session, SQLModel

from shared import arrays, events
from shared.db import analyse, insert_for, reader, transaction
from shared.outbox import causation_id_var, correlation_id_var
from shared.topics import dead_letter_topic

log = logging.getLogger(__name__)

T = TypeVar("T")

# The database being away is not the record's fault: retry the batch later instead of dead-lettering.
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError)

# PostgreSQL ended the batch's transaction because it conflicted with another writer's: a deadlock
# (40P01) or a serialization failure (40001). Nothing of it was committed, and the same transaction run
# again goes through once the other has committed: it is run again at once, up to this many times in all,
# instead of reading the batch again after the transport's back-off. Writers of one database run side by
# side when a service is scaled out or the KPI rebuild replays in several processes.
CONFLICT_STATES = frozenset({"40P01", "40001"})
CONFLICT_ATTEMPTS = 5


def conflicted(exc: BaseException) -> bool:
    """Whether `exc` is PostgreSQL ending a transaction for a conflict with another one."""
    return isinstance(exc, OperationalError) and getattr(exc.orig, "sqlstate", None) in CONFLICT_STATES


class ConsumerOffset(SQLModel, table=True):
    __tablename__ = "consumer_offsets"
    consumer: str = Field(primary_key=True, max_length=100)
    topic: str = Field(primary_key=True, max_length=255)
    partition: int = Field(primary_key=True)
    next_offset: int


class ProcessedEvent(SQLModel, table=True):
    """The inbox: one row per event id a consumer has applied. On SQLite a table WITHOUT ROWID, stored
    once, in its key's order: with a rowid every id was written twice, into the table and into the
    index of its primary key, and a replay adds one for every record (`inbox_without_rowid`)."""

    __tablename__ = "processed_events"
    __table_args__ = {"sqlite_with_rowid": False}
    consumer: str = Field(primary_key=True, max_length=100)
    event_id: str = Field(primary_key=True, max_length=200)


def inbox_without_rowid(connection: Connection, without: bool = True) -> None:
    """The migration of every service that gives a SQLite database's inbox the shape of ProcessedEvent
    (`without`; false: back to a rowid table), its rows kept. Nothing to do on PostgreSQL, whose tables
    have no rowid."""
    if connection.dialect.name != "sqlite":
        return
    suffix = " WITHOUT ROWID" if without else ""
    connection.exec_driver_sql(
        "CREATE TABLE processed_events_reshaped (consumer VARCHAR(100) NOT NULL, event_id VARCHAR(200) NOT"
        f" NULL, PRIMARY KEY (consumer, event_id)){suffix}"
    )
    connection.exec_driver_sql(
        "INSERT INTO processed_events_reshaped (consumer, event_id)"
        " SELECT consumer, event_id FROM processed_events ORDER BY consumer, event_id"
    )
    connection.exec_driver_sql("DROP TABLE processed_events")
    connection.exec_driver_sql("ALTER TABLE processed_events_reshaped RENAME TO processed_events")


@dataclass
class Item(Generic[T]):
    record: ConsumerRecord[bytes, bytes]
    value: T
    event_id: str | None


@dataclass
class _Prepared:
    fresh: list[Item[Any]]  # the items it was prepared for, in order
    into: Callable[[Session], None]
    # the stored positions of the batch's partitions the read transaction saw (None: none stored)
    positions: dict[tuple[str, int], int | None]
    duplicates: int  # the items it found applied before (or earlier in the batch)
    # SQLite: the JSON array of the fresh items' event ids, for `_claim_prepared`; None: not that way
    claim: str | None


@dataclass
class ConsumerStats:
    consumed: int = 0  # read from Kafka
    processed: int = 0  # read and committed: applied, skipped as duplicates or dead-lettered
    applied: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    conflicts: int = 0  # transactions run again after a conflict with another writer (CONFLICT_STATES)
    lag: dict[str, int] = field(default_factory=dict)
    last_batch_at: float = 0.0
    # CPU seconds of the thread that did the work (time.thread_time): decoding runs on the event loop,
    # the transactions in a worker thread; bench.replay splits a record's cost with them
    decode_cpu: float = 0.0
    apply_cpu: float = 0.0


class _Statistics:
    """When a consumer asks PostgreSQL for fresh statistics of its tables.

    psycopg prepares a statement on its fifth run on a connection, and PostgreSQL then plans it once,
    from the statistics of that moment, until the next ANALYZE of its tables. Prepared while the inbox
    and the read models were nearly empty (a rebuild's first batch, a new instance's first catch-up),
    the inbox's look-up of 500 ids went on reading the whole table for each look as it grew: 0.9 s a
    look at 30,000 rows, 19 ms once analysed. Autovacuum analyses a table only a minute or more after it
    has grown, which can be the whole of a rebuild. So the consumer runs ANALYZE itself each time the
    records it has applied since it started reach twice what they were when it last did (the first time
    at 5,000): a handful of times in a million records, and rarely once live."""

    FIRST = 5_000

    def __init__(self) -> None:
        self.applied = 0
        self.next = self.FIRST

    def after_commit(self, engine: Engine, applied: int, consumer: str) -> None:
        self.applied += applied
        if self.applied < self.next:
            return
        self.next = 2 * self.applied
        try:
            analyse(engine)
        except Exception as exc:  # noqa: BLE001 - an optimisation: the batch is committed whatever happens
            log.warning("%s: ANALYZE failed, the planner keeps its statistics: %s", consumer, exc)


class RecordRejected(ValueError):
    """Raised by a handler for a record it will never be able to apply (it goes to the dead letters)."""


def decode_event(record: ConsumerRecord[bytes, bytes]) -> tuple[events.Event, str]:
    event = events.decode(record.value)
    return event, event.id


class RecordSender(Protocol):
    """Where dead letters go: the service's FastStream broker (shared.messaging.BrokerSender), or an
    aiokafka producer in a script. `send` enqueues and returns the delivery's future."""

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        *,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Awaitable[Any]: ...


class TrackedConsumer(Generic[T]):
    """The transport-agnostic core of a consumer: `process` applies one batch of records. FastStream
    drives it in the services (shared.messaging), the KPI rebuild drives it on partitions it assigns
    itself; both hand it the records and a sender for dead letters."""

    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[str],
        engine: Engine,
        handle: Callable[[Session, T, ConsumerRecord[bytes, bytes]], None] | None = None,
        decode: Callable[[ConsumerRecord[bytes, bytes]], tuple[T, str | None]],
        batch_size: int = 1000,
        after_commit: Callable[[int], None] | None = None,
        on_batch: Callable[[Session, list[Item[T]]], None] | None = None,
        apply: Callable[[Session, list[Item[T]]], None] | None = None,
        prepare: Callable[[Session, list[Item[T]]], Callable[[Session], None]] | None = None,
        consumer_factory: object = None,
        producer_factory: object = None,
    ) -> None:
        # consumer_factory/producer_factory are accepted and unused: the transport is FastStream's
        # now (shared.messaging); they stay only so that callers written before it still construct one.
        del consumer_factory, producer_factory
        if (handle is None) == (apply is None):
            raise TypeError("give a consumer either a per-record `handle` or a per-batch `apply`")
        if prepare is not None and apply is None:
            raise TypeError("`prepare` goes with a per-batch `apply`: the one it falls back on")
        self.name = name
        self.topics = list(topics)
        self.engine = engine
        self.handle = handle
        self.decode = decode
        self.batch_size = batch_size
        self.after_commit = after_commit
        self.on_batch = on_batch
        self.apply = apply
        # Optional, for consumers that share their database's write lock with others (the KPI rebuild
        # in two processes): `prepare(session, fresh)` does the batch's work that needs no lock in a
        # read transaction before the write transaction, and returns what writes its result in it.
        # Used only if the write transaction finds the same fresh items (an id another consumer of the
        # name claimed in between: `apply` runs there instead). Only for consumers whose handlers read
        # nothing that the others write: the rows it read are not compared again.
        self.prepare = prepare
        self.stats = ConsumerStats()
        self._statistics = _Statistics()
        self.assigned = False  # set by the transport: partitions assigned and positioned

    async def process(
        self, records: Sequence[ConsumerRecord[bytes, bytes]], producer: RecordSender | None
    ) -> None:
        """Apply one batch: dead-letter what cannot be read, then apply the rest in one transaction.
        A database error (INFRASTRUCTURE_ERRORS) escapes with nothing committed: the caller reads the
        same records again later. Anything a handler raises is the record's fault: dead letter."""
        records = list(records)
        self.stats.consumed += len(records)
        items: list[Item[T]] = []
        dead: list[tuple[ConsumerRecord[bytes, bytes], str]] = []
        started = time.thread_time()
        for record in records:
            try:
                value, event_id = self.decode(record)
            except (ValueError, TypeError) as exc:
                dead.append((record, str(exc) or exc.__class__.__name__))
                continue
            items.append(Item(record, value, event_id))
        self.stats.decode_cpu += time.thread_time() - started
        if dead:
            await self._dead_letter(producer, dead)
        try:
            await asyncio.to_thread(self._apply, items, records, set())
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - whatever a handler raises is the record's fault
            # One record spoils the batch: find which, one by one, then apply the others together.
            refused = await asyncio.to_thread(self._find_refused, items)
            await self._dead_letter(producer, [(items[i].record, reason) for i, reason in refused])
            skip = {i for i, _ in refused}
            try:
                await asyncio.to_thread(self._apply, items, records, skip)
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as exc:  # noqa: BLE001 - see _one_by_one
                await self._one_by_one(items, records, skip, producer, exc)
        self.stats.processed += len(records)
        self.stats.last_batch_at = time.time()

    async def _one_by_one(
        self,
        items: list[Item[T]],
        records: list[ConsumerRecord[bytes, bytes]],
        skip: set[int],
        producer: RecordSender | None,
        batch_error: Exception,
    ) -> None:
        """The batch fails as a whole although no record fails on its own (records that conflict with
        each other, or an error only at commit). Retrying the batch would fail forever, so each record
        gets a transaction of its own; only a record that still fails alone goes to the dead letters."""
        log.warning(
            "%s: the batch fails as a whole (%s); applying it record by record", self.name, batch_error
        )
        for index, item in enumerate(items):
            if index in skip:
                continue
            try:
                await asyncio.to_thread(self._apply, [item], [item.record], set())
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as exc:  # noqa: BLE001 - the reason goes into the dead letter
                await self._dead_letter(producer, [(item.record, f"{exc.__class__.__name__}: {exc}")])
        # the positions of every record of the batch, the unreadable and the refused ones included
        await asyncio.to_thread(self._apply, [], records, set())

    def _apply(
        self,
        items: list[Item[T]],
        records: list[ConsumerRecord[bytes, bytes]],
        skip: set[int],
    ) -> None:
        """The items' transaction (see CONFLICT_STATES: run again when it conflicted with another's)."""
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            duplicates = self.stats.duplicates
            try:
                self._apply_once(items, records, skip)
                return
            except OperationalError as exc:
                if attempt == CONFLICT_ATTEMPTS or not conflicted(exc):
                    raise
                self.stats.duplicates = duplicates  # the next attempt counts them again
                self.stats.conflicts += 1
                log.info("%s: %s; the batch's transaction again (%d)", self.name, exc.orig, attempt + 1)

    def _apply_once(
        self,
        items: list[Item[T]],
        records: list[ConsumerRecord[bytes, bytes]],
        skip: set[int],
    ) -> None:
        started = time.thread_time()
        try:
            write = self._prepared(items, skip)
            with transaction(self.engine) as session:
                claimed = self._claim_prepared(session, write) if write is not None else None
                if claimed is not None:
                    assert write is not None
                    fresh = claimed
                    write.into(session)
                else:
                    fresh = self._fresh(session, items, skip)
                    if write is not None and _same(write.fresh, fresh):
                        write.into(session)
                    else:  # not prepared, or prepared for other items: a record was claimed in between
                        self._run(session, fresh)
                if self.on_batch is not None:
                    self.on_batch(session, fresh)
                self._store_positions(session, records)
        finally:  # one transaction at a time per consumer: no other thread adds to it meanwhile
            self.stats.apply_cpu += time.thread_time() - started
        self.stats.applied += len(fresh)
        self._statistics.after_commit(self.engine, len(fresh), self.name)
        if self.after_commit:
            self.after_commit(len(fresh))

    def _prepared(self, items: list[Item[T]], skip: set[int]) -> _Prepared | None:
        """`prepare` run on the items that are fresh now, in a read transaction (on SQLite one that takes
        no lock, shared.db.reader): what it read may change before the write transaction, which is why
        that transaction compares the fresh items again."""
        if self.prepare is None:
            return None
        with Session(reader(self.engine)) as session:
            stored, fresh, new_ids, duplicates = self._look(session, items, skip)
            into = self.prepare(session, fresh)  # nothing written: closing gives the snapshot back
            sqlite = session.get_bind().dialect.name == "sqlite"
        claim = json.dumps(new_ids) if sqlite and _CLAIMS and _plain(new_ids) else None
        return _Prepared(fresh, into, _of_batch(stored, items), duplicates, claim)

    def _claim_prepared(self, session: Session, write: _Prepared) -> list[Item[T]] | None:
        """In the write transaction: the prepared items, their ids added to the inbox, if nothing they
        were sorted out by has changed since the read transaction: the stored positions are the same,
        and none of their ids has joined the inbox meanwhile (they go in with one plain INSERT, which
        fails as a whole if one has; SQLite then undoes that statement alone). None: something has
        changed, or there is no claim to make this way (`_Prepared.claim`); `_fresh` looks again.
        This is `_fresh`'s work less what the read transaction already did: most of the Python of
        sorting a batch out no longer runs under SQLite's write lock, nor twice."""
        if write.claim is None:
            return None
        stored = self._positions(session)
        if any(stored.get(partition) != seen for partition, seen in write.positions.items()):
            return None
        if write.claim != "[]":
            try:
                session.connection().exec_driver_sql(_INSERT_CLAIMED_SQLITE, (self.name, write.claim))
            except IntegrityError:  # claimed in between (by another consumer of the same name)
                return None
        self.stats.duplicates += write.duplicates
        return write.fresh

    def _run(self, session: Session, items: list[Item[T]]) -> None:
        if self.apply is not None:
            # a batch handler: the batch's events are applied together (their correlation ids are
            # not set: a batch handler writes read models, not events)
            self.apply(session, items)
            return
        for item in items:
            self._handle(session, item)

    def _handle(self, session: Session, item: Item[T]) -> None:
        assert self.handle is not None
        envelope = getattr(item.value, "envelope", None)
        if envelope is None:
            self.handle(session, item.value, item.record)
            return
        correlation = correlation_id_var.set(envelope.correlationid or envelope.id)
        causation = causation_id_var.set(envelope.id)
        try:
            self.handle(session, item.value, item.record)
        finally:
            correlation_id_var.reset(correlation)
            causation_id_var.reset(causation)

    def _find_refused(self, items: list[Item[T]]) -> list[tuple[int, str]]:
        refused: list[tuple[int, str]] = []
        with Session(self.engine) as session:
            fresh_ids = {id(i) for i in self._look(session, items, set())[1]}
            for index, item in enumerate(items):
                if id(item) not in fresh_ids:
                    continue
                savepoint = session.begin_nested()
                try:
                    self._run(session, [item])
                    if self.on_batch is not None:
                        self.on_batch(session, [item])
                    session.flush()
                    savepoint.commit()
                except INFRASTRUCTURE_ERRORS:
                    raise
                except Exception as exc:  # noqa: BLE001 - the reason goes into the dead letter
                    savepoint.rollback()
                    refused.append((index, f"{exc.__class__.__name__}: {exc}"))
            session.rollback()
        return refused

    def _look(
        self, session: Session, items: list[Item[T]], skip: set[int]
    ) -> tuple[dict[tuple[str, int], int], list[Item[T]], list[str], int]:
        """What `_fresh` finds, recording nothing (the refusal search, `prepare`'s read transaction):
        the stored positions it went by, the fresh items, their ids and how many were duplicates. Not
        counted in the stats: a look without recording is always followed by one with."""
        stored = self._positions(session)
        candidates = _candidates(items, skip, stored)
        seen = self._known(session, _ids(candidates), session.get_bind().dialect.name == "sqlite")
        return (stored, *_sorted_out(candidates, seen))

    def _fresh(self, session: Session, items: list[Item[T]], skip: set[int]) -> list[Item[T]]:
        """Items not applied before: by position (redelivery) and by event id (republished); their ids
        join the inbox: on SQLite with the one statement that also tells which are new
        (`_CLAIM_IDS_SQLITE`), else with a SELECT and one INSERT (PostgreSQL: each with the ids as one
        array parameter)."""
        candidates = _candidates(items, skip, self._positions(session))
        ids = _ids(candidates)
        sqlite = session.get_bind().dialect.name == "sqlite"
        claimed = bool(ids) and sqlite and _CLAIMS and _plain(ids)  # no ids: no statement
        if claimed:
            # one statement adds the ids not in the inbox yet and names them: the others are known
            added = session.connection().exec_driver_sql(_CLAIM_IDS_SQLITE, (self.name, json.dumps(ids)))
            seen = set(ids).difference(added.scalars().all())  # all at once: iterating fetches per row
        else:
            seen = self._known(session, ids, sqlite)
        fresh, new_ids, duplicates = _sorted_out(candidates, seen)
        self.stats.duplicates += duplicates
        if new_ids and not claimed:
            if sqlite:  # plain tuples to the driver's executemany: no per-row parameter processing
                session.connection().exec_driver_sql(
                    _INSERT_IDS_SQLITE, [(self.name, event_id) for event_id in new_ids]
                )
            else:  # one statement with the ids as an array (shared.arrays)
                rows = [{"consumer": self.name, "event_id": event_id} for event_id in new_ids]
                arrays.insert_rows(session.connection(), _INBOX, rows)
        return fresh

    def _known(self, session: Session, ids: list[str], sqlite: bool) -> set[str]:
        """Which of `ids` are in the consumer's inbox (SQLite: SELECT … IN, per 500 ids)."""
        if not ids:
            return set()
        if not sqlite:  # one statement, planned once, for any number of ids (shared.arrays)
            found = session.connection().exec_driver_sql(
                _known_ids_postgresql(session.get_bind().dialect),
                {"consumer": self.name, arrays.parameter("event_id"): ids},
            )
            return {event_id for (event_id,) in found}
        seen: set[str] = set()
        for chunk in _chunks(ids, 500):
            # the statement as the driver's text: SQLAlchemy's expansion of 500 ids cost more
            size = padded_size(len(chunk))
            found = session.connection().exec_driver_sql(
                _known_ids_sqlite(size), (self.name, *chunk, *[chunk[-1]] * (size - len(chunk)))
            )
            seen.update(event_id for (event_id,) in found)
        return seen

    def _positions(self, session: Session) -> dict[tuple[str, int], int]:
        positions = _POSITIONS.c
        return {
            (topic, partition): next_offset
            for topic, partition, next_offset in session.execute(
                select(positions.topic, positions.partition, positions.next_offset).where(
                    positions.consumer == self.name
                )
            )
        }

    def _store_positions(self, session: Session, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """The position after the batch's last record per partition: one upsert (executemany) that
        never moves a stored position back."""
        highest: dict[tuple[str, int], int] = {}
        for r in records:
            key = (r.topic, r.partition)
            highest[key] = max(highest.get(key, -1), r.offset + 1)
        if not highest:
            return
        rows = [
            {"consumer": self.name, "topic": topic, "partition": partition, "next_offset": next_offset}
            for (topic, partition), next_offset in highest.items()
        ]
        session.execute(_upsert_positions(session.get_bind().dialect.name), rows)

    async def _dead_letter(
        self, producer: RecordSender | None, dead: list[tuple[ConsumerRecord[bytes, bytes], str]]
    ) -> None:
        if not dead:
            return
        if producer is None:
            raise RuntimeError(f"{self.name}: {len(dead)} dead letters and nowhere to send them")
        futures = []
        for record, reason in dead:
            log.warning(
                "%s: dead letter %s[%d]@%d: %s",
                self.name,
                record.topic,
                record.partition,
                record.offset,
                reason,
            )
            headers: list[tuple[str, bytes]] = list(record.headers or ())
            headers += [
                ("dlq-reason", reason[:2000].encode()),
                ("dlq-consumer", self.name.encode()),
                ("dlq-topic", record.topic.encode()),
                ("dlq-partition", str(record.partition).encode()),
                ("dlq-offset", str(record.offset).encode()),
            ]
            futures.append(
                await producer.send(
                    dead_letter_topic(record.topic),
                    value=record.value,
                    key=record.key,
                    headers=headers,
                )
            )
        await asyncio.gather(*futures)
        self.stats.dead_letters += len(dead)

    def stored_positions(self) -> dict[tuple[str, int], int]:
        # read-only: on SQLite no write lock to wait for (the transport reads this on its event loop)
        with Session(reader(self.engine)) as session:
            return self._positions(session)


def _candidates(items: list[Item[T]], skip: set[int], stored: dict[tuple[str, int], int]) -> list[Item[T]]:
    """The items not skipped and not before their partition's stored position (not redelivered)."""
    return [
        item
        for index, item in enumerate(items)
        if index not in skip
        and item.record.offset >= stored.get((item.record.topic, item.record.partition), 0)
    ]


def _of_batch(stored: dict[tuple[str, int], int], items: list[Item[T]]) -> dict[tuple[str, int], int | None]:
    """The stored positions of the partitions of a batch's items (None: none stored); the others are
    other consumers' of the same name (the rebuild's other processes), which move on their own."""
    partitions = {(item.record.topic, item.record.partition) for item in items}
    return {partition: stored.get(partition) for partition in partitions}


def _ids(items: list[Item[T]]) -> list[str]:
    """The event ids of `items`, each once, sorted."""
    return sorted({item.event_id for item in items if item.event_id})


def _sorted_out(candidates: list[Item[T]], seen: set[str]) -> tuple[list[Item[T]], list[str], int]:
    """The candidates whose event id is not in `seen` nor earlier in the batch (and those without an
    id), their ids, and how many were left out as duplicates. `seen` gains the ids."""
    fresh: list[Item[T]] = []
    new_ids: list[str] = []
    duplicates = 0
    for item in candidates:
        if item.event_id:
            if item.event_id in seen:
                duplicates += 1
                continue
            seen.add(item.event_id)
            new_ids.append(item.event_id)
        fresh.append(item)
    return fresh, new_ids, duplicates


def _same(these: list[Item[Any]], those: list[Item[Any]]) -> bool:
    """Whether two lists hold the same item objects in the same order."""
    return len(these) == len(those) and all(a is b for a, b in zip(these, those, strict=True))


_INBOX = cast(Table, inspect(ProcessedEvent).local_table)
_POSITIONS = cast(Table, inspect(ConsumerOffset).local_table)


@cache
def _known_ids_postgresql(dialect: Dialect) -> str:
    """PostgreSQL: which of the ids in one array a consumer has processed, the ids sent in binary
    (shared.arrays): one statement text for any number of ids."""
    statement = select(_INBOX.c.event_id).where(
        _INBOX.c.consumer == bindparam("consumer"), arrays.any_of(_INBOX, "event_id")
    )
    return arrays.compile_binary(statement, dialect, _INBOX, ["event_id"]).sql


# SQLite: the INSERT of an id compiled once to the driver's text (qmark parameters)
_INSERT_IDS_SQLITE = str(insert(_INBOX).compile(dialect=sqlite_dialect()))

# SQLite: the ids of a JSON array (the second parameter) joined to the inbox of a consumer (the first),
# those not there before returned (an ignored row is not). One statement instead of a SELECT … IN per
# 500 ids and an executemany of the new ones, all of it in SQLite's C.
_CLAIM_IDS_SQLITE = (
    "INSERT OR IGNORE INTO processed_events (consumer, event_id) SELECT ?, value FROM json_each(?) "
    "RETURNING event_id"
)
# SQLite: the ids of a JSON array added to a consumer's inbox, none of them there before: a conflict
# fails the statement (and undoes it) instead of skipping the id (`_claim_prepared`)
_INSERT_CLAIMED_SQLITE = "INSERT INTO processed_events (consumer, event_id) SELECT ?, value FROM json_each(?)"
if _INBOX.name != "processed_events":  # the statements above name the table
    raise RuntimeError("the inbox's table is not processed_events")


# RETURNING came with SQLite 3.35, JSON built in with 3.38: an older library takes the other path
_CLAIMS = sqlite3.sqlite_version_info >= (3, 38, 0)


def _plain(ids: list[str]) -> bool:
    """Ids that come back from a JSON array in SQLite exactly as they went in: printable ASCII (a NUL
    or a lone surrogate might not, and an id that came back changed would read as known)."""
    joined = "".join(ids)
    return joined.isascii() and joined.isprintable()


@cache
def _known_ids_sqlite(size: int) -> str:
    """SQLite: which of `size` ids (`padded_size`: three statements, not one per chunk length) a
    consumer has processed."""
    ids: list[BindParameter[str]] = [bindparam(f"id{index}") for index in range(size)]
    statement = select(_INBOX.c.event_id).where(
        _INBOX.c.consumer == bindparam("consumer"), _INBOX.c.event_id.in_(ids)
    )
    compiled = statement.compile(dialect=sqlite_dialect())
    if list(compiled.positiontup or ()) != ["consumer", *(f"id{index}" for index in range(size))]:
        raise RuntimeError("the known-ids statement's parameters are not in the expected order")
    return str(compiled)


IN_LIST_SIZES = (16, 128, 512)


def padded_size(count: int) -> int:
    """How long an IN list of `count` parameters is made, padded with its last value repeated (which
    changes no answer): three statements compiled per table, not one per length (compiling one costs
    as much as a batch's query)."""
    return next((size for size in IN_LIST_SIZES if size >= count), count)


@cache
def _upsert_positions(dialect: str) -> Executable:
    """INSERT a position, or raise the stored one (never lower it): each dialect has its construct."""
    ins = insert_for(dialect, _POSITIONS)
    return cast(
        Executable,
        ins.on_conflict_do_update(
            index_elements=["consumer", "topic", "partition"],
            set_={"next_offset": ins.excluded.next_offset},
            where=_POSITIONS.c.next_offset < ins.excluded.next_offset,
        ),
    )


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
