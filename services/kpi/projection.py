"""The KPI projection: `apply(session, events)` routes each domain event of a batch to the read-model
modules that need it, through a store preloaded for the batch; `projector(...)` is the one consumer that
runs it, for the live projector and the rebuild alike. Idempotence and ordering are the tracked
consumer's job (shared.consumer); handlers insert facts keyed by event id or keep the latest version,
and what is folded per member from its facts is derived again with the batch's facts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from services.kpi import activities, communications, feedback, membership
from services.kpi.core import Handler
from services.kpi.store import BatchStore
from shared import events
from shared.consumer import Item, TrackedConsumer, decode_event

PROJECTOR = "kpi-projector"  # the consumer's name (and Kafka group), whatever the generation

MODULES = (membership, activities, communications, feedback)

# One event type may feed several read models: each module's handler runs, in module order.
HANDLERS: dict[type[events.EventData], list[Handler]] = {}
for _module in MODULES:
    for _event_type, _handler in _module.HANDLERS.items():
        HANDLERS.setdefault(_event_type, []).append(_handler)

# The rows handlers look up, with the events that name them: preloaded for each batch.
LOOKUPS: dict[type[SQLModel], tuple[type[events.EventData], ...]] = {
    model: types for module in MODULES for model, types in module.LOOKUPS.items()
}


def apply(session: Session, batch: Sequence[events.Event]) -> None:
    """Applies the events in their order; the caller commits. Types no KPI needs are skipped, not
    refused."""
    session.flush()  # rows someone added to the session before are in the database for the store
    prepare(session, batch)(session)


def prepare(session: Session, batch: Sequence[events.Event]) -> Callable[[Session], None]:
    """The part of `apply` that only reads, in `session`: the rows the batch's events look up are
    preloaded, the handlers run, the new rows' values are converted for the driver, and what the batch
    changes per member is read and folded (services.kpi.membership) with the batch's new facts. Returns
    what writes all of that, in the session it is given."""
    store = BatchStore(session, LOOKUPS)
    store.preload(batch)
    for event in batch:
        for handler in HANDLERS.get(type(event.data), ()):
            handler(store, event)
    facts: dict[type[SQLModel], dict[str, Any]] = {
        model: dict(store.dirty.get(model, {})) for model in membership.FACTS
    }
    write = store.written()
    folded = membership.fold_batch(session.connection(), batch, pending=facts)

    def into(target: Session) -> None:
        write(target)
        if folded is not None:
            # the members' spells, then the organisations' from all their members' spells (read
            # here: other projectors' members too) and the counts
            folded.write(target.connection())

    return into


def apply_items(session: Session, items: list[Item[events.Event]]) -> None:
    """`apply` in the shape of the tracked consumer's per-batch hook."""
    apply(session, [item.value for item in items])


def prepare_items(session: Session, items: list[Item[events.Event]]) -> Callable[[Session], None]:
    """`prepare` in the shape of the tracked consumer's `prepare` hook."""
    return prepare(session, [item.value for item in items])


def projector(
    *,
    topics: Sequence[str],
    engine: Engine,
    batch_size: int,
    after_commit: Callable[[int], None] | None = None,
    beside_others: bool = False,
) -> TrackedConsumer[events.Event]:
    """The projector consuming `topics` into the read models of `engine`: one transaction per batch,
    positions and processed event ids committed with the rows.

    `beside_others`: other projectors write into the same database at the same time, each on partitions
    of its own (the rebuild's processes, services.kpi.rebuild). The rows are then prepared before the
    write transaction (`prepare`, TrackedConsumer's `prepare` hook), so that the write lock is held
    only to write them. That is safe because every row a handler reads is written only by events with
    the same Kafka key, so by this projector's own partitions: a row is looked up by its event's own
    id, or by the id of the entity its events are keyed by (an organisation's by `organisation_id`, a
    session's and its registrations', attendances' and facts' by events keyed by `session_id`, a
    feedback request's and response's by events keyed by `subject_id`, the rest by the id they are
    keyed by); a member's facts and spells, which the per-member fold reads, are written only by events
    keyed by `member_id`. tests/integration/test_rebuild_workers.py compares every read-model table with
    one process's. The organisations' refold reads across partitions (an organisation's members), and
    runs in the write transaction, as do the per-day counts (additions)."""
    return TrackedConsumer(
        name=PROJECTOR,
        topics=topics,
        engine=engine,
        apply=apply_items,
        prepare=prepare_items if beside_others else None,
        decode=decode_event,
        batch_size=batch_size,
        after_commit=after_commit,
    )
