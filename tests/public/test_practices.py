"""The good practices and the articles as anyone reads them, without signing in, on SQLite and PostgreSQL
with the real broker: what staff record through the API appears newest first, searchable, per year and
magazine, paged; the pages list exactly the practices and Lokaal articles KPI OD1.3 counts from the
same events; hostile search input (markup, LIKE wildcards, control characters, 10,000 characters) and
hostile stored text change nothing and come out as text; the Atom feeds parse with `feedparser`
without a bozo error; every page carries the security headers and asks for nothing from elsewhere."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.kpi import kpis, projection
from services.newsletter.app import build
from services.newsletter.settings import NewsletterSettings
from shared import events, topics
from shared.clock import business_today
from shared.db import make_engine, migrate
from tests.infra import AUTH_SECRET, LINK_SECRET, auth, free_port, read_topic, wait_until
from tests.public.conftest import anonymous

pytestmark = pytest.mark.integration

PUBLIC_BASE = "https://www.digitale-inclusie.example.be"
KPI_MIGRATIONS = Path(kpis.__file__).parent / "migrations"
LISTED = re.compile(r'<li id="item-([0-9a-f-]{36})">')


@dataclass
class Site:
    staff: TestClient
    public: TestClient
    bootstrap: str
    prefix: str

    def practice(self, title: str, day: date | None = None, **changes: Any) -> dict[str, Any]:
        body = {
            "title": title,
            "published_on": (day or business_today()).isoformat(),
            "url": f"https://www.vvsg.be/goede-praktijken/{uuid.uuid4().hex[:8]}",
            **changes,
        }
        response = self.staff.post("/good-practices", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def article(self, title: str, day: date | None = None, magazine: str = "Lokaal", **changes: Any) -> Any:
        body = {"title": title, "magazine": magazine, "published_on": (day or business_today()).isoformat()}
        response = self.staff.post("/articles", json={**body, **changes})
        assert response.status_code == 201, response.text
        return response.json()

    def listed(self, path: str, **params: str) -> list[str]:
        response = self.public.get(path, params=params)
        assert response.status_code == 200, response.text
        return LISTED.findall(response.text)

    def published(self, type_name: str, count: int) -> list[events.Event]:
        """The topic's events of this type, once the outbox relay has put `count` of them there."""

        def found() -> list[events.Event] | None:
            records = asyncio.run(read_topic(self.bootstrap, self.prefix + topics.COMMUNICATIONS_EVENTS))
            decoded = [events.decode(r.value) for r in records]
            mine = [e for e in decoded if type_name == e.data.NAME]
            return mine if len(mine) >= count else None

        result: list[events.Event] = wait_until(found, 30, 0.3, f"{count} {type_name} on the topic")
        return result


@pytest.fixture
def site(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[Site]:
    settings = NewsletterSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,
        link_secret=LINK_SECRET,
        public_base_url=PUBLIC_BASE,
        public_rate_per_minute=100_000,  # many pages in a row from one test client
        smtp_port=free_port(),  # nobody listens: no mail goes anywhere
        outbox_poll_seconds=0.2,
    )
    app = build(settings)
    with TestClient(app, headers=auth("staff")) as staff:
        yield Site(staff, anonymous(staff), kafka_bootstrap, topic_prefix)


def _status(page: str) -> str:
    found = re.search(r'<p role="status">(.*?)</p>', page, re.DOTALL)
    assert found is not None, page
    return html.unescape(found.group(1))


# --- what is listed ---------------------------------------------------------------------------------


def test_recorded_practices_appear_newest_first(site: Site) -> None:
    today = business_today()
    older = site.practice("Digitaal buurtpunt in het dienstencentrum", today - timedelta(days=200))
    newer = site.practice("Digibuddy's helpen senioren met hun smartphone", today - timedelta(days=3))
    page = site.public.get("/goede-praktijken")
    assert page.status_code == 200
    assert '<html lang="nl-BE">' in page.text
    assert site.listed("/goede-praktijken") == [newer["id"], older["id"]]
    assert _status(page.text) == "2 goede praktijken."
    assert f'<a href="{older["url"]}">Digitaal buurtpunt in het dienstencentrum</a>' in page.text
    day = today - timedelta(days=3)
    assert f'<time datetime="{day.isoformat()}">{day.day} ' in page.text


