"""HTTP routes of the KPI service."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from sqlmodel import Session

from services.kpi import kpis
from shared.auth import READERS, Principal, require

router = APIRouter()
Reader = Annotated[Principal, Depends(require(*READERS))]


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
    kpis: list[KpiAnswer]


@router.get("/kpis/{year}", tags=["kpi"])
def kpis_of_year(
    request: Request,
    _who: Reader,
    year: Annotated[int, Path(ge=2000, le=2100)],
    as_of: Annotated[date | None, Query(description="answer as it stood on this day (YYYY-MM-DD)")] = None,
) -> KpiReport:
    with Session(request.app.state.runtime.engine) as session:
        return KpiReport.model_validate(kpis.report(session, year, as_of, datetime.now(UTC)))
