"""KPI's: the year's figures against their targets, the report downloads (passed on from the KPI
service), and freezing the year behind an explicit confirmation.

The figures read as the KPI service's reports write them (services/kpi/report.py, nl.UNITS): a decimal
comma and a thousands point ("1.234", "7,5"), the unit after the number in the singular for exactly one
("1 sessie", "2 sessies", "3,5 uur", "33,3 %"), with the KPI service's own table of unit words
(`nl.unit_word`, plain data without I/O) rather than a copy of it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.backoffice.services import ServiceError, call, download
from services.backoffice.session import StaffSession
from services.backoffice.web import Form, PageProblem, Staff, posted, render, settings_of
from services.kpi.nl import unit_word
from shared.auth import STAFF
from shared.clock import business_today

router = APIRouter(include_in_schema=False)

STATUS = {"behaald": "Behaald", "niet behaald": "Niet behaald", "geen doel": "Geen doel"}
FORMATS = {"xlsx": "Excel (XLSX)", "csv": "CSV", "pdf": "PDF", "html": "Afdrukbare pagina (HTML)"}
CONFIRM_MISSING = "Vink aan dat je het jaar wilt afsluiten."
NO_FIGURE = "–"
FROZEN_ALREADY = "Dit jaar is al afgesloten."


def number(value: Any) -> str:
    """A figure the nl-BE way: "1.234", "7,5", "33,33" (at most two decimals, no trailing zeros)."""
    if value is None or isinstance(value, bool):
        return NO_FIGURE
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, float):
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
        return text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return str(value)


def quantity(value: Any, unit: str) -> str:
    """A figure with its unit after it, joined by a no-break space so that they stay on one line."""
    if value is None:
        return NO_FIGURE
    word = "%" if unit == "%" else unit_word(unit, value)
    return f"{number(value)}\u00a0{word}" if word else number(value)


def rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """The KPI table's rows, every figure written out for the screen."""
    return [
        {
            "code": str(kpi["code"]),
            "title": str(kpi["title"]),
            "value": quantity(kpi.get("value"), str(kpi.get("unit") or "")),
            "target": quantity(kpi.get("target"), str(kpi.get("unit") or "")),
            "status": STATUS.get(str(kpi.get("status")), str(kpi.get("status"))),
        }
        for kpi in report.get("kpis") or []
    ]


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
        rows=rows(report),
        frozen=frozen,
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
