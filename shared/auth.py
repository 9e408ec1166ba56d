"""Bearer tokens: signed (HS256) with the secret from the environment, carrying a subject and a role.

Issue one with `python -m shared.auth --role staff --subject an.medewerker@vvsg.be`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

Role = Literal["admin", "staff", "partner", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "staff", "partner", "viewer")
ISSUER = "vvsg-digitale-inclusie"
ALGORITHM = "HS256"

# Who may do what, by kind of endpoint. Admin may do everything staff may.
STAFF: tuple[Role, ...] = ("admin", "staff")
ACTIVITY_WRITERS: tuple[Role, ...] = ("admin", "staff", "partner")  # Mediawijs records its sessions
READERS: tuple[Role, ...] = ("admin", "staff", "partner", "viewer")
ADMIN: tuple[Role, ...] = ("admin",)


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role


class InvalidToken(Exception):
    pass


def issue_token(secret: str, subject: str, role: Role, ttl: timedelta = timedelta(days=30)) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if len(secret) < 32:
        raise ValueError("AUTH_SECRET must be at least 32 characters")
    now = datetime.now(UTC)
    claims = {"sub": subject, "role": role, "iss": ISSUER, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "role", "exp", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None
    role = claims.get("role")
    if role not in ROLES:
        raise InvalidToken("token carries no known role")
    return Principal(subject=str(claims["sub"]), role=role)


bearer = HTTPBearer(auto_error=False, description="A token from `vvsg token --role ROLE`")
_bearer = bearer  # the name services used before it was public


def require(*roles: Role) -> Callable[..., Principal]:
    """A FastAPI dependency: 401 without a valid token, 403 when the role may not do this."""

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        secret: str = request.app.state.settings.auth_secret.get_secret_value()
        try:
            principal = verify_token(secret, credentials.credentials)
        except InvalidToken as exc:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                str(exc),
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role!r} may not do this (allowed: {', '.join(roles)})",
            )
        request.state.principal = principal
        return principal

    return dependency


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Issue an access token (AUTH_SECRET from the environment).")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--subject", required=True, help="who uses the token, e.g. an e-mail address")
    parser.add_argument("--days", type=float, default=30.0)
    args = parser.parse_args(argv)
    secret = os.environ.get("AUTH_SECRET", "")
    try:
        print(issue_token(secret, args.subject, args.role, timedelta(days=args.days)))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
