"""A real SMTP server in the test process (aiosmtpd) that records what it receives, and the sender
against it without Kafka: 250, 550 and 451 answers, and a server that is down and comes back.

The `MailCatcher` here is what every newsletter test asserts on."""

from __future__ import annotations

import asyncio
import email
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlmodel import Session

from services.newsletter import mail
from services.newsletter.app import MIGRATIONS, NewsletterSettings
from services.newsletter.domain import SubscriberStatus
from services.newsletter.sender import MailQueue, Sender
from services.newsletter.tables import Bounce, Delivery, Issue, Subscriber
from shared.db import make_engine, migrate
from shared.outbox import Outbox, OutboxMessage
from tests.infra import LINK_SECRET, free_port, wait_until

pytestmark = pytest.mark.integration


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    at: float
    message: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        self.message = email.message_from_bytes(self.raw, policy=policy.default)  # type: ignore[assignment]

    @property
    def subject(self) -> str:
        """The subject as a mail program shows it. A subject longer than a line is folded by Python's
        generator right after "Subject:" (a session's reminder on a "woensdag" in "december"), and the
        parser keeps the space the fold leaves in front of it."""
        return str(self.message["Subject"]).strip()

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())  # type: ignore[attr-defined]


class _Handler:
    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        answer = self.catcher.answer_for(address)
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        count = self.catcher.store(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, time.time())
        )
        hook = self.catcher.on_message
        if hook is not None:
            # runs in a worker thread: a hook may block (e.g. until the sender process was killed)
            await asyncio.get_running_loop().run_in_executor(None, hook, count)
        return "250 2.0.0 Message accepted for delivery"


class MailCatcher:
    """aiosmtpd on 127.0.0.1 (a free port); addresses can be made to answer 550 or 451."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}  # address → SMTP answer to RCPT
        self.on_message: Callable[[int], None] | None = None
        self._lock = threading.Lock()
        self.controller: Controller | None = None

    def start(self) -> MailCatcher:
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def answer_for(self, address: str) -> str | None:
        return self.refuse.get(address.lower())

    def store(self, received: Received) -> int:
        with self._lock:
            self.received.append(received)
            return len(self.received)

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if address.lower() in (a.lower() for a in r.rcpt_tos)]

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def wait_for(self, address: str, n: int = 1, timeout: float = 30.0) -> list[Received]:
        found: list[Received] = wait_until(
            lambda: (lambda got: got if len(got) >= n else None)(self.to(address)),
            timeout,
            0.05,
            f"{n} mail(s) to {address}",
        )
        return found


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    server = MailCatcher().start()
    try:
        yield server
    finally:
        server.stop()


# --- the sender without Kafka ---------------------------------------------------------------------


def _sender(database_url: str, port: int) -> tuple[Sender, Any]:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    settings = NewsletterSettings(
        smtp_host="127.0.0.1", smtp_port=port, link_secret=LINK_SECRET, newsletter_public_url="http://nl.test"
    )
    queue = MailQueue(
        engine,
        Outbox("/services/newsletter"),
        mail.MailConfig.from_settings(settings),
        retry_seconds=0.1,
        retry_max_seconds=0.2,
    )
    sender = Sender(queue, settings, poll_seconds=0.1, retry_seconds=0.1, retry_max_seconds=0.3, timeout=5)
    return sender, engine


def _issue_for(engine: Any, addresses: list[str]) -> uuid.UUID:
    now = datetime.now(UTC)
    with Session(engine) as session:
        issue = Issue(
            title="Test", body="Hallo **allemaal**", status="sending", created_by="t", send_requested_at=now
        )
        session.add(issue)
        for address in addresses:
            subscriber = Subscriber(email=address, status=SubscriberStatus.ACTIVE, source="public")
            session.add(subscriber)
            session.flush()
            session.add(Delivery(issue_id=issue.id, subscriber_id=subscriber.id))
        session.commit()
        return issue.id


def _statuses(engine: Any) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.execute(
            select(Subscriber.email, Delivery.status).join(
                Subscriber, Subscriber.id == Delivery.subscriber_id
            )  # type: ignore[arg-type]
        ).all()
        return {email_address: status for email_address, status in rows}


def _issue_status(engine: Any, issue_id: uuid.UUID) -> str | None:
    with Session(engine) as session:
        issue = session.get(Issue, issue_id)
        return issue.status if issue else None


async def _run_until(sender: Sender, done: Callable[[], bool], timeout: float = 20.0) -> None:
    task = asyncio.create_task(sender.run())
    try:
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(done):
            assert time.monotonic() < deadline, "the sender did not finish in time"
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)  # bounded: a hang fails


async def test_a_550_bounces_that_address_and_a_451_is_retried_until_accepted(
    database_url: str, catcher: MailCatcher
) -> None:
    catcher.refuse["gone@example.org"] = "550 5.1.1 Mailbox unavailable"
    catcher.refuse["busy@example.org"] = "451 4.3.0 Try again later"
    sender, engine = _sender(database_url, catcher.port)
    issue_id = _issue_for(engine, ["ok@example.org", "gone@example.org", "busy@example.org"])

    async def clear_busy_later() -> None:
        await asyncio.to_thread(catcher.wait_for, "ok@example.org")
        await asyncio.sleep(0.3)
        catcher.refuse.pop("busy@example.org")

    clearing = asyncio.create_task(clear_busy_later())
    await _run_until(sender, lambda: _issue_status(engine, issue_id) == "sent")
    await clearing
    assert _statuses(engine) == {
        "ok@example.org": "sent",
        "gone@example.org": "bounced",
        "busy@example.org": "sent",
    }
    assert len(catcher.to("busy@example.org")) == 1
    assert catcher.to("gone@example.org") == []
    with Session(engine) as session:
        assert session.get(Bounce, "gone@example.org") is not None
        issue = session.get(Issue, issue_id)
        assert issue is not None and issue.status == "sent" and issue.recipients == 2
        assert session.execute(select(OutboxMessage)).scalars().one().topic == "communications.events"
    engine.dispose()


async def test_a_server_that_is_down_leaves_mails_queued_and_they_go_out_when_it_is_back(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    sender, engine = _sender(database_url, port)
    addresses = [f"person{i}@example.org" for i in range(5)]
    _issue_for(engine, addresses)
    task = asyncio.create_task(sender.run())
    try:
        await asyncio.to_thread(wait_until, lambda: sender.smtp_ok is False, 10, 0.05, "the sender to notice")
        assert set(_statuses(engine).values()) == {"queued"}
        server = MailCatcher(port).start()
        try:
            await asyncio.to_thread(
                wait_until, lambda: set(_statuses(engine).values()) == {"sent"}, 20, 0.05, "all sent"
            )
            assert sorted(a for r in server.received for a in r.rcpt_tos) == addresses
        finally:
            server.stop()
    finally:
        task.cancel()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)  # bounded: a hang fails
        engine.dispose()
