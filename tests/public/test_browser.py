"""The public agenda in Debian's Chromium, served by the events service running as a process on the
real broker: every public page (the agenda, a session with its sign-up form, a cancelled one, the
recordings, a search without results, a page not found, the form with its errors) passes axe-core
without a serious or critical violation, asks for nothing from elsewhere, runs no script the policy
blocks, and fits a phone's width without scrolling sideways; a person signs up and is asked to confirm
(an address the service does not know); after confirming through the opt-in mail's link, the next one
for a full session lands on the waiting list; the cancel link from the confirmation mail (a real SMTP
server) cancels in the browser and the waiting person moves up."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests import infra
from tests.browser import page_problems
from tests.integration.test_newsletter_mailserver import MailCatcher
from tests.public.conftest import brussels, in_days

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-output" / "public"  # gitignored


def _fill(base: str) -> dict[str, str]:
    """A small agenda through the staff API: an open, a full, a cancelled and a recorded session."""
    staff = infra.auth("staff")

    def schedule(days: int, **changes: Any) -> str:
        day = in_days(days)
        body = {
            "kind": "info_session",
            "title": "Infosessie digitale drempels",
            "theme": "digitale drempels",
            "lead": "vvsg",
            "format": "hybrid",
            "location": "Bischoffsheimlaan 1-8, 1000 Brussel",
            "description": "Hoe een bestuur digitale drempels opspoort.\nMet voorbeelden uit drie gemeenten.",
            "starts_at": brussels(day, 14),
            "ends_at": brussels(day, 17),
            "capacity": 20,
            "registration_deadline": brussels(day - timedelta(days=1), 12),
            **changes,
        }
        response = httpx.post(f"{base}/sessions", json=body, headers=staff)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    open_one = schedule(12)
    full = schedule(
        40, title="Netwerkmoment", kind="network_meeting_thematic", capacity=1, theme="bibliotheken"
    )
    httpx.post(f"{base}/sessions/{full}/registrations", json={"organisation_kind": "andere"}, headers=staff)
    cancelled = schedule(50, title="Opleiding die niet doorgaat", kind="training_thematic", lead="mediawijs")
    assert httpx.post(f"{base}/sessions/{cancelled}/cancel", json={}, headers=staff).status_code == 200
    recorded = schedule(
        -30, title="Webinar digitale kluis", format="online", location="online", theme="e-overheid"
    )
    url = "https://video.example.be/kluis"
    assert (
        httpx.post(f"{base}/sessions/{recorded}/recording", json={"url": url}, headers=staff).status_code
        == 200
    )
    return {"open": open_one, "full": full, "cancelled": cancelled, "recorded": recorded}


def test_every_public_page_is_accessible_self_contained_and_fits_a_phone(
    services: Callable[..., infra.ServiceProcess],
    tmp_path: Path,
    browser: Any,  # last: its event loop must not be running while the other fixtures set up
) -> None:
    events = services("events", f"sqlite:///{tmp_path}/events.db", PUBLIC_RATE_PER_MINUTE="10000")
    ids = _fill(events.url)
    pages = {
        "agenda": ("/agenda", "h1"),
        "agenda per thema": ("/agenda?thema=bibliotheken", "h1"),
        "sessie": (f"/agenda/{ids['open']}", "h1"),
        "volzette sessie": (f"/agenda/{ids['full']}", "h1"),
        "geannuleerde sessie": (f"/agenda/{ids['cancelled']}", "h1"),
        "opnames": ("/agenda/opnames", "h1"),
        "opnames zonder resultaat": ("/agenda/opnames?zoek=niets", "h1"),
        "niet gevonden": ("/agenda/bestaat-niet", "h1"),
    }
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, Any] = {}
    for name, (path, ready) in pages.items():
        shot = ARTEFACTS / f"{name.replace(' ', '-')}-360.png"
        if found := page_problems(browser, events.url, path, shot, ready=ready):
            problems[name] = found
    assert problems == {}


def test_the_pages_read_well_in_the_browser(
    services: Callable[..., infra.ServiceProcess], tmp_path: Path, browser: Any
) -> None:
    events = services("events", f"sqlite:///{tmp_path}/events.db", PUBLIC_RATE_PER_MINUTE="10000")
    ids = _fill(events.url)
    page = browser.new_context(locale="nl-BE").new_page()
    page.goto(f"{events.url}/agenda")
    page.get_by_label("Thema", exact=True).select_option("bibliotheken")
    page.get_by_role("button", name="Toon").click()
    page.wait_for_url("**/agenda?thema=bibliotheken")
    assert page.locator("h3").all_inner_texts() == ["Netwerkmoment"]
    page.get_by_role("link", name="Netwerkmoment").click()
    assert page.locator("dd").nth(5).inner_text() == "Volzet: je kan je op de wachtlijst zetten"
    page.goto(f"{events.url}/agenda/{ids['cancelled']}")
    assert page.get_by_role("status").inner_text().startswith("Deze sessie is geannuleerd.")
    # signing up: an empty form names what is missing (and passes axe), a filled one registers
    page.goto(f"{events.url}/agenda/{ids['open']}")
    page.get_by_role("button", name="Schrijf me in").click()
    assert page.get_by_role("alert").inner_text().startswith("Er ontbreekt nog iets")
    assert page.title().startswith("Fout: ")
    assert page.locator("#veld-email").get_attribute("aria-invalid") == "true"
    results = Axe().run(page)
    assert [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")] == []
    page.get_by_label("Naam", exact=True).fill("Sam Buiten")
    page.get_by_label("E-mailadres").fill("sam@buiten.example")
    page.get_by_label("Organisatie", exact=True).fill("Vzw De Brug")
    page.get_by_label("Soort organisatie").select_option("middenveldorganisatie")
    page.get_by_role("button", name="Schrijf me in").click()
    assert page.locator("h1").inner_text() == "Bevestig je inschrijving"  # an unknown address: opt-in
    page.goto(f"{events.url}/agenda/{ids['full']}")
    page.get_by_label("Naam", exact=True).fill("Kim Wacht")
    page.get_by_label("E-mailadres").fill("kim@wacht.example")
    page.get_by_label("Organisatie", exact=True).fill("Gemeente Wacht")
    page.get_by_label("Soort organisatie").select_option("lokaal_bestuur")
    page.get_by_role("button", name="Schrijf me in").click()
    assert page.locator("h1").inner_text() == "Bevestig je inschrijving"  # the waiting list: next test
    page.goto(f"{events.url}/agenda/opnames")
    page.get_by_label("Zoeken", exact=True).fill("kluis")
    page.get_by_role("button", name="Zoek").click()
    assert page.get_by_role("link", name="Bekijk de opname van Webinar digitale kluis").get_attribute(
        "href"
    ) == ("https://video.example.be/kluis")


def test_the_cancel_link_from_the_mail_works_in_the_browser_and_the_waiting_person_moves_up(
    services: Callable[..., infra.ServiceProcess], tmp_path: Path, browser: Any
) -> None:
    """Two people sign up in Chromium for a session of one seat; the first one's confirmation (from the
    service's own sender, to the test's SMTP server) carries the cancel link; the link's page passes
    axe-core, its button cancels (the browser's own Origin header accepted), the second one moves up
    and is told so. Each mail arrives once."""
    catcher = MailCatcher().start()
    try:
        events = services(
            "events",
            f"sqlite:///{tmp_path}/events.db",
            PUBLIC_RATE_PER_MINUTE="10000",
            SMTP_PORT=str(catcher.port),
            SIGNUP_MAIL_POLL_SECONDS="0.2",
        )
        staff = infra.auth("staff")
        day = in_days(15)
        body = {
            "kind": "info_session",
            "title": "Infosessie met één plaats",
            "theme": "digitale drempels",
            "lead": "vvsg",
            "format": "physical",
            "location": "Bischoffsheimlaan 1-8, 1000 Brussel",
            "starts_at": brussels(day, 14),
            "ends_at": brussels(day, 17),
            "capacity": 1,
        }
        response = httpx.post(f"{events.url}/sessions", json=body, headers=staff)
        assert response.status_code == 201, response.text
        session_id = response.json()["id"]
        page = browser.new_context(locale="nl-BE").new_page()
        for name, address, outcome in (
            ("Sam Buiten", "sam@buiten.example", "Je bent ingeschreven"),
            ("Kim Wacht", "kim@wacht.example", "Je staat op de wachtlijst"),
        ):
            page.goto(f"{events.url}/agenda/{session_id}")
            page.get_by_label("Naam", exact=True).fill(name)
            page.get_by_label("E-mailadres").fill(address)
            page.get_by_label("Organisatie", exact=True).fill("Vzw De Brug")
            page.get_by_label("Soort organisatie").select_option("middenveldorganisatie")
            page.get_by_role("button", name="Schrijf me in").click()
            assert page.locator("h1").inner_text() == "Bevestig je inschrijving"
            [optin] = catcher.wait_for(address)  # the opt-in: its link, then the page's button
            link = re.search(
                re.escape(events.url) + r"/agenda/bevestigen/[A-Za-z0-9_-]+", optin.part("plain")
            )
            assert link is not None, optin.part("plain")
            page.goto(link.group(0))
            page.get_by_role("button", name="Bevestig mijn inschrijving").click()
            assert page.locator("h1").inner_text() == outcome
        [_, confirmation] = catcher.wait_for("sam@buiten.example", n=2)
        found = re.search(
            re.escape(events.url) + r"/agenda/afmelden/[A-Za-z0-9_-]+", confirmation.part("plain")
        )
        assert found is not None, confirmation.part("plain")
        page.goto(found.group(0))
        assert page.locator("h1").inner_text() == "Afmelden"
        results = Axe().run(page)
        assert [
            v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")
        ] == []
        page.get_by_role("button", name="Meld me af").click()
        assert page.locator("h1").inner_text() == "Je bent afgemeld"
        [_, _, moved] = catcher.wait_for("kim@wacht.example", n=3)
        assert moved.message["Subject"] == "Er is een plaats vrijgekomen: Infosessie met één plaats"
        time.sleep(1.0)  # a few more rounds of the sender: a second mail would show now
        assert (len(catcher.to("sam@buiten.example")), len(catcher.to("kim@wacht.example"))) == (2, 3)
    finally:
        catcher.stop()
