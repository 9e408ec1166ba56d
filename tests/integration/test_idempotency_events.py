"""`Idempotency-Key` on the events service's commands: a retried request gets the first answer and
creates nothing new (one advice, one `advice.given`, so OD3.2 counts it once); the same key for
another request is a 422; a refused command stores no key. Real service on SQLite and PostgreSQL,
real broker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from services.events.app import build
from services.events.tables import ActivitySession, Advice, Registration, SupportTrajectory
from shared import events
from shared.outbox import OutboxMessage
from shared.settings import Settings
from shared.uow import IdempotencyRecord
from tests import infra

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


@dataclass
class Events:
    client: TestClient
    engine: Engine

    def count(self, model: type[Any], *where: Any) -> int:
        with Session(self.engine) as session:
            return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())

    def published(self, key: str) -> list[str]:
        """The names of the events written to the outbox for this record key, in order."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(OutboxMessage).where(col(OutboxMessage.key) == key).order_by(col(OutboxMessage.id))
            ).scalars()
            values = [json.loads(row.value) for row in rows if row.value]
        return [v["type"].removeprefix(events.TYPE_PREFIX).rsplit(".v", 1)[0] for v in values]

    def post(self, path: str, key: str | None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(path, headers=headers, **kwargs)


@pytest.fixture
def service(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[Events]:
    settings = Settings(
        service_name="events",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=infra.AUTH_SECRET,
        outbox_poll_seconds=0.1,
    )
    app = build(settings)
    with TestClient(app, headers=infra.auth("staff", "an.medewerker@vvsg.be")) as client:
        yield Events(client, app.state.runtime.engine)


def test_a_retried_advice_is_logged_and_published_once(service: Events) -> None:
    organisation = str(uuid.uuid4())
    body = {
        "organisation_id": organisation,
        "given_on": "2025-02-02",
        "topic": "digitale balie",
        "channel": "phone",
    }
    first = service.post("/advice", "advice-1", json=body)
    again = service.post("/advice", "advice-1", json=body)
    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert service.count(Advice, col(Advice.organisation_id) == uuid.UUID(organisation)) == 1
    # one advice.given: the KPI projector counts it once in OD3.2
    assert service.published(first.json()["id"]) == ["advice.given"]
    assert service.count(OutboxMessage) == 1


def test_the_same_key_for_another_advice_is_refused(service: Events) -> None:
    body = {"organisation_id": str(uuid.uuid4()), "topic": "digitale balie", "channel": "mail"}
    assert service.post("/advice", "advice-2", json=body).status_code == 201
    other = service.post("/advice", "advice-2", json={**body, "topic": "toegankelijke website"})
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"][-1] == "Idempotency-Key"
    assert service.count(Advice) == 1


def test_retried_sessions_registrations_and_trajectories_are_created_once(service: Events) -> None:
    first = service.post("/sessions", "session-1", json={**SESSION, "capacity": 1})
    assert service.post("/sessions", "session-1", json={**SESSION, "capacity": 1}).json() == first.json()
    assert service.count(ActivitySession) == 1
    session_id = first.json()["id"]

    path = f"/sessions/{session_id}/registrations"
    registered = service.post(path, "registration-1", json={"organisation_kind": "andere"})
    again = service.post(path, "registration-1", json={"organisation_kind": "andere"})
    assert registered.status_code == again.status_code == 201
    assert again.json() == registered.json() and again.json()["waitlisted"] is False  # not a second seat
    assert service.count(Registration) == 1

    trajectory = {
        "organisation_id": str(uuid.uuid4()),
        "started_on": "2025-04-01",
        "stage": "growing",
        "methodology": "De Wisselaar",
        "description": "Van actiegericht naar beleidsmatig werken",
    }
    started = service.post("/trajectories", "trajectory-1", json=trajectory)
    assert service.post("/trajectories", "trajectory-1", json=trajectory).json() == started.json()
    assert service.count(SupportTrajectory) == 1
    assert service.published(session_id) == ["session.scheduled", "registration.received"]


def test_a_retried_cancellation_answers_as_the_first_time_instead_of_409(service: Events) -> None:
    session_id = service.post("/sessions", None, json=SESSION).json()["id"]
    registration = service.post(
        f"/sessions/{session_id}/registrations", None, json={"organisation_kind": "andere"}
    )
    path = f"/sessions/{session_id}/registrations/{registration.json()['id']}/cancel"
    first = service.post(path, "cancel-1")
    again = service.post(path, "cancel-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert service.post(path, None).status_code == 409  # without a key it is a new command
    assert service.published(session_id).count("registration.cancelled") == 1


def test_a_retried_attendance_list_is_recorded_once_and_a_refused_one_keeps_no_key(service: Events) -> None:
    session_id = service.post("/sessions", None, json=SESSION).json()["id"]
    registration = service.post(
        f"/sessions/{session_id}/registrations", None, json={"organisation_kind": "andere"}
    )
    path = f"/sessions/{session_id}/attendance/import"
    csv_headers = {"Content-Type": "text/csv"}
    wrong = f"registration_id;uren\n{registration.json()['id']};2\nniemand;1\n"
    refused = service.post(path, "list-1", content=wrong, headers=csv_headers)
    assert refused.status_code == 422 and refused.json()["applied"] is False
    assert service.count(IdempotencyRecord) == 0

    right = f"registration_id;uren\n{registration.json()['id']};2\n"
    first = service.post(path, "list-1", content=right, headers=csv_headers)  # the key was not used up
    again = service.post(path, "list-1", content=right, headers=csv_headers)
    assert first.status_code == again.status_code == 200, first.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert service.published(session_id).count("attendance.recorded") == 1
    other = service.post(path, "list-1", content=right.replace(";2", ";1"), headers=csv_headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"][-1] == "Idempotency-Key"
