"""Pseudonymous staff ids: what an event's `actor` says instead of the token's subject (an e-mail
address), and the per-service table that resolves one back for the audit trail.

The id is a keyed hash (HMAC-SHA256) of the subject, so it is the same in every service and on every
topic without any coordination, and nobody who reads the topics can recompute it from a guessed
address without the key. The key is STAFF_ID_SECRET, or derived from AUTH_SECRET when that is not set;
changing it gives everybody a new id from then on, so it is set once and kept. Each service records
subject ↔ id in its own `staff_ids` table, in the same transaction as the event, so that its audit trail
(shared.audit, staff and admin only) answers who did what; forgetting a staff member is deleting their
row, after which the id on the topics names nobody.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Field, Session, SQLModel, col, select

from shared.db import insert_for

PREFIX = "staff-"
# actors that are no person: the public pages' principal (someone who follows a link in a mail)
NOT_A_PERSON: frozenset[str] = frozenset({"public"})
_LABEL = b"vvsg digitale inclusie: staff pseudonym v1"


class StaffId(SQLModel, table=True):
    """Who a pseudonymous staff id stands for, in this service."""

    __tablename__ = "staff_ids"
    staff_id: str = Field(primary_key=True, max_length=64)
    subject: str = Field(max_length=200)
    first_seen_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def _key() -> bytes:
    own = os.environ.get("STAFF_ID_SECRET", "")
    if own:
        return own.encode()
    # a key of its own, derived: the token secret itself never leaves the token check
    return hmac.new(os.environ.get("AUTH_SECRET", "").encode(), _LABEL, hashlib.sha256).digest()


def pseudonym(subject: str) -> str:
    """The stable staff id of a token subject: `staff-` and 32 hex digits."""
    digest = hmac.new(_key(), subject.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def is_pseudonym(actor: str) -> bool:
    return actor.startswith(PREFIX) and len(actor) == len(PREFIX) + 32


def record(session: Session, subject: str) -> str:
    """The staff id of `subject`, remembered in this transaction (once per subject). A subject that is
    a staff id already (a reaction acting for the person who caused it), or names no person, stays as
    it is."""
    if is_pseudonym(subject) or subject in NOT_A_PERSON:
        return subject
    staff_id = pseudonym(subject)
    values = {"staff_id": staff_id, "subject": subject[:200], "first_seen_at": datetime.now(UTC)}
    dialect = session.get_bind().dialect.name
    table = StaffId.__table__  # type: ignore[attr-defined]
    # no autoflush: a pending row's constraint error belongs to the commit (a 409 there), not here
    with session.no_autoflush:
        if dialect in ("postgresql", "sqlite"):
            session.execute(_insert_if_new(dialect), values)
        elif session.get(StaffId, staff_id) is None:  # pragma: no cover - only SQLite and PostgreSQL run here
            session.execute(insert(table).values(**values))
    return staff_id


@functools.cache
def _insert_if_new(dialect: str) -> Any:
    # built once per dialect: every command runs it, and building it anew cost more than running it
    return insert_for(dialect, StaffId.__table__).on_conflict_do_nothing()  # type: ignore[attr-defined]


def resolve(session: Session, staff_ids: set[str]) -> dict[str, str]:
    """Staff id → subject, for the ids this service knows (for staff and admin eyes only)."""
    if not staff_ids:
        return {}
    rows = session.exec(select(StaffId).where(col(StaffId.staff_id).in_(sorted(staff_ids)))).all()
    return {row.staff_id: row.subject for row in rows}
