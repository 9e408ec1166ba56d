"""HTTP routes of the KPI service: the KPIs of a year (live or as of a day), monthly series, freezing,
differences against the frozen report, explanations per KPI (toelichting), the yearly report (HTML,
PDF, XLSX, CSV) and a change feed."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, BeforeValidator
from sqlmodel import Session

from services.kpi import catalogue, documents, explanations, freeze, kpis, pdf, report, series, stream
from services.kpi.generations import Generation, Generations
from services.kpi.kpis import KpiReport
from services.kpi.live import SETTLE_SECONDS, Changes
from shared.auth import READERS, STAFF, Principal, require
from shared.errors import DomainError, NotFound
from shared.text import Lines

router = APIRouter()
Reader = Annotated[Principal, Depends(require(*READERS))]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Year = Annotated[int, Path(ge=2000, le=2100)]
_DAY = r"^\d{4}-\d{2}-\d{2}$"


def _a_day(value: Any) -> Any:
    """Only YYYY-MM-DD: pydantic would otherwise read a number such as 4.9e-269 as a Unix time."""
    if value is not None and not (isinstance(value, str) and re.fullmatch(_DAY, value)):
        raise ValueError("must be a day written as YYYY-MM-DD")
    return value


AsOf = Annotated[
    date | None,
    BeforeValidator(_a_day),
    Query(
        description="answer as it stood on this day (YYYY-MM-DD), a day of the asked year",
        json_schema_extra={"pattern": _DAY},
    ),
]
FromFrozen = Annotated[bool, Query(description="render the frozen report instead of the live one")]
KpiCode = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9.\-]+$")]
CsvDialect = Annotated[
    report.Dialect,
    Query(
        description="excel-nl (default): semicolons, decimal comma, days as dd/mm/yyyy, as Excel with "
        "Belgian settings opens it; rfc4180: commas, decimal point, ISO days"
    ),
]
GENERATION_HEADER = "X-Read-Model-Generation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def in_year(year: int, as_of: date | None) -> None:
    """`as_of` must be a day of the asked year: a 422 naming the parameter otherwise."""
    if as_of is not None and as_of.year != year:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "as_of"),
                    "msg": f"must be a day of {year} (from {year}-01-01 to {year}-12-31)",
                    "input": as_of.isoformat(),
                }
            ]
        )


class RendererUnavailable(DomainError):
    status_code = 503


# the errors these routes give besides 401/403/422, declared in the OpenAPI document
NOT_FROZEN: dict[int | str, dict[str, Any]] = {404: {"description": "the year's report has not been frozen"}}
FROZEN_ALREADY: dict[int | str, dict[str, Any]] = {
    409: {"description": "the year's report is frozen already"}
}


class Explanation(BaseModel):
    year: int
    code: str
    text: str
    written_at: datetime
    written_by: str | None  # who wrote it: shown to staff and admin only


class ExplanationText(BaseModel):
    text: Lines  # several lines allowed; control characters refused (422)


class PreviousYear(BaseModel):
    year: int
    as_of: date
    values: dict[str, int | float]


class FrozenReport(BaseModel):
    year: int
    as_of: date
    frozen_at: datetime
    frozen_by: str | None  # shown to staff and admin only
    report: KpiReport
    previous: PreviousYear | None = None
    explanations: list[Explanation] = []


class Figures(BaseModel):
    value: int | float
    target: int | float | None
    status: str


class Difference(BaseModel):
    code: str
    title: str
    frozen: Figures | None
    current: Figures | None
    items_added: list[dict[str, Any]]
    items_removed: list[dict[str, Any]]


class Differences(BaseModel):
    year: int
    as_of: date
    frozen_at: datetime
    frozen_by: str | None  # shown to staff and admin only
    generated_at: datetime
    differences: list[Difference]


class Series(BaseModel):
    code: str
    title: str
    unit: str
    target: int | float | None
    values: list[int | float]


class MonthlySeries(BaseModel):
    year: int
    as_of: date
    generated_at: datetime
    months: list[date]
    series: list[Series]


class ChangeToken(BaseModel):
    token: str


def generations_of(request: Request) -> Generations:
    return request.app.state.generations  # type: ignore[no-any-return]


def sees_people(who: Principal) -> bool:
    """Staff identities (the subjects that froze a report or wrote an explanation) are for staff only."""
    return who.role in STAFF


def live_report(
    request: Request, year: int, as_of: date | None, response: Response | None = None
) -> KpiReport:
    """The KPI answer from the active generation."""
    generation: Generation = generations_of(request).active()
    with Session(generation.reader) as session:
        answer = kpis.answer(session, year, as_of, datetime.now(UTC))
    if response is not None:
        response.headers[GENERATION_HEADER] = str(generation.number)
    return answer


def live_answer(
    request: Request, year: int, as_of: date | None, response: Response | None = None
) -> dict[str, Any]:
    """The KPI answer from the active generation, serialised exactly as `GET /kpis/{year}` serves it."""
    return live_report(request, year, as_of, response).model_dump(mode="json")


# declared before /kpis/{year}, which would otherwise take "changes" for a year
@router.get("/kpis/changes", tags=["kpi"])
async def changes(
    request: Request,
    _who: Reader,
    after: Annotated[str, Query(max_length=100, description="the token of the last answer")] = "",
    wait: Annotated[float, Query(ge=0, le=60, description="seconds to wait for a change")] = 25,
    settle: Annotated[
        float,
        Query(
            ge=0,
            le=5,
            description="seconds to let a burst of batches through after the first change, so that a "
            "dashboard refreshes once per burst (0: answer at the first change)",
        ),
    ] = SETTLE_SECONDS,
) -> ChangeToken:
    """Answers as soon as the read models change after `after` (or after `wait` seconds), `settle`
    seconds after the first change when it had to wait for one."""
    notifier: Changes = request.app.state.changes
    deadline = asyncio.get_running_loop().time() + wait
    waited = False  # a change that comes between two slices settles like one that came inside a slice
    while True:  # in slices, so that a client that went away frees its request (and a shutdown) soon
        left = deadline - asyncio.get_running_loop().time()
        token = await notifier.wait(after, max(0.0, min(left, 1.0)), settle, waited)
        waited = True
        if token != after or left <= 1.0 or await request.is_disconnected():
            return ChangeToken(token=token)


# Server-Sent Events of the KPIs a batch changed, and the tickets EventSource opens them with
router.include_router(stream.router)


@router.get("/kpis/{year}", tags=["kpi"])
def kpis_of_year(
    request: Request, response: Response, _who: Reader, year: Year, as_of: AsOf = None
) -> KpiReport:
    in_year(year, as_of)
    return live_report(request, year, as_of, response)


@router.get("/kpis/{year}/series", tags=["kpi"])
def monthly_series(
    request: Request, response: Response, _who: Reader, year: Year, as_of: AsOf = None
) -> MonthlySeries:
    """The value of every count and hour KPI at the end of each month (cumulative within the year)."""
    in_year(year, as_of)
    generation = generations_of(request).active()
    with Session(generation.reader) as session:
        answer = series.monthly(session, year, as_of, datetime.now(UTC))
    response.headers[GENERATION_HEADER] = str(generation.number)
    return MonthlySeries.model_validate(answer)


@router.post("/kpis/{year}/freeze", status_code=201, tags=["kpi"], responses=FROZEN_ALREADY)
def freeze_year(request: Request, who: Staff, year: Year, as_of: AsOf = None) -> FrozenReport:
    """Freezes the year's report as it stands (as submitted), with the previous year's figures and the
    explanations it prints; a year is frozen once (409 after)."""
    in_year(year, as_of)
    generations = generations_of(request)
    answer = live_answer(request, year, as_of)
    row = freeze.freeze(
        generations.base,
        answer,
        who.subject,
        generations.active().number,
        datetime.now(UTC),
        previous=documents.previous_of(lambda y, d: live_answer(request, y, d), answer).as_json(),
        explanations=documents.explanations_json(generations.base, year),
    )
    return FrozenReport.model_validate(freeze.snapshot(row))


def _frozen_row(request: Request, year: int) -> freeze.KpiFrozenReport:
    row = freeze.frozen(generations_of(request).base, year)
    if row is None:
        raise NotFound(f"the report of {year} has not been frozen")
    return row


@router.get(
    "/kpis/{year}/frozen",
    tags=["kpi"],
    response_model=FrozenReport,
    responses=NOT_FROZEN,
)
def frozen_report(request: Request, who: Reader, year: Year) -> Response:
    """The frozen report, byte for byte the same every time (for the same audience)."""
    snapshot = freeze.snapshot(_frozen_row(request, year), show_authors=sees_people(who))
    body = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type="application/json")


@router.get("/kpis/{year}/differences", tags=["kpi"], responses=NOT_FROZEN)
def differences(request: Request, who: Reader, year: Year) -> Differences:
    """KPIs whose current figures for the frozen report's day differ from the frozen ones."""
    row = _frozen_row(request, year)
    frozen_answer = json.loads(row.answer)
    current = live_answer(request, year, row.as_of)
    return Differences.model_validate(
        {
            "year": year,
            "as_of": row.as_of,
            "frozen_at": row.frozen_at,
            "frozen_by": row.frozen_by if sees_people(who) else None,
            "generated_at": current["generated_at"],
            "differences": freeze.differences(frozen_answer, current),
        }
    )


