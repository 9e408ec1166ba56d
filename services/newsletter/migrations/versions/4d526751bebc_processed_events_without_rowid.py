"""processed events without rowid: on SQLite the inbox stored once, in its key's order
(shared.consumer.ProcessedEvent); nothing changes on PostgreSQL

Revision ID: 4d526751bebc
Revises: c2f7f04d71f0
Create Date: 2026-12-06 12:30:00
"""

from collections.abc import Sequence

from alembic import op

from shared.consumer import inbox_without_rowid

revision: str = "4d526751bebc"
down_revision: str | None = "c2f7f04d71f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inbox_without_rowid(op.get_bind())


def downgrade() -> None:
    inbox_without_rowid(op.get_bind(), without=False)
