"""The session details the public agenda shows, kept by the events service (SQLite and PostgreSQL, the
real broker behind the app): the practical fields of session.scheduled/rescheduled v2 are stored and
read back, a rescheduling changes only what it names, and a cancellation keeps staff's reason for
staff without publishing it. The migration gives existing online sessions their location."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlmodel import Session

from services.events.app import MIGRATIONS, build
from shared import events
from shared.db import make_engine
from shared.outbox import OutboxMessage
from shared.settings import Settings
from tests.infra import AUTH_SECRET, auth

pytestmark = pytest.mark.integration

SESSION = {
    "kind": "info_session",
    "title": "Infosessie digitale drempels",
    "theme": "digitale drempels",
    "lead": "vvsg",
    "format": "hybrid",
    "starts_at": "2026-03-04T14:00:00+01:00",
    "ends_at": "2026-03-04T17:00:00+01:00",
    "location": "Bischoffsheimlaan 1-8, 1000 Brussel",
    "online_link": "https://meet.vvsg.be/drempels",
    "description": "Hoe een bestuur digitale drempels opspoort.",
    "registration_deadline": "2026-03-03T12:00:00+01:00",
}


@pytest.fixture
def client(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[TestClient]:
    settings = Settings(
        service_name="events",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,
    )
    with TestClient(build(settings), headers=auth("staff")) as test_client:
        yield test_client


def _published(client: TestClient, session_id: str) -> list[tuple[str, dict[str, Any]]]:
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with Session(engine) as db:
        rows = db.execute(
            select(OutboxMessage).where(OutboxMessage.key == session_id).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        ).scalars()
        values = [json.loads(row.value) for row in rows if row.value]
    return [(v["type"].removeprefix(events.TYPE_PREFIX).rsplit(".v", 1)[0], v["data"]) for v in values]


def _schedule(client: TestClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/sessions", json={**SESSION, **changes})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_the_practical_fields_are_stored_and_read_back(client: TestClient) -> None:
    created = _schedule(client)
    read = client.get(f"/sessions/{created['id']}").json()
    assert (read["location"], read["online_link"], read["description"]) == (
        SESSION["location"],
        SESSION["online_link"],
        SESSION["description"],
    )
    assert read["registration_deadline"].startswith("2026-03-03T11:00:00")  # UTC
    assert read["cancel_reason"] is None


def test_a_rescheduling_changes_only_the_practical_fields_it_names(client: TestClient) -> None:
    created = _schedule(client)
    moved = client.post(
        f"/sessions/{created['id']}/reschedule",
        json={
            "starts_at": "2026-03-11T14:00:00+01:00",
            "ends_at": "2026-03-11T17:00:00+01:00",
            "location": "online",
        },
    )
    assert moved.status_code == 200, moved.text
    read = client.get(f"/sessions/{created['id']}").json()
    assert (read["location"], read["online_link"], read["description"]) == (
        "online",
        SESSION["online_link"],
        SESSION["description"],
    )
    assert read["registration_deadline"].startswith("2026-03-03T11:00:00")


def test_a_rescheduling_before_the_kept_deadline_is_refused_and_changes_nothing(client: TestClient) -> None:
    created = _schedule(client)
    moved = client.post(
        f"/sessions/{created['id']}/reschedule",
        json={"starts_at": "2026-03-02T14:00:00+01:00", "ends_at": "2026-03-02T17:00:00+01:00"},
    )
    assert moved.status_code == 422, moved.text
    assert "registration_deadline" in moved.text
    assert client.get(f"/sessions/{created['id']}").json()["starts_at"].startswith("2026-03-04T13:00:00")


def test_a_cancel_reason_is_kept_for_staff_and_never_published(client: TestClient) -> None:
    created = _schedule(client)
    reason = "Jan Peeters, de spreker, is ziek."
    cancelled = client.post(
        f"/sessions/{created['id']}/cancel", json={"cancelled_on": "2026-03-01", "reason": reason}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancel_reason"] == reason
    assert client.get(f"/sessions/{created['id']}").json()["cancel_reason"] == reason
    assert client.get(f"/sessions/{created['id']}", headers=auth("viewer")).json()["cancel_reason"] is None
    [*_, (name, data)] = _published(client, created["id"])
    assert (name, data["cancelled_on"]) == ("session.cancelled", "2026-03-01")
    assert set(data) == {"session_id", "cancelled_on"}
    assert "Peeters" not in json.dumps(_published(client, created["id"]))


def test_a_cancel_without_body_or_with_an_empty_reason_keeps_none(client: TestClient) -> None:
    first, second = _schedule(client), _schedule(client)
    assert client.post(f"/sessions/{first['id']}/cancel").json()["cancel_reason"] is None
    assert (
        client.post(f"/sessions/{second['id']}/cancel", json={"reason": "  "}).json()["cancel_reason"] is None
    )


@pytest.mark.parametrize("reason", ["ziek\x00", "x" * 501])
def test_a_bad_cancel_reason_is_refused_and_the_session_stays_scheduled(
    client: TestClient, reason: str
) -> None:
    created = _schedule(client)
    refused = client.post(f"/sessions/{created['id']}/cancel", json={"reason": reason})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "reason"]
    read = client.get(f"/sessions/{created['id']}").json()
    assert (read["status"], read["cancel_reason"]) == ("scheduled", None)


def test_the_migration_gives_earlier_online_sessions_their_location(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/events.db")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    insert = text(
        "INSERT INTO ev_sessions (id, kind, title, theme, lead, format, starts_at, ends_at, planned_hours, "
        "status, lock_version, created_at, created_by, updated_at, updated_by) VALUES (:id, 'info_session', "
        "'t', 't', 'vvsg', :format, '2025-01-01 10:00:00', '2025-01-01 11:00:00', 1, 'scheduled', 0, "
        "'2025-01-01 00:00:00', 's', '2025-01-01 00:00:00', 's')"
    )
    online, physical = uuid.uuid4().hex, uuid.uuid4().hex
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "b8f6b01aa565")
        connection.execute(insert, {"id": online, "format": "online"})
        connection.execute(insert, {"id": physical, "format": "physical"})
        command.upgrade(config, "heads")
        rows: dict[str, str | None] = dict(
            connection.execute(text("SELECT id, location FROM ev_sessions")).all()
        )
    engine.dispose()
    assert rows == {online: "online", physical: None}
