"""signup mails: the digest of a public sign-up's personal cancel token, and the mails about public
sign-ups waiting to be sent (confirmation, moved up from the waiting list), each sent once

Revision ID: 5c1e0a7d2b94
Revises: 117ead78098d
Create Date: 2026-12-03 07:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5c1e0a7d2b94"
down_revision: str | None = "117ead78098d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ev_public_signups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cancel_token_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_ev_public_signups_cancel_token_sha256"), ["cancel_token_sha256"], unique=True
        )
    op.create_table(
        "ev_signup_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ev_signup_mails", schema=None) as batch_op:
        batch_op.create_index("ux_ev_signup_mails_once", ["registration_id", "kind"], unique=True)
        batch_op.create_index(batch_op.f("ix_ev_signup_mails_registration_id"), ["registration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ev_signup_mails_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ev_signup_mails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ev_signup_mails_status"))
        batch_op.drop_index(batch_op.f("ix_ev_signup_mails_registration_id"))
        batch_op.drop_index("ux_ev_signup_mails_once")
    op.drop_table("ev_signup_mails")
    with op.batch_alter_table("ev_public_signups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ev_public_signups_cancel_token_sha256"))
        batch_op.drop_column("cancel_token_sha256")
