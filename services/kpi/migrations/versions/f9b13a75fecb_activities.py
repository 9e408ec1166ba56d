"""activities read models: sessions, registrations, attendance, advice, trajectories

Revision ID: f9b13a75fecb
Revises: 4db8b6ec6d98
Create Date: 2026-11-28 14:08:43.339397
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "f9b13a75fecb"
down_revision: str | None = "4db8b6ec6d98"
branch_labels: str | Sequence[str] | None = ("activities",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "kpi_act_advice",
        sa.Column("advice_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("with_mediawijs", sa.Boolean(), nullable=False),
        sa.Column("version_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("version_event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("advice_id"),
    )
    with op.batch_alter_table("kpi_act_advice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_act_advice_given_on"), ["given_on"], unique=False)

    op.create_table(
        "kpi_act_attendance",
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("version_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("version_event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("registration_id"),
    )
    with op.batch_alter_table("kpi_act_attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_act_attendance_session_id"), ["session_id"], unique=False)

    op.create_table(
        "kpi_act_registrations",
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("organisation_kind", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("waitlisted", sa.Boolean(), nullable=True),
        sa.Column("version_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("version_event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("registration_id"),
    )
    with op.batch_alter_table("kpi_act_registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_act_registrations_session_id"), ["session_id"], unique=False)

    op.create_table(
        "kpi_act_session_facts",
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("fact", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("event_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=True),
        sa.Column("participant_hours", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("kpi_act_session_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_act_session_facts_on_date"), ["on_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_kpi_act_session_facts_session_id"), ["session_id"], unique=False)

    op.create_table(
        "kpi_act_sessions",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("theme", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("lead", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("requested_by_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("ends_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("planned_hours", sa.Float(), nullable=True),
        sa.Column("schedule_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("schedule_event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("recording_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("recording_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("recording_event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "kpi_act_trajectories",
        sa.Column("trajectory_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("methodology", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("started_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("started_event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("completed_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("completed_event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("trajectory_id"),
    )


def downgrade() -> None:

    op.drop_table("kpi_act_trajectories")
    op.drop_table("kpi_act_sessions")
    with op.batch_alter_table("kpi_act_session_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_act_session_facts_session_id"))
        batch_op.drop_index(batch_op.f("ix_kpi_act_session_facts_on_date"))

    op.drop_table("kpi_act_session_facts")
    with op.batch_alter_table("kpi_act_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_act_registrations_session_id"))

    op.drop_table("kpi_act_registrations")
    with op.batch_alter_table("kpi_act_attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_act_attendance_session_id"))

    op.drop_table("kpi_act_attendance")
    with op.batch_alter_table("kpi_act_advice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_act_advice_given_on"))

    op.drop_table("kpi_act_advice")
