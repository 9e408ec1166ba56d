"""public signups: registrations made on the public agenda, with the outside participant's contact
details (never on a topic) and the address's digest (duplicates, the per-address limit)

Revision ID: 117ead78098d
Revises: e41c07b9a2d3
Create Date: 2026-12-03 06:52:52
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "117ead78098d"
down_revision: str | None = "e41c07b9a2d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ev_public_signups",
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("email_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("organisation_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["ev_registrations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["ev_sessions.id"],
        ),
        sa.PrimaryKeyConstraint("registration_id"),
    )
    with op.batch_alter_table("ev_public_signups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ev_public_signups_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ev_public_signups_email_sha256"), ["email_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_ev_public_signups_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ev_public_signups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ev_public_signups_session_id"))
        batch_op.drop_index(batch_op.f("ix_ev_public_signups_email_sha256"))
        batch_op.drop_index(batch_op.f("ix_ev_public_signups_created_at"))

    op.drop_table("ev_public_signups")
