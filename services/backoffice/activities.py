"""Activiteiten: the sessions as a list and a month calendar, planning and changing a session
(reschedule, cancel, mark held, the recording), its registrations with the waiting list, attendance
as a grid per day or as a CSV file with a preview, and advice conversations and support trajectories;
every action goes through the events service's API (member and organisation names come from the
members service)."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services.backoffice import attendance_csv
from services.backoffice.members import MESSAGES, NOT_FOUND, members_api
from services.backoffice.services import ServiceError, ServiceUnavailable
from services.backoffice.session import StaffSession
from services.backoffice.uploads import read_upload
from services.backoffice.web import (
    Form,
    PageProblem,
    Staff,
    api_of,
    filled,
    posted,
    refused,
    render,
    templates,
)
from shared.auth import ACTIVITY_WRITERS, STAFF
from shared.clock import BRUSSELS, business_today
from shared.text import MONTHS

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
API_PAGE = 1000  # the events service's largest page
LOOKUP_IDS = 100  # members looked up in one request (the members service takes at most 100 ids)
UNNAMED = "lid (naam niet beschikbaar)"

# --- what people read (nl-BE): the same words as the KPI report (services/kpi/nl.py) -------------------
KINDS: tuple[tuple[str, str], ...] = (
    ("network_meeting_general", "Algemene bijeenkomst netwerk"),
    ("network_meeting_thematic", "Specifieke bijeenkomst netwerk"),
    ("info_session", "Infosessie"),
    ("inspiration_day_physical", "Fysieke inspiratiedag"),
    ("inspiration_day_online", "Online inspiratiedag"),
    ("training_multiday", "Meerdaagse opleiding"),
    ("training_thematic", "Thematische opleiding"),
    ("training_integrated", "VVSG-opleiding met digitale inclusie"),
    ("presentation_on_request", "Presentatie op vraag"),
    ("workshop_on_request", "Workshop op vraag"),
    ("steering_group", "Stuurgroep"),
    ("coordination_meeting", "Overleg Vlaamse administratie en Mediawijs"),
)
LEADS = (("vvsg", "VVSG"), ("mediawijs", "Mediawijs"), ("joint", "VVSG en Mediawijs"))
FORMATS = (("physical", "Fysiek"), ("online", "Online"), ("hybrid", "Hybride"))
STATUSES = {"scheduled": "gepland", "cancelled": "geannuleerd", "held": "gehouden"}
ORGANISATION_KINDS = (
    ("lokaal_bestuur", "Lokaal bestuur"),
    ("intergemeentelijk_samenwerkingsverband", "Intergemeentelijk samenwerkingsverband"),
    ("middenveldorganisatie", "Middenveldorganisatie"),
    ("kennisinstelling", "Kennisinstelling"),
    ("bovenlokale_overheid", "Bovenlokale overheid"),
    ("andere", "Andere"),
)
CHANNELS = (("mail", "E-mail"), ("meeting", "Gesprek"), ("phone", "Telefoon"), ("online", "Online"))
STAGES = (("starting", "Startend"), ("growing", "Groeiend"), ("experienced", "Ervaren"))
NAMES: dict[str, dict[str, str]] = {
    "kind": dict(KINDS),
    "lead": dict(LEADS),
    "format": dict(FORMATS),
    "status": STATUSES,
    "organisation_kind": {**dict(ORGANISATION_KINDS), "onbekend": "Onbekend"},
    "channel": dict(CHANNELS),
    "stage": dict(STAGES),
}
WEEKDAYS = (
    ("ma", "maandag"),
    ("di", "dinsdag"),
    ("wo", "woensdag"),
    ("do", "donderdag"),
    ("vr", "vrijdag"),
    ("za", "zaterdag"),
    ("zo", "zondag"),
)
LABELS = {
    "kind": "Soort",
    "title": "Titel",
    "theme": "Thema",
    "lead": "Trekker",
    "format": "Vorm",
    "location": "Plaats",
    "online_link": "Link om online deel te nemen",
    "description": "Korte beschrijving",
    "starts_at": "Begint op",
    "ends_at": "Eindigt op",
    "planned_hours": "Geplande uren",
    "capacity": "Aantal plaatsen",
    "requested_by_organisation_id": "Aangevraagd door",
    "registration_deadline": "Inschrijven kan tot",
    "cancelled_on": "Geannuleerd op",
    "reason": "Reden van de annulering",
    "held_on": "Gehouden op",
    "url": "Adres van de opname",
    "member_id": "Lid",
    "organisation_id": "Organisatie",
    "organisation_kind": "Soort organisatie",
    "given_on": "Datum",
    "topic": "Onderwerp",
    "channel": "Kanaal",
    "with_mediawijs": "Samen met Mediawijs",
    "started_on": "Gestart op",
    "stage": "Fase",
    "methodology": "Methodiek",
}
FIELD_MESSAGES = {
    "starts_at": "Geef een geldige datum en tijd binnen de jaren van het programma.",
    "ends_at": "Geef een datum en tijd die na het begin ligt.",
    "planned_hours": "Geef de geplande uren: meer dan 0 en niet meer dan de tijd tussen begin en einde "
    "(verplicht voor een sessie over meerdere dagen).",
    "capacity": "Geef een aantal plaatsen van minstens 1, of laat het leeg (geen grens).",
    "requested_by_organisation_id": "Kies de organisatie die erom vroeg: verplicht voor een sessie op vraag.",
    "online_link": "Geef een webadres dat begint met https:// of http://.",
    "url": "Geef een webadres dat begint met https:// of http://.",
    "location": "Geef het adres van de zaal of 'online', zonder e-mailadres of telefoonnummer.",
    "description": "Hoogstens 500 tekens, zonder e-mailadres of telefoonnummer.",
    "title": "Geef een titel op één regel.",
    "theme": "Geef een thema op één regel.",
    "topic": "Geef een onderwerp op één regel.",
    "methodology": "Geef een methodiek op één regel.",
    "registration_deadline": "Geef een geldige datum en tijd.",
    "cancelled_on": "Geef een geldige datum binnen de jaren van het programma.",
    "reason": "Hoogstens 500 tekens, zonder stuurtekens.",
    "held_on": "Geef een datum vanaf het begin van de sessie en niet in de toekomst.",
    "member_id": "Dit lid kan niet ingeschreven worden (onbekend of gewist).",
    "given_on": "Geef een geldige datum die niet in de toekomst ligt.",
    "started_on": "Geef een geldige datum die niet in de toekomst ligt.",
}
TYPE_MESSAGES = {
    **MESSAGES,
    "datetime_parsing": "Geef een geldige datum en tijd.",
    "datetime_from_date_parsing": "Geef een geldige datum en tijd.",
    "float_parsing": "Geef een getal, zoals 2,5.",
    "int_parsing": "Geef een geheel getal.",
    "url_parsing": "Geef een webadres dat begint met https:// of http://.",
}
# what the events service refuses with 409, per action: the state of the session does not allow it
CONFLICTS = {
    "plan": "Dit kan niet: het botst met wat al bewaard is.",
    "verplaatsen": "Deze sessie kan niet meer verplaatst worden (ze is gehouden of geannuleerd, "
    "of er is al aanwezigheid op een dag die wegvalt).",
    "annuleren": "Deze sessie kan niet geannuleerd worden: ze is al gehouden of geannuleerd.",
    "gehouden": "Deze sessie kan (nog) niet als gehouden gemarkeerd worden: ze is nog niet begonnen, "
    "is geannuleerd of is al gehouden.",
    "opname": "Een geannuleerde sessie heeft geen opname.",
    "inschrijven": "Inschrijven kan niet: de sessie is geannuleerd of dit lid is al ingeschreven.",
    "uitschrijven": "Deze inschrijving kan niet geannuleerd worden: ze is al geannuleerd, de sessie is "
    "gehouden of geannuleerd, of er is al aanwezigheid voor bewaard.",
    "aanwezigheid": "Aanwezigheid kan pas vanaf het begin van de sessie, en niet voor een geannuleerde.",
}


def _moment(value: object) -> str:
    if not value:
        return "–"
    local = datetime.fromisoformat(str(value)).astimezone(BRUSSELS)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def _hour(value: object) -> str:
    return datetime.fromisoformat(str(value)).astimezone(BRUSSELS).strftime("%H:%M")


def _hours(value: object) -> str:
    number = float(str(value))
    return f"{number:g}".replace(".", ",")


templates.filters["moment"] = _moment
templates.filters["uur"] = _hour
templates.filters["uren"] = _hours


def dutch_errors(error: ServiceError, action: str) -> dict[str, str]:
    if error.status_code == 409:
        return {"_form": CONFLICTS.get(action, CONFLICTS["plan"])}
    if error.status_code == 404:
        return {"_form": NOT_FOUND}
    found = error.field_errors()
    if not found:
        return {"_form": "Dit kon niet worden bewaard. Controleer je invoer."}
    errors: dict[str, str] = {}
    for field, kind in found.items():
        if kind in ("missing", "string_too_short"):
            errors[field] = MESSAGES[kind]
        else:
            errors[field] = FIELD_MESSAGES.get(field) or TYPE_MESSAGES.get(
                kind, "Deze waarde is niet geldig."
            )
    return errors


def _refused(error: ServiceError) -> PageProblem:
    return refused(error, "De activiteitendienst", NOT_FOUND)


events_api = api_of("events")


def _number(body: dict[str, Any], name: str) -> None:
    """A decimal comma as people in Belgium write it; what is still no number goes as typed (a 422)."""
    if name in body:
        body[name] = body[name].replace(",", ".")


def _organisations(request: Request, staff: StaffSession) -> list[tuple[str, str]]:
    """The organisations to choose from, or none when the members service does not answer this role."""
    try:
        page = members_api(request, staff, "GET", "/organisations", params={"limit": 1000})
    except (ServiceError, ServiceUnavailable):  # names are a help here, not a must
        return []
    return [(o["id"], o["name"]) for o in page["items"]]


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _all_sessions(request: Request, staff: StaffSession, **params: Any) -> list[dict[str, Any]]:
    """Every session matching the service's own filters, page after page."""
    found: list[dict[str, Any]] = []
    while True:
        page = events_api(
            request, staff, "GET", "/sessions", params={**params, "limit": API_PAGE, "offset": len(found)}
        )
        found.extend(page["items"])
        if len(found) >= page["total"] or not page["items"]:
            return found


