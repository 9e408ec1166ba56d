"""The audit trail: every command writes its event through the outbox with the acting person's
pseudonymous staff id as `actor` (shared.staff), and published outbox rows are kept, so "who changed
this and when" is a query on the outbox. Only staff and admin read it, so it names the person again:
`actor` is resolved through this service's staff_ids table, `actor_id` is what the event says."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shared import staff
from shared.errors import Invalid
from shared.outbox import OutboxMessage

_ID = re.compile(r"^[0-9A-Za-z-]{8,64}$")


def trail(engine: Engine, record_id: str) -> list[dict[str, Any]]:
    if not _ID.match(record_id):
        raise Invalid("record_id", "must be an id (letters, digits and dashes)")
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(
                or_(
                    col(OutboxMessage.key) == record_id,
                    col(OutboxMessage.value).like(f"%{record_id}%".encode()),
                )
            )
            .order_by(col(OutboxMessage.id))
        ).all()
        envelopes = {row.id: json.loads(row.value or b"{}") for row in rows if row.event_id is not None}
        named = staff.resolve(
            session,
            {str(e["actor"]) for e in envelopes.values() if staff.is_pseudonym(str(e.get("actor", "")))},
        )
    entries = []
    for row in rows:
        if row.event_id is None:  # a contact-details record: say that it changed, not what it holds
            kind = "contact details" if row.value else "tombstone"
            if "redacted" in json.loads(row.headers or "{}"):
                kind = "contact details (erased)"
            entries.append(
                {
                    "topic": row.topic,
                    "type": kind,
                    "time": row.created_at.isoformat(),
                    "published_at": _iso(row.published_at),
                }
            )
            continue
        envelope = envelopes[row.id]
        actor = envelope.get("actor")
        entries.append(
            {
                "event_id": envelope.get("id"),
                "type": envelope.get("type"),
                "time": envelope.get("time"),
                # a service's own name, or an id this service never recorded, stays as it is
                "actor": named.get(actor, actor) if isinstance(actor, str) else actor,
                "actor_id": actor,
                "correlation_id": envelope.get("correlationid"),
                "causation_id": envelope.get("causationid"),
                "topic": row.topic,
                "published_at": _iso(row.published_at),
            }
        )
    return entries


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
