"""The members service's lookup of many members at once (GET /staff/members?ids=…), which the back
office's session and attendance screens use for the names of their registrations, on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.members.app import build
from services.members.staff_api import MAX_IDS
from shared.settings import Settings
from tests.infra import AUTH_SECRET, auth

pytestmark = pytest.mark.integration


@pytest.fixture
def client(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[TestClient]:
    settings = Settings(
        service_name="members",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,  # type: ignore[arg-type]
        outbox_poll_seconds=0.1,
    )
    with TestClient(build(settings), headers=auth("staff", "an.medewerker@vvsg.be")) as test_client:
        yield test_client


def _people(client: TestClient, count: int) -> list[dict[str, Any]]:
    body = {"name": "Gemeente Zemst", "kind": "lokaal_bestuur", "nis_code": "23096"}
    organisation = client.post("/organisations", json=body).json()
    people = []
    for n in range(count):
        body = {
            "first_name": f"Voornaam{n}",
            "last_name": f"Achternaam{n}",
            "email": f"lid{n}@zemst.be",
            "organisation_id": organisation["id"],
        }
        answer = client.post("/members", json=body)
        assert answer.status_code == 201, answer.text
        people.append(answer.json())
    return people


def test_many_members_are_found_in_one_request_by_their_ids(client: TestClient) -> None:
    people = _people(client, 4)
    left = people[3]
    assert client.post(f"/members/{left['id']}/leave", json={}).status_code == 200
    unknown = str(uuid.uuid4())
    wanted = [people[0]["id"], people[2]["id"], left["id"], unknown]
    answer = client.get("/staff/members", params={"ids": wanted, "limit": 1000})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    # exactly the known ids among those asked, whether still a member or not; the unknown one is absent
    assert {item["id"] for item in page["items"]} == {people[0]["id"], people[2]["id"], left["id"]}
    assert page["total"] == 3
    names = {item["id"]: (item["first_name"], item["last_name"]) for item in page["items"]}
    assert names[people[2]["id"]] == ("Voornaam2", "Achternaam2")
    # an empty list of ids is no filter at all: without `ids` every member is listed
    assert client.get("/staff/members").json()["total"] == 4


def test_the_lookup_is_bounded_checked_and_role_bound(client: TestClient) -> None:
    too_many = [str(uuid.uuid4()) for _ in range(MAX_IDS + 1)]
    answer = client.get("/staff/members", params={"ids": too_many})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "ids"]
    answer = client.get("/staff/members", params={"ids": ["not-an-id"]})
    assert answer.status_code == 422
    assert client.get("/staff/members", params={"ids": too_many[:MAX_IDS]}).json()["total"] == 0
    one = [str(uuid.uuid4())]
    # names and addresses: staff and the partner who registers members; a dashboard viewer sees none
    assert client.get("/staff/members", params={"ids": one}, headers=auth("viewer")).status_code == 403
    assert client.get("/staff/members", params={"ids": one}, headers=auth("partner")).status_code == 200
    assert client.get("/staff/members", params={"ids": one}, headers={"Authorization": ""}).status_code == 401