def test_articles_in_every_magazine_appear_with_their_magazine_and_filter_on_it(site: Site) -> None:
    today = business_today()
    lokaal = site.article("Digitale inclusie begint aan het loket", today - timedelta(days=30), url=None)
    other = site.article(
        "Lokale besturen en de digitale kloof",
        today - timedelta(days=10),
        magazine="Sociaal.Net",
        url="https://sociaal.net/digitale-kloof",
    )
    page = site.public.get("/artikels").text
    assert site.listed("/artikels") == [other["id"], lokaal["id"]]
    assert "Digitale inclusie begint aan het loket</h2>" in page  # no link: none was recorded
    assert '<a href="https://sociaal.net/digitale-kloof">' in page
    assert '<option value="Lokaal">' in page and '<option value="Sociaal.Net">' in page
    assert site.listed("/artikels", tijdschrift="Lokaal") == [lokaal["id"]]
    assert site.listed("/artikels", tijdschrift="lokaal") == [lokaal["id"]]  # as the KPI compares
    assert site.listed("/artikels", q="sociaal") == [other["id"]]  # the search looks at the magazine
    assert site.listed("/artikels", tijdschrift="Bestaat niet") == []


def test_the_pages_list_exactly_what_the_kpi_counts_from_the_same_events(site: Site, tmp_path: Path) -> None:
    """The events on the topic, projected by the KPI service's own code, give per year the same
    practices and the same Lokaal articles as the pages for that year."""
    today = business_today()
    last_year = date(today.year - 1, 6, 15)
    made = [
        site.practice("Vorig jaar in juni", last_year),
        site.practice("Vorig jaar in december", date(today.year - 1, 12, 31)),
        site.practice("Dit jaar", today),
    ]
    site.article("Lokaal vorig jaar", last_year)
    site.article("Elders vorig jaar", last_year, magazine="Binnenband")
    site.article("Lokaal dit jaar", today, magazine=" lokaal ")
    practices = site.published("good_practice.published", len(made))
    articles = site.published("article.published", 3)
    engine = make_engine(f"sqlite:///{tmp_path}/kpi.db")
    migrate(engine, KPI_MIGRATIONS)
    with Session(engine) as session:
        projection.apply(session, [*practices, *articles])
        session.commit()
        for year in (today.year - 1, today.year):
            report = kpis.report(session, year, None, datetime.now(UTC))
            by_code = {k["code"]: k for k in report["kpis"]}
            counted = {i["practice_id"] for i in by_code["OD1.3-goede-praktijken"]["items"]}
            shown = set(site.listed("/goede-praktijken", jaar=str(year)))
            assert shown == counted and len(shown) == by_code["OD1.3-goede-praktijken"]["value"], year
            lokaal = {i["article_id"] for i in by_code["OD1.3-artikels"]["items"]}
            assert set(site.listed("/artikels", jaar=str(year), tijdschrift="Lokaal")) == lokaal, year
    engine.dispose()
    assert len(site.listed("/goede-praktijken")) == 3  # all years


# --- search, years and pages ------------------------------------------------------------------------


def test_search_finds_words_in_any_order_and_case(site: Site) -> None:
    bib = site.practice("Samen met de bibliotheek naar digitale vaardigheden")
    site.practice("Een onthaal zonder digitale drempels")
    assert site.listed("/goede-praktijken", q="BIBLIOTHEEK") == [bib["id"]]
    assert site.listed("/goede-praktijken", q="vaardigheden  samen") == [bib["id"]]
    assert len(site.listed("/goede-praktijken", q="digitale")) == 2
    page = site.public.get("/goede-praktijken", params={"q": "niets hiervan"}).text
    assert _status(page) == "0 goede praktijken gevonden voor ‘niets hiervan’."
    assert "Geen goede praktijken gevonden" in page


