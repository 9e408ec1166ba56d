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
from sqlalchemy import insert, select, update
from sqlmodel import Session, col

from services.newsletter import domain, subscriptions
from services.newsletter.domain import IssueStatus, MailStatus, SubscriberStatus
from services.newsletter.subscriptions import Outcome
from services.newsletter.tables import Article, Bounce, Delivery, GoodPractice, Issue, Subscriber, Tool
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
TOOL_CONFLICT = "this conflicts with an existing record (a tool with this link)"


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


class ScheduleIssue(BaseModel):
    issue_id: uuid.UUID
    scheduled_at: datetime


class UnscheduleIssue(BaseModel):
    issue_id: uuid.UUID


class NoRecipients(Conflict):
    def __init__(self) -> None:
        super().__init__("there are no active subscribers to send this issue to")


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
    delivery is settled. A scheduled issue may be sent now instead of at its moment."""
    sent = issue(uow, command.issue_id)
    if not domain.can_send(sent.status):
        raise Conflict("this issue is being sent or was sent already")
    return queue_issue(
        uow.session,
        sent.id,
        _now(),
        uow.actor.subject,
        from_statuses=(IssueStatus.DRAFT, IssueStatus.SCHEDULED),
    )


def queue_issue(
    session: Session,
    issue_id: uuid.UUID,
    now: datetime,
    requested_by: str | None,
    *,
    from_statuses: tuple[IssueStatus, ...],
) -> Issue:
    """One delivery per active subscriber whose address did not bounce, and the issue 'sending' — once:
    the status moves by a conditional update from what the caller expects, so that of two requests, or
    a request and the scheduled sender (of two instances), only one queues it; the other gets a
    Conflict (and the deliveries' unique key would refuse a second row for anyone anyway). Called
    inside the caller's transaction; NoRecipients when nobody would get it."""
    moved = session.execute(
        update(Issue)
        .where(col(Issue.id) == issue_id, col(Issue.status).in_([str(s) for s in from_statuses]))
        .values(
            status=IssueStatus.SENDING,
            send_requested_at=now,
            send_requested_by=requested_by,
            schedule_missed_at=None,
        )
    )
    if int(getattr(moved, "rowcount", 0)) != 1:
        raise Conflict("this issue is being sent or was sent already")
    recipients = list(
        session.execute(
            select(col(Subscriber.id))
            .where(col(Subscriber.status) == SubscriberStatus.ACTIVE)
            .where(col(Subscriber.email).not_in(select(col(Bounce.email))))
            .order_by(col(Subscriber.created_at))
        ).scalars()
    )
    if not recipients:
        raise NoRecipients()
    session.execute(
        insert(Delivery),
        [
            {
                "issue_id": issue_id,
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
    queued = session.get(Issue, issue_id, populate_existing=True)
    assert queued is not None  # the update above found it
    return queued


def schedule_issue(command: ScheduleIssue, uow: UnitOfWork) -> Issue:
    """A draft is sent by the sender at `scheduled_at`, in the name of who scheduled it. A scheduled
    issue cannot change: unschedule it first (then schedule it again)."""
    found = issue(uow, command.issue_id)
    if not domain.can_change(found.status):
        raise Conflict("only a draft can be scheduled; this issue is scheduled, being sent or sent")
    moment = domain.check_schedule(command.scheduled_at, _now())
    _move(
        uow.session,
        found.id,
        IssueStatus.DRAFT,
        status=IssueStatus.SCHEDULED,
        scheduled_at=moment,
        scheduled_by=uow.actor.subject,
        schedule_missed_at=None,
    )
    return _reread(uow.session, found.id)


def unschedule_issue(command: UnscheduleIssue, uow: UnitOfWork) -> Issue:
    """A scheduled issue becomes a draft again, unless the sender took it already (409)."""
    found = issue(uow, command.issue_id)
    if found.status != IssueStatus.SCHEDULED:
        raise Conflict("this issue is not scheduled: it is a draft, being sent or sent")
    _move(
        uow.session,
        found.id,
        IssueStatus.SCHEDULED,
        status=IssueStatus.DRAFT,
        scheduled_at=None,
        scheduled_by=None,
    )
    return _reread(uow.session, found.id)


def _move(session: Session, issue_id: uuid.UUID, expected: IssueStatus, **values: object) -> None:
    """A status change only from the status this request saw: the sender may have moved it meanwhile."""
    moved = session.execute(
        update(Issue).where(col(Issue.id) == issue_id, col(Issue.status) == expected).values(**values)
    )
    if int(getattr(moved, "rowcount", 0)) != 1:
        raise Conflict("this issue changed meanwhile (it may be being sent); nothing was changed")


def _reread(session: Session, issue_id: uuid.UUID) -> Issue:
    found = session.get(Issue, issue_id, populate_existing=True)
    assert found is not None  # moved just now, in this transaction
    return found


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


# --- tools and handbooks catalogue (OD 3.1) -------------------------------------------------------

# the catalogue entry's fields that an update may change, in the events' order
TOOL_FIELDS = (
    "title",
    "summary",
    "audience",
    "made_by",
    "url",
    "version",
    "last_reviewed_on",
    "next_review_on",
)


class PublishTool(BaseModel):
    title: str
    summary: str
    audience: str
    made_by: events.ToolMaker
    url: str
    version: str
    last_reviewed_on: date
    next_review_on: date
    published_on: date | None = None


class UpdateTool(BaseModel):
    tool_id: uuid.UUID
    title: str | None = None
    summary: str | None = None
    audience: str | None = None
    made_by: events.ToolMaker | None = None
    url: str | None = None
    version: str | None = None
    last_reviewed_on: date | None = None
    next_review_on: date | None = None


class RetireTool(BaseModel):
    tool_id: uuid.UUID
    retired_on: date | None = None


def _check_reviews(last_reviewed_on: date, next_review_on: date) -> None:
    if last_reviewed_on > domain.today():
        raise Invalid("last_reviewed_on", "may not lie in the future")
    if next_review_on <= last_reviewed_on:
        raise Invalid("next_review_on", f"must lie after the last review ({last_reviewed_on.isoformat()})")


def tool(session: Session, tool_id: uuid.UUID) -> Tool:
    found = session.get(Tool, tool_id)
    if found is None:
        raise NotFound(f"no tool with id {tool_id}")
    return found


def _tool_fields(entry: Tool) -> dict[str, object]:
    return {name: getattr(entry, name) for name in TOOL_FIELDS}


def publish_tool(command: PublishTool, uow: UnitOfWork) -> Tool:
    """A tool or handbook enters the catalogue; a second one with the same link is a 409 at the commit."""
    _check_reviews(command.last_reviewed_on, command.next_review_on)
    published_on = domain.business_date(command.published_on, "published_on")
    entry = Tool(
        **command.model_dump(exclude={"published_on"}),
        published_on=published_on,
        created_by=uow.actor.subject,
    )
    uow.session.add(entry)
    uow.publish(events.ToolPublished(tool_id=entry.id, published_on=published_on, **_tool_fields(entry)))
    return entry


def update_tool(command: UpdateTool, uow: UnitOfWork) -> Tool:
    """The fields given replace the entry's; `tool.updated` carries the whole entry. Nothing changed:
    no event. A retired tool cannot change (409)."""
    entry = tool(uow.session, command.tool_id)
    if entry.retired_on is not None:
        raise Conflict(f"this tool was retired on {entry.retired_on.isoformat()}: it can no longer change")
    changes = {
        name: value
        for name, value in command.model_dump(include=set(TOOL_FIELDS)).items()
        if value is not None and value != getattr(entry, name)
    }
    if not changes:
        return entry
    _check_reviews(
        command.last_reviewed_on or entry.last_reviewed_on, command.next_review_on or entry.next_review_on
    )
    for name, value in changes.items():
        setattr(entry, name, value)
    entry.updated_on, entry.updated_by = domain.today(), uow.actor.subject
    uow.session.add(entry)
    uow.publish(events.ToolUpdated(tool_id=entry.id, updated_on=entry.updated_on, **_tool_fields(entry)))
    return entry


def retire_tool(command: RetireTool, uow: UnitOfWork) -> Tool:
    """The tool leaves the catalogue; retiring it twice is a 409."""
    entry = tool(uow.session, command.tool_id)
    if entry.retired_on is not None:
        raise Conflict(f"this tool was retired on {entry.retired_on.isoformat()}")
    retired_on = domain.business_date(command.retired_on, "retired_on")
    if retired_on < entry.published_on:
        raise Invalid("retired_on", f"lies before the tool was published ({entry.published_on.isoformat()})")
    entry.retired_on, entry.updated_by = retired_on, uow.actor.subject
    uow.session.add(entry)
    uow.publish(events.ToolRetired(tool_id=entry.id, retired_on=retired_on))
    return entry