# --- explanations (toelichting) -------------------------------------------------------------------


def _known(code: str) -> str:
    if code not in catalogue.DEFINITIONS:
        raise NotFound(f"no KPI with code {code}")
    return code


def _explanation(found: dict[str, Any], who: Principal) -> Explanation:
    return Explanation.model_validate(explanations.shown(found, sees_people(who)))


@router.get("/kpis/{year}/explanations", tags=["report"])
def explanations_of_year(request: Request, who: Reader, year: Year) -> list[Explanation]:
    """The explanations written for the year's KPIs (who wrote them: staff and admin only)."""
    return [_explanation(e, who) for e in documents.explanations_json(generations_of(request).base, year)]


@router.put(
    "/kpis/{year}/explanations/{code}", tags=["report"], responses={404: {"description": "no such KPI"}}
)
def write_explanation(
    request: Request, who: Staff, year: Year, code: KpiCode, body: Annotated[ExplanationText, Body()]
) -> Explanation:
    """Writes (or replaces) the explanation of one KPI for a year, e.g. why a target was not met. The
    live report shows it at once; a frozen report keeps the explanation it was frozen with."""
    text = body.text.strip()
    if not text:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", "text"), "msg": "must not be empty", "input": ""}]
        )
    row = explanations.write(
        generations_of(request).base, year, _known(code), text, who.subject, datetime.now(UTC)
    )
    return _explanation(explanations.as_json(row), who)


