"""organisation spells: per organisation, the days it has at least one active member (the union of its
members' spells, kept by services.kpi.membership), so that "organisations with an active member on D"
counts organisations instead of every active member's spell (issue 14). Filled here from the member
spells of revision b5e2c8d41f07.

Revision ID: e3a7d05b9c12
Revises: b5e2c8d41f07
Create Date: 2026-12-03 07:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3a7d05b9c12"
down_revision: str | None = "b5e2c8d41f07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_organisation_spells",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("from_on", sa.Date(), nullable=False),
        sa.Column("until_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "from_on"),
    )
    op.create_index(
        "ix_kpi_organisation_spells_on",
        "kpi_organisation_spells",
        ["until_on", "from_on", "organisation_id"],
        unique=False,
    )
    op.create_index(
        "ix_kpi_member_spells_organisation",
        "kpi_member_spells",
        ["organisation_id", "from_on", "until_on"],
        unique=False,
    )
    # the member spells derived before this revision: their organisations' spells, by the projector's code
    from services.kpi.membership import refold_organisations

    connection = op.get_bind()
    spells = sa.table("kpi_member_spells", sa.column("organisation_id", sa.Uuid()))
    refold_organisations(
        connection, connection.execute(sa.select(spells.c.organisation_id).distinct()).scalars(), counts=False
    )


def downgrade() -> None:
    op.drop_index("ix_kpi_member_spells_organisation", table_name="kpi_member_spells")
    op.drop_index("ix_kpi_organisation_spells_on", table_name="kpi_organisation_spells")
    op.drop_table("kpi_organisation_spells")
