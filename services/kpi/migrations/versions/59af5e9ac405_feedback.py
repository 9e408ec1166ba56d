"""feedback read models: feedback requests, answers and user surveys

Revision ID: 59af5e9ac405
Revises: 4db8b6ec6d98
Create Date: 2026-11-28 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "59af5e9ac405"
down_revision: str | None = "4db8b6ec6d98"
branch_labels: str | Sequence[str] | None = ("feedback",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_fb_requests",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("subject_type", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    with op.batch_alter_table("kpi_fb_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_fb_requests_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "kpi_fb_responses",
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("subject_type", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("usefulness", sa.Integer(), nullable=True),
        sa.Column("motivated", sa.Integer(), nullable=True),
        sa.Column("able_to_act", sa.Integer(), nullable=True),
        sa.Column("has_comment", sa.Boolean(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("response_id"),
    )
    with op.batch_alter_table("kpi_fb_responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_fb_responses_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kpi_fb_responses_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "kpi_fb_surveys",
        sa.Column("survey_id", sa.Uuid(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("responses", sa.Integer(), nullable=True),
        sa.Column("local_government_responses", sa.Integer(), nullable=True),
        sa.Column("closed_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("survey_id"),
    )


def downgrade() -> None:
    op.drop_table("kpi_fb_surveys")
    with op.batch_alter_table("kpi_fb_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_fb_responses_subject_id"))
        batch_op.drop_index(batch_op.f("ix_kpi_fb_responses_request_id"))
    op.drop_table("kpi_fb_responses")
    with op.batch_alter_table("kpi_fb_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_fb_requests_subject_id"))
    op.drop_table("kpi_fb_requests")