def test_hostile_search_input_is_text_and_changes_nothing(site: Site) -> None:
    percent = site.practice("Bereik van 100% in de wijk")
    under = site.practice("Het e_loket van de gemeente")
    plain = site.practice("Een gewone praktijk")
    everything = [plain["id"], under["id"], percent["id"]]
    # LIKE wildcards are looked for as themselves
    assert site.listed("/goede-praktijken", q="%") == [percent["id"]]
    assert site.listed("/goede-praktijken", q="_") == [under["id"]]
    assert site.listed("/goede-praktijken", q="e_l") == [under["id"]]
    assert site.listed("/goede-praktijken", q="\\") == []
    assert site.listed("/goede-praktijken", q="' OR 1=1 --") == []
    # markup comes back as text in the field and the status, never as markup
    script = "<script>alert(1)</script>"
    for path in ("/goede-praktijken", "/artikels"):
        page = site.public.get(path, params={"q": script}).text
        assert script not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert '"><img' not in site.public.get(path, params={"q": '"><img src=x>'}).text, path
    # control characters are dropped, the rest is searched for
    assert site.listed("/goede-praktijken", q="gew\x00o\x1bne\x7f") == [plain["id"]]
    # 10,000 characters: a page (not an error) that says the search was cut
    long = site.public.get("/goede-praktijken", params={"q": "gewone " + "x" * 10_000})
    assert long.status_code == 200
    assert "langer dan 100 tekens" in long.text
    assert 'value="gewone xxx' in long.text and "x" * 101 not in long.text
    # odd years and pages: the whole list, on a page that exists
    odd = ({"jaar": "abcd"}, {"jaar": "99999"}, {"pagina": "-1"}, {"pagina": "١"}, {"pagina": "9" * 50})
    for params in odd:
        assert site.listed("/goede-praktijken", **params) == everything, params
    assert site.staff.get("/good-practices").json()[-1]["title"] == "Een gewone praktijk"  # nothing changed
    assert len(site.staff.get("/good-practices").json()) == 3


def test_a_year_and_pages_of_twenty(site: Site) -> None:
    today = business_today()
    ids = [site.practice(f"Praktijk {n:02d}", today - timedelta(days=n))["id"] for n in range(45)]
    old = site.practice("Van lang geleden", date(2021, 3, 1))
    first = site.public.get("/goede-praktijken").text
    assert _status(first) == "46 goede praktijken. Pagina 1 van 3."
    assert LISTED.findall(first) == ids[:20]
    assert 'href="/goede-praktijken?pagina=2" rel="next"' in first and 'rel="prev"' not in first
    assert site.listed("/goede-praktijken", pagina="2") == ids[20:40]
    third = site.public.get("/goede-praktijken", params={"pagina": "3"}).text
    assert LISTED.findall(third) == [*ids[40:], old["id"]]
    assert 'href="/goede-praktijken?pagina=2" rel="prev"' in third and 'rel="next"' not in third
    assert site.listed("/goede-praktijken", pagina="999") == [*ids[40:], old["id"]]  # the last one
    assert site.listed("/goede-praktijken", jaar="2021") == [old["id"]]
    assert '<option value="2021">' in first
    # the pager keeps the search
    searched = site.public.get("/goede-praktijken", params={"q": "praktijk"}).text
    assert 'href="/goede-praktijken?q=praktijk&amp;pagina=2"' in searched


# --- stored text, feeds, headers --------------------------------------------------------------------


def test_hostile_stored_text_comes_out_as_text_in_pages_and_feeds(site: Site) -> None:
    title = '<script>alert("x")</script> & <b>vet</b> ]]> \u202e'
    site.practice(title)
    site.article(title, magazine="<i>Lokaal</i>")
    for path in ("/goede-praktijken", "/artikels"):
        page = site.public.get(path).text
        assert "<script>alert" not in page and "<b>vet" not in page and "<i>Lokaal" not in page, path
        assert "&lt;script&gt;alert(" in page, path
    for path in ("/goede-praktijken.atom", "/artikels.atom"):
        feed = feedparser.parse(site.public.get(path).content)
        assert not feed.bozo, (path, feed.get("bozo_exception"))
        assert feed.entries[0].title == title, path


