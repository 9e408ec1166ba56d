"""reporting: the generation pointer for rebuilds and the frozen yearly reports (immutable rows)

Revision ID: a7c3e91f2b64
Revises: 4db8b6ec6d98
Create Date: 2026-11-28 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a7c3e91f2b64"
down_revision: str | None = "4db8b6ec6d98"
branch_labels: str | Sequence[str] | None = ("reporting",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_generations",
        sa.Column("generation", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("activated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("retired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("generation"),
    )
    op.create_table(
        "kpi_frozen_reports",
        sa.Column("year", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("frozen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("frozen_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    # a frozen report never changes: not through the API, and not by a stray UPDATE either
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION kpi_frozen_reports_immutable() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'a frozen KPI report never changes'; END $$"
        )
        op.execute(
            "CREATE TRIGGER kpi_frozen_reports_no_change BEFORE UPDATE OR DELETE ON kpi_frozen_reports "
            "FOR EACH ROW EXECUTE FUNCTION kpi_frozen_reports_immutable()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER kpi_frozen_reports_no_{action.lower()} BEFORE {action} "
                "ON kpi_frozen_reports BEGIN SELECT RAISE(ABORT, 'a frozen KPI report never changes'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS kpi_frozen_reports_no_change ON kpi_frozen_reports")
        op.execute("DROP FUNCTION IF EXISTS kpi_frozen_reports_immutable()")
    op.drop_table("kpi_frozen_reports")
    op.drop_table("kpi_generations")
