"""The projector's batch path: the same handlers as `projection.apply`, run once per batch with the
lookups they make answered from memory, so a batch costs a few statements instead of a few per event.

Why: every handler looks its row up with `session.get`. Event by event, each lookup first flushed the
previous event's INSERT (autoflush) and then asked the database — two round trips per event, which
made replay ~100 times slower than reading Kafka. Here, for the whole batch:
1. every row any event of the batch could touch is loaded at once — for each read-model table with a
   one-column key, one SELECT … IN (the batch's ids and event ids) — and the keys not found are
   remembered as absent;
2. handlers run without autoflush; `session.get` answers from the rows added in this batch, the
   identity map, and the remembered absences, and only asks the database for keys it never saw;
3. the tracked consumer commits once: the new rows go out as batched INSERTs.
Results are the same as event by event (tests/integration/test_kpi_projector_batches.py).

Used by the live projector and the rebuild through TrackedConsumer(handle=collect, on_batch=apply_batch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiokafka.structs import ConsumerRecord
from sqlalchemy import String, Table, Uuid, inspect, select
from sqlmodel import Session, SQLModel

from services.kpi import projection
from shared import events
from shared.consumer import Item

_BATCH = "kpi.batch.events"
_LOOKUPS = "kpi.batch.lookups"
_CHUNK = 500


def collect(
    session: Session, event: events.Event, _record: ConsumerRecord[bytes, bytes] | None = None
) -> None:
    """The per-record hook: only remembers the event; `apply_batch` does the work."""
    session.info.setdefault(_BATCH, []).append(event)


def apply_batch(session: Session, _items: list[Item[events.Event]]) -> None:
    batch: list[events.Event] = session.info.pop(_BATCH, [])
    if not batch:
        return
    lookups = session.info.get(_LOOKUPS)
    if lookups is None:
        lookups = session.info[_LOOKUPS] = _Lookups(session)
    lookups.preload(batch)
    # A handler's own `session.flush()` waits for the commit too: lookups no longer need it.
    session.flush = _no_flush  # type: ignore[method-assign]
    try:
        with session.no_autoflush:
            for event in batch:
                for handler in projection.HANDLERS.get(type(event.data), ()):
                    handler(session, event)
    finally:
        del session.flush  # the class's flush again, for the commit and for the consumer's checks


def _no_flush(objects: Any = None) -> None:
    return None


def _keyed_tables() -> list[tuple[type[SQLModel], Any]]:
    """Read-model tables keyed by one uuid or text column, and that column."""
    found = []
    for mapper in SQLModel._sa_registry.mappers:
        table = mapper.local_table
        if not isinstance(table, Table) or not table.name.startswith("kpi_") or len(mapper.primary_key) != 1:
            continue
        column = mapper.primary_key[0]
        if isinstance(column.type, Uuid | String) or isinstance(getattr(column.type, "impl", None), String):
            found.append((mapper.class_, column))
    return found


class _Lookups:
    """`session.get` for the batch: added rows first, then loaded rows, then known absences."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.added: dict[tuple[type[Any], Any], Any] = {}
        self.absent: set[tuple[type[Any], Any]] = set()
        self.tables = _keyed_tables()
        self.plain_add: Callable[..., None] = session.add
        self.plain_get: Callable[..., Any] = session.get
        session.add = self.add  # type: ignore[method-assign]
        session.get = self.get  # type: ignore[method-assign]

    def preload(self, batch: list[events.Event]) -> None:
        """Loads, per table, the rows whose key some event of the batch names: a table keyed by
        `registration_id` is asked for the batch's `registration_id` values, one keyed by `event_id`
        for the events' ids. Anything else a handler asks for still goes to the database."""
        self.loaded: list[Any] = []  # the identity map only holds rows weakly
        for model, column in self.tables:
            if column.key == "event_id":
                wanted = {event.id for event in batch}
            else:
                fields = (e.data.__dict__.get(column.key) for e in batch)  # no pydantic __getattr__
                wanted = {value for value in fields if value is not None}
            keys = [k for k in wanted if (model, k) not in self.absent and (model, k) not in self.added]
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                with self.session.no_autoflush:
                    rows = list(self.session.execute(select(model).where(column.in_(chunk))).scalars())
                self.loaded.extend(rows)
                found = {inspect(row).identity[0] for row in rows}
                self.absent.update((model, k) for k in chunk if k not in found)

    def add(self, instance: Any, **options: Any) -> None:
        state = inspect(instance)
        if state.transient and len(state.mapper.primary_key) == 1:
            key = (type(instance), state.mapper.primary_key_from_instance(instance)[0])
            self.added[key] = instance
            self.absent.discard(key)
        self.plain_add(instance, **options)

    def get(self, entity: Any, ident: Any, **options: Any) -> Any:
        key = (entity, ident)
        found = self.added.get(key)
        if found is not None:
            state = inspect(found)
            if state.pending or state.persistent:
                return found
        elif key in self.absent and not options:
            return None
        return self.plain_get(entity, ident, **options)
