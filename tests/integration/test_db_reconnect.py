"""A PostgreSQL restart seen from a service's pool (shared.db): every connection it held is cut, as a
server restart or a failover cuts them (pg_terminate_backend here: the shared server must stay up).

The pool asks the server only about connections that were idle for a while (shared.db.IDLE_PING_SECONDS)
instead of before every checkout: after a pause nothing fails; a connection cut while in steady use fails
its one statement, after which the pool replaces every connection it held, so the service recovers with
no restart of its own. Through the members service too: the commands after the outage are answered and
their events published.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from services.members.app import build
from shared import db, topics
from shared.db import make_engine, normalise_url
from shared.settings import Settings
from tests import infra
from tests.infra import AUTH_SECRET, auth, read_topic, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    with infra.postgres_database(postgres_server) as url:
        yield url


def _cut_every_connection(url: str) -> int:
    """Ends every other session on this database, as a server restart would; how many it ended."""
    admin = create_engine(normalise_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        admin.dispose()
    return int(ended)


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _hold_several(engine: Engine, count: int) -> set[int]:
    """Checks out `count` connections at once, so that the pool keeps that many; their backends."""
    pids: set[int] = set()
    ready = threading.Barrier(count)

    def hold() -> None:
        with engine.connect() as connection:
            pids.add(int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one()))
            ready.wait(10)

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return pids


def test_after_a_pause_the_pool_finds_its_dead_connections_before_using_them(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.2)
    engine = make_engine(postgres_url)
    try:
        before = _hold_several(engine, 3)
        assert len(before) == 3
        assert _cut_every_connection(postgres_url) >= 3
        time.sleep(0.3)
        # every checkout finds a live connection: the dead ones were asked, dropped and replaced
        after = _hold_several(engine, 3)
        assert len(after) == 3
        assert not after & before
    finally:
        engine.dispose()


def test_a_connection_cut_in_steady_use_fails_once_and_the_pool_replaces_all_it_held(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no pause long enough for a ping: the worst case of a restart under load
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)
    engine = make_engine(postgres_url)
    try:
        before = _hold_several(engine, 3)
        assert _cut_every_connection(postgres_url) >= 3
        with pytest.raises(DBAPIError) as failed:
            _backend(engine)
        assert failed.value.connection_invalidated  # seen as a disconnect, not as a bad statement
        # the other two pooled connections are as dead, but were pooled before the failure: replaced
        after = _hold_several(engine, 3)
        assert len(after) == 3
        assert not after & before
    finally:
        engine.dispose()


def test_a_unit_of_work_left_by_a_dead_connection_leaves_nothing_behind(postgres_url: str) -> None:
    """A cut during a transaction: nothing of it is kept, and the next one on the same engine works."""
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE seen (n integer)"))
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text("INSERT INTO seen VALUES (1)"))
            _cut_every_connection(postgres_url)
            connection.execute(text("INSERT INTO seen VALUES (2)"))
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO seen VALUES (3)"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT n FROM seen ORDER BY n")).scalars().all() == [3]
    finally:
        engine.dispose()


def test_the_members_service_answers_and_publishes_after_its_database_connections_are_cut(
    postgres_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = Settings(
        service_name="members",
        database_url=postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,  # type: ignore[arg-type]
        outbox_poll_seconds=0.1,
    )
    with TestClient(build(settings), headers=auth("staff", "an.medewerker@vvsg.be")) as client:
        created = client.post("/organisations", json={"name": "Gemeente Zemst", "kind": "lokaal_bestuur"})
        assert created.status_code == 201, created.text
        organisation_id = created.json()["id"]

        def member(index: int) -> int:
            body = {
                "first_name": "An",
                "last_name": f"Peeters {index}",
                "email": f"an{index}@zemst.be",
                "organisation_id": organisation_id,
            }
            return client.post("/members", json=body).status_code

        assert member(1) == 201
        _cut_every_connection(postgres_url)
        time.sleep(db.IDLE_PING_SECONDS + 0.2)  # a pause, as after a restart: nothing may fail
        assert member(2) == 201
        _cut_every_connection(postgres_url)
        # at once, in use: at most the command on the cut connection fails (503/500), none after it
        statuses = [member(index) for index in range(3, 8)]
        assert statuses[1:] == [201] * 4, statuses
        # the relay may have met a cut connection too: it says so (not ready) until its next round
        wait_until(lambda: client.get("/health/ready").status_code == 200, timeout=30, what="ready again")

        answered = 2 + statuses.count(201)

        def published() -> set[str]:
            records = asyncio.run(read_topic(kafka_bootstrap, topic_prefix + topics.MEMBERS_EVENTS))
            envelopes = [json.loads(r.value) for r in records]
            joined = {e["data"]["member_id"] for e in envelopes if "member.joined" in e["type"]}
            return joined if len(joined) >= answered else set()

        # every answered command's event reaches the broker: the relay recovered too. At least once: a
        # relay that published a round and then met a cut connection marking it publishes it again
        # (consumers apply an event id once), so distinct members are counted
        assert len(wait_until(published, timeout=30)) == answered


def test_a_server_that_does_not_answer_fails_a_new_connection_within_the_connect_timeout() -> None:
    """A PostgreSQL server that accepts and never answers: without libpq's connect_timeout a new
    connection waited for ever (checked: the test then hangs), and a consumer reads its positions on
    the event loop when partitions are assigned. A host gone from the network held it for the
    system's TCP timeout, about two minutes."""
    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(silent.accept()[0])  # kept open, never answered

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    engine = make_engine(f"postgresql://vvsg@127.0.0.1:{silent.getsockname()[1]}/nothing")
    started = time.monotonic()
    try:
        with pytest.raises(DBAPIError, match="timeout"), engine.connect():
            pass
        waited = time.monotonic() - started
    finally:
        stop.set()
        acceptor.join()
        for connection in held:
            connection.close()
        silent.close()
        engine.dispose()
    assert held, "the connection never reached the silent server"
    assert db.CONNECT_TIMEOUT_SECONDS <= waited < db.CONNECT_TIMEOUT_SECONDS + 10
