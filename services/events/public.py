"""The public agenda, served without signing in: upcoming sessions by month and theme (/agenda), a page
per session with its schema.org `Event` JSON-LD (/agenda/{id}), its iCalendar file (/agenda/{id}.ics),
the agenda to subscribe to (/agenda.ics), an Atom feed of upcoming sessions (/agenda.atom) and the
recordings of past sessions, by theme and searchable (/agenda/opnames). The session page carries the
sign-up form (POST /agenda/{id}, signup.py); the personal link in the confirmation mail (mails.py)
opens /agenda/afmelden/{token}, whose form cancels the registration.

HTML from autoescaping templates (templates/public), in Dutch, with its CSS inline: no script, nothing
from elsewhere (the app factory sets the Content-Security-Policy and the other security headers on
every answer). The read model (agenda.py) decides what the public may see: no personal data."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.events import agenda, calendar, signup
from services.events.agenda import PublicSession
from shared.errors import Conflict, NotFound
from shared.limits import RateLimiter, client_address, public_rate_limit
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web import OutboxDep, SessionDep

# public: no login, so every client address gets a limited number of requests a minute
router = APIRouter(include_in_schema=False, dependencies=[Depends(public_rate_limit)])

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "xml"], default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# pages: always asked again (seats change); feeds: calendar apps and feed readers poll, a few minutes is fine
PAGE_HEADERS = {"Cache-Control": "no-cache"}
FEED_HEADERS = {"Cache-Control": "public, max-age=300"}
ICS = "text/calendar; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
SEARCH_MAX = 100
THEME_MAX = 500

T = {
    "agenda": "Agenda",
    "recordings": "Opnames",
    "not_found_title": "Deze sessie vinden we niet",
    "not_found": "Misschien is de link onvolledig, of staat de sessie niet (meer) in de publieke agenda.",
    "agenda_description": "De agenda van het netwerk digitale inclusie van VVSG en Mediawijs: "
    "bijeenkomsten, infosessies, inspiratiedagen en opleidingen.",
    "registered_title": "Je bent ingeschreven",
    "registered": "Bedankt! Je inschrijving voor {title} op {when} is genoteerd.",
    "waitlisted_title": "Je staat op de wachtlijst",
    "waitlisted": "De sessie {title} op {when} is volzet. Je staat op de wachtlijst: komt er een plaats "
    "vrij, dan schuif je automatisch door in de volgorde van inschrijving.",
    "received_title": "Bedankt voor je inschrijving",
    "received": "We hebben je inschrijving goed ontvangen.",
    "already_title": "Je bent al ingeschreven",
    "already": "Met dit e-mailadres is al iemand ingeschreven voor deze sessie. Je hoeft niets meer te doen.",
    "closed_title": "Inschrijven kan niet meer",
    "closed": "Voor deze sessie kan je je niet (meer) inschrijven.",
    "too_many_title": "Te veel inschrijvingen",
    "too_many": "Met dit e-mailadres kwamen vandaag al veel inschrijvingen binnen. Probeer het morgen "
    "opnieuw of mail naar digitale.inclusie@vvsg.be.",
    "busy": "Te veel inschrijvingen na elkaar vanaf dit adres. Probeer het over een minuut opnieuw.",
    "error_prefix": "Fout: ",
    "cancel_title": "Afmelden",
    "cancelled_title": "Je bent afgemeld",
    "cancelled": "Je inschrijving voor {title} op {when} is geannuleerd. Bedankt om het te laten weten.",
    "already_cancelled_title": "Je bent al afgemeld",
    "already_cancelled": "Deze inschrijving was al geannuleerd. Je hoeft niets meer te doen.",
    "too_late_title": "Afmelden kan niet meer",
    "too_late": "Deze sessie is al begonnen, voorbij of geannuleerd.",
    "bad_link_title": "Deze link werkt niet (meer)",
    "bad_link": "De link om je af te melden is onvolledig of niet meer geldig. Mail naar "
    "digitale.inclusie@vvsg.be als je je wil afmelden.",
    "foreign_form_title": "Dit formulier komt niet van onze website",
    "foreign_form": "Open de link uit je bevestigingsmail en meld je daar af.",
}
FIELD_NAMES = {
    "name": "Naam",
    "email": "E-mailadres",
    "organisation": "Organisatie",
    "organisation_kind": "Soort organisatie",
}
ERRORS = {
    "missing": "Vul dit veld in.",
    "too_long": "Deze tekst is te lang.",
    "control_character": "Deze tekst bevat een onzichtbaar stuurteken. Typ hem opnieuw.",
    "not_an_email": "Dit is geen geldig e-mailadres. Schrijf het zoals naam@voorbeeld.be.",
    "not_a_choice": "Kies een van de mogelijkheden.",
}
ERROR_FOR_KIND = {"missing": "Kies een van de mogelijkheden."}


def now() -> datetime:
    return datetime.now(UTC)


def base_url(request: Request) -> str:
    """Where people reach these pages: the configured public address, else the one asked for."""
    settings: Settings = request.app.state.settings
    return (settings.public_base_url or str(request.base_url)).rstrip("/")


def render(name: str, title: str, section: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("description", "")
    context.setdefault("canonical", "")
    context.setdefault("errors", {})
    if context["errors"]:
        title = T["error_prefix"] + title
    html = templates.get_template(f"public/{name}").render(
        site=agenda.SITE, title=title, section=section, now=now(), **context
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def not_found() -> HTMLResponse:
    return render("message.html", T["not_found_title"], "", 404, text=T["not_found"])


def _bounded(value: str | None, limit: int) -> str:
    return agenda.clean(value or "").replace("\n", " ").strip()[:limit]


# --- the agenda -------------------------------------------------------------------------------------


@router.get("/agenda")
def agenda_page(
    request: Request, db: SessionDep, thema: Annotated[str | None, Query(max_length=THEME_MAX)] = None
) -> HTMLResponse:
    theme = _bounded(thema, THEME_MAX) or None
    moment = now()
    sessions = agenda.upcoming(db, moment, theme)
    months = [
        (month, list(group))
        for month, group in groupby(sessions, key=lambda s: agenda.month_words(s.starts_at))
    ]
    return render(
        "agenda.html",
        T["agenda"],
        "agenda",
        months=months,
        themes=agenda.upcoming_themes(db, moment),
        theme=theme or "",
        description=T["agenda_description"],
        canonical=f"{base_url(request)}/agenda",
    )


@router.get("/agenda.ics")
def agenda_calendar(request: Request, db: SessionDep) -> Response:
    """The agenda to subscribe to: recent and upcoming sessions, cancelled ones marked so."""
    sessions = agenda.for_feed(db, now())
    base = base_url(request)
    body = calendar.calendar(sessions, [f"{base}/agenda/{s.id}" for s in sessions], name=agenda.SITE)
    return Response(
        body, media_type=ICS, headers={**FEED_HEADERS, "Content-Disposition": 'inline; filename="agenda.ics"'}
    )


def _atom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/agenda.atom")
def agenda_feed(request: Request, db: SessionDep) -> Response:
    """Upcoming sessions as an Atom feed (RFC 4287); a session's entry keeps its id when it changes."""
    sessions = agenda.upcoming(db, now())
    base = base_url(request)
    latest = max((s.updated_at for s in sessions), default=None)
    body = templates.get_template("public/agenda.atom.xml").render(
        site=agenda.SITE,
        base=base,
        feed_id=f"{base}/agenda.atom",
        updated=_atom_time(latest or datetime(2021, 1, 1, tzinfo=UTC)),
        sessions=sessions,
    )
    return Response(body, media_type=ATOM, headers=FEED_HEADERS)


