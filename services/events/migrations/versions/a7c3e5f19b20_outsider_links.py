"""outsider links: the personal links mailed to addresses not known as a member's — the double opt-in
of a public sign-up and the link to one's own data — each with its mail, sent once

Revision ID: a7c3e5f19b20
Revises: c4d8e2a61f37
Create Date: 2026-12-03 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a7c3e5f19b20"
down_revision: str | None = "c4d8e2a61f37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ev_outsider_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("token_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("email_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("organisation_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("organisation_kind", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("registration_id", sa.Uuid(), nullable=True),
        sa.Column("mail_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("mail_token", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("mail_attempts", sa.Integer(), nullable=False),
        sa.Column("mail_note", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ev_outsider_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ev_outsider_links_token_sha256"), ["token_sha256"], unique=True)
        batch_op.create_index(batch_op.f("ix_ev_outsider_links_email_sha256"), ["email_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_ev_outsider_links_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ev_outsider_links_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ev_outsider_links_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ev_outsider_links_mail_status"), ["mail_status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ev_outsider_links", schema=None) as batch_op:
        for column in (
            "mail_status",
            "expires_at",
            "created_at",
            "session_id",
            "email_sha256",
            "token_sha256",
        ):
            batch_op.drop_index(batch_op.f(f"ix_ev_outsider_links_{column}"))
    op.drop_table("ev_outsider_links")
