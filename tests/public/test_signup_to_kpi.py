"""A public sign-up counts like any other registration: the events and KPI services as processes over
HTTP and the real broker. Two people sign up on the session's public page (a stranger, who confirms
through the link in the opt-in mail the test's SMTP server receives, and a member recognised by e-mail
address, registered at once), the session starts, staff record their attendance and mark it held,
and the KPI service counts the session and its participant hours; nothing on the topics names them."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared import events, topics
from shared.clock import BRUSSELS
from tests import infra
from tests.integration.test_newsletter_mailserver import MailCatcher

pytestmark = pytest.mark.e2e


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    server = MailCatcher().start()
    try:
        yield server
    finally:
        server.stop()


def test_public_sign_ups_become_participant_hours_in_the_kpis(
    services: Callable[..., infra.ServiceProcess],
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    catcher: MailCatcher,
) -> None:
    events_service = services("events", f"sqlite:///{tmp_path}/events.db", SMTP_PORT=str(catcher.port))
    kpi = services("kpi", f"sqlite:///{tmp_path}/kpi.db")
    staff, viewer = infra.auth("staff"), infra.auth("viewer")

    # a member of the network, with their address on the contacts topic
    organisation, member = uuid.uuid4(), uuid.uuid4()
    member_events = [
        events.OrganisationRegistered(
            organisation_id=organisation,
            name="Gemeente Zemst",
            kind="lokaal_bestuur",
            registered_on=date(2024, 1, 1),
        ),
        events.MemberJoined(member_id=member, organisation_id=organisation, joined_on=date(2024, 2, 1)),
    ]
    records: list[tuple[str, bytes | None, bytes | None]] = [
        (
            topic_prefix + topics.MEMBERS_EVENTS,
            d.key().encode(),
            events.encode(events.new_envelope(d, source="/services/members")),
        )
        for d in member_events
    ]
    contact = json.dumps({"member_id": str(member), "email": "an.lid@zemst.example"}).encode()
    records.append((topic_prefix + topics.MEMBERS_CONTACTS, str(member).encode(), contact))
    asyncio.run(infra.produce(kafka_bootstrap, records))

    # a one-hour info session starting soon: open for sign-up now, attendance soon after. Soon, not in
    # a few seconds: on a loaded machine the member's arrival and the opt-in mail took longer than the
    # 8 s this once allowed, and a session that has started takes no sign-ups
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
    year = starts.astimezone(BRUSSELS).year
    session = httpx.post(
        f"{events_service.url}/sessions",
        json={
            "kind": "info_session",
            "title": "Infosessie voor iedereen",
            "theme": "digitale drempels",
            "lead": "vvsg",
            "format": "online",
            "location": "online",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            # given, with each attendance's day and hours below: run after 23:00 in Brussels, the
            # hour runs past midnight, and a session over several days needs them
            "planned_hours": 1,
        },
        headers=staff,
    )
    assert session.status_code == 201, session.text
    session_id = session.json()["id"]

    def member_known() -> bool:
        found = httpx.get(f"{events_service.url}/people/{member}", headers=staff).json()
        return bool(found["member"]) and bool(found["email_digest_held"])

    infra.wait_until(member_known, what="the member and their address digest in the events service")
    people = [
        {"name": "Sam Buiten", "email": "sam@buiten.example", "organisation": "Vzw De Brug"},
        {"name": "An Lid", "email": "an.lid@zemst.example", "organisation": "Gemeente Zemst"},
    ]
    for person in people:
        answer = httpx.post(
            f"{events_service.url}/agenda/{session_id}",
            data={**person, "organisation_kind": "middenveldorganisatie", "website": ""},
        )
        assert answer.status_code == 200, answer.text
        if person["email"] == "sam@buiten.example":  # not a member's address: the opt-in first
            assert "Bevestig je inschrijving" in answer.text
            [mail] = catcher.wait_for(person["email"])
            found = re.search(r"https?://\S+/agenda/bevestigen/([A-Za-z0-9_-]+)", mail.part("plain"))
            assert found is not None, mail.part("plain")
            token = found.group(1)
            answer = httpx.post(
                f"{events_service.url}/agenda/bevestigen/{token}",
                data={"token": token},
                headers={"Origin": events_service.url},
            )
        assert answer.status_code == 200 and "Je bent ingeschreven" in answer.text, answer.text

    registered = httpx.get(f"{events_service.url}/sessions/{session_id}/registrations", headers=staff).json()
    assert sorted(str(r["member_id"]) for r in registered) == sorted([str(member), "None"])
    time.sleep(max(0.0, (starts - datetime.now(UTC)).total_seconds()) + 0.5)
    for registration in registered:
        attended = httpx.put(
            f"{events_service.url}/sessions/{session_id}/registrations/{registration['id']}/attendance",
            json={"attended": True, "day": starts.astimezone(BRUSSELS).date().isoformat(), "hours": 1},
            headers=staff,
        )
        assert attended.status_code == 200, attended.text
    assert httpx.post(f"{events_service.url}/sessions/{session_id}/held", headers=staff).status_code == 200

    def counted() -> dict[str, Any] | None:
        answer = httpx.get(f"{kpi.url}/kpis/{year}", headers=viewer)
        if answer.status_code != 200:
            return None
        kpis = {k["code"]: k for k in answer.json()["kpis"]}
        done = kpis["OD1.2-infosessies"]["value"] == 1 and kpis["OD1.2-deelnemersuren"]["value"] == 2
        return kpis if done else None

    infra.wait_until(counted, 60, 0.3, "the info session and its 2 participant hours in the KPIs")

    published = asyncio.run(infra.read_topic(kafka_bootstrap, topic_prefix + topics.ACTIVITIES_EVENTS))
    types = [json.loads(r.value)["type"] for r in published if r.value]
    assert types.count(events.TYPE_PREFIX + "registration.received.v1") == 2
    text = b"".join(r.value or b"" for r in published).decode()
    for secret in ("Sam Buiten", "sam@buiten.example", "De Brug", "an.lid@zemst.example", "An Lid"):
        assert secret not in text