@router.delete(
    "/kpis/{year}/explanations/{code}",
    tags=["report"],
    status_code=204,
    responses={404: {"description": "no such KPI, or no explanation for it"}},
)
def remove_explanation(request: Request, _who: Staff, year: Year, code: KpiCode) -> Response:
    if not explanations.remove(generations_of(request).base, year, _known(code)):
        raise NotFound(f"no explanation for {code} in {year}")
    return Response(status_code=204)


# --- the yearly report ----------------------------------------------------------------------------


def _document(
    request: Request, who: Principal, year: int, as_of: date | None, from_frozen: bool
) -> report.Document:
    in_year(year, as_of)
    show_people = sees_people(who)
    if from_frozen:
        return documents.frozen(_frozen_row(request, year), show_people)
    return documents.live(
        lambda y, d: live_answer(request, y, d), generations_of(request).base, year, as_of, show_people
    )


def _download(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _file(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """A file download, and the 404 of `?frozen=true` for a year not frozen."""
    return {
        200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}},
        **NOT_FROZEN,
    }


@router.get("/kpis/{year}/report.html", tags=["report"], response_class=HTMLResponse, responses=NOT_FROZEN)
def report_html(
    request: Request, who: Reader, year: Year, as_of: AsOf = None, frozen: FromFrozen = False
) -> HTMLResponse:
    """The yearly report in Dutch, ready to print (one page per goal)."""
    return HTMLResponse(report.render_html(_document(request, who, year, as_of, frozen)))


@router.get(
    "/kpis/{year}/report.pdf",
    tags=["report"],
    response_class=Response,
    responses={
        **_file(PDF, "the report as PDF (A4)"),
        **NOT_FROZEN,
        503: {"description": "no PDF renderer (Chromium) on this machine"},
    },
)
def report_pdf(
    request: Request, who: Reader, year: Year, as_of: AsOf = None, frozen: FromFrozen = False
) -> Response:
    """The yearly report as PDF: report.html printed on A4 by headless Chromium, a page per goal, page
    numbers and the date of the figures on every page."""
    page = report.render_html(_document(request, who, year, as_of, frozen))
    try:
        data = pdf.render(page)
    except pdf.PdfUnavailable as exc:
        raise RendererUnavailable(str(exc)) from exc
    return Response(data, media_type=PDF, headers=_download(f"kpi-rapport-{year}.pdf"))


@router.get(
    "/kpis/{year}/report.xlsx",
    tags=["report"],
    response_class=Response,
    responses=_file(XLSX, "the workbook"),
)
def report_xlsx(
    request: Request, who: Reader, year: Year, as_of: AsOf = None, frozen: FromFrozen = False
) -> Response:
    """The yearly report as a workbook: a summary sheet and one sheet per goal."""
    return Response(
        report.render_xlsx(_document(request, who, year, as_of, frozen)),
        media_type=XLSX,
        headers=_download(f"kpi-rapport-{year}.xlsx"),
    )


@router.get(
    "/kpis/{year}/report.csv",
    tags=["report"],
    response_class=Response,
    responses=_file("text/csv", "the KPIs"),
)
def report_csv(
    request: Request,
    who: Reader,
    year: Year,
    as_of: AsOf = None,
    frozen: FromFrozen = False,
    dialect: CsvDialect = "excel-nl",
) -> Response:
    """The yearly report's KPIs as CSV, one row per KPI (the items are in report-details.csv)."""
    document = _document(request, who, year, as_of, frozen)
    return Response(
        "\ufeff" + report.render_csv(document, dialect),
        media_type="text/csv; charset=utf-8",
        headers=_download(f"kpi-rapport-{year}.csv"),
    )


@router.get(
    "/kpis/{year}/report-details.csv",
    tags=["report"],
    response_class=Response,
    responses=_file("text/csv", "the items of every KPI"),
)
def report_details_csv(
    request: Request,
    who: Reader,
    year: Year,
    as_of: AsOf = None,
    frozen: FromFrozen = False,
    dialect: CsvDialect = "excel-nl",
) -> Response:
    """What every "overzicht" KPI lists, one row per field of each item (long format)."""
    document = _document(request, who, year, as_of, frozen)
    return Response(
        "\ufeff" + report.render_details_csv(document, dialect),
        media_type="text/csv; charset=utf-8",
        headers=_download(f"kpi-rapport-{year}-details.csv"),
    )
