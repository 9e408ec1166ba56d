"""The members API on SQLite and PostgreSQL, with its events on the real broker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.members.app import build
from shared import staff, topics
from shared.settings import Settings
from tests.infra import AUTH_SECRET, auth, read_topic, wait_until

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


def _organisation(client: TestClient, **extra: Any) -> dict[str, Any]:
    body = {"name": "Gemeente Zemst", "kind": "lokaal_bestuur", "nis_code": "23096", **extra}
    response = client.post("/organisations", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _member(
    client: TestClient, organisation_id: str, email: str = "an@zemst.be", **extra: Any
) -> dict[str, Any]:
    body = {
        "first_name": "An",
        "last_name": "Peeters",
        "email": email,
        "organisation_id": organisation_id,
        **extra,
    }
    response = client.post("/members", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _published(bootstrap: str, topic: str, expected: int) -> list[Any]:
    def enough() -> list[Any]:
        records = asyncio.run(read_topic(bootstrap, topic))
        return records if len(records) >= expected else []

    return wait_until(enough, 20, 0.2, f"{expected} records on {topic}")  # type: ignore[no-any-return]


def test_every_change_publishes_its_event_and_contacts_travel_apart(
    client: TestClient, kafka_bootstrap: str, topic_prefix: str
) -> None:
    zemst = _organisation(client)
    mechelen = _organisation(client, name="Stad Mechelen", nis_code="12025")
    member = _member(client, zemst["id"], joined_on="2025-01-15")
    assert client.post(f"/members/{member['id']}/knowledge-sharing/join", json={}).status_code == 200
    assert (
        client.post(
            f"/members/{member['id']}/move",
            json={"organisation_id": mechelen["id"], "moved_on": "2025-03-01"},
        ).status_code
        == 200
    )
    assert client.post(f"/members/{member['id']}/leave", json={"left_on": "2025-06-30"}).status_code == 200

    records = _published(kafka_bootstrap, topic_prefix + topics.MEMBERS_EVENTS, 7)
    by_key: dict[str, list[str]] = {}
    for record in sorted(records, key=lambda r: r.offset):
        envelope = json.loads(record.value)
        by_key.setdefault(record.key.decode(), []).append(envelope["type"].split(".")[-2])
        assert envelope["actor"] == staff.pseudonym("an.medewerker@vvsg.be")  # never the e-mail address
        assert "an@zemst.be" not in record.value.decode() and "Peeters" not in record.value.decode()
    assert by_key[member["id"]] == [
        "joined",
        "joined",
        "moved",
        "left",
        "left",
    ]  # member, KS, move, KS, member
    assert by_key[zemst["id"]] == ["registered"]

    contacts = _published(kafka_bootstrap, topic_prefix + topics.MEMBERS_CONTACTS, 3)
    latest = json.loads(sorted(contacts, key=lambda r: r.offset)[-1].value)
    assert latest["email"] == "an@zemst.be"
    assert latest["organisation_id"] == mechelen["id"]
    assert latest["active"] is False


def test_invalid_input_gets_a_422_naming_the_field_and_changes_nothing(client: TestClient) -> None:
    zemst = _organisation(client)
    cases = [
        ("/organisations", {"name": "X", "kind": "gemeente"}, "kind"),
        ("/organisations", {"name": "X", "kind": "lokaal_bestuur", "nis_code": "1234"}, "nis_code"),
        (
            "/members",
            {"first_name": "A", "last_name": "B", "email": "not-an-address", "organisation_id": zemst["id"]},
            "email",
        ),
        (
            "/members",
            {"first_name": "", "last_name": "B", "email": "a@b.be", "organisation_id": zemst["id"]},
            "first_name",
        ),
        (
            "/members",
            {
                "first_name": "A",
                "last_name": "B",
                "email": "a@b.be",
                "organisation_id": zemst["id"],
                "joined_on": "2999-01-01",
            },
            "joined_on",
        ),
        (
            "/members",
            {
                "first_name": "A",
                "last_name": "B",
                "email": "a@b.be",
                "organisation_id": "00000000-0000-0000-0000-000000000001",
            },
            "organisation_id",
        ),
        (
            "/members",
            {
                "first_name": "A",
                "last_name": "B",
                "email": "a@b.be",
                "organisation_id": zemst["id"],
                "shoe_size": 44,
            },
            "shoe_size",
        ),
    ]
    for path, body, field in cases:
        response = client.post(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert any(field in error["loc"] for error in response.json()["detail"]), response.text
    assert client.get("/members", params={"state": "all"}).json()["total"] == 0
    assert client.get("/organisations").json()["total"] == 1


def test_a_second_member_with_the_same_email_is_a_409(client: TestClient) -> None:
    zemst = _organisation(client)
    _member(client, zemst["id"], email="an@zemst.be")
    response = client.post(
        "/members",
        json={"first_name": "Anna", "last_name": "P", "email": "AN@Zemst.be", "organisation_id": zemst["id"]},
    )
    assert response.status_code == 409
    assert "an@zemst.be" in response.json()["detail"]


def test_a_duplicate_nis_code_is_a_409(client: TestClient) -> None:
    _organisation(client)
    response = client.post(
        "/organisations", json={"name": "Ander", "kind": "lokaal_bestuur", "nis_code": "23096"}
    )
    assert response.status_code == 409


def test_unknown_ids_are_404(client: TestClient) -> None:
    unknown = "00000000-0000-0000-0000-0000000000aa"
    assert client.get(f"/members/{unknown}").status_code == 404
    assert client.get(f"/organisations/{unknown}").status_code == 404
    assert client.post(f"/members/{unknown}/leave", json={}).status_code == 404
    assert client.patch(f"/organisations/{unknown}", json={"name": "X"}).status_code == 404


def test_state_conflicts_are_409(client: TestClient) -> None:
    zemst = _organisation(client)
    member = _member(client, zemst["id"])
    assert (
        client.post(f"/members/{member['id']}/move", json={"organisation_id": zemst["id"]}).status_code == 409
    )
    assert client.post(f"/members/{member['id']}/knowledge-sharing/leave", json={}).status_code == 409
    assert client.post(f"/members/{member['id']}/leave", json={}).status_code == 200
    assert client.post(f"/members/{member['id']}/leave", json={}).status_code == 409
    assert client.post(f"/members/{member['id']}/knowledge-sharing/join", json={}).status_code == 409


def test_a_member_can_be_updated_listed_and_fetched(client: TestClient) -> None:
    zemst = _organisation(client)
    member = _member(client, zemst["id"])
    response = client.patch(
        f"/members/{member['id']}", json={"email": "an.peeters@zemst.be", "newsletter_consent": True}
    )
    assert response.status_code == 200
    assert client.get(f"/members/{member['id']}").json()["email"] == "an.peeters@zemst.be"
    listed = client.get("/members", params={"organisation_id": zemst["id"], "q": "peet"}).json()
    assert [m["id"] for m in listed["items"]] == [member["id"]]


def test_without_a_token_it_is_401_and_a_viewer_may_read_but_not_write(client: TestClient) -> None:
    assert client.get("/members", headers={"Authorization": ""}).status_code == 401
    viewer = auth("viewer")
    assert client.get("/organisations", headers=viewer).status_code == 200
    response = client.post("/organisations", json={"name": "X", "kind": "andere"}, headers=viewer)
    assert response.status_code == 403
    assert client.get("/health/live", headers={"Authorization": ""}).status_code == 200


def test_erasure_anonymises_writes_a_tombstone_and_publishes_member_erased_once(
    client: TestClient, kafka_bootstrap: str, topic_prefix: str
) -> None:
    zemst = _organisation(client)
    member = _member(client, zemst["id"], phone="+32 15 00 00 00")
    first = client.post(f"/members/{member['id']}/erase")
    again = client.post(f"/members/{member['id']}/erase")
    assert first.status_code == again.status_code == 200
    erased = client.get(f"/members/{member['id']}").json()
    assert erased["email"].endswith("@invalid") and "An" not in erased["first_name"]
    assert erased["phone"] is None and erased["active"] is False and erased["erased_on"]
    assert client.patch(f"/members/{member['id']}", json={"first_name": "An"}).status_code == 409
    # the address is free again for somebody else
    assert (
        client.post(
            "/members",
            json={
                "first_name": "Nieuw",
                "last_name": "Lid",
                "email": "an@zemst.be",
                "organisation_id": zemst["id"],
            },
        ).status_code
        == 201
    )

    records = _published(kafka_bootstrap, topic_prefix + topics.MEMBERS_EVENTS, 4)
    types = [json.loads(r.value)["type"] for r in records if r.key.decode() == member["id"]]
    assert types.count("be.vvsg.digitaleinclusie.member.erased.v1") == 1
    contacts = _published(kafka_bootstrap, topic_prefix + topics.MEMBERS_CONTACTS, 3)
    mine = sorted((r for r in contacts if r.key.decode() == member["id"]), key=lambda r: r.offset)
    assert mine[-1].value is None


def test_the_personal_data_export_holds_the_member_record_for_staff_only(client: TestClient) -> None:
    zemst = _organisation(client)
    member = _member(client, zemst["id"])
    export = client.get(f"/people/{member['id']}")
    assert export.status_code == 200
    assert export.json()["member"]["email"] == "an@zemst.be"
    assert export.json()["organisation"]["name"] == "Gemeente Zemst"
    assert client.get(f"/people/{member['id']}", headers=auth("viewer")).status_code == 403


def test_the_audit_trail_answers_who_changed_a_member_and_when(client: TestClient) -> None:
    zemst = _organisation(client)
    member = _member(client, zemst["id"])
    client.post(f"/members/{member['id']}/leave", json={}, headers=auth("admin", "beheerder@vvsg.be"))
    trail = client.get(f"/audit/{member['id']}").json()
    events_only = [(e["type"].split(".")[-2], e["actor"]) for e in trail if "actor" in e]
    assert events_only == [("joined", "an.medewerker@vvsg.be"), ("left", "beheerder@vvsg.be")]
    assert all(e["time"] for e in trail)
    assert client.get(f"/audit/{member['id']}", headers=auth("viewer")).status_code == 403


def test_erasure_leaves_no_contact_details_in_the_outbox(client: TestClient) -> None:
    from sqlmodel import Session, select

    from shared.outbox import OutboxMessage

    zemst = _organisation(client)
    member = _member(client, zemst["id"], phone="+32 15 00 00 00")
    client.patch(f"/members/{member['id']}", json={"last_name": "Peeters-Janssens"})
    assert client.post(f"/members/{member['id']}/erase").status_code == 200
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        values = [row.value or b"" for row in session.exec(select(OutboxMessage)).all()]
    assert not any(b"an@zemst.be" in v or b"Peeters" in v or b"+32 15" in v for v in values)
    trail = client.get(f"/audit/{member['id']}").json()
    assert "contact details (erased)" in [e["type"] for e in trail]
