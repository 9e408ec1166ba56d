"""A way in without an identity provider, for a local stack (bin/up) only and off unless configured
(BACKOFFICE_MAIL_LOGIN=1): a one-time sign-in link, valid a few minutes, mailed to an address on the
configured list (BACKOFFICE_MAIL_LOGIN_USERS). A used link is remembered by this process, so it works once."""

from __future__ import annotations

import secrets
import smtplib
import threading
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import parse_qsl

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.backoffice.session import SESSION_COOKIE, SIGN_IN_COOKIE, StaffSession, cookie_key
from services.backoffice.settings import BackofficeSettings
from services.backoffice.web import render, settings_of

router = APIRouter(include_in_schema=False)
SENT = "Als dit adres toegang heeft, staat er nu een aanmeldlink in de mailbox. Hij werkt één keer."
SUBJECT = "Je aanmeldlink voor de back office"
USED = "Deze aanmeldlink is verlopen of al gebruikt. Vraag een nieuwe aan."
_used: set[str] = set()
_lock = threading.Lock()


def enabled(settings: BackofficeSettings) -> bool:
    return settings.backoffice_mail_login and bool(settings.mail_login_users())


def _off(request: Request) -> HTMLResponse:
    return render(
        request, "message.html", "Niet beschikbaar", None, 404, text="Aanmelden per mail staat uit."
    )


@router.get("/aanmelden/mail")
def ask(request: Request) -> HTMLResponse:
    settings = settings_of(request)
    if not enabled(settings):
        return _off(request)
    token = secrets.token_urlsafe(24)  # CSRF before there is a session: the form and a cookie agree
    response = render(
        request, "mail_login.html", "Aanmelden met een link per mail", None, csrf=token, errors={}
    )
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=900, httponly=True, samesite="lax", path="/")
    return response


@router.post("/aanmelden/mail")
async def send(request: Request) -> Response:
    settings = settings_of(request)
    if not enabled(settings):
        return _off(request)
    values = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not secrets.compare_digest(values.get("csrf", "").encode(), expected.encode()):
        return render(
            request, "message.html", "Formulier geweigerd", None, 403, text="Vraag de link opnieuw aan."
        )
    address = values.get("email", "").strip().lower()
    role = settings.mail_login_users().get(address)
    if role is not None:
        claims = {
            "sub": address,
            "role": role,
            "jti": str(uuid.uuid4()),
            "exp": datetime.now(UTC) + timedelta(minutes=settings.backoffice_mail_link_minutes),
        }
        link_token = jwt.encode(
            claims, cookie_key(settings.auth_secret.get_secret_value(), "mail-link"), "HS256"
        )
        base = (settings.public_base_url or str(request.base_url)).rstrip("/")
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = address
        message["Subject"] = SUBJECT
        message.set_content(
            f"Dag,\n\nmet deze link meld je je aan bij de back office (hij werkt één keer, "
            f"{settings.backoffice_mail_link_minutes} minuten lang):\n\n{base}/aanmelden/mail/{link_token}\n"
        )
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            smtp.send_message(message)
    return render(request, "message.html", "Kijk in je mailbox", None, text=SENT)


@router.get("/aanmelden/mail/{link_token}")
def follow(request: Request, link_token: str) -> Response:
    settings = settings_of(request)
    if not enabled(settings):
        return _off(request)
    key = cookie_key(settings.auth_secret.get_secret_value(), "mail-link")
    try:
        claims = jwt.decode(link_token, key, algorithms=["HS256"], options={"require": ["sub", "exp", "jti"]})
    except jwt.PyJWTError:
        claims = None
    with _lock:
        if claims is None or claims["jti"] in _used:
            return render(request, "message.html", "Link niet geldig", None, 400, text=USED,
                          link=("/aanmelden/mail", "Nieuwe link aanvragen"))  # fmt: skip
        _used.add(claims["jti"])
    role = settings.mail_login_users().get(str(claims["sub"]))  # the list may have changed since
    if role is None:
        return render(
            request, "message.html", "Geen toegang", None, 403, text="Dit adres heeft geen toegang meer."
        )
    staff = StaffSession.new(
        str(claims["sub"]), str(claims["sub"]), role, settings.backoffice_session_minutes
    )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        staff.seal(cookie_key(settings.auth_secret.get_secret_value(), "session")),
        max_age=settings.backoffice_session_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=settings.backoffice_cookie_secure,
        path="/",
    )
    return response
