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
