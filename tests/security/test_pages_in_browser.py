"""The security headers do not break the pages (issue 11, item 4): each kind of HTML page, served by the
services running as processes, opened in a real headless Chromium. The browser blocks nothing of the
page's own (inline script or style, eval, a file from the service), and the page shows what it is for
(Swagger UI and ReDoc draw the API, the dashboard runs its script, the newsletter preview shows the
mail). Loads from elsewhere may be attempted (ReDoc's footer logo) and are blocked: that is the
policy at work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import infra
from tests.browser import RECORD_VIOLATIONS

pytestmark = pytest.mark.e2e


def _open(browser: Any, url: str, ready: str, headers: dict[str, str] | None = None) -> list[str]:
    """Opens the page, waits for `ready` (a CSS selector) and answers what the policy blocked of the
    page's own: inline code, eval, or a file from the service itself."""
    origin = url.split("/", 3)[:3]
    context = browser.new_context(extra_http_headers=headers or {})
    try:
        page = context.new_page()
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(url)
        page.wait_for_selector(ready, timeout=30_000)
        page.wait_for_timeout(500)  # late loads (workers, fonts) report after the first paint
        violations: list[list[str]] = page.evaluate("window.__violations")
        return [
            f"{directive}: {blocked}"
            for directive, blocked in violations
            if blocked in ("inline", "eval") or blocked.split("/", 3)[:3] == origin
        ]
    finally:
        context.close()


def test_every_kind_of_page_works_under_its_policy(
    services: Callable[..., infra.ServiceProcess],
    tmp_path: Path,
    browser: Any,  # last: its event loop must not be running while the other fixtures set up
) -> None:
    env = {"AUTH_SECRET": infra.AUTH_SECRET, "LINK_SECRET": infra.LINK_SECRET}
    members = services("members", f"sqlite:///{tmp_path}/members.db", **env)
    newsletter = services(
        "newsletter", f"sqlite:///{tmp_path}/newsletter.db", SMTP_PORT=str(infra.free_port()), **env
    )
    kpi = services("kpi", f"sqlite:///{tmp_path}/kpi.db", **env)
    staff = infra.auth("staff")
    issue = httpx.post(
        f"{newsletter.url}/issues",
        json={"title": "Nieuwsbrief maart", "body": "## Welkom\n\n[Agenda](https://www.vvsg.be/agenda)"},
        headers=staff,
    )
    assert issue.status_code == 201, issue.text
    pages = {
        "Swagger UI": (f"{members.url}/docs", ".swagger-ui .info .title", None),
        "ReDoc": (f"{members.url}/redoc", "h1", None),
        "AsyncAPI": (f"{members.url}/asyncapi", "h1", None),
        "subscribe form": (f"{newsletter.url}/nieuwsbrief", "form", None),
        "newsletter preview": (f"{newsletter.url}/issues/{issue.json()['id']}/preview", "h1", staff),
        "dashboard": (f"{kpi.url}/dashboard", "#token-input", None),  # its script asks for a token first
        "report.html": (f"{kpi.url}/kpis/2025/report.html", "h1", staff),
    }
    found = {name: _open(browser, url, ready, headers) for name, (url, ready, headers) in pages.items()}
    assert {name: v for name, v in found.items() if v} == {}
