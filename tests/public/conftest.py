"""The public agenda's fixtures: the events service in process on SQLite and PostgreSQL (with the real
broker behind it, as it runs), a staff client to fill it through the API, and moments in Brussels time
relative to today, so that "upcoming" stays upcoming whenever the tests run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.events.app import build
from shared.clock import BRUSSELS
from shared.settings import Settings
from tests.infra import AUTH_SECRET, auth

PUBLIC_BASE = "https://agenda.example.be"


def brussels(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), BRUSSELS).isoformat()


def in_days(days: int) -> date:
    return datetime.now(BRUSSELS).date() + timedelta(days=days)


@dataclass
class Agenda:
    staff: TestClient  # signed in as staff: the API
    public: TestClient  # no token: what anyone gets
    engine: Engine
    bootstrap: str
    prefix: str

    def schedule(
        self, day: date | None = None, hour: int = 14, hours: int = 3, **changes: Any
    ) -> dict[str, Any]:
        day = day or in_days(30)
        body = {
            "kind": "info_session",
            "title": "Infosessie digitale drempels",
            "theme": "digitale drempels",
            "lead": "vvsg",
            "format": "physical",
            "location": "Bischoffsheimlaan 1-8, 1000 Brussel",
            "starts_at": brussels(day, hour),
            "ends_at": brussels(day, hour + hours),
            **changes,
        }
        response = self.staff.post("/sessions", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def register(self, session_id: str, member_id: uuid.UUID | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"member_id": str(member_id)} if member_id else {"organisation_kind": "andere"}
        response = self.staff.post(f"/sessions/{session_id}/registrations", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def store(self, session_id: str, **columns: Any) -> None:
        """Writes columns straight into the table: text the API would refuse today (older rows, a fix
        by hand) must still come out safely."""
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    f"UPDATE ev_sessions SET {assignments} WHERE id = :id"
                ),  # the column names are the test's own
                {
                    **columns,
                    "id": uuid.UUID(session_id).hex if self.engine.dialect.name == "sqlite" else session_id,
                },
            )


def anonymous(running: TestClient) -> TestClient:
    """A client of the same app without a token. It runs its requests in the running client's event
    loop: a TestClient outside its `with` starts a thread and a loop for every request, which made
    the 10,000 sign-ups test spend three quarters of its time starting them (and a second `with`
    would run the app's startup twice)."""
    client = TestClient(running.app)
    client.portal = running.portal
    return client


@pytest.fixture
def agenda(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[Agenda]:
    settings = Settings(
        service_name="events",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,
        public_base_url=PUBLIC_BASE,
        public_rate_per_minute=100_000,  # many pages in a row from one test client
    )
    app = build(settings)
    with TestClient(app, headers=auth("staff")) as staff:
        yield Agenda(staff, anonymous(staff), app.state.runtime.engine, kafka_bootstrap, topic_prefix)
