"""Shared body of every service's Alembic env.py: run migrations on the connection handed in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

from shared.db import make_engine


def run(target_metadata: MetaData) -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # the alembic command line: DATABASE_URL or a throwaway SQLite file
        import os

        engine = make_engine(os.environ.get("DATABASE_URL", "sqlite:///./data/alembic.db"))
        with engine.begin() as conn:
            _run(conn, target_metadata)
        return
    _run(connection, target_metadata)


def _run(connection: object, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
