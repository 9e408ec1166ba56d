"""The newsletter service's use cases: one typed command and one handler each, run in a unit of work.

The staff API and the public pages (api.py) call these; a public page acts as `PUBLIC`, a
pseudonymous actor, because nobody logs in there. A handler checks, changes rows and publishes its
events; the caller ends with `uow.commit(read_model)`. The subscriber-list use cases are carried out
by subscriptions.py, whose session-level functions the consumers also call inside their own
transaction (a consumer never commits): the handlers here are the thin unit-of-work side of them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from pydantic import BaseModel
from sqlalchemy import insert, select
from sqlmodel import col

from services.newsletter import domain, subscriptions
from services.newsletter.domain import IssueStatus, MailStatus, SubscriberStatus
from services.newsletter.subscriptions import Outcome
from services.newsletter.tables import Article, Bounce, Delivery, GoodPractice, Issue, Subscriber
from shared import events
from shared.auth import Principal
from shared.errors import Conflict, Invalid, NotFound
from shared.uow import UnitOfWork

# who acts on the public pages and links: nobody logged in, and no address in any event
PUBLIC = Principal(subject="public", role="viewer")

ARTICLE_CONFLICT = (
    "this conflicts with an existing record (the same article in the same magazine on the same day)"
)
PRACTICE_CONFLICT = "this conflicts with an existing record (a good practice with this link)"


def _now() -> datetime:
    return datetime.now(UTC)


# --- subscribers --------------------------------------------------------------------------------


class RequestSubscription(BaseModel):
    email: str  # normalised already (domain.normalise_address)
    first_name: str | None = None


class ConfirmSubscription(BaseModel):
    subscriber_id: uuid.UUID


class Unsubscribe(BaseModel):
    subscriber_id: uuid.UUID


def request_subscription(command: RequestSubscription, uow: UnitOfWork) -> bool:
    """Double opt-in, step one; True when a confirmation mail was queued."""
    return subscriptions.request_subscription(uow.session, command.email, command.first_name, _now())


def confirm_subscription(command: ConfirmSubscription, uow: UnitOfWork) -> Outcome:
    return subscriptions.confirm(uow.session, uow.outbox, command.subscriber_id, _now(), actor=uow.staff_id())


def unsubscribe(command: Unsubscribe, uow: UnitOfWork) -> Outcome:
    """Staff on the person's behalf, or the person with the link in a mail (one-click too)."""
    return subscriptions.unsubscribe(
        uow.session, uow.outbox, command.subscriber_id, _now(), actor=uow.staff_id()
    )


# --- issues -------------------------------------------------------------------------------------


class CreateIssue(BaseModel):
    title: str
    body: str  # Markdown


class UpdateIssue(BaseModel):
    issue_id: uuid.UUID
    title: str | None = None
    body: str | None = None
    given: frozenset[str] = frozenset()  # the fields the caller sent (an explicit null is refused)


class SendIssue(BaseModel):
    issue_id: uuid.UUID


def issue(uow: UnitOfWork, issue_id: uuid.UUID) -> Issue:
    found = uow.session.get(Issue, issue_id)
    if found is None:
        raise NotFound(f"no newsletter issue with id {issue_id}")
    return found


def create_issue(command: CreateIssue, uow: UnitOfWork) -> Issue:
    created = Issue(title=command.title, body=command.body, created_by=uow.actor.subject)
    uow.session.add(created)
    return created


def update_issue(command: UpdateIssue, uow: UnitOfWork) -> Issue:
    changed = issue(uow, command.issue_id)
    if not domain.can_change(changed.status):
        raise Conflict("only a draft can be changed; this issue is being sent or was sent")
    for name in sorted(command.given):
        value = getattr(command, name)
        if value is None:
            raise Invalid(name, "may not be empty")
        setattr(changed, name, value)
    changed.updated_at = _now()
    uow.session.add(changed)
    return changed


def send_issue(command: SendIssue, uow: UnitOfWork) -> Issue:
    """Queue the issue for every active subscriber whose address did not bounce; the sender mails
    them in the background (wake it after the commit). `newsletter.sent` follows when every
    delivery is settled."""
    session = uow.session
    sent = issue(uow, command.issue_id)
    if not domain.can_change(sent.status):
        raise Conflict("this issue is being sent or was sent already")
    now = _now()
    recipients = list(
        session.execute(
            select(col(Subscriber.id))
            .where(col(Subscriber.status) == SubscriberStatus.ACTIVE)
            .where(col(Subscriber.email).not_in(select(col(Bounce.email))))
            .order_by(col(Subscriber.created_at))
        ).scalars()
    )
    if not recipients:
        raise Conflict("there are no active subscribers to send this issue to")
    session.execute(
        insert(Delivery),
        [
            {
                "issue_id": sent.id,
                "subscriber_id": sid,
                "status": MailStatus.QUEUED,
                "confirmed": True,
                "attempts": 0,
                "queued_at": now,
                "next_attempt_at": now,
            }
            for sid in recipients
        ],
    )
    sent.status = IssueStatus.SENDING
    sent.send_requested_at, sent.send_requested_by = now, uow.actor.subject
    session.add(sent)
    return sent


# --- communications log (OD 1.3) ----------------------------------------------------------------


class RecordArticle(BaseModel):
    title: str
    magazine: str = "Lokaal"
    published_on: date | None = None
    url: str | None = None


class RecordGoodPractice(BaseModel):
    title: str
    organisation_id: uuid.UUID | None = None
    published_on: date | None = None
    url: str


def record_article(command: RecordArticle, uow: UnitOfWork) -> Article:
    """The same article in the same magazine on the same day twice is a 409 at the commit."""
    article = Article(
        title=command.title,
        magazine=command.magazine,
        published_on=domain.business_date(command.published_on, "published_on"),
        url=command.url,
        created_by=uow.actor.subject,
    )
    uow.session.add(article)
    uow.publish(
        events.ArticlePublished(
            article_id=article.id,
            title=article.title,
            magazine=article.magazine,
            published_on=article.published_on,
            url=article.url,
        )
    )
    return article


def record_good_practice(command: RecordGoodPractice, uow: UnitOfWork) -> GoodPractice:
    """A second practice with the same link is a 409 at the commit."""
    practice = GoodPractice(
        title=command.title,
        organisation_id=command.organisation_id,
        published_on=domain.business_date(command.published_on, "published_on"),
        url=command.url,
        created_by=uow.actor.subject,
    )
    uow.session.add(practice)
    uow.publish(
        events.GoodPracticePublished(
            practice_id=practice.id,
            title=practice.title,
            organisation_id=practice.organisation_id,
            published_on=practice.published_on,
            url=practice.url,
        )
    )
    return practice
