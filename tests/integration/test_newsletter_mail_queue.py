"""One mail that cannot be composed never stops the others (issue 11 item 12): the sender against a real
SMTP server (aiosmtpd) and a real database, SQLite and PostgreSQL, without Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import select
from sqlmodel import Session

from services.newsletter.domain import MailKind, SubscriberStatus
from services.newsletter.sender import MailMetrics
from services.newsletter.tables import Contact, Delivery, Issue, ServiceMail, Subject, Subscriber
from tests.integration.test_newsletter_mailserver import MailCatcher, _issue_status, _run_until, _sender

pytestmark = pytest.mark.integration

GOOD_NEWSLETTER, GOOD_SERVICE = 500, 500


@pytest.fixture
def smtp_server() -> Iterator[MailCatcher]:
    server = MailCatcher().start()
    try:
        yield server
    finally:
        server.stop()


def _queue_bad_mails_then_good_ones(engine: Any) -> dict[str, Any]:
    """In queue order: a newsletter issue whose title holds a line break, then a good issue to 500
    subscribers; a registration confirmation about a session whose title holds a line break and one to
    an address with a space in it, then 500 good confirmations. What the sender meets first is bad."""
    now = datetime.now(UTC)
    earlier = now - timedelta(minutes=5)
    with Session(engine) as session:
        bad_issue = Issue(
            title="Nieuws\r\nBcc: iedereen@example.org", body="x", status="sending", created_by="t"
        )
        good_issue = Issue(title="Goed nieuws", body="Hallo **allemaal**", status="sending", created_by="t")
        session.add_all([bad_issue, good_issue])
        session.flush()
        first = Subscriber(email="eerste@example.org", status=SubscriberStatus.ACTIVE, source="public")
        session.add(first)
        session.flush()
        session.add(Delivery(issue_id=bad_issue.id, subscriber_id=first.id))
        session.flush()  # the bad delivery gets the lowest id: it is first in the queue
        for i in range(GOOD_NEWSLETTER):
            subscriber = Subscriber(
                email=f"lezer{i}@example.org", status=SubscriberStatus.ACTIVE, source="public"
            )
            session.add(subscriber)
            session.flush()
            session.add(Delivery(issue_id=good_issue.id, subscriber_id=subscriber.id))

        bad_session = Subject(id=uuid.uuid4(), kind="info_session", title="Infosessie\nDeel 2")
        good_session = Subject(id=uuid.uuid4(), kind="info_session", title="Infosessie AI", format="online")
        session.add_all([bad_session, good_session])

        def confirmation(member_email: str, subject: Subject, created: datetime) -> ServiceMail:
            member = Contact(member_id=uuid.uuid4(), first_name="An", last_name="Peeters", email=member_email)
            session.add(member)
            cause = str(uuid.uuid4())
            return ServiceMail(
                cause_id=cause,
                dedupe_key=f"registration:{cause}",
                kind=MailKind.REGISTRATION_CONFIRMATION,
                member_id=member.member_id,
                subject_type="session",
                subject_id=subject.id,
                reference_id=uuid.uuid4(),
                created_at=created,
            )

        bad_title = confirmation("titel@example.org", bad_session, earlier)
        bad_address = confirmation("met spatie@example.org", good_session, earlier)
        session.add_all([bad_title, bad_address])
        for i in range(GOOD_SERVICE):
            session.add(confirmation(f"deelnemer{i}@example.org", good_session, now))
        session.commit()
        return {
            "bad_issue": bad_issue.id,
            "good_issue": good_issue.id,
            "bad_title": bad_title.cause_id,
            "bad_address": bad_address.cause_id,
        }


async def test_mails_that_cannot_be_composed_fail_alone_and_the_1000_behind_them_all_arrive(
    database_url: str, smtp_server: MailCatcher
) -> None:
    sender, engine = _sender(database_url, smtp_server.port)
    sender.batch_size = 200
    ids = _queue_bad_mails_then_good_ones(engine)

    def settled() -> bool:
        with Session(engine) as session:
            open_service = session.execute(
                select(ServiceMail).where(ServiceMail.status.in_(["queued", "sending"]))  # type: ignore[attr-defined]
            ).first()
        return open_service is None and _issue_status(engine, ids["good_issue"]) == "sent"

    await _run_until(sender, settled, timeout=300)

    addresses = [a for r in smtp_server.received for a in r.rcpt_tos]
    expected = {f"lezer{i}@example.org" for i in range(GOOD_NEWSLETTER)} | {
        f"deelnemer{i}@example.org" for i in range(GOOD_SERVICE)
    }
    assert len(addresses) == len(expected) == 1000 and set(addresses) == expected  # each once
    assert not [r for r in smtp_server.received if r.message["Bcc"] is not None]
    assert sender.smtp_ok is True

    with Session(engine) as session:
        bad_delivery = (
            session.execute(
                select(Delivery).where(Delivery.issue_id == ids["bad_issue"])  # type: ignore[arg-type]
            )
            .scalars()
            .one()
        )
        bad_title = session.get(ServiceMail, ids["bad_title"])
        bad_address = session.get(ServiceMail, ids["bad_address"])
        bad_issue = session.get(Issue, ids["bad_issue"])
        good_issue = session.get(Issue, ids["good_issue"])
    assert bad_delivery.status == "failed" and bad_delivery.attempts == 0
    assert bad_delivery.last_error is not None
    assert bad_delivery.last_error.startswith("cannot be composed: ValueError: Header values may not contain")
    assert (
        bad_title is not None and bad_title.status == "failed" and "linefeed" in (bad_title.last_error or "")
    )
    assert bad_address is not None and bad_address.status == "failed"
    assert "the address cannot go on an SMTP command line" in (bad_address.last_error or "")
    assert "met spatie" not in (bad_address.last_error or "")  # no address in logs and statistics
    assert bad_issue is not None and bad_issue.status == "failed" and bad_issue.sent_at is None
    assert good_issue is not None and good_issue.recipients == GOOD_NEWSLETTER

    failures = sender.queue.failures()
    assert [(f["issue_id"], f["count"]) for f in failures["newsletter"]] == [(str(ids["bad_issue"]), 1)]
    assert sorted(str(f["reason"])[:40] for f in failures["service_mails"]) == sorted(
        [str(bad_title.last_error)[:40], str(bad_address.last_error)[:40]]
    )
    registry = CollectorRegistry()
    registry.register(MailMetrics(sender.queue, "newsletter"))
    scraped = generate_latest(registry).decode()
    assert 'vvsg_mail_compose_failures_total{queue="newsletter",service="newsletter"} 1.0' in scraped
    assert 'vvsg_mail_compose_failures_total{queue="service_mails",service="newsletter"} 2.0' in scraped
    assert 'vvsg_mail_queue{queue="service_mails",service="newsletter",status="sent"} 500.0' in scraped
    assert 'vvsg_mail_queue{queue="newsletter",service="newsletter",status="failed"} 1.0' in scraped
    engine.dispose()
