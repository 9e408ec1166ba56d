"""The demo year, small: the five services as processes on this test's topics, a mail catcher for the
newsletter service, the demo loaded through the services' APIs (as `bin/up` does, at a tenth of the
size), and the KPI answer shows something on every kind of KPI."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.mail_catcher import MailCatcher
from ops.demo import load
from tests.infra import LINK_SECRET, ServiceProcess, auth, free_port, token, wait_until

pytestmark = pytest.mark.e2e

SERVICES = ("members", "events", "feedback", "newsletter", "kpi")


def _values(answer: dict[str, Any]) -> dict[str, Any]:
    return {k["code"]: k["value"] for k in answer["kpis"]}


def test_a_small_demo_year_shows_on_every_kind_of_kpi(
    services: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    catcher = MailCatcher(tmp_path / "mail", smtp_port=free_port(), http_port=free_port()).start()

    def start(name: str) -> str:
        env = {"LINK_SECRET": LINK_SECRET}
        if name == "newsletter":
            env |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(catcher.smtp_port)}
        if name == "feedback":  # the demo answers every form from this one address
            env |= {"PUBLIC_RATE_PER_MINUTE": "3000"}
        return services(name, f"sqlite:///{tmp_path}/{name}.db", **env).url

    try:
        with ThreadPoolExecutor(len(SERVICES)) as pool:  # side by side: each waits for its readiness
            urls = dict(zip(SERVICES, pool.map(start, SERVICES), strict=True))
        year = date.today().year - 1
        lines: list[str] = []
        demo = load(
            urls, token("staff", "demo@vvsg.be"), year, lines.append, scale=0.1, link_secret=LINK_SECRET
        )
        assert demo.kpis is not None, lines
        assert not [n for n in demo.notes if "achter" in n], lines  # the KPI service shows what was done
        values = _values(demo.kpis)

        assert 40 <= values["OD1.1-leden"] <= 65
        assert values["OD1.1-besturen"] >= 5
        for code in (
            "OD1.1-bijeenkomsten-algemeen",
            "OD1.1-bijeenkomsten-specifiek",
            "OD1.2-infosessies",
            "OD1.2-inspiratiedag-fysiek",
            "OD1.2-inspiratiedag-online",
            "OD1.3-op-vraag",
            "OD2.1-meerdaagse",
            "OD2.2-thematisch",
            "OD2.2-geintegreerd",
            "afstemming-stuurgroep",
            "afstemming-overleg",
            "OD1.3-artikels",
            "OD1.3-goede-praktijken",
            "OD3.2-advies",
            "OD3.3-op-maat",
        ):
            assert values[code] >= 1, (code, lines)
        assert values["OD1.2-deelnemersuren"] > 0
        assert values["OD2.2-deelnemersuren"] > 0
        assert values["feedback-gevraagd"] == 100.0
        assert 0 < values["feedback-respons"] < 100
        assert 1 <= values["feedback-tevredenheid"] <= 5
        assert values["feedback-gemotiveerd"] > 0

        # what the services date themselves (a newsletter sent, the survey closed) counts in the running year
        def running_year() -> dict[str, Any] | None:
            answer = httpx.get(f"{urls['kpi']}/kpis/{date.today().year}", headers=auth("viewer"), timeout=30)
            found = _values(answer.json())
            return found if found["OD1.3-nieuwsbrieven"] >= 1 and found["OD3.1-bevraging"] >= 1 else None

        wait_until(running_year, 30, 0.5, "the newsletter and the closed survey in the running year")
        subjects = {catcher.store.summary(name).subject for name in catcher.store.names()}
        assert any(s.startswith("Wat vond je van") for s in subjects), subjects  # feedback invitations
        assert any(s.startswith("Nieuwsbrief digitale inclusie") for s in subjects), subjects
    finally:
        catcher.stop()
