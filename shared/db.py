"""Database helpers: one engine per service (SQLite by default, PostgreSQL by URL) and Alembic migrations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

# An execution option for work that only reads: on SQLite its transaction takes no write lock (every
# other transaction takes it up front, see make_engine). `reader(engine)` gives such an engine.
READ_ONLY = "vvsg_read_only"


def reader(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read (SQLite: no write lock)."""
    return engine.execution_options(**{READ_ONLY: True})


# how long a writer waits for SQLite's one write lock before "database is locked"
BUSY_SECONDS = 30.0
# how long a new PostgreSQL connection may take (libpq's connect_timeout; a URL's own one wins)
CONNECT_TIMEOUT_SECONDS = 5


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
    # Pool: 10 kept + 10 more under load. The thread pool can ask for more at once (40 route threads
    # and the relay's); those wait in the pool's queue. Under bench.members_write at 100 commands/s
    # the waits there were a few percent of the threads' time: not what made commands queue.
    # A server that does not answer fails a new connection after this many seconds: without it, a host
    # gone from the network held it for the system's TCP timeout (about two minutes), and a server that
    # accepts and never answers for ever. The consumers read their positions on the event loop when
    # partitions are assigned (shared.messaging.seek_to_stored)
    connect_args = {} if "connect_timeout=" in url else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    engine = create_engine(url, pool_size=10, max_overflow=10, connect_args=connect_args)
    _ping_when_idle(engine)
    return engine


# A pooled PostgreSQL connection may be dead: the server restarted, or the connection was cut. Asking
# the server before every checkout (pool_pre_ping) cost every command a round trip, about a tenth of
# its time waiting on the database. A connection back in use within this many seconds was just
# working; one idle longer is asked first. One that is dead without having been idle fails its
# statement with a disconnect error, and SQLAlchemy then replaces it and every connection pooled
# before it: the pool recovers, and only the commands that already held a dead connection fail.
IDLE_PING_SECONDS = 1.0
_IDLE_SINCE = "vvsg_idle_since"


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        # record.info belongs to this DBAPI connection: a replaced connection starts without it
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # any failure of the ping: not usable. The pool drops this connection and checks out
            # another (a new one if need be)
            idle = time.monotonic() - since
            raise DisconnectionError(f"pooled connection dead after {idle:.0f}s idle") from exc


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


def analyse(engine: Engine) -> None:
    """PostgreSQL: fresh planner statistics (ANALYZE) for every table of the connection's schema (its
    `search_path`: a KPI generation's own, or public). Nothing on SQLite. An ANALYZE also makes every
    plan PostgreSQL keeps for a prepared statement on those tables be made again (shared.consumer)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        listed = ", ".join(names)
        if listed:
            connection.exec_driver_sql(f"ANALYZE {listed}")
            connection.commit()


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
