"""The public catalogue of tools and handbooks (OD 3.1), without signing in: /hulpmiddelen lists every
tool VVSG and Mediawijs develop or disclose that is not retired, filtered by audience (`voor`) and maker
(`door`) and searchable (`zoek`: every word must occur in the title, the summary or the audience).

HTML from an autoescaping template (templates/tools), in Dutch, with its CSS inline: no script, nothing
from elsewhere (the app factory sets the Content-Security-Policy and the other security headers on
every answer). Only what the catalogue's events publish is shown: no personal data, no staff ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlmodel import Session, col

from services.newsletter import public
from services.newsletter.tables import Tool
from shared.clock import business_today
from shared.limits import public_rate_limit
from shared.pages import page_templates, render_page
from shared.text import day_words
from shared.web import SessionDep

# public: no login, so every client address gets a limited number of requests a minute
router = APIRouter(include_in_schema=False, dependencies=[Depends(public_rate_limit)])

templates = page_templates(Path(__file__).parent / "templates")

PAGE_HEADERS = {"Cache-Control": "no-cache"}
SEARCH_MAX = 100  # characters of `zoek` looked for
SEARCH_WORDS = 8  # words of `zoek`, each of which must match
CHOICE_MAX = 500  # an audience in the filter (as long as the catalogue allows)

# --- what people read (nl-BE) ---------------------------------------------------------------------

SITE = "VVSG – digitale inclusie"
TITLE = "Hulpmiddelen en handboeken"
DESCRIPTION = (
    "Tools en handleidingen over digitale inclusie voor lokale besturen, ontwikkeld of ontsloten door "
    "VVSG en Mediawijs."
)
MAKERS = {
    "vvsg": "VVSG",
    "mediawijs": "Mediawijs",
    "together": "VVSG en Mediawijs samen",
    "other": "Andere organisaties",
}


@dataclass(frozen=True)
class PublicTool:
    """A catalogue entry as the page shows it."""

    id: str
    title: str
    summary: str
    audience: str
    made_by: str
    maker_words: str
    url: str
    version: str
    last_reviewed_words: str
    last_reviewed_on: str


def _bounded(value: str | None, limit: int) -> str:
    """One line of printable text, at most `limit` characters: what a filter or search may hold."""
    text = "".join(c if c.isprintable() else " " for c in (value or ""))
    return " ".join(text.split())[:limit]


def _shown(tool: Tool) -> PublicTool:
    return PublicTool(
        id=str(tool.id),
        title=tool.title,
        summary=tool.summary,
        audience=tool.audience,
        made_by=tool.made_by,
        maker_words=MAKERS.get(tool.made_by, tool.made_by),
        url=tool.url,
        version=tool.version,
        last_reviewed_words=day_words(tool.last_reviewed_on),
        last_reviewed_on=tool.last_reviewed_on.isoformat(),
    )


def catalogue(session: Session, today: date) -> list[Tool]:
    """The tools the public may see on `today`: published by then and not retired (a tool retired on a
    later day is still shown until that day)."""
    retired = col(Tool.retired_on)
    stmt = (
        select(Tool)
        .where(col(Tool.published_on) <= today, retired.is_(None) | (retired > today))
        .order_by(col(Tool.title), col(Tool.id))
    )
    return list(session.execute(stmt).scalars())


def matches(tool: Tool, words: list[str]) -> bool:
    text = f"{tool.title}\n{tool.summary}\n{tool.audience}".casefold()
    return all(word in text for word in words)


@router.get("/hulpmiddelen")
def tools_page(
    request: Request,
    db: SessionDep,
    zoek: Annotated[str | None, Query(max_length=1000)] = None,
    voor: Annotated[str | None, Query(max_length=1000)] = None,
    door: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    search = _bounded(zoek, SEARCH_MAX)
    audience = _bounded(voor, CHOICE_MAX)
    maker = door if door in MAKERS else ""
    everything = catalogue(db, business_today())
    words = search.casefold().split()[:SEARCH_WORDS]
    found = [
        _shown(t)
        for t in everything
        if audience in ("", t.audience) and maker in ("", t.made_by) and matches(t, words)
    ]
    audiences = sorted({t.audience for t in everything}, key=str.casefold)
    html = render_page(
        templates,
        "tools/hulpmiddelen.html",
        site=SITE,
        title=TITLE,
        description=DESCRIPTION,
        section="hulpmiddelen",
        nav=public.nav(request),
        tools=found,
        total=len(everything),
        search=search,
        audience=audience,
        audiences=audiences,
        maker=maker,
        makers=MAKERS,
        filtered=bool(search or audience or maker),
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)
