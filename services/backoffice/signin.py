"""Signing in and out: /aanmelden leaves for the provider with a PKCE challenge, /auth/callback comes
back with the code, checks the ID token and starts the session; /afmelden ends both sessions."""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.backoffice import maillink, oidc
from services.backoffice.session import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    StaffSession,
    cookie_key,
    open_sign_in,
    seal_sign_in,
)
from services.backoffice.settings import BackofficeSettings
from services.backoffice.web import Form, current, local_path, posted, render, settings_of

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
CALLBACK = "/auth/callback"
NO_ROLE = (
    "Je bent aangemeld, maar je account heeft geen rol in de back office. Vraag er een aan de beheerder."
)


def provider_of(request: Request) -> oidc.Provider:
    provider: oidc.Provider | None = request.app.state.provider
    if provider is None:
        raise LookupError("no identity provider configured")
    return provider


def base_address(request: Request, settings: BackofficeSettings) -> str:
    return (settings.public_base_url or str(request.base_url)).rstrip("/")


def _cookie(response: Response, settings: BackofficeSettings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET: Lax lets the cookie come along
        secure=settings.backoffice_cookie_secure,
        path="/",
    )


@router.get("/aanmelden")
def sign_in(request: Request, next: str = "/") -> Response:
    settings = settings_of(request)
    if request.app.state.provider is None and maillink.enabled(settings):
        return RedirectResponse("/aanmelden/mail", status_code=303)
    if request.app.state.provider is None:
        return render(
            request,
            "message.html",
            "Aanmelden",
            None,
            503,
            text="Er is geen identiteitsprovider ingesteld (OIDC_ISSUER). Vraag het aan de beheerder.",
        )
    challenge = oidc.Challenge.new()
    try:
        address = provider_of(request).authorization_url(
            challenge, base_address(request, settings) + CALLBACK
        )
    except (httpx.HTTPError, oidc.SignInFailed, KeyError, ValueError):
        log.exception("the identity provider cannot be reached")
        return render(
            request,
            "message.html",
            "Aanmelden",
            None,
            503,
            text="De aanmeldservice is nu niet bereikbaar. Probeer het over enkele minuten opnieuw.",
        )
    response = RedirectResponse(address, status_code=303)
    values = {
        "state": challenge.state,
        "nonce": challenge.nonce,
        "verifier": challenge.verifier,
        "next": local_path(next),
    }
    sealed = seal_sign_in(cookie_key(settings.auth_secret.get_secret_value(), "sign-in"), values)
    _cookie(response, settings, SIGN_IN_COOKIE, sealed, 600)
    return response


@router.get(CALLBACK)
def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    settings = settings_of(request)
    key = cookie_key(settings.auth_secret.get_secret_value(), "sign-in")
    pending = open_sign_in(request.cookies.get(SIGN_IN_COOKIE), key)
    again = ("/aanmelden", "Opnieuw aanmelden")
    if error or not code or pending is None or pending.get("state") != state:
        return render(
            request,
            "message.html",
            "Aanmelden mislukt",
            None,
            400,
            link=again,
            text="De aanmelding kon niet worden afgerond (verlopen of onderbroken). Probeer opnieuw.",
        )
    challenge = oidc.Challenge(state=state, nonce=str(pending["nonce"]), verifier=str(pending["verifier"]))
    try:
        claims, id_token = provider_of(request).redeem(
            code, challenge, base_address(request, settings) + CALLBACK
        )
    except (oidc.SignInFailed, LookupError) as exc:
        log.warning("sign-in refused: %s", exc)
        return render(
            request,
            "message.html",
            "Aanmelden mislukt",
            None,
            400,
            link=again,
            text="De aanmelding kon niet worden bevestigd. Probeer opnieuw.",
        )
    role = oidc.role_of(claims, settings.oidc_role_claim, settings.role_map())
    if role is None:
        refused = render(
            request,
            "message.html",
            "Geen toegang",
            None,
            403,
            text=NO_ROLE,
        )
        refused.delete_cookie(SIGN_IN_COOKIE, path="/")
        return refused
    subject = str(claims.get(settings.oidc_subject_claim) or claims["sub"])
    name = str(claims.get("name") or claims.get("preferred_username") or subject)
    staff = StaffSession.new(subject, name, role, settings.backoffice_session_minutes, id_token)
    response = RedirectResponse(local_path(str(pending.get("next", "/"))), status_code=303)
    sealed = staff.seal(cookie_key(settings.auth_secret.get_secret_value(), "session"))
    _cookie(response, settings, SESSION_COOKIE, sealed, settings.backoffice_session_minutes * 60)
    response.delete_cookie(SIGN_IN_COOKIE, path="/")
    return response


@router.post("/afmelden")
def sign_out(request: Request, form: Form = Depends(posted())) -> Response:  # noqa: B008
    settings = settings_of(request)
    after = base_address(request, settings) + "/afgemeld"
    target = "/afgemeld"
    provider: oidc.Provider | None = request.app.state.provider
    if provider is not None and form.staff.id_token:
        try:
            target = provider.end_session_url(form.staff.id_token, after) or target
        except (httpx.HTTPError, oidc.SignInFailed):
            log.warning("the provider's sign-out address is unknown; only this session ends")
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/afgemeld")
def signed_out(request: Request) -> HTMLResponse:
    return render(
        request,
        "message.html",
        "Afgemeld",
        current(request),
        link=("/aanmelden", "Opnieuw aanmelden"),
        text="Je bent afgemeld.",
    )
