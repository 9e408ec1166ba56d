"""Leden en organisaties: lists with search, filters and paging, details, and the forms that register,
change, move, let leave and let rejoin; every action goes through the members service's API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.backoffice.services import ServiceError
from services.backoffice.session import StaffSession
from services.backoffice.web import Form, PageProblem, Staff, api_of, filled, posted, refused, render
from shared.auth import ACTIVITY_WRITERS, STAFF

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25

# --- what people read (nl-BE) ---------------------------------------------------------------------
KINDS: tuple[tuple[str, str], ...] = (
    ("lokaal_bestuur", "Lokaal bestuur"),
    ("intergemeentelijk_samenwerkingsverband", "Intergemeentelijk samenwerkingsverband"),
    ("middenveldorganisatie", "Middenveldorganisatie"),
    ("kennisinstelling", "Kennisinstelling"),
    ("bovenlokale_overheid", "Bovenlokale overheid"),
    ("andere", "Andere"),
)
KIND_NAMES = dict(KINDS)
STATES = (("active", "actieve leden"), ("left", "vertrokken leden"), ("all", "alle leden"))
ORGANISATION_LABELS = {
    "name": "Naam",
    "kind": "Soort",
    "nis_code": "NIS-code",
    "registered_on": "Geregistreerd op",
}
MEMBER_LABELS = {
    "first_name": "Voornaam",
    "last_name": "Familienaam",
    "email": "E-mailadres",
    "phone": "Telefoon",
    "organisation_id": "Organisatie",
    "joined_on": "Lid sinds",
    "newsletter_consent": "Wil de nieuwsbrief ontvangen",
    "moved_on": "Verhuisd op",
    "left_on": "Vertrokken op",
}
# the services' 422 reasons (pydantic's error types, or value_error for a rule), in Dutch per field
MESSAGES = {
    "missing": "Vul dit veld in.",
    "string_too_short": "Vul dit veld in.",
    "string_too_long": "Dit is te lang.",
    "enum": "Kies een van de mogelijkheden.",
    "literal_error": "Kies een van de mogelijkheden.",
    "uuid_parsing": "Kies een van de mogelijkheden.",
    "uuid_type": "Kies een van de mogelijkheden.",
    "date_from_datetime_parsing": "Geef een geldige datum.",
    "date_parsing": "Geef een geldige datum.",
    "date_type": "Geef een geldige datum.",
}
FIELD_MESSAGES = {
    "nis_code": "Een NIS-code bestaat uit 5 cijfers.",
    "phone": "Geef een telefoonnummer met 6 tot 40 cijfers (spaties, +, punt, streepje en haakjes mogen).",
    "email": "Geef een geldig e-mailadres, zoals naam@gemeente.be.",
    "registered_on": "Geef een datum die niet in de toekomst ligt.",
    "joined_on": "Geef een datum die niet in de toekomst ligt.",
    "moved_on": "Geef een datum die niet in de toekomst ligt.",
    "left_on": "Geef een datum die niet in de toekomst ligt.",
}
CONFLICT = (
    "Dit kan niet: het botst met wat al bewaard is (bijvoorbeeld hetzelfde e-mailadres of dezelfde naam)."
)
NOT_FOUND = "Dit bestaat niet (meer)."


def dutch_errors(error: ServiceError) -> dict[str, str]:
    if error.status_code == 409:
        return {"_form": CONFLICT}
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
            errors[field] = FIELD_MESSAGES.get(field) or MESSAGES.get(kind, "Deze waarde is niet geldig.")
    return errors


def _refused(error: ServiceError) -> PageProblem:
    return refused(error, "De ledendienst", NOT_FOUND)


members_api = api_of("members")


def _organisation_options(request: Request, staff: StaffSession) -> list[tuple[str, str]]:
    page = members_api(request, staff, "GET", "/organisations", params={"limit": 1000})
    return [(o["id"], o["name"]) for o in page["items"]]


# --- organisations ----------------------------------------------------------------------------------


@router.get("/leden/organisaties")
def organisations_alias() -> Response:
    return RedirectResponse("/organisaties", status_code=307)


@router.get("/organisaties")
def organisations(
    request: Request, staff: Staff, q: str = "", kind: str = "", offset: int = 0
) -> HTMLResponse:
    params = {
        "q": q[:100],
        "kind": kind if kind in KIND_NAMES else "",
        "limit": PAGE_SIZE,
        "offset": max(offset, 0),
    }
    try:
        page = members_api(request, staff, "GET", "/organisations", params=params)
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "organisations.html",
        "Organisaties",
        staff,
        page=page,
        q=q,
        kind=kind,
        kinds=KINDS,
        kind_names=KIND_NAMES,
        may_write=staff.role in STAFF,
        query=urlencode({"q": q, "kind": kind}),
    )


def _organisation_form(
    request: Request,
    staff: StaffSession,
    values: dict[str, Any],
    errors: dict[str, str],
    organisation_id: str = "",
) -> HTMLResponse:
    creating = not organisation_id
    return render(
        request,
        "organisation_form.html",
        "Organisatie toevoegen" if creating else "Organisatie bewerken",
        staff,
        status_code=422 if errors else 200,
        values=values,
        errors=errors,
        labels=ORGANISATION_LABELS,
        kinds=KINDS,
        creating=creating,
        action="/organisaties/nieuw" if creating else f"/organisaties/{organisation_id}/bewerken",
        back="/organisaties" if creating else f"/organisaties/{organisation_id}",
    )


@router.get("/organisaties/nieuw")
def new_organisation(request: Request, staff: Staff) -> HTMLResponse:
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen organisaties toevoegen.")
    return _organisation_form(request, staff, {}, {})


@router.post("/organisaties/nieuw")
def create_organisation(request: Request, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    body = filled(form.values, ("name", "kind", "nis_code", "registered_on"))
    try:
        created = members_api(request, form.staff, "POST", "/organisations", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _organisation_form(request, form.staff, form.values, dutch_errors(exc))
        raise _refused(exc) from None
    return RedirectResponse(f"/organisaties/{created['id']}?bewaard=1", status_code=303)


@router.get("/organisaties/{organisation_id}")
def organisation(request: Request, staff: Staff, organisation_id: str, bewaard: str = "") -> HTMLResponse:
    try:
        found = members_api(request, staff, "GET", f"/organisations/{organisation_id}")
        people = None
        if staff.role in ACTIVITY_WRITERS:
            params = {"organisation_id": organisation_id, "state": "all", "limit": 1000}
            people = members_api(request, staff, "GET", "/members", params=params)
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "organisation.html",
        found["name"],
        staff,
        organisation=found,
        members=people,
        kind_names=KIND_NAMES,
        may_write=staff.role in STAFF,
        done="De organisatie is bewaard." if bewaard else "",
    )


@router.get("/organisaties/{organisation_id}/bewerken")
def edit_organisation(request: Request, staff: Staff, organisation_id: str) -> HTMLResponse:
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen organisaties wijzigen.")
    try:
        found = members_api(request, staff, "GET", f"/organisations/{organisation_id}")
    except ServiceError as exc:
        raise _refused(exc) from None
    return _organisation_form(request, staff, found, {}, organisation_id)


@router.post("/organisaties/{organisation_id}/bewerken")
def update_organisation(
    request: Request,
    organisation_id: str,
    form: Form = Depends(posted(*STAFF)),  # noqa: B008
) -> Response:
    body = filled(form.values, ("name", "kind", "nis_code"))
    try:
        members_api(request, form.staff, "PATCH", f"/organisations/{organisation_id}", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _organisation_form(request, form.staff, form.values, dutch_errors(exc), organisation_id)
        raise _refused(exc) from None
    return RedirectResponse(f"/organisaties/{organisation_id}?bewaard=1", status_code=303)


# --- members --------------------------------------------------------------------------------------


@router.get("/leden")
def members(
    request: Request,
    staff: Staff,
    q: str = "",
    state: str = "active",
    organisation_id: str = "",
    offset: int = 0,
) -> HTMLResponse:
    state = state if state in dict(STATES) else "active"
    params = {
        "q": q[:100],
        "state": state,
        "organisation_id": organisation_id,
        "limit": PAGE_SIZE,
        "offset": max(offset, 0),
    }
    try:
        page = members_api(request, staff, "GET", "/members", params=params)
        options = _organisation_options(request, staff)
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "members.html",
        "Leden",
        staff,
        page=page,
        q=q,
        state=state,
        states=STATES,
        organisation_id=organisation_id,
        organisations=options,
        organisation_names=dict(options),
        may_write=staff.role in STAFF,
        query=urlencode({"q": q, "state": state, "organisation_id": organisation_id}),
    )


def _member_form(
    request: Request, staff: StaffSession, values: dict[str, Any], errors: dict[str, str], member_id: str = ""
) -> HTMLResponse:
    creating = not member_id
    return render(
        request,
        "member_form.html",
        "Lid toevoegen" if creating else "Lid bewerken",
        staff,
        status_code=422 if errors else 200,
        values=values,
        errors=errors,
        labels=MEMBER_LABELS,
        organisations=_organisation_options(request, staff) if creating else [],
        creating=creating,
        action="/leden/nieuw" if creating else f"/leden/{member_id}/bewerken",
        back="/leden" if creating else f"/leden/{member_id}",
    )


@router.get("/leden/nieuw")
def new_member(request: Request, staff: Staff, organisation_id: str = "") -> HTMLResponse:
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen leden toevoegen.")
    return _member_form(request, staff, {"organisation_id": organisation_id}, {})


@router.post("/leden/nieuw")
def create_member(request: Request, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    body = filled(form.values, ("first_name", "last_name", "email", "phone", "organisation_id", "joined_on"))
    body["newsletter_consent"] = form.values.get("newsletter_consent") == "ja"
    try:
        created = members_api(request, form.staff, "POST", "/members", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _member_form(request, form.staff, form.values, dutch_errors(exc))
        raise _refused(exc) from None
    return RedirectResponse(f"/leden/{created['id']}?bewaard=1", status_code=303)


def _member_page(
    request: Request,
    staff: StaffSession,
    member_id: str,
    done: str = "",
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    try:
        found = members_api(request, staff, "GET", f"/members/{member_id}")
        home = members_api(request, staff, "GET", f"/organisations/{found['organisation_id']}")
        options = _organisation_options(request, staff) if staff.role in STAFF else []
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "member.html",
        f"{found['first_name']} {found['last_name']}",
        staff,
        status_code=422 if errors else 200,
        member=found,
        organisation_name=home["name"],
        organisations=[o for o in options if o[0] != found["organisation_id"]],
        errors=errors or {},
        labels=MEMBER_LABELS,
        may_write=staff.role in STAFF,
        done=done,
    )


@router.get("/leden/{member_id}")
def member(request: Request, staff: Staff, member_id: str, bewaard: str = "") -> HTMLResponse:
    return _member_page(request, staff, member_id, "Bewaard." if bewaard else "")


@router.get("/leden/{member_id}/bewerken")
def edit_member(request: Request, staff: Staff, member_id: str) -> HTMLResponse:
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen leden wijzigen.")
    try:
        found = members_api(request, staff, "GET", f"/members/{member_id}")
    except ServiceError as exc:
        raise _refused(exc) from None
    return _member_form(request, staff, found, {}, member_id)


@router.post("/leden/{member_id}/bewerken")
def update_member(request: Request, member_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    body = filled(form.values, ("first_name", "last_name", "email", "phone"))
    body["newsletter_consent"] = form.values.get("newsletter_consent") == "ja"
    try:
        members_api(request, form.staff, "PATCH", f"/members/{member_id}", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _member_form(request, form.staff, form.values, dutch_errors(exc), member_id)
        raise _refused(exc) from None
    return RedirectResponse(f"/leden/{member_id}?bewaard=1", status_code=303)


# move, leave and rejoin: one small form each on the member's page
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "verhuizen": ("move", ("organisation_id", "moved_on")),
    "vertrekken": ("leave", ("left_on",)),
    "terugkeren": ("rejoin", ("joined_on",)),
}


@router.post("/leden/{member_id}/{action}")
def member_action(
    request: Request,
    member_id: str,
    action: str,
    form: Form = Depends(posted(*STAFF)),  # noqa: B008
) -> Response:
    if action not in ACTIONS:
        raise PageProblem(404, "Niet gevonden", NOT_FOUND)
    path, fields = ACTIONS[action]
    try:
        members_api(
            request, form.staff, "POST", f"/members/{member_id}/{path}", json=filled(form.values, fields)
        )
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _member_page(request, form.staff, member_id, errors=dutch_errors(exc))
        raise _refused(exc) from None
    return RedirectResponse(f"/leden/{member_id}?bewaard=1", status_code=303)
