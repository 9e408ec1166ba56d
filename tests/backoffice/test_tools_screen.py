"""The back office's Hulpmiddelen screen (services/backoffice/tools.py) in Debian's Chromium against the
real newsletter service (a process on Kafka): staff add a tool, see a refusal in Dutch next to the
field, change it, take one out of the catalogue after confirming; a reader sees the list but no form.
Every screen passes axe-core. The screen is served by the back office's own app with this router
included, as services/backoffice/app.py will include it, by uvicorn in a thread; the person is signed
in with a sealed session cookie (the sign-in itself is tested in test_browser.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from services.backoffice import tools
from services.backoffice.app import build
from services.backoffice.session import SESSION_COOKIE, StaffSession, cookie_key
from services.backoffice.settings import BackofficeSettings
from services.newsletter.domain import today
from tests import infra
from tests.backoffice.test_browser import accessible, keep

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture
def office(services: Callable[..., infra.ServiceProcess], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(the back office's address, the newsletter service's address)"""
    newsletter = services(
        "newsletter", f"sqlite:///{tmp_path}/newsletter.db", SMTP_PORT=str(infra.free_port())
    )
    closed = f"http://127.0.0.1:{infra.free_port()}"  # nothing listens there
    settings = BackofficeSettings(
        auth_secret=infra.AUTH_SECRET,
        oidc_issuer="",
        members_url=closed,
        events_url=closed,
        feedback_url=closed,
        newsletter_url=newsletter.url,
        kpi_url=closed,
    )
    app = build(settings)
    app.include_router(tools.router)
    port = infra.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", newsletter.url
    finally:
        server.should_exit = True
        thread.join(10)


def _signed_in(browser: Any, base: str, role: str) -> Any:
    staff = StaffSession.new(f"{role}@vvsg.be", role.capitalize(), role, 30)  # type: ignore[arg-type]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE")
    sealed = staff.seal(cookie_key(infra.AUTH_SECRET, "session"))
    context.add_cookies([{"name": SESSION_COOKIE, "value": sealed, "url": base}])
    return context.new_page()


def test_staff_keep_the_catalogue_and_a_reader_only_reads_it(
    office: tuple[str, str],
    artefacts: Path,
    browser: Any,  # last: its event loop must not be running while the other fixtures set up
) -> None:
    base, newsletter = office
    day = today()
    page = _signed_in(browser, base, "staff")
    page.goto(f"{base}/hulpmiddelen")
    assert page.locator("h1").inner_text() == "Hulpmiddelen en handboeken"
    accessible(page, "hulpmiddelen (leeg)")

    page.fill("#veld-title", "Digibank-toolkit")
    page.fill("#veld-summary", "Stap voor stap een digibank opzetten.")
    page.fill("#veld-audience", "Lokale besturen")
    page.select_option("#veld-made_by", "together")
    page.fill("#veld-url", "javascript:alert(1)")
    page.fill("#veld-version", "1.0")
    page.fill("#veld-last_reviewed_on", (day - timedelta(days=400)).isoformat())
    page.fill("#veld-next_review_on", (day - timedelta(days=5)).isoformat())
    page.click("text=Hulpmiddel bewaren")
    assert "met http:// of https:// begint" in page.locator(".summary").inner_text()
    accessible(page, "hulpmiddel met een fout")
    assert httpx.get(f"{newsletter}/tools", headers=infra.auth("viewer")).json() == []  # nothing saved

    page.fill("#veld-url", "https://www.vvsg.be/kennisitem/vvsg/digibank-toolkit")
    page.click("text=Hulpmiddel bewaren")
    page.wait_for_selector("text=Bewaard.")
    assert page.locator("h1").inner_text() == "Digibank-toolkit"
    assert "(te laat)" in page.locator("dl.facts").inner_text()
    accessible(page, "hulpmiddel")
    keep(page, artefacts, "hulpmiddel")

    page.fill("#veld-version", "2.0")
    page.fill("#veld-next_review_on", (day + timedelta(days=360)).isoformat())
    page.click("text=Wijzigingen bewaren")
    page.wait_for_selector("text=Bewaard.")
    assert "(te laat)" not in page.locator("dl.facts").inner_text()
    [saved] = httpx.get(f"{newsletter}/tools", headers=infra.auth("viewer")).json()
    assert (saved["version"], saved["updated_on"]) == ("2.0", day.isoformat())

    page.click("text=Uit de catalogus halen >> nth=-1")  # without the confirmation: refused
    assert "Vink aan" in page.locator(".summary").inner_text()
    assert (
        httpx.get(f"{newsletter}/tools/{saved['id']}", headers=infra.auth("viewer")).json()["retired_on"]
        is None
    )
    page.check("#veld-confirm")
    page.click("button:has-text('Uit de catalogus halen')")
    page.wait_for_selector("text=Bewaard.")
    assert page.locator("form.card").count() == 0  # a retired tool has nothing left to change
    page.goto(f"{base}/hulpmiddelen")
    assert "Digibank-toolkit" in page.locator("#uit-catalogus").inner_text()
    accessible(page, "hulpmiddelen")
    keep(page, artefacts, "hulpmiddelen")

    reader = _signed_in(browser, base, "viewer")
    reader.goto(f"{base}/hulpmiddelen")
    assert reader.locator("form.card").count() == 0 and "Digibank-toolkit" in reader.content()
    refused = httpx.post(
        f"{base}/hulpmiddelen",
        data={"title": "x"},
        cookies={
            SESSION_COOKIE: StaffSession.new("v@vvsg.be", "V", "viewer", 30).seal(
                cookie_key(infra.AUTH_SECRET, "session")
            )
        },
    )
    assert refused.status_code == 403  # no CSRF token (and a reader's role): nothing saved
    assert (
        len(httpx.get(f"{newsletter}/tools", params={"state": "all"}, headers=infra.auth("viewer")).json())
        == 1
    )
