"""Hulpmiddelen: the catalogue of tools and handbooks (OD 3.1) — the list with what is past its review
date, adding a tool, changing one and taking it out of the catalogue. Every change goes through the
newsletter service's API (which publishes tool.published, tool.updated and tool.retired); staff and
admin write, the other roles read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.backoffice.services import ServiceError
from services.backoffice.session import StaffSession
from services.backoffice.web import Form, PageProblem, Staff, api_of, filled, posted, refused, render
from shared.auth import STAFF

router = APIRouter(include_in_schema=False)
newsletter_api = api_of("newsletter")

FIELDS = (
    "title",
    "summary",
    "audience",
    "made_by",
    "url",
    "version",
    "last_reviewed_on",
    "next_review_on",
    "published_on",
)
LABELS = {
    "title": "Titel",
    "summary": "Waarmee het helpt",
    "audience": "Voor wie",
    "made_by": "Gemaakt door",
    "url": "Adres (https://…)",
    "version": "Versie",
    "last_reviewed_on": "Laatst nagekeken op",
    "next_review_on": "Volgende herziening",
    "published_on": "Ontsloten op",
    "retired_on": "Uit de catalogus op",
}
MAKERS = (
    ("vvsg", "VVSG"),
    ("mediawijs", "Mediawijs"),
    ("together", "VVSG en Mediawijs samen"),
    ("other", "Andere organisatie"),
)
MESSAGES = {
    "title": "Geef een titel (hoogstens 500 tekens, op één regel, zonder e-mailadres).",
    "summary": "Beschrijf waarmee het helpt (hoogstens 2000 tekens, zonder e-mailadres).",
    "audience": "Zeg voor wie het is (hoogstens 500 tekens, op één regel, zonder e-mailadres).",
    "made_by": "Kies wie het maakte.",
    "url": "Geef een volledig adres dat met http:// of https:// begint.",
    "version": "Geef een versie (hoogstens 50 tekens).",
    "last_reviewed_on": "Geef een geldige datum, niet in de toekomst.",
    "next_review_on": "Geef een geldige datum na de laatste herziening.",
    "published_on": "Geef een geldige datum, niet in de toekomst.",
    "retired_on": "Geef een geldige datum, niet in de toekomst en niet vóór de tool ontsloten werd.",
}
CONFLICT = "Er staat al een hulpmiddel met dit adres in de catalogus."
RETIRED = "Dit hulpmiddel staat niet meer in de catalogus: het kan niet meer veranderen."


def _refused(error: ServiceError) -> PageProblem:
    return refused(error, "De nieuwsbriefdienst", "Dit hulpmiddel bestaat niet.")


def _errors(error: ServiceError, conflict: str) -> dict[str, str]:
    if error.status_code == 409:
        return {"_form": conflict}
    return {f: MESSAGES.get(f, "Deze waarde is niet geldig.") for f in error.field_errors()} or {
        "_form": "Dit kon niet worden bewaard. Controleer je invoer."
    }


def _list_page(
    request: Request,
    staff: StaffSession,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    try:
        tools = newsletter_api(request, staff, "GET", "/tools", params={"state": "all"})
    except ServiceError as exc:
        raise _refused(exc) from None
    active = [t for t in tools if t["retired_on"] is None]
    return render(
        request,
        "tools.html",
        "Hulpmiddelen en handboeken",
        staff,
        status_code=422 if errors else 200,
        active=active,
        retired=[t for t in tools if t["retired_on"] is not None],
        overdue=sum(1 for t in active if t["review_overdue"]),
        makers=MAKERS,
        maker_names=dict(MAKERS),
        labels=LABELS,
        values=values or {},
        errors=errors or {},
        may_write=staff.role in STAFF,
        done=done,
    )


@router.get("/hulpmiddelen")
def tools(request: Request, staff: Staff, bewaard: str = "") -> HTMLResponse:
    return _list_page(request, staff, done="Bewaard." if bewaard else "")


@router.post("/hulpmiddelen")
def publish(request: Request, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    body = filled(form.values, FIELDS)
    try:
        created = newsletter_api(request, form.staff, "POST", "/tools", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _list_page(request, form.staff, values=form.values, errors=_errors(exc, CONFLICT))
        raise _refused(exc) from None
    return RedirectResponse(f"/hulpmiddelen/{created['id']}?bewaard=1", status_code=303)


def _tool_page(
    request: Request,
    staff: StaffSession,
    tool_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    try:
        tool: dict[str, Any] = newsletter_api(request, staff, "GET", f"/tools/{tool_id}")
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "tool.html",
        tool["title"],
        staff,
        status_code=422 if errors else 200,
        tool=tool,
        makers=MAKERS,
        maker_names=dict(MAKERS),
        labels={**LABELS, "confirm": "Bevestiging"},
        values=values or {k: str(v) for k, v in tool.items() if v is not None},
        errors=errors or {},
        may_write=staff.role in STAFF and tool["retired_on"] is None,
        done=done,
    )


@router.get("/hulpmiddelen/{tool_id}")
def tool(request: Request, staff: Staff, tool_id: str, bewaard: str = "") -> HTMLResponse:
    return _tool_page(request, staff, tool_id, done="Bewaard." if bewaard else "")


@router.post("/hulpmiddelen/{tool_id}")
def update(request: Request, tool_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    """The fields as they are on the form; the service publishes tool.updated only if one changed."""
    body = filled(form.values, FIELDS[:-1])
    try:
        newsletter_api(request, form.staff, "PATCH", f"/tools/{tool_id}", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422) and exc.field_errors() != {"tool_id": "uuid_parsing"}:
            errors = _errors(exc, RETIRED)
            return _tool_page(request, form.staff, tool_id, values=form.values, errors=errors)
        raise _refused(exc) from None
    return RedirectResponse(f"/hulpmiddelen/{tool_id}?bewaard=1", status_code=303)


@router.post("/hulpmiddelen/{tool_id}/uit-catalogus")
def retire(request: Request, tool_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    """After a confirmation: the tool leaves the public page and can no longer be asked about."""
    if form.values.get("confirm") != "ja":
        errors = {"confirm": "Vink aan dat dit hulpmiddel uit de catalogus mag."}
        return _tool_page(request, form.staff, tool_id, errors=errors)
    try:
        newsletter_api(
            request, form.staff, "POST", f"/tools/{tool_id}/retire", json=filled(form.values, ("retired_on",))
        )
    except ServiceError as exc:
        if exc.status_code in (409, 422) and exc.field_errors() != {"tool_id": "uuid_parsing"}:
            return _tool_page(request, form.staff, tool_id, errors=_errors(exc, RETIRED))
        raise _refused(exc) from None
    return RedirectResponse(f"/hulpmiddelen/{tool_id}?bewaard=1", status_code=303)
