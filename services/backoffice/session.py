"""The browser session: a signed cookie (HS256, a key derived from AUTH_SECRET) with an expiry, the
person's name and role, and the CSRF token that every form of the session carries back."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from shared.auth import ROLES, Role

SESSION_COOKIE = "vvsg_backoffice"
SIGN_IN_COOKIE = "vvsg_backoffice_aanmelding"
ALGORITHM = "HS256"


def cookie_key(auth_secret: str, purpose: str) -> bytes:
    """A key of its own per purpose, so that no cookie can pass for a service's bearer token."""
    return hmac.new(auth_secret.encode("utf-8"), f"backoffice {purpose}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class StaffSession:
    subject: str
    name: str
    role: Role
    csrf: str
    expires_at: datetime
    id_token: str = ""  # the provider's ID token: the hint its sign-out endpoint asks for

    @classmethod
    def new(cls, subject: str, name: str, role: Role, minutes: int, id_token: str = "") -> StaffSession:
        expires_at = datetime.now(UTC) + timedelta(minutes=minutes)
        return cls(subject, name, role, secrets.token_urlsafe(32), expires_at, id_token)

    def seal(self, key: bytes) -> str:
        claims = {
            "sub": self.subject,
            "name": self.name,
            "role": self.role,
            "csrf": self.csrf,
            "exp": self.expires_at,
            "idt": self.id_token,
        }
        return jwt.encode(claims, key, algorithm=ALGORITHM)

    @classmethod
    def open(cls, sealed: str | None, key: bytes) -> StaffSession | None:
        """The session in a cookie, or None when there is none, it was altered, or it has expired."""
        if not sealed:
            return None
        try:
            claims = jwt.decode(sealed, key, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
        except jwt.PyJWTError:
            return None
        role = claims.get("role")
        if role not in ROLES or not isinstance(claims.get("csrf"), str):
            return None
        return cls(
            subject=str(claims["sub"]),
            name=str(claims.get("name", "")),
            role=role,
            csrf=claims["csrf"],
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            id_token=str(claims.get("idt", "")),
        )

    def csrf_matches(self, given: str | None) -> bool:
        return given is not None and secrets.compare_digest(given.encode(), self.csrf.encode())


def seal_sign_in(key: bytes, values: dict[str, Any], minutes: int = 10) -> str:
    return jwt.encode(
        {**values, "exp": datetime.now(UTC) + timedelta(minutes=minutes)}, key, algorithm=ALGORITHM
    )


def open_sign_in(sealed: str | None, key: bytes) -> dict[str, Any] | None:
    if not sealed:
        return None
    try:
        return dict(jwt.decode(sealed, key, algorithms=[ALGORITHM], options={"require": ["exp"]}))
    except jwt.PyJWTError:
        return None
