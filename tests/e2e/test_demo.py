"""The demo year, small: the five services as processes on this test's topics, a mail catcher for the
newsletter service, the demo loaded through the services' APIs (as `bin/up` does, at a tenth of the
size), and the KPI answer shows something on every kind of KPI; every session has its practical
fields, and the events service's public agenda lists the coming months (place or online, seats left)
and the recordings; the newsletter service's public pages list the year's good practices and Lokaal
articles, as many as KPI OD1.3 counts."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.mail_catcher import MailCatcher
from ops.demo import load
from ops.demo.client import Demo
from ops.demo.data import AHEAD, ONLINE_LINK, VENUES
from tests.infra import LINK_SECRET, ServiceProcess, auth, free_port, token, wait_until

pytestmark = pytest.mark.e2e

SERVICES = ("members", "events", "feedback", "newsletter", "kpi")


def _values(answer: dict[str, Any]) -> dict[str, Any]:
    return {k["code"]: k["value"] for k in answer["kpis"]}


# one session on the agenda page: its link and title, then its facts (public/_session_facts.html)
_LISTED = re.compile(
    r'<li(?: class="cancelled")?>\s*<h3><a href="/agenda/([0-9a-f-]+)">'
    r'(?:<span class="badge">Geannuleerd</span> )?(.*?)</a></h3>'
    r".*?<dt>Wanneer</dt><dd>(.*?)</dd>.*?<dt>Waar</dt><dd>(.*?)</dd>.*?<dt>Plaatsen</dt><dd>(.*?)</dd>",
    re.DOTALL,
)
_RECORDING = re.compile(r'<a class="button" href="([^"]+)">Bekijk de opname')
_ITEM = re.compile(r'<li id="item-[0-9a-f-]{36}">')


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _check_sessions_and_public_agenda(urls: dict[str, str], demo: Demo, lines: list[str]) -> None:
    """Every session of the demo has a place (a venue, or online with a link to join) and a description;
    /agenda lists the coming months' sessions with their place and seats, /agenda/opnames the
    recordings of the year's sessions."""
    staff = httpx.Client(base_url=urls["events"], headers=auth("staff"), timeout=30)
    sessions = [
        s
        for year in (demo.year, date.today().year, date.today().year + 1)
        for s in staff.get("/sessions", params={"year": year, "limit": 500}).json()["items"]
    ]
    staff.close()
    assert len(sessions) >= len(demo.held) + len(AHEAD), lines
    for session in sessions:
        assert session["description"] and 1 <= session["description"].count(".") <= 3, session
        if session["format"] == "online":
            assert session["location"] == "online", session
        else:
            assert session["location"] and session["location"] != "online", session
        if session["format"] in ("online", "hybrid"):
            assert session["online_link"].startswith(ONLINE_LINK.split("{")[0]), session
        else:
            assert session["online_link"] is None, session
    # on-request sessions meet at the town hall of who asked; the others at one of the venues
    assert any(s["location"] in VENUES for s in sessions)
    assert any(s["location"].startswith("Raadzaal, ") for s in sessions)

    public = httpx.Client(base_url=urls["events"], timeout=30)  # no token: as anyone's browser
    page = public.get("/agenda")
    assert page.status_code == 200
    listed = {
        _text(title): (_text(when), _text(place), _text(seats))
        for _, title, when, place, seats in _LISTED.findall(page.text)
    }
    assert set(listed) == {a.title for a in AHEAD}, (sorted(listed), lines)
    formats = {a.title: a.format for a in AHEAD}
    for title, (_when, place, _seats) in listed.items():
        if formats[title] == "online":
            assert place == "online", (title, place)
        elif formats[title] == "hybrid":
            assert place.endswith(" en online") and place.removesuffix(" en online") in VENUES, (title, place)
        else:
            assert place in VENUES, (title, place)
    seats = [s for _w, _p, s in listed.values()]
    assert "Nog 1 plaats vrij" in seats and "Nog 2 plaatsen vrij" in seats, seats  # almost full
    assert "Volzet: je kan je op de wachtlijst zetten" in seats, seats  # and one with a waiting list
    assert "Geannuleerd" in seats, seats
    assert any("(verplaatst, eerst gepland op" in when for when, _p, _s in listed.values()), listed
    # the coming three months: dated from today, not from the demo year
    ahead = [s for s in sessions if s["status"] != "held" and s["title"] in formats]
    starts = [datetime.fromisoformat(s["starts_at"]).date() for s in ahead]
    assert date.today() < min(starts) and max(starts) <= date.today() + timedelta(days=100), starts

    page = public.get("/agenda/opnames")
    public.close()
    assert page.status_code == 200
    recordings = _RECORDING.findall(page.text)
    assert demo.recordings >= 3 and len(recordings) == demo.recordings, (recordings, lines)
    assert f"{demo.recordings} opnames gevonden." in page.text
    assert all(url.startswith("https://www.vvsg.be/digitale-inclusie/opnames/") for url in recordings)
    recorded = [s for s in sessions if s["recording_url"]]
    assert len(recorded) == demo.recordings and all(s["status"] == "held" for s in recorded)


