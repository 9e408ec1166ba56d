"""The communications log as the public reads it, without signing in: the overview of good practices
(/goede-praktijken) and the articles in Lokaal and other magazines (/artikels), newest first,
searchable (`q`), per year, paged, each with an Atom feed (/goede-praktijken.atom, /artikels.atom).

What is listed is exactly what the communications log holds up to today (Brussels): one row per
`good_practice.published` or `article.published` event, the same events KPI OD1.3 counts (a practice
or an article dated later appears on its day, when the KPI starts counting it too).

HTML from autoescaping templates (templates/public), in Dutch, with its CSS inline: no script, nothing
from elsewhere (the app factory sets the Content-Security-Policy and the other security headers on
every answer). The pages extend the public site's shared frame (shared/templates/public/base.html,
shared.pages), as the events service's agenda and this service's tools page do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import extract, func, or_, select
from sqlalchemy.sql import Select
from sqlmodel import Session, col

from services.newsletter.tables import Article, GoodPractice
from shared.clock import BRUSSELS, business_today
from shared.limits import public_rate_limit
from shared.pages import page_templates, render_page
from shared.text import day_words
from shared.web import SessionDep

# public: no login, so every client address gets a limited number of requests a minute
router = APIRouter(include_in_schema=False, dependencies=[Depends(public_rate_limit)])

templates = page_templates(Path(__file__).parent / "templates")

PAGE_HEADERS = {"Cache-Control": "no-cache"}
FEED_HEADERS = {"Cache-Control": "public, max-age=300"}
ATOM = "application/atom+xml; charset=utf-8"
PAGE_SIZE = 20
FEED_SIZE = 50
SEARCH_MAX = 100  # characters of `q` looked for; the rest is dropped, and the page says so
SEARCH_WORDS = 8  # words of `q`, each of which must match
CHOICE_MAX = 200  # a magazine's name in the filter

# --- what people read (nl-BE), kept together for review and translation ----------------------------

SITE = "VVSG – digitale inclusie"
T = {
    "practices": "Goede praktijken",
    "practices_description": "Goede praktijken over digitale inclusie uit steden, gemeenten en OCMW's: "
    "hoe lokale besturen digitale drempels wegwerken.",
    "articles": "Artikels",
    "articles_description": "Artikels over digitale inclusie in Lokaal, het magazine van VVSG, en in "
    "andere tijdschriften.",
    "search_cut": "Je zoekopdracht was langer dan {max} tekens: we zochten op het begin ervan.",
}

# C0 and C1 control characters except tab and newline: older rows or a fix by hand may hold them, and
# XML may not carry them
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WEB_LINK = re.compile(r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$")
_YEAR = re.compile(r"^[0-9]{4}$")


def clean(text: str | None) -> str:
    """Stored or typed text as it may be shown or written into a feed: no control characters."""
    if not text:
        return ""
    return _CONTROL.sub("", text.replace("\r\n", " ").replace("\r", " ").replace("\n", " "))


def web_link(url: str | None) -> str | None:
    """An http(s) address to link to, or None: nothing else (javascript:, data:) becomes an href."""
    return url if url and _WEB_LINK.match(url) else None


# --- what a listing shows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A practice or an article as the public sees it."""

    id: str
    title: str
    published_on: date
    url: str | None
    magazine: str | None
    created_at: datetime

    @property
    def date_words(self) -> str:
        return day_words(self.published_on)

    @property
    def iso_date(self) -> str:
        return self.published_on.isoformat()

    @property
    def updated(self) -> str:
        """Atom's <updated>: when it was recorded (a later correction would change this)."""
        return atom_time(self.created_at)

    @property
    def published(self) -> str:
        """Atom's <published>: the day it appeared, from midnight in Brussels (with its offset)."""
        return datetime.combine(self.published_on, time(0), BRUSSELS).isoformat()


