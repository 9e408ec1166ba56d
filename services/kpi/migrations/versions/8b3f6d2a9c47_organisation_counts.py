"""organisation counts: the net change of the number of organisations with an active member per day and
per year, per organisation kind, kept by the projector with the organisations' spells
(services.kpi.membership), so that OD1.1-besturen adds up a few hundred rows instead of counting one
spell per organisation with an active member (issue 14: 5,400 spells, 3-4 ms of the answer at a million
records of history). Each organisation spell now carries the kind it is counted under: filled here from
the organisations' kinds, then counted. The two indexes for counting spells around a day go: nothing
counts spells around a day any more, and every derived spell paid for them.

Revision ID: 8b3f6d2a9c47
Revises: 5c1e9a7f3b20
Create Date: 2026-12-04 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "8b3f6d2a9c47"
down_revision: str | None = "5c1e9a7f3b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNKNOWN_KIND = "onbekend"  # services.kpi.membership.UNKNOWN_KIND when this revision was written


def upgrade() -> None:
    # a default for the rows already there (SQLite adds a NOT NULL column only with one)
    op.add_column(
        "kpi_organisation_spells",
        sa.Column(
            "kind",
            sqlmodel.sql.sqltypes.AutoString(length=60),
            nullable=False,
            server_default=UNKNOWN_KIND,
        ),
    )
    spells = sa.table("kpi_organisation_spells", sa.column("organisation_id", sa.Uuid()), sa.column("kind"))
    organisations = sa.table("kpi_organisations", sa.column("organisation_id", sa.Uuid()), sa.column("kind"))
    same = organisations.c.organisation_id == spells.c.organisation_id
    op.execute(
        spells.update()
        .values(kind=sa.select(organisations.c.kind).where(same).scalar_subquery())
        .where(sa.exists().where(same))
    )
    op.create_table(
        "kpi_organisation_counts",
        sa.Column("grain", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.PrimaryKeyConstraint("grain", "on_date", "kind"),
    )
    op.drop_index("ix_kpi_organisation_spells_on", table_name="kpi_organisation_spells")
    op.drop_index("ix_kpi_knowledge_sharing_spells_on", table_name="kpi_knowledge_sharing_spells")
    # the organisations' spells derived before this revision, counted by the projector's code
    from services.kpi.membership import KpiOrganisationCount, KpiOrganisationSpell, count_everyone

    count_everyone(op.get_bind(), KpiOrganisationSpell, KpiOrganisationCount)


def downgrade() -> None:
    op.create_index(
        "ix_kpi_knowledge_sharing_spells_on",
        "kpi_knowledge_sharing_spells",
        ["until_on", "from_on"],
        unique=False,
    )
    op.create_index(
        "ix_kpi_organisation_spells_on",
        "kpi_organisation_spells",
        ["until_on", "from_on", "organisation_id"],
        unique=False,
    )
    op.drop_table("kpi_organisation_counts")
    with op.batch_alter_table("kpi_organisation_spells") as batch:
        batch.drop_column("kind")
