"""Security headers (issue 11, item 4) and errors in the metrics (item 9), on the five services built
in-process on SQLite and the real broker.

Every route of every service is called (GET, and POST on the pages left out of the OpenAPI document),
with an admin token, valid personal links and a newsletter issue that exists; every answer that is an
HTML page must carry the policy and the other headers of shared.security."""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from shared.links import make_token
from tests import infra
from tests.security import apps
from tests.security.access import LINK_PAGES

# every HTML page the services have today; the walk must reach each one (and may find more)
KNOWN_PAGES = {
    *(
        (service, "GET", path)
        for service in apps.SERVICES
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect", "/asyncapi")
    ),
    ("feedback", "GET", "/feedback/{token}"),
    ("feedback", "POST", "/feedback/{token}"),
    ("feedback", "GET", "/survey/{token}"),
    ("feedback", "POST", "/survey/{token}"),
    ("newsletter", "GET", "/nieuwsbrief"),
    ("newsletter", "POST", "/nieuwsbrief"),
    ("newsletter", "GET", "/nieuwsbrief/bevestigen/{token}"),
    ("newsletter", "POST", "/nieuwsbrief/bevestigen/{token}"),
    ("newsletter", "GET", "/nieuwsbrief/uitschrijven/{token}"),
    ("newsletter", "POST", "/nieuwsbrief/uitschrijven/{token}"),
    ("newsletter", "GET", "/issues/{issue_id}/preview"),
    ("kpi", "GET", "/dashboard"),
    ("kpi", "GET", "/kpis/{year}/report.html"),
}
SOURCE = re.compile(r"https?:|\*|//")  # a source on another host, or any host


@pytest.fixture(scope="module")
def clients(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, TestClient]]:
    directory = tmp_path_factory.mktemp("headers")
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    with contextlib.ExitStack() as stack:
        yield {
            name: stack.enter_context(
                TestClient(
                    apps.build(
                        name,
                        directory,
                        kafka_bootstrap,
                        prefix,
                        public_rate_per_minute=10**7,
                        smtp_port=infra.free_port(),  # nobody listens: mails stay queued
                    )
                )
            )
            for name in apps.SERVICES
        }


def _routes(routes: list[BaseRoute]) -> Iterator[RouteContext]:
    """Every API route, those of the included routers too."""
    for route in iter_route_contexts(routes):
        if isinstance(route.original_route, APIRoute) and route.path:
            yield route


@pytest.fixture(scope="module")
def pages(clients: dict[str, TestClient]) -> dict[tuple[str, str, str], dict[str, str]]:
    """The headers of every HTML answer, by (service, method, path template)."""
    admin = infra.auth("admin")
    issue = clients["newsletter"].post(
        "/issues", json={"title": "Nieuwsbrief maart", "body": "**Welkom**"}, headers=admin
    )
    assert issue.status_code == 201, issue.text
    values = {"year": "2025", "issue_id": issue.json()["id"], "name": "swagger-ui.css"}
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    for service, client in clients.items():
        for route in _routes(client.app.routes):  # type: ignore[attr-defined]
            methods = {"GET"} | ({"POST"} if not route.include_in_schema else set())
            for method in sorted(methods & (route.methods or set())):
                purpose = LINK_PAGES.get(service, {}).get((method, route.path))

                def fill(match: re.Match[str], purpose: str | None = purpose) -> str:
                    name = match.group(1)
                    if name == "token" and purpose is not None:
                        return make_token(infra.LINK_SECRET, purpose, str(uuid.uuid4()))  # type: ignore[arg-type]
                    return values.get(name, str(uuid.uuid4()))

                if route.path.endswith("/stream"):  # an event stream (no page) never ends: not walked
                    continue
                url = re.sub(r"\{([^}]+)\}", fill, route.path)
                if route.path == "/kpis/changes":
                    url += "?wait=0"
                response = client.request(method, url, headers=admin)
                if response.headers.get("content-type", "").startswith("text/html"):
                    found[(service, method, route.path)] = dict(response.headers)
    return found


def test_the_walk_reaches_every_known_page(pages: dict[tuple[str, str, str], dict[str, str]]) -> None:
    assert sorted(KNOWN_PAGES - set(pages)) == []


def test_every_page_allows_nothing_from_elsewhere_and_no_framing(
    pages: dict[tuple[str, str, str], dict[str, str]],
) -> None:
    wrong = {}
    for page, headers in pages.items():
        policy = {
            name: value
            for name, _, value in (
                d.strip().partition(" ") for d in headers.get("content-security-policy", "").split(";")
            )
        }
        problems = []
        if policy.get("default-src") != "'none'":
            problems.append("default-src is not 'none'")
        if policy.get("frame-ancestors") != "'none'":
            problems.append("frame-ancestors is not 'none'")
        if policy.get("base-uri") != "'none'":
            problems.append("base-uri is not 'none'")
        if "'unsafe-inline'" in policy.get("script-src", "") or "'unsafe-eval'" in policy.get(
            "script-src", ""
        ):
            problems.append("inline script allowed")
        problems += [f"{name} names a source elsewhere" for name, v in policy.items() if SOURCE.search(v)]
        if problems:
            wrong[page] = problems
    assert wrong == {}


def test_every_page_carries_the_other_security_headers(
    pages: dict[tuple[str, str, str], dict[str, str]],
) -> None:
    expected = {
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
    }
    wrong = {
        page: {name: headers.get(name) for name in expected if headers.get(name) != expected[name]}
        for page, headers in pages.items()
    }
    assert {page: missing for page, missing in wrong.items() if missing} == {}


def test_the_dashboard_runs_only_its_own_script(clients: dict[str, TestClient]) -> None:
    """Its inline script is allowed by its hash, not by 'unsafe-inline'."""
    response = clients["kpi"].get("/dashboard")
    policy = response.headers["content-security-policy"]
    script = re.search(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert script is not None
    from shared.security import sha256_source

    assert sha256_source(script.group(1)) in policy
    assert "connect-src 'self'" in policy


def test_a_json_answer_carries_nosniff_too(clients: dict[str, TestClient]) -> None:
    response = clients["members"].get("/organisations", headers=infra.auth("viewer"))
    assert (response.status_code, response.headers.get("x-content-type-options")) == (200, "nosniff")


def test_the_documentation_pages_load_their_files_from_the_service(clients: dict[str, TestClient]) -> None:
    page = clients["members"].get("/docs").text
    files = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert files and all(f.startswith("/docs/static/") for f in files), files
    assert all(clients["members"].get(f).status_code == 200 for f in files)


# --- errors in the metrics (item 9) ---------------------------------------------------------------


def test_an_unhandled_exception_is_a_500_in_the_metrics_and_logged_once(
    clients: dict[str, TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = clients["members"]

    def broken() -> None:
        raise RuntimeError("the report could not be written")

    client.app.add_api_route("/broken-for-the-test", broken, methods=["GET"])  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR):
        response = client.get("/broken-for-the-test")
    assert response.status_code == 500
    assert response.json()["detail"].startswith("internal error")
    assert response.headers["x-correlation-id"] in response.json()["detail"]
    logged = [
        r for r in caplog.records if r.exc_info and "the report could not be written" in str(r.exc_info[1])
    ]
    assert len(logged) == 1
    metrics = client.get("/metrics").text
    sample = re.search(
        r'^vvsg_http_requests_total\{[^}]*route="/broken-for-the-test"[^}]*status="500"[^}]*\} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    assert sample is not None and float(sample.group(1)) == 1.0
