"""Members registered over HTTP show up in /kpis/{year}, through the real broker, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared import topics
from tests.infra import Databases, ServiceProcess, committed_through, produce, read_topic, wait_until

pytestmark = pytest.mark.e2e

PROJECTOR = "kpi-projector"


def _kpis(kpi: httpx.Client, year: int, as_of: str | None = None) -> dict[str, Any]:
    params = {"as_of": as_of} if as_of else {}
    response = kpi.get(f"/kpis/{year}", params=params)
    assert response.status_code == 200, response.text
    return {k["code"]: k for k in response.json()["kpis"]}


MEMBERSHIP = ("OD1.1-leden", "OD1.1-besturen", "OD1.1-kennisdeling")


def _values(kpi: httpx.Client, year: int, as_of: str | None = None) -> dict[str, Any]:
    return {code: k["value"] for code, k in _kpis(kpi, year, as_of).items() if code in MEMBERSHIP}


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def _scenario(members: httpx.Client) -> None:
    """Two municipalities, an ISV and a knowledge institution; seven people; one leaves mid-year."""
    orgs = {
        name: _ok(members.post("/organisations", json={"name": name, "kind": kind}))["id"]
        for name, kind in [
            ("Gemeente Zemst", "lokaal_bestuur"),
            ("Stad Gent", "lokaal_bestuur"),
            ("Welzijnsregio Noord", "intergemeentelijk_samenwerkingsverband"),
            ("Hogeschool West", "kennisinstelling"),
        ]
    }
    people = [
        ("Gemeente Zemst", "2025-01-20"),
        ("Gemeente Zemst", "2025-02-03"),
        ("Stad Gent", "2025-03-10"),
        ("Welzijnsregio Noord", "2025-04-01"),
        ("Welzijnsregio Noord", "2025-09-15"),
        ("Hogeschool West", "2025-05-05"),
        ("Stad Gent", "2024-11-30"),
    ]
    ids = []
    for index, (org, joined_on) in enumerate(people):
        body = {
            "first_name": f"Persoon{index}",
            "last_name": "Test",
            "email": f"p{index}@voorbeeld.be",
            "organisation_id": orgs[org],
            "joined_on": joined_on,
        }
        ids.append(_ok(members.post("/members", json=body))["id"])
    _ok(members.post(f"/members/{ids[0]}/knowledge-sharing/join", json={"joined_on": "2025-02-01"}))
    _ok(members.post(f"/members/{ids[3]}/knowledge-sharing/join", json={"joined_on": "2025-04-02"}))
    # the only Stad Gent member of 2025 leaves; Stad Gent still has its 2024 member
    _ok(members.post(f"/members/{ids[2]}/leave", json={"left_on": "2025-06-30"}))


EXPECTED_2025 = {"OD1.1-leden": 6, "OD1.1-besturen": 3, "OD1.1-kennisdeling": 2}
EXPECTED_MID_2025 = {"OD1.1-leden": 6, "OD1.1-besturen": 3, "OD1.1-kennisdeling": 2}  # on 2025-06-01
EXPECTED_EARLY_2025 = {"OD1.1-leden": 3, "OD1.1-besturen": 2, "OD1.1-kennisdeling": 1}  # on 2025-02-15
ITEMS_2025 = [
    {"organisation_kind": "intergemeentelijk_samenwerkingsverband", "joined": 2, "left": 0},
    {"organisation_kind": "kennisinstelling", "joined": 1, "left": 0},
    {"organisation_kind": "lokaal_bestuur", "joined": 3, "left": 1},
]


def test_members_registered_over_http_show_up_in_the_kpis_and_redelivery_changes_nothing(
    databases: Databases,
    services: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
    topic_prefix: str,
) -> None:
    members_service = services("members", databases("members"))
    kpi_service = services("kpi", databases("kpi"))
    with members_service.client("staff") as members, kpi_service.client("viewer") as kpi:
        _scenario(members)
        # the leave (the scenario's last command) changes no value, only the items: wait for both
        wait_until(
            lambda: (
                _values(kpi, 2025) == EXPECTED_2025 and _kpis(kpi, 2025)["OD1.1-leden"]["items"] == ITEMS_2025
            ),
            30,
            0.2,
            "the 2025 KPIs",
        )
        assert _values(kpi, 2025, "2025-06-01") == EXPECTED_MID_2025
        assert _values(kpi, 2025, "2025-02-15") == EXPECTED_EARLY_2025
        answer = _kpis(kpi, 2025)
        assert answer["OD1.1-leden"]["items"] == ITEMS_2025
        assert answer["OD1.1-leden"]["status"] == "geen doel"
        assert _values(kpi, 2024)["OD1.1-leden"] == 1

        # every record of the topic delivered a second time: nothing changes
        topic = topic_prefix + topics.MEMBERS_EVENTS
        records = asyncio.run(read_topic(kafka_bootstrap, topic))
        asyncio.run(produce(kafka_bootstrap, [(topic, r.key, r.value) for r in records]))
        wait_until(
            lambda: asyncio.run(committed_through(kafka_bootstrap, topic_prefix + PROJECTOR, topic)),
            30,
            0.2,
            "the projector to read the redelivered records",
        )
        assert _values(kpi, 2025) == EXPECTED_2025
        assert _values(kpi, 2025, "2025-02-15") == EXPECTED_EARLY_2025


def test_a_malformed_record_goes_to_the_dead_letters_and_the_projector_carries_on(
    services: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Any,
) -> None:
    members_service = services("members", f"sqlite:///{tmp_path}/members.db")
    kpi_service = services("kpi", f"sqlite:///{tmp_path}/kpi.db")
    topic = topic_prefix + topics.MEMBERS_EVENTS
    asyncio.run(produce(kafka_bootstrap, [(topic, b"broken", b'{"specversion": "1.0", "type": "nonsense"}')]))
    with members_service.client("staff") as members, kpi_service.client("viewer") as kpi:
        org = _ok(members.post("/organisations", json={"name": "Gemeente Zemst", "kind": "lokaal_bestuur"}))
        _ok(
            members.post(
                "/members",
                json={
                    "first_name": "An",
                    "last_name": "P",
                    "email": "an@zemst.be",
                    "organisation_id": org["id"],
                    "joined_on": "2025-03-01",
                },
            )
        )
        wait_until(lambda: _values(kpi, 2025)["OD1.1-leden"] == 1, 30, 0.2, "the member after the bad record")
    dead = asyncio.run(read_topic(kafka_bootstrap, topics.dead_letter_topic(topic)))
    assert [d.key for d in dead] == [b"broken"]
    assert dict(dead[0].headers)["dlq-consumer"] == PROJECTOR.encode()
