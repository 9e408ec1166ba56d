"""Routes each domain event to the read-model module that needs it. Idempotence and ordering are the
tracked consumer's job (shared.consumer); each handler inserts facts keyed by event id."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord
from sqlmodel import Session

from services.kpi import activities, communications, feedback, membership
from services.kpi.core import Handler
from shared import events

MODULES = (membership, activities, communications, feedback)

# One event type may feed several read models: each module's handler runs, in module order.
HANDLERS: dict[type[events.EventData], list[Handler]] = {}
for _module in MODULES:
    for _event_type, _handler in _module.HANDLERS.items():
        HANDLERS.setdefault(_event_type, []).append(_handler)


def apply(session: Session, event: events.Event, _record: ConsumerRecord[bytes, bytes] | None = None) -> None:
    for handler in HANDLERS.get(type(event.data), ()):  # types no KPI needs are skipped, not refused
        handler(session, event)
