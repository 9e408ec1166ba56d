"""The dashboard in a real headless Chromium against a running KPI service: it shows every KPI with its
status, draws the monthly charts, loads nothing from elsewhere, and refreshes itself when events
arrive. Screenshots (laptop and phone) go to the test's tmp dir."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import infra, kpi_year
from tests.infra import ServiceProcess, produce, wait_until

pytestmark = pytest.mark.e2e


def _publish(bootstrap: str, prefix: str, records: list[tuple[str, bytes, bytes]]) -> None:
    # Playwright's sync API keeps an event loop running in this thread: produce from another one
    batch = [(prefix + topic, key, value) for topic, key, value in records]
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, produce(bootstrap, batch)).result()


def test_the_dashboard_shows_every_kpi_and_refreshes_itself(
    services: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    browser: Any,  # last: its event loop must not be running while the other fixtures set up
) -> None:
    _publish(kafka_bootstrap, topic_prefix, kpi_year.envelope_records(kpi_year.year_data()))
    kpi_service = services("kpi", f"sqlite:///{tmp_path}/kpi.db")
    with kpi_service.client("viewer") as kpi:
        wait_until(
            lambda: (
                {k["code"]: k["value"] for k in kpi.get("/kpis/2025").json()["kpis"]}["OD1.3-artikels"] == 1
            ),
            30,
            0.2,
            "the scripted year in the KPIs",
        )
        codes = [k["code"] for k in kpi.get("/kpis/2025").json()["kpis"]]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(kpi_service.url) else elsewhere.append(r.url))
    page.add_init_script(f"localStorage.setItem('vvsg-kpi-token', '{infra.token('viewer')}')")
    page.goto(f"{kpi_service.url}/dashboard?jaar=2025")
    page.wait_for_selector('article.card[data-code="OD1.1-bijeenkomsten-algemeen"] svg.chart')
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    cards = page.eval_on_selector_all("article.card", "cards => cards.map(c => c.dataset.code)")
    general = page.inner_text('article.card[data-code="OD1.1-bijeenkomsten-algemeen"]')
    assert sorted(cards) == sorted(codes)
    assert "Algemene bijeenkomsten van het netwerk" in general and "Behaald" in general
    assert page.locator("section.goal").count() == 5
    assert elsewhere == []

    _publish(
        kafka_bootstrap,
        topic_prefix,
        kpi_year.envelope_records(kpi_year.corrections(), kpi_year.T0.replace(year=2026)),
    )
    page.wait_for_function(
        "() => document.querySelector('article.card[data-code=\"OD1.3-artikels\"] .value')"
        ".textContent.trim().startsWith('2')",
        timeout=30_000,
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "dashboard-phone.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
