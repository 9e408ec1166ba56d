"""OD 1.3 communications: newsletters sent, articles in the magazine Lokaal and good practices on the
website — the read models, how `communications.events` fill them, and the three overview KPIs. The
same topic's tools and handbooks catalogue (OD 3.1) is services.kpi.tools, registered here with them.

Each fact is stored once per issue, article or practice (the first event wins; a republished event
with a new CloudEvents id changes nothing) with its business date, so any `as_of` can be asked."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import cache

from sqlalchemy import Executable, select
from sqlmodel import Field, SQLModel

from services.kpi import tools
from services.kpi.core import BRUSSELS, Computed, Context, Handler, within
from services.kpi.membership import organisations
from services.kpi.store import ReadModels
from shared import events

LOKAAL = "lokaal"  # the magazine OD1.3-artikels counts, compared case- and space-insensitively


class KpiNewsletterSent(SQLModel, table=True):
    __tablename__ = "kpi_newsletters_sent"

    issue_id: uuid.UUID = Field(primary_key=True)
    event_id: str = Field(max_length=200)
    title: str = Field(max_length=500)
    sent_at: datetime
    sent_on: date = Field(index=True)  # Europe/Brussels date of sent_at: decides the year
    recipients: int


class KpiArticle(SQLModel, table=True):
    __tablename__ = "kpi_articles"

    article_id: uuid.UUID = Field(primary_key=True)
    event_id: str = Field(max_length=200)
    title: str = Field(max_length=500)
    magazine: str = Field(max_length=500)
    published_on: date = Field(index=True)
    url: str | None = Field(default=None, max_length=2000)


class KpiGoodPractice(SQLModel, table=True):
    __tablename__ = "kpi_good_practices"

    practice_id: uuid.UUID = Field(primary_key=True)
    event_id: str = Field(max_length=200)
    title: str = Field(max_length=500)
    organisation_id: uuid.UUID | None = None
    published_on: date = Field(index=True)
    url: str = Field(max_length=2000)


TABLES = (KpiNewsletterSent, KpiArticle, KpiGoodPractice, *tools.TABLES)


# --- projection ---------------------------------------------------------------------------------


def _newsletter_sent(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.NewsletterSent)
    if store.get(KpiNewsletterSent, data.issue_id) is not None:
        return
    store.add(
        store.new(
            KpiNewsletterSent,
            issue_id=data.issue_id,
            event_id=event.id,
            title=data.title,
            sent_at=data.sent_at,
            sent_on=data.sent_at.astimezone(BRUSSELS).date(),
            recipients=data.recipients,
        )
    )


def _article(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.ArticlePublished)
    if store.get(KpiArticle, data.article_id) is not None:
        return
    store.add(
        store.new(
            KpiArticle,
            article_id=data.article_id,
            event_id=event.id,
            title=data.title,
            magazine=data.magazine,
            published_on=data.published_on,
            url=data.url,
        )
    )


def _good_practice(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.GoodPracticePublished)
    if store.get(KpiGoodPractice, data.practice_id) is not None:
        return
    store.add(
        store.new(
            KpiGoodPractice,
            practice_id=data.practice_id,
            event_id=event.id,
            title=data.title,
            organisation_id=data.organisation_id,
            published_on=data.published_on,
            url=data.url,
        )
    )


HANDLERS: dict[type[events.EventData], Handler] = {
    events.NewsletterSent: _newsletter_sent,
    events.ArticlePublished: _article,
    events.GoodPracticePublished: _good_practice,
    **tools.HANDLERS,
}

# The rows these handlers look up, and the events that name them (by the key's field, or by their own
# id for an `event_id` key): the projection preloads them per batch.
LOOKUPS: dict[type[SQLModel], tuple[type[events.EventData], ...]] = {
    KpiNewsletterSent: (events.NewsletterSent,),
    KpiArticle: (events.ArticlePublished,),
    KpiGoodPractice: (events.GoodPracticePublished,),
    **tools.LOOKUPS,
}


# --- queries ------------------------------------------------------------------------------------


@cache
def _published_in_period(model: type[SQLModel], column: str) -> Executable:
    """The rows of `model` whose date `column` is in the period (parameters: `Context.bounds`)."""
    return select(model).where(within(getattr(model, column)))


def newsletters(ctx: Context) -> Computed:
    """OD1.3-nieuwsbrieven: `newsletter.sent` in the year (up to D); items: each issue."""
    rows = ctx.session.execute(_published_in_period(KpiNewsletterSent, "sent_on"), ctx.bounds).scalars()
    items = [
        {
            "title": r.title,
            "date": r.sent_on.isoformat(),
            "recipients": r.recipients,
            "issue_id": str(r.issue_id),
        }
        for r in sorted(rows, key=lambda r: (r.sent_on, r.title, str(r.issue_id)))
    ]
    return Computed(len(items), items)


def articles(ctx: Context) -> Computed:
    """OD1.3-artikels: `article.published` in the year with magazine Lokaal; items: each article."""
    rows = ctx.session.execute(_published_in_period(KpiArticle, "published_on"), ctx.bounds).scalars()
    items = [
        {
            "title": r.title,
            "date": r.published_on.isoformat(),
            "magazine": r.magazine,
            "link": r.url,
            "article_id": str(r.article_id),
        }
        for r in sorted(rows, key=lambda r: (r.published_on, r.title, str(r.article_id)))
        if r.magazine.strip().casefold() == LOKAAL
    ]
    return Computed(len(items), items)


def good_practices(ctx: Context) -> Computed:
    """OD1.3-goede-praktijken: `good_practice.published` in the year; items: each practice, with the
    organisation's name where the membership read model knows it."""
    rows = ctx.session.scalars(_published_in_period(KpiGoodPractice, "published_on"), ctx.bounds).all()
    known = organisations(ctx, [r.organisation_id for r in rows])
    items = []
    for r in sorted(rows, key=lambda r: (r.published_on, r.title, str(r.practice_id))):
        organisation = known.get(r.organisation_id) if r.organisation_id else None
        items.append(
            {
                "title": r.title,
                "date": r.published_on.isoformat(),
                "organisation": organisation.name if organisation else None,
                "organisation_id": str(r.organisation_id) if r.organisation_id else None,
                "link": r.url,
                "practice_id": str(r.practice_id),
            }
        )
    return Computed(len(items), items)


KPIS = {
    "OD1.3-goede-praktijken": good_practices,
    "OD1.3-nieuwsbrieven": newsletters,
    "OD1.3-artikels": articles,
    **tools.KPIS,
}
