"""Composition of the back office: settings, the identity provider, the screens, the security headers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.backoffice import (
    activities,
    admin,
    feedback,
    kpi,
    maillink,
    members,
    newsletter,
    oidc,
    signin,
    tools,
)
from services.backoffice.services import ServiceUnavailable
from services.backoffice.settings import BackofficeSettings
from services.backoffice.web import HERE, SECTIONS, PageProblem, Staff, current, render, sign_in_address
from shared.service import BodyLimit, secure

SERVICE_DOWN = (
    "Een onderliggende dienst antwoordt nu niet. Er is niets bewaard; probeer het zo dadelijk opnieuw."
)


class SecurityHeaders:
    """The headers every service sets (shared.service.secure): CSP, nosniff, no framing, no referrer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                secure(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_secured)


def build(settings: BackofficeSettings) -> FastAPI:
    app = FastAPI(title="VVSG back office", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.provider = (
        oidc.Provider(
            settings.oidc_issuer,
            settings.oidc_client_id,
            settings.oidc_client_secret.get_secret_value(),
            settings.oidc_scopes,
        )
        if settings.oidc_issuer
        else None
    )

    @app.exception_handler(PageProblem)
    async def _problem(request: Request, problem: PageProblem) -> Response:
        if problem.sign_in and request.method == "GET":
            return RedirectResponse(sign_in_address(request), status_code=303)
        return render(
            request,
            "message.html",
            problem.title,
            current(request),
            problem.status_code,
            text=problem.text,
            link=("/aanmelden", "Aanmelden") if problem.status_code == 401 else None,
        )

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(request: Request, _exc: ServiceUnavailable) -> Response:
        return render(
            request,
            "message.html",
            "Even niet bereikbaar",
            current(request),
            503,
            text=SERVICE_DOWN,
        )

    @app.get("/", include_in_schema=False)
    def home(request: Request, staff: Staff) -> HTMLResponse:
        # Beheer is for admins only: the menu (base.html) and the cards leave it out for the others
        cards = [card for card in SECTIONS if card[0] != "/beheer" or staff.role == "admin"]
        return render(request, "home.html", "Overzicht", staff, cards=cards)

    @app.get("/static/backoffice.css", include_in_schema=False)
    def stylesheet() -> FileResponse:
        return FileResponse(HERE / "static" / "backoffice.css", media_type="text/css")

    @app.get("/health/live", include_in_schema=False)
    @app.get("/health/ready", include_in_schema=False)
    def live() -> dict[str, str]:
        return {"status": "ok"}  # no state of its own: ready as soon as it answers

    app.include_router(maillink.router)  # before signin: /aanmelden/mail is more specific
    app.include_router(signin.router)
    app.include_router(members.router)
    app.include_router(activities.router)
    app.include_router(kpi.router)
    app.include_router(newsletter.router)
    app.include_router(tools.router)
    app.include_router(feedback.router)
    app.include_router(admin.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
