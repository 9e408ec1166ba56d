"""A staff member in Debian's Chromium: signs in through Keycloak (authorization code + PKCE), adds an
organisation and a member through the screens against the real members service and Kafka, and finds
the member in the list; every screen passes axe-core; a viewer's and a stale form are refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from deploy import local_keycloak
from services.backoffice.session import SESSION_COOKIE
from tests import infra

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def sign_in(page: Any, base: str, username: str, path: str = "/") -> None:
    page.goto(f"{base}{path}")
    page.fill("#username", username)
    page.fill("#password", local_keycloak.USERS[username][0])
    page.click("#kc-login")
    page.wait_for_url(f"{base}{path}", timeout=60_000)


def accessible(page: Any, screen: str) -> None:
    results = Axe().run(page)
    grave = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert grave == [], f"{screen}: {grave}"


def keep(page: Any, artefacts: Path, name: str) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artefacts / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def members(services: Callable[..., infra.ServiceProcess], tmp_path: Path) -> infra.ServiceProcess:
    return services("members", f"sqlite:///{tmp_path}/members.db")


def test_staff_sign_in_add_an_organisation_and_a_member_and_find_them(
    members: infra.ServiceProcess,
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    artefacts: Path,
) -> None:
    office = backoffice(MEMBERS_URL=members.url)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE").new_page()
    sign_in(page, office.url, "sam.staff")
    assert page.locator("h1").inner_text().startswith("Welkom")
    assert "medewerker" in page.locator("header").inner_text()
    accessible(page, "overzicht")
    keep(page, artefacts, "overzicht")

    page.goto(f"{office.url}/organisaties/nieuw")
    accessible(page, "organisatie toevoegen")
    page.get_by_label("Naam (verplicht)").fill("Gemeente Zoersel")
    page.get_by_label("Soort (verplicht)").select_option("lokaal_bestuur")
    page.get_by_label("NIS-code").fill("123")
    page.get_by_role("button", name="Bewaren").click()
    error = page.locator("#fout-nis_code")
    assert error.inner_text() == "Een NIS-code bestaat uit 5 cijfers."
    assert page.locator("#veld-nis_code").get_attribute("aria-invalid") == "true"
    assert page.locator("#veld-name").input_value() == "Gemeente Zoersel"  # what was typed stays
    accessible(page, "organisatie met fouten")
    keep(page, artefacts, "organisatie-fouten")
    page.get_by_label("NIS-code").fill("11055")
    page.get_by_role("button", name="Bewaren").click()
    assert page.locator("h1").inner_text() == "Gemeente Zoersel"
    accessible(page, "organisatie")

    page.get_by_role("link", name="Lid toevoegen").click()
    page.get_by_label("Voornaam (verplicht)").fill("Lotte")
    page.get_by_label("Familienaam (verplicht)").fill("Peeters")
    page.get_by_label("E-mailadres (verplicht)").fill("lotte.peeters@zoersel.be")
    assert page.get_by_label("Organisatie (verplicht)").input_value() != ""
    accessible(page, "lid toevoegen")
    keep(page, artefacts, "lid-toevoegen")
    page.get_by_role("button", name="Bewaren").click()
    assert page.locator("h1").inner_text() == "Lotte Peeters"
    accessible(page, "lid")
    keep(page, artefacts, "lid")

    # move to another organisation, leave, rejoin: each a form on the member's page
    members.client().post("/organisations", json={"name": "Gemeente Malle", "kind": "lokaal_bestuur"})
    page.reload()
    page.get_by_label("Organisatie (verplicht)").select_option(label="Gemeente Malle")
    page.get_by_role("button", name="Verhuizen").click()
    assert "Gemeente Malle" in page.locator("dl.facts").inner_text()
    page.get_by_label("Vertrokken op").fill("2999-01-01")
    page.get_by_role("button", name="Vertrek bewaren").click()
    assert page.locator("#fout-left_on").inner_text() == "Geef een datum die niet in de toekomst ligt."
    accessible(page, "lid met fout")
    page.get_by_label("Vertrokken op").fill("")
    page.get_by_role("button", name="Vertrek bewaren").click()
    assert "vertrokken op" in page.locator("dl.facts").inner_text()
    page.get_by_role("button", name="Opnieuw lid").click()
    assert "actief lid" in page.locator("dl.facts").inner_text()
    page.goto(f"{office.url}/leden?organisation_id=")
    page.get_by_label("Organisatie").select_option(label="Gemeente Malle")
    page.get_by_role("button", name="Zoeken").click()
    row = page.locator("tbody tr", has_text="Lotte Peeters")
    assert "Gemeente Malle" in row.inner_text()

    page.goto(f"{office.url}/leden")
    row = page.locator("tbody tr", has_text="Lotte Peeters")
    assert "Gemeente Malle" in row.inner_text()
    accessible(page, "leden")
    keep(page, artefacts, "leden")
    page.goto(f"{office.url}/organisaties?q=Zoers")
    assert page.locator("tbody tr").count() == 1
    accessible(page, "organisaties")
    keep(page, artefacts, "organisaties")
    page.goto(f"{office.url}/activiteiten")  # the members service alone: no events service behind it
    assert page.locator("h1").inner_text() == "Even niet bereikbaar"
    accessible(page, "dienst niet bereikbaar")

    # the member is in the members service itself, registered by the signed-in person
    listed = members.client().get("/members", params={"q": "Peeters"}).json()
    assert [m["email"] for m in listed["items"]] == ["lotte.peeters@zoersel.be"]
    assert listed["items"][0]["updated_by"] == "sam.staff@vvsg.be"

    # signing out ends the session here and at the provider
    page.get_by_role("button", name="Afmelden").click()
    page.wait_for_url(f"{office.url}/afgemeld", timeout=60_000)
    page.goto(f"{office.url}/leden")
    assert page.locator("#username").count() == 1  # back at the provider's sign-in form


def test_a_viewer_cannot_register_and_a_tampered_or_stale_form_changes_nothing(
    members: infra.ServiceProcess,
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
) -> None:
    office = backoffice(MEMBERS_URL=members.url)
    context = browser.new_context(locale="nl-BE")
    page = context.new_page()
    sign_in(page, office.url, "vic.viewer", "/organisaties")
    assert page.get_by_role("link", name="Organisatie toevoegen").count() == 0
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    form = {"name": "Gemeente Lier", "kind": "lokaal_bestuur", "csrf": csrf}
    refused = page.request.post(f"{office.url}/organisaties/nieuw", form=form, max_redirects=0)
    assert refused.status == 403
    page.goto(f"{office.url}/leden")
    assert page.locator("h1").inner_text() == "Geen toegang"  # a viewer reads no personal data

    staff = browser.new_context(locale="nl-BE").new_page()
    sign_in(staff, office.url, "sam.staff")
    no_token = staff.request.post(
        f"{office.url}/organisaties/nieuw",
        form={"name": "Gemeente Lier", "kind": "lokaal_bestuur"},
        max_redirects=0,
    )
    assert no_token.status == 403
    anonymous = httpx.post(f"{office.url}/organisaties/nieuw", data=form)
    assert anonymous.status_code == 401

    assert members.client().get("/organisations").json()["total"] == 0


def test_an_account_without_a_mapped_role_gets_no_session(
    backoffice: Callable[..., infra.ServiceProcess], browser: Any
) -> None:
    office = backoffice()
    context = browser.new_context(locale="nl-BE")
    page = context.new_page()
    page.goto(f"{office.url}/leden")
    page.fill("#username", "nora.norole")
    page.fill("#password", local_keycloak.USERS["nora.norole"][0])
    page.click("#kc-login")
    page.wait_for_selector("h1", timeout=60_000)
    assert page.locator("h1").inner_text() == "Geen toegang"
    assert SESSION_COOKIE not in {cookie["name"] for cookie in context.cookies()}
    page.goto(f"{office.url}/leden")  # the provider still knows her: she is back at the refusal
    assert page.locator("h1").inner_text() == "Geen toegang"


def test_staff_read_the_kpis_download_the_report_and_freeze_the_year_after_confirming(
    services: Callable[..., infra.ServiceProcess],
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    artefacts: Path,
    tmp_path: Path,
) -> None:
    kpi = services("kpi", f"sqlite:///{tmp_path}/kpi.db")
    office = backoffice(KPI_URL=kpi.url)
    year = date.today().year
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE").new_page()
    sign_in(page, office.url, "sam.staff", "/kpi")
    assert page.locator("h1").inner_text() == f"KPI's {year}"
    assert page.locator("tbody tr").count() > 5
    accessible(page, "kpi")
    keep(page, artefacts, "kpi")

    workbook = page.request.get(f"{office.url}/kpi/{year}/rapport.xlsx")
    assert workbook.status == 200
    assert workbook.body()[:2] == b"PK"  # a zip: the XLSX as the KPI service made it

    page.get_by_role("button", name="Jaar afsluiten").click()
    assert page.locator("#fout-confirm").inner_text() == "Vink aan dat je het jaar wilt afsluiten."
    accessible(page, "kpi zonder bevestiging")
    assert kpi.client().get(f"/kpis/{year}/frozen").status_code == 404  # nothing frozen yet
    page.get_by_label(f"Ik wil het jaar {year} afsluiten").check()
    page.get_by_role("button", name="Jaar afsluiten").click()
    assert page.get_by_role("status").inner_text() == "Het jaar is afgesloten."
    assert kpi.client().get(f"/kpis/{year}/frozen").status_code == 200
    assert page.get_by_role("button", name="Jaar afsluiten").count() == 0


def test_a_whole_form_is_completed_with_the_keyboard_alone(
    members: infra.ServiceProcess,
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
) -> None:
    office = backoffice(MEMBERS_URL=members.url)
    page = browser.new_context(locale="nl-BE").new_page()
    sign_in(page, office.url, "sam.staff", "/organisaties/nieuw")

    def focused() -> str:
        return str(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))

    page.keyboard.press("Tab")
    assert focused() == "Naar de inhoud"  # the skip link comes first
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused() == "veld-name"
    page.keyboard.type("Stad Mechelen")
    page.keyboard.press("Tab")
    assert focused() == "veld-kind"
    page.keyboard.type("Lokaal")  # a focused list box picks the option that starts with what is typed
    page.keyboard.press("Tab")
    assert focused() == "veld-nis_code"
    page.keyboard.type("12025")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url(f"{office.url}/organisaties/*", timeout=30_000)
    assert page.locator("h1").inner_text() == "Stad Mechelen"
    listed = members.client().get("/organisations", params={"q": "Mechelen"}).json()["items"]
    assert [(o["kind"], o["nis_code"]) for o in listed] == [("lokaal_bestuur", "12025")]
