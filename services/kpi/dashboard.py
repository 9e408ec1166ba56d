"""`GET /dashboard`: one self-contained page (no CDN, no web fonts, inline SVG charts) in Dutch.

The page holds no data: it is public, asks once for a viewer token (kept in the browser's
localStorage) and reads the API with it. The figures come from `GET /kpis/{year}/stream` (Server-Sent
Events: every KPI when it opens, then only the KPIs a batch changed, updated in place); EventSource
cannot send the token, so the page first trades it for a ticket of 60 s (`POST /kpis/stream-tickets`)
and opens the stream with that — the long-lived token never goes in a URL. The charts and the
differences with a frozen report come from `/kpis/{year}/series` and `/kpis/{year}/differences`, read
when the stream opens and a moment after changes. So the page can be cached, bookmarked and opened on
a phone, and access stays with the same tokens as the API."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.kpi import nl
from shared import security

router = APIRouter()
PAGE = Path(__file__).parent / "static" / "dashboard.html"


@cache
def security_headers() -> dict[str, str]:
    """The page loads nothing from elsewhere and runs only its own script (allowed by its hash); its
    fetches and its EventSource go to this service only (connect-src 'self'). The other security
    headers come from shared.security for every page."""
    policy = security.content_security_policy(
        script_src=security.inline_script_hashes(page()),
        connect_src="'self'",
        img_src="'self' data: blob:",
        form_action="'none'",
    )
    return {"Content-Security-Policy": policy, "Cache-Control": "no-cache"}


def config() -> dict[str, object]:
    return {
        "goals": [
            {
                "key": goal.key,
                "heading": goal.heading,
                "title": goal.title if goal.title != goal.heading else "",
                "prefixes": [o.codes_prefix for o in goal.objectives],
            }
            for goal in nl.GOALS
        ],
        "labels": nl.ITEM_LABELS,
        "values": nl.VALUE_LABELS,
        "status": nl.STATUS,
        "months": list(nl.MONTHS),
        "yes": nl.YES,
        "no": nl.NO,
        "text": {
            "target": "Doel",
            "atLeast": "minstens",
            "noTarget": "Geen doel",
            "underway": "Nog niet behaald",
            "overview": "Overzicht",
            "progress": "Verloop per maand",
            "asOf": "Stand op",
            "updated": "bijgewerkt om",
            "targets": "doelen",
            "report": "Rapport",
            "frozen": "Bevroren rapport.",
            "frozenOn": "Bevroren op",
            "by": "door",
            "differences": "Latere correcties ten opzichte van het bevroren rapport",
            "noDifferences": "Geen verschillen met het bevroren rapport.",
            "other": "Overige",
            "failed": "De gegevens konden niet geladen worden",
            "tokenIntro": (
                "Plak hier eenmalig uw toegangssleutel (token) voor het KPI-dashboard. "
                "Hij blijft bewaard in deze browser."
            ),
            "tokenLabel": "Toegangssleutel",
            "badToken": "De toegangssleutel is ongeldig of verlopen. Plak een nieuwe.",
            "save": "Opslaan",
        },
    }


@cache
def page() -> str:
    config_json = json.dumps(config(), ensure_ascii=False).replace("</", "<\\/")
    return PAGE.read_text(encoding="utf-8").replace("/*CONFIG*/null", config_json)


@router.get("/dashboard", response_class=HTMLResponse, tags=["dashboard"], include_in_schema=True)
def dashboard() -> HTMLResponse:
    """The live KPI dashboard (public page; the data behind it needs a token)."""
    return HTMLResponse(page(), headers=security_headers())
