"""KPI's: the year's figures against their targets, the report downloads (passed on from the KPI
service), and freezing the year behind an explicit confirmation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.backoffice.services import ServiceError, call, download
from services.backoffice.session import StaffSession
from services.backoffice.web import Form, PageProblem, Staff, posted, render, settings_of
from shared.auth import STAFF
from shared.clock import business_today

router = APIRouter(include_in_schema=False)

STATUS = {"behaald": "Behaald", "niet behaald": "Niet behaald", "geen doel": "Geen doel"}
FORMATS = {"xlsx": "Excel (XLSX)", "csv": "CSV", "pdf": "PDF", "html": "Afdrukbare pagina (HTML)"}
CONFIRM_MISSING = "Vink aan dat je het jaar wilt afsluiten."
FROZEN_ALREADY = "Dit jaar is al afgesloten."


def _year(jaar: int | None) -> int:
    year = jaar or business_today().year
    if not 2000 <= year <= 2100:
        raise PageProblem(404, "Niet gevonden", "Kies een jaar tussen 2000 en 2100.")
    return year


def _kpi_page(
    request: Request, staff: StaffSession, year: int, errors: dict[str, str] | None = None, done: str = ""
) -> HTMLResponse:
    settings = settings_of(request)
    try:
        report = call(settings, staff, "kpi", "GET", f"/kpis/{year}")
    except ServiceError as exc:
        raise PageProblem(
            502 if exc.status_code >= 500 else exc.status_code, "KPI's", str(exc.detail)
        ) from None
    frozen: Any = None
    try:
        frozen = call(settings, staff, "kpi", "GET", f"/kpis/{year}/frozen")
    except ServiceError as exc:
        if exc.status_code != 404:
            raise
    return render(
        request,
        "kpi.html",
        f"KPI's {year}",
        staff,
        status_code=422 if errors else 200,
        year=year,
        report=report,
        frozen=frozen,
        status_names=STATUS,
        formats=FORMATS,
        may_freeze=staff.role in STAFF,
        errors=errors or {},
        labels={"confirm": "Bevestiging"},
        done=done,
    )


@router.get("/kpi")
def kpis(request: Request, staff: Staff, jaar: int | None = None, afgesloten: str = "") -> HTMLResponse:
    return _kpi_page(request, staff, _year(jaar), done="Het jaar is afgesloten." if afgesloten else "")


@router.get("/kpi/{year}/rapport.{extension}")
def report(request: Request, staff: Staff, year: int, extension: str, bevroren: str = "") -> Response:
    if extension not in FORMATS:
        raise PageProblem(404, "Niet gevonden", "Dit formaat bestaat niet.")
    params = {"frozen": "true"} if bevroren else {}
    try:
        answer = download(
            settings_of(request), staff, "kpi", f"/kpis/{_year(year)}/report.{extension}", params
        )
    except ServiceError as exc:
        raise PageProblem(
            exc.status_code, "Rapport niet beschikbaar", "Dit rapport kan nu niet worden gemaakt."
        ) from None
    headers = {"Content-Disposition": f'attachment; filename="kpi-rapport-{year}.{extension}"'}
    if extension == "html":  # the printable page keeps its own policy (it has no scripts either)
        headers = {
            "Content-Security-Policy": answer.headers.get("content-security-policy", "default-src 'none'")
        }
    return Response(answer.content, media_type=answer.headers.get("content-type"), headers=headers)


@router.post("/kpi/{year}/afsluiten")
def freeze(request: Request, year: int, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    year = _year(year)
    if form.values.get("confirm") != "ja":
        return _kpi_page(request, form.staff, year, errors={"confirm": CONFIRM_MISSING})
    try:
        call(settings_of(request), form.staff, "kpi", "POST", f"/kpis/{year}/freeze")
    except ServiceError as exc:
        if exc.status_code == 409:
            return _kpi_page(request, form.staff, year, errors={"_form": FROZEN_ALREADY})
        raise PageProblem(
            exc.status_code, "Niet afgesloten", "Het jaar kon niet worden afgesloten."
        ) from None
    return RedirectResponse(f"/kpi?jaar={year}&afgesloten=1", status_code=303)
