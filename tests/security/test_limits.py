"""Limits (issue 8, item 8): request bodies, the public pages' rate limit, CORS only when configured,
and no secret in a service's log."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from shared.auth import issue_token
from shared.limits import RateLimiter, TrustedProxies
from shared.links import make_token
from tests import infra
from tests.security import apps
from tests.security.access import RATE_LIMITED

MAX_BODY = 4096
BURST_RATE = 12  # a minute: a burst of 3 (shared.limits.RateLimiter keeps a quarter of the rate)
ORIGIN = "https://dashboard.vvsg.be"


@pytest.fixture(scope="module")
def clients(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, TestClient]]:
    directory = tmp_path_factory.mktemp("limits")
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    options = {"max_body_bytes": MAX_BODY, "public_rate_per_minute": BURST_RATE}
    with contextlib.ExitStack() as stack:
        built = {
            name: apps.build(name, directory, kafka_bootstrap, prefix, **options) for name in RATE_LIMITED
        }
        built["members"] = apps.build("members", directory, kafka_bootstrap, prefix, **options)
        built["members-cors"] = apps.build(
            "members",
            directory / "cors",
            kafka_bootstrap,
            prefix,
            cors_origins=f"{ORIGIN}, https://x.vvsg.be",
        )
        yield {name: stack.enter_context(TestClient(app)) for name, app in built.items()}


# --- request bodies -------------------------------------------------------------------------------

BODY_TARGETS = [
    ("members", "/organisations"),  # the staff API
    # a public page; a fixed id, not a random one: every pytest-xdist worker must collect the same tests
    ("feedback", "/feedback/00000000-0000-4000-8000-0000000000aa.x"),
    ("newsletter", "/subscriptions"),  # the public JSON endpoint
]


@pytest.mark.parametrize(("service", "path"), BODY_TARGETS)
def test_a_body_larger_than_the_limit_is_refused_with_413(
    clients: dict[str, TestClient], service: str, path: str
) -> None:
    body = b'{"name": "' + b"x" * MAX_BODY + b'"}'
    response = clients[service].post(
        path, content=body, headers={**infra.auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(("service", "path"), BODY_TARGETS)
def test_a_chunked_body_larger_than_the_limit_is_refused_with_413(
    clients: dict[str, TestClient], service: str, path: str
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(8):
            yield b"x" * MAX_BODY
        yield b'"}'

    response = clients[service].post(
        path, content=chunks(), headers={**infra.auth(), "Content-Type": "application/json"}
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413


# --- the public pages' rate limit -----------------------------------------------------------------

LIMITED = sorted(
    (service, method, path) for service, operations in RATE_LIMITED.items() for method, path in operations
)


@pytest.mark.parametrize(("service", "method", "path"), LIMITED, ids=[" ".join(o) for o in LIMITED])
def test_a_public_page_answers_429_after_the_burst(
    clients: dict[str, TestClient], service: str, method: str, path: str
) -> None:
    client = clients[service]
    # a fresh bucket of 3 that refills once a minute, so that a slow machine does not refill it meanwhile
    client.app.state.public_rate_limiter = RateLimiter(1, burst=3)  # type: ignore[attr-defined]
    if hasattr(client.app.state, "signup_rate_limiter"):  # type: ignore[attr-defined]
        # the agenda's sign-up and cancel forms share a stricter bucket of their own (tests/public test
        # it): a fresh one here, so that this test sees the page limit and not the previous form's use
        client.app.state.signup_rate_limiter = RateLimiter(1, burst=100)  # type: ignore[attr-defined]
    url = path.replace("{token}", make_token(infra.LINK_SECRET, "feedback", str(uuid.uuid4())))
    burst = [client.request(method, url).status_code for _ in range(3)]
    assert 429 not in burst
    refused = client.request(method, url)
    assert (refused.status_code, refused.headers.get("retry-after") is not None) == (429, True)


# --- CORS -----------------------------------------------------------------------------------------


def _preflight(client: TestClient, origin: str) -> httpx.Response:
    return client.options(
        "/organisations",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )


def test_without_cors_origins_a_preflight_gets_no_cors_headers(clients: dict[str, TestClient]) -> None:
    response = _preflight(clients["members"], ORIGIN)
    assert [h for h in response.headers if h.lower().startswith("access-control-")] == []


def test_without_cors_origins_an_answer_carries_no_cors_headers(clients: dict[str, TestClient]) -> None:
    response = clients["members"].get("/organisations", headers={**infra.auth(), "Origin": ORIGIN})
    assert [h for h in response.headers if h.lower().startswith("access-control-")] == []


def test_with_cors_origins_a_listed_origin_is_allowed(clients: dict[str, TestClient]) -> None:
    response = _preflight(clients["members-cors"], ORIGIN)
    assert response.headers.get("access-control-allow-origin") == ORIGIN


def test_with_cors_origins_another_origin_is_not_allowed(clients: dict[str, TestClient]) -> None:
    response = clients["members-cors"].get(
        "/organisations", headers={**infra.auth(), "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in response.headers


# --- secrets in logs ------------------------------------------------------------------------------


def test_no_secret_appears_in_the_log_at_debug_level(
    services: Callable[..., infra.ServiceProcess], tmp_path: Path
) -> None:
    """The newsletter service holds every kind of secret (tokens, links, the SMTP password); it runs at
    DEBUG, gets good and bad tokens and links, and fails to reach its SMTP server."""
    auth_secret = "auth-" + uuid.uuid4().hex + uuid.uuid4().hex
    link_secret = "link-" + uuid.uuid4().hex + uuid.uuid4().hex
    smtp_password = "smtp-" + uuid.uuid4().hex
    newsletter = services(
        "newsletter",
        f"sqlite:///{tmp_path}/newsletter.db",
        AUTH_SECRET=auth_secret,
        LINK_SECRET=link_secret,
        LOG_LEVEL="DEBUG",
        SMTP_PORT=str(infra.free_port()),  # nobody listens: the sender logs its failure
        SMTP_USERNAME="digitale.inclusie",
        SMTP_PASSWORD=smtp_password,
        NEWSLETTER_RETRY_SECONDS="0.2",
    )
    token = issue_token(auth_secret, "an.medewerker@vvsg.be", "staff")
    link = make_token(link_secret, "newsletter-unsubscribe", str(uuid.uuid4()))
    with httpx.Client(base_url=newsletter.url, timeout=30) as client:
        staff = {"Authorization": f"Bearer {token}"}
        assert client.get("/subscribers", headers=staff).status_code == 200
        assert client.get("/subscribers", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
        assert client.get(f"/nieuwsbrief/uitschrijven/{link}").status_code == 200
        assert client.post("/subscriptions", json={"email": "an.peeters@zemst.be"}).status_code == 202
        infra.wait_until(
            lambda: client.get("/mail/status", headers=staff).json()["smtp"]["last_error"],
            what="the sender to fail to reach the SMTP server",
        )
    newsletter.stop()
    log = newsletter.log_path.read_text(encoding="utf-8", errors="replace")
    assert '"level": "DEBUG"' in log  # it did log at DEBUG
    leaked = [
        name
        for name, value in [
            ("AUTH_SECRET", auth_secret),
            ("LINK_SECRET", link_secret),
            ("SMTP_PASSWORD", smtp_password),
            ("a bearer token", token),
            ("a personal link", link),
        ]
        if value in log
    ]
    assert leaked == []


# --- whose X-Forwarded-For is believed (issue 11, item 5) -----------------------------------------

SIGN_UPS = 30
SLOW_RATE = 1  # a minute, a burst of 1: a busy machine sending 30 requests refills hardly any token


def test_thirty_sign_ups_with_a_new_forwarded_for_each_from_an_untrusted_peer_get_429s(
    services: Callable[..., infra.ServiceProcess], tmp_path: Path
) -> None:
    """The newsletter service as ops start it (uvicorn, no TRUSTED_PROXIES), reached from 127.0.0.1:
    a client that names another address in every request is still one client."""
    newsletter = services(
        "newsletter",
        f"sqlite:///{tmp_path}/newsletter.db",
        AUTH_SECRET=infra.AUTH_SECRET,
        LINK_SECRET=infra.LINK_SECRET,
        PUBLIC_RATE_PER_MINUTE=str(SLOW_RATE),
        SMTP_PORT=str(infra.free_port()),
    )
    with httpx.Client(base_url=newsletter.url, timeout=30) as client:
        statuses = [
            client.post(
                "/subscriptions",
                json={"email": f"persoon{n}@zemst.be"},
                headers={"X-Forwarded-For": f"198.51.100.{n + 1}"},
            ).status_code
            for n in range(SIGN_UPS)
        ]
    assert statuses.count(202) <= 3  # the burst, and a token refilled a minute
    assert statuses.count(429) >= SIGN_UPS - 3


def _newsletter(directory: Path, kafka_bootstrap: str, prefix: str, peer: str, proxies: str) -> TestClient:
    app = apps.build(
        "newsletter",
        directory,
        kafka_bootstrap,
        prefix,
        public_rate_per_minute=SLOW_RATE,
        trusted_proxies=proxies,
        smtp_port=infra.free_port(),
    )
    return TestClient(app, client=(peer, 50000))


def _sign_ups(client: TestClient, forwarded_for: Callable[[int], str]) -> list[int]:
    return [
        client.post(
            "/subscriptions",
            json={"email": f"persoon{n}@zemst.be"},
            headers={"X-Forwarded-For": forwarded_for(n)},
        ).status_code
        for n in range(SIGN_UPS)
    ]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    with _newsletter(tmp_path, kafka_bootstrap, prefix, "10.0.0.5", "10.0.0.0/24, 192.0.2.7") as client:
        assert 429 not in _sign_ups(client, lambda n: f"198.51.100.{n + 1}")
        # a client that writes its own header in front of the proxy's entry is still limited: the
        # proxy appends the address it saw, and that is the one believed
        spoofed = _sign_ups(client, lambda n: f"203.0.113.{n + 1}, 192.0.2.99")
        assert spoofed.count(429) >= SIGN_UPS - 3


def test_a_peer_outside_trusted_proxies_is_counted_by_its_own_address(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    with _newsletter(tmp_path, kafka_bootstrap, prefix, "10.0.1.5", "10.0.0.0/24") as client:
        statuses = _sign_ups(client, lambda n: f"198.51.100.{n + 1}")
    assert statuses.count(429) >= SIGN_UPS - 3


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.5", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # two proxies of ours
        ("10.0.0.5", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client's own entry is ignored
        ("10.0.0.5", "", "10.0.0.5"),
        ("203.0.113.8", "198.51.100.1", "203.0.113.8"),  # not a proxy of ours
        ("10.0.0.5", "not-an-address", "not-an-address"),
    ],
)
def test_the_client_address_is_the_first_untrusted_hop_from_the_right(
    peer: str, forwarded_for: str, client: str
) -> None:
    assert TrustedProxies("10.0.0.0/24").client(peer, forwarded_for) == client


def test_without_trusted_proxies_the_header_is_never_believed() -> None:
    assert TrustedProxies("").client("127.0.0.1", "198.51.100.1") == "127.0.0.1"
