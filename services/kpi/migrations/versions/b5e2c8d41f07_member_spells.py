"""member spells: what the membership and knowledge-sharing facts yield per member, kept by the projector
(services.kpi.membership), so that "active on D" and "joined and left in year Y" are indexed queries
instead of a fold of every fact on each request (issue 14). Filled here from the facts already stored.

Revision ID: b5e2c8d41f07
Revises: 4db8b6ec6d98
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "b5e2c8d41f07"
down_revision: str | None = "4db8b6ec6d98"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_member_spells",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("from_on", sa.Date(), nullable=False),
        sa.Column("until_on", sa.Date(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("member_id", "from_on"),
    )
    op.create_index(
        "ix_kpi_member_spells_on",
        "kpi_member_spells",
        ["until_on", "from_on", "organisation_id"],
        unique=False,
    )
    op.create_table(
        "kpi_member_changes",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("change", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("member_id", "seq"),
    )
    op.create_index("ix_kpi_member_changes_on_date", "kpi_member_changes", ["on_date"], unique=False)
    op.create_table(
        "kpi_knowledge_sharing_spells",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("from_on", sa.Date(), nullable=False),
        sa.Column("until_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "from_on"),
    )
    op.create_index(
        "ix_kpi_knowledge_sharing_spells_on",
        "kpi_knowledge_sharing_spells",
        ["until_on", "from_on"],
        unique=False,
    )
    # the facts projected before this revision: derived once here, by the projector's own fold (the
    # organisation spells come with the next revision)
    from services.kpi.membership import refold_everyone

    refold_everyone(op.get_bind(), organisations=False, counts=False)


def downgrade() -> None:
    op.drop_index("ix_kpi_knowledge_sharing_spells_on", table_name="kpi_knowledge_sharing_spells")
    op.drop_table("kpi_knowledge_sharing_spells")
    op.drop_index("ix_kpi_member_changes_on_date", table_name="kpi_member_changes")
    op.drop_table("kpi_member_changes")
    op.drop_index("ix_kpi_member_spells_on", table_name="kpi_member_spells")
    op.drop_table("kpi_member_spells")