def _local_day(value: str) -> date:
    return datetime.fromisoformat(value).astimezone(BRUSSELS).date()


def _days(session: dict[str, Any]) -> list[date]:
    """The Brussels days a session runs on (one ending at midnight ends the day before)."""
    first = _local_day(session["starts_at"])
    last = (
        (datetime.fromisoformat(session["ends_at"]) - timedelta(microseconds=1)).astimezone(BRUSSELS).date()
    )
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _local_input(value: str) -> str:
    """A moment as a datetime-local field shows it: Brussels time, to the minute."""
    return datetime.fromisoformat(value).astimezone(BRUSSELS).strftime("%Y-%m-%dT%H:%M")


# --- list and calendar ------------------------------------------------------------------------------


@router.get("/activiteiten")
def sessions(
    request: Request, staff: Staff, kind: str = "", van: str = "", tot: str = "", offset: int = 0
) -> HTMLResponse:
    kind = kind if kind in NAMES["kind"] else ""
    start, end = _parse_day(van), _parse_day(tot)
    errors: dict[str, str] = {}
    if van and start is None:
        errors["van"] = "Geef een geldige datum."
    if tot and end is None:
        errors["tot"] = "Geef een geldige datum."
    if start and end and end < start:
        errors["tot"] = "Deze datum ligt voor de datum 'Van'."
    offset = max(offset, 0)
    try:
        if (start or end) and not errors:
            # the service filters by year only: the days are chosen here, from the years they fall in
            if start and end and end.year - start.year < 5:
                rows = [
                    s
                    for year in range(start.year, end.year + 1)
                    for s in _all_sessions(request, staff, kind=kind, year=year)
                ]
            else:
                rows = _all_sessions(request, staff, kind=kind)
            rows = [
                s
                for s in rows
                if (start is None or _local_day(s["starts_at"]) >= start)
                and (end is None or _local_day(s["starts_at"]) <= end)
            ]
            page = {
                "items": rows[offset : offset + PAGE_SIZE],
                "total": len(rows),
                "limit": PAGE_SIZE,
                "offset": offset,
            }
        else:
            params = {"kind": kind, "limit": PAGE_SIZE, "offset": offset}
            page = events_api(request, staff, "GET", "/sessions", params=params)
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "activities.html",
        "Activiteiten",
        staff,
        status_code=422 if errors else 200,
        page=page,
        kind=kind,
        van=van,
        tot=tot,
        errors=errors,
        kinds=KINDS,
        names=NAMES,
        may_write=staff.role in ACTIVITY_WRITERS,
        query=urlencode({"kind": kind, "van": van, "tot": tot}),
        month=business_today().strftime("%Y-%m"),
    )


