"""The roles walk: every operation of every service, called with no token, a bad token and each role,
against the declared table in access.py; and the public pages, which accept only their own links."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.feedback.tables import FbRequest
from shared.auth import ISSUER, ROLES, Role, issue_token
from shared.links import Purpose, make_token
from tests import infra
from tests.security import apps
from tests.security.access import ACCESS, LINK_PAGES, PUBLIC, Access, allows

OPERATIONS = [(service, method, path) for service, table in ACCESS.items() for method, path in table]
PROTECTED = [(s, m, p) for s, m, p in OPERATIONS if ACCESS[s][(m, p)] != PUBLIC]
OPEN = [(s, m, p) for s, m, p in OPERATIONS if ACCESS[s][(m, p)] == PUBLIC]
OTHER_SECRET = "another-secret-" + "z" * 40
PURPOSES: tuple[Purpose, ...] = ("feedback", "survey", "newsletter-confirm", "newsletter-unsubscribe")
# answers quickly instead of waiting up to 25 s for a change
QUERY: dict[tuple[str, str], dict[str, str]] = {("GET", "/kpis/changes"): {"wait": "0"}}


def _id(case: tuple[str, ...]) -> str:
    return " ".join(case)


@pytest.fixture(scope="module")
def clients(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, TestClient]]:
    """One app per service on SQLite; the public pages' rate limit out of the way (test_limits.py)."""
    directory = tmp_path_factory.mktemp("roles")
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    with contextlib.ExitStack() as stack:
        yield {
            name: stack.enter_context(
                TestClient(apps.build(name, directory, kafka_bootstrap, prefix, public_rate_per_minute=10**7))
            )
            for name in apps.SERVICES
        }


