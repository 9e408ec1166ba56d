"""The newsletter service's handlers without HTTP: a real SQLite database with the service's own
migrations, the real outbox, a unit of work per command, as a route or a public page runs them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, SQLModel, col

from services.newsletter import domain, handlers
from services.newsletter.app import MIGRATIONS
from services.newsletter.domain import IssueStatus
from services.newsletter.subscriptions import Outcome
from services.newsletter.tables import Article, Delivery, GoodPractice, Issue, ServiceMail, Subscriber
from shared import staff
from shared.auth import Principal
from shared.db import make_engine, migrate
from shared.errors import Conflict, Invalid, NotFound
from shared.outbox import Outbox, OutboxMessage
from shared.uow import UnitOfWork

STAFF = Principal(subject="an.medewerker@vvsg.be", role="staff")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine("sqlite:///" + str(tmp_path / "newsletter.db"))
    migrate(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def work(engine: Engine, actor: Principal = STAFF) -> UnitOfWork:
    return UnitOfWork(Session(engine, expire_on_commit=False), Outbox("/services/newsletter"), actor)


def published(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id))).scalars()
        return [json.loads(row.value) for row in rows if row.value is not None]


def count(engine: Engine, model: type[SQLModel]) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def subscribed(engine: Engine, email: str) -> uuid.UUID:
    """Through the public double opt-in, as a person does it."""
    uow = work(engine, handlers.PUBLIC)
    assert uow.commit(handlers.request_subscription(handlers.RequestSubscription(email=email), uow))
    with Session(engine) as session:
        subscriber: Subscriber = session.execute(
            select(Subscriber).where(col(Subscriber.email) == email)
        ).scalar_one()
    uow = work(engine, handlers.PUBLIC)
    command = handlers.ConfirmSubscription(subscriber_id=subscriber.id)
    assert uow.commit(handlers.confirm_subscription(command, uow)) is Outcome.DONE
    return subscriber.id


def test_double_opt_in_queues_one_confirmation_and_publishes_only_when_confirmed(engine: Engine) -> None:
    subscriber_id = subscribed(engine, "an.peeters@zemst.be")
    assert count(engine, ServiceMail) == 1
    [event] = published(engine)
    assert event["type"] == "be.vvsg.digitaleinclusie.newsletter.subscribed.v1"
    assert event["actor"] == "public"  # nobody logged in: no person, no address in the event
    assert event["data"]["subscriber_id"] == str(subscriber_id)
    uow = work(engine, handlers.PUBLIC)
    again = handlers.confirm_subscription(handlers.ConfirmSubscription(subscriber_id=subscriber_id), uow)
    assert uow.commit(again) is Outcome.ALREADY
    assert len(published(engine)) == 1


def test_staff_and_the_link_unsubscribe_through_the_same_handler(engine: Engine) -> None:
    subscriber_id = subscribed(engine, "an.peeters@zemst.be")
    uow = work(engine)
    assert (
        uow.commit(handlers.unsubscribe(handlers.Unsubscribe(subscriber_id=subscriber_id), uow))
        is Outcome.DONE
    )
    uow = work(engine, handlers.PUBLIC)
    command = handlers.Unsubscribe(subscriber_id=subscriber_id)
    assert uow.commit(handlers.unsubscribe(command, uow)) is Outcome.ALREADY
    uow = work(engine, handlers.PUBLIC)
    unknown = handlers.Unsubscribe(subscriber_id=uuid.uuid4())
    assert uow.commit(handlers.unsubscribe(unknown, uow)) is Outcome.UNKNOWN
    events = published(engine)
    assert [e["type"].split(".")[-2] for e in events] == ["subscribed", "unsubscribed"]
    assert events[-1]["actor"] == staff.pseudonym(STAFF.subject)  # never the address


def test_an_issue_is_written_changed_as_a_draft_then_queued_for_every_active_subscriber(
    engine: Engine,
) -> None:
    subscribed(engine, "an.peeters@zemst.be")
    subscribed(engine, "jan.janssens@mechelen.be")
    uow = work(engine)
    issue = uow.commit(
        handlers.create_issue(handlers.CreateIssue(title="Nieuwsbrief maart", body="# Hallo"), uow)
    )
    assert (issue.status, issue.created_by) == (IssueStatus.DRAFT, STAFF.subject)
    uow = work(engine)
    update = handlers.UpdateIssue(issue_id=issue.id, title="Nieuwsbrief april", given=frozenset({"title"}))
    assert uow.commit(handlers.update_issue(update, uow)).title == "Nieuwsbrief april"
    uow = work(engine)
    empty = handlers.UpdateIssue(issue_id=issue.id, given=frozenset({"body"}))
    with pytest.raises(Invalid):
        handlers.update_issue(empty, uow)
    uow.rollback()

    uow = work(engine)
    sent = uow.commit(handlers.send_issue(handlers.SendIssue(issue_id=issue.id), uow))
    assert (sent.status, sent.send_requested_by) == (IssueStatus.SENDING, STAFF.subject)
    assert count(engine, Delivery) == 2
    for command in (update, handlers.SendIssue(issue_id=issue.id)):
        uow = work(engine)
        with pytest.raises(Conflict):
            if isinstance(command, handlers.UpdateIssue):
                handlers.update_issue(command, uow)
            else:
                handlers.send_issue(command, uow)
        uow.rollback()
    with Session(engine) as session:
        stored = session.get(Issue, issue.id)
        assert stored is not None and stored.title == "Nieuwsbrief april"


def test_an_issue_without_active_subscribers_or_unknown_is_not_sent(engine: Engine) -> None:
    uow = work(engine)
    issue = uow.commit(handlers.create_issue(handlers.CreateIssue(title="T", body="B"), uow))
    for issue_id, refused in ((issue.id, Conflict), (uuid.uuid4(), NotFound)):
        uow = work(engine)
        with pytest.raises(refused):
            handlers.send_issue(handlers.SendIssue(issue_id=issue_id), uow)
        uow.rollback()
    assert count(engine, Delivery) == 0


def test_articles_and_practices_are_published_once_and_a_duplicate_is_a_conflict(engine: Engine) -> None:
    article = handlers.RecordArticle(title="Digitale inclusie in Zemst", published_on=date_ago(3))
    uow = work(engine)
    uow.commit(handlers.record_article(article, uow))
    uow = work(engine)
    uow.conflict = handlers.ARTICLE_CONFLICT
    with pytest.raises(Conflict) as duplicate:
        uow.commit(handlers.record_article(article, uow))
    assert "same magazine" in duplicate.value.message
    practice = handlers.RecordGoodPractice(title="Digipunt", url="https://www.vvsg.be/digipunt")
    uow = work(engine)
    uow.commit(handlers.record_good_practice(practice, uow))
    uow = work(engine)
    with pytest.raises(Conflict):
        uow.commit(handlers.record_good_practice(practice, uow))
    assert (count(engine, Article), count(engine, GoodPractice)) == (1, 1)
    assert [e["type"].split(".")[-2] for e in published(engine)] == ["published", "published"]


def test_a_publication_date_in_the_future_is_refused(engine: Engine) -> None:
    uow = work(engine)
    with pytest.raises(Invalid) as refused:
        handlers.record_article(handlers.RecordArticle(title="Later", published_on=date_ago(-1)), uow)
    assert refused.value.field == "published_on"
    uow.rollback()
    assert count(engine, Article) == 0


def test_only_a_draft_can_change() -> None:
    assert domain.can_change(IssueStatus.DRAFT)
    assert not any(domain.can_change(s) for s in (IssueStatus.SENDING, IssueStatus.SENT, IssueStatus.FAILED))


def date_ago(days: int) -> date:
    return (datetime.now(UTC) - timedelta(days=days)).astimezone(domain.BRUSSELS).date()
