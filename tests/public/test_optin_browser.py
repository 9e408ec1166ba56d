"""The opt-in and an outsider's own data in Debian's Chromium, against the events service running as a
process on the real broker with a real SMTP server (aiosmtpd) for its mails: an outsider signs up,
follows the link of "bevestig je inschrijving" and confirms with the page's button, asks for their
data, opens the mailed link, sees what is kept and erases it; the old cancel link then shows the
Dutch 'link werkt niet meer' page. Every page on the way (the check-your-mail page, the confirm page,
the data form empty and with an error, the data page, the erased page, the dead link) passes axe-core
without a serious or critical violation, asks for nothing from elsewhere, runs into no
Content-Security-Policy block and fits a phone's width."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import infra
from tests.browser import RECORD_VIOLATIONS, open_page_problems
from tests.integration.test_newsletter_mailserver import MailCatcher
from tests.public.conftest import brussels, in_days
from tests.public.test_browser import ARTEFACTS

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_opt_in_and_own_data_pages_in_the_browser(
    services: Callable[..., infra.ServiceProcess],
    tmp_path: Path,
    browser: Any,
) -> None:
    catcher = MailCatcher().start()
    try:
        events = services(
            "events",
            f"sqlite:///{tmp_path}/events.db",
            PUBLIC_RATE_PER_MINUTE="10000",
            SMTP_PORT=str(catcher.port),
            SIGNUP_MAIL_POLL_SECONDS="0.2",
        )
        base = events.url
        day = in_days(15)
        body = {
            "kind": "info_session",
            "title": "Infosessie digitale drempels",
            "theme": "digitale drempels",
            "lead": "vvsg",
            "format": "physical",
            "location": "Bischoffsheimlaan 1-8, 1000 Brussel",
            "starts_at": brussels(day, 14),
            "ends_at": brussels(day, 17),
            "capacity": 10,
        }
        created = httpx.post(f"{base}/sessions", json=body, headers=infra.auth("staff"))
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        problems: dict[str, Any] = {}
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE")
        page = context.new_page()
        elsewhere: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))
        page.add_init_script(RECORD_VIOLATIONS)

        def check(name: str) -> None:
            found = open_page_problems(page, elsewhere, ARTEFACTS / f"{name}-360.png")
            if found:
                problems[name] = found

        page.goto(f"{base}/agenda/{session_id}")
        page.get_by_label("Naam", exact=True).fill("Sam Buiten")
        page.get_by_label("E-mailadres").fill("sam@buiten.example")
        page.get_by_label("Organisatie", exact=True).fill("Vzw De Brug")
        page.get_by_label("Soort organisatie").select_option("middenveldorganisatie")
        page.get_by_role("button", name="Schrijf me in").click()
        assert page.locator("h1").inner_text() == "Bevestig je inschrijving"
        check("kijk-in-je-mailbox")

        [optin_mail] = catcher.wait_for("sam@buiten.example")
        confirm = re.search(re.escape(base) + r"/agenda/bevestigen/[A-Za-z0-9_-]+", optin_mail.part("plain"))
        assert confirm is not None, optin_mail.part("plain")
        page.goto(confirm.group(0))
        assert page.locator("h1").inner_text() == "Bevestig je inschrijving"
        check("bevestigen")
        page.get_by_role("button", name="Bevestig mijn inschrijving").click()
        assert page.locator("h1").inner_text() == "Je bent ingeschreven"
        [_, confirmation] = catcher.wait_for("sam@buiten.example", n=2)
        cancel = re.search(re.escape(base) + r"/agenda/afmelden/[A-Za-z0-9_-]+", confirmation.part("plain"))
        assert cancel is not None, confirmation.part("plain")

        page.goto(f"{base}/agenda")
        page.get_by_role("link", name="Mijn gegevens bekijken of wissen").click()
        assert page.locator("h1").inner_text() == "Mijn gegevens"
        check("mijn-gegevens")
        page.get_by_role("button", name="Stuur me een link").click()
        assert page.get_by_role("alert").inner_text().startswith("Er ontbreekt nog iets")
        assert page.title().startswith("Fout: ")
        check("mijn-gegevens-fout")
        page.get_by_label("E-mailadres").fill("sam@buiten.example")
        page.get_by_role("button", name="Stuur me een link").click()
        assert page.locator("h1").inner_text() == "Kijk in je mailbox"

        data_mail = catcher.wait_for("sam@buiten.example", n=3)[2]
        link = re.search(re.escape(base) + r"/agenda/mijn-gegevens/[A-Za-z0-9_-]+", data_mail.part("plain"))
        assert link is not None, data_mail.part("plain")
        page.goto(link.group(0))
        assert page.locator("h2").first.inner_text() == "Infosessie digitale drempels"
        assert "Vzw De Brug" in page.locator("main").inner_text()
        check("mijn-gegevens-link")
        page.get_by_role("button", name="Wis mijn gegevens").click()
        assert page.locator("h1").inner_text() == "Je gegevens zijn gewist"
        check("gewist")

        page.goto(cancel.group(0))
        assert page.locator("h1").inner_text() == "Deze link werkt niet (meer)"
        check("dode-link")
        context.close()
        assert problems == {}
    finally:
        catcher.stop()
