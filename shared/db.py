"""Database helpers: one engine per service (SQLite by default, PostgreSQL by URL) and Alembic migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

# An execution option for work that only reads: on SQLite its transaction takes no write lock (every
# other transaction takes it up front, see make_engine). `reader(engine)` gives such an engine.
READ_ONLY = "vvsg_read_only"


def reader(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read (SQLite: no write lock)."""
    return engine.execution_options(**{READ_ONLY: True})


# how long a writer waits for SQLite's one write lock before "database is locked"
BUSY_SECONDS = 30.0


def normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_SECONDS})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite opens transactions lazily and so breaks SAVEPOINTs; SQLAlchemy's recipe is to
            # switch that off here and emit BEGIN ourselves (see the "begin" listener below)
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            if connection.get_execution_options().get(READ_ONLY):
                # a reader needs no lock in WAL mode: it sees the last commit and never waits
                connection.exec_driver_sql("BEGIN")
                return
            # IMMEDIATE: take the write lock up front. A deferred transaction that read first and
            # writes later fails at once (SQLITE_BUSY_SNAPSHOT) when another connection wrote in
            # between; waiting for the lock here lets busy_timeout do its job instead.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def insert_for(dialect: str, table: Table) -> Any:
    """INSERT with ON CONFLICT for the dialect by name: SQLite's and PostgreSQL's constructs share that API
    (`on_conflict_do_update`, `on_conflict_do_nothing`, `excluded`), but each dialect has its own."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no INSERT … ON CONFLICT for {dialect}")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def ping(engine: Engine) -> None:
    with reader(engine).connect() as conn:
        conn.execute(text("SELECT 1"))


def migrate(engine: Engine, migrations_dir: Path) -> None:
    """Bring the service's schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
