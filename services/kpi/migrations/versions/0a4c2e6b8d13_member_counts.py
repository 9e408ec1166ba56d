"""member counts: the net change of the number of active members per day and per year, kept by the
projector with the member spells (services.kpi.membership), so that "members active on D" adds up a
few hundred rows instead of counting one spell per active member (issue 14: at a million records of
history that count read 60,000 spells on every request). Filled here from the member spells.

Revision ID: 0a4c2e6b8d13
Revises: e3a7d05b9c12
Create Date: 2026-12-03 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0a4c2e6b8d13"
down_revision: str | None = "e3a7d05b9c12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_member_counts",
        sa.Column("grain", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "on_date"),
    )
    # the member spells derived before this revision, counted by the projector's code
    from services.kpi.membership import count_everyone

    count_everyone(op.get_bind())


def downgrade() -> None:
    op.drop_table("kpi_member_counts")
