"""Security headers for every answer of every service, set once by the app factory (shared.service).

Every HTML page gets a Content-Security-Policy that allows nothing from elsewhere and no framing; a
page that needs more (the dashboard's inline script and its calls to the API) builds its policy with
`content_security_policy(...)` and sets it itself, and the factory leaves a policy it finds alone."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

# Inline <style> blocks and style="" attributes (the newsletter preview shows the mail as it is sent,
# and mail clients only honour inline styles) stay allowed: CSS cannot run script in today's browsers.
# Scripts are refused unless a page names the hash of its own inline script.
BASE_POLICY: dict[str, str] = {
    "default-src": "'none'",
    "style-src": "'unsafe-inline'",
    "img-src": "'self' data:",
    "form-action": "'self'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}

# on every answer, HTML or not
ALWAYS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    # personal links (feedback, unsubscribe) carry their token in the address: never pass it on
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Cross-Origin-Resource-Policy": "same-origin",
}

# on HTML pages, beside the policy
HTML: dict[str, str] = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

DEFAULT_POLICY = "; ".join(f"{name} {value}" for name, value in BASE_POLICY.items())

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def content_security_policy(**directives: str) -> str:
    """The base policy with directives added or replaced: `script_src="'sha256-…'"` for
    `script-src`. Sources are listed explicitly; the base's `frame-ancestors 'none'` cannot be lifted."""
    policy = dict(BASE_POLICY)
    for name, value in directives.items():
        policy[name.replace("_", "-")] = value
    policy["frame-ancestors"] = "'none'"
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def sha256_source(text: str) -> str:
    """A CSP hash source for an inline script or style whose text is exactly `text`."""
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def inline_script_hashes(trusted_html: str) -> str:
    """The hash sources of every inline script in a page the service itself wrote (never a page with
    input in it: a script injected there would be hashed and allowed too)."""
    return " ".join(_unique(sha256_source(m.group(1)) for m in _INLINE_SCRIPT.finditer(trusted_html)))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
