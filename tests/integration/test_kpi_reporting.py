"""The KPI service's reporting API on a real database (SQLite and PostgreSQL): freezing, differences,
explanations, the yearly report in HTML, PDF, XLSX and CSV, `vvsg report` against the service over HTTP,
and the monthly series. The read models are filled by the projection itself; the broker plays no part
here (see tests/e2e/test_kpi_rebuild.py for that).

The PDF and the page width are checked in a real headless Chromium (and poppler's pdftotext/pdftoppm);
those tests run on SQLite only, as the database plays no part in how a page is laid out."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlmodel import Session

from services.kpi import nl, pdf, projection, report
from services.kpi.api import router
from services.kpi.app import MIGRATIONS
from services.kpi.dashboard import router as dashboard_router
from services.kpi.generations import Generations
from services.kpi.live import Changes
from shared import events
from shared.db import migrate
from shared.errors import install_handlers
from shared.settings import Settings
from tests import infra, kpi_year

pytestmark = pytest.mark.integration

LATE = datetime(2026, 1, 20, 9, tzinfo=UTC)


def _apply(generations: Generations, batch: list[events.Event]) -> None:
    with Session(generations.active().engine) as session:
        for event in batch:
            projection.apply(session, [event])
        session.commit()


@pytest.fixture
def generations(database_url: str) -> Iterator[Generations]:
    found = Generations(database_url)
    migrate(found.base, MIGRATIONS)
    _apply(found, kpi_year.decoded(kpi_year.year_data()))
    yield found
    found.dispose()


def _app(generations: Generations) -> FastAPI:
    app = FastAPI()
    install_handlers(app)
    app.include_router(router)
    app.include_router(dashboard_router)
    app.state.settings = Settings(service_name="kpi", auth_secret=infra.AUTH_SECRET)
    app.state.generations = generations
    app.state.changes = Changes()
    return app


@pytest.fixture
def client(generations: Generations) -> Iterator[TestClient]:
    with TestClient(_app(generations)) as test_client:
        yield test_client


@pytest.fixture
def sqlite_generations(tmp_path: Path) -> Iterator[Generations]:
    found = Generations(f"sqlite:///{tmp_path}/kpi.db")
    migrate(found.base, MIGRATIONS)
    _apply(found, kpi_year.decoded(kpi_year.year_data()))
    yield found
    found.dispose()


@pytest.fixture
def sqlite_client(sqlite_generations: Generations) -> Iterator[TestClient]:
    with TestClient(_app(sqlite_generations)) as test_client:
        yield test_client


def _values(answer: dict[str, object]) -> dict[str, object]:
    return {k["code"]: k["value"] for k in answer["kpis"]}  # type: ignore[attr-defined, index]


def test_a_frozen_report_stays_frozen_after_a_correction(
    client: TestClient, generations: Generations
) -> None:
    assert client.post("/kpis/2025/freeze", headers=infra.auth("staff")).status_code == 201
    before = client.get("/kpis/2025/frozen", headers=infra.auth("viewer"))
    _apply(generations, kpi_year.decoded(kpi_year.corrections(), LATE))
    after = client.get("/kpis/2025/frozen", headers=infra.auth("viewer"))
    live = client.get("/kpis/2025", headers=infra.auth("viewer")).json()
    assert (before.status_code, after.content) == (200, before.content)
    assert {c: _values(after.json()["report"])[c] for c in kpi_year.AFTER_CORRECTIONS} == {
        c: kpi_year.EXPECTED[c] for c in kpi_year.AFTER_CORRECTIONS
    }
    assert {c: _values(live)[c] for c in kpi_year.AFTER_CORRECTIONS} == kpi_year.AFTER_CORRECTIONS


def test_differences_list_the_kpis_a_late_correction_changed(
    client: TestClient, generations: Generations
) -> None:
    client.post("/kpis/2025/freeze", headers=infra.auth("staff"))
    assert client.get("/kpis/2025/differences", headers=infra.auth("viewer")).json()["differences"] == []
    _apply(generations, kpi_year.decoded(kpi_year.corrections(), LATE))
    found = client.get("/kpis/2025/differences", headers=infra.auth("viewer")).json()["differences"]
    by_code = {d["code"]: d for d in found}
    assert {"OD1.2-deelnemersuren", "OD1.3-artikels"} <= set(by_code)
    assert (
        by_code["OD1.2-deelnemersuren"]["frozen"]["value"],
        by_code["OD1.2-deelnemersuren"]["current"]["value"],
    ) == (
        3.5,
        5.5,
    )
    assert [i["title"] for i in by_code["OD1.3-artikels"]["items_added"]] == ["Laat gemeld artikel"]


def test_a_year_is_frozen_once_and_only_by_staff(client: TestClient) -> None:
    assert client.post("/kpis/2025/freeze", headers=infra.auth("viewer")).status_code == 403
    assert client.post("/kpis/2025/freeze", headers=infra.auth("staff")).status_code == 201
    assert client.post("/kpis/2025/freeze", headers=infra.auth("admin")).status_code == 409
    assert client.get("/kpis/2024/frozen", headers=infra.auth("viewer")).status_code == 404


def test_the_database_refuses_to_change_a_frozen_report(client: TestClient, generations: Generations) -> None:
    client.post("/kpis/2025/freeze", headers=infra.auth("staff"))
    with pytest.raises(Exception, match="never changes"), generations.base.begin() as connection:
        connection.execute(text("UPDATE kpi_frozen_reports SET frozen_by = 'iemand anders'"))


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.goals: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and "goal" in (found.get("class") or ""):
            self.goals.append(found.get("id") or "")
        if tag in ("link", "script", "img") and (found.get("href") or found.get("src")):
            self.external.append(found.get("href") or found.get("src") or "")


def test_the_html_report_has_one_section_per_goal_and_prints_each_on_its_own_page(client: TestClient) -> None:
    response = client.get("/kpis/2025/report.html", headers=infra.auth("viewer"))
    parser = _Sections()
    parser.feed(response.text)
    assert parser.goals == [g.key for g in nl.GOALS]
    assert parser.external == []
    assert "@page" in response.text and "section.goal { break-before: page" in response.text


def test_the_xlsx_report_holds_numbers_and_dates_with_one_sheet_per_goal(client: TestClient) -> None:
    response = client.get("/kpis/2025/report.xlsx", headers=infra.auth("viewer"))
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == [nl.TEXT["summary"], *(g.sheet for g in nl.GOALS)]
    rows = list(workbook["SD1 Kennisdeling"].iter_rows(values_only=True))
    kpi_row = next(r for r in rows if r[1] == "Deelnemersuren aan infosessies getrokken door VVSG")
    session_row = next(r for r in rows if r[0] == "Infosessie digitale drempels")
    assert (kpi_row[2], kpi_row[5]) == (3.5, 100)  # this year's value, the target
    assert isinstance(session_row[1], datetime) and session_row[1].date() == date(2025, 4, 15)
    assert session_row[6:8] == (2, 3.5)  # participants, participant hours


def _csv(client: TestClient, url: str, delimiter: str = ";") -> list[dict[str, str]]:
    response = client.get(url, headers=infra.auth("viewer"))
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=delimiter))


def test_the_csv_report_is_one_table_of_kpis_for_belgian_excel_by_default(client: TestClient) -> None:
    rows = _csv(client, "/kpis/2025/report.csv")
    kpi_rows = {r["Code"]: r for r in rows}
    live = client.get("/kpis/2025", headers=infra.auth("viewer")).json()
    assert len(rows) == len(live["kpis"]) and set(kpi_rows) == {k["code"] for k in live["kpis"]}
    assert kpi_rows["OD1.2-deelnemersuren"]["Waarde"] == "3,5"  # decimal comma
    assert kpi_rows["feedback-gevraagd"]["Waarde"] == "33,3"
    assert kpi_rows["OD1.2-deelnemersuren"]["Eenheid"] == "uur"
    assert (kpi_rows["OD3.1-bevraging"]["Waarde"], kpi_rows["OD3.1-bevraging"]["Eenheid"]) == (
        "1",
        "bevraging",
    )
    assert (kpi_rows["OD1.1-leden"]["Vorig jaar"], kpi_rows["OD1.1-leden"]["Verschil"]) == ("1", "2")


def test_the_csv_details_are_a_separate_table_and_rfc4180_is_a_choice(client: TestClient) -> None:
    details = _csv(client, "/kpis/2025/report-details.csv")
    assert any(r["Veld"] == "Datum" and r["Inhoud"] == "15/04/2025" for r in details)
    assert any(r["Veld"] == "Met Mediawijs" and r["Inhoud"] == "Ja" for r in details)
    plain = _csv(client, "/kpis/2025/report-details.csv?dialect=rfc4180", delimiter=",")
    assert any(r["Veld"] == "Datum" and r["Inhoud"] == "2025-04-15" for r in plain)
    by_code = {r["Code"]: r for r in _csv(client, "/kpis/2025/report.csv?dialect=rfc4180", delimiter=",")}
    assert by_code["OD1.2-deelnemersuren"]["Waarde"] == "3.5"
    assert client.get("/kpis/2025/report.csv?dialect=fr", headers=infra.auth("viewer")).status_code == 422


def test_the_frozen_report_renders_as_it_was_frozen(client: TestClient, generations: Generations) -> None:
    client.post("/kpis/2025/freeze", headers=infra.auth("staff"))
    _apply(generations, kpi_year.decoded(kpi_year.corrections(), LATE))
    frozen = client.get("/kpis/2025/report.html?frozen=true", headers=infra.auth("viewer")).text
    live = client.get("/kpis/2025/report.html", headers=infra.auth("viewer")).text
    assert "Laat gemeld artikel" not in frozen and "Bevroren rapport" in frozen
    assert "Laat gemeld artikel" in live


def test_the_monthly_series_are_cumulative_up_to_each_month_end(client: TestClient) -> None:
    answer = client.get("/kpis/2025/series", headers=infra.auth("viewer")).json()
    series = {s["code"]: s["values"] for s in answer["series"]}
    assert len(answer["months"]) == 12 and answer["months"][0] == "2025-01-31"
    assert series["OD1.1-bijeenkomsten-algemeen"] == [0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2]
    assert series["OD1.2-deelnemersuren"][2:4] == [0, 3.5]
    assert series["OD1.1-leden"][:6] == [1, 2, 3, 4, 4, 3]  # a stock: members on each month's last day
    assert "feedback-respons" not in series


def test_every_answer_names_the_targets_version_it_used(client: TestClient) -> None:
    assert client.get("/kpis/2025", headers=infra.auth("viewer")).json()["targets_version"] == "default@1"


def test_the_dashboard_page_is_public_and_loads_nothing_from_elsewhere(client: TestClient) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "http://" not in response.text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in response.text


# --- hostile and broken text never breaks or runs in an export ---------------------------------

EVIL_NAME = '=HYPERLINK("http://evil.example/x","klik")'
EVIL_ORG = uuid.UUID("00000000-0000-0000-0000-00000000e0e1")


def _hostile_year() -> list[events.EventData]:
    """What a producer could publish: an organisation named like a formula, advice on `=1+2`, and a
    trajectory description holding a backspace (U+0008), which XML (so XLSX) cannot hold."""
    return [
        events.OrganisationRegistered(
            organisation_id=EVIL_ORG, name=EVIL_NAME, kind="lokaal_bestuur", registered_on=date(2025, 1, 2)
        ),
        events.AdviceGiven(
            advice_id=uuid.UUID("00000000-0000-0000-0000-00000000e0e2"),
            organisation_id=EVIL_ORG,
            given_on=date(2025, 2, 3),
            topic="=1+2",
            channel="mail",
            with_mediawijs=False,
        ),
        events.SupportTrajectoryStarted(
            trajectory_id=uuid.UUID("00000000-0000-0000-0000-00000000e0e3"),
            organisation_id=EVIL_ORG,
            started_on=date(2025, 3, 4),
            stage="growing",
            methodology="-Wisselaar",
            description="a\u0008b",
        ),
    ]


def test_hostile_and_broken_text_is_plain_text_in_the_xlsx_and_csv(
    client: TestClient, generations: Generations
) -> None:
    _apply(generations, kpi_year.decoded(_hostile_year(), LATE))
    xlsx = client.get("/kpis/2025/report.xlsx", headers=infra.auth("viewer"))
    assert xlsx.status_code == 200
    cells = [c for sheet in load_workbook(io.BytesIO(xlsx.content)) for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert "'" + EVIL_NAME in texts and "'=1+2" in texts and "'-Wisselaar" in texts
    assert "a\ufffdb" in texts
    assert not any(t.startswith(("=", "+", "-", "@")) for t in texts)

    details = _csv(client, "/kpis/2025/report-details.csv")
    contents = [r["Inhoud"] for r in details]
    assert "'" + EVIL_NAME in contents and "'=1+2" in contents and "a\ufffdb" in contents
    every_field = [v for r in details + _csv(client, "/kpis/2025/report.csv") for v in r.values()]
    assert not any(v.startswith(("=", "+", "@")) for v in every_field)
    page = client.get("/kpis/2025/report.html", headers=infra.auth("viewer")).text
    assert "=HYPERLINK(&quot;http://evil.example/x&quot;" in page and '<a href="http://evil' not in page


# --- as_of is a day of the asked year -------------------------------------------------------------


@pytest.mark.parametrize(
    "as_of", ["2024-12-31", "2026-01-01", "4.9e-269", "0", "1700000000", "2025-02-30", "2025-1-5"]
)
def test_an_as_of_outside_the_year_or_not_a_day_is_a_422(sqlite_client: TestClient, as_of: str) -> None:
    for path in ("/kpis/2025", "/kpis/2025/series", "/kpis/2025/report.csv"):
        response = sqlite_client.get(path, params={"as_of": as_of}, headers=infra.auth("viewer"))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", "as_of"]


def test_an_as_of_inside_the_year_answers_for_that_day_and_the_schema_says_what_it_takes(
    sqlite_client: TestClient,
) -> None:
    answer = sqlite_client.get("/kpis/2025?as_of=2025-06-30", headers=infra.auth("viewer")).json()
    assert answer["as_of"] == "2025-06-30"
    schema = sqlite_client.app.openapi()  # type: ignore[attr-defined]
    parameter = next(p for p in schema["paths"]["/kpis/{year}"]["get"]["parameters"] if p["name"] == "as_of")
    assert r"^\d{4}-\d{2}-\d{2}$" in json.dumps(parameter["schema"]).replace("\\\\", "\\")
    assert "422" in schema["paths"]["/kpis/{year}"]["get"]["responses"]


# --- explanations (toelichting) -------------------------------------------------------------------

WHY = "Twee overlegmomenten vielen samen met de stuurgroep.\nZe worden in 2026 ingehaald."


def test_staff_write_an_explanation_and_viewers_read_it_without_who_wrote_it(client: TestClient) -> None:
    url = "/kpis/2025/explanations/afstemming-overleg"
    assert client.put(url, json={"text": WHY}, headers=infra.auth("viewer")).status_code == 403
    written = client.put(url, json={"text": WHY}, headers=infra.auth("staff", "an@vvsg.be"))
    assert written.status_code == 200, written.text
    assert (written.json()["text"], written.json()["written_by"]) == (WHY, "an@vvsg.be")
    assert client.put(url, json={"text": "a\u0008b"}, headers=infra.auth("staff")).status_code == 422
    assert client.put(url, json={"text": "  "}, headers=infra.auth("staff")).status_code == 422
    unknown = client.put(
        "/kpis/2025/explanations/OD9.9-nergens", json={"text": "x"}, headers=infra.auth("staff")
    )
    assert unknown.status_code == 404
    for_viewer = client.get("/kpis/2025/explanations", headers=infra.auth("viewer")).json()
    for_staff = client.get("/kpis/2025/explanations", headers=infra.auth("admin")).json()
    assert [(e["code"], e["text"], e["written_by"]) for e in for_viewer] == [
        ("afstemming-overleg", WHY, None)
    ]
    assert for_staff[0]["written_by"] == "an@vvsg.be"


def test_the_explanation_is_in_every_form_of_the_report_and_frozen_with_it(client: TestClient) -> None:
    url = "/kpis/2025/explanations/afstemming-overleg"
    client.put(url, json={"text": WHY}, headers=infra.auth("staff", "an@vvsg.be"))
    viewer = infra.auth("viewer")
    page = client.get("/kpis/2025/report.html", headers=viewer).text
    assert "Twee overlegmomenten vielen samen met de stuurgroep.\nZe worden in 2026 ingehaald." in page
    assert "an@vvsg.be" not in page
    summary = load_workbook(io.BytesIO(client.get("/kpis/2025/report.xlsx", headers=viewer).content))[
        "Samenvatting"
    ]
    assert WHY in [c for row in summary.iter_rows(values_only=True) for c in row]
    rows = {r["Code"]: r for r in _csv(client, "/kpis/2025/report.csv")}
    assert rows["afstemming-overleg"]["Toelichting"] == WHY and rows["OD1.1-leden"]["Toelichting"] == ""

    assert client.post("/kpis/2025/freeze", headers=infra.auth("staff", "an@vvsg.be")).status_code == 201
    client.put(url, json={"text": "Later herschreven."}, headers=infra.auth("staff"))
    frozen_page = client.get("/kpis/2025/report.html?frozen=true", headers=viewer).text
    live_page = client.get("/kpis/2025/report.html", headers=viewer).text
    assert "vielen samen met de stuurgroep" in frozen_page and "Later herschreven." not in frozen_page
    assert "Later herschreven." in live_page
    frozen = client.get("/kpis/2025/frozen", headers=viewer)
    assert [e["text"] for e in frozen.json()["explanations"]] == [WHY]
    assert "an@vvsg.be" not in frozen.text and frozen.json()["frozen_by"] is None
    assert client.get("/kpis/2025/frozen", headers=infra.auth("staff")).json()["frozen_by"] == "an@vvsg.be"


# --- previous year, XLSX set-up, Dutch ------------------------------------------------------------


def test_every_kpi_shows_the_previous_year_and_the_change(client: TestClient) -> None:
    rows = list(
        load_workbook(io.BytesIO(client.get("/kpis/2025/report.xlsx", headers=infra.auth("viewer")).content))[
            "Samenvatting"
        ].iter_rows(values_only=True)
    )
    header = next(r for r in rows if r[0] == nl.TEXT["section"])
    assert header[3:6] == ("2025", "2024", "Verschil")
    by_code = {r[-1]: r for r in rows[rows.index(header) + 1 :]}
    live = client.get("/kpis/2025", headers=infra.auth("viewer")).json()
    assert set(by_code) == {k["code"] for k in live["kpis"]}
    assert by_code["OD1.1-leden"][3:6] == (3, 1, 2)  # 1 member on 31/12/2024, 3 a year later
    assert by_code["OD1.1-bijeenkomsten-algemeen"][3:6] == (2, 0, 2)


def test_the_workbook_is_ready_to_print_and_filter(client: TestClient) -> None:
    workbook = load_workbook(
        io.BytesIO(client.get("/kpis/2025/report.xlsx", headers=infra.auth("viewer")).content)
    )
    for sheet in workbook:
        assert sheet.freeze_panes is not None and sheet.auto_filter.ref, sheet.title
        header_row = int(sheet.freeze_panes[1:]) - 1
        assert sheet.auto_filter.ref.startswith(f"A{header_row}:")
        assert sheet[f"A{header_row}"].font.bold
        assert (sheet.page_setup.paperSize, sheet.page_setup.fitToWidth) == (9, 1)  # 9 = A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
    cells = [c for sheet in workbook for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if isinstance(c.value, bool)]
    summary = list(workbook["Samenvatting"].iter_rows())
    asked = next(r for r in summary if r[-1].value == "feedback-gevraagd")
    assert (round(asked[3].value, 3), asked[3].number_format) == (0.333, "0.0%")
    assert round(asked[6].value, 3) == 1.0 and asked[6].number_format == "0.0%"  # target 100 %
    advice = [c.value for row in workbook["SD3 Ondersteuning"].iter_rows() for c in row]
    assert "Ja" in advice  # with Mediawijs


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def test_the_report_speaks_dutch_without_internal_labels(client: TestClient) -> None:
    page = client.get("/kpis/2025/report.html", headers=infra.auth("viewer")).text
    reader = _Text()
    reader.feed(page)
    words = " ".join(reader.parts)
    assert "minstens 1 bevraging" in words and "minstens 1 bevragingen" not in words
    assert "1 dag" in words and "1 dagen" not in words
    assert "1 vergadering" in words and "3,5 uur" in words
    assert "default@1" not in words and "Minimumdoelen uit het meerjarenplan (versie 1)" in words
    assert not any(code in words for code in ("OD1.2-deelnemersuren", "afstemming-overleg", "feedback-"))
    assert " true" not in words.lower() and "False" not in words


# --- PDF and the screen width, in a real Chromium -------------------------------------------------


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout


def test_the_pdf_is_the_report_on_a4_a_page_per_goal_with_page_numbers(
    sqlite_client: TestClient, tmp_path: Path
) -> None:
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext") and pdf.chromium()):
        pytest.skip("needs Chromium and poppler-utils (bin/setup installs both)")
    sqlite_client.put(
        "/kpis/2025/explanations/afstemming-overleg", json={"text": WHY}, headers=infra.auth("staff")
    )
    response = sqlite_client.get("/kpis/2025/report.pdf", headers=infra.auth("viewer"))
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    path = tmp_path / "rapport.pdf"
    path.write_bytes(response.content)
    info = _run("pdfinfo", str(path))
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    assert "(A4)" in info and pages >= len(nl.GOALS) + 1
    texts = [
        _run("pdftotext", "-f", str(n), "-l", str(n), "-layout", str(path), "-") for n in range(1, pages + 1)
    ]
    for number, text_ in enumerate(texts, start=1):
        assert f"Pagina {number} van {pages}" in text_
        assert "stand op 31/12/2025" in text_
    tops = [" ".join(t.split())[:60] for t in texts]
    for goal in nl.GOALS:  # each goal starts a page of its own
        assert any(top.startswith(report.goal_heading(goal)[:40]) for top in tops), goal.key
    everything = " ".join(" ".join(t.split()) for t in texts)
    assert "Jaarrapport digitale inclusie 2025" in texts[0] and "Ze worden in 2026 ingehaald." in everything
    _run("pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "pagina"))
    images = sorted(tmp_path.glob("pagina-*.png"))
    assert len(images) == pages and all(i.stat().st_size > 1000 for i in images)


def test_the_html_report_fits_1280_pixels_without_sideways_scrolling(sqlite_client: TestClient) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = pdf.chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine (bin/setup installs it)")
    page_html = sqlite_client.get("/kpis/2025/report.html", headers=infra.auth("viewer")).text
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_content(page_html)
            width = page.evaluate("document.documentElement.scrollWidth")
            widest = page.evaluate(
                "Math.max(...[...document.querySelectorAll('table')]"
                ".map(t => t.getBoundingClientRect().right))"
            )
        finally:
            browser.close()
    assert width <= 1280 and widest <= 1280


# --- vvsg report over HTTP ------------------------------------------------------------------------


@pytest.fixture
def kpi_url(sqlite_generations: Generations) -> Iterator[str]:
    """The KPI routes served by a real uvicorn on a free port."""
    port = infra.free_port()
    server = uvicorn.Server(
        uvicorn.Config(_app(sqlite_generations), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    infra.wait_until(lambda: server.started, timeout=30, what="uvicorn started")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _vvsg(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> Any:
    from typer.testing import CliRunner

    from ops.cli import app as cli

    monkeypatch.setenv("KPI_URL", url)
    monkeypatch.setenv("AUTH_SECRET", infra.AUTH_SECRET)
    monkeypatch.delenv("VVSG_TOKEN", raising=False)
    return CliRunner().invoke(cli, list(args))


def test_vvsg_report_gets_its_figures_from_the_running_service(
    kpi_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./data/kpi.db to fall back on
    out = tmp_path / "r.xlsx"
    done = _vvsg(monkeypatch, kpi_url, "report", "--year", "2025", "--format", "xlsx", "--out", str(out))
    assert done.exit_code == 0, done.output
    rows = list(load_workbook(out)["Samenvatting"].iter_rows(values_only=True))
    assert next(r for r in rows if r[-1] == "OD1.1-bijeenkomsten-algemeen")[3] == 2
    csv_out = tmp_path / "r.csv"
    done = _vvsg(monkeypatch, kpi_url, "report", "--year", "2025", "--format", "csv", "--out", str(csv_out))
    assert done.exit_code == 0 and (tmp_path / "r-details.csv").exists(), done.output
    assert not (tmp_path / "data").exists()
    if pdf.chromium() is not None:
        pdf_out = tmp_path / "r.pdf"
        done = _vvsg(
            monkeypatch, kpi_url, "report", "--year", "2025", "--format", "pdf", "--out", str(pdf_out)
        )
        assert done.exit_code == 0 and pdf_out.read_bytes().startswith(b"%PDF-"), done.output


def test_vvsg_report_refuses_a_year_without_data_and_a_service_it_cannot_reach(
    kpi_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r.xlsx"
    empty = _vvsg(monkeypatch, kpi_url, "report", "--year", "2019", "--format", "xlsx", "--out", str(out))
    assert empty.exit_code == 1 and "geen gegevens voor 2019" in empty.output and not out.exists()
    old = _vvsg(monkeypatch, kpi_url, "report", "--year", "1999", "--out", str(out))
    assert old.exit_code == 2 and "tussen 2000 en 2100" in old.output and not out.exists()
    before = _vvsg(
        monkeypatch, kpi_url, "report", "--year", "2025", "--as-of", "2024-12-31", "--out", str(out)
    )
    assert before.exit_code == 1 and "Ongeldige vraag" in before.output and not out.exists()
    away = f"http://127.0.0.1:{infra.free_port()}"
    unreachable = _vvsg(monkeypatch, away, "report", "--year", "2025", "--out", str(out))
    assert unreachable.exit_code == 1 and "niet bereikbaar" in unreachable.output and not out.exists()
