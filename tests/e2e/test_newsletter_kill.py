"""A newsletter to 300 subscribers; the service process is killed (SIGKILL) when the SMTP server has
received 100 mails — while it still owes the sender the answer to the 100th — and started again.
Every subscriber gets exactly one mail, and `newsletter.sent` says 300 once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared import topics
from tests import infra
from tests.infra import ServiceProcess, produce, read_topic, wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher

pytestmark = pytest.mark.e2e

SUBSCRIBERS = 300
KILL_AFTER = 100


def _contacts(prefix: str, addresses: list[str]) -> list[tuple[str, bytes | None, bytes | None]]:
    records: list[tuple[str, bytes | None, bytes | None]] = []
    for i, address in enumerate(addresses):
        member = uuid.uuid4()
        value = {
            "member_id": str(member),
            "first_name": f"Lid{i}",
            "last_name": "Test",
            "email": address,
            "phone": None,
            "organisation_id": str(uuid.uuid4()),
            "newsletter_consent": True,
            "active": True,
            "updated_at": datetime.now(UTC).isoformat(),
        }
        records.append((prefix + topics.MEMBERS_CONTACTS, str(member).encode(), json.dumps(value).encode()))
    return records


def test_a_newsletter_to_300_reaches_everyone_exactly_once_although_the_sender_was_killed_after_100(
    kafka_bootstrap: str, postgres_server: str, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    reached, resume = threading.Event(), threading.Event()

    def hold_the_hundredth(count: int) -> None:
        if count == KILL_AFTER:  # the server has the 100th mail; its answer waits until the kill
            reached.set()
            resume.wait(30)

    catcher = MailCatcher().start()
    catcher.on_message = hold_the_hundredth
    addresses = [f"abonnee{i:03d}@gemeente.example" for i in range(SUBSCRIBERS)]
    asyncio.run(produce(kafka_bootstrap, _contacts(prefix, addresses)))

    with infra.postgres_database(postgres_server) as database_url:
        env = {
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(catcher.port),
            "OUTBOX_POLL_SECONDS": "0.2",
            "NEWSLETTER_POLL_SECONDS": "0.3",
        }
        first = ServiceProcess("newsletter", env, tmp_path)
        first.env["NEWSLETTER_PUBLIC_URL"] = first.url
        second: ServiceProcess | None = None
        try:
            first.start()
            with first.client() as client:
                wait_until(
                    lambda: (
                        client.get("/subscribers", params={"state": "active"}).json()["total"] == SUBSCRIBERS
                    ),
                    60,
                    0.2,
                    "300 subscribers from the contacts topic",
                )
                issue = client.post(
                    "/issues",
                    json={
                        "title": "Nieuwsbrief digitale inclusie — test",
                        "body": "Driehonderd lezers, één mail elk.",
                    },
                ).json()
                started = time.monotonic()
                assert client.post(f"/issues/{issue['id']}/send").status_code == 202

            assert reached.wait(60), f"only {catcher.count()} mails arrived"
            assert first.process is not None
            os.kill(first.process.pid, signal.SIGKILL)
            first.process.wait(10)
            killed_at = time.monotonic()
            resume.set()

            second = ServiceProcess("newsletter", env, tmp_path)
            second.env["NEWSLETTER_PUBLIC_URL"] = second.url
            second.start()
            with second.client() as client:
                done = wait_until(
                    lambda: (lambda i: i if i["status"] == "sent" else None)(
                        client.get(f"/issues/{issue['id']}").json()
                    ),
                    90,
                    0.1,
                    "the issue to be sent after the restart",
                )
            finished = time.monotonic()
        finally:
            resume.set()
            for service in (first, second):
                if service is not None:
                    service.stop()
            catcher.stop()

    received = catcher.received
    per_address = Counter(a for r in received for a in r.rcpt_tos)
    assert per_address == Counter(addresses)  # every subscriber exactly once
    assert len({r.message["Message-ID"] for r in received}) == SUBSCRIBERS
    assert done["recipients"] == SUBSCRIBERS
    assert done["deliveries"] == {"sent": SUBSCRIBERS, "unconfirmed": 1}  # the 100th: answer never read

    sent_events = [
        json.loads(r.value)
        for r in asyncio.run(read_topic(kafka_bootstrap, prefix + topics.COMMUNICATIONS_EVENTS))
        if b"newsletter.sent" in r.value
    ]
    assert [e["data"]["recipients"] for e in sent_events] == [SUBSCRIBERS]

    _report(received, started, killed_at, finished, tmp_path)


def _report(received: list[Any], started: float, killed_at: float, finished: float, tmp_path: Path) -> None:
    arrivals = sorted(r.at for r in received)
    before, after = arrivals[:KILL_AFTER], arrivals[KILL_AFTER:]
    wall = time.time() - time.monotonic()  # arrivals are wall-clock, the rest monotonic
    figures = {
        "mails": len(arrivals),
        "first_100_seconds": round(before[-1] - before[0], 3),
        "first_100_per_second": round((KILL_AFTER - 1) / max(before[-1] - before[0], 1e-6), 1),
        "last_200_seconds": round(after[-1] - after[0], 3),
        "last_200_per_second": round((len(after) - 1) / max(after[-1] - after[0], 1e-6), 1),
        "restart_gap_seconds": round(after[0] - (killed_at + wall), 3),
        "send_request_to_sent_seconds_incl_kill_and_restart": round(finished - started, 3),
    }
    (tmp_path / "newsletter-300.json").write_text(json.dumps(figures, indent=2))
    print("\nnewsletter to 300 with a kill after 100:", json.dumps(figures))
