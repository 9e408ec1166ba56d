"""OD 3.1 tools KPIs from a hand-worked catalogue: the tools disclosed in the year and those past their
review date on day D, in any arrival order, on any date, and how the yearly report prints them.

The catalogue:
- A "Digibank-toolkit" (together) published 2025-03-01, next review 2025-09-01; updated 2025-10-15 to
  version 2.0 with its next review 2026-10-15 (so it was overdue from 2025-09-02 to 2025-10-14);
- B "Handboek digitale inclusie voor lokale besturen" (vvsg) published 2024-05-01, next review
  2025-05-01, never updated: overdue from 2025-05-02 on, though not disclosed in 2025;
- C "Digitale inclusie-scan" (mediawijs) published 2025-06-01, next review 2025-07-01, retired
  2025-08-01: overdue in July only, never after its retirement;
- D published 2026-01-10: not in 2025 at all."""

from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from services.kpi import kpis, projection, report
from shared import events
from shared.db import make_engine, migrate

A, B, C, D = (uuid.UUID(int=70 + i) for i in range(4))
MIGRATIONS = Path(kpis.__file__).parent / "migrations"
CODES = ("OD3.1-hulpmiddelen", "OD3.1-herziening")
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _tool(tool_id: uuid.UUID, title: str, made_by: str, reviewed: date, due: date) -> dict[str, Any]:
    return {
        "tool_id": tool_id,
        "title": title,
        "summary": f"Wat {title} doet.",
        "audience": "Lokale besturen",
        "made_by": made_by,
        "url": f"https://www.vvsg.be/kennisitem/{tool_id.int}",
        "version": "1.0",
        "last_reviewed_on": reviewed,
        "next_review_on": due,
    }


def _events() -> list[events.Event]:
    a = _tool(A, "Digibank-toolkit", "together", date(2025, 3, 1), date(2025, 9, 1))
    datas: list[events.EventData] = [
        events.ToolPublished(**a, published_on=date(2025, 3, 1)),
        events.ToolUpdated(
            **{
                **a,
                "version": "2.0",
                "last_reviewed_on": date(2025, 10, 15),
                "next_review_on": date(2026, 10, 15),
            },
            updated_on=date(2025, 10, 15),
        ),
        events.ToolPublished(
            **_tool(
                B,
                "Handboek digitale inclusie voor lokale besturen",
                "vvsg",
                date(2024, 5, 1),
                date(2025, 5, 1),
            ),
            published_on=date(2024, 5, 1),
        ),
        events.ToolPublished(
            **_tool(C, "Digitale inclusie-scan", "mediawijs", date(2025, 6, 1), date(2025, 7, 1)),
            published_on=date(2025, 6, 1),
        ),
        events.ToolRetired(tool_id=C, retired_on=date(2025, 8, 1)),
        events.ToolPublished(
            **_tool(D, "Later", "other", date(2026, 1, 10), date(2027, 1, 10)), published_on=date(2026, 1, 10)
        ),
    ]
    return [
        events.decode(events.encode(events.new_envelope(d, source="/services/newsletter", time=NOW)))
        for d in datas
    ]


def _answer(tmp_path: Path, order: list[events.Event], year: int, as_of: date | None) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{tmp_path}/kpi-{uuid.uuid4().hex}.db")
    migrate(engine, MIGRATIONS)
    with Session(engine) as session:
        for event in order:
            projection.apply(session, [event])
            session.commit()
        answer = kpis.report(session, year, as_of, NOW)
    engine.dispose()
    return answer


def _mine(answer: dict[str, Any]) -> dict[str, tuple[int, list[tuple[str, bool]]]]:
    return {
        k["code"]: (k["value"], [(i["title"], i["review_overdue"]) for i in k["items"]])
        for k in answer["kpis"]
        if k["code"] in CODES
    }


YEAR_END_2025 = {
    # A and C were disclosed in 2025 (B in 2024, D in 2026); on 31/12 A was reviewed (next 2026-10-15)
    # and C is retired
    "OD3.1-hulpmiddelen": (2, [("Digibank-toolkit", False), ("Digitale inclusie-scan", False)]),
    # B is still in the catalogue and its review of 2025-05-01 never happened
    "OD3.1-herziening": (1, [("Handboek digitale inclusie voor lokale besturen", True)]),
}


