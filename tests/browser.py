"""Debian's Chromium under Playwright, once for every browser test: where it is, how it is launched, and
the script that records what the page's Content-Security-Policy blocked. The `browser` fixture in
tests/conftest.py launches it; a test file that needs other settings defines its own fixture."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# added before a page's own scripts: every securitypolicyviolation lands in window.__violations
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__violations.push([e.violatedDirective, e.blockedURI || 'inline']));
"""


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched Chromium, closed after; the test is skipped on a machine without Playwright or Chromium."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if executable is None:
        pytest.skip("no Chromium on this machine (bin/setup installs it)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def page_problems(
    browser: Any,
    origin: str,
    path: str,
    screenshot: Path,
    ready: str = "h1",
    width: int = 360,
    height: int = 800,
) -> dict[str, Any]:
    """One public page checked the way every public page must pass: axe-core's serious and critical
    violations, requests to anywhere but `origin`, dialogs, what the Content-Security-Policy blocked,
    and sideways scrolling at a phone's `width` (a screenshot of that is kept). Empty when all is well."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE")
    try:
        page = context.new_page()
        elsewhere: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(origin) else elsewhere.append(r.url))
        page.on("dialog", lambda d: elsewhere.append(f"dialog: {d.message}"))
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(origin + path)
        page.wait_for_selector(ready)
        return open_page_problems(page, elsewhere, screenshot, width, height)
    finally:
        context.close()


def open_page_problems(
    page: Any, elsewhere: list[str], screenshot: Path, width: int = 360, height: int = 800
) -> dict[str, Any]:
    """`page_problems` for a page a test has open (its requests elsewhere collected into `elsewhere`,
    RECORD_VIOLATIONS added before its scripts): the findings since the last call, which empties
    `elsewhere`; the page is back at its own size afterwards. Empty when all is well."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    grave = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    blocked = page.evaluate("window.__violations")
    size = page.viewport_size
    page.set_viewport_size({"width": width, "height": height})
    sideways = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)
    page.set_viewport_size(size)
    found = {"axe": grave, "elsewhere": list(elsewhere), "blocked": blocked, "sideways": sideways}
    elsewhere.clear()
    return {k: v for k, v in found.items() if v}
