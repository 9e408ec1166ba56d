"""Members refuses text that would break exports and mail headers (control characters, line breaks in
names, implausible dates) with a 422 naming the field, and shows who did what to staff only.
Real service, real database (SQLite and PostgreSQL), real broker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.members.app import build
from shared.settings import Settings
from tests.infra import AUTH_SECRET, auth

pytestmark = pytest.mark.integration

STAFF_MEMBER = "an.medewerker@vvsg.be"


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
    with TestClient(build(settings), headers=auth("staff", STAFF_MEMBER)) as client:
        yield client


def _organisation(members: TestClient) -> dict[str, Any]:
    response = members.post("/organisations", json={"name": "Gemeente Zemst", "kind": "lokaal_bestuur"})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _refused_naming(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field], response.text


@pytest.mark.parametrize("name", ["a\u0008b", "Gemeente\nZemst", "a\u0085b", "a\x00b", "a\x7fb"])
def test_an_organisation_name_with_a_control_character_or_line_break_is_refused(
    members: TestClient, name: str
) -> None:
    _refused_naming(members.post("/organisations", json={"name": name, "kind": "andere"}), "name")
    assert members.get("/organisations").json()["total"] == 0


def test_renaming_an_organisation_to_a_name_with_a_control_character_is_refused(members: TestClient) -> None:
    zemst = _organisation(members)
    _refused_naming(members.patch(f"/organisations/{zemst['id']}", json={"name": "a\u0008b"}), "name")
    assert members.get(f"/organisations/{zemst['id']}").json()["name"] == "Gemeente Zemst"


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_a_members_name_with_a_control_character_is_refused_and_nothing_stored(
    members: TestClient, field: str
) -> None:
    zemst = _organisation(members)
    body = {
        "first_name": "An",
        "last_name": "Peeters",
        "email": "an@zemst.be",
        "organisation_id": zemst["id"],
    }
    _refused_naming(members.post("/members", json=body | {field: "a\u0008b"}), field)
    _refused_naming(members.post("/members", json=body | {field: "An\r\nBcc: x@example.org"}), field)
    assert members.get("/members", params={"state": "all"}).json()["total"] == 0


def test_an_address_with_a_control_character_is_refused(members: TestClient) -> None:
    zemst = _organisation(members)
    body = {
        "first_name": "An",
        "last_name": "Peeters",
        "email": "a\u0008n@zemst.be",
        "organisation_id": zemst["id"],
    }
    _refused_naming(members.post("/members", json=body), "email")


@pytest.mark.parametrize("day", ["1168-01-01", "1999-12-31", "2999-01-01"])
def test_an_implausible_date_is_refused(members: TestClient, day: str) -> None:
    _refused_naming(
        members.post(
            "/organisations", json={"name": "Gemeente Zemst", "kind": "andere", "registered_on": day}
        ),
        "registered_on",
    )
    zemst = _organisation(members)
    body = {
        "first_name": "An",
        "last_name": "Peeters",
        "email": "an@zemst.be",
        "organisation_id": zemst["id"],
    }
    _refused_naming(members.post("/members", json=body | {"joined_on": day}), "joined_on")
    assert members.get("/members", params={"state": "all"}).json()["total"] == 0


def test_a_name_with_accents_and_a_hyphen_is_welcome(members: TestClient) -> None:
    zemst = _organisation(members)
    body = {"first_name": "Zoë", "last_name": "Van den Bossche-D'Hondt", "email": "zoe@zemst.be"}
    response = members.post("/members", json=body | {"organisation_id": zemst["id"]})
    assert response.status_code == 201, response.text
    assert response.json()["first_name"] == "Zoë"


def test_only_staff_and_admin_see_which_staff_member_changed_an_organisation(members: TestClient) -> None:
    zemst = _organisation(members)
    url = f"/organisations/{zemst['id']}"
    assert zemst["updated_by"] == STAFF_MEMBER
    assert members.get(url).json()["updated_by"] == STAFF_MEMBER
    assert members.get(url, headers=auth("admin", "beheerder@vvsg.be")).json()["updated_by"] == STAFF_MEMBER
    for role in ("viewer", "partner"):
        single = members.get(url, headers=auth(role))
        listed = members.get("/organisations", headers=auth(role))
        assert single.status_code == listed.status_code == 200
        assert single.json()["updated_by"] is None
        assert [o["updated_by"] for o in listed.json()["items"]] == [None]
        assert STAFF_MEMBER not in single.text + listed.text


def test_a_partner_reads_members_without_the_staff_members_address(members: TestClient) -> None:
    zemst = _organisation(members)
    body = {
        "first_name": "An",
        "last_name": "Peeters",
        "email": "an@zemst.be",
        "organisation_id": zemst["id"],
    }
    member = members.post("/members", json=body).json()
    partner = auth("partner", "partner@mediawijs.be")
    assert members.get(f"/members/{member['id']}").json()["updated_by"] == STAFF_MEMBER
    assert members.get(f"/members/{member['id']}", headers=partner).json()["updated_by"] is None
    assert STAFF_MEMBER not in members.get("/members", headers=partner).text