def atom_time(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _practice(row: GoodPractice) -> Item:
    return Item(str(row.id), clean(row.title), row.published_on, web_link(row.url), None, row.created_at)


def _article(row: Article) -> Item:
    return Item(
        str(row.id),
        clean(row.title),
        row.published_on,
        web_link(row.url),
        clean(row.magazine),
        row.created_at,
    )


@dataclass(frozen=True)
class Search:
    """A listing's query string, read leniently: a public page answers every address with a page."""

    text: str  # what was looked for (cut to SEARCH_MAX)
    cut: bool  # the query was longer than SEARCH_MAX
    year: int | None
    magazine: str
    page: int

    @property
    def words(self) -> list[str]:
        return self.text.split()[:SEARCH_WORDS]

    def query(self, page: int | None = None, **changes: str) -> str:
        """The query string of this search, on another page: for the links of the pager."""
        values = {"q": self.text, "jaar": str(self.year or ""), "tijdschrift": self.magazine, **changes}
        if page and page > 1:
            values["pagina"] = str(page)
        return urlencode({k: v for k, v in values.items() if v})


def read_search(q: str | None, jaar: str | None, tijdschrift: str | None, pagina: str | None) -> Search:
    text = " ".join(clean(q).split())
    year = int(jaar) if jaar and _YEAR.match(jaar) else None
    page = int(pagina) if pagina and pagina.isascii() and pagina.isdigit() and len(pagina) <= 6 else 1
    return Search(
        text=text[:SEARCH_MAX].strip(),
        cut=len(text) > SEARCH_MAX,
        year=year,
        magazine=clean(tijdschrift).strip()[:CHOICE_MAX],
        page=max(1, page),
    )


@dataclass(frozen=True)
class Listing:
    rows: list[Any]  # the page's table rows
    total: int
    page: int
    pages: int
    years: list[int]


def _listing(db: Session, stmt: Select[Any], date_column: Any, order: list[Any], search: Search) -> Listing:
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(search.page, pages)
    rows = db.execute(stmt.order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).scalars()
    years = db.execute(
        select(extract("year", date_column).label("y"))
        .where(date_column <= business_today())
        .distinct()
        .order_by(extract("year", date_column).desc())
    ).scalars()
    return Listing(list(rows), total, page, pages, [int(y) for y in years])


def _in_year(column: Any, year: int | None) -> Any:
    if year is None:
        return column <= business_today()
    return column.between(date(year, 1, 1), min(date(year, 12, 31), business_today()))


def practices(db: Session, search: Search) -> tuple[Listing, list[Item]]:
    published_on = col(GoodPractice.published_on)
    stmt = select(GoodPractice).where(_in_year(published_on, search.year))
    for word in search.words:
        stmt = stmt.where(col(GoodPractice.title).icontains(word, autoescape=True))
    order = [published_on.desc(), col(GoodPractice.created_at).desc(), col(GoodPractice.id)]
    listing = _listing(db, stmt, published_on, order, search)
    return listing, [_practice(r) for r in listing.rows]


def articles(db: Session, search: Search) -> tuple[Listing, list[Item]]:
    published_on = col(Article.published_on)
    stmt = select(Article).where(_in_year(published_on, search.year))
    if search.magazine:
        stmt = stmt.where(func.lower(col(Article.magazine)) == search.magazine.lower())
    for word in search.words:
        stmt = stmt.where(
            or_(
                col(Article.title).icontains(word, autoescape=True),
                col(Article.magazine).icontains(word, autoescape=True),
            )
        )
    order = [published_on.desc(), col(Article.created_at).desc(), col(Article.id)]
    listing = _listing(db, stmt, published_on, order, search)
    return listing, [_article(r) for r in listing.rows]


def magazines(db: Session) -> list[str]:
    rows = db.execute(
        select(col(Article.magazine)).where(col(Article.published_on) <= business_today()).distinct()
    ).scalars()
    return sorted({clean(m).strip() for m in rows if clean(m).strip()}, key=str.casefold)


# --- pages --------------------------------------------------------------------------------------------


def base_url(request: Request) -> str:
    """Where people reach these pages: the configured public address, else the one asked for."""
    settings = request.app.state.settings
    configured = settings.public_base_url or getattr(settings, "newsletter_public_url", "")
    return str(configured or request.base_url).rstrip("/")


def nav(request: Request) -> list[tuple[str, str, str]]:
    """The public pages this service has: (path, words, section). The tools catalogue joins once its
    route exists."""
    known = {getattr(r, "path", "") for r in request.app.routes}
    nav = [
        ("/goede-praktijken", "Goede praktijken", "praktijken"),
        ("/artikels", "Artikels", "artikels"),
    ]
    if "/hulpmiddelen" in known:
        nav.append(("/hulpmiddelen", "Hulpmiddelen", "hulpmiddelen"))
    nav.append(("/nieuwsbrief", "Nieuwsbrief", "nieuwsbrief"))
    return nav


def render(request: Request, name: str, title: str, section: str, **context: Any) -> HTMLResponse:
    """A page in the public site's shared frame; `feed` and `feed_title`, when given, are the page's
    Atom feed, announced in the head and offered in the footer."""
    feed, feed_title = context.pop("feed", ""), context.pop("feed_title", "")
    html = render_page(
        templates,
        f"public/{name}",
        site=SITE,
        title=title,
        section=section,
        nav=nav(request),
        feeds=[(feed, "application/atom+xml", feed_title)] if feed else [],
        follow=[(feed, feed_title)] if feed else [],
        follow_intro="Volg nieuwe publicaties in je feedlezer:",
        **context,
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)


def _feed(request: Request, path: str, title: str, subtitle: str, items: list[Item], kind: str) -> Response:
    base = base_url(request)
    latest = max((i.created_at for i in items), default=datetime(2021, 1, 1, tzinfo=UTC))
    body = templates.get_template("public/feed.atom.xml").render(
        site=SITE,
        base=base,
        path=path,
        title=title,
        subtitle=subtitle,
        updated=atom_time(latest),
        items=items,
        kind=kind,
    )
    return Response(body, media_type=ATOM, headers=FEED_HEADERS)


@router.get("/goede-praktijken")
def practices_page(
    request: Request,
    db: SessionDep,
    q: str | None = None,
    jaar: str | None = None,
    pagina: str | None = None,
) -> HTMLResponse:
    search = read_search(q, jaar, None, pagina)
    listing, items = practices(db, search)
    return render(
        request,
        "practices.html",
        T["practices"],
        "praktijken",
        items=items,
        listing=listing,
        search=search,
        notice=T["search_cut"].format(max=SEARCH_MAX) if search.cut else "",
        description=T["practices_description"],
        canonical=f"{base_url(request)}/goede-praktijken",
        feed="/goede-praktijken.atom",
        feed_title="Goede praktijken digitale inclusie (Atom)",
        path="/goede-praktijken",
    )


@router.get("/goede-praktijken.atom")
def practices_feed(request: Request, db: SessionDep) -> Response:
    """The newest good practices as an Atom feed (RFC 4287); an entry's id is the practice's."""
    rows = db.execute(
        select(GoodPractice)
        .where(col(GoodPractice.published_on) <= business_today())
        .order_by(col(GoodPractice.published_on).desc(), col(GoodPractice.created_at).desc())
        .limit(FEED_SIZE)
    ).scalars()
    items = [_practice(r) for r in rows]
    return _feed(
        request,
        "/goede-praktijken",
        "goede praktijken",
        "Goede praktijken over digitale inclusie uit lokale besturen",
        items,
        "Goede praktijk",
    )


@router.get("/artikels")
def articles_page(
    request: Request,
    db: SessionDep,
    q: str | None = None,
    jaar: str | None = None,
    tijdschrift: str | None = None,
    pagina: str | None = None,
) -> HTMLResponse:
    search = read_search(q, jaar, tijdschrift, pagina)
    listing, items = articles(db, search)
    return render(
        request,
        "articles.html",
        T["articles"],
        "artikels",
        items=items,
        listing=listing,
        search=search,
        magazines=magazines(db),
        notice=T["search_cut"].format(max=SEARCH_MAX) if search.cut else "",
        description=T["articles_description"],
        canonical=f"{base_url(request)}/artikels",
        feed="/artikels.atom",
        feed_title="Artikels over digitale inclusie (Atom)",
        path="/artikels",
    )


@router.get("/artikels.atom")
def articles_feed(request: Request, db: SessionDep) -> Response:
    """The newest articles as an Atom feed (RFC 4287), each with its magazine as category."""
    rows = db.execute(
        select(Article)
        .where(col(Article.published_on) <= business_today())
        .order_by(col(Article.published_on).desc(), col(Article.created_at).desc())
        .limit(FEED_SIZE)
    ).scalars()
    items = [_article(r) for r in rows]
    return _feed(
        request,
        "/artikels",
        "artikels",
        "Artikels over digitale inclusie in Lokaal en andere tijdschriften",
        items,
        "Artikel",
    )
