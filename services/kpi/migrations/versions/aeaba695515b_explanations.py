"""explanations (toelichting) per KPI and year, and what a frozen report printed beside its figures

Revision ID: aeaba695515b
Revises: a7c3e91f2b64
Create Date: 2026-12-02 17:40:00.000000

Written by hand: shared.makemigration cannot autogenerate while the KPI service has several heads
(one branch per read-model area); this one follows the reporting branch, whose tables it extends.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "aeaba695515b"
down_revision: str | None = "a7c3e91f2b64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_explanations",
        sa.Column("year", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("written_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", "code"),
    )
    # ADD COLUMN touches no row, so the triggers that keep frozen rows unchanged stay as they are
    op.add_column("kpi_frozen_reports", sa.Column("previous", sa.Text(), nullable=True))
    op.add_column("kpi_frozen_reports", sa.Column("explanations", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("kpi_frozen_reports", "explanations")
    op.drop_column("kpi_frozen_reports", "previous")
    op.drop_table("kpi_explanations")
