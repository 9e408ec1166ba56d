"""session practical fields (session.scheduled/rescheduled v2) and the staff's cancel reason

Sessions scheduled before this revision get "online" as their location when their format is online,
as the v1 → v2 upcast of their events reads them; the other fields stay empty (not known).

Revision ID: da2fc5fd87a6
Revises: b8f6b01aa565
Create Date: 2026-12-03 06:31:34
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "da2fc5fd87a6"
down_revision: str | None = "b8f6b01aa565"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ev_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch_op.add_column(
            sa.Column("online_link", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True)
        )
        batch_op.add_column(
            sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.add_column(
            sa.Column("registration_deadline", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
    op.execute("UPDATE ev_sessions SET location = 'online' WHERE format = 'online'")


def downgrade() -> None:
    with op.batch_alter_table("ev_sessions", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("registration_deadline")
        batch_op.drop_column("description")
        batch_op.drop_column("online_link")
        batch_op.drop_column("location")
