"""session held on: the day each session was held (its latest `session.held`) on the session's own row,
indexed, kept by the projector (services.kpi.activities), so that "held in year Y up to D" is one
indexed range instead of a scan of every held fact on each request (issue 14). Filled here from the
facts already stored.

Revision ID: c81f4a9e2d36
Revises: f9b13a75fecb
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c81f4a9e2d36"
down_revision: str | None = "f9b13a75fecb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def upgrade() -> None:
    with op.batch_alter_table("kpi_act_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("held_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("held_event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_kpi_act_sessions_held_on"), ["held_on"], unique=False)

    # the held facts stored before this revision: the latest per session (envelope time, then event id),
    # as services.kpi.activities keeps it from now on; a session held but not (yet) scheduled gets a
    # row of its own, as the projector makes one
    facts = sa.table(
        "kpi_act_session_facts",
        sa.column("event_id", sa.String()),
        sa.column("session_id", sa.Uuid()),
        sa.column("fact", sa.String()),
        sa.column("on_date", sa.Date()),
        sa.column("event_time", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    sessions = sa.table(
        "kpi_act_sessions",
        sa.column("session_id", sa.Uuid()),
        sa.column("held_on", sa.Date()),
        sa.column("held_time", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("held_event_id", sa.String()),
    )
    connection = op.get_bind()
    latest: dict[Any, Any] = {}
    for fact in connection.execute(sa.select(facts).where(facts.c.fact == "held")):
        known = latest.get(fact.session_id)
        if known is None or (_naive_utc(fact.event_time), fact.event_id) > (
            _naive_utc(known.event_time),
            known.event_id,
        ):
            latest[fact.session_id] = fact
    if not latest:
        return
    existing = set(connection.execute(sa.select(sessions.c.session_id)).scalars())
    values = [
        {"id": sid, "held_on": f.on_date, "held_time": f.event_time, "held_event_id": f.event_id}
        for sid, f in latest.items()
    ]
    updates = [v for v in values if v["id"] in existing]
    if updates:
        connection.execute(
            sessions.update()
            .where(sessions.c.session_id == sa.bindparam("id"))
            .values(
                held_on=sa.bindparam("held_on"),
                held_time=sa.bindparam("held_time"),
                held_event_id=sa.bindparam("held_event_id"),
            ),
            updates,
        )
    inserts = [
        {"session_id": v["id"], "held_on": v["held_on"], "held_time": v["held_time"], "held_event_id": v["held_event_id"]}
        for v in values
        if v["id"] not in existing
    ]
    if inserts:
        connection.execute(sessions.insert(), inserts)


def downgrade() -> None:
    with op.batch_alter_table("kpi_act_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_act_sessions_held_on"))
        batch_op.drop_column("held_event_id")
        batch_op.drop_column("held_time")
        batch_op.drop_column("held_on")