@router.get("/activiteiten/kalender")
def month_calendar(request: Request, staff: Staff, maand: str = "") -> HTMLResponse:
    today = business_today()
    try:
        year, month = (int(part) for part in maand.split("-")) if maand else (today.year, today.month)
        first = date(year, month, 1)
        if not 2000 <= year <= 2100:
            raise ValueError(maand)
    except ValueError:
        raise PageProblem(
            404, "Niet gevonden", "Deze maand bestaat niet; kies een maand als 2026-03."
        ) from None
    try:
        # The service filters on the year a session starts in, and a session can run into the next year
        # (30 December to 2 January): January also looks at the sessions that started the year before.
        # Only January, because that list costs a second call (~70 ms for 300 sessions): a session that
        # started in December and still runs in February would not show there (an overlap filter in
        # the events API would make this exact).
        starting = (year - 1, year) if month == 1 and year > 2000 else (year,)
        rows = [s for start in starting for s in _all_sessions(request, staff, year=start)]
    except ServiceError as exc:
        raise _refused(exc) from None
    by_day: dict[date, list[dict[str, Any]]] = {}
    for session in rows:
        for day in _days(session):
            if day.month == month and day.year == year:
                by_day.setdefault(day, []).append(session)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    previous = (first - timedelta(days=1)).strftime("%Y-%m")
    following = (first + timedelta(days=32)).replace(day=1).strftime("%Y-%m")
    return render(
        request,
        "activities_calendar.html",
        f"Kalender {MONTHS[month - 1]} {year}",
        staff,
        weeks=weeks,
        month=month,
        by_day=by_day,
        today=today,
        weekdays=WEEKDAYS,
        month_name=f"{MONTHS[month - 1]} {year}",
        previous=previous,
        previous_name=f"{MONTHS[int(previous[5:]) - 1]} {previous[:4]}",
        following=following,
        following_name=f"{MONTHS[int(following[5:]) - 1]} {following[:4]}",
        names=NAMES,
        may_write=staff.role in ACTIVITY_WRITERS,
    )


# --- planning a session -----------------------------------------------------------------------------

