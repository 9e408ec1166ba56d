"""What every screen shares: the templates (autoescaped), the layout's sections, the session from the
cookie, the checks on a form (signed in, CSRF token, role), and the answers when one fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.backoffice.services import Service, ServiceError, call
from services.backoffice.session import SESSION_COOKIE, StaffSession, cookie_key
from services.backoffice.settings import BackofficeSettings
from shared import security
from shared.auth import Role
from shared.text import MONTHS

HERE = Path(__file__).resolve().parent
ROLE_NAMES: dict[str, str] = {
    "admin": "beheerder",
    "staff": "medewerker",
    "partner": "partner",
    "viewer": "lezer",
}
SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "/leden",
        "Leden en organisaties",
        "Het netwerk: organisaties en hun leden, aansluiten, verhuizen, vertrekken.",
    ),
    (
        "/activiteiten",
        "Activiteiten",
        "Sessies plannen, inschrijvingen, aanwezigheden, adviesgesprekken en trajecten.",
    ),
    ("/feedback", "Feedback", "Antwoorden per sessie, papieren formulieren en bevragingen."),
    (
        "/nieuwsbrief",
        "Nieuwsbrief",
        "De nieuwsbrief schrijven en versturen, abonnees, artikels en goede praktijken.",
    ),
    (
        "/hulpmiddelen",
        "Hulpmiddelen",
        "De catalogus van tools en handleidingen (OD 3.1): toevoegen, bijwerken, uit de catalogus halen.",
    ),
    ("/kpi", "KPI's", "Het dashboard, de jaarrapporten en een jaar afsluiten."),
    ("/beheer", "Beheer", "Dode brieven per topic en opnieuw verwerken (beheerders)."),
)


def _datum(value: object) -> str:
    if not value:
        return "–"
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["datum"] = _datum


def page_policy(settings: BackofficeSettings) -> str:
    """No script at all; styles from this address; forms may go here and to the provider (sign-out)."""
    form_targets = "'self'"
    if settings.oidc_issuer:
        parts = urlsplit(settings.oidc_issuer)
        form_targets += f" {parts.scheme}://{parts.netloc}"
    return security.content_security_policy(style_src="'self'", form_action=form_targets, script_src="'none'")


def render(
    request: Request,
    name: str,
    title: str,
    staff: StaffSession | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    section = next((href for href, _, _ in SECTIONS if request.url.path.startswith(href)), "")
    if request.url.path.startswith("/organisaties"):
        section = "/leden"
    html = templates.get_template(name).render(
        title=title,
        staff=staff,
        section=section,
        sections=[(href, label) for href, label, _ in SECTIONS],
        role_names=ROLE_NAMES,
        **context,
    )
    settings: BackofficeSettings = request.app.state.settings
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={"Content-Security-Policy": page_policy(settings), "Cache-Control": "no-store"},
    )


class PageProblem(Exception):
    """An answer in place of the page: a message with a status, or a redirect to sign in."""

    def __init__(self, status_code: int, title: str, text: str, sign_in: bool = False) -> None:
        super().__init__(text)
        self.status_code = status_code
        self.title = title
        self.text = text
        self.sign_in = sign_in


def settings_of(request: Request) -> BackofficeSettings:
    settings: BackofficeSettings = request.app.state.settings
    return settings


def api_of(service: Service) -> Callable[..., Any]:
    """A screen's calls to one service, on behalf of the signed-in person: `api(request, staff, method,
    path, **httpx_arguments)` answers the service's JSON."""

    def api(request: Request, staff: StaffSession, method: str, path: str, **kwargs: Any) -> Any:
        return call(settings_of(request), staff, service, method, path, **kwargs)

    return api


def filled(values: dict[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """The filled-in fields of a form as the APIs take them (an empty optional field is left out)."""
    return {name: values[name].strip() for name in fields if values.get(name, "").strip()}


def refused(error: ServiceError, service_label: str, not_found: str) -> PageProblem:
    """A service's refusal as a page says it: no access, not found (a 422 is an id in the address that
    is no id at all), or an unexpected answer of `service_label` ("De ledendienst")."""
    if error.status_code == 403:
        return PageProblem(403, "Geen toegang", "Je rol mag dit niet inzien of doen.")
    if error.status_code in (404, 422):
        return PageProblem(404, "Niet gevonden", not_found)
    return PageProblem(502, "Er ging iets mis", f"{service_label} gaf een onverwacht antwoord.")


def current(request: Request) -> StaffSession | None:
    settings = settings_of(request)
    key = cookie_key(settings.auth_secret.get_secret_value(), "session")
    return StaffSession.open(request.cookies.get(SESSION_COOKIE), key)


def signed_in(request: Request) -> StaffSession:
    """The person on a screen; without a (valid, unexpired) session, off to sign in first."""
    staff = current(request)
    if staff is None:
        raise PageProblem(401, "Aanmelden", "Meld je aan om verder te gaan.", sign_in=True)
    return staff


Staff = Annotated[StaffSession, Depends(signed_in)]


@dataclass(frozen=True)
class Form:
    """A posted form whose CSRF token matched the session, from a person whose role may post it."""

    staff: StaffSession
    values: dict[str, str]


def posted(*roles: Role) -> Callable[..., Any]:
    async def dependency(request: Request) -> Form:
        staff = current(request)
        if staff is None:
            raise PageProblem(
                401,
                "Sessie verlopen",
                "Je sessie is verlopen of je bent niet aangemeld. Er is niets bewaard.",
            )
        values = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if not staff.csrf_matches(values.pop("csrf", None)):
            raise PageProblem(
                403, "Formulier geweigerd", "Dit formulier komt niet van deze sessie. Er is niets bewaard."
            )
        if roles and staff.role not in roles:
            raise PageProblem(403, "Geen toegang", "Je rol mag dit niet doen. Er is niets bewaard.")
        return Form(staff, values)

    return dependency


def local_path(target: str | None) -> str:
    """Only a path on this site (never //elsewhere or a full address): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def sign_in_address(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/aanmelden?next={quote(here, safe='')}"
