"""tools read model: every event of the OD 3.1 tools and handbooks catalogue (issue 16 item 5)

Revision ID: 5e1a7c3d9b40
Revises: 4db8b6ec6d98
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5e1a7c3d9b40"
down_revision: str | None = "4db8b6ec6d98"
branch_labels: str | Sequence[str] | None = ("tools",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_tool_changes",
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("tool_id", sa.Uuid(), nullable=False),
        sa.Column("change", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("event_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("made_by", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("last_reviewed_on", sa.Date(), nullable=True),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("kpi_tool_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_tool_changes_tool_id"), ["tool_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kpi_tool_changes_effective_on"), ["effective_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kpi_tool_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_tool_changes_effective_on"))
        batch_op.drop_index(batch_op.f("ix_kpi_tool_changes_tool_id"))
    op.drop_table("kpi_tool_changes")
