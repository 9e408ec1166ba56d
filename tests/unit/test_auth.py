"""Tokens and role checks."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Annotated

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from shared.auth import InvalidToken, Principal, issue_token, require, verify_token

SECRET = "unit-test-secret-" + "y" * 32


def test_a_token_names_its_subject_and_role() -> None:
    principal = verify_token(SECRET, issue_token(SECRET, "an@vvsg.be", "viewer"))
    assert principal == Principal("an@vvsg.be", "viewer")


def test_an_expired_token_is_refused() -> None:
    token = issue_token(SECRET, "an@vvsg.be", "staff", ttl=timedelta(seconds=-1))
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(SECRET, token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token("another-secret-" + "z" * 32, "an@vvsg.be", "admin")
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_an_unsigned_token_is_refused() -> None:
    token = jwt.encode(
        {"sub": "x", "role": "admin", "iss": "vvsg-digitale-inclusie", "exp": 9999999999},
        key=None,
        algorithm="none",
    )
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_an_unknown_role_cannot_be_issued() -> None:
    with pytest.raises(ValueError):
        issue_token(SECRET, "x", "root")  # type: ignore[arg-type]


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        issue_token("short", "x", "staff")


def _app() -> TestClient:
    app = FastAPI()
    app.state.settings = SimpleNamespace(auth_secret=SecretStr(SECRET))

    @app.get("/staff-only")
    def staff_only(who: Annotated[Principal, Depends(require("admin", "staff"))]) -> dict[str, str]:
        return {"subject": who.subject}

    return TestClient(app)


def test_no_token_is_401_with_a_bearer_challenge() -> None:
    response = _app().get("/staff-only")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_wrong_role_is_403() -> None:
    token = issue_token(SECRET, "v@vvsg.be", "viewer")
    response = _app().get("/staff-only", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "viewer" in response.json()["detail"]


def test_the_right_role_passes_with_its_subject() -> None:
    token = issue_token(SECRET, "s@vvsg.be", "staff")
    response = _app().get("/staff-only", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"subject": "s@vvsg.be"}
