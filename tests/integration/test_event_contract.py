"""The event contract as another team meets it: the events service, on SQLite and PostgreSQL and the
real broker, publishes session.scheduled/rescheduled v2 with the practical fields; the CNCF CloudEvents
SDK reads the records back (structured mode, no ce_ header), their data validates against the schema
their `dataschema` names, `actor` is a pseudonymous staff id, and the audit trail names the person."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.events.app import build
from shared import events, staff, topics
from shared.settings import Settings
from tests.cloudevents_reader import Reading, check, sdk_event
from tests.infra import AUTH_SECRET, auth, read_topic, wait_until

pytestmark = pytest.mark.integration

SUBJECT = "an.medewerker@vvsg.be"
SESSION = {
    "kind": "info_session",
    "title": "Infosessie digitale drempels",
    "theme": "digitale drempels",
    "lead": "vvsg",
    "format": "hybrid",
    "starts_at": "2025-03-04T14:00:00+01:00",
    "ends_at": "2025-03-04T17:00:00+01:00",
    "location": "Bischoffsheimlaan 1-8, 1000 Brussel",
    "online_link": "https://meet.vvsg.be/drempels",
    "description": "Hoe een bestuur digitale drempels opspoort.",
    "registration_deadline": "2025-03-03T12:00:00+01:00",
}


@pytest.fixture
def client(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[TestClient]:
    settings = Settings(
        service_name="events",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,
        outbox_poll_seconds=0.1,
    )
    with TestClient(build(settings), headers=auth("staff", SUBJECT)) as test_client:
        yield test_client


def _records(bootstrap: str, topic: str, expected: int) -> list[Any]:
    def enough() -> list[Any]:
        records = asyncio.run(read_topic(bootstrap, topic))
        return records if len(records) >= expected else []

    return sorted(wait_until(enough, 30, 0.2, f"{expected} records on {topic}"), key=lambda r: r.offset)


def test_v2_session_events_read_with_the_cloudevents_sdk(
    client: TestClient, kafka_bootstrap: str, topic_prefix: str
) -> None:
    session = client.post("/sessions", json=SESSION)
    assert session.status_code == 201, session.text
    session_id = session.json()["id"]
    moved = client.post(
        f"/sessions/{session_id}/reschedule",
        json={
            "starts_at": "2025-03-11T14:00:00+01:00",
            "ends_at": "2025-03-11T17:00:00+01:00",
            "location": "online",
        },
    )
    assert moved.status_code == 200, moved.text

    records = _records(kafka_bootstrap, topic_prefix + topics.ACTIVITIES_EVENTS, 2)
    reading = Reading()
    for record in records:
        check(record, reading)  # the SDK reads it, agrees with our decoder, data fits its schema
        assert [name for name, _ in record.headers] == ["content-type"]
    assert reading.failures == [] and reading.read == {"domain": 2}

    scheduled, rescheduled = (sdk_event(r) for r in records)
    assert scheduled.get_type() == "be.vvsg.digitaleinclusie.session.scheduled.v2"
    assert scheduled.get_dataschema() == "https://schemas.vvsg.be/digitaleinclusie/session.scheduled/v2.json"
    data = scheduled.get_data()
    assert isinstance(data, dict)
    assert (data["location"], data["online_link"], data["description"]) == (
        SESSION["location"],
        SESSION["online_link"],
        SESSION["description"],
    )
    assert data["registration_deadline"].startswith("2025-03-03T11:00:00")  # UTC
    assert rescheduled.get_type() == "be.vvsg.digitaleinclusie.session.rescheduled.v2"
    moved_data = rescheduled.get_data()
    assert isinstance(moved_data, dict)
    assert (moved_data["location"], moved_data["online_link"]) == ("online", None)  # null: unchanged

    # who did it: a pseudonymous id on the topic, the person again in the audit trail (staff only)
    for event in (scheduled, rescheduled):
        assert event.get_extension("actor") == staff.pseudonym(SUBJECT)
        assert SUBJECT not in str(event.get_attributes())
    trail = client.get(f"/audit/{session_id}").json()
    assert [(e["actor"], e["actor_id"]) for e in trail] == [(SUBJECT, staff.pseudonym(SUBJECT))] * 2
    assert client.get(f"/audit/{session_id}", headers=auth("viewer")).status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"description": "Vragen? Mail an.medewerker@vvsg.be"}, "description"),
        ({"online_link": "javascript:alert(1)"}, "online_link"),
        ({"registration_deadline": "2025-03-05T12:00:00+01:00"}, "registration_deadline"),
    ],
    ids=["e-mail-in-description", "not-a-web-link", "deadline-after-the-end"],
)
def test_practical_fields_that_do_not_belong_on_a_topic_are_refused(
    client: TestClient, change: dict[str, str], field: str
) -> None:
    response = client.post("/sessions", json={**SESSION, **change})
    assert response.status_code == 422, response.text
    assert field in response.text


def test_a_v1_record_and_a_v2_record_of_one_session_decode_to_the_same_version() -> None:
    session_id = uuid.uuid4()
    common = {
        "session_id": session_id,
        "kind": "info_session",
        "title": "Infosessie",
        "theme": "drempels",
        "lead": "vvsg",
        "format": "online",
        "starts_at": "2025-03-04T14:00:00+01:00",
        "ends_at": "2025-03-04T17:00:00+01:00",
        "planned_hours": 3,
    }
    v1 = events.decode(events.encode(events.new_envelope(events.SessionScheduledV1(**common), source="/x")))
    v2 = events.decode(events.encode(events.new_envelope(events.SessionScheduled(**common), source="/x")))
    assert type(v1.data) is type(v2.data) is events.SessionScheduled
    assert v1.data == v2.data.model_copy(update={"location": "online"})
