"""The good practices and the articles in Debian's Chromium, served by the newsletter service running as
a process on the real broker: each page (the lists, a search with and without results, a year, the
second page, a search cut at 100 characters) passes axe-core without a serious or critical violation,
asks for nothing from elsewhere, runs into no blocked script or style, and fits a 390 px wide phone
without scrolling sideways; a person searches with the form and pages on with the pager."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.clock import business_today
from tests import infra
from tests.browser import page_problems
from tests.public.test_browser import ARTEFACTS

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PRACTICES = [
    "Digitaal buurtpunt in het dienstencentrum",
    "Digibuddy's helpen senioren met hun smartphone",
    "Een onthaal zonder digitale drempels",
    "Laptops voor gezinnen in armoede",
    "Klare taal op de gemeentelijke website",
    "Samen met de bibliotheek naar digitale vaardigheden",
    "Een e-loket met een menselijk gezicht",
    "Intergemeentelijke aanpak van digitale inclusie in de Kempen, met een heel lange titel erbij",
]


def _fill(base: str) -> None:
    """Enough practices for three pages and articles in two magazines, through the staff API."""
    staff = infra.auth("staff")
    today = business_today()
    for n in range(45):
        body = {
            "title": f"{PRACTICES[n % len(PRACTICES)]} ({n + 1})",
            "published_on": (today - timedelta(days=9 * n)).isoformat(),
            "url": f"https://www.vvsg.be/digitale-inclusie/goede-praktijken/praktijk-{n}",
        }
        response = httpx.post(f"{base}/good-practices", json=body, headers=staff)
        assert response.status_code == 201, response.text
    for n, (title, magazine) in enumerate(
        [
            ("Digitale inclusie begint aan het loket", "Lokaal"),
            ("Zo pakken drie gemeenten de digitale kloof aan", "Lokaal"),
            ("Lokale besturen en de digitale kloof", "Sociaal.Net"),
        ]
    ):
        body = {
            "title": title,
            "magazine": magazine,
            "published_on": (today - timedelta(days=30 * n)).isoformat(),
            "url": f"https://www.vvsg.be/lokaal/artikel-{n}" if magazine == "Lokaal" else None,
        }
        response = httpx.post(f"{base}/articles", json=body, headers=staff)
        assert response.status_code == 201, response.text


def test_the_practices_and_articles_pages_are_accessible_self_contained_and_fit_a_phone(
    services: Callable[..., infra.ServiceProcess],
    tmp_path: Path,
    browser: Any,  # last: its event loop must not be running while the other fixtures set up
) -> None:
    newsletter = services(
        "newsletter",
        f"sqlite:///{tmp_path}/newsletter.db",
        PUBLIC_RATE_PER_MINUTE="10000",
        SMTP_PORT=str(infra.free_port()),
    )
    _fill(newsletter.url)
    year = business_today().year
    pages = {
        "goede praktijken": "/goede-praktijken",
        "goede praktijken zoeken": "/goede-praktijken?q=digibuddy",
        "goede praktijken zonder resultaat": "/goede-praktijken?q=niets",
        "goede praktijken pagina 2": "/goede-praktijken?pagina=2",
        "goede praktijken per jaar": f"/goede-praktijken?jaar={year}",
        "goede praktijken lange zoekopdracht": "/goede-praktijken?q=" + "lang" * 40,
        "artikels": "/artikels",
        "artikels in Lokaal": "/artikels?tijdschrift=Lokaal",
        "artikels zonder resultaat": "/artikels?q=niets",
    }
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, Any] = {}
    for name, path in pages.items():
        shot = ARTEFACTS / f"{name.replace(' ', '-')}-390.png"
        if found := page_problems(browser, newsletter.url, path, shot, width=390, height=844):
            problems[name] = found
    assert problems == {}


def test_a_person_searches_and_pages_on(
    services: Callable[..., infra.ServiceProcess], tmp_path: Path, browser: Any
) -> None:
    newsletter = services(
        "newsletter",
        f"sqlite:///{tmp_path}/newsletter.db",
        PUBLIC_RATE_PER_MINUTE="10000",
        SMTP_PORT=str(infra.free_port()),
    )
    _fill(newsletter.url)
    page = browser.new_context(locale="nl-BE", viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{newsletter.url}/goede-praktijken")
    assert page.get_by_role("status").inner_text() == "45 goede praktijken. Pagina 1 van 3."
    assert page.locator("main h2").count() == 20
    page.get_by_role("link", name="Volgende pagina").click()
    page.wait_for_url("**/goede-praktijken?pagina=2")
    assert page.locator("main h2").first.inner_text() == f"{PRACTICES[20 % len(PRACTICES)]} (21)"
    page.get_by_label("Zoeken", exact=True).fill("bibliotheek vaardigheden")
    page.get_by_role("button", name="Zoek").click()
    page.wait_for_url("**/goede-praktijken?q=bibliotheek+vaardigheden*")
    titles = page.locator("main h2").all_inner_texts()
    assert len(titles) == 5 and all(t.startswith("Samen met de bibliotheek") for t in titles), titles
    assert page.get_by_role("status").inner_text() == (
        "5 goede praktijken gevonden voor ‘bibliotheek vaardigheden’."
    )
    link = page.get_by_role("link", name="Samen met de bibliotheek naar digitale vaardigheden (6)")
    assert link.get_attribute("href") == "https://www.vvsg.be/digitale-inclusie/goede-praktijken/praktijk-5"
    # the header leads to the articles; the magazine filter keeps Lokaal
    page.get_by_role("navigation", name="Publieke pagina's").get_by_role("link", name="Artikels").click()
    page.wait_for_url("**/artikels")
    page.get_by_label("Tijdschrift").select_option("Lokaal")
    page.get_by_role("button", name="Zoek").click()
    assert page.locator("main h2").all_inner_texts() == [
        "Digitale inclusie begint aan het loket",
        "Zo pakken drie gemeenten de digitale kloof aan",
    ]
    feed = page.locator('link[rel="alternate"][type="application/atom+xml"]').get_attribute("href")
    assert feed == "/artikels.atom"
