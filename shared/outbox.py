"""Transactional outbox: a state change and its event are written in one database transaction;
the relay publishes what was written, in order, once the broker takes it.

The relay marks rows published instead of remembering the last id it saw: PostgreSQL sequences can
commit out of order, and "last id seen" would skip a row. On PostgreSQL an advisory lock per key
serialises the inserts for one key, so id order is commit order within a key (taken by the key's first
insert in a transaction, in the same statement).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time as _time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.usecase import DefaultPublisher
from sqlalchemy import Index, LargeBinary, Row, bindparam, func, insert, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as SASession
from sqlmodel import Column, Field, Session, SQLModel, col

from shared import events, kafka
from shared.db import reader

log = logging.getLogger(__name__)

# Set by the HTTP middleware (from X-Correlation-ID) and by consumers (from the event they apply), so
# that an event written in reaction to another carries its correlation and causation ids.
correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
causation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("causation_id", default=None)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=255)
    key: str = Field(max_length=255)
    value: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    headers: str = Field(default="{}")
    event_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    published_at: datetime | None = Field(default=None)


_TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]
_INSERT = insert(_TABLE)
# PostgreSQL, the first row of a key in a (sub)transaction: the key's advisory lock and the row in one
# round trip instead of two. The row comes out of the lock function's FROM, so the lock is held before
# the row (and its id from the sequence) exists: a second writer of the key gets its ids after the first
# one's commit, and id order stays commit order within a key. CASTs, because a parameter in a SELECT
# list has no column to take its type from (a NULL value would be text, not bytea).
_INSERT_LOCKED = text(
    "INSERT INTO outbox (topic, key, value, headers, event_id, created_at, published_at)"
    " SELECT :topic, :key, CAST(:value AS BYTEA), :headers, :event_id, :created_at, NULL"
    " FROM pg_advisory_xact_lock(hashtext(:key))"
)


class Outbox:
    """Writes events into the caller's transaction."""

    def __init__(self, source: str, topic_prefix: str = "") -> None:
        self.source = source
        self.topic_prefix = topic_prefix
        self._listeners: list[Callable[[], None]] = []

    def on_write(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def add(
        self,
        session: Session,
        data: events.EventData,
        *,
        actor: str | None = None,
        causation_id: str | None = None,
        correlation_id: str | None = None,
        time: datetime | None = None,
    ) -> dict[str, Any]:
        envelope = events.new_envelope(
            data,
            source=self.source,
            actor=actor,
            causation_id=causation_id or causation_id_var.get(),
            correlation_id=correlation_id or correlation_id_var.get(),
            time=time,
        )
        self._insert(
            session,
            topic=self.topic_prefix + data.TOPIC,
            key=data.key(),
            value=events.encode(envelope),
            # structured mode by the letter: the content type alone; a ce_ header would make it binary
            headers={"content-type": events.CONTENT_TYPE},
            event_id=envelope["id"],
        )
        return envelope

    def add_record(self, session: Session, *, topic: str, key: str, value: dict[str, Any] | None) -> None:
        """A plain keyed record (the compacted contacts topic); None writes a tombstone."""
        payload = None if value is None else json.dumps(value, default=str).encode()
        self._insert(
            session,
            topic=self.topic_prefix + topic,
            key=key,
            value=payload,
            headers=events.binary_mode_headers(
                type_=events.CONTACT_DETAILS_TYPE, source=self.source, subject=key
            ),
            event_id=None,
        )

    def redact(self, session: Session, *, topic: str, key: str) -> None:
        """Right to erasure: forget the values of the plain records written for this key (contact
        details), published or not. What remains says only that a record was there."""
        rows = (
            session.execute(
                select(OutboxMessage).where(
                    col(OutboxMessage.topic) == self.topic_prefix + topic,
                    col(OutboxMessage.key) == key,
                    col(OutboxMessage.event_id).is_(None),
                )
            )
            .scalars()
            .all()
        )
        for row in rows:
            # the CloudEvents headers stay (ids only), so that a row not yet published still goes out
            # as a readable tombstone
            headers = {**json.loads(row.headers or "{}"), "redacted": "erasure"}
            row.value, row.headers = None, json.dumps(headers)
            session.add(row)

    def _insert(
        self,
        session: Session,
        *,
        topic: str,
        key: str,
        value: bytes | None,
        headers: dict[str, str],
        event_id: str | None,
    ) -> None:
        # Written at once with one prepared Core statement on the session's connection (so in its
        # transaction, and in its savepoint if it has one): an ORM object per row cost more than the
        # rest of a command's writes (SQLModel's construction, then the flush's bookkeeping). Through
        # session.connection(), not session.execute(): no autoflush, so that a pending row's constraint
        # error still belongs to the commit, where callers expect it.
        connection = session.connection()
        statement: Any = _INSERT
        if connection.dialect.name == "postgresql":
            # once per key and (sub)transaction: a second lock on a key this transaction holds is a
            # round trip for nothing. A savepoint rolled back gives its locks back: a new one locks again
            current = session.get_nested_transaction() or session.get_transaction()
            locked: tuple[object, set[str]] | None = session.info.get(_LOCKED)
            if locked is None or locked[0] is not current:
                locked = session.info[_LOCKED] = (current, set())
            if key not in locked[1]:
                statement = _INSERT_LOCKED
                locked[1].add(key)
        connection.execute(
            statement,
            {
                "topic": topic,
                "key": key,
                "value": value,
                "headers": json.dumps(headers),
                "event_id": event_id,
                "created_at": datetime.now(UTC),
                "published_at": None,
            },
        )
        # wake the relay after commit, not before: before it, the relay would find nothing. Marked in
        # the session's info and woken by one listener on every Session (below): a listener of its own
        # on each session made SQLAlchemy build an event dispatcher per session, per command
        if self._listeners:
            session.info.setdefault(_WRITTEN, set()).add(self)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()


_WRITTEN = "shared.outbox.written"
_LOCKED = "shared.outbox.locked_keys"


@sa_event.listens_for(SASession, "after_commit")
def _wake_after_commit(session: SASession) -> None:
    # a savepoint's release commits nothing yet; a mark left by a rolled-back transaction only costs
    # the relay one look at an empty outbox
    if session.in_nested_transaction():
        return
    for outbox in session.info.pop(_WRITTEN, ()):
        outbox._notify()


def outbox_backlog(engine: Engine) -> tuple[int, float]:
    """Rows waiting and the age in seconds of the oldest one."""
    with Session(engine) as session:
        count, oldest = session.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(
                col(OutboxMessage.published_at).is_(None)
            )
        ).one()
    if not oldest:
        return int(count), 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return int(count), max(0.0, (datetime.now(UTC) - oldest).total_seconds())


