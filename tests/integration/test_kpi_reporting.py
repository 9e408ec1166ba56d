"""The KPI service's reporting API on a real database (SQLite and PostgreSQL): freezing, differences,
the yearly report in HTML, XLSX and CSV, and the monthly series. The read models are filled by the
projection itself; the broker plays no part here (see tests/e2e/test_kpi_rebuild.py for that)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlmodel import Session

from services.kpi import nl, projection
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


@pytest.fixture
def client(generations: Generations) -> Iterator[TestClient]:
    app = FastAPI()
    install_handlers(app)
    app.include_router(router)
    app.include_router(dashboard_router)
    app.state.settings = Settings(service_name="kpi", auth_secret=infra.AUTH_SECRET)
    app.state.generations = generations
    app.state.changes = Changes()
    with TestClient(app) as test_client:
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
