"""From the newsletter service to the KPI service over the real broker: a newsletter sent, articles
in Lokaal and elsewhere, a good practice — and the three OD 1.3 KPIs of the running year."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.newsletter.domain import today
from shared import topics
from tests import infra
from tests.infra import ServiceProcess, produce, wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher

pytestmark = pytest.mark.e2e


def test_what_the_newsletter_service_publishes_shows_in_the_od13_kpis(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    catcher = MailCatcher().start()
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "OUTBOX_POLL_SECONDS": "0.2",
    }
    newsletter = ServiceProcess(
        "newsletter",
        {
            **common,
            "DATABASE_URL": f"sqlite:///{tmp_path}/newsletter.db",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(catcher.port),
            "NEWSLETTER_POLL_SECONDS": "0.3",
        },
        tmp_path,
    )
    kpi = ServiceProcess("kpi", {**common, "DATABASE_URL": f"sqlite:///{tmp_path}/kpi.db"}, tmp_path)
    day = today().isoformat()
    try:
        newsletter.start()
        kpi.start()
        member = uuid.uuid4()
        contact = {
            "member_id": str(member),
            "first_name": "Els",
            "last_name": "Maes",
            "email": "els@gemeente.example",
            "phone": None,
            "organisation_id": str(uuid.uuid4()),
            "newsletter_consent": True,
            "active": True,
            "updated_at": datetime.now(UTC).isoformat(),
        }
        asyncio.run(
            produce(
                kafka_bootstrap,
                [(prefix + topics.MEMBERS_CONTACTS, str(member).encode(), json.dumps(contact).encode())],
            )
        )
        with newsletter.client() as client:
            wait_until(
                lambda: client.get("/subscribers", params={"state": "active"}).json()["total"] == 1,
                30,
                0.1,
                "the member to be subscribed",
            )
            issue = client.post(
                "/issues", json={"title": "Nieuwsbrief van de maand", "body": "Nieuws."}
            ).json()
            assert client.post(f"/issues/{issue['id']}/send").status_code == 202
            for title, magazine in (
                ("Inclusie in Lokaal", "Lokaal"),
                ("Tweede in Lokaal", "Lokaal"),
                ("Elders verschenen", "Binnenband"),
            ):
                answer = client.post(
                    "/articles",
                    json={
                        "title": title,
                        "magazine": magazine,
                        "published_on": day,
                        "url": "https://lokaal.example/" + uuid.uuid4().hex,
                    },
                )
                assert answer.status_code == 201, answer.text
            assert (
                client.post(
                    "/good-practices",
                    json={
                        "title": "Digibuddies",
                        "published_on": day,
                        "url": "https://vvsg.example/digibuddies",
                    },
                ).status_code
                == 201
            )

        def od13() -> dict[str, Any] | None:
            with kpi.client("viewer") as client:
                report = client.get(f"/kpis/{today().year}").json()
            found = {k["code"]: k for k in report["kpis"] if k["code"].startswith("OD1.3-")}
            counts = [
                found.get(c, {}).get("value")
                for c in ("OD1.3-nieuwsbrieven", "OD1.3-artikels", "OD1.3-goede-praktijken")
            ]
            return found if counts == [1, 2, 1] else None

        kpis = wait_until(od13, 60, 0.3, "the KPI service to count what was published")
    finally:
        newsletter.stop()
        kpi.stop()
        catcher.stop()

    newsletters = kpis["OD1.3-nieuwsbrieven"]
    assert newsletters["items"][0]["title"] == "Nieuwsbrief van de maand"
    assert newsletters["items"][0]["recipients"] == 1 and newsletters["items"][0]["date"] == day
    assert [a["title"] for a in kpis["OD1.3-artikels"]["items"]] == ["Inclusie in Lokaal", "Tweede in Lokaal"]
    assert kpis["OD1.3-goede-praktijken"]["items"][0]["link"] == "https://vvsg.example/digibuddies"
    assert {k["status"] for k in kpis.values()} == {"geen doel"}
    assert len(catcher.to("els@gemeente.example")) == 1
