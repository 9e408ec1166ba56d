"""The demo year's tools catalogue (ops/demo/tools.py) through the real newsletter and KPI services on
the broker: every demo tool is accepted by the API, and the KPI service answers for the demo year what
the demo says it should (tools disclosed in the year, tools past their review on 31 December)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops.demo.client import Demo, today
from ops.demo.tools import TOOLS, create_tools
from tests import infra
from tests.infra import ServiceProcess, wait_until

pytestmark = pytest.mark.integration


def test_the_demo_catalogue_is_published_and_counted_as_the_demo_expects(
    services: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    newsletter = services(
        "newsletter", f"sqlite:///{tmp_path}/newsletter.db", SMTP_PORT=str(infra.free_port())
    )
    kpi = services("kpi", f"sqlite:///{tmp_path}/kpi.db")
    year = today().year - 1
    lines: list[str] = []
    with httpx.Client(base_url=newsletter.url, headers=infra.auth("staff"), timeout=30) as client:
        demo = Demo(year, {"newsletter": client}, log=lines.append)
        create_tools(demo)
        listed = client.get("/tools", params={"state": "all"}).json()
    assert len(listed) == len(TOOLS)
    assert sum(t["retired_on"] is not None for t in listed) == 1
    assert {t["version"] for t in listed if t["title"] == "Praktische gids Aan de slag als digihelper"} == {
        "2.1"
    }
    expected = {code: demo.facts[code] for code in ("OD3.1-hulpmiddelen", "OD3.1-herziening")}
    assert expected == {"OD3.1-hulpmiddelen": 7, "OD3.1-herziening": 1}, lines

    def counted() -> dict[str, Any] | None:
        with kpi.client("viewer") as viewer:
            answer = viewer.get(f"/kpis/{year}").json()
        found = {k["code"]: k for k in answer["kpis"] if k["code"] in expected}
        return found if {c: k["value"] for c, k in found.items()} == expected else None

    found = wait_until(counted, 60, 0.3, "the KPI service to count the demo catalogue")
    assert [i["title"] for i in found["OD3.1-herziening"]["items"]] == [
        "Handboek digitale inclusie voor lokale besturen"
    ]
    page = httpx.get(f"{newsletter.url}/hulpmiddelen", timeout=30).text
    assert "Digibank-toolkit" in page and "Digitale inclusie-scan" not in page  # retired in the demo year
