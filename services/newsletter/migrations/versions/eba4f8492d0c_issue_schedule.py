"""issue schedule: an issue can be scheduled (scheduled_at, by whom) and can have missed its moment

Revision ID: eba4f8492d0c
Revises: 72c3af038570
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "eba4f8492d0c"
down_revision: str | None = "72c3af038570"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("nl_issues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheduled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("scheduled_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("schedule_missed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nl_issues", schema=None) as batch_op:
        batch_op.drop_column("schedule_missed_at")
        batch_op.drop_column("scheduled_by")
        batch_op.drop_column("scheduled_at")
