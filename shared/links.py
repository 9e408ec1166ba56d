"""Personal links for public pages (feedback, survey, newsletter confirmation and unsubscribe).

A link token is `<id>.<signature>`: an HMAC of the purpose and the id under LINK_SECRET. Domain events
carry only the id; the service that mails the link and the service that serves the page share the
secret, so neither the token nor the address ever travels on a topic. A token made for one purpose is
refused for every other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

Purpose = Literal["feedback", "survey", "newsletter-confirm", "newsletter-unsubscribe"]


class BadLink(ValueError):
    pass


def _signature(secret: str, purpose: Purpose, identifier: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{identifier}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def make_token(secret: str, purpose: Purpose, identifier: str) -> str:
    if len(secret) < 32:
        raise ValueError("LINK_SECRET must be at least 32 characters")
    return f"{identifier}.{_signature(secret, purpose, identifier)}"


def read_token(secret: str, purpose: Purpose, token: str) -> str:
    """The id the token was made for; BadLink when it was not made with this secret and purpose."""
    identifier, _, signature = token.rpartition(".")
    if not identifier or not signature:
        raise BadLink("malformed link")
    # as bytes: compare_digest refuses non-ASCII text, and a link is whatever a browser sends
    expected = _signature(secret, purpose, identifier).encode()
    if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
        raise BadLink("this link is not valid")
    return identifier
