"""The back office's KPI screen writes its figures the nl-BE way and keeps them on a phone's screen.

Over HTTP: the real KPI service, fed a scripted year (tests/kpi_year.py) through the real Kafka broker,
and the back office in this process (signed in with the session cookie its sign-in sets): "3,5 uur",
"1 sessie", "2 nieuwsbrieven", never a decimal point. In Debian's Chromium at 390 px wide (signed in
through Keycloak): every figure of the KPI table and of the feedback list (against the real events and
feedback services) lies within the viewport, and both screens pass axe-core."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.backoffice.app import build
from services.backoffice.kpi import number, quantity
from services.backoffice.session import SESSION_COOKIE, StaffSession, cookie_key
from services.backoffice.settings import BackofficeSettings
from tests import infra, kpi_year
from tests.backoffice.test_browser import accessible, keep, sign_in

PHONE = {"width": 390, "height": 844}
NBSP = "\u00a0"
# every cell of a table body and where it lies; a cell that has scrolled out of its box counts as outside
CELLS = """(selector) => Array.from(document.querySelectorAll(selector)).map((cell) => {
  const box = cell.getBoundingClientRect();
  return {text: cell.innerText.trim(), left: box.left, right: box.right, width: box.width};
})"""


def publish(bootstrap: str, prefix: str, records: list[tuple[str, bytes, bytes]]) -> None:
    """Onto this test's topics, as the producers' outboxes would (in a thread: Playwright's sync API
    keeps an event loop in this one)."""
    batch: list[tuple[str, bytes | None, bytes | None]] = [(prefix + t, k, v) for t, k, v in records]
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, infra.produce(bootstrap, batch)).result()


@pytest.fixture
def kpi_with_a_year(
    services: Callable[..., infra.ServiceProcess], kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> infra.ServiceProcess:
    """The KPI service once it has counted the scripted year 2025 (3,5 participant hours of infosessions)."""
    kpi = services("kpi", f"sqlite:///{tmp_path}/kpi.db")
    publish(kafka_bootstrap, topic_prefix, kpi_year.envelope_records(kpi_year.year_data()))

    def counted() -> bool:
        answer = kpi.client().get(f"/kpis/{kpi_year.YEAR}").json()
        found = {k["code"]: k["value"] for k in answer["kpis"]}
        return all(found.get(code) == value for code, value in kpi_year.EXPECTED.items())

    infra.wait_until(counted, 60, 0.3, "the KPI service to count the scripted year")
    return kpi


def figures(html: str) -> dict[str, tuple[str, str]]:
    """KPI code -> (Waarde, Doel) as the page shows them."""
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL):
        code = re.search(r'<td class="code">([^<]*)</td>', row)
        value = re.search(r'<td class="figure" data-label="Waarde">([^<]*)</td>', row)
        target = re.search(r'<td class="figure" data-label="Doel">([^<]*)</td>', row)
        if code and value and target:
            found[code.group(1)] = (value.group(1), target.group(1))
    return found


# ---- the number format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (1, "sessies", f"1{NBSP}sessie"),
        (2, "sessies", f"2{NBSP}sessies"),
        (0, "leden", f"0{NBSP}leden"),
        (1, "leden", f"1{NBSP}lid"),
        (1, "besturen", f"1{NBSP}bestuur"),
        (7.5, "uren", f"7,5{NBSP}uur"),
        (1.0, "uren", f"1{NBSP}uur"),
        (33.3, "%", f"33,3{NBSP}%"),
        (5.0, "score", "5"),
        (4.25, "score", "4,25"),
        (1234, "leden", f"1.234{NBSP}leden"),
        (12345.5, "uren", f"12.345,5{NBSP}uur"),
        (3, "onbekend", f"3{NBSP}onbekend"),
        (None, "leden", "–"),
    ],
)
def test_a_figure_is_written_with_a_decimal_comma_and_its_unit_in_the_right_number(
    value: float | None, unit: str, shown: str
) -> None:
    assert quantity(value, unit) == shown


def test_a_number_has_at_most_two_decimals_and_no_trailing_zeros() -> None:
    assert [number(v) for v in (0, 0.0, 2.50, 1 / 3, 1000000)] == ["0", "0", "2,5", "0,33", "1.000.000"]


@pytest.mark.e2e
def test_the_kpi_screen_shows_the_services_figures_the_nl_be_way(
    kpi_with_a_year: infra.ServiceProcess,
) -> None:
    closed = f"http://127.0.0.1:{infra.free_port()}"  # nothing listens there
    settings = BackofficeSettings(
        auth_secret=infra.AUTH_SECRET,
        oidc_issuer="",
        members_url=closed,
        events_url=closed,
        feedback_url=closed,
        newsletter_url=closed,
        kpi_url=kpi_with_a_year.url,
    )
    staff = StaffSession.new("sam.staff@vvsg.be", "Sam", "staff", 30)
    client = TestClient(build(settings), base_url="http://127.0.0.1", follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, staff.seal(cookie_key(infra.AUTH_SECRET, "session")))

    page = client.get("/kpi", params={"jaar": kpi_year.YEAR})
    assert page.status_code == 200
    shown = figures(page.text)
    answer = kpi_with_a_year.client().get(f"/kpis/{kpi_year.YEAR}").json()["kpis"]
    assert set(shown) == {k["code"] for k in answer}  # every KPI, each with its value and target
    assert shown["OD1.2-deelnemersuren"][0] == f"3,5{NBSP}uur"
    assert shown["OD2.2-deelnemersuren"][0] == f"6{NBSP}uur"
    assert shown["OD1.2-infosessies"][0] == f"1{NBSP}sessie"
    assert shown["OD1.3-nieuwsbrieven"][0] == f"2{NBSP}nieuwsbrieven"
    assert shown["OD1.3-artikels"][0] == f"1{NBSP}artikel"
    # a target in the same words ("–" when the KPI has none); no figure of this year reaches a thousand,
    # so no cell may hold a point at all
    for kpi in answer:
        assert shown[kpi["code"]][1] == quantity(kpi["target"], kpi["unit"]), kpi["code"]
    assert not [cell for pair in shown.values() for cell in pair if "." in cell]


# ---- a phone's width ----------------------------------------------------------------------------


def within(page: Any, selector: str) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = page.evaluate(CELLS, selector)
    assert cells, f"no cells for {selector}"
    return [c for c in cells if c["left"] < 0 or c["right"] > PHONE["width"] or c["width"] == 0]


@pytest.mark.browser
@pytest.mark.e2e
def test_at_390_px_every_figure_of_the_kpi_table_and_the_feedback_list_is_on_screen(
    services: Callable[..., infra.ServiceProcess],
    kpi_with_a_year: infra.ServiceProcess,
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    artefacts: Path,
    tmp_path: Path,
) -> None:
    with ThreadPoolExecutor(2) as pool:  # two start-ups at once: this machine's two cores
        starting = [
            pool.submit(services, name, f"sqlite:///{tmp_path}/{name}.db") for name in ("events", "feedback")
        ]
        events_service, feedback = (future.result() for future in starting)
    office = backoffice(KPI_URL=kpi_with_a_year.url, EVENTS_URL=events_service.url, FEEDBACK_URL=feedback.url)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    planned = events_service.client().post(
        "/sessions",
        json={
            "kind": "info_session",
            "title": "Infosessie over digitale drempels bij het aanvragen van een premie",
            "theme": "digitale drempels",
            "lead": "vvsg",
            "format": "online",
            "starts_at": f"{yesterday.isoformat()}T10:00:00+01:00",
            "ends_at": f"{yesterday.isoformat()}T12:00:00+01:00",
        },
    )
    assert planned.status_code == 201, planned.text
    session_id = planned.json()["id"]
    assert events_service.client().post(f"/sessions/{session_id}/held").status_code == 200
    infra.wait_until(
        lambda: feedback.client().get(f"/sessions/{session_id}/summary").json().get("held_on"),
        30,
        0.2,
        "the feedback service to know the session held",
    )

    page = browser.new_context(viewport=PHONE, locale="nl-BE").new_page()
    sign_in(page, office.url, "sam.staff", f"/kpi?jaar={kpi_year.YEAR}")
    hours = page.locator("tbody tr", has_text="OD1.2-deelnemersuren").locator("td[data-label=Waarde]")
    assert hours.inner_text().replace(NBSP, " ") == "3,5 uur"
    outside = within(page, "tbody td[data-label]")
    assert len(page.evaluate(CELLS, "tbody td[data-label]")) == 3 * page.locator("tbody tr").count()
    assert not outside, f"KPI cells outside the 390 px viewport: {outside[:5]}"
    accessible(page, "kpi op een telefoon")
    page.screenshot(path=str(artefacts / "kpi-telefoon-390.png"), full_page=True)

    page.goto(f"{office.url}/feedback?jaar={yesterday.year}")
    row = page.locator("tbody tr", has_text="Infosessie over digitale drempels")
    assert row.count() == 1
    outside = within(page, "tbody td")
    assert not outside, f"feedback cells outside the 390 px viewport: {outside[:5]}"
    headers = within(page, "thead th")
    assert not headers, f"feedback headers outside the 390 px viewport: {headers[:5]}"
    accessible(page, "feedback op een telefoon")
    page.screenshot(path=str(artefacts / "feedback-telefoon-390.png"), full_page=True)
    keep(page, artefacts, "kpi-en-feedback-telefoon")  # the same screen at 1280 px and 390 px