# --- recordings -------------------------------------------------------------------------------------


@router.get("/agenda/opnames")
def recordings_page(
    request: Request,
    db: SessionDep,
    zoek: Annotated[str | None, Query(max_length=1000)] = None,
    thema: Annotated[str | None, Query(max_length=THEME_MAX)] = None,
) -> HTMLResponse:
    search = _bounded(zoek, SEARCH_MAX)
    theme = _bounded(thema, THEME_MAX) or None
    found = [s for s in agenda.recordings(db, search, theme) if s.recording_url]
    by_theme = [
        (name, list(group))
        for name, group in groupby(sorted(found, key=lambda s: s.theme.casefold()), key=lambda s: s.theme)
    ]
    return render(
        "recordings.html",
        T["recordings"],
        "opnames",
        by_theme=by_theme,
        count=len(found),
        search=search,
        themes=agenda.recording_themes(db),
        theme=theme or "",
        canonical=f"{base_url(request)}/agenda/opnames",
    )


# --- one session ------------------------------------------------------------------------------------


def _session(db: SessionDep, session_id: str) -> PublicSession | None:
    try:
        parsed = uuid.UUID(session_id)
    except ValueError:
        return None
    return agenda.one(db, parsed)


@router.get("/agenda/{session_id}.ics")
def session_calendar(session_id: str, request: Request, db: SessionDep) -> Response:
    session = _session(db, session_id)
    if session is None:
        return not_found()
    body = calendar.calendar([session], [f"{base_url(request)}/agenda/{session.id}"])
    day = agenda.local(session.starts_at).date().isoformat()
    disposition = f'attachment; filename="vvsg-sessie-{day}.ics"'
    return Response(body, media_type=ICS, headers={**FEED_HEADERS, "Content-Disposition": disposition})