def test_the_feeds_parse_without_bozo_errors_newest_first(site: Site) -> None:
    today = business_today()
    first = site.practice("Klare taal op de gemeentelijke website", today - timedelta(days=40))
    second = site.practice("Een e-loket met een menselijk gezicht", today - timedelta(days=2))
    site.article("Hybride dienstverlening", today - timedelta(days=1), url="https://www.vvsg.be/lokaal/h")
    site.article("Elders", today - timedelta(days=9), magazine="Sociaal.Net")
    response = site.public.get("/goede-praktijken.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "VVSG – digitale inclusie: goede praktijken"
    assert feed.feed.links[0].href == f"{PUBLIC_BASE}/goede-praktijken.atom"
    assert [e.id for e in feed.entries] == [f"urn:uuid:{second['id']}", f"urn:uuid:{first['id']}"]
    assert feed.entries[0].link == second["url"]
    published = datetime.fromisoformat(feed.entries[0].published)  # midnight in Brussels
    assert (published.date(), published.hour) == (today - timedelta(days=2), 0)
    assert published.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    articles = feedparser.parse(site.public.get("/artikels.atom").content)
    assert not articles.bozo, articles.get("bozo_exception")
    assert [e.title for e in articles.entries] == ["Hybride dienstverlening", "Elders"]
    assert articles.entries[0].link == "https://www.vvsg.be/lokaal/h"
    assert articles.entries[1].link == f"{PUBLIC_BASE}/artikels"  # no link of its own: the list
    assert [t.term for t in articles.entries[1].tags] == ["Sociaal.Net"]


def test_an_empty_feed_is_valid(site: Site) -> None:
    for path in ("/goede-praktijken.atom", "/artikels.atom"):
        feed = feedparser.parse(site.public.get(path).content)
        assert not feed.bozo and feed.entries == [], path
    assert "Er staan nog geen goede praktijken online" in site.public.get("/goede-praktijken").text


def test_pages_carry_the_security_headers_and_ask_for_nothing_from_elsewhere(site: Site) -> None:
    recorded = site.practice("Een onthaal zonder digitale drempels")
    site.article("Digibuddy's", url="https://www.vvsg.be/lokaal/digibuddys")
    for path in ("/goede-praktijken", "/artikels", "/goede-praktijken?q=x", "/artikels?jaar=2021"):
        response = site.public.get(path)
        assert response.status_code == 200, path
        headers = response.headers
        assert headers["content-type"].startswith("text/html"), path
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, path
        assert "script-src" not in policy, path  # no script runs
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["cache-control"] == "no-cache", path
        assert "src=" not in response.text and "<script" not in response.text, path
        # links: this site's pages, the canonical address, and the practices and articles themselves
        outside = {recorded["url"], "https://www.vvsg.be/lokaal/digibuddys"}
        for url in re.findall(r'href="([^"]+)"', response.text):
            assert url.startswith(("/", "#", PUBLIC_BASE)) or url in outside, (path, url)
    for path in ("/goede-praktijken.atom", "/artikels.atom"):
        headers = site.public.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["cache-control"] == "public, max-age=300", path


def test_a_stored_link_that_is_no_web_address_becomes_no_link(site: Site) -> None:
    from sqlalchemy import text

    practice = site.practice("Praktijk met een vreemde link")
    engine = site.staff.app.state.runtime.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:  # a fix by hand: the API refuses this
        key = uuid.UUID(practice["id"]).hex if engine.dialect.name == "sqlite" else practice["id"]
        connection.execute(
            text("UPDATE nl_good_practices SET url = :url WHERE id = :id"),
            {"url": "javascript:alert(1)", "id": key},
        )
    page = site.public.get("/goede-praktijken").text
    assert "javascript:" not in page and "Praktijk met een vreemde link</h2>" in page
    feed = feedparser.parse(site.public.get("/goede-praktijken.atom").content)
    assert not feed.bozo and feed.entries[0].link == f"{PUBLIC_BASE}/goede-praktijken"
