"""HTTP routes of the KPI service: the KPIs of a year (live or as of a day), monthly series, freezing,
differences against the frozen report, the yearly report (HTML, XLSX, CSV) and a change feed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlmodel import Session

from services.kpi import freeze, kpis, report, series
from services.kpi.generations import Generation, Generations
from services.kpi.live import Changes
from shared.auth import READERS, STAFF, Principal, require
from shared.errors import NotFound

router = APIRouter()
Reader = Annotated[Principal, Depends(require(*READERS))]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Year = Annotated[int, Path(ge=2000, le=2100)]
AsOf = Annotated[date | None, Query(description="answer as it stood on this day (YYYY-MM-DD)")]
FromFrozen = Annotated[bool, Query(description="render the frozen report instead of the live one")]
GENERATION_HEADER = "X-Read-Model-Generation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class KpiAnswer(BaseModel):
    code: str
    title: str
    value: int | float
    target: int | float | None
    status: str
    unit: str
    items: list[dict[str, Any]]


class KpiReport(BaseModel):
    year: int
    as_of: date
    generated_at: datetime
    targets_version: str
    kpis: list[KpiAnswer]


class FrozenReport(BaseModel):
    year: int
    as_of: date
    frozen_at: datetime
    frozen_by: str
    report: KpiReport


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
    frozen_by: str
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


def live_answer(
    request: Request, year: int, as_of: date | None, response: Response | None = None
) -> dict[str, Any]:
    """The KPI answer from the active generation, serialised exactly as `GET /kpis/{year}` serves it."""
    generation: Generation = generations_of(request).active()
    with Session(generation.reader) as session:
        answer = kpis.report(session, year, as_of, datetime.now(UTC))
    if response is not None:
        response.headers[GENERATION_HEADER] = str(generation.number)
    return KpiReport.model_validate(answer).model_dump(mode="json")


# declared before /kpis/{year}, which would otherwise take "changes" for a year
@router.get("/kpis/changes", tags=["kpi"])
async def changes(
    request: Request,
    _who: Reader,
    after: Annotated[str, Query(max_length=100, description="the token of the last answer")] = "",
    wait: Annotated[float, Query(ge=0, le=60, description="seconds to wait for a change")] = 25,
) -> ChangeToken:
    """Answers as soon as the read models change after `after` (or after `wait` seconds)."""
    notifier: Changes = request.app.state.changes
    deadline = asyncio.get_running_loop().time() + wait
    while True:  # in slices, so that a client that went away frees its request (and a shutdown) soon
        left = deadline - asyncio.get_running_loop().time()
        token = await notifier.wait(after, max(0.0, min(left, 1.0)))
        if token != after or left <= 1.0 or await request.is_disconnected():
            return ChangeToken(token=token)


@router.get("/kpis/{year}", tags=["kpi"])
def kpis_of_year(
    request: Request, response: Response, _who: Reader, year: Year, as_of: AsOf = None
) -> KpiReport:
    return KpiReport.model_validate(live_answer(request, year, as_of, response))


@router.get("/kpis/{year}/series", tags=["kpi"])
def monthly_series(
    request: Request, response: Response, _who: Reader, year: Year, as_of: AsOf = None
) -> MonthlySeries:
    """The value of every count and hour KPI at the end of each month (cumulative within the year)."""
    generation = generations_of(request).active()
    with Session(generation.reader) as session:
        answer = series.monthly(session, year, as_of, datetime.now(UTC))
    response.headers[GENERATION_HEADER] = str(generation.number)
    return MonthlySeries.model_validate(answer)


@router.post("/kpis/{year}/freeze", status_code=201, tags=["kpi"])
def freeze_year(request: Request, who: Staff, year: Year, as_of: AsOf = None) -> FrozenReport:
    """Freezes the year's report as it stands (as submitted); a year is frozen once (409 after)."""
    generations = generations_of(request)
    answer = live_answer(request, year, as_of)
    row = freeze.freeze(generations.base, answer, who.subject, generations.active().number, datetime.now(UTC))
    return FrozenReport.model_validate(freeze.snapshot(row))


def _frozen_row(request: Request, year: int) -> freeze.KpiFrozenReport:
    row = freeze.frozen(generations_of(request).base, year)
    if row is None:
        raise NotFound(f"the report of {year} has not been frozen")
    return row


@router.get("/kpis/{year}/frozen", tags=["kpi"])
def frozen_report(request: Request, _who: Reader, year: Year) -> Response:
    """The frozen report, byte for byte the same every time."""
    body = json.dumps(freeze.snapshot(_frozen_row(request, year)), ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type="application/json")


@router.get("/kpis/{year}/differences", tags=["kpi"])
def differences(request: Request, _who: Reader, year: Year) -> Differences:
    """KPIs whose current figures for the frozen report's day differ from the frozen ones."""
    row = _frozen_row(request, year)
    frozen_answer = json.loads(row.answer)
    current = live_answer(request, year, row.as_of)
    return Differences.model_validate(
        {
            "year": year,
            "as_of": row.as_of,
            "frozen_at": row.frozen_at,
            "frozen_by": row.frozen_by,
            "generated_at": current["generated_at"],
            "differences": freeze.differences(frozen_answer, current),
        }
    )


def _report_source(
    request: Request, year: int, as_of: date | None, from_frozen: bool
) -> tuple[dict[str, Any], report.Frozen | None]:
    if from_frozen:
        row = _frozen_row(request, year)
        return json.loads(row.answer), report.Frozen(row.frozen_at, row.frozen_by)
    return live_answer(request, year, as_of), None


def _download(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get("/kpis/{year}/report.html", tags=["report"], response_class=HTMLResponse)
def report_html(
    request: Request, _who: Reader, year: Year, as_of: AsOf = None, frozen: FromFrozen = False
) -> HTMLResponse:
    """The yearly report in Dutch, ready to print (one page per goal)."""
    answer, meta = _report_source(request, year, as_of, frozen)
    return HTMLResponse(report.render_html(answer, meta))


@router.get(
    "/kpis/{year}/report.xlsx",
    tags=["report"],
    response_class=Response,
    responses={200: {"description": "the workbook", "content": {XLSX: {"schema": {"type": "string"}}}}},
)
def report_xlsx(
    request: Request, _who: Reader, year: Year, as_of: AsOf = None, frozen: FromFrozen = False
) -> Response:
    """The yearly report as a workbook: a summary sheet and one sheet per goal."""
    answer, meta = _report_source(request, year, as_of, frozen)
    return Response(
        report.render_xlsx(answer, meta),
        media_type=XLSX,
        headers=_download(f"kpi-rapport-{year}.xlsx"),
    )


@router.get(
    "/kpis/{year}/report.csv",
    tags=["report"],
    response_class=Response,
    responses={200: {"description": "the CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def report_csv(
    request: Request, _who: Reader, year: Year, as_of: AsOf = None, frozen: FromFrozen = False
) -> Response:
    """The yearly report as CSV: one row per KPI, then one row per field of each of its items."""
    answer, _meta = _report_source(request, year, as_of, frozen)
    return Response(
        "\ufeff" + report.render_csv(answer),
        media_type="text/csv; charset=utf-8",
        headers=_download(f"kpi-rapport-{year}.csv"),
    )
