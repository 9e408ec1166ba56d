"""The back office's busiest screens ask the services a bounded number of times, whatever the size of
what they show (issue 15: every screen within 200 ms with a year of data): a session with a hundred
and more registrations names them all in two lookups, not one request each; the advice conversations
and trajectories are shown a page at a time, newest first. Over HTTP, against the real members and
events services (SQLite, Kafka); the back office runs in this process with a sealed session cookie,
as in test_members_screens."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.backoffice.app import build
from services.backoffice.session import SESSION_COOKIE, StaffSession, cookie_key
from services.backoffice.settings import BackofficeSettings
from shared.auth import Role
from shared.clock import business_today
from tests import infra

pytestmark = pytest.mark.e2e

KEY = cookie_key(infra.AUTH_SECRET, "session")
MEMBERS = 103  # over one lookup of 100 ids


@pytest.fixture
def network(
    services: Callable[..., infra.ServiceProcess], tmp_path: Path
) -> tuple[infra.ServiceProcess, infra.ServiceProcess]:
    members = services("members", f"sqlite:///{tmp_path}/members.db")
    events = services("events", f"sqlite:///{tmp_path}/events.db")
    return members, events


def office(network: tuple[infra.ServiceProcess, infra.ServiceProcess], role: Role) -> TestClient:
    members, events = network
    closed = f"http://127.0.0.1:{infra.free_port()}"  # nothing listens there
    settings = BackofficeSettings(
        auth_secret=infra.AUTH_SECRET,  # type: ignore[arg-type]
        oidc_issuer="",
        members_url=members.url,  # type: ignore[arg-type]
        events_url=events.url,  # type: ignore[arg-type]
        feedback_url=closed,  # type: ignore[arg-type]
        newsletter_url=closed,  # type: ignore[arg-type]
        kpi_url=closed,  # type: ignore[arg-type]
    )
    staff = StaffSession.new(f"{role}@vvsg.be", role.capitalize(), role, 30)
    client = TestClient(build(settings), base_url="http://127.0.0.1", follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, staff.seal(KEY))
    return client


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The URLs of the requests httpx sends from this process to a service (not the test client's)."""
    sent: list[str] = []
    original = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        if request.url.host == "127.0.0.1" and request.url.port is not None:
            sent.append(f"{request.method} {request.url.path}")
        return original(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    yield sent


def test_a_full_session_names_every_registration_in_two_lookups(
    network: tuple[infra.ServiceProcess, infra.ServiceProcess], calls: list[str]
) -> None:
    members, events = network
    api = members.client()
    organisation = api.post("/organisations", json={"name": "Gemeente Zoersel", "kind": "lokaal_bestuur"})
    assert organisation.status_code == 201, organisation.text
    people = []
    for n in range(MEMBERS):
        body = {
            "first_name": f"Voornaam{n:03}",
            "last_name": f"Familienaam{n:03}",
            "email": f"lid{n}@zoersel.be",
            "organisation_id": organisation.json()["id"],
        }
        made = api.post("/members", json=body)
        assert made.status_code == 201, made.text
        people.append(made.json()["id"])
    tomorrow = business_today() + timedelta(days=1)
    session = events.client().post(
        "/sessions",
        json={
            "kind": "info_session",
            "title": "Digitale drempels",
            "theme": "Toegankelijkheid",
            "lead": "vvsg",
            "format": "physical",
            "location": "Gemeentehuis Zoersel",
            "starts_at": f"{tomorrow}T09:30:00",
            "ends_at": f"{tomorrow}T12:00:00",
        },
    )
    assert session.status_code == 201, session.text
    session_id = session.json()["id"]
    unknown = str(uuid.uuid4())  # an id the members service does not know
    for member_id in [*people, unknown]:
        body = {"member_id": member_id, "organisation_kind": "lokaal_bestuur"}
        registered = events.client().post(f"/sessions/{session_id}/registrations", json=body)
        assert registered.status_code == 201, registered.text

    client = office(network, "staff")
    calls.clear()
    page = client.get(f"/activiteiten/{session_id}")
    assert page.status_code == 200, page.text
    for n in (0, 57, MEMBERS - 1):  # the first lookup's names and the second's
        assert f"Voornaam{n:03} Familienaam{n:03}" in page.text
    assert "lid (naam niet beschikbaar)" in page.text  # the unknown id, named as before
    lookups = [c for c in calls if c == "GET /staff/members"]
    assert len(lookups) == 2, calls  # 104 ids: a hundred and four, not one request each
    assert not [c for c in calls if re.fullmatch(r"GET /members/[0-9a-f-]+", c)], calls
    assert len(calls) <= 5, calls  # the session, its registrations, two lookups, the organisations

    calls.clear()
    grid = client.get(f"/activiteiten/{session_id}/aanwezigheid")
    assert grid.status_code == 200, grid.text  # (its grid opens once the session has begun)
    assert [c for c in calls if c == "GET /staff/members"] == ["GET /staff/members"] * 2, calls

    # a viewer sees no names, and the back office does not ask for them
    calls.clear()
    viewed = office(network, "viewer").get(f"/activiteiten/{session_id}")
    assert viewed.status_code == 200, viewed.text
    assert "Voornaam000" not in viewed.text
    assert "GET /staff/members" not in calls


def test_advice_and_trajectories_are_shown_a_page_at_a_time_newest_first(
    network: tuple[infra.ServiceProcess, infra.ServiceProcess], calls: list[str]
) -> None:
    members, events = network
    organisation = members.client().post(
        "/organisations", json={"name": "Gemeente Zoersel", "kind": "lokaal_bestuur"}
    )
    assert organisation.status_code == 201, organisation.text
    first = business_today() - timedelta(days=60)
    for n in range(30):
        body = {
            "organisation_id": organisation.json()["id"],
            "given_on": (first + timedelta(days=n)).isoformat(),
            "topic": f"Onderwerp {n:02}",
            "channel": "mail",
        }
        made = events.client().post("/advice", json=body)
        assert made.status_code == 201, made.text
        body = {
            "organisation_id": organisation.json()["id"],
            "started_on": (first + timedelta(days=n)).isoformat(),
            "stage": "starting",
            "methodology": f"Methodiek {n:02}",
            "description": "Een traject",
        }
        made = events.client().post("/trajectories", json=body)
        assert made.status_code == 201, made.text
    client = office(network, "staff")
    calls.clear()
    newest = client.get("/activiteiten/advies")
    assert newest.status_code == 200, newest.text
    shown = re.findall(r"Onderwerp (\d\d)", newest.text)
    assert shown == [f"{n:02}" for n in range(29, 4, -1)]  # the 25 newest, newest first
    assert "30 in totaal" in newest.text
    assert 'href="?pagina=1"' in newest.text and "?pagina=-1" not in newest.text
    assert len(calls) <= 3, calls  # the count, the page, the organisations
    older = client.get("/activiteiten/advies?pagina=1")
    assert re.findall(r"Onderwerp (\d\d)", older.text) == ["04", "03", "02", "01", "00"]
    assert 'href="?pagina=0"' in older.text and 'href="?pagina=2"' not in older.text
    beyond = client.get("/activiteiten/advies?pagina=7")
    assert beyond.status_code == 200 and re.findall(r"Onderwerp (\d\d)", beyond.text) == []
    trajectories = client.get("/activiteiten/trajecten?pagina=1")
    assert trajectories.status_code == 200, trajectories.text
    assert re.findall(r"Methodiek (\d\d)", trajectories.text) == ["04", "03", "02", "01", "00"]