def _session_page(
    session: PublicSession,
    request: Request,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    url = f"{base_url(request)}/agenda/{session.id}"
    return render(
        "session.html",
        session.title,
        "agenda",
        status_code,
        s=session,
        json_ld=json_ld(session, url, now()),
        description=f"{session.kind_words} over {session.theme}, {session.when_words}",
        canonical=url,
        form=form or {},
        errors=errors or {},
        field_names=FIELD_NAMES,
        kinds=signup.ORGANISATION_KINDS,
        honeypot=signup.HONEYPOT,
    )


@router.get("/agenda/{session_id}")
def session_page(session_id: str, request: Request, db: SessionDep) -> HTMLResponse:
    session = _session(db, session_id)
    if session is None:
        return not_found()
    return _session_page(session, request)


# --- signing up -------------------------------------------------------------------------------------


def signup_rate_limit(request: Request) -> None:
    """Sign-ups from one client address: fewer than pages (app.state.signup_rate_limiter, app.py)."""
    limiter: RateLimiter | None = getattr(request.app.state, "signup_rate_limiter", None)
    if limiter is None:
        return
    wait = limiter.take(client_address(request))
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, T["busy"], headers={"Retry-After": str(max(1, round(wait)))}
        )


async def _form(request: Request) -> dict[str, str]:
    """The submitted form (application/x-www-form-urlencoded), read without python-multipart."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


FormDep = Annotated[dict[str, str], Depends(_form)]


def _outcome(title: str, text: str, status_code: int) -> HTMLResponse:
    return render("message.html", title, "agenda", status_code, text=text)


@router.post("/agenda/{session_id}", dependencies=[Depends(signup_rate_limit)])
def sign_up(
    session_id: str, form: FormDep, request: Request, db: SessionDep, outbox: OutboxDep
) -> HTMLResponse:
    session = _session(db, session_id)
    if session is None:
        return not_found()
    read = signup.read_form(form)
    if read.honeypot:  # a robot: thanked like a person, so that it learns nothing
        return _outcome(T["received_title"], T["received"], 200)
    if read.form is None:
        errors = {
            key: ERROR_FOR_KIND.get(code, ERRORS[code]) if key == "organisation_kind" else ERRORS[code]
            for key, code in read.errors.items()
        }
        return _session_page(session, request, form, errors, 422)
    uow = UnitOfWork(db, outbox, signup.PUBLIC)
    try:
        result = signup.sign_up(session.id, read.form, uow, now())
    except NotFound:
        uow.rollback()
        return not_found()
    if result.registration is None:
        uow.rollback()
        key = result.outcome
        return _outcome(T[f"{key}_title"], T[key], 429 if key == "too_many" else 409)
    try:
        uow.commit(None)
    except Conflict:  # the same member signed up in two tabs at once: the database let one through
        return _outcome(T["already_title"], T["already"], 409)
    words = {"title": session.title, "when": session.when_words}
    return _outcome(T[f"{result.outcome}_title"], T[result.outcome].format(**words), 200)


# --- schema.org -------------------------------------------------------------------------------------

SCHEMA = "https://schema.org/"
ORGANISERS = {
    "vvsg": [{"@type": "Organization", "name": "VVSG", "url": "https://www.vvsg.be"}],
    "mediawijs": [{"@type": "Organization", "name": "Mediawijs", "url": "https://www.mediawijs.be"}],
}
ORGANISERS["joint"] = ORGANISERS["vvsg"] + ORGANISERS["mediawijs"]


def _iso(moment: datetime) -> str:
    return agenda.local(moment).isoformat()


def _availability(session: PublicSession, at: datetime) -> str:
    if session.cancelled or not session.open_for_registration(at):
        return SCHEMA + "Discontinued"
    if session.seats_left == 0:
        return SCHEMA + "SoldOut"
    if session.seats_left is not None and session.seats_left <= 5:
        return SCHEMA + "LimitedAvailability"
    return SCHEMA + "InStock"


def _locations(session: PublicSession, url: str) -> Sequence[dict[str, Any]]:
    places: list[dict[str, Any]] = []
    if session.format != "online":
        venue = session.venue
        places.append(
            {
                "@type": "Place",
                "name": venue or agenda.PLACE_UNKNOWN,
                "address": venue or agenda.PLACE_UNKNOWN,
            }
        )
    if session.online:
        # the page, not the link to join: that one goes to the people registered alone
        places.append({"@type": "VirtualLocation", "url": url})
    return places


def json_ld(session: PublicSession, url: str, at: datetime) -> dict[str, Any]:
    """The session as a schema.org Event, for search engines and the VVSG website."""
    if session.cancelled:
        status = "EventCancelled"
    elif session.rescheduled:
        status = "EventRescheduled"
    else:
        status = "EventScheduled"
    mode = {"online": "Online", "physical": "Offline", "hybrid": "Mixed"}.get(session.format, "Offline")
    locations = _locations(session, url)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "@id": url,
        "url": url,
        "name": session.title,
        "description": session.description or f"{session.kind_words} over {session.theme}",
        "about": session.theme,
        "startDate": _iso(session.starts_at),
        "endDate": _iso(session.ends_at),
        "eventStatus": SCHEMA + status,
        "eventAttendanceMode": f"{SCHEMA}{mode}EventAttendanceMode",
        "location": locations[0] if len(locations) == 1 else list(locations),
        "organizer": ORGANISERS.get(session.lead, ORGANISERS["vvsg"]),
        "inLanguage": "nl-BE",
        "isAccessibleForFree": True,
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": 0,
            "priceCurrency": "EUR",
            "availability": _availability(session, at),
            "validThrough": _iso(session.closes_at()),
        },
    }
    if session.rescheduled and session.previous_starts_at is not None:
        data["previousStartDate"] = _iso(session.previous_starts_at)
    if session.capacity is not None:
        data["maximumAttendeeCapacity"] = session.capacity
        data["remainingAttendeeCapacity"] = session.seats_left or 0
    if session.recording_url:
        data["recordedIn"] = {"@type": "CreativeWork", "url": session.recording_url}
    return data


# --- the personal cancel link -------------------------------------------------------------------------

# what the link's pages say about themselves: not for search engines, no address of theirs passed on
LINK_HEADERS = {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: Request) -> bool:
    """A public form has no session cookie to hang a CSRF token on; what guards it is the link's token,
    unguessable and repeated in the form. On top of that a cross-site POST is refused by its Origin or,
    without a usable one, by Sec-Fetch-Site. A client that sends neither (curl) still needs the token."""
    origin = request.headers.get("origin")
    # "null": what a browser sends under Referrer-Policy: no-referrer (the pages' own policy), where
    # Sec-Fetch-Site still tells same-origin from cross-site
    if origin and origin != "null":
        own = {_origin_of(base_url(request)), _origin_of(str(request.base_url))}
        return origin.lower() in own
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _link_page(result: HTMLResponse) -> HTMLResponse:
    result.headers.update(LINK_HEADERS)
    return result


@router.get("/agenda/afmelden/{token}")
def cancel_page(token: str, db: SessionDep) -> HTMLResponse:
    link = signup.find_link(db, token, now())
    if link is None:
        return _link_page(_outcome(T["bad_link_title"], T["bad_link"], 404))
    if link.state != "cancellable":
        key = "already_cancelled" if link.state == "already" else "too_late"
        return _link_page(_outcome(T[f"{key}_title"], T[key], 409))
    session = agenda.one(db, link.activity.id)
    if session is None:
        return _link_page(_outcome(T["bad_link_title"], T["bad_link"], 404))
    return _link_page(render("cancel.html", T["cancel_title"], "agenda", s=session, token=token))


@router.post("/agenda/afmelden/{token}", dependencies=[Depends(signup_rate_limit)])
def cancel_by_link(
    token: str, form: FormDep, request: Request, db: SessionDep, outbox: OutboxDep
) -> HTMLResponse:
    # a form posted from another site is refused (403); one without the link's token in its fields was
    # not made by our page (400): either way nothing changes
    if not same_origin(request):
        return _link_page(_outcome(T["foreign_form_title"], T["foreign_form"], 403))
    sent = form.get("token", "").encode("utf-8", "replace")
    if not hmac.compare_digest(sent, token.encode("utf-8", "replace")):
        return _link_page(_outcome(T["foreign_form_title"], T["foreign_form"], 400))
    uow = UnitOfWork(db, outbox, signup.PUBLIC)
    moment = now()
    link = signup.cancel_by_link(token, uow, moment)
    if link is None:
        uow.rollback()
        return _link_page(_outcome(T["bad_link_title"], T["bad_link"], 404))
    if link.state != "cancellable":
        uow.rollback()
        key = "already_cancelled" if link.state == "already" else "too_late"
        return _link_page(_outcome(T[f"{key}_title"], T[key], 409))
    uow.commit(None)
    words = {
        "title": link.activity.title,
        "when": agenda.when_words(link.activity.starts_at, link.activity.ends_at),
    }
    return _link_page(_outcome(T["cancelled_title"], T["cancelled"].format(**words), 200))
