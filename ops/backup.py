"""Backup and restore of one service's database: `pg_dump` / `pg_restore` on PostgreSQL, SQLite's own
online backup on SQLite.

    vvsg backup --service events --to events.dump
    vvsg restore --service events --from events.dump            # into a missing or empty database
    vvsg restore --service events --from events.dump --replace  # the service must be stopped

Why a plain dump is enough for this system: everything a service needs to resume lives in its own
database and is dumped in one consistent snapshot (pg_dump's single transaction) — its state, the
positions and event ids its consumers applied (shared/consumer.py: consumer_offsets,
processed_events) and its outbox (shared/outbox.py). After a restore the consumers seek to the stored
positions and read again what came after the backup, applying it once; outbox rows not yet published
at backup time are published again, with their original event ids, which every consumer drops as
already applied. What the service itself wrote after the backup is gone from its database (its events
stay on the topics): the backup interval is the data one can lose.

The PostgreSQL client programs come from the OS packages (deploy.local_postgres.bin_dir finds them);
a password in the URL is handed to them in PGPASSWORD, never on the command line.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Engine, make_url

from deploy.local_postgres import bin_dir
from shared.db import normalise_url


class BackupError(Exception):
    """A backup or restore that could not be done; nothing was changed."""


# a table only this service has: a backup is restored only into the service it was made of, and only a
# database that is the service's own is backed up under its name (a wrong DATABASE_URL shows here)
MARKER_TABLES: dict[str, str] = {
    "members": "organisations",
    "events": "ev_sessions",
    "feedback": "fb_requests",
    "newsletter": "nl_subscribers",
    "kpi": "kpi_generations",
}


def _marker(service: str) -> str:
    try:
        return MARKER_TABLES[service]
    except KeyError:
        raise BackupError(f"onbekende dienst {service!r}; kies uit {', '.join(MARKER_TABLES)}") from None


@dataclass(frozen=True)
class Summary:
    """What a database holds that matters for resuming: shown after a backup and a restore."""

    tables: int
    outbox_rows: int
    outbox_unpublished: int
    consumer_positions: int
    processed_events: int

    def describe(self) -> str:
        return (
            f"{self.tables} tabellen; outbox {self.outbox_rows} rijen ({self.outbox_unpublished} nog niet "
            f"gepubliceerd); {self.consumer_positions} consumentenposities; "
            f"{self.processed_events} verwerkte event-ids"
        )


def _url(database_url: str) -> URL:
    return make_url(normalise_url(database_url))


def is_postgres(database_url: str) -> bool:
    return _url(database_url).get_backend_name() == "postgresql"


def summary(database_url: str) -> Summary:
    engine = create_engine(normalise_url(database_url))
    try:
        names = set(inspect(engine).get_table_names())

        def count(sql: str, table: str) -> int:
            if table not in names:
                return 0
            with engine.connect() as connection:
                return int(connection.execute(text(sql)).scalar() or 0)

        return Summary(
            tables=len(names),
            outbox_rows=count("SELECT count(*) FROM outbox", "outbox"),
            outbox_unpublished=count("SELECT count(*) FROM outbox WHERE published_at IS NULL", "outbox"),
            consumer_positions=count("SELECT count(*) FROM consumer_offsets", "consumer_offsets"),
            processed_events=count("SELECT count(*) FROM processed_events", "processed_events"),
        )
    finally:
        engine.dispose()


# --- PostgreSQL ----------------------------------------------------------------------------------


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, and the environment that carries it."""
    plain = url.set(drivername="postgresql", password=None)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise BackupError(f"{what} mislukt: {result.stderr.strip()[-2000:]}")
    return result


def _admin(url: URL) -> Engine:
    """A connection to the server's maintenance database, to create or drop the service's database."""
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _pg_backup(url: URL, target: Path) -> None:
    conninfo, env = _libpq(url)
    _run(
        [
            str(bin_dir() / "pg_dump"),
            "--format=custom",  # compressed, and pg_restore can check it before anything is dropped
            "--no-owner",
            "--no-privileges",
            "--file",
            str(target),
            "--dbname",
            conninfo,
        ],
        env,
        "pg_dump",
    )


