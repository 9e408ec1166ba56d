"""session mails: members' addresses from members.contacts and the feedback requests about sessions
(ids only), for the reminders, the mails about cancelled or moved sessions and the feedback reminder

Revision ID: c4d8e2a61f37
Revises: 5c1e0a7d2b94
Create Date: 2026-12-03 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c4d8e2a61f37"
down_revision: str | None = "5c1e0a7d2b94"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ev_member_addresses",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("first_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_table(
        "ev_feedback_requests",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("requested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    with op.batch_alter_table("ev_feedback_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ev_feedback_requests_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ev_feedback_requests_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ev_feedback_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ev_feedback_requests_member_id"))
        batch_op.drop_index(batch_op.f("ix_ev_feedback_requests_session_id"))
    op.drop_table("ev_feedback_requests")
    op.drop_table("ev_member_addresses")