def _url(path: str) -> str:
    """The path with every parameter filled in: an id nobody has, or a year out of range (so that an
    allowed role gets a 404 or 422, which proves it got past the role check)."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "year":
            return "1999"
        if name == "token":
            return "no-link"
        return str(uuid.uuid4())

    return re.sub(r"\{([^}]+)\}", fill, path)


def _call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    response = client.request(method, _url(path), params=QUERY.get((method, path)), headers=headers or {})
    return response.status_code


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the table against the code -------------------------------------------------------------------


@pytest.mark.parametrize("service", apps.SERVICES)
def test_every_documented_operation_is_in_the_table(clients: dict[str, TestClient], service: str) -> None:
    missing = apps.documented_operations(clients[service].app) - set(ACCESS[service])  # type: ignore[arg-type]
    assert not missing, f"{service}: add these to tests/security/access.py: {sorted(missing)}"


@pytest.mark.parametrize("service", apps.SERVICES)
def test_every_routed_operation_is_in_the_table(clients: dict[str, TestClient], service: str) -> None:
    missing = apps.routed_operations(clients[service].app) - set(ACCESS[service])  # type: ignore[arg-type]
    assert not missing, f"{service}: add these to tests/security/access.py: {sorted(missing)}"


@pytest.mark.parametrize("service", apps.SERVICES)
def test_the_table_lists_no_operation_the_service_lacks(clients: dict[str, TestClient], service: str) -> None:
    app = clients[service].app
    served = apps.routed_operations(app) | apps.documented_operations(app)  # type: ignore[arg-type]
    gone = set(ACCESS[service]) - served
    assert not gone, f"{service}: remove these from tests/security/access.py: {sorted(gone)}"


# --- tokens ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "method", "path"), PROTECTED, ids=map(_id, PROTECTED))
def test_without_a_token_it_is_401(
    clients: dict[str, TestClient], service: str, method: str, path: str
) -> None:
    assert _call(clients[service], method, path) == 401


@pytest.mark.parametrize(("service", "method", "path"), PROTECTED, ids=map(_id, PROTECTED))
def test_an_expired_token_is_401(
    clients: dict[str, TestClient], service: str, method: str, path: str
) -> None:
    expired = issue_token(infra.AUTH_SECRET, "tester@vvsg.be", "admin", ttl=timedelta(minutes=-1))
    assert _call(clients[service], method, path, _bearer(expired)) == 401


@pytest.mark.parametrize(("service", "method", "path"), PROTECTED, ids=map(_id, PROTECTED))
def test_a_token_signed_with_another_secret_is_401(
    clients: dict[str, TestClient], service: str, method: str, path: str
) -> None:
    forged = issue_token(OTHER_SECRET, "tester@vvsg.be", "admin")
    assert _call(clients[service], method, path, _bearer(forged)) == 401


@pytest.mark.parametrize(("service", "method", "path"), PROTECTED, ids=map(_id, PROTECTED))
def test_an_unsigned_token_is_401(
    clients: dict[str, TestClient], service: str, method: str, path: str
) -> None:
    now = datetime.now(UTC)
    claims = {
        "sub": "tester@vvsg.be",
        "role": "admin",
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert _call(clients[service], method, path, _bearer(unsigned)) == 401


ROLE_CASES = [(s, m, p, role) for s, m, p in PROTECTED for role in ROLES]


@pytest.mark.parametrize(("service", "method", "path", "role"), ROLE_CASES, ids=map(_id, ROLE_CASES))
def test_each_role_gets_what_the_table_says(
    clients: dict[str, TestClient], service: str, method: str, path: str, role: Role
) -> None:
    access: Access = ACCESS[service][(method, path)]
    status = _call(clients[service], method, path, infra.auth(role))
    if allows(access, role):
        assert status not in (401, 403) and status < 500, f"{role} was refused or broke it: {status}"
    else:
        assert status == 403


# --- public operations ----------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "method", "path"), OPEN, ids=map(_id, OPEN))
def test_a_public_operation_answers_without_a_token(
    clients: dict[str, TestClient], service: str, method: str, path: str
) -> None:
    status = _call(clients[service], method, path)
    assert status not in (401, 403) and status < 500


@pytest.mark.parametrize(("service", "method", "path"), OPEN, ids=map(_id, OPEN))
def test_on_a_public_operation_a_bearer_token_changes_nothing(
    clients: dict[str, TestClient], service: str, method: str, path: str
) -> None:
    forged = _bearer(issue_token(OTHER_SECRET, "tester@vvsg.be", "admin"))
    assert _call(clients[service], method, path, forged) == _call(clients[service], method, path)


# --- personal links -------------------------------------------------------------------------------

LINKS = [
    (service, method, path, purpose)
    for service, pages in LINK_PAGES.items()
    for (method, path), purpose in pages.items()
]
LINK_GETS = [case for case in LINKS if case[1] == "GET"]


@pytest.fixture(scope="module")
def link_ids(clients: dict[str, TestClient]) -> dict[Purpose, str]:
    """An id each purpose's link can name: a feedback request and a survey invitation that exist (so a
    refusal is about the link, not an unknown id); any id for the newsletter pages."""
    feedback = clients["feedback"]
    now = datetime.now(UTC)
    request_id = uuid.uuid4()
    request = FbRequest(
        id=request_id,
        subject_type="session",
        subject_id=uuid.uuid4(),
        participant_key=str(uuid.uuid4()),
        requested_at=now,
        requested_on=date.today(),
    )
    with Session(feedback.app.state.runtime.engine) as session:  # type: ignore[attr-defined]
        session.add(request)
        session.commit()
    admin = infra.auth("admin")
    survey = feedback.post(
        "/surveys",
        json={"title": "Hulpmiddelen", "topic": "tools", "questions": [{"text": "Nuttig?"}]},
        headers=admin,
    )
    assert survey.status_code == 201, survey.text
    invited = feedback.post(
        f"/surveys/{survey.json()['id']}/invitations", json={"member_ids": [str(uuid.uuid4())]}, headers=admin
    )
    assert invited.status_code == 200, invited.text
    listed = feedback.get("/requests", params={"subject_type": "survey"}, headers=admin).json()["items"]
    subscriber = str(uuid.uuid4())
    return {
        "feedback": str(request_id),
        "survey": listed[0]["id"],
        "newsletter-confirm": subscriber,
        "newsletter-unsubscribe": subscriber,
    }


def _page(path: str, token: str) -> str:
    return path.replace("{token}", token)


@pytest.mark.parametrize(("service", "method", "path", "purpose"), LINK_GETS, ids=map(_id, LINK_GETS))
def test_a_page_opens_with_its_own_link(
    clients: dict[str, TestClient],
    link_ids: dict[Purpose, str],
    service: str,
    method: str,
    path: str,
    purpose: Purpose,
) -> None:
    token = make_token(infra.LINK_SECRET, purpose, link_ids[purpose])
    response = clients[service].request(method, _page(path, token))
    assert response.status_code == 200


OTHER_LINKS = [(s, m, p, own, other) for s, m, p, own in LINKS for other in PURPOSES if other != own]


@pytest.mark.parametrize(
    ("service", "method", "path", "own", "other"), OTHER_LINKS, ids=map(_id, OTHER_LINKS)
)
def test_a_page_refuses_a_link_made_for_another_page(
    clients: dict[str, TestClient],
    link_ids: dict[Purpose, str],
    service: str,
    method: str,
    path: str,
    own: Purpose,
    other: Purpose,
) -> None:
    token = make_token(infra.LINK_SECRET, other, link_ids[own])
    response = clients[service].request(method, _page(path, token), follow_redirects=False)
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize(("service", "method", "path", "purpose"), LINKS, ids=map(_id, LINKS))
def test_a_page_refuses_a_link_signed_with_another_secret(
    clients: dict[str, TestClient],
    link_ids: dict[Purpose, str],
    service: str,
    method: str,
    path: str,
    purpose: Purpose,
) -> None:
    token = make_token(OTHER_SECRET, purpose, link_ids[purpose])
    response = clients[service].request(method, _page(path, token), follow_redirects=False)
    assert 400 <= response.status_code < 500


MALFORMED = {
    "no signature": "4b1e5c1c-0f8e-4a51-9d6b-5f2f3a1c9e10",
    "only a dot": ".",
    "empty id": ".c2lnbmF0dXJl",
    "empty signature": "4b1e5c1c-0f8e-4a51-9d6b-5f2f3a1c9e10.",
    "dots": "....",
    "very long": "a" * 5000 + "." + "b" * 5000,
    "not ascii": "é€😀.ü",
    "nul byte": "%00.%00",
    "dot-dot": "%2e%2e",
    "percent signs": "%25%25.%25",
    "signed, but not an id": make_token(infra.LINK_SECRET, "feedback", "not-an-id"),
}
MALFORMED_CASES = [(s, m, p, kind) for s, m, p, _purpose in LINKS for kind in MALFORMED]


@pytest.mark.parametrize(
    ("service", "method", "path", "kind"), MALFORMED_CASES, ids=map(_id, MALFORMED_CASES)
)
def test_a_page_refuses_a_malformed_link_with_4xx(
    clients: dict[str, TestClient], service: str, method: str, path: str, kind: str
) -> None:
    response = clients[service].request(method, _page(path, MALFORMED[kind]), follow_redirects=False)
    assert 400 <= response.status_code < 500
