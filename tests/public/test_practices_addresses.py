"""The public addresses `bin/up` prints (deploy/run_local.py) are pages the services really route: each
path, on the port of the service that serves it, is a GET route of that service's app."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from deploy import run_local
from services.events.app import build as build_events
from services.newsletter.app import build as build_newsletter
from services.newsletter.settings import NewsletterSettings
from shared.settings import DEFAULT_PORTS, Settings
from tests.infra import AUTH_SECRET, LINK_SECRET

ADDRESS = re.compile(r"http://127\.0\.0\.1:([0-9]+)(/[^\s)]*)")


def _pages(app: FastAPI) -> set[str]:
    return {r.path for r in iter_route_contexts(app.routes) if r.path and "GET" in (r.methods or ())}


def test_every_printed_public_address_is_a_page_of_its_service(tmp_path: Path) -> None:
    common = {"auth_secret": AUTH_SECRET, "link_secret": LINK_SECRET}
    events = Settings(service_name="events", database_url=f"sqlite:///{tmp_path}/e.db", **common)
    newsletter = NewsletterSettings(database_url=f"sqlite:///{tmp_path}/n.db", **common)
    pages = {
        DEFAULT_PORTS["events"]: _pages(build_events(events)),
        DEFAULT_PORTS["newsletter"]: _pages(build_newsletter(newsletter)),
    }
    printed = run_local.public_pages(["members", "events", "feedback", "newsletter", "kpi"])
    words = {w for w, _ in printed}
    assert {"publieke agenda", "opnames van online sessies", "goede praktijken", "hulpmiddelen"} <= words
    addresses = [found for _, line in printed for found in ADDRESS.findall(line)]
    assert len(addresses) == 10, printed
    for port, path in addresses:
        assert path in pages[int(port)], (port, path)
    assert run_local.public_pages(["members"]) == []
