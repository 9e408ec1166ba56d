"""Leden en organisaties: lists with search, filters (kind, municipality, a member on a date) and paging,
details with the member's history, the forms that register, change, move, let leave and let rejoin, the
import of a member list with a preview, the export to XLSX, and a person's data export and erasure
(admins, after confirming); every action goes through the members service's API."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ops.member_import import Importer, Verdict
from services.backoffice import member_upload
from services.backoffice.services import Service, ServiceError, ServiceUnavailable
from services.backoffice.session import StaffSession
from services.backoffice.uploads import read_upload
from services.backoffice.web import (
    Form,
    PageProblem,
    Staff,
    api_of,
    current,
    filled,
    posted,
    refused,
    render,
    settings_of,
)
from shared.auth import ACTIVITY_WRITERS, ADMIN, STAFF
from shared.spreadsheet import safe_cell

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
    "knowledge_on": "Datum",
    "bevestigd": "Bevestiging",
    "bestand": "Bestand",
}
FILTER_LABELS = {"nis_code": "Gemeente (NIS-code)", "active_on": "Lid op"}
NIS_CODE = re.compile(r"^\d{5}$")
# a member's history (services/members/staff_api.py) as the page tells it
HISTORY_WORDS = {
    "joined": "lid geworden",
    "moved": "verhuisd",
    "left": "vertrokken",
    "knowledge_sharing_joined": "begonnen met kennisdeling",
    "knowledge_sharing_left": "gestopt met kennisdeling",
    "erased": "persoonsgegevens gewist",
}
# the importer's verdicts (ops.member_import) as the preview and the result show them
VERDICT_WORDS = {
    "zou aangemaakt worden": "wordt aangemaakt",
    "zou bijgewerkt worden": "bestaat al – wordt bijgewerkt",
    "ongewijzigd": "bestaat al – niets te doen",
    "geweigerd": "fout – wordt niet ingevoerd",
    "aangemaakt": "aangemaakt",
    "bijgewerkt": "bestond al – bijgewerkt",
}
EXPORT_COLUMNS = (
    ("Voornaam", "first_name"),
    ("Familienaam", "last_name"),
    ("E-mailadres", "email"),
    ("Telefoon", "phone"),
    ("Organisatie", "organisation_name"),
    ("Soort organisatie", "organisation_kind"),
    ("NIS-code", "nis_code"),
    ("Lid sinds", "joined_on"),
    ("Vertrokken op", "left_on"),
    ("Actief", "active"),
    ("Kennisdeling", "in_knowledge_sharing"),
    ("Nieuwsbrief", "newsletter_consent"),
)
# the services that hold data on a person, each answering GET /people/{member_id} (as `vvsg person
# export` asks them; the KPI service keeps ids and figures only)
PERSONAL_DATA_SERVICES: tuple[Service, ...] = ("members", "events", "feedback", "newsletter")
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


def _filter_errors(nis_code: str, active_on: str = "") -> dict[str, str]:
    errors = {}
    if nis_code and not NIS_CODE.match(nis_code):
        errors["nis_code"] = FIELD_MESSAGES["nis_code"]
    if active_on:
        try:
            date.fromisoformat(active_on)
        except ValueError:
            errors["active_on"] = MESSAGES["date_parsing"]
    return errors


EMPTY_PAGE = {"items": [], "total": 0, "limit": PAGE_SIZE, "offset": 0}


@router.get("/organisaties")
def organisations(
    request: Request, staff: Staff, q: str = "", kind: str = "", nis_code: str = "", offset: int = 0
) -> HTMLResponse:
    q, nis_code = q.strip()[:100], nis_code.strip()[:5]
    kind = kind if kind in KIND_NAMES else ""
    errors = _filter_errors(nis_code)
    params = {"q": q, "kind": kind, "nis_code": nis_code, "limit": PAGE_SIZE, "offset": max(offset, 0)}
    try:
        page = (
            EMPTY_PAGE
            if errors
            else members_api(request, staff, "GET", "/staff/organisations", params=params)
        )
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "organisations.html",
        "Organisaties",
        staff,
        status_code=422 if errors else 200,
        page=page,
        q=q,
        kind=kind,
        nis_code=nis_code,
        errors=errors,
        labels=FILTER_LABELS,
        kinds=KINDS,
        kind_names=KIND_NAMES,
        may_write=staff.role in STAFF,
        query=urlencode({"q": q, "kind": kind, "nis_code": nis_code}),
    )


@router.get("/organisaties/export.xlsx")
def export_organisations(
    request: Request, staff: Staff, q: str = "", kind: str = "", nis_code: str = ""
) -> Response:
    kind = kind if kind in KIND_NAMES else ""
    if _filter_errors(nis_code.strip()):
        raise PageProblem(422, "Filter niet geldig", "Pas de filters op de lijst aan en probeer opnieuw.")
    params = {"q": q.strip()[:100], "kind": kind, "nis_code": nis_code.strip(), "limit": 5000}
    found: list[dict[str, Any]] = []
    try:
        while True:
            page = members_api(
                request, staff, "GET", "/staff/organisations", params={**params, "offset": len(found)}
            )
            found += page["items"]
            if not page["items"] or len(found) >= page["total"]:
                break
    except ServiceError as exc:
        raise _refused(exc) from None
    rows = [
        [
            o["name"],
            KIND_NAMES.get(o["kind"], o["kind"]),
            o["nis_code"],
            date.fromisoformat(o["registered_on"]),
        ]
        for o in found
    ]
    content = _xlsx("Organisaties", ["Naam", "Soort", "NIS-code", "Geregistreerd op"], rows)
    return _download(content, XLSX, f"organisaties-{date.today().isoformat()}.xlsx")


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


def _member_filters(
    q: str, state: str, organisation_id: str, kind: str, nis_code: str, active_on: str
) -> dict[str, str]:
    """The list's filters as the page keeps them (unknown choices dropped)."""
    return {
        "q": q.strip()[:100],
        "state": state if state in dict(STATES) else "active",
        "organisation_id": organisation_id.strip()[:36],
        "kind": kind if kind in KIND_NAMES else "",
        "nis_code": nis_code.strip()[:5],
        "active_on": active_on.strip()[:10],
    }


