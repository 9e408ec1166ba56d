"""The audit trail: every command writes its event through the outbox with the token's subject as
`actor`, and published outbox rows are kept, so "who changed this and when" is a query on the outbox."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

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
        envelope = json.loads(row.value or b"{}")
        entries.append(
            {
                "event_id": envelope.get("id"),
                "type": envelope.get("type"),
                "time": envelope.get("time"),
                "actor": envelope.get("actor"),
                "correlation_id": envelope.get("correlationid"),
                "causation_id": envelope.get("causationid"),
                "topic": row.topic,
                "published_at": _iso(row.published_at),
            }
        )
    return entries


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