def test_the_year_lists_the_tools_disclosed_and_those_past_their_review(tmp_path: Path) -> None:
    assert _mine(_answer(tmp_path, _events(), 2025, None)) == YEAR_END_2025


@pytest.mark.parametrize("seed", [1, 2])
def test_any_arrival_order_of_different_tools_gives_the_same_answer(tmp_path: Path, seed: int) -> None:
    shuffled = _events()
    first_a, rest = shuffled[:2], shuffled[2:]
    random.Random(seed).shuffle(rest)  # one tool's records keep their order (one key, one partition)
    assert _mine(_answer(tmp_path, rest[:2] + first_a + rest[2:], 2025, None)) == YEAR_END_2025


def test_as_of_gives_the_catalogue_as_it_stood_that_day(tmp_path: Path) -> None:
    in_july = _answer(tmp_path, _events(), 2025, date(2025, 7, 15))
    assert _mine(in_july) == {
        "OD3.1-hulpmiddelen": (2, [("Digibank-toolkit", False), ("Digitale inclusie-scan", True)]),
        "OD3.1-herziening": (
            2,
            [("Handboek digitale inclusie voor lokale besturen", True), ("Digitale inclusie-scan", True)],
        ),
    }
    in_september = _mine(_answer(tmp_path, _events(), 2025, date(2025, 9, 20)))
    # A's review was due on 1 September: overdue, with the version of then; C retired on 1 August
    assert in_september["OD3.1-hulpmiddelen"] == (
        2,
        [("Digibank-toolkit", True), ("Digitale inclusie-scan", False)],
    )
    assert [t for t, _ in in_september["OD3.1-herziening"][1]] == [
        "Handboek digitale inclusie voor lokale besturen",
        "Digibank-toolkit",
    ]
    items = {k["code"]: k["items"] for k in _answer(tmp_path, _events(), 2025, date(2025, 9, 20))["kpis"]}
    toolkit = items["OD3.1-hulpmiddelen"][0]
    assert (toolkit["version"], toolkit["next_review_on"], toolkit["retired_on"]) == (
        "1.0",
        "2025-09-01",
        None,
    )
    assert items["OD3.1-hulpmiddelen"][1]["retired_on"] == "2025-08-01"


def test_a_redelivered_event_changes_nothing(tmp_path: Path) -> None:
    once = _events()
    assert _mine(_answer(tmp_path, once + once[:3], 2025, None)) == YEAR_END_2025


def test_the_report_prints_the_tools_in_dutch_with_the_overdue_flag(tmp_path: Path) -> None:
    answer = _answer(tmp_path, _events(), 2025, date(2025, 9, 20))
    document = report.Document(answer=answer)
    page = report.render_html(document)
    assert "Overzicht ontsloten tools en handleidingen" in page
    assert "Herziening achterstallig" in page and "VVSG en Mediawijs" in page
    workbook = load_workbook(io.BytesIO(report.render_xlsx(document)))
    sheet = workbook["SD3 Ondersteuning"]
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    header = next(r for r in rows if r and r[0] == "Titel" and "Herziening achterstallig" in r)
    flag = header.index("Herziening achterstallig")
    toolkit = next(r for r in rows if r and r[0] == "Digibank-toolkit")
    assert toolkit[flag] == "Ja" and toolkit[header.index("Gemaakt door")] == "VVSG en Mediawijs"
    assert toolkit[header.index("Ontsloten op")] == datetime(2025, 3, 1)
    details = report.render_details_csv(document)
    assert "OD3.1-herziening" in details and "Volgende herziening" in details


def test_a_title_that_looks_like_a_formula_is_text_in_the_workbook(tmp_path: Path) -> None:
    hostile = _tool(
        uuid.UUID(int=99),
        '=HYPERLINK("https://evil.example","klik")',
        "other",
        date(2025, 1, 6),
        date(2026, 1, 6),
    )
    event = events.decode(
        events.encode(
            events.new_envelope(
                events.ToolPublished(**hostile, published_on=date(2025, 1, 6)), source="/t", time=NOW
            )
        )
    )
    document = report.Document(answer=_answer(tmp_path, [event], 2025, None))
    sheet = load_workbook(io.BytesIO(report.render_xlsx(document)))["SD3 Ondersteuning"]
    cells = [
        c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str) and "HYPERLINK" in c
    ]
    assert cells and all(c.startswith("'=") for c in cells)