def _member_params(filters: dict[str, str]) -> dict[str, Any]:
    # "a member on this date" looks at the history, whatever the person's state is today
    return {**filters, "state": "all" if filters["active_on"] else filters["state"]}


@router.get("/leden")
def members(
    request: Request,
    staff: Staff,
    q: str = "",
    state: str = "active",
    organisation_id: str = "",
    kind: str = "",
    nis_code: str = "",
    active_on: str = "",
    offset: int = 0,
) -> HTMLResponse:
    filters = _member_filters(q, state, organisation_id, kind, nis_code, active_on)
    errors = _filter_errors(filters["nis_code"], filters["active_on"])
    params = {**_member_params(filters), "limit": PAGE_SIZE, "offset": max(offset, 0)}
    try:
        page = EMPTY_PAGE if errors else members_api(request, staff, "GET", "/staff/members", params=params)
        options = _organisation_options(request, staff)
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "members.html",
        "Leden",
        staff,
        status_code=422 if errors else 200,
        page=page,
        filters=filters,
        errors=errors,
        labels=FILTER_LABELS,
        states=STATES,
        kinds=KINDS,
        organisations=options,
        may_write=staff.role in STAFF,
        query=urlencode(filters),
    )


def _all_members(request: Request, staff: StaffSession, params: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = members_api(
            request, staff, "GET", "/staff/members", params={**params, "limit": 5000, "offset": len(found)}
        )
        found += page["items"]
        if not page["items"] or len(found) >= page["total"]:
            return found


def _xlsx(title: str, header: list[str], rows: list[list[Any]]) -> bytes:
    """One sheet; every text through shared.spreadsheet (no cell runs as a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.worksheets[0]
    sheet.title = title
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([safe_cell(value) for value in row])
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/leden/export.xlsx")
def export_members(
    request: Request,
    staff: Staff,
    q: str = "",
    state: str = "active",
    organisation_id: str = "",
    kind: str = "",
    nis_code: str = "",
    active_on: str = "",
) -> Response:
    """The list as filtered on the page, every page of it. Staff only: it is a list of people."""
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag de ledenlijst niet downloaden.")
    filters = _member_filters(q, state, organisation_id, kind, nis_code, active_on)
    if _filter_errors(filters["nis_code"], filters["active_on"]):
        raise PageProblem(
            422, "Filter niet geldig", "Pas de filters op de ledenlijst aan en probeer opnieuw."
        )
    try:
        found = _all_members(request, staff, _member_params(filters))
    except ServiceError as exc:
        raise _refused(exc) from None
    shown = {"active": "ja", "in_knowledge_sharing": "ja", "newsletter_consent": "ja"}
    rows = []
    for person in found:
        row: list[Any] = []
        for _, name in EXPORT_COLUMNS:
            value = person.get(name)
            if name in shown:
                value = shown[name] if value else "nee"
            elif name == "organisation_kind":
                value = KIND_NAMES.get(str(value), value)
            elif name in ("joined_on", "left_on") and value:
                value = date.fromisoformat(value)
            row.append(value)
        rows.append(row)
    content = _xlsx("Leden", [title for title, _ in EXPORT_COLUMNS], rows)
    return _download(content, XLSX, f"leden-{date.today().isoformat()}.xlsx")


# --- import of a member list: upload, preview, confirm ---------------------------------------------


def _import_form(request: Request, staff: StaffSession, problem: str = "") -> HTMLResponse:
    return render(
        request,
        "members_import.html",
        "Ledenlijst importeren",
        staff,
        status_code=422 if problem else 200,
        errors={"bestand": problem} if problem else {},
        labels=MEMBER_LABELS,
        max_megabytes=settings_of(request).max_body_bytes / 1_000_000,
    )


@router.get("/leden/importeren")
def import_form(request: Request, staff: Staff) -> HTMLResponse:
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen leden importeren.")
    return _import_form(request, staff)


def _run_import(request: Request, staff: StaffSession, rows: list[Any], dry_run: bool) -> list[Verdict]:
    """The importer of `vvsg import-members` against the members API, as the signed-in person."""
    try:
        with member_upload.members_client(settings_of(request), staff) as client:
            return Importer(client, dry_run=dry_run).run(rows)
    except httpx.HTTPStatusError as exc:
        raise _refused(ServiceError(exc.response.status_code, exc.response.text[:200])) from None
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"members: {exc}") from None


def _verdict_counts(verdicts: list[Verdict]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for verdict in verdicts:
        counts[verdict.action] = counts.get(verdict.action, 0) + 1
    return [(VERDICT_WORDS.get(action, action), count) for action, count in counts.items()]


@router.post("/leden/importeren")
async def import_preview(request: Request) -> Response:
    """Reads the list and shows what each row would do; nothing is written here. The form is
    multipart (a file): `uploads.read_upload` makes the checks of `posted` (signed in, CSRF token, role)."""
    limit = settings_of(request).max_body_bytes
    try:
        form = await read_upload(request, STAFF, limit)
    except PageProblem as problem:
        staff = current(request)
        if problem.status_code != 413 or staff is None or staff.role not in STAFF:
            raise
        return _import_form(
            request,
            staff,
            f"Het bestand is te groot: een ledenlijst mag hier hoogstens {limit / 1_000_000:.0f} MB zijn."
            " Splits de lijst of verwijder wat niet nodig is. Er is niets ingevoerd.",
        )
    staff = form.staff
    filename, content = form.filenames.get("bestand", ""), form.files.get("bestand", b"")
    # reading the file and asking the members service take a while: not on the event loop
    try:
        rows, unknown = await run_in_threadpool(member_upload.read_upload, filename, content)
    except member_upload.UploadProblem as exc:
        return _import_form(request, staff, str(exc))
    verdicts = await run_in_threadpool(_run_import, request, staff, rows, True)
    writes = sum(1 for v in verdicts if v.action.startswith("zou"))
    return render(
        request,
        "members_import_preview.html",
        "Voorvertoning van de import",
        staff,
        filename=filename,
        verdicts=verdicts,
        words=VERDICT_WORDS,
        counts=_verdict_counts(verdicts),
        unknown=unknown,
        writes=writes,
        plan=member_upload.seal_plan(settings_of(request), staff, filename, rows) if writes else "",
    )


@router.post("/leden/importeren/bevestigen")
def import_confirm(request: Request, form: Form = Depends(posted(*STAFF))) -> HTMLResponse:  # noqa: B008
    try:
        filename, rows = member_upload.open_plan(
            settings_of(request), form.staff, form.values.get("plan", "")
        )
    except member_upload.UploadProblem as exc:
        return _import_form(request, form.staff, str(exc))
    verdicts = _run_import(request, form.staff, rows, dry_run=False)
    return render(
        request,
        "members_import_result.html",
        "Import uitgevoerd",
        form.staff,
        filename=filename,
        verdicts=verdicts,
        words=VERDICT_WORDS,
        counts=_verdict_counts(verdicts),
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


def _organisation_names(request: Request, staff: StaffSession) -> dict[str, str]:
    return dict(_organisation_options(request, staff))


def _member_page(
    request: Request,
    staff: StaffSession,
    member_id: str,
    done: str = "",
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    try:
        found = members_api(request, staff, "GET", f"/members/{member_id}")
        history = members_api(request, staff, "GET", f"/members/{member_id}/history")
        names = _organisation_names(request, staff)
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "member.html",
        f"{found['first_name']} {found['last_name']}" if not found.get("erased_on") else "Gewist lid",
        staff,
        status_code=422 if errors else 200,
        member=found,
        organisation_name=names.get(found["organisation_id"], ""),
        organisations=[o for o in names.items() if o[0] != found["organisation_id"]],
        organisation_names=names,
        history=history,
        history_words=HISTORY_WORDS,
        errors=errors or {},
        labels=MEMBER_LABELS,
        may_write=staff.role in STAFF and not found.get("erased_on"),
        may_export=staff.role in STAFF,
        may_erase=staff.role in ADMIN and not found.get("erased_on"),
        done=done,
    )


DONE = {
    "1": "Bewaard.",
    "gewist": "De persoonsgegevens van dit lid zijn gewist, hier en in de andere diensten.",
}


@router.get("/leden/{member_id}")
def member(request: Request, staff: Staff, member_id: str, bewaard: str = "") -> HTMLResponse:
    return _member_page(request, staff, member_id, DONE.get(bewaard, ""))


@router.get("/leden/{member_id}/gegevens.json")
def personal_data(request: Request, staff: Staff, member_id: str) -> Response:
    """Right of access: everything the services hold on the person, as `vvsg person export` gives it; a
    service that cannot answer is named in the document."""
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen persoonsgegevens opvragen.")
    try:
        members_api(request, staff, "GET", f"/members/{member_id}")  # an unknown id: a 404 page
    except ServiceError as exc:
        raise _refused(exc) from None
    document: dict[str, Any] = {
        "member_id": member_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "exported_by": staff.subject,
        "services": {},
    }
    for service in PERSONAL_DATA_SERVICES:
        try:
            answer = api_of(service)(request, staff, "GET", f"/people/{member_id}")
        except (ServiceError, ServiceUnavailable) as exc:
            answer = {"service": service, "unavailable": True, "reason": f"niet beschikbaar: {exc}"}
        document["services"][service] = answer
    content = (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()
    return _download(content, "application/json", f"gegevens-{member_id}.json")


def _erase_page(
    request: Request, staff: StaffSession, member_id: str, errors: dict[str, str]
) -> HTMLResponse:
    try:
        found = members_api(request, staff, "GET", f"/members/{member_id}")
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "member_erase.html",
        "Persoonsgegevens wissen",
        staff,
        status_code=422 if errors else 200,
        member=found,
        errors=errors,
        labels=MEMBER_LABELS,
    )


@router.get("/leden/{member_id}/wissen")
def erase_confirmation(request: Request, staff: Staff, member_id: str) -> HTMLResponse:
    if staff.role not in ADMIN:
        raise PageProblem(403, "Geen toegang", "Alleen een beheerder mag persoonsgegevens wissen.")
    return _erase_page(request, staff, member_id, {})


@router.post("/leden/{member_id}/wissen")
def erase(request: Request, member_id: str, form: Form = Depends(posted(*ADMIN))) -> Response:  # noqa: B008
    if form.values.get("bevestigd") != "ja":
        errors = {
            "bevestigd": "Vink aan dat je begrijpt dat dit niet ongedaan kan worden. Er is niets gewist."
        }
        return _erase_page(request, form.staff, member_id, errors)
    try:
        members_api(request, form.staff, "POST", f"/members/{member_id}/erase")
    except ServiceError as exc:
        raise _refused(exc) from None
    return RedirectResponse(f"/leden/{member_id}?bewaard=gewist", status_code=303)


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


# move, leave, rejoin and knowledge sharing: one small form each on the member's page; a form's field
# → the API's field (the two knowledge-sharing forms have a date field of their own on the page)
ACTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "verhuizen": ("move", {"organisation_id": "organisation_id", "moved_on": "moved_on"}),
    "vertrekken": ("leave", {"left_on": "left_on"}),
    "terugkeren": ("rejoin", {"joined_on": "joined_on"}),
    "kennisdeling-starten": ("knowledge-sharing/join", {"knowledge_on": "joined_on"}),
    "kennisdeling-stoppen": ("knowledge-sharing/leave", {"knowledge_on": "left_on"}),
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
    given = filled(form.values, tuple(fields))
    body = {fields[name]: value for name, value in given.items()}
    try:
        members_api(request, form.staff, "POST", f"/members/{member_id}/{path}", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            back = {api: page for page, api in fields.items()}
            errors = {back.get(field, field): text for field, text in dutch_errors(exc).items()}
            return _member_page(request, form.staff, member_id, errors=errors)
        raise _refused(exc) from None
    return RedirectResponse(f"/leden/{member_id}?bewaard=1", status_code=303)
