"""The public agenda, served without signing in: upcoming sessions by month and theme (/agenda), a page
per session with its schema.org `Event` JSON-LD (/agenda/{id}), its iCalendar file (/agenda/{id}.ics),
the agenda to subscribe to (/agenda.ics), an Atom feed of upcoming sessions (/agenda.atom) and the
recordings of past sessions, by theme and searchable (/agenda/opnames). The session page carries the
sign-up form (POST /agenda/{id}, signup.py); the personal link in the confirmation mail (mails.py)
opens /agenda/afmelden/{token}, whose form cancels the registration. An address not known as a
member's confirms its sign-up first through the link mailed to it (/agenda/bevestigen/{token}: the
page's button confirms, a GET never does, so a mail client's link scanner registers nobody); an
outside participant sees and erases what the agenda keeps on them through /agenda/mijn-gegevens.

A browser that is over a rate limit gets a Dutch page (429, Retry-After); other clients keep the JSON
answer every service gives (`PublicRoute`).

HTML from autoescaping templates (templates/public), in Dutch, with its CSS inline: no script, nothing
from elsewhere (the app factory sets the Content-Security-Policy and the other security headers on
every answer). The read model (agenda.py) decides what the public may see: no personal data."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from services.events import agenda, calendar, mydata, optin, signup
from services.events import settings as events_settings
from services.events.agenda import PublicSession
from shared.errors import Conflict, NotFound
from shared.limits import enforce, public_rate_limit
from shared.pages import page_templates, render_page
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web import OutboxDep, SessionDep


def wants_html(request: Request) -> bool:
    """A browser (a page or a form it sends) asks for HTML; curl, feed readers and scripts do not."""
    return "text/html" in request.headers.get("accept", "")


class PublicRoute(APIRoute):
    """A route of these pages: a rate limit's 429 (the pages' limit in shared.limits, the forms' own
    below) reaches a browser as a Dutch page with the same status and Retry-After."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code != status.HTTP_429_TOO_MANY_REQUESTS or not wants_html(request):
                    raise
                return too_many_requests(str(exc.detail), dict(exc.headers or {}))

        return route


# public: no login, so every client address gets a limited number of requests a minute
router = APIRouter(
    include_in_schema=False, dependencies=[Depends(public_rate_limit)], route_class=PublicRoute
)

templates = page_templates(Path(__file__).parent / "templates")

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
    "slow_down_title": "Even geduld",
    "slow_down_wait": "Probeer het over {wait} opnieuw.",
    "confirm_title": "Bevestig je inschrijving",
    "confirm": "We stuurden een mail naar het adres dat je opgaf. Klik op de link in die mail en bevestig "
    "daar je inschrijving voor {title} op {when}. Pas dan ben je ingeschreven. De link werkt 48 uur. "
    "Geen mail gekregen? Kijk ook bij je ongewenste mail.",
    "confirm_page_title": "Bevestig je inschrijving",
    "confirmed_before_title": "Je inschrijving is al bevestigd",
    "confirmed_before": "Deze inschrijving is al bevestigd. Je hoeft niets meer te doen; je kreeg een "
    "bevestigingsmail met een link om je af te melden.",
    "bad_optin_link": "De link om je inschrijving te bevestigen is onvolledig, verlopen (hij werkt 48 uur) "
    "of niet meer geldig. Schrijf je opnieuw in via de agenda.",
    "mydata_title": "Mijn gegevens",
    "mydata_sent_title": "Kijk in je mailbox",
    "mydata_sent": "Als we gegevens bewaren over inschrijvingen met dit e-mailadres, krijg je binnen "
    "enkele minuten een mail met een persoonlijke link. Daar zie je wat we bewaren en kan je het laten "
    "wissen. De link werkt 24 uur.",
    "bad_data_link": "De link naar je gegevens is onvolledig, verlopen (hij werkt 24 uur) of niet meer "
    "geldig, bijvoorbeeld omdat je gegevens gewist zijn. Vraag een nieuwe link aan via Mijn gegevens.",
    "erased_title": "Je gegevens zijn gewist",
    "erased": "We hebben je naam, je e-mailadres en je organisatie gewist, en alle persoonlijke links "
    "die we je stuurden werken niet meer. Voor de cijfers van het netwerk tellen je inschrijvingen "
    "alleen nog mee met de soort organisatie, zonder naam.",
    "erased_seats": " Je inschrijvingen voor sessies die nog moeten komen zijn geannuleerd.",
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


# the shared frame's menu, announced feeds and footer links (shared/templates/public/base.html)
NAV = [("/agenda", T["agenda"], "agenda"), ("/agenda/opnames", T["recordings"], "opnames")]
FEEDS = [
    ("/agenda.atom", "application/atom+xml", "Agenda digitale inclusie (Atom)"),
    ("/agenda.ics", "text/calendar", "Agenda digitale inclusie (iCalendar)"),
]
FOLLOW = [
    ("/agenda.ics", "Agenda abonneren (iCalendar)"),
    ("/agenda.atom", "Nieuwe sessies volgen (Atom-feed)"),
    ("/agenda/mijn-gegevens", "Mijn gegevens bekijken of wissen"),
]