# built once: every command and every relay round runs them
_PENDING = (
    select(_TABLE.c.id, _TABLE.c.topic, _TABLE.c.key, _TABLE.c.value, _TABLE.c.headers)
    .where(_TABLE.c.published_at.is_(None))
    .order_by(_TABLE.c.id)
    .limit(bindparam("limit"))
)
_MARK = (
    update(_TABLE)
    .where(_TABLE.c.id.in_(bindparam("ids", expanding=True)))
    .values(published_at=bindparam("now"))
)


class OutboxRelay:
    """Publishes unpublished rows in id order through the service's FastStream broker (its idempotent
    producer); keeps trying while the broker is away. The broker itself is started and kept running by
    the runtime (shared.messaging.keep_running)."""

    def __init__(
        self,
        engine: Engine,
        broker: KafkaBroker,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        linger_seconds: float = 0.01,
        on_published: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.reader = reader(engine)
        self.broker = broker
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        # after a wake-up, wait this long for the commits right behind it: under load one round
        # (a fetch, a send, a mark) then carries several commands' rows instead of one
        self.linger_seconds = linger_seconds
        self.on_published = on_published
        self.published = 0
        self.connected = False
        self.health_check_seconds = 3.0
        # the broker's declared publishers by topic (they document what the service sends); a topic
        # without one is published through the broker directly
        self.publishers: dict[str, DefaultPublisher] = {}
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Safe to call from any thread (HTTP handlers run in a thread pool)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        backoff = 0.5
        watch = asyncio.create_task(self._watch())
        try:
            while True:
                try:
                    published = await self.publish_pending()
                    if published:
                        self.connected = True
                    backoff = 0.5
                    if published < self.batch_size:
                        await self._idle()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - broker away, database busy: try again
                    self.connected = False
                    log.warning("outbox relay: %s; retrying in %.1fs", exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            watch.cancel()
            self.connected = False

    async def _idle(self) -> None:
        """Wait for new rows (a wake-up or the poll interval)."""
        self._wakeup.clear()
        try:
            await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)
        except TimeoutError:
            return
        if self.linger_seconds > 0:
            await asyncio.sleep(self.linger_seconds)

    async def _watch(self) -> None:
        """Check now and then that the broker still answers, so that readiness tells the truth when
        nothing is being published, and also while a send hangs: a broker that goes away with a record
        in flight keeps the producer retrying that record for tens of seconds, and a check made only
        between rounds would go on reporting the last good answer all that time. While not connected it
        looks at every poll interval, so readiness turns green as soon as the broker answers."""
        while True:
            await asyncio.sleep(self.health_check_seconds if self.connected else self.poll_seconds)
            try:
                self.connected = await kafka.broker_answers(self.broker, 5)
            except Exception:  # noqa: BLE001 - a check that fails says: not reachable
                self.connected = False

    async def publish_pending(self) -> int:
        rows = await asyncio.to_thread(self._fetch)
        if not rows:
            return 0
        futures = []
        for row in rows:
            # enqueued one after the other, awaited together: the idempotent producer keeps the order
            # within a partition, and a batch costs one round trip instead of one per row
            headers: dict[str, str] = json.loads(row.headers)
            publisher = self.publishers.get(row.topic)
            if publisher is not None:
                future = await publisher.publish(
                    row.value, key=row.key.encode(), headers=headers, no_confirm=True
                )
            else:
                future = await self.broker.publish(
                    row.value, row.topic, key=row.key.encode(), headers=headers, no_confirm=True
                )
            futures.append(future)
        results = await asyncio.gather(*futures, return_exceptions=True)
        # Only the rows before the first failure count as published: the rest go again, in order.
        done: list[int] = []
        failure: BaseException | None = None
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                failure = result
                break
            assert row.id is not None
            done.append(row.id)
        if done:
            await asyncio.to_thread(self._mark, done)
            self.published += len(done)
            if self.on_published:
                self.on_published(len(done))
        if failure is not None:
            raise failure
        return len(done)

    def _fetch(self) -> Sequence[Row[Any, Any, Any, Any, Any]]:
        # plain rows, not ORM objects, and a read that takes no write lock on SQLite: the relay runs
        # beside the commands, and every lock it held was a wait for one of them
        with self.reader.connect() as connection:
            return connection.execute(_PENDING, {"limit": self.batch_size}).all()

    def _mark(self, ids: list[int]) -> None:
        with self.engine.begin() as connection:
            connection.execute(_MARK, {"ids": ids, "now": datetime.now(UTC)})


async def drain(relay: OutboxRelay, timeout: float = 30.0) -> None:
    """Test and shutdown helper: wait until the outbox is empty."""
    deadline = _time.monotonic() + timeout
    while outbox_backlog(relay.engine)[0]:
        if _time.monotonic() > deadline:
            raise TimeoutError("outbox not drained")
        relay.wake()
        await asyncio.sleep(0.05)
