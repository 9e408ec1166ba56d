"""OpenID Connect, authorization code flow with PKCE (RFC 7636), against any standard provider.

The provider is found through its discovery document; the ID token is checked with PyJWT against the
provider's JWKS: signature, issuer, audience (this client), expiry, and the nonce of this sign-in."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from shared.auth import ROLES, Role

ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
DISCOVERY_TTL = 3600.0


class SignInFailed(Exception):
    """The provider's answer cannot be trusted or used; the message is for the log, not for people."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


@dataclass(frozen=True)
class Challenge:
    """What one sign-in keeps between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Challenge:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))

    @property
    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Provider:
    """One configured provider: its metadata and keys, fetched when first needed and cached."""

    def __init__(self, issuer: str, client_id: str, client_secret: str = "", scopes: str = "openid") -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self._metadata: ProviderMetadata | None = None
        self._fetched_at = 0.0
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def metadata(self) -> ProviderMetadata:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._fetched_at > DISCOVERY_TTL:
                answer = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10)
                answer.raise_for_status()
                document = answer.json()
                if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                    raise SignInFailed("the discovery document names another issuer")
                self._metadata = ProviderMetadata(
                    issuer=str(document["issuer"]),
                    authorization_endpoint=str(document["authorization_endpoint"]),
                    token_endpoint=str(document["token_endpoint"]),
                    jwks_uri=str(document["jwks_uri"]),
                    end_session_endpoint=document.get("end_session_endpoint"),
                )
                self._jwks = jwt.PyJWKClient(self._metadata.jwks_uri, cache_keys=True, lifespan=3600)
                self._fetched_at = time.monotonic()
            return self._metadata

    def authorization_url(self, challenge: Challenge, redirect_uri: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.scopes,
            "state": challenge.state,
            "nonce": challenge.nonce,
            "code_challenge": challenge.code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.metadata().authorization_endpoint}?{urlencode(query)}"

    def redeem(self, code: str, challenge: Challenge, redirect_uri: str) -> tuple[dict[str, Any], str]:
        """The checked claims of the ID token the code buys, and the raw token (the sign-out hint)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": challenge.verifier,
        }
        if self.client_secret:
            form["client_secret"] = self.client_secret
        answer = httpx.post(self.metadata().token_endpoint, data=form, timeout=15)
        if answer.status_code != 200:
            raise SignInFailed(f"the token endpoint answered {answer.status_code}")
        id_token = answer.json().get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("the token endpoint sent no ID token")
        return self.verify_id_token(id_token, challenge.nonce), id_token

    def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        metadata = self.metadata()
        assert self._jwks is not None
        try:
            key = self._jwks.get_signing_key_from_jwt(id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=ASYMMETRIC,
                audience=self.client_id,
                issuer=metadata.issuer,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"ID token refused: {exc}") from None
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInFailed("ID token carries another nonce")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise SignInFailed("ID token was issued to another party (azp)")
        return claims

    def end_session_url(self, id_token: str, return_to: str) -> str | None:
        endpoint = self.metadata().end_session_endpoint
        if not endpoint:
            return None
        query = {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": return_to,
            "client_id": self.client_id,
        }
        return f"{endpoint}?{urlencode(query)}"


ROLE_STRENGTH: dict[Role, int] = {role: len(ROLES) - rank for rank, role in enumerate(ROLES)}


def role_of(claims: dict[str, Any], claim_path: str, mapping: dict[str, Role]) -> Role | None:
    """The strongest back-office role that the person's provider roles or groups map to, if any."""
    value: Any = claims
    for part in claim_path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    # a group claim may hold paths such as /vvsg-staff: the last segment counts too
    roles = [
        mapping[n]
        for name in names
        if isinstance(name, str)
        for n in {name, name.rsplit("/", 1)[-1]}
        if n in mapping
    ]
    return max(roles, key=lambda role: ROLE_STRENGTH[role], default=None)
