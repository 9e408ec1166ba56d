"""sharing counts: the net change of the number of members in the knowledge-sharing channel per day and
per year, kept by the projector with the channel's spells (services.kpi.membership), so that
OD1.1-kennisdeling adds up a few hundred rows instead of counting one spell per member in the channel
(issue 14: 19,428 spells, 2.3 ms of the answer at a million records of history). Filled here from the
knowledge-sharing spells.

Revision ID: 5c1e9a7f3b20
Revises: 0a4c2e6b8d13
Create Date: 2026-12-04 12:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5c1e9a7f3b20"
down_revision: str | None = "0a4c2e6b8d13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_sharing_counts",
        sa.Column("grain", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "on_date"),
    )
    # the knowledge-sharing spells derived before this revision, counted by the projector's code
    from services.kpi.membership import KpiKnowledgeSharingSpell, KpiSharingCount, count_everyone

    count_everyone(op.get_bind(), KpiKnowledgeSharingSpell, KpiSharingCount)


def downgrade() -> None:
    op.drop_table("kpi_sharing_counts")
