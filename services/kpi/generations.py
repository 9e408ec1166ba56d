"""Read-model generations: where the KPI read models live, and which set the service answers from.

A generation is one complete set of read models together with the projector's positions and inbox
(`consumer_offsets`, `processed_events`), so positions and state always change in one transaction.

- Generation 1 is the service's own database (DATABASE_URL) as it always was.
- Generation N > 1 lives beside it: for SQLite a sibling file (`kpi.db` → `kpi.g2.db`), for
  PostgreSQL a schema `kpi_g2` in the same database, reached through the connection's `search_path`,
  so the read-model code never names a schema.
- The pointer is the table `kpi_generations` in the base database (never in a generation): at most one
  row is `active` (no row at all means generation 1), at most one is `building`. Switching is one
  UPDATE of two rows in one transaction. Frozen reports live in the base database too, so that a
  rebuild never touches them.

The live projector (services.kpi.app) runs against the active generation and restarts against the new
one when the pointer changes; the API resolves the active generation at most once a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from shared.db import make_engine, migrate, normalise_url, transaction

# the KPI service's schema: every generation and the base database are migrated with it
MIGRATIONS = Path(__file__).parent / "migrations"
BASE = 1
BUILDING, ACTIVE, RETIRED, DROPPED = "building", "active", "retired", "dropped"


class KpiGeneration(SQLModel, table=True):
    __tablename__ = "kpi_generations"

    generation: int = Field(primary_key=True)
    state: str = Field(max_length=20)  # building | active | retired | dropped
    location: str = Field(max_length=300)  # "" for the base; a sibling file name or a schema name
    created_at: datetime
    activated_at: datetime | None = None
    retired_at: datetime | None = None


@dataclass(frozen=True)
class Generation:
    number: int
    location: str
    engine: Engine  # for the projector and every write
    reader: Engine  # for answering questions: never waits for, nor holds up, the projector


# The page cache of a generation's writer on SQLite (the rebuild's projector, then the live one once
# the generation is switched to): 64 MiB instead of SQLite's 2 MiB. A rebuild inserts ~1M random event
# ids into the inbox's primary key and refolds members all over the spells' indexes; with 2 MiB most of
# those pages were read again per batch. A rebuild of 1M records, four alternated pairs
# (docs/BENCHMARKS.md): 4.5-14 % faster, peak RSS ~205 -> ~282 MiB.
WRITER_CACHE_KIB = 64 * 1024


def _writer_cache(kib: int) -> Callable[[Any, Any], None]:
    """A connect listener that gives the connection a page cache of `kib` KiB."""

    def listener(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA cache_size=-{kib}")  # negative: KiB, not pages
        cursor.close()

    return listener


class Generations:
    """The generations of one KPI database. Thread-safe; engines are made once and kept."""

    def __init__(
        self, base_url: str, base_engine: Engine | None = None, writer_cache_kib: int = WRITER_CACHE_KIB
    ) -> None:
        self.url = normalise_url(base_url)
        self.writer_cache_kib = writer_cache_kib  # SQLite: each writer connection's page cache
        self.sqlite = self.url.startswith("sqlite")
        self.base = base_engine if base_engine is not None else make_engine(base_url)
        self._own_base = base_engine is None
        self._engines: dict[str, Engine] = {"": self.base}
        self._readers: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self._active: Generation | None = None
        self._checked = 0.0

    # --- which one answers ----------------------------------------------------------------------

    def active(self, max_age: float = 1.0) -> Generation:
        current = self._active
        if current is None or time.monotonic() - self._checked > max_age:
            return self.refresh()
        return current

    def refresh(self) -> Generation:
        with Session(self.base) as session:
            row = session.exec(select(KpiGeneration).where(col(KpiGeneration.state) == ACTIVE)).first()
        current = self.open(row.generation, row.location) if row else self.open(BASE, "")
        self._active, self._checked = current, time.monotonic()
        return current

    def open(self, number: int, location: str) -> Generation:
        with self._lock:
            engine = self._engines.get(location)
            if engine is None:
                engine = self._engines[location] = self._make_engine(location)
            reader = self._readers.get(location)
            if reader is None:
                reader = self._readers[location] = self._make_reader(location) if self.sqlite else engine
        return Generation(number, location, engine, reader)

    def _make_reader(self, location: str) -> Engine:
        """SQLite: shared.db starts every transaction with BEGIN IMMEDIATE (the write lock), so a KPI
        query on the writer's engine would stop the projector for as long as it runs. In WAL mode a
        plain (deferred) read transaction sees a consistent snapshot and blocks no one."""
        path = self._sibling(location) if location else self.base_file()
        engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine

    def _make_engine(self, location: str) -> Engine:
        if self.sqlite:
            engine = make_engine(f"sqlite:///{self._sibling(location)}")
            event.listen(engine, "connect", _writer_cache(self.writer_cache_kib))
            return engine
        return create_engine(
            self.url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            connect_args={"options": f"-csearch_path={location}"},
        )

    def base_file(self) -> Path:
        database = make_url(self.url).database
        if not database or database == ":memory:":
            raise ValueError("generations need a SQLite database file, not an in-memory database")
        return Path(database)

    def _sibling(self, location: str) -> Path:
        return self.base_file().with_name(location)

    def _location(self, number: int) -> str:
        if self.sqlite:
            base = self.base_file()
            return f"{base.stem}.g{number}{base.suffix or '.db'}"
        return f"kpi_g{number}"

    # --- rebuilding -----------------------------------------------------------------------------

    def rows(self) -> list[KpiGeneration]:
        with Session(self.base) as session:
            rows = list(session.exec(select(KpiGeneration).order_by(col(KpiGeneration.generation))))
        return rows

    def building(self) -> Generation | None:
        for row in self.rows():
            if row.state == BUILDING:
                return self.open(row.generation, row.location)
        return None

    def start_building(self, migrations: Path) -> tuple[Generation, bool]:
        """The generation being built (resumed), or a new empty one. Returns it and whether it is new."""
        existing = self.building()
        if existing is not None:
            migrate(existing.engine, migrations)
            return existing, False
        with transaction(self.base) as session:
            numbers = [r.generation for r in session.exec(select(KpiGeneration))]
            number = max([BASE, *numbers]) + 1
            location = self._location(number)
            session.add(
                KpiGeneration(generation=number, state=BUILDING, location=location, created_at=_now())
            )
        self._drop_location(location)  # leftovers of an earlier database with the same name
        if not self.sqlite:
            with self.base.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{location}"'))
        generation = self.open(number, location)
        migrate(generation.engine, migrations)
        return generation, True

    def activate(self, number: int) -> int:
        """Make a built generation the one that answers; returns the number of the one it replaces."""
        now = _now()
        with transaction(self.base) as session:
            rows = {r.generation: r for r in session.exec(select(KpiGeneration))}
            new = rows.get(number)
            if new is None or new.state != BUILDING:
                raise ValueError(f"generation {number} is not being built")
            previous = next((r for r in rows.values() if r.state == ACTIVE), None)
            if previous is None:  # the base database answered until now
                previous = rows.get(BASE) or KpiGeneration(
                    generation=BASE, state=ACTIVE, location="", created_at=now
                )
            previous.state, previous.retired_at = RETIRED, now
            new.state, new.activated_at = ACTIVE, now
            session.add(previous)
            session.add(new)
        self._active = None
        return previous.generation

    def drop_retired(self, keep: int) -> list[int]:
        """Remove retired generations except `keep` (the one just replaced, for going back) and the
        base database (it holds the pointer and the frozen reports)."""
        dropped = []
        for row in self.rows():
            if row.state != RETIRED or row.generation in (BASE, keep):
                continue
            self._forget(row.location)
            self._drop_location(row.location)
            with transaction(self.base) as session:
                stored = session.get(KpiGeneration, row.generation)
                if stored is not None:
                    stored.state = DROPPED
                    session.add(stored)
            dropped.append(row.generation)
        return dropped

    def _forget(self, location: str) -> None:
        with self._lock:
            engines = [self._engines.pop(location, None), self._readers.pop(location, None)]
        for engine in engines:
            if engine is not None:
                engine.dispose()

    def _drop_location(self, location: str) -> None:
        if not location:
            return
        if self.sqlite:
            path = self._sibling(location)
            for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                candidate.unlink(missing_ok=True)
        else:
            with self.base.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{location}" CASCADE'))

    def dispose(self) -> None:
        with self._lock:
            engines = [e for loc, e in self._engines.items() if loc or self._own_base]
            engines += [e for e in self._readers.values() if e not in engines and e is not self.base]
            self._engines, self._readers = {"": self.base}, {}
        for engine in engines:
            engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)
