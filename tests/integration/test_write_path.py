"""The write path under concurrency, on SQLite and PostgreSQL: every command commits with its outbox
rows, a rolled-back savepoint leaves none of its rows, the relay is woken by a commit only, and on
SQLite one writer at a time hands over at once while a reader never waits for it (shared.db)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from services.members.app import MIGRATIONS
from shared import events
from shared.db import make_engine, migrate, reader, transaction
from shared.outbox import Outbox, OutboxMessage

pytestmark = pytest.mark.integration


def _engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    return engine


def _joined(member: uuid.UUID, day: int = 1) -> events.KnowledgeSharingJoined:
    return events.KnowledgeSharingJoined(member_id=member, joined_on=date(2025, 1, day))


def _rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def test_concurrent_writers_all_commit_with_their_outbox_rows_in_order_per_key(database_url: str) -> None:
    engine = _engine(database_url)
    outbox = Outbox("/services/test")
    members = [uuid.uuid4() for _ in range(4)]
    failures: list[BaseException] = []

    def writer(member: uuid.UUID) -> None:
        try:
            for day in range(1, 21):
                with transaction(engine) as session:
                    # two rows for one key in one transaction, as a command with an event and a contact
                    outbox.add(session, _joined(member, day))
                    outbox.add_record(session, topic="members.contacts", key=str(member), value={"d": day})
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(m,)) for m in members for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    rows = _rows(engine)
    assert len(rows) == len(members) * 2 * 20 * 2
    for member in members:
        mine = [row for row in rows if row.key == str(member)]
        # a transaction's two rows stay together in id order: no other transaction for the key got
        # in between (PostgreSQL: the advisory lock per key; SQLite: one writer)
        assert [row.event_id is not None for row in mine] == [True, False] * 40
    engine.dispose()


def test_outbox_rows_of_a_rolled_back_savepoint_are_not_kept(database_url: str) -> None:
    engine = _engine(database_url)
    outbox = Outbox("/services/test")
    member = uuid.uuid4()
    with transaction(engine) as session:
        kept = outbox.add(session, _joined(member, 1))
        savepoint = session.begin_nested()
        outbox.add(session, _joined(member, 2))
        savepoint.rollback()
        # the same key again after the rollback: on PostgreSQL its advisory lock is taken anew
        again = outbox.add(session, _joined(member, 3))
    assert [row.event_id for row in _rows(engine)] == [kept["id"], again["id"]]
    engine.dispose()


def test_the_relay_is_woken_after_the_commit_and_not_for_a_rollback(database_url: str) -> None:
    engine = _engine(database_url)
    outbox = Outbox("/services/test")
    woken: list[int] = []
    outbox.on_write(lambda: woken.append(len(_rows(engine))))
    member = uuid.uuid4()
    with pytest.raises(RuntimeError), transaction(engine) as session:
        outbox.add(session, _joined(member))
        raise RuntimeError("the command failed after writing its event")
    assert woken == []
    with transaction(engine) as session:
        with session.begin_nested():
            outbox.add(session, _joined(member))
        assert woken == []  # a savepoint released is not a commit: nothing to see yet
    assert woken == [1]  # once, after the commit, when the relay can see the row
    engine.dispose()


STAFF_ROW = text("INSERT INTO staff_ids (staff_id, subject, first_seen_at) VALUES (:id, 's', '2025-01-01')")


def test_sqlite_hands_the_write_lock_over_at_once_after_a_failure(tmp_path: Path) -> None:
    engine = _engine(f"sqlite:///{tmp_path}/service.db")
    with pytest.raises(RuntimeError), transaction(engine) as session:
        session.execute(STAFF_ROW, {"id": "a"})
        raise RuntimeError("refused")
    abandoned = Session(engine)
    abandoned.execute(STAFF_ROW, {"id": "c"})
    abandoned.close()  # never committed: closing rolls back and lets the next writer in
    took: list[float] = []

    def write() -> None:
        started = time.monotonic()
        with transaction(engine) as session:
            session.execute(STAFF_ROW, {"id": "e"})
        took.append(time.monotonic() - started)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(10)
    assert took and took[0] < 2.0  # not the 30 s of a lock never released
    with Session(engine) as session:
        assert session.execute(text("SELECT staff_id FROM staff_ids")).scalars().all() == ["e"]
    engine.dispose()


def test_sqlite_readers_do_not_wait_for_the_writer(tmp_path: Path) -> None:
    engine = _engine(f"sqlite:///{tmp_path}/service.db")
    with transaction(engine) as session:
        Outbox("/services/test").add(session, _joined(uuid.uuid4()))
    with transaction(engine) as writing:
        writing.execute(text("DELETE FROM outbox"))  # holds the write lock, not committed
        started = time.monotonic()
        with reader(engine).connect() as connection:
            seen = connection.execute(text("SELECT count(*) FROM outbox")).scalar_one()
        assert time.monotonic() - started < 2.0
        assert seen == 1  # the last commit, not the writer's change in progress
    engine.dispose()