def _check_practices_and_articles(url: str, year: int, values: dict[str, Any]) -> None:
    """/goede-praktijken and /artikels (tijdschrift Lokaal) for the demo year list what OD1.3 counts."""
    with httpx.Client(base_url=url, timeout=30) as public:  # no token: as anyone's browser
        practices = public.get("/goede-praktijken", params={"jaar": str(year)}).text
        lokaal = public.get("/artikels", params={"jaar": str(year), "tijdschrift": "Lokaal"}).text
        everything = public.get("/artikels", params={"jaar": str(year)}).text
    assert len(_ITEM.findall(practices)) == values["OD1.3-goede-praktijken"] >= 1, practices
    assert len(_ITEM.findall(lokaal)) == values["OD1.3-artikels"] >= 1, lokaal
    assert len(_ITEM.findall(everything)) >= len(_ITEM.findall(lokaal))


def test_a_small_demo_year_shows_on_every_kind_of_kpi(
    services: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    catcher = MailCatcher(tmp_path / "mail", smtp_port=free_port(), http_port=free_port()).start()

    def start(name: str) -> str:
        env = {"LINK_SECRET": LINK_SECRET}
        if name == "newsletter":
            env |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(catcher.smtp_port)}
        if name == "feedback":  # the demo answers every form from this one address
            env |= {"PUBLIC_RATE_PER_MINUTE": "3000"}
        return services(name, f"sqlite:///{tmp_path}/{name}.db", **env).url

    try:
        with ThreadPoolExecutor(len(SERVICES)) as pool:  # side by side: each waits for its readiness
            urls = dict(zip(SERVICES, pool.map(start, SERVICES), strict=True))
        year = date.today().year - 1
        lines: list[str] = []
        demo = load(
            urls, token("staff", "demo@vvsg.be"), year, lines.append, scale=0.1, link_secret=LINK_SECRET
        )
        assert demo.kpis is not None, lines
        assert not [n for n in demo.notes if "achter" in n], lines  # the KPI service shows what was done
        values = _values(demo.kpis)

        _check_sessions_and_public_agenda(urls, demo, lines)
        _check_practices_and_articles(urls["newsletter"], year, values)

        assert 40 <= values["OD1.1-leden"] <= 65
        assert values["OD1.1-besturen"] >= 5
        for code in (
            "OD1.1-bijeenkomsten-algemeen",
            "OD1.1-bijeenkomsten-specifiek",
            "OD1.2-infosessies",
            "OD1.2-inspiratiedag-fysiek",
            "OD1.2-inspiratiedag-online",
            "OD1.3-op-vraag",
            "OD2.1-meerdaagse",
            "OD2.2-thematisch",
            "OD2.2-geintegreerd",
            "afstemming-stuurgroep",
            "afstemming-overleg",
            "OD1.3-artikels",
            "OD1.3-goede-praktijken",
            "OD3.1-hulpmiddelen",
            "OD3.2-advies",
            "OD3.3-op-maat",
        ):
            assert values[code] >= 1, (code, lines)
        assert values["OD1.2-deelnemersuren"] > 0
        assert values["OD2.2-deelnemersuren"] > 0
        assert values["feedback-gevraagd"] == 100.0
        assert 0 < values["feedback-respons"] < 100
        assert 1 <= values["feedback-tevredenheid"] <= 5
        assert values["feedback-gemotiveerd"] > 0

        # what the services date themselves (a newsletter sent, the survey closed) counts in the running year
        def running_year() -> dict[str, Any] | None:
            answer = httpx.get(f"{urls['kpi']}/kpis/{date.today().year}", headers=auth("viewer"), timeout=30)
            found = _values(answer.json())
            return found if found["OD1.3-nieuwsbrieven"] >= 1 and found["OD3.1-bevraging"] >= 1 else None

        wait_until(running_year, 30, 0.5, "the newsletter and the closed survey in the running year")
        subjects = {catcher.store.summary(name).subject for name in catcher.store.names()}
        assert any(s.startswith("Wat vond je van") for s in subjects), subjects  # feedback invitations
        assert any(s.startswith("Nieuwsbrief digitale inclusie") for s in subjects), subjects
    finally:
        catcher.stop()
