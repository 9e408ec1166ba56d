"""Routes each domain event to the read-model module that needs it. Idempotence and ordering are the
tracked consumer's job (shared.consumer); each handler inserts facts keyed by event id."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord
from sqlmodel import Session

from services.kpi import membership
from services.kpi.core import Handler
from shared import events

HANDLERS: dict[type[events.EventData], Handler] = {
    **membership.HANDLERS,
}


def apply(session: Session, event: events.Event, _record: ConsumerRecord[bytes, bytes] | None = None) -> None:
    handler = HANDLERS.get(type(event.data))
    if handler is not None:  # event types no KPI needs are skipped, not refused
        handler(session, event)
