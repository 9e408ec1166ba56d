"""communications read models: newsletters sent, articles, good practices (OD 1.3)

Revision ID: 3c0d1e5a7b21
Revises: 4db8b6ec6d98
Create Date: 2026-11-28 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "3c0d1e5a7b21"
down_revision: str | None = "4db8b6ec6d98"
branch_labels: str | Sequence[str] | None = ("communications",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_newsletters_sent",
        sa.Column("issue_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("issue_id"),
    )
    with op.batch_alter_table("kpi_newsletters_sent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_newsletters_sent_sent_on"), ["sent_on"], unique=False)

    op.create_table(
        "kpi_articles",
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("magazine", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("article_id"),
    )
    with op.batch_alter_table("kpi_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_articles_published_on"), ["published_on"], unique=False)

    op.create_table(
        "kpi_good_practices",
        sa.Column("practice_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("practice_id"),
    )
    with op.batch_alter_table("kpi_good_practices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kpi_good_practices_published_on"), ["published_on"], unique=False
        )


def downgrade() -> None:
    for table, column in (
        ("kpi_good_practices", "published_on"),
        ("kpi_articles", "published_on"),
        ("kpi_newsletters_sent", "sent_on"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
