"""`Idempotency-Key` on every command of the members service: a retried request gets the first answer
and changes nothing a second time (no row, no event, no contact record); the same key with another
body is a 422. Real service, real database (SQLite and PostgreSQL), real broker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from services.members.app import build
from shared import events
from shared.db import make_engine
from shared.settings import Settings
from tests.infra import AUTH_SECRET, auth

pytestmark = pytest.mark.integration


@pytest.fixture
def members(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[TestClient]:
    settings = Settings(
        service_name="members",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,  # type: ignore[arg-type]
        outbox_poll_seconds=0.1,
    )
    with TestClient(build(settings), headers=auth("staff", "an.medewerker@vvsg.be")) as client:
        yield client


def _count(database_url: str, sql: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _outbox(database_url: str) -> int:
    return _count(database_url, "SELECT count(*) FROM outbox")


def _organisation(members: TestClient) -> dict[str, Any]:
    response = members.post("/organisations", json={"name": "Gemeente Zemst", "kind": "lokaal_bestuur"})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _member_body(organisation_id: str, **extra: Any) -> dict[str, Any]:
    body = {
        "first_name": "An",
        "last_name": "Peeters",
        "email": "an@zemst.be",
        "organisation_id": organisation_id,
        "joined_on": "2025-01-15",
    }
    return body | extra


def test_a_retried_member_registration_creates_one_member_one_event_and_one_contact(
    members: TestClient, database_url: str
) -> None:
    zemst = _organisation(members)
    before = _outbox(database_url)
    headers = {"Idempotency-Key": "member-an-1"}
    first = members.post("/members", json=_member_body(zemst["id"]), headers=headers)
    again = members.post("/members", json=_member_body(zemst["id"]), headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(database_url, "SELECT count(*) FROM members") == 1
    assert _outbox(database_url) == before + 2  # member.joined and the contact record, once


def test_the_same_key_for_another_member_is_refused_and_stores_nothing(
    members: TestClient, database_url: str
) -> None:
    zemst = _organisation(members)
    headers = {"Idempotency-Key": "member-key-2"}
    assert members.post("/members", json=_member_body(zemst["id"]), headers=headers).status_code == 201
    before = _outbox(database_url)
    other = members.post("/members", json=_member_body(zemst["id"], email="bart@zemst.be"), headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"][-1] == "Idempotency-Key"
    assert _count(database_url, "SELECT count(*) FROM members") == 1
    assert _outbox(database_url) == before


def test_a_retried_leave_answers_as_the_first_time_instead_of_a_conflict(
    members: TestClient, database_url: str
) -> None:
    zemst = _organisation(members)
    member = members.post("/members", json=_member_body(zemst["id"])).json()
    headers = {"Idempotency-Key": "leave-an-1"}
    body = {"left_on": "2025-06-30"}
    first = members.post(f"/members/{member['id']}/leave", json=body, headers=headers)
    before = _outbox(database_url)
    again = members.post(f"/members/{member['id']}/leave", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert _outbox(database_url) == before
    # without the key a second leave is what it is: a conflict
    assert members.post(f"/members/{member['id']}/leave", json=body).status_code == 409


def test_a_retried_move_and_update_change_once(members: TestClient, database_url: str) -> None:
    zemst = _organisation(members)
    mechelen = members.post("/organisations", json={"name": "Stad Mechelen", "kind": "lokaal_bestuur"}).json()
    member = members.post("/members", json=_member_body(zemst["id"])).json()
    move = {"organisation_id": mechelen["id"], "moved_on": "2025-03-01"}
    first = members.post(f"/members/{member['id']}/move", json=move, headers={"Idempotency-Key": "move-1"})
    before = _outbox(database_url)
    again = members.post(f"/members/{member['id']}/move", json=move, headers={"Idempotency-Key": "move-1"})
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    patch = {"phone": "+32 15 00 00 00"}
    first = members.patch(f"/members/{member['id']}", json=patch, headers={"Idempotency-Key": "patch-1"})
    again = members.patch(f"/members/{member['id']}", json=patch, headers={"Idempotency-Key": "patch-1"})
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert _outbox(database_url) == before + 1  # one contact record for the update, nothing for the retries


def test_a_retried_erasure_answers_the_same_and_erases_once(members: TestClient, database_url: str) -> None:
    zemst = _organisation(members)
    member = members.post("/members", json=_member_body(zemst["id"])).json()
    headers = {"Idempotency-Key": "erase-an-1"}
    first = members.post(f"/members/{member['id']}/erase", headers=headers)
    again = members.post(f"/members/{member['id']}/erase", headers=headers)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert _outbox_types(database_url).count(events.MemberErased.type_name()) == 1


def _outbox_types(database_url: str) -> list[str]:
    """The CloudEvents type of every domain record in the outbox (structured mode: it is in the value)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            values = connection.execute(text("SELECT value FROM outbox WHERE value IS NOT NULL")).scalars()
            return [json.loads(bytes(value)).get("type", "") for value in values]
    finally:
        engine.dispose()


def test_another_caller_cannot_reuse_a_key(members: TestClient, database_url: str) -> None:
    body = {"name": "Gemeente Zemst", "kind": "lokaal_bestuur"}
    headers = {"Idempotency-Key": "org-shared-key"}
    assert members.post("/organisations", json=body, headers=headers).status_code == 201
    other = members.post("/organisations", json=body, headers=headers | auth("admin", "beheerder@vvsg.be"))
    assert other.status_code == 422
    assert _count(database_url, "SELECT count(*) FROM organisations") == 1
