"""processed events without rowid: on SQLite the inbox stored once, in its key's order
(shared.consumer.ProcessedEvent); nothing changes on PostgreSQL

Revision ID: 8b02637c763f
Revises: b27d384abf91
Create Date: 2026-12-06 12:30:00
"""

from collections.abc import Sequence

from alembic import op

from shared.consumer import inbox_without_rowid

revision: str = "8b02637c763f"
down_revision: str | None = "b27d384abf91"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inbox_without_rowid(op.get_bind())


def downgrade() -> None:
    inbox_without_rowid(op.get_bind(), without=False)