def _pg_check(source: Path, service: str) -> None:
    result = subprocess.run(
        [str(bin_dir() / "pg_restore"), "--list", str(source)], capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise BackupError(f"{source} is geen back-up van pg_dump (--format=custom): {result.stderr.strip()}")
    if f" TABLE public {_marker(service)} " not in result.stdout:
        raise BackupError(f"{source} is geen back-up van de dienst {service} (geen tabel {_marker(service)})")


def _pg_restore(url: URL, source: Path, service: str, replace: bool) -> None:
    """Restores into a staging database first and swaps it in by renaming: a restore that fails half
    way leaves the service's database as it was."""
    _pg_check(source, service)
    name = url.database
    if not name or '"' in name or "\x00" in name:  # the name goes quoted into CREATE/DROP DATABASE
        raise BackupError(f"de databank-URL noemt geen bruikbare databanknaam: {name!r}")
    staging = f"{name[:50]}_restoring"
    replaced = f"{name[:50]}_replaced"  # the old database, kept until the restored one has its name
    admin = _admin(url)
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
        if exists:
            engine = create_engine(url)
            try:
                tables = inspect(engine).get_table_names()
            finally:
                engine.dispose()
            if tables and not replace:
                raise BackupError(
                    f"databank {name} bestaat al en heeft {len(tables)} tabellen; kies --replace om ze te "
                    "vervangen (stop eerst de dienst)"
                )
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{staging}"'))  # a failed earlier try
            connection.execute(text(f'CREATE DATABASE "{staging}"'))
        conninfo, env = _libpq(url.set(database=staging))
        try:
            _run(
                [
                    str(bin_dir() / "pg_restore"),
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    "--dbname",
                    conninfo,
                    str(source),
                ],
                env,
                "pg_restore",
            )
            with admin.connect() as connection:
                if exists:
                    others = connection.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
                    ).scalar()
                    if others:
                        raise BackupError(
                            f"databank {name} heeft nog {others} verbinding(en): stop eerst de dienst"
                        )
                    # set aside, not dropped: the old database goes only once the restored one has its name
                    # (a rename fails, harmlessly, if the service connected again in between)
                    connection.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{replaced}"'))
                try:
                    connection.execute(text(f'ALTER DATABASE "{staging}" RENAME TO "{name}"'))
                except Exception:
                    if exists:
                        connection.execute(text(f'ALTER DATABASE "{replaced}" RENAME TO "{name}"'))
                    raise
                if exists:
                    connection.execute(text(f'DROP DATABASE "{replaced}"'))
        except BaseException:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{staging}"'))
            raise
    finally:
        admin.dispose()


# --- SQLite --------------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("een SQLite-databank in het geheugen heeft geen back-up")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while the service keeps writing."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    # the `with` of sqlite3 commits but does not close
    src.close()
    dst.close()


def _sqlite_check(source: Path, service: str) -> None:
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as connection:
            verdict = connection.execute("PRAGMA quick_check").fetchone()
            marker = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_marker(service),)
            ).fetchone()
        connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is geen SQLite-databank: {exc}") from None
    if not verdict or verdict[0] != "ok":
        raise BackupError(f"{source} is beschadigd: {verdict}")
    if not marker:
        raise BackupError(f"{source} is geen back-up van de dienst {service} (geen tabel {_marker(service)})")


def _sqlite_restore(url: URL, source: Path, service: str, replace: bool) -> None:
    _sqlite_check(source, service)
    target = _sqlite_path(url)
    if target.exists() and target.stat().st_size > 0 and not replace:
        raise BackupError(f"{target} bestaat al; kies --replace om het te vervangen (stop eerst de dienst)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    staged.unlink(missing_ok=True)
    _sqlite_copy(source, staged)
    for suffix in ("-wal", "-shm"):  # a write-ahead log of the old file must not be replayed on the new
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    staged.replace(target)


# --- both ----------------------------------------------------------------------------------------


def backup(database_url: str, target: Path, service: str) -> Summary:
    """Writes a consistent copy of the service's database to `target` (replaced only once the copy is
    complete). A database without the service's tables is refused: the URL is probably wrong."""
    url = _url(database_url)
    if url.get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        raise BackupError(f"{_sqlite_path(url)} bestaat niet")
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    except Exception as exc:  # noqa: BLE001 - an unreachable or missing database: say so, clearly
        raise BackupError(f"de databank is niet bereikbaar: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()
    if _marker(service) not in tables:
        raise BackupError(
            f"deze databank is niet die van de dienst {service} (geen tabel {_marker(service)})"
        )
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, staged_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    staged = Path(staged_name)
    try:
        if url.get_backend_name() == "postgresql":
            _pg_backup(url, staged)
        elif url.get_backend_name() == "sqlite":
            _sqlite_copy(_sqlite_path(url), staged)
        else:
            raise BackupError(f"geen back-up voor databanken van het soort {url.get_backend_name()}")
        os.chmod(staged, 0o600)  # personal data: for the owner only
        staged.replace(target)
    finally:
        staged.unlink(missing_ok=True)
    return summary(database_url)


def restore(database_url: str, source: Path, service: str, *, replace: bool = False) -> Summary:
    """Restores `source` into the database. A missing or empty database is filled; one with tables only
    with `replace` (and, on PostgreSQL, only when nobody is connected to it). The file is checked first:
    a file that is not a backup of this service's database changes nothing."""
    if not source.is_file():
        raise BackupError(f"{source} bestaat niet")
    url = _url(database_url)
    if url.get_backend_name() == "postgresql":
        _pg_restore(url, source, service, replace)
    elif url.get_backend_name() == "sqlite":
        _sqlite_restore(url, source, service, replace)
    else:
        raise BackupError(f"geen herstel voor databanken van het soort {url.get_backend_name()}")
    return summary(database_url)