def render(name: str, title: str, section: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("errors", {})
    if context["errors"]:
        title = T["error_prefix"] + title
    html = render_page(
        templates,
        f"public/{name}",
        site=agenda.SITE,
        title=title,
        section=section,
        now=now(),
        nav=NAV,
        feeds=FEEDS,
        follow=FOLLOW,
        follow_intro="Volg de agenda in je eigen agenda-app of feedlezer:",
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def not_found() -> HTMLResponse:
    return render("message.html", T["not_found_title"], "", 404, text=T["not_found"])


def _wait_words(seconds: int) -> str:
    if seconds < 90:
        return "een minuut" if seconds > 50 else f"{seconds} seconden"
    if seconds < 5400:
        return f"{round(seconds / 60)} minuten"
    return f"{round(seconds / 3600)} uur"


def too_many_requests(text: str, headers: dict[str, str]) -> HTMLResponse:
    """The page for a client over a rate limit: 429, Retry-After as the limiter said, in words too."""
    try:
        wait = int(headers.get("Retry-After", "60"))
    except ValueError:
        wait = 60
    words = f"{text} {T['slow_down_wait'].format(wait=_wait_words(wait))}"
    response = render("message.html", T["slow_down_title"], "", 429, text=words)
    response.headers["Retry-After"] = str(wait)
    return response


def _echo(form: dict[str, str]) -> dict[str, str]:
    """A refused form's values as they go back into its fields: no control characters, bounded."""
    return {key: agenda.clean(value).replace("\n", " ")[:1000] for key, value in form.items()}


def _bounded(value: str | None, limit: int) -> str:
    return agenda.clean(value or "").replace("\n", " ").strip()[:limit]


# --- the forms' helpers -----------------------------------------------------------------------------


async def signup_rate_limit(request: Request) -> None:
    """Sign-ups from one client address: fewer than pages (app.state.signup_rate_limiter, app.py).
    Async for the reason `shared.limits.public_rate_limit` is."""
    enforce(request, "signup_rate_limiter", T["busy"])


async def _form(request: Request) -> dict[str, str]:
    """The submitted form (application/x-www-form-urlencoded), read without python-multipart."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


FormDep = Annotated[dict[str, str], Depends(_form)]


def _outcome(title: str, text: str, status_code: int) -> HTMLResponse:
    return render("message.html", title, "agenda", status_code, text=text)


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
    zoek: str | None = None,  # any length: _bounded cuts it, so a person gets a Dutch page, never a 422
    thema: str | None = None,
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


# --- an outside participant's own data (mydata.py) -------------------------------------------------
# before the session's routes: /agenda/{session_id} would take "mijn-gegevens" for a session's id

EMAIL_FIELD = {"email": "E-mailadres"}


def _mydata_form(form: dict[str, str], errors: dict[str, str], status_code: int) -> HTMLResponse:
    return _link_page(
        render(
            "mydata_form.html",
            T["mydata_title"],
            "mijn-gegevens",
            status_code,
            form=form,
            errors=errors,
            field_names=EMAIL_FIELD,
            honeypot=signup.HONEYPOT,
        )
    )


@router.get("/agenda/mijn-gegevens")
def mydata_form() -> HTMLResponse:
    return _mydata_form({}, {}, 200)


@router.post("/agenda/mijn-gegevens", dependencies=[Depends(signup_rate_limit)])
def mydata_request(
    form: FormDep, request: Request, db: SessionDep, background: BackgroundTasks
) -> HTMLResponse:
    """Mails a link to the address when the agenda keeps something on it; the answer is the same
    either way, so the page tells nobody whether an address signed up."""
    if form.get(signup.HONEYPOT, "").strip():
        return _link_page(_outcome(T["mydata_sent_title"], T["mydata_sent"], 200))
    email, problem = signup.read_email(form.get("email"))
    if problem:
        return _mydata_form(_echo({"email": form.get("email", "")}), {"email": ERRORS[problem]}, 422)
    if mydata.request_link(db, email, now()) is not None:
        db.commit()
        _send_soon(request, background)
    return _link_page(_outcome(T["mydata_sent_title"], T["mydata_sent"], 200))


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


def _send_soon(request: Request, background: BackgroundTasks) -> None:
    """The link mail just queued goes right after the answer (optin.send_pending)."""
    runtime = request.app.state.runtime
    background.add_task(optin.send_pending, runtime.engine, events_settings.of(request.app.state.settings))


@router.post("/agenda/{session_id}", dependencies=[Depends(signup_rate_limit)])
def sign_up(
    session_id: str,
    form: FormDep,
    request: Request,
    db: SessionDep,
    outbox: OutboxDep,
    background: BackgroundTasks,
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
        return _session_page(session, request, _echo(form), errors, 422)
    uow = UnitOfWork(db, outbox, signup.PUBLIC)
    try:
        result = signup.sign_up(session.id, read.form, uow, now())
    except NotFound:
        uow.rollback()
        return not_found()
    words = {"title": session.title, "when": session.when_words}
    if result.outcome == "confirm":  # an address we do not know: registered once it confirms
        uow.commit(None)
        _send_soon(request, background)
        return _outcome(T["confirm_title"], T["confirm"].format(**words), 200)
    if result.registration is None:
        uow.rollback()
        key = result.outcome
        if key == "too_many":
            answer = _outcome(T[f"{key}_title"], T[key], 429)
            answer.headers["Retry-After"] = str(result.retry_after or 3600)
            return answer
        return _outcome(T[f"{key}_title"], T[key], 409)
    try:
        uow.commit(None)
    except Conflict:  # the same member signed up in two tabs at once: the database let one through
        return _outcome(T["already_title"], T["already"], 409)
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


# --- the opt-in link (signup.confirm) ----------------------------------------------------------------


def _bad_link(text_key: str) -> HTMLResponse:
    return _link_page(_outcome(T["bad_link_title"], T[text_key], 404))


def _form_from_elsewhere(request: Request, token: str, form: dict[str, str]) -> HTMLResponse | None:
    """As for the cancel link: a form from another site (403) or without the link's token (400)."""
    if not same_origin(request):
        return _link_page(_outcome(T["foreign_form_title"], T["foreign_form"], 403))
    sent = form.get("token", "").encode("utf-8", "replace")
    if not hmac.compare_digest(sent, token.encode("utf-8", "replace")):
        return _link_page(_outcome(T["foreign_form_title"], T["foreign_form"], 400))
    return None


@router.get("/agenda/bevestigen/{token}")
def confirm_page(token: str, db: SessionDep) -> HTMLResponse:
    """Shows what the link confirms and a button; a GET changes nothing (link scanners follow it)."""
    found = signup.find_optin(db, token, now())
    if found is None:
        return _bad_link("bad_optin_link")
    link, activity = found
    if link.confirmed_at is not None:
        return _link_page(_outcome(T["confirmed_before_title"], T["confirmed_before"], 409))
    session = agenda.one(db, activity.id)
    if session is None:
        return _bad_link("bad_optin_link")
    return _link_page(render("confirm.html", T["confirm_page_title"], "agenda", s=session, token=token))


@router.post("/agenda/bevestigen/{token}", dependencies=[Depends(signup_rate_limit)])
def confirm_by_link(
    token: str, form: FormDep, request: Request, db: SessionDep, outbox: OutboxDep
) -> HTMLResponse:
    refused = _form_from_elsewhere(request, token, form)
    if refused is not None:
        return refused
    uow = UnitOfWork(db, outbox, signup.PUBLIC)
    try:
        result = signup.confirm(token, uow, now())
    except NotFound:
        result = None
    if result is None:
        uow.rollback()
        return _bad_link("bad_optin_link")
    words = {
        "title": result.activity.title,
        "when": agenda.when_words(result.activity.starts_at, result.activity.ends_at),
    }
    if result.registration is None:
        if result.outcome == "already":  # nothing registered, but the link is used up
            uow.commit(None)
            return _link_page(_outcome(T["already_title"], T["already"], 409))
        uow.rollback()
        return _link_page(_outcome(T[f"{result.outcome}_title"], T[result.outcome], 409))
    try:
        uow.commit(None)
    except Conflict:
        return _link_page(_outcome(T["already_title"], T["already"], 409))
    return _link_page(_outcome(T[f"{result.outcome}_title"], T[result.outcome].format(**words), 200))


# --- the data link (mydata.py) -----------------------------------------------------------------------


@router.get("/agenda/mijn-gegevens/{token}")
def mydata_page(token: str, db: SessionDep) -> HTMLResponse:
    link = optin.find(db, optin.DATA, token, now())
    if link is None:
        return _bad_link("bad_data_link")
    return _link_page(
        render(
            "mydata.html",
            T["mydata_title"],
            "mijn-gegevens",
            held=mydata.held(db, link.email_sha256),
            kinds=signup.ORGANISATION_KINDS,
            token=token,
        )
    )


@router.post("/agenda/mijn-gegevens/{token}", dependencies=[Depends(signup_rate_limit)])
def mydata_erase(
    token: str, form: FormDep, request: Request, db: SessionDep, outbox: OutboxDep
) -> HTMLResponse:
    refused = _form_from_elsewhere(request, token, form)
    if refused is not None:
        return refused
    moment = now()
    link = optin.find(db, optin.DATA, token, moment)
    if link is None:
        return _bad_link("bad_data_link")
    uow = UnitOfWork(db, outbox, signup.PUBLIC)
    cancelled = mydata.erase(uow, link.email_sha256, moment)
    uow.commit(None)
    text = T["erased"] + (T["erased_seats"] if cancelled else "")
    return _link_page(_outcome(T["erased_title"], text, 200))
