"""Backup and recovery for real, on SQLite and PostgreSQL with the real broker (ops/backup.py through
`vvsg backup` / `vvsg restore`):

- the events service is backed up while it runs, goes on consuming and publishing, loses its database
  and is restored from the backup: on restart its consumer reads again exactly what came after the
  backup (each event applied once, none missing) and its outbox carries on (a new command is published,
  no event id is published twice);
- a KPI database that is lost is rebuilt from the topics (`vvsg rebuild`) and answers the same KPIs.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from ops.cli import app as cli
from services.events.app import build as build_events
from services.kpi.app import build as build_kpi
from shared import events, topics
from shared.db import normalise_url
from shared.settings import Settings
from tests import infra, kpi_year

pytestmark = pytest.mark.integration

SESSION = {
    "kind": "info_session",
    "title": "Infosessie digitale drempels",
    "theme": "digitale drempels",
    "lead": "vvsg",
    "format": "online",
    "starts_at": "2025-03-04T14:00:00+01:00",
    "ends_at": "2025-03-04T17:00:00+01:00",
}


def _settings(service: str, url: str, bootstrap: str, prefix: str) -> Settings:
    return Settings(
        service_name=service,
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        kafka_topic_prefix=prefix,
        auth_secret=infra.AUTH_SECRET,
        outbox_poll_seconds=0.2,
    )


@contextmanager
def _running(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, headers=infra.auth("staff")) as client:
        yield client


def _lose(url: str) -> None:
    """The database is gone: dropped on the server, or the file (and its log) deleted."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for file in path.parent.glob(path.name + "*"):
            file.unlink()
        return
    name = url.rsplit("/", 1)[1]
    admin = create_engine(normalise_url(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _cli(url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


def _members(bootstrap: str, prefix: str, organisation: uuid.UUID, count: int) -> list[str]:
    ids = [uuid.uuid4() for _ in range(count)]
    data = [
        events.MemberJoined(member_id=m, organisation_id=organisation, joined_on=date(2025, 2, 1))
        for m in ids
    ]
    topic = prefix + topics.MEMBERS_EVENTS
    records: list[tuple[str, bytes | None, bytes | None]] = [
        (topic, d.key().encode(), events.encode(events.new_envelope(d, source="/services/members")))
        for d in data
    ]
    asyncio.run(infra.produce(bootstrap, records))
    return [str(m) for m in ids]


def _rows(app: FastAPI, sql: str) -> list[Any]:
    with Session(app.state.runtime.engine) as session:
        return list(session.execute(text(sql)).scalars())


def _known(app: FastAPI) -> set[str]:
    return {str(uuid.UUID(str(m))) for m in _rows(app, "SELECT member_id FROM ev_members")}


def _schedule(client: TestClient, title: str) -> str:
    response = client.post("/sessions", json={**SESSION, "title": title})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _drained(app: FastAPI) -> bool:
    with Session(app.state.runtime.engine) as session:
        waiting = session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar()
    return waiting == 0


def _published(bootstrap: str, prefix: str) -> list[dict[str, Any]]:
    records = asyncio.run(infra.read_topic(bootstrap, prefix + topics.ACTIVITIES_EVENTS))
    return [json.loads(r.value) for r in records if r.value is not None]


def _members_consumer(app: FastAPI) -> Any:
    return next(c for c in app.state.runtime.consumers if c.name.endswith("events-members"))


def test_a_restored_service_resumes_its_consumers_and_its_outbox(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    settings = _settings("events", database_url, kafka_bootstrap, topic_prefix)
    organisation = uuid.uuid4()
    backup_file = tmp_path / "backups" / "events.dump"

    # before the backup: 5 members arrive, 2 sessions are scheduled and published
    app = build_events(settings)
    with _running(app) as client:
        before = _members(kafka_bootstrap, topic_prefix, organisation, 5)
        infra.wait_until(lambda: _known(app) == set(before), 30, 0.1, "the first members")
        kept = [_schedule(client, f"Sessie {n}") for n in (1, 2)]
        infra.wait_until(lambda: _drained(app), 30, 0.1, "the outbox to be published")

        said = _cli(database_url, "backup", "--service", "events", "--to", str(backup_file))
        assert "consumentenposities" in said and backup_file.stat().st_size > 0
        assert backup_file.stat().st_mode & 0o077 == 0  # personal data: for the owner only

        # after the backup: 4 more members, one more session — then the database is lost
        after = _members(kafka_bootstrap, topic_prefix, organisation, 4)
        infra.wait_until(lambda: _known(app) == set(before + after), 30, 0.1, "the later members")
        lost = _schedule(client, "Sessie 3")
        infra.wait_until(lambda: _drained(app), 30, 0.1, "the outbox to be published")
    _lose(database_url)

    # a backup is restored only into the service it was made of
    wrong = CliRunner().invoke(
        cli,
        ["restore", "--service", "members", "--from", str(backup_file)],
        env={"DATABASE_URL": database_url},
    )
    assert wrong.exit_code == 1 and "geen back-up van de dienst members" in wrong.output
    restored = _cli(database_url, "restore", "--service", "events", "--from", str(backup_file))
    assert "hersteld" in restored
    # a second restore over the restored database is refused without --replace, and changes nothing
    refused = CliRunner().invoke(
        cli,
        ["restore", "--service", "events", "--from", str(backup_file)],
        env={"DATABASE_URL": database_url},
    )
    assert refused.exit_code == 1 and "--replace" in refused.output
    # with --replace it is restored again over it: the old set aside, the new swapped in, the old dropped
    replaced = _cli(database_url, "restore", "--service", "events", "--from", str(backup_file), "--replace")
    assert "hersteld" in replaced

    app = build_events(settings)
    with _running(app) as client:
        sessions = {str(uuid.UUID(str(s))) for s in _rows(app, "SELECT id FROM ev_sessions")}
        assert sessions == set(kept)  # the state as it was at the backup: Sessie 3 came later
        # the consumer resumes at the positions in the backup: the 4 later members come again, once
        infra.wait_until(lambda: _known(app) == set(before + after), 30, 0.1, "the members after restore")
        stats = _members_consumer(app).stats
        infra.wait_until(lambda: stats.applied >= len(after), 10, 0.1, "the consumer's count")
        assert (stats.applied, stats.duplicates) == (len(after), 0)
        inbox = _rows(app, "SELECT event_id FROM processed_events WHERE consumer LIKE '%events-members'")
        assert len(inbox) == len(before) + len(after)

        # the outbox carries on: a new command is published after what was published before
        new = _schedule(client, "Sessie 4")
        infra.wait_until(lambda: _drained(app), 30, 0.1, "the new session to be published")
    scheduled = [
        e
        for e in _published(kafka_bootstrap, topic_prefix)
        if e["type"].startswith(events.TYPE_PREFIX + "session.scheduled")
    ]
    # every session once, Sessie 3 too: its event was out before the database was lost
    assert sorted(e["subject"] for e in scheduled) == sorted([*kept, lost, new])
    assert max(Counter(e["id"] for e in scheduled).values()) == 1  # no event id published twice


def _kpis(client: TestClient) -> dict[str, Any]:
    response = client.get("/kpis/2025", headers=infra.auth("viewer"))
    assert response.status_code == 200, response.text
    return {k["code"]: (k["value"], k["items"]) for k in response.json()["kpis"]}


def test_a_lost_kpi_database_is_rebuilt_from_the_topics_with_the_same_answers(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = kpi_year.envelope_records(kpi_year.year_data())
    asyncio.run(infra.produce(kafka_bootstrap, [(topic_prefix + t, k, v) for t, k, v in records]))
    settings = _settings("kpi", database_url, kafka_bootstrap, topic_prefix)
    with _running(build_kpi(settings)) as client:
        infra.wait_until(
            lambda: all(_kpis(client)[c][0] == v for c, v in kpi_year.EXPECTED.items()),
            30,
            0.2,
            "the live projection of the scripted year",
        )
        answer = _kpis(client)
    _lose(database_url)
    if not database_url.startswith("sqlite"):  # the server is back, the database empty
        server = database_url.rsplit("/", 1)[0]
        admin = create_engine(normalise_url(server + "/postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{database_url.rsplit("/", 1)[1]}"'))
        admin.dispose()

    # `vvsg rebuild` in this process (it runs services.kpi.rebuild as __main__): no second interpreter;
    # it sets sys.argv for the module, which is put back afterwards
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    rebuilt = CliRunner().invoke(
        cli,
        ["rebuild", "--quiet"],
        env={
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": topic_prefix,
        },
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "beantwoordt nu de vragen" in rebuilt.output
    with _running(build_kpi(settings)) as client:
        assert _kpis(client) == answer
