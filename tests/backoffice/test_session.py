"""The back office's own rules without a provider: the session cookie, the role mapping, and the
refusal of a form without its CSRF token, from an expired session or from a role that may not post it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from services.backoffice import oidc, services
from services.backoffice.app import build
from services.backoffice.session import SESSION_COOKIE, StaffSession, cookie_key
from services.backoffice.settings import BackofficeSettings
from services.backoffice.web import local_path
from shared.auth import Role
from tests import infra

KEY = cookie_key(infra.AUTH_SECRET, "session")


def session_cookie(role: Role, minutes: int = 30) -> tuple[StaffSession, str]:
    staff = StaffSession.new("an@vvsg.be", "An", role, minutes)
    return staff, staff.seal(KEY)


@pytest.fixture
def calls() -> list[httpx.Request]:
    return []


@pytest.fixture
def client(calls: list[httpx.Request], monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The back office with its calls to the services recorded instead of sent."""

    def record(method: str, url: str, **kwargs: object) -> httpx.Response:
        calls.append(httpx.Request(method, url))
        return httpx.Response(201, json={"id": "00000000-0000-0000-0000-000000000001"})

    monkeypatch.setattr(services._client, "request", record)  # the one client every screen calls with
    settings = BackofficeSettings(auth_secret=infra.AUTH_SECRET, members_url="http://members.invalid")
    return TestClient(build(settings), base_url="http://127.0.0.1", follow_redirects=False)


def test_a_sealed_session_opens_with_its_key_only() -> None:
    staff, sealed = session_cookie("staff")
    opened = StaffSession.open(sealed, KEY)
    assert opened is not None
    assert (opened.subject, opened.role, opened.csrf) == (staff.subject, staff.role, staff.csrf)
    assert StaffSession.open(sealed, cookie_key("x" * 40, "session")) is None
    assert StaffSession.open(sealed[:-2] + "xx", KEY) is None


def test_an_expired_session_does_not_open() -> None:
    _, sealed = session_cookie("staff", minutes=-1)
    assert StaffSession.open(sealed, KEY) is None


def test_the_strongest_mapped_role_wins_and_unknown_groups_count_for_nothing() -> None:
    mapping: dict[str, Role] = {"vvsg-admin": "admin", "vvsg-staff": "staff", "viewer": "viewer"}
    assert oidc.role_of({"roles": ["viewer", "vvsg-staff", "other"]}, "roles", mapping) == "staff"
    assert oidc.role_of({"realm_access": {"roles": ["vvsg-admin"]}}, "realm_access.roles", mapping) == "admin"
    assert oidc.role_of({"groups": ["/VVSG/vvsg-staff"]}, "groups", mapping) == "staff"
    assert oidc.role_of({"roles": ["other"]}, "roles", mapping) is None
    assert oidc.role_of({}, "roles", mapping) is None


def test_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    challenge = oidc.Challenge(state="s", nonce="n", verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert challenge.code_challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636, appendix B


def test_only_local_paths_are_followed_after_sign_in() -> None:
    assert local_path("/leden?q=a") == "/leden?q=a"
    for elsewhere in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None):
        assert local_path(elsewhere) == "/"


def test_a_screen_without_a_session_sends_the_person_to_sign_in(client: TestClient) -> None:
    answer = client.get("/leden?q=x")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/aanmelden?next=%2Fleden%3Fq%3Dx"


FORM = {"name": "Gemeente Zoersel", "kind": "lokaal_bestuur"}


def test_a_form_without_its_csrf_token_is_refused_and_calls_nothing(
    client: TestClient, calls: list[httpx.Request]
) -> None:
    _, sealed = session_cookie("staff")
    client.cookies.set(SESSION_COOKIE, sealed)
    answer = client.post("/organisaties/nieuw", data=FORM)
    assert answer.status_code == 403
    assert "niets bewaard" in answer.text
    wrong = client.post("/organisaties/nieuw", data={**FORM, "csrf": "not-the-token"})
    assert wrong.status_code == 403
    assert calls == []


def test_a_form_from_an_expired_session_is_refused_and_calls_nothing(
    client: TestClient, calls: list[httpx.Request]
) -> None:
    staff, sealed = session_cookie("staff", minutes=-1)
    client.cookies.set(SESSION_COOKIE, sealed)
    answer = client.post("/organisaties/nieuw", data={**FORM, "csrf": staff.csrf})
    assert answer.status_code == 401
    assert calls == []


@pytest.mark.parametrize("role", ["viewer", "partner"])
def test_a_role_that_may_not_register_is_refused_and_calls_nothing(
    client: TestClient, calls: list[httpx.Request], role: Role
) -> None:
    staff, sealed = session_cookie(role)
    client.cookies.set(SESSION_COOKIE, sealed)
    answer = client.post("/organisaties/nieuw", data={**FORM, "csrf": staff.csrf})
    assert answer.status_code == 403
    assert calls == []


def test_a_form_with_its_token_from_staff_reaches_the_service_with_a_short_bearer_token(
    client: TestClient, calls: list[httpx.Request]
) -> None:
    staff, sealed = session_cookie("staff")
    client.cookies.set(SESSION_COOKIE, sealed)
    answer = client.post("/organisaties/nieuw", data={**FORM, "csrf": staff.csrf})
    assert answer.status_code == 303
    assert [str(call.url) for call in calls] == ["http://members.invalid/organisations"]


def test_pages_carry_the_security_headers_and_load_nothing_from_elsewhere(client: TestClient) -> None:
    _, sealed = session_cookie("viewer")
    client.cookies.set(SESSION_COOKIE, sealed)
    answer = client.get("/")  # every section is a screen of its own now; the overview needs no service
    assert answer.status_code == 200
    assert "Welkom" in answer.text
    policy = answer.headers["content-security-policy"]
    assert (
        "default-src 'none'" in policy
        and "script-src 'none'" in policy
        and "frame-ancestors 'none'" in policy
    )
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert 'lang="nl-BE"' in answer.text
    assert "http" not in answer.text.split("<body>")[0].replace('content="width', "")


def test_session_expiry_is_in_the_cookie() -> None:
    _, sealed = session_cookie("staff", minutes=5)
    opened = StaffSession.open(sealed, KEY)
    assert opened is not None
    assert timedelta(minutes=4) < opened.expires_at - datetime.now(UTC) <= timedelta(minutes=5)
