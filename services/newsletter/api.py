"""HTTP routes of the newsletter service: the staff API (subscribers, issues, the communications log,
the tools and handbooks catalogue, the mail queue) and the public Dutch pages (subscribe, confirm,
unsubscribe incl. RFC 8058 one-click; the catalogue's page is tools_public.py, mounted by app.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import suppress
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from services.newsletter import domain, handlers, mail, pages
from services.newsletter.sender import Sender, pending_in
from services.newsletter.subscriptions import Outcome
from services.newsletter.tables import Article, Bounce, GoodPractice, Issue, Subscriber, Tool
from shared import events
from shared.auth import READERS, STAFF, Principal, require
from shared.errors import Conflict, Invalid, NotFound
from shared.limits import public_rate_limit
from shared.links import BadLink, read_token
from shared.text import BusinessDate, Line, SafeUrl, multi_line, single_line
from shared.uow import UnitOfWork, unit_of_work
from shared.web import Page, SessionDep

C = TypeVar("C", bound=BaseModel)

# an issue's title is the subject of every mail: one line (a line break would break the header)
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(single_line)
]
LongTitle = Line
Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000), AfterValidator(multi_line)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(single_line)]
Url = Annotated[SafeUrl, StringConstraints(strip_whitespace=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscriptionRequest(Strict):
    email: str = Field(max_length=254, description="validated and normalised; a bad address gets 422")
    first_name: Name | None = None

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return domain.normalise_address(value)
        except Invalid as exc:
            raise ValueError(exc.message) from None


class SubscriberRead(BaseModel):
    id: uuid.UUID
    email: str
    first_name: str | None
    member_id: uuid.UUID | None
    status: str
    source: str
    bounced: bool
    created_at: datetime
    subscribed_at: datetime | None
    unsubscribed_at: datetime | None


class IssueCreate(Strict):
    title: Title
    body: Body = Field(description="Markdown")


class IssueUpdate(Strict):
    title: Title | None = None
    body: Body | None = None


class IssueSchedule(Strict):
    scheduled_at: AwareDatetime = Field(
        description="RFC 3339 with an offset (e.g. 2027-01-05T09:00:00+01:00); in the future, at most a "
        "year ahead"
    )


class IssueRead(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    status: str = Field(description="draft, scheduled, sending, sent or failed")
    created_at: datetime
    created_by: str | None = Field(description="who wrote it; staff and admin only")
    scheduled_at: datetime | None = Field(default=None, description="when the sender sends a scheduled issue")
    scheduled_by: str | None = Field(default=None, description="who scheduled it; staff and admin only")
    schedule_missed_at: datetime | None = Field(
        default=None,
        description="a scheduled sending found no active subscriber at this moment; the issue became a "
        "draft again",
    )
    send_requested_at: datetime | None
    sent_at: datetime | None
    recipients: int | None
    deliveries: dict[str, int] = Field(default_factory=dict, description="per status; 'unconfirmed' too")


class ArticleCreate(Strict):
    title: LongTitle
    magazine: LongTitle = "Lokaal"
    published_on: BusinessDate | None = Field(default=None, description="defaults to today")
    url: Url | None = None


class ArticleRead(BaseModel):
    id: uuid.UUID
    title: str
    magazine: str
    published_on: date
    url: str | None
    created_by: str | None = Field(default=None, description="who recorded it; staff and admin only")


class GoodPracticeCreate(Strict):
    title: LongTitle
    organisation_id: uuid.UUID | None = None
    published_on: BusinessDate | None = Field(default=None, description="defaults to today")
    url: Url


class GoodPracticeRead(BaseModel):
    id: uuid.UUID
    title: str
    organisation_id: uuid.UUID | None
    published_on: date
    url: str
    created_by: str | None = Field(default=None, description="who recorded it; staff and admin only")


# the catalogue's texts travel in events kept forever: one line each (the summary may have lines),
# and never an e-mail address (shared.events refuses them too)
ToolTitle = Annotated[events.ShortText, StringConstraints(strip_whitespace=True), AfterValidator(single_line)]
ToolSummary = Annotated[
    events.ToolSummary, StringConstraints(strip_whitespace=True), AfterValidator(multi_line)
]
ToolVersion = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(single_line)
]


class ToolCreate(Strict):
    title: ToolTitle
    summary: ToolSummary = Field(description="what it helps with")
    audience: ToolTitle = Field(description="for whom, e.g. 'Lokale besturen en digibankvrijwilligers'")
    made_by: events.ToolMaker
    url: Url
    version: ToolVersion
    last_reviewed_on: BusinessDate = Field(description="not in the future")
    next_review_on: BusinessDate = Field(description="after the last review")
    published_on: BusinessDate | None = Field(default=None, description="defaults to today")


class ToolUpdate(Strict):
    title: ToolTitle | None = None
    summary: ToolSummary | None = None
    audience: ToolTitle | None = None
    made_by: events.ToolMaker | None = None
    url: Url | None = None
    version: ToolVersion | None = None
    last_reviewed_on: BusinessDate | None = None
    next_review_on: BusinessDate | None = None


class ToolRetire(Strict):
    retired_on: BusinessDate | None = Field(default=None, description="defaults to today")


class ToolRead(BaseModel):
    id: uuid.UUID
    title: str
    summary: str
    audience: str
    made_by: str
    url: str
    version: str
    last_reviewed_on: date
    next_review_on: date
    published_on: date
    updated_on: date | None
    retired_on: date | None
    review_overdue: bool = Field(description="active, and its next review date has passed")
    created_by: str | None = Field(default=None, description="who entered it; staff and admin only")
    updated_by: str | None = Field(default=None, description="who changed it last; staff and admin only")


def _sender(request: Request) -> Sender:
    sender: Sender = request.app.state.sender
    return sender


SenderDep = Annotated[Sender, Depends(_sender)]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Reader = Annotated[Principal, Depends(require(*READERS))]

router = APIRouter()


StaffWork = Annotated[UnitOfWork, Depends(unit_of_work(*STAFF))]
ArticleWork = Annotated[UnitOfWork, Depends(unit_of_work(*STAFF, conflict=handlers.ARTICLE_CONFLICT))]
PracticeWork = Annotated[UnitOfWork, Depends(unit_of_work(*STAFF, conflict=handlers.PRACTICE_CONFLICT))]
ToolWork = Annotated[UnitOfWork, Depends(unit_of_work(*STAFF, conflict=handlers.TOOL_CONFLICT))]


def who_did(subject: str | None, reader: Principal) -> str | None:
    """Who did it, for staff and admin; nobody else reads staff addresses."""
    return subject if reader.role in STAFF else None


# --- subscribers --------------------------------------------------------------------------------


def _subscriber_read(session: Session, subscriber: Subscriber) -> SubscriberRead:
    bounced = session.get(Bounce, subscriber.email) is not None
    return SubscriberRead.model_validate({**subscriber.model_dump(), "bounced": bounced})


@router.get("/subscribers", tags=["subscribers"])
def list_subscribers(
    session: SessionDep,
    _who: Staff,
    state: Annotated[Literal["pending", "active", "unsubscribed", "bounced", "all"], Query()] = "all",
    q: Annotated[str | None, Query(max_length=254, description="part of an address")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[SubscriberRead]:
    stmt = select(Subscriber)
    if state == "bounced":
        stmt = stmt.where(col(Subscriber.email).in_(select(col(Bounce.email))))
    elif state != "all":
        stmt = stmt.where(col(Subscriber.status) == state)
    if q:
        stmt = stmt.where(col(Subscriber.email).contains(q.lower()))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(col(Subscriber.email)).limit(limit).offset(offset)).scalars()
    bounced = set(session.execute(select(col(Bounce.email))).scalars())
    items = [SubscriberRead.model_validate({**s.model_dump(), "bounced": s.email in bounced}) for s in rows]
    return Page[SubscriberRead](items=items, total=total, limit=limit, offset=offset)


@router.get("/subscribers/{subscriber_id}", tags=["subscribers"])
def get_subscriber(subscriber_id: uuid.UUID, session: SessionDep, _who: Staff) -> SubscriberRead:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    return _subscriber_read(session, subscriber)


@router.post("/subscribers/{subscriber_id}/unsubscribe", tags=["subscribers"])
def staff_unsubscribe(subscriber_id: uuid.UUID, uow: StaffWork) -> SubscriberRead:
    if handlers.unsubscribe(handlers.Unsubscribe(subscriber_id=subscriber_id), uow) is Outcome.UNKNOWN:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    subscriber = uow.session.get(Subscriber, subscriber_id)
    assert subscriber is not None
    return uow.commit(_subscriber_read(uow.session, subscriber))


# Only subscribing is rate limited: it is what makes this service mail an address someone typed in.
# The confirm and unsubscribe links carry a signed token and mail nobody (and a mail provider's
# one-click unsubscribes for many people may come from one address).
@router.post(
    "/subscriptions",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["public"],
    dependencies=[Depends(public_rate_limit)],
)
def request_subscription(body: SubscriptionRequest, request: Request, sender: SenderDep) -> dict[str, str]:
    """Public: ask for the newsletter. A confirmation mail follows (double opt-in); the answer is the
    same whether or not the address was on the list already."""
    _request(request, handlers.RequestSubscription(email=body.email, first_name=body.first_name or None))
    sender.wake()
    return {"status": "confirmation_mail_sent"}


def _public_work(request: Request) -> UnitOfWork:
    runtime = request.app.state.runtime
    return UnitOfWork(Session(runtime.engine, expire_on_commit=False), runtime.outbox, handlers.PUBLIC)


def _request(request: Request, command: handlers.RequestSubscription) -> None:
    uow = _public_work(request)
    # the same address asked twice at the same moment: one request is enough
    with uow.session, suppress(Conflict):
        uow.commit(handlers.request_subscription(command, uow))


# --- issues -------------------------------------------------------------------------------------


def _issue(session: Session, issue_id: uuid.UUID) -> Issue:
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise NotFound(f"no newsletter issue with id {issue_id}")
    return issue


def _issue_read(session: Session, issue: Issue, reader: Principal) -> IssueRead:
    return IssueRead.model_validate(
        {
            **issue.model_dump(),
            "created_by": who_did(issue.created_by, reader),
            "scheduled_by": who_did(issue.scheduled_by, reader),
            "deliveries": pending_in(session, issue.id),
        }
    )


@router.post("/issues", status_code=status.HTTP_201_CREATED, tags=["issues"])
def create_issue(body: IssueCreate, uow: StaffWork) -> IssueRead:
    issue = handlers.create_issue(handlers.CreateIssue(title=body.title, body=body.body), uow)
    return uow.commit(_issue_read(uow.session, issue, uow.actor))


@router.patch("/issues/{issue_id}", tags=["issues"])
def update_issue(issue_id: uuid.UUID, body: IssueUpdate, uow: StaffWork) -> IssueRead:
    changes = body.model_dump(exclude_unset=True)
    command = handlers.UpdateIssue(issue_id=issue_id, given=frozenset(changes), **changes)
    return uow.commit(_issue_read(uow.session, handlers.update_issue(command, uow), uow.actor))


@router.get("/issues", tags=["issues"])
def list_issues(
    session: SessionDep,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[IssueRead]:
    total = session.execute(select(func.count()).select_from(Issue)).scalar_one()
    rows = session.execute(
        select(Issue).order_by(col(Issue.created_at).desc()).limit(limit).offset(offset)
    ).scalars()
    return Page[IssueRead](
        items=[_issue_read(session, i, who) for i in rows], total=total, limit=limit, offset=offset
    )


@router.get("/issues/{issue_id}", tags=["issues"])
def get_issue(issue_id: uuid.UUID, session: SessionDep, who: Reader) -> IssueRead:
    return _issue_read(session, _issue(session, issue_id), who)


@router.get(
    "/issues/{issue_id}/preview",
    tags=["issues"],
    response_class=HTMLResponse,
    response_model=None,
    # ?format=text answers the plain-text part of the mail
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def preview_issue(
    issue_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    _who: Reader,
    format: Literal["html", "text"] = "html",
) -> HTMLResponse | PlainTextResponse:
    issue = _issue(session, issue_id)
    if format == "text":
        return PlainTextResponse(mail.preview_text(issue.title, issue.body))
    config: mail.MailConfig = request.app.state.mail_config
    return HTMLResponse(mail.preview_html(config, issue.title, issue.body))


@router.post("/issues/{issue_id}/send", status_code=status.HTTP_202_ACCEPTED, tags=["issues"])
def send_issue(issue_id: uuid.UUID, uow: StaffWork, sender: SenderDep) -> IssueRead:
    """Queue the issue for every active subscriber whose address did not bounce; the sender mails
    them in the background. `newsletter.sent` follows when every delivery is settled."""
    issue = handlers.send_issue(handlers.SendIssue(issue_id=issue_id), uow)
    answer = uow.commit(_issue_read(uow.session, issue, uow.actor))
    sender.wake()
    return answer


@router.post("/issues/{issue_id}/schedule", tags=["issues"])
def schedule_issue(issue_id: uuid.UUID, body: IssueSchedule, uow: StaffWork) -> IssueRead:
    """Send a draft at a moment of your choice: the sender queues it then, as `send` does, once (also
    with two instances of this service, or after a restart). It cannot change while scheduled."""
    command = handlers.ScheduleIssue(issue_id=issue_id, scheduled_at=body.scheduled_at)
    return uow.commit(_issue_read(uow.session, handlers.schedule_issue(command, uow), uow.actor))


@router.post("/issues/{issue_id}/unschedule", tags=["issues"])
def unschedule_issue(issue_id: uuid.UUID, uow: StaffWork) -> IssueRead:
    """A scheduled issue becomes a draft again; 409 once the sender has taken it."""
    command = handlers.UnscheduleIssue(issue_id=issue_id)
    return uow.commit(_issue_read(uow.session, handlers.unschedule_issue(command, uow), uow.actor))


@router.get("/mail/status", tags=["mail"])
def mail_status(request: Request, sender: SenderDep, _who: Staff) -> dict[str, Any]:
    """The SMTP server as the sender last found it, the mail queue per status, and the failed mails
    grouped by reason."""
    return {
        "smtp": {"reachable": sender.smtp_ok, "last_error": sender.last_error},
        **sender.queue.counts(),
        "failures": sender.queue.failures(),
    }


# --- communications log -------------------------------------------------------------------------


@router.post("/articles", status_code=status.HTTP_201_CREATED, tags=["communications"])
def record_article(body: ArticleCreate, uow: ArticleWork) -> ArticleRead:
    article = handlers.record_article(handlers.RecordArticle(**body.model_dump()), uow)
    return uow.commit(_article_read(article, uow.actor))


def _article_read(article: Article, reader: Principal) -> ArticleRead:
    return ArticleRead.model_validate(
        {**article.model_dump(), "created_by": who_did(article.created_by, reader)}
    )


@router.get("/articles", tags=["communications"])
def list_articles(
    session: SessionDep,
    who: Reader,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    magazine: Annotated[str | None, Query(max_length=200)] = None,
) -> list[ArticleRead]:
    stmt = select(Article)
    if year is not None:
        stmt = stmt.where(col(Article.published_on).between(date(year, 1, 1), date(year, 12, 31)))
    if magazine:
        stmt = stmt.where(col(Article.magazine) == magazine)
    rows = session.execute(stmt.order_by(col(Article.published_on))).scalars()
    return [_article_read(a, who) for a in rows]


@router.post("/good-practices", status_code=status.HTTP_201_CREATED, tags=["communications"])
def record_good_practice(body: GoodPracticeCreate, uow: PracticeWork) -> GoodPracticeRead:
    practice = handlers.record_good_practice(handlers.RecordGoodPractice(**body.model_dump()), uow)
    return uow.commit(_practice_read(practice, uow.actor))


def _practice_read(practice: GoodPractice, reader: Principal) -> GoodPracticeRead:
    return GoodPracticeRead.model_validate(
        {**practice.model_dump(), "created_by": who_did(practice.created_by, reader)}
    )


@router.get("/good-practices", tags=["communications"])
def list_good_practices(
    session: SessionDep,
    who: Reader,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[GoodPracticeRead]:
    stmt = select(GoodPractice)
    if year is not None:
        stmt = stmt.where(col(GoodPractice.published_on).between(date(year, 1, 1), date(year, 12, 31)))
    rows = session.execute(stmt.order_by(col(GoodPractice.published_on))).scalars()
    return [_practice_read(p, who) for p in rows]


# --- tools and handbooks catalogue (OD 3.1) -------------------------------------------------------


def _tool_read(tool: Tool, reader: Principal) -> ToolRead:
    overdue = tool.retired_on is None and tool.next_review_on < domain.today()
    return ToolRead.model_validate(
        {
            **tool.model_dump(),
            "review_overdue": overdue,
            "created_by": who_did(tool.created_by, reader),
            "updated_by": who_did(tool.updated_by, reader),
        }
    )


@router.post("/tools", status_code=status.HTTP_201_CREATED, tags=["tools"])
def publish_tool(body: ToolCreate, uow: ToolWork) -> ToolRead:
    """A tool or handbook enters the catalogue (`tool.published`); the same link twice is a 409."""
    entry = handlers.publish_tool(handlers.PublishTool(**body.model_dump()), uow)
    return uow.commit(_tool_read(entry, uow.actor))


@router.patch("/tools/{tool_id}", tags=["tools"])
def update_tool(tool_id: uuid.UUID, body: ToolUpdate, uow: ToolWork) -> ToolRead:
    """The fields given change (`tool.updated`, with the whole entry); a retired tool is a 409."""
    command = handlers.UpdateTool(tool_id=tool_id, **body.model_dump(exclude_unset=True))
    return uow.commit(_tool_read(handlers.update_tool(command, uow), uow.actor))


@router.post("/tools/{tool_id}/retire", tags=["tools"])
def retire_tool(tool_id: uuid.UUID, body: ToolRetire, uow: ToolWork) -> ToolRead:
    """The tool leaves the catalogue (`tool.retired`): no longer on the public page nor in surveys."""
    command = handlers.RetireTool(tool_id=tool_id, retired_on=body.retired_on)
    return uow.commit(_tool_read(handlers.retire_tool(command, uow), uow.actor))


@router.get("/tools", tags=["tools"])
def list_tools(
    session: SessionDep,
    who: Reader,
    state: Annotated[Literal["active", "retired", "all"], Query()] = "active",
    made_by: Annotated[events.ToolMaker | None, Query()] = None,
    review_overdue: Annotated[bool | None, Query(description="only those (not) past their review")] = None,
) -> list[ToolRead]:
    stmt = select(Tool)
    if state == "active":
        stmt = stmt.where(col(Tool.retired_on).is_(None))
    elif state == "retired":
        stmt = stmt.where(col(Tool.retired_on).is_not(None))
    if made_by is not None:
        stmt = stmt.where(col(Tool.made_by) == made_by)
    rows = session.execute(stmt.order_by(col(Tool.title), col(Tool.id))).scalars()
    found = [_tool_read(t, who) for t in rows]
    if review_overdue is not None:
        found = [t for t in found if t.review_overdue is review_overdue]
    return found


@router.get("/tools/{tool_id}", tags=["tools"])
def get_tool(tool_id: uuid.UUID, session: SessionDep, who: Reader) -> ToolRead:
    return _tool_read(handlers.tool(session, tool_id), who)


# --- public pages -------------------------------------------------------------------------------

public = APIRouter(tags=["public pages"], include_in_schema=False)


def _html(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})


async def _form(request: Request) -> dict[str, str]:
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _subscriber_id(
    request: Request, purpose: Literal["newsletter-confirm", "newsletter-unsubscribe"], token: str
) -> uuid.UUID | None:
    secret: str = request.app.state.settings.link_secret.get_secret_value()
    if not token.isascii():  # read_token's compare_digest raises TypeError on non-ASCII text
        return None
    try:
        return uuid.UUID(read_token(secret, purpose, token))
    except (BadLink, ValueError):
        return None


@public.get("/nieuwsbrief")
def subscribe_page() -> HTMLResponse:
    return _html(pages.subscribe_form())


@public.post("/nieuwsbrief", dependencies=[Depends(public_rate_limit)])
async def subscribe_submit(request: Request) -> HTMLResponse:
    form = await _form(request)
    raw_email, first_name = form.get("email", "").strip(), form.get("first_name", "").strip()[:100]
    try:
        single_line(first_name)
    except ValueError:  # it would greet the person in every mail: no control characters in it
        return _html(pages.subscribe_form(raw_email[:254], "", name_error=pages.ERROR_NAME), 422)
    if not raw_email:
        return _html(pages.subscribe_form(raw_email, first_name, pages.ERROR_EMPTY), 422)
    try:
        email = domain.normalise_address(raw_email)
    except Invalid:
        return _html(pages.subscribe_form(raw_email[:254], first_name, pages.ERROR_INVALID), 422)
    if form.get("website"):  # the hidden field only robots fill in
        return _html(pages.check_your_mail(email))

    command = handlers.RequestSubscription(email=email, first_name=first_name or None)
    await run_in_threadpool(_request, request, command)
    request.app.state.sender.wake()
    return _html(pages.check_your_mail(email))


@public.get("/nieuwsbrief/bevestigen/{token}")
def confirm_page(request: Request, token: str) -> HTMLResponse:
    if _subscriber_id(request, "newsletter-confirm", token) is None:
        return _html(pages.bad_link(), 404)
    # a button, not an action on GET: mail scanners open links, people press buttons
    return _html(pages.confirm_prompt(f"/nieuwsbrief/bevestigen/{token}"))


@public.post("/nieuwsbrief/bevestigen/{token}")
async def confirm_submit(request: Request, token: str) -> HTMLResponse:
    subscriber_id = _subscriber_id(request, "newsletter-confirm", token)
    if subscriber_id is None:
        return _html(pages.bad_link(), 404)
    command = handlers.ConfirmSubscription(subscriber_id=subscriber_id)
    outcome = await run_in_threadpool(_public, request, handlers.confirm_subscription, command)
    subscribe_url = request.app.state.mail_config.subscribe_url()
    if outcome is Outcome.UNKNOWN:
        return _html(pages.bad_link(), 404)
    if outcome is Outcome.NO_LONGER_VALID:
        return _html(pages.confirm_no_longer_valid(subscribe_url), 410)
    return _html(pages.confirmed(already=outcome is Outcome.ALREADY))


@public.get("/nieuwsbrief/uitschrijven/{token}")
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    if _subscriber_id(request, "newsletter-unsubscribe", token) is None:
        return _html(pages.bad_link(), 404)
    return _html(pages.unsubscribe_prompt(f"/nieuwsbrief/uitschrijven/{token}"))


@public.post("/nieuwsbrief/uitschrijven/{token}")
async def unsubscribe_submit(request: Request, token: str) -> HTMLResponse:
    """The page's button and the mail client's one-click POST (RFC 8058,
    body `List-Unsubscribe=One-Click`) both land here."""
    subscriber_id = _subscriber_id(request, "newsletter-unsubscribe", token)
    if subscriber_id is None:
        return _html(pages.bad_link(), 404)
    command = handlers.Unsubscribe(subscriber_id=subscriber_id)
    await run_in_threadpool(_public, request, handlers.unsubscribe, command)
    # an unknown (erased) subscriber is not on the list either: the same answer
    return _html(pages.unsubscribed(request.app.state.mail_config.subscribe_url()))


def _public(request: Request, handler: Callable[[C, UnitOfWork], Outcome], command: C) -> Outcome:
    """A public page's command, in a unit of work of its own."""
    uow = _public_work(request)
    with uow.session:
        return uow.commit(handler(command, uow))
