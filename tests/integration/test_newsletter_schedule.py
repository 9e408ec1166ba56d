"""Scheduling a newsletter issue: the sender sends it when its moment has come, once, also with two
senders on one database (two instances of the service) and after a restart; unscheduled it is not
sent; with nobody to send to it becomes a draft again. The sender against a real SMTP server (aiosmtpd)
and SQLite and PostgreSQL; the API on the running service (Kafka, a real SMTP server)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from services.newsletter import handlers
from services.newsletter.app import MIGRATIONS
from services.newsletter.domain import SubscriberStatus
from services.newsletter.tables import Delivery, Issue, Subscriber
from shared.auth import Principal
from shared.outbox import Outbox, OutboxMessage
from shared.uow import UnitOfWork
from tests.infra import wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher, _issue_status, _run_until, _sender
from tests.integration.test_newsletter_service import Stack, _address, stack  # noqa: F401 (fixture)
from tests.unit.test_events_migrations import _differences

pytestmark = pytest.mark.integration

SCHEDULER = Principal(subject="sam.staff@vvsg.be", role="staff")


@pytest.fixture
def smtp_server() -> Any:
    server = MailCatcher().start()
    try:
        yield server
    finally:
        server.stop()


def _subscribers(engine: Any, count: int) -> list[str]:
    addresses = [f"lezer{i}-{uuid.uuid4().hex[:6]}@example.org" for i in range(count)]
    with Session(engine) as session:
        for address in addresses:
            session.add(Subscriber(email=address, status=SubscriberStatus.ACTIVE, source="public"))
        session.commit()
    return addresses


def _schedule(engine: Any, title: str, at: datetime) -> uuid.UUID:
    """A draft, scheduled through the handler the API calls."""
    uow = UnitOfWork(Session(engine, expire_on_commit=False), Outbox("/services/newsletter"), SCHEDULER)
    with uow.session:
        draft = uow.commit(handlers.create_issue(handlers.CreateIssue(title=title, body="Hallo"), uow))
        command = handlers.ScheduleIssue(issue_id=draft.id, scheduled_at=at)
        return uow.commit(handlers.schedule_issue(command, uow)).id


def _deliveries(engine: Any, issue_id: uuid.UUID) -> int:
    with Session(engine) as session:
        return int(
            session.execute(
                select(func.count()).select_from(Delivery).where(Delivery.issue_id == issue_id)  # type: ignore[arg-type]
            ).scalar_one()
        )


def _sent_events(engine: Any) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one())


def test_the_migrations_create_the_issue_schedule_columns(tmp_path: Path) -> None:
    assert "scheduled_at" in Issue.__table__.columns  # type: ignore[attr-defined]
    assert _differences(f"sqlite:///{tmp_path}/newsletter.db", MIGRATIONS, "nl_") == []


def test_two_senders_racing_for_the_same_due_issues_queue_each_once(
    database_url: str, smtp_server: MailCatcher
) -> None:
    first, engine = _sender(database_url, smtp_server.port)
    second, other_engine = _sender(database_url, smtp_server.port)  # another instance, its own pool
    readers = _subscribers(engine, 5)
    moment = datetime.now(UTC) + timedelta(seconds=1)
    issues = [_schedule(engine, f"Nieuws {i}", moment) for i in range(10)]
    assert first.queue.release_scheduled(datetime.now(UTC)) == []  # not yet
    assert {_issue_status(engine, i) for i in issues} == {"scheduled"}

    later = moment + timedelta(seconds=1)
    start = threading.Barrier(2)
    released: dict[str, list[uuid.UUID]] = {}

    def release(name: str, sender: Any) -> None:
        start.wait()
        released[name] = sender.queue.release_scheduled(later)

    threads = [threading.Thread(target=release, args=(n, s)) for n, s in (("a", first), ("b", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(released["a"] + released["b"]) == sorted(issues)  # each issue by one sender only
    assert [_deliveries(engine, i) for i in issues] == [len(readers)] * len(issues)
    with Session(engine) as session:
        queued = session.get(Issue, issues[0])
        assert queued is not None and queued.status == "sending"
        assert queued.send_requested_by == SCHEDULER.subject  # sent in the name of who scheduled it
    engine.dispose()
    other_engine.dispose()


async def test_a_scheduled_issue_goes_out_at_its_moment_once_with_two_senders_and_after_a_restart(
    database_url: str, smtp_server: MailCatcher
) -> None:
    first, engine = _sender(database_url, smtp_server.port)
    second, other_engine = _sender(database_url, smtp_server.port)
    readers = _subscribers(engine, 3)
    soon = _schedule(engine, "Nieuws op tijd", datetime.now(UTC) + timedelta(seconds=2))
    after_restart = datetime.now(UTC) + timedelta(seconds=8)
    later = _schedule(engine, "Nieuws na de herstart", after_restart)
    dropped = _schedule(engine, "Toch niet", datetime.now(UTC) + timedelta(seconds=2))
    uow = UnitOfWork(Session(engine, expire_on_commit=False), Outbox("/services/newsletter"), SCHEDULER)
    with uow.session:
        uow.commit(handlers.unschedule_issue(handlers.UnscheduleIssue(issue_id=dropped), uow))

    both = asyncio.gather(first.run(), second.run())
    try:
        await asyncio.sleep(1.0)  # both senders look several times before the moment
        assert smtp_server.count() == 0
        assert _issue_status(engine, soon) == "scheduled"
        await asyncio.to_thread(
            wait_until, lambda: _issue_status(engine, soon) == "sent", 30, 0.1, "the first issue sent"
        )
    finally:
        both.cancel()
        await asyncio.wait_for(asyncio.gather(both, return_exceptions=True), 15)
    assert _issue_status(engine, later) == "scheduled"  # its moment comes while no sender runs

    # a restart: a new sender finds what is due and sends it; the issue sent already is not sent again
    await asyncio.sleep(max(0.0, (after_restart - datetime.now(UTC)).total_seconds() + 0.2))
    restarted, third_engine = _sender(database_url, smtp_server.port)
    await _run_until(restarted, lambda: _issue_status(engine, later) == "sent", timeout=30)
    for address in readers:
        subjects = sorted(str(r.message["Subject"]) for r in smtp_server.to(address))
        assert subjects == ["Nieuws na de herstart", "Nieuws op tijd"]  # each once, the dropped one never
    assert _issue_status(engine, dropped) == "draft" and _deliveries(engine, dropped) == 0
    assert _sent_events(engine) == 2  # one newsletter.sent per issue
    with Session(engine) as session:
        sent = session.get(Issue, soon)
        assert sent is not None and sent.recipients == len(readers)
        assert sent.sent_at is not None and sent.scheduled_at is not None
        assert sent.sent_at >= sent.scheduled_at
    for used in (engine, other_engine, third_engine):
        used.dispose()


def test_a_scheduled_issue_with_nobody_to_send_to_becomes_a_draft_again(
    database_url: str, smtp_server: MailCatcher
) -> None:
    sender, engine = _sender(database_url, smtp_server.port)
    moment = datetime.now(UTC) + timedelta(seconds=1)
    issue_id = _schedule(engine, "Voor niemand", moment)
    assert sender.queue.release_scheduled(moment + timedelta(seconds=1)) == []
    with Session(engine) as session:
        missed = session.get(Issue, issue_id)
        assert missed is not None and missed.status == "draft"
        assert missed.schedule_missed_at is not None
    assert _deliveries(engine, issue_id) == 0 and smtp_server.count() == 0
    engine.dispose()


# --- the API on the running service -------------------------------------------------------------------


def test_scheduling_through_the_api_refuses_what_is_not_a_plan_and_sends_once_when_due(stack: Stack) -> None:  # noqa: F811
    reader = _address("gepland")
    stack.contact(uuid.uuid4(), reader, consent=True)
    wait_until(lambda: stack.subscriber(reader), 20, 0.1, "a subscriber")
    now = datetime.now(UTC)
    with stack.client() as client:
        draft = client.post("/issues", json={"title": "Gepland nieuws", "body": "Tot *morgen*."}).json()
        schedule = f"/issues/{draft['id']}/schedule"
        for bad in (
            {"scheduled_at": (now + timedelta(hours=1)).replace(tzinfo=None).isoformat()},  # no offset
            {"scheduled_at": (now - timedelta(minutes=1)).isoformat()},  # in the past
            {"scheduled_at": (now + timedelta(days=400)).isoformat()},  # beyond a year
            {"scheduled_at": "morgen"},
            {},
        ):
            refused = client.post(schedule, json=bad)
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.json()["detail"][0]["loc"][-1] == "scheduled_at"
        assert (
            stack.service.client("viewer").post(schedule, json={"scheduled_at": now.isoformat()}).status_code
            == 403
        )
        assert (
            client.post(
                f"/issues/{uuid.uuid4()}/schedule", json={"scheduled_at": now.isoformat()}
            ).status_code
            == 404
        )
        assert client.get(f"/issues/{draft['id']}").json()["status"] == "draft"  # nothing changed

        far = (now + timedelta(days=2)).isoformat()
        scheduled = client.post(schedule, json={"scheduled_at": far})
        assert scheduled.status_code == 200, scheduled.text
        assert scheduled.json()["status"] == "scheduled"
        assert scheduled.json()["scheduled_by"] == "tester@vvsg.be"
        assert stack.service.client("viewer").get(f"/issues/{draft['id']}").json()["scheduled_by"] is None
        assert client.patch(f"/issues/{draft['id']}", json={"title": "Gewijzigd"}).status_code == 409
        assert client.post(schedule, json={"scheduled_at": far}).status_code == 409
        assert stack.service.client("viewer").post(f"/issues/{draft['id']}/unschedule").status_code == 403
        unscheduled = client.post(f"/issues/{draft['id']}/unschedule")
        assert unscheduled.status_code == 200 and unscheduled.json()["status"] == "draft"
        assert unscheduled.json()["scheduled_at"] is None
        assert client.post(f"/issues/{draft['id']}/unschedule").status_code == 409

        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        assert client.post(schedule, json={"scheduled_at": soon}).status_code == 200
        assert stack.catcher.to(reader) == []
        wait_until(
            lambda: client.get(f"/issues/{draft['id']}").json()["status"] == "sent", 30, 0.2, "sent when due"
        )
        time.sleep(1.0)  # a few more rounds of the sender: nothing goes out twice
    (mail,) = stack.catcher.to(reader)
    assert mail.message["Subject"] == "Gepland nieuws"
    sent = [e for e in stack.published("newsletter.sent") if e["data"]["issue_id"] == draft["id"]]
    assert len(sent) == 1 and sent[0]["data"]["recipients"] == 1