PLAN_FIELDS = (
    "kind",
    "title",
    "theme",
    "lead",
    "format",
    "location",
    "online_link",
    "description",
    "starts_at",
    "ends_at",
    "planned_hours",
    "capacity",
    "requested_by_organisation_id",
    "registration_deadline",
)


def _plan_form(
    request: Request, staff: StaffSession, values: dict[str, Any], errors: dict[str, str]
) -> HTMLResponse:
    return render(
        request,
        "session_form.html",
        "Sessie plannen",
        staff,
        status_code=422 if errors else 200,
        values=values,
        errors=errors,
        labels=LABELS,
        kinds=KINDS,
        leads=LEADS,
        formats=FORMATS,
        organisations=_organisations(request, staff),
    )


@router.get("/activiteiten/nieuw")
def new_session(request: Request, staff: Staff) -> HTMLResponse:
    if staff.role not in ACTIVITY_WRITERS:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen sessies plannen.")
    return _plan_form(request, staff, {"lead": "vvsg", "format": "physical"}, {})


@router.post("/activiteiten/nieuw")
def plan_session(request: Request, form: Form = Depends(posted(*ACTIVITY_WRITERS))) -> Response:  # noqa: B008
    body = filled(form.values, PLAN_FIELDS)
    _number(body, "planned_hours")
    for name in ("kind", "title", "theme", "lead", "format", "starts_at", "ends_at"):
        body.setdefault(name, "")  # so that the service names every missing field at once
    try:
        created = events_api(request, form.staff, "POST", "/sessions", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _plan_form(request, form.staff, form.values, dutch_errors(exc, "plan"))
        raise _refused(exc) from None
    return RedirectResponse(f"/activiteiten/{created['id']}?bewaard=1", status_code=303)


# --- advice conversations and support trajectories (before /activiteiten/{id}) -------------------


def _support_page(
    request: Request,
    staff: StaffSession,
    which: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    page: int = 0,
) -> HTMLResponse:
    path = "/advice" if which == "advies" else "/trajectories"
    page = max(page, 0)
    try:
        # the events service lists oldest first: this page (newest first) is a window from the end
        total = events_api(request, staff, "GET", path, params={"limit": 1})["total"]
        end = total - PAGE_SIZE * page
        start = max(end - PAGE_SIZE, 0)
        items = []
        if end > 0:
            window = {"offset": start, "limit": end - start}
            items = events_api(request, staff, "GET", path, params=window)["items"]
    except ServiceError as exc:
        raise _refused(exc) from None
    organisations = _organisations(request, staff)
    return render(
        request,
        "activities_support.html",
        "Adviesgesprekken" if which == "advies" else "Ondersteuningstrajecten",
        staff,
        status_code=422 if errors else 200,
        which=which,
        rows=list(reversed(items)),  # the newest first
        total=total,
        older=page + 1 if end - PAGE_SIZE > 0 else None,
        newer=page - 1 if page > 0 else None,
        values=values or {},
        errors=errors or {},
        labels=LABELS,
        organisations=organisations,
        organisation_names=dict(organisations),
        channels=CHANNELS,
        stages=STAGES,
        names=NAMES,
        may_write=staff.role in STAFF,
        done=done,
    )


@router.get("/activiteiten/advies")
def advice(request: Request, staff: Staff, bewaard: str = "", pagina: int = 0) -> HTMLResponse:
    done = "Het adviesgesprek is bewaard." if bewaard else ""
    return _support_page(request, staff, "advies", done=done, page=pagina)


@router.post("/activiteiten/advies")
def log_advice(request: Request, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    body = filled(form.values, ("organisation_id", "given_on", "topic", "channel"))
    body["with_mediawijs"] = form.values.get("with_mediawijs") == "ja"
    for name in ("organisation_id", "topic", "channel"):
        body.setdefault(name, "")
    try:
        events_api(request, form.staff, "POST", "/advice", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _support_page(request, form.staff, "advies", form.values, dutch_errors(exc, "plan"))
        raise _refused(exc) from None
    return RedirectResponse("/activiteiten/advies?bewaard=1", status_code=303)


@router.get("/activiteiten/trajecten")
def trajectories(request: Request, staff: Staff, bewaard: str = "", pagina: int = 0) -> HTMLResponse:
    done = "Het traject is bewaard." if bewaard else ""
    return _support_page(request, staff, "trajecten", done=done, page=pagina)


@router.post("/activiteiten/trajecten")
def start_trajectory(request: Request, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    body = filled(form.values, ("organisation_id", "started_on", "stage", "methodology", "description"))
    for name in ("organisation_id", "stage", "methodology", "description"):
        body.setdefault(name, "")
    try:
        events_api(request, form.staff, "POST", "/trajectories", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _support_page(request, form.staff, "trajecten", form.values, dutch_errors(exc, "plan"))
        raise _refused(exc) from None
    return RedirectResponse("/activiteiten/trajecten?bewaard=1", status_code=303)


# --- one session: facts, changes, registrations -----------------------------------------------------


def _members(request: Request, staff: StaffSession, registrations: list[dict[str, Any]]) -> dict[str, Any]:
    """The member records of these registrations by id, looked up a hundred at a time
    (GET /staff/members?ids=…) instead of one request per registration. A member the service does not
    answer for (unknown, or the service does not answer) is absent."""
    wanted = list(dict.fromkeys(r["member_id"] for r in registrations if r["member_id"]))
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), LOOKUP_IDS):
        chunk = wanted[start : start + LOOKUP_IDS]
        try:
            page = members_api(
                request, staff, "GET", "/staff/members", params={"ids": chunk, "limit": LOOKUP_IDS}
            )
        except (ServiceError, ServiceUnavailable):  # names are a help here, the ids do the work
            continue
        found.update({person["id"]: person for person in page["items"]})
    return found


def _people(request: Request, staff: StaffSession, registrations: list[dict[str, Any]]) -> dict[str, str]:
    """Member names by id, for the roles that may read them (a viewer sees no personal data)."""
    if staff.role not in ACTIVITY_WRITERS:
        return {}
    found = _members(request, staff, registrations)
    return {
        member_id: f"{found[member_id]['first_name']} {found[member_id]['last_name']}"
        if member_id in found
        else UNNAMED
        for member_id in (r["member_id"] for r in registrations if r["member_id"])
    }


def _session_page(
    request: Request,
    staff: StaffSession,
    session_id: str,
    *,
    done: str = "",
    errors: dict[str, str] | None = None,
    form_name: str = "",
    values: dict[str, Any] | None = None,
    search: str = "",
    promoted: tuple[str, ...] = (),
) -> HTMLResponse:
    try:
        found = events_api(request, staff, "GET", f"/sessions/{session_id}")
        registrations = events_api(
            request, staff, "GET", f"/sessions/{session_id}/registrations", params={"status": "all"}
        )
    except ServiceError as exc:
        raise _refused(exc) from None
    may_write = staff.role in ACTIVITY_WRITERS
    people = _people(request, staff, registrations)
    organisations = _organisations(request, staff) if may_write else []
    candidates: list[dict[str, Any]] | None = None
    if search and may_write:
        try:
            candidates = members_api(
                request, staff, "GET", "/members", params={"q": search[:100], "limit": 10}
            )["items"]
        except (ServiceError, ServiceUnavailable):
            candidates = []
    for registration in registrations:
        registration["name"] = (
            people.get(registration["member_id"], "lid")
            if registration["member_id"]
            else "deelnemer van buiten het netwerk"
        )
    active = [r for r in registrations if r["status"] == "registered"]
    moved_up = [r["name"] for r in registrations if r["id"] in promoted]
    if moved_up:
        done = f"{done} Van de wachtlijst kreeg een plaats: {', '.join(moved_up)}.".strip()
    return render(
        request,
        "session.html",
        found["title"],
        staff,
        status_code=422 if errors else 200,
        session=found,
        seated=[r for r in active if not r["waitlisted"]],
        waiting=[r for r in active if r["waitlisted"]],
        cancelled=[r for r in registrations if r["status"] != "registered"],
        promoted=promoted,
        candidates=candidates,
        search=search,
        organisations=organisations,
        organisation_names=dict(organisations),
        organisation_kinds=ORGANISATION_KINDS,
        names=NAMES,
        labels=LABELS,
        errors=errors or {},
        form_name=form_name,
        values=values or {},
        starts_input=_local_input(found["starts_at"]),
        month=_local_day(found["starts_at"]).strftime("%Y-%m"),
        ends_input=_local_input(found["ends_at"]),
        may_write=may_write,
        open_for_change=found["status"] == "scheduled",
        done=done,
        today=business_today().isoformat(),
    )


@router.get("/activiteiten/{session_id}")
def session(
    request: Request,
    staff: Staff,
    session_id: str,
    bewaard: str = "",
    zoek: str = "",
    opgeschoven: str = "",
) -> HTMLResponse:
    return _session_page(
        request,
        staff,
        session_id,
        done=DONE.get(bewaard, "Bewaard.") if bewaard else "",
        search=zoek.strip(),
        promoted=tuple(part for part in opgeschoven.split(",") if part)[:50],
    )


DONE = {
    "ingeschreven": "Ingeschreven.",
    "op de wachtlijst": "De sessie is volzet: de inschrijving staat op de wachtlijst.",
    "uitgeschreven": "De inschrijving is geannuleerd.",
}
# the session's own actions: (the API path, the form fields it takes)
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "verplaatsen": ("reschedule", ("starts_at", "ends_at", "planned_hours", "location", "online_link")),
    "annuleren": ("cancel", ("cancelled_on", "reason")),  # the reason: for staff, never published
    "gehouden": ("held", ("held_on",)),
    "opname": ("recording", ("url",)),
}


# --- attendance: a grid per day ----------------------------------------------------------------------


def _cell(registration_id: str, day: date) -> str:
    return f"{registration_id}-{day.isoformat()}"


def _attendance_page(
    request: Request,
    staff: StaffSession,
    session_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    if staff.role not in ACTIVITY_WRITERS:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen aanwezigheden invullen.")
    try:
        found = events_api(request, staff, "GET", f"/sessions/{session_id}")
        registrations = events_api(request, staff, "GET", f"/sessions/{session_id}/registrations")
    except ServiceError as exc:
        raise _refused(exc) from None
    seated = [r for r in registrations if not r["waitlisted"]]
    people = _people(request, staff, seated)
    days = _days(found)
    per_day = round(found["planned_hours"] / len(days), 2)
    today = business_today()
    rows = []
    for registration in seated:
        recorded = {d["day"]: d for d in registration["days"]}
        cells = []
        for day in days:
            key = _cell(registration["id"], day)
            earlier = recorded.get(day.isoformat())
            if values is not None:  # what was posted stays as it was typed
                attended = values.get(f"aanwezig-{key}") == "ja"
                hours = values.get(f"uren-{key}", "")
            else:
                attended = bool(earlier and earlier["attended"])
                hours = _hours(earlier["hours"] if earlier and earlier["attended"] else per_day)
            cells.append({"key": key, "day": day, "open": day <= today, "attended": attended, "hours": hours})
        name = (
            people.get(registration["member_id"], "lid")
            if registration["member_id"]
            else "deelnemer van buiten"
        )
        rows.append({"registration": registration, "name": name, "cells": cells})
    started = datetime.fromisoformat(found["starts_at"]) <= datetime.now(BRUSSELS)
    return render(
        request,
        "session_attendance.html",
        f"Aanwezigheid: {found['title']}",
        staff,
        status_code=422 if errors else 200,
        session=found,
        days=days,
        rows=rows,
        errors=errors or {},
        per_day=per_day,
        started=started and found["status"] != "cancelled",
        done=done,
    )


@router.get("/activiteiten/{session_id}/aanwezigheid")
def attendance(request: Request, staff: Staff, session_id: str, bewaard: str = "") -> HTMLResponse:
    done = f"De aanwezigheid is bewaard ({bewaard} wijzigingen)." if bewaard.isdigit() else ""
    return _attendance_page(request, staff, session_id, done=done)


@router.post("/activiteiten/{session_id}/aanwezigheid")
def record_attendance(
    request: Request,
    session_id: str,
    form: Form = Depends(posted(*ACTIVITY_WRITERS)),  # noqa: B008
) -> Response:
    try:
        found = events_api(request, form.staff, "GET", f"/sessions/{session_id}")
        registrations = events_api(request, form.staff, "GET", f"/sessions/{session_id}/registrations")
    except ServiceError as exc:
        raise _refused(exc) from None
    today = business_today()
    changes: list[tuple[str, str, dict[str, Any]]] = []
    errors: dict[str, str] = {}
    # every cell is checked before anything is sent, so that a typing error changes nothing
    for registration in (r for r in registrations if not r["waitlisted"]):
        recorded = {d["day"]: d for d in registration["days"]}
        for day in _days(found):
            if day > today:
                continue
            key = _cell(registration["id"], day)
            attended = form.values.get(f"aanwezig-{key}") == "ja"
            earlier = recorded.get(day.isoformat())
            if not attended:
                if earlier and earlier["attended"]:
                    changes.append((key, registration["id"], {"attended": False, "day": day.isoformat()}))
                continue
            typed = form.values.get(f"uren-{key}", "").strip().replace(",", ".")
            try:
                hours = float(typed)
            except ValueError:
                errors[key] = "Geef de uren als een getal, zoals 2,5."
                continue
            if not 0 < hours <= found["planned_hours"]:
                errors[key] = f"Geef meer dan 0 en hoogstens {_hours(found['planned_hours'])} uren."
                continue
            if earlier is None or not earlier["attended"] or abs(earlier["hours"] - hours) > 0.001:
                body = {"attended": True, "hours": hours, "day": day.isoformat()}
                changes.append((key, registration["id"], body))
    if errors:
        errors = {"_form": "Niet alle uren zijn geldig; er is niets bewaard.", **errors}
        return _attendance_page(request, form.staff, session_id, values=form.values, errors=errors)
    for key, registration_id, body in changes:
        path = f"/sessions/{session_id}/registrations/{registration_id}/attendance"
        try:
            events_api(request, form.staff, "PUT", path, json=body)
        except ServiceError as exc:
            if exc.status_code not in (409, 422):
                raise _refused(exc) from None
            problem = dutch_errors(exc, "aanwezigheid")
            errors[key] = problem.get("_form") or next(iter(problem.values()))
    if errors:
        errors = {"_form": "Niet alles kon bewaard worden; de andere vakjes zijn wel bewaard.", **errors}
        return _attendance_page(request, form.staff, session_id, values=form.values, errors=errors)
    return RedirectResponse(
        f"/activiteiten/{session_id}/aanwezigheid?bewaard={len(changes)}", status_code=303
    )


# --- attendance: a CSV file, previewed row by row before anything is written ------------------------


def _csv_context(
    request: Request, staff: StaffSession, session_id: str
) -> tuple[dict[str, Any], list[attendance_csv.Person], attendance_csv.Session, attendance_csv.Recorded]:
    """The session, who the file may name (names and addresses from the members service), the days,
    and the attendance recorded so far."""
    if staff.role not in ACTIVITY_WRITERS:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen aanwezigheden invullen.")
    try:
        found = events_api(request, staff, "GET", f"/sessions/{session_id}")
        registrations = events_api(request, staff, "GET", f"/sessions/{session_id}/registrations")
    except ServiceError as exc:
        raise _refused(exc) from None
    people: list[attendance_csv.Person] = []
    members = _members(request, staff, registrations)
    for registration in registrations:
        name, email = "deelnemer van buiten", None
        if registration["member_id"]:
            member = members.get(registration["member_id"])
            if member is None:  # then only the ids can name this person
                name = UNNAMED
            else:
                name, email = f"{member['first_name']} {member['last_name']}", member["email"]
        people.append(
            attendance_csv.Person(
                registration["id"], registration["member_id"], name, email, not registration["waitlisted"]
            )
        )
    recorded = {
        r["id"]: {date.fromisoformat(d["day"]): (bool(d["attended"]), float(d["hours"])) for d in r["days"]}
        for r in registrations
    }
    schedule = attendance_csv.Session(tuple(_days(found)), float(found["planned_hours"]), business_today())
    return found, people, schedule, recorded


def _csv_page(
    request: Request,
    staff: StaffSession,
    found: dict[str, Any],
    *,
    rows: list[attendance_csv.Row] | None = None,
    refusal: str = "",
    errors: dict[int, str] | None = None,
    notice: str = "",
) -> HTMLResponse:
    rows = rows or []
    all_ok = bool(rows) and not refusal and all(row.ok for row in rows)
    return render(
        request,
        "session_attendance_csv.html",
        f"CSV nakijken: {found['title']}",
        staff,
        status_code=200 if all_ok and not errors else 422,
        session=found,
        rows=rows,
        refusal=refusal,
        errors=errors or {},
        notice=notice,
        all_ok=all_ok,
        bad=sum(1 for row in rows if not row.ok),
        changes=sum(1 for row in rows if row.ok and row.change),
        canonical=attendance_csv.canonical(rows) if all_ok else "",
        verdicts=attendance_csv.VERDICTS,
    )


def _judged(
    data: bytes,
    people: list[attendance_csv.Person],
    schedule: attendance_csv.Session,
    recorded: attendance_csv.Recorded,
) -> list[attendance_csv.Row]:
    meanings, table = attendance_csv.read_table(data)
    return attendance_csv.judge(meanings, table, people, schedule, recorded)


def _can_record(found: dict[str, Any]) -> bool:
    started = datetime.fromisoformat(found["starts_at"]) <= datetime.now(BRUSSELS)
    return started and found["status"] != "cancelled"


CHANGED_SINCE = "Sinds het voorbeeld is er iets veranderd: niet alle regels zijn nog in orde. Niets bewaard."
NOT_YET = "Aanwezigheid invullen kan pas vanaf het begin van de sessie, en niet voor een geannuleerde sessie."


@router.get("/activiteiten/{session_id}/aanwezigheid/sjabloon.csv")
def attendance_template(request: Request, staff: Staff, session_id: str) -> Response:
    _found, people, schedule, recorded = _csv_context(request, staff, session_id)
    first = schedule.days[0].isoformat()
    return Response(
        attendance_csv.template(people, schedule, recorded),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="aanwezigheid-{first}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/activiteiten/{session_id}/aanwezigheid/csv")
async def preview_attendance_csv(request: Request, session_id: str) -> Response:
    """Reads the file and shows a verdict per row; writes nothing."""
    upload = await read_upload(request, ACTIVITY_WRITERS, attendance_csv.MAX_BYTES + 10_000)
    return await run_in_threadpool(
        _preview_csv, request, upload.staff, session_id, upload.files.get("bestand", b"")
    )


def _preview_csv(request: Request, staff: StaffSession, session_id: str, data: bytes) -> HTMLResponse:
    found, people, schedule, recorded = _csv_context(request, staff, session_id)
    if not _can_record(found):
        return _csv_page(request, staff, found, refusal=NOT_YET)
    if not data:
        return _csv_page(request, staff, found, refusal="Kies een CSV-bestand om op te laden.")
    try:
        rows = _judged(data, people, schedule, recorded)
    except attendance_csv.FileRefused as exc:
        return _csv_page(request, staff, found, refusal=str(exc))
    return _csv_page(request, staff, found, rows=rows)


@router.post("/activiteiten/{session_id}/aanwezigheid/csv/bevestigen")
def confirm_attendance_csv(
    request: Request,
    session_id: str,
    form: Form = Depends(posted(*ACTIVITY_WRITERS)),  # noqa: B008
) -> Response:
    """Judges the previewed rows again, against the attendance as it is now, and only when every row is
    still in order writes the changed ones with the grid's own calls."""
    found, people, schedule, recorded = _csv_context(request, form.staff, session_id)
    if not _can_record(found):
        return _csv_page(request, form.staff, found, refusal=NOT_YET)
    try:
        rows = _judged(form.values.get("regels", "").encode("utf-8"), people, schedule, recorded)
    except attendance_csv.FileRefused as exc:
        return _csv_page(request, form.staff, found, refusal=str(exc))
    if not all(row.ok for row in rows):
        return _csv_page(request, form.staff, found, rows=rows, notice=CHANGED_SINCE)
    errors: dict[int, str] = {}
    written = 0
    for row in rows:
        if not row.change or row.person is None or row.day is None:
            continue
        body: dict[str, Any] = {"attended": row.attended, "day": row.day.isoformat()}
        if row.attended:
            body["hours"] = row.hours
        path = f"/sessions/{session_id}/registrations/{row.person.registration_id}/attendance"
        try:
            events_api(request, form.staff, "PUT", path, json=body)
            written += 1
        except ServiceError as exc:
            if exc.status_code not in (409, 422):
                raise _refused(exc) from None
            problem = dutch_errors(exc, "aanwezigheid")
            errors[row.line] = problem.get("_form") or next(iter(problem.values()))
    if errors:
        notice = (
            f"Niet alles kon bewaard worden: {written} wijzigingen zijn bewaard, de regels hieronder niet."
        )
        return _csv_page(request, form.staff, found, rows=rows, errors=errors, notice=notice)
    return RedirectResponse(f"/activiteiten/{session_id}/aanwezigheid?bewaard={written}", status_code=303)


@router.post("/activiteiten/{session_id}/inschrijven")
def register(
    request: Request,
    session_id: str,
    form: Form = Depends(posted(*ACTIVITY_WRITERS)),  # noqa: B008
) -> Response:
    body = filled(form.values, ("member_id", "organisation_id", "organisation_kind"))
    if not body:
        errors = {"organisation_kind": "Kies een lid, of de soort organisatie van een deelnemer van buiten."}
        if form.values.get("form") == "lid":
            errors = {"member_id": "Kies een lid om in te schrijven."}
        return _session_page(
            request, form.staff, session_id, errors=errors, form_name=form.values.get("form", "")
        )
    if "member_id" in body:  # the events service takes any id; the members service knows who exists
        try:
            # only an id goes into the members service's path (never "../organisations")
            members_api(request, form.staff, "GET", f"/members/{uuid.UUID(body['member_id'])}")
        except (ValueError, ServiceError) as exc:
            if isinstance(exc, ServiceError) and exc.status_code not in (404, 422):
                raise _refused(exc) from None
            return _session_page(
                request,
                form.staff,
                session_id,
                errors={"member_id": "Er is geen lid met dit id."},
                form_name="lid",
                values=form.values,
            )
    try:
        made = events_api(request, form.staff, "POST", f"/sessions/{session_id}/registrations", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            errors = dutch_errors(exc, "inschrijven")
            if "member_id" in errors and "member_id" not in body:
                errors = {"organisation_kind": errors.pop("member_id"), **errors}
            return _session_page(
                request,
                form.staff,
                session_id,
                errors=errors,
                form_name=form.values.get("form", ""),
                values=form.values,
            )
        raise _refused(exc) from None
    where = "op de wachtlijst" if made["waitlisted"] else "ingeschreven"
    return RedirectResponse(f"/activiteiten/{session_id}?bewaard={where}", status_code=303)


@router.post("/activiteiten/{session_id}/inschrijvingen/{registration_id}/annuleren")
def cancel_registration(
    request: Request,
    session_id: str,
    registration_id: str,
    form: Form = Depends(posted(*ACTIVITY_WRITERS)),  # noqa: B008
) -> Response:
    try:
        answer = events_api(
            request, form.staff, "POST", f"/sessions/{session_id}/registrations/{registration_id}/cancel"
        )
    except ServiceError as exc:
        if exc.status_code == 409:
            return _session_page(request, form.staff, session_id, errors=dutch_errors(exc, "uitschrijven"))
        raise _refused(exc) from None
    moved = ",".join(r["id"] for r in answer["promoted"])
    return RedirectResponse(
        f"/activiteiten/{session_id}?{urlencode({'bewaard': 'uitgeschreven', 'opgeschoven': moved})}",
        status_code=303,
    )


@router.post("/activiteiten/{session_id}/{action}")
def session_action(
    request: Request,
    session_id: str,
    action: str,
    form: Form = Depends(posted(*ACTIVITY_WRITERS)),  # noqa: B008
) -> Response:
    if action not in ACTIONS:
        raise PageProblem(404, "Niet gevonden", NOT_FOUND)
    path, fields = ACTIONS[action]
    body = filled(form.values, fields)
    _number(body, "planned_hours")
    if action == "annuleren" and form.values.get("confirm") != "ja":
        return _session_page(
            request,
            form.staff,
            session_id,
            errors={"confirm": "Vink aan dat je deze sessie wilt annuleren."},
            form_name=action,
            values=form.values,
        )
    if action in ("verplaatsen", "opname"):
        for name in fields[:2] if action == "verplaatsen" else fields:
            body.setdefault(name, "")
    try:
        events_api(request, form.staff, "POST", f"/sessions/{session_id}/{path}", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _session_page(
                request,
                form.staff,
                session_id,
                errors=dutch_errors(exc, action),
                form_name=action,
                values=form.values,
            )
        raise _refused(exc) from None
    return RedirectResponse(f"/activiteiten/{session_id}?bewaard=1", status_code=303)
