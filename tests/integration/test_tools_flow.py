"""The tools and handbooks catalogue (OD 3.1) across services, as ops run them (`python -m services.…`)
on the real broker, on SQLite and on PostgreSQL: staff publish, update and retire tools through the
newsletter service's API; the public page shows what is in the catalogue; the KPI service lists the
tools disclosed this year in the report and flags the one past its review date; the feedback service
lets a survey ask about a tool in the catalogue and refuses one about a retired tool."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from services.newsletter.domain import today
from tests import infra
from tests.infra import Databases, ServiceProcess, wait_until

pytestmark = pytest.mark.integration


def _tool(title: str, made_by: str, **changes: Any) -> dict[str, Any]:
    day = today()
    return {
        "title": title,
        "summary": f"{title}: wat het is en hoe een lokaal bestuur het gebruikt.",
        "audience": "Lokale besturen",
        "made_by": made_by,
        "url": f"https://www.vvsg.be/kennisitem/{uuid.uuid4().hex}",
        "version": "1.0",
        "last_reviewed_on": (day - timedelta(days=30)).isoformat(),
        "next_review_on": (day + timedelta(days=335)).isoformat(),
        **changes,
    }


def _created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_a_tool_goes_from_the_staff_api_to_the_public_page_the_report_and_the_survey(
    databases: Databases, services: Callable[..., ServiceProcess]
) -> None:
    newsletter = services("newsletter", databases("newsletter"), SMTP_PORT=str(infra.free_port()))
    kpi = services("kpi", databases("kpi"))
    feedback = services("feedback", databases("feedback"))
    day = today()
    with newsletter.client("staff") as staff:
        # disclosed today, but its review was due ten days ago: the report must flag it
        overdue = _created(
            staff.post(
                "/tools",
                json=_tool(
                    "Handboek digitale inclusie voor lokale besturen",
                    "vvsg",
                    last_reviewed_on=(day - timedelta(days=400)).isoformat(),
                    next_review_on=(day - timedelta(days=10)).isoformat(),
                ),
            )
        )
        toolkit = _created(staff.post("/tools", json=_tool("Digibank-toolkit", "together")))
        scan = _created(staff.post("/tools", json=_tool("Digitale inclusie-scan", "mediawijs")))
        updated = _created(staff.patch(f"/tools/{toolkit['id']}", json={"version": "2.0"}))
        assert (updated["version"], updated["updated_on"]) == ("2.0", day.isoformat())
        retired = _created(staff.post(f"/tools/{scan['id']}/retire", json={}))
        assert retired["retired_on"] == day.isoformat()
        assert overdue["review_overdue"] is True and toolkit["review_overdue"] is False
        # refused, nothing changed: a retired tool cannot change, an e-mail address has no place in it
        assert staff.patch(f"/tools/{scan['id']}", json={"version": "3"}).status_code == 409
        bad = staff.post("/tools", json=_tool("Vragen?", "vvsg", summary="Mail an.medewerker@vvsg.be"))
        assert bad.status_code == 422, bad.text
        listed = staff.get("/tools").json()
        assert sorted(t["title"] for t in listed) == [
            "Digibank-toolkit",
            "Handboek digitale inclusie voor lokale besturen",
        ]
    with newsletter.client("viewer") as viewer:
        assert viewer.post("/tools", json=_tool("Niet van mij", "other")).status_code == 403
        assert viewer.get(f"/tools/{scan['id']}").json()["retired_on"] == day.isoformat()

    page = httpx.get(f"{newsletter.url}/hulpmiddelen", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "Digibank-toolkit" in page.text and "Handboek digitale inclusie" in page.text
    assert "Digitale inclusie-scan" not in page.text  # retired
    by_maker = httpx.get(f"{newsletter.url}/hulpmiddelen", params={"door": "together"}, timeout=30).text
    assert "Digibank-toolkit" in by_maker and "Handboek digitale inclusie" not in by_maker
    searched = httpx.get(f"{newsletter.url}/hulpmiddelen", params={"zoek": "handboek besturen"}, timeout=30)
    assert "Handboek digitale inclusie" in searched.text and "Digibank-toolkit" not in searched.text

    def od31() -> dict[str, Any] | None:
        with kpi.client("viewer") as client:
            answer = client.get(f"/kpis/{day.year}").json()
        found = {k["code"]: k for k in answer["kpis"]}
        disclosed = found["OD3.1-hulpmiddelen"]
        done = disclosed["value"] == 3 and any(i["version"] == "2.0" for i in disclosed["items"])
        return found if done else None

    found = wait_until(od31, 60, 0.3, "the KPI service to list the three tools disclosed today")
    flags = {i["title"]: i["review_overdue"] for i in found["OD3.1-hulpmiddelen"]["items"]}
    assert flags == {
        "Handboek digitale inclusie voor lokale besturen": True,
        "Digibank-toolkit": False,
        "Digitale inclusie-scan": False,  # retired today: no longer in the catalogue, nothing to review
    }
    assert [i["title"] for i in found["OD3.1-herziening"]["items"]] == [
        "Handboek digitale inclusie voor lokale besturen"
    ]
    with kpi.client("viewer") as client:
        workbook = client.get(f"/kpis/{day.year}/report.xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content))["SD3 Ondersteuning"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(r for r in rows if r and r[0] == "Titel" and "Herziening achterstallig" in r)
    flagged = {r[0]: r[header.index("Herziening achterstallig")] for r in rows if r and r[0] in flags}
    assert flagged["Handboek digitale inclusie voor lokale besturen"] == "Ja"
    assert flagged["Digibank-toolkit"] == "Nee"

    survey = {
        "title": "Gebruikersbevraging hulpmiddelen",
        "topic": "tools en handleidingen",
        "questions": [
            {"text": "Hoe bruikbaar is dit hulpmiddel voor jouw bestuur?", "tool_id": toolkit["id"]}
        ],
    }
    with feedback.client("staff") as staff:

        def opened() -> httpx.Response | None:
            answer = staff.post("/surveys", json=survey)
            return answer if answer.status_code == 201 else None

        asked = wait_until(opened, 60, 0.3, "the feedback service to learn the catalogue").json()
        assert asked["questions"][0]["tool_title"] == "Digibank-toolkit"

        about_retired = {**survey, "questions": [{"text": "En deze?", "tool_id": scan["id"]}]}
        # opened while the feedback service had not learned of the retirement yet (it learns from events)
        before_it_knew: list[str] = []

        def refused_as_retired() -> httpx.Response | None:
            answer = staff.post("/surveys", json=about_retired)
            if answer.status_code == 201:
                before_it_knew.append(answer.json()["id"])
                return None
            assert answer.status_code == 422, answer.text
            return answer if "retired" in answer.text else None

        refused = wait_until(refused_as_retired, 60, 0.3, "the feedback service to learn the retirement")
        assert refused.json()["detail"][0]["loc"] == ["body", "questions.0.tool_id"]
        unknown = {**survey, "questions": [{"text": "En deze?", "tool_id": str(uuid.uuid4())}]}
        assert staff.post("/surveys", json=unknown).status_code == 422
        # the refusals opened nothing
        assert sorted(s["id"] for s in staff.get("/surveys").json()) == sorted([asked["id"], *before_it_knew])
