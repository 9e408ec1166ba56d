"""The newsletter service and the person (GDPR), run as ops run it on SQLite and PostgreSQL with the real
broker and a real SMTP server: the right of access (GET /people/{member_id}) and erasure down to the
mail server's replies."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from shared import events, topics
from shared.db import normalise_url
from tests import infra
from tests.infra import ServiceProcess, wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher

pytestmark = pytest.mark.integration


@dataclass
class Stack:
    service: ServiceProcess
    catcher: MailCatcher
    bootstrap: str
    prefix: str
    database_url: str

    def client(self) -> httpx.Client:
        return self.service.client("staff")

    def publish(self, *datas: events.EventData) -> None:
        records: list[tuple[str, bytes | None, bytes | None]] = [
            (self.prefix + d.TOPIC, d.key().encode(), events.encode(events.new_envelope(d, source="/test")))
            for d in datas
        ]
        asyncio.run(infra.produce(self.bootstrap, records))

    def contact(self, member: uuid.UUID, email: str) -> None:
        value = {
            "member_id": str(member),
            "first_name": "Griet",
            "last_name": "Vanhoutteghem",
            "email": email,
            "phone": None,
            "organisation_id": str(uuid.uuid4()),
            "newsletter_consent": True,
            "active": True,
            "updated_at": datetime.now(UTC).isoformat(),
        }
        asyncio.run(
            infra.produce(
                self.bootstrap,
                [(self.prefix + topics.MEMBERS_CONTACTS, str(member).encode(), json.dumps(value).encode())],
            )
        )

    def export(self, member: uuid.UUID) -> dict[str, Any]:
        with self.client() as client:
            response = client.get(f"/people/{member}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def subscribed(self, member: uuid.UUID) -> None:
        wait_until(
            lambda: [s for s in self.export(member)["subscriptions"] if s["status"] == "active"],
            30,
            0.1,
            "the member to be subscribed",
        )

    def send_issue(self, title: str) -> None:
        with self.client() as client:
            issue = client.post("/issues", json={"title": title, "body": "Nieuws."}).json()
            assert client.post(f"/issues/{issue['id']}/send").status_code == 202
            wait_until(
                lambda: client.get(f"/issues/{issue['id']}").json()["status"] == "sent", 30, 0.1, "the issue"
            )

    def rows_mentioning(self, needle: str) -> list[str]:
        """Every row of every table of this service in which the text appears."""
        engine = create_engine(normalise_url(self.database_url))
        found: list[str] = []
        try:
            with engine.connect() as conn:
                for table in inspect(conn).get_table_names():
                    for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                        if needle in " ".join(str(v) for v in row):
                            found.append(f"{table}: {row}")
        finally:
            engine.dispose()
        return found


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp(f"newsletter-privacy-{request.param}")
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    catcher = MailCatcher().start()
    if request.param == "sqlite":
        database: Any = nullcontext(f"sqlite:///{workdir}/newsletter.db")
    else:
        database = infra.postgres_database(request.getfixturevalue("postgres_server"))
    with database as url:
        service = ServiceProcess(
            "newsletter",
            {
                "DATABASE_URL": url,
                "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                "KAFKA_TOPIC_PREFIX": prefix,
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(catcher.port),
                "OUTBOX_POLL_SECONDS": "0.2",
                "NEWSLETTER_POLL_SECONDS": "0.3",
            },
            workdir,
        )
        try:
            yield Stack(service.start(), catcher, kafka_bootstrap, prefix, url)
        finally:
            service.stop()
            catcher.stop()


def _address(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@gemeente.example"


def _registered(stack: Stack, member: uuid.UUID) -> None:
    """The member registers for an upcoming session: the newsletter service mails a confirmation."""
    session_id = uuid.uuid4()
    starts = datetime.now(UTC) + timedelta(days=10)
    stack.publish(
        events.SessionScheduled(
            session_id=session_id,
            kind="info_session",
            title="Infosessie digitale drempels",
            theme="toegankelijkheid",
            lead="vvsg",
            format="online",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            planned_hours=2,
        ),
        events.RegistrationReceived(
            registration_id=uuid.uuid4(),
            session_id=session_id,
            member_id=member,
            organisation_kind="lokaal_bestuur",
            waitlisted=False,
        ),
    )


def test_the_export_holds_the_contact_the_subscription_and_every_mail_sent(stack: Stack) -> None:
    member, address = uuid.uuid4(), _address("export")
    stack.contact(member, address)
    stack.subscribed(member)
    title = f"Nieuwsbrief {uuid.uuid4().hex[:6]}"
    stack.send_issue(title)
    _registered(stack, member)
    stack.catcher.wait_for(address, 2)

    def both_sent() -> dict[str, Any] | None:
        export = stack.export(member)
        return (
            export
            if len(export["mails"]) == 2 and {m["status"] for m in export["mails"]} == {"sent"}
            else None
        )

    export = wait_until(both_sent, 30, 0.1, "both mails marked sent")
    assert export["service"] == "newsletter" and export["erased_at"] is None
    assert (export["contact"]["email"], export["contact"]["last_name"]) == (address, "Vanhoutteghem")
    assert [(s["email"], s["status"], s["source"]) for s in export["subscriptions"]] == [
        (address, "active", "member")
    ]
    assert sorted((m["kind"], m["title"]) for m in export["mails"]) == [
        ("newsletter", title),
        ("registration_confirmation", "Infosessie digitale drempels"),
    ]


def test_erasure_leaves_no_address_even_in_the_mail_servers_reply(stack: Stack) -> None:
    member, address = uuid.uuid4(), _address("refused")
    stack.catcher.refuse[address] = f"550 5.1.1 <{address}>: Recipient address rejected"
    stack.contact(member, address)
    stack.subscribed(member)
    stack.send_issue(f"Nieuwsbrief {uuid.uuid4().hex[:6]}")
    assert stack.rows_mentioning(address)
    stack.publish(events.MemberErased(member_id=member, erased_on=date.today()))
    wait_until(lambda: not stack.rows_mentioning(address), 30, 0.2, "the address to be gone everywhere")
    export = stack.export(member)
    assert (export["contact"], export["subscriptions"], export["mails"]) == (None, [], [])
    assert export["erased_at"]
