"""session revision and previous start: what calendars (the .ics SEQUENCE) and schema.org's
EventRescheduled need to follow a moved or cancelled session

Sessions cancelled before this revision start at revision 1 (one change since they were scheduled);
a session moved before it keeps no previous start (not known).

Revision ID: e41c07b9a2d3
Revises: da2fc5fd87a6
Create Date: 2026-12-03 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "e41c07b9a2d3"
down_revision: str | None = "da2fc5fd87a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ev_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("previous_starts_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE ev_sessions SET revision = 1 WHERE status = 'cancelled'")
    with op.batch_alter_table("ev_sessions", schema=None) as batch_op:
        batch_op.alter_column("revision", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("ev_sessions", schema=None) as batch_op:
        batch_op.drop_column("revision")
        batch_op.drop_column("previous_starts_at")
