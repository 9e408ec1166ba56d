"""HTTP routes for attendance: one registration at a time (per day for a multi-day session), or a whole
list as CSV, applied all or nothing with a report per line (handlers/attendance.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.events import views
from services.events.handlers import attendance
from services.events.schemas import AttendanceUpdate, ImportReport, RegistrationRead
from services.events.web import StaffWork, WriterWork

router = APIRouter()


class InvalidRequest(BaseModel):
    """FastAPI's own 422, for a request that is not even valid input (an empty body, a bad id)."""

    detail: list[dict[str, Any]]


@router.put("/sessions/{session_id}/registrations/{registration_id}/attendance", tags=["attendance"])
def record_attendance(
    session_id: uuid.UUID, registration_id: uuid.UUID, body: AttendanceUpdate, uow: WriterWork
) -> RegistrationRead:
    """Attended or not, and the hours actually attended (on one day of a multi-day session); a later
    record for the same day replaces the earlier one."""
    command = attendance.RecordAttendance(
        session_id=session_id, registration_id=registration_id, **body.model_dump()
    )
    return uow.commit(views.registration(uow.session, attendance.record_attendance(command, uow)))


@router.post(
    "/sessions/{session_id}/attendance/import",
    tags=["attendance"],
    responses={
        422: {
            "model": ImportReport | InvalidRequest,
            "description": "nothing recorded; the rows say why (or the request itself is not valid)",
        }
    },
)
def import_attendance(
    session_id: uuid.UUID,
    csv_file: Annotated[
        bytes,
        Body(
            media_type="text/csv",
            description="a header row, then one line per person: a column `member_id` (or `lid`) or "
            "`email` (or `e-mail`), and optionally `attended`/`aanwezig` (ja/nee), `hours`/`uren`, "
            "`day`/`dag`; comma or semicolon separated",
        ),
    ],
    uow: StaffWork,
) -> Any:
    """Records a whole attendance list at once, or nothing at all: any line not understood is reported
    and the list is refused as a whole."""
    report = attendance.import_attendance(
        attendance.ImportAttendance(session_id=session_id, csv=csv_file), uow
    )
    if not report.applied:
        uow.rollback()
        return JSONResponse(report.model_dump(mode="json"), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return uow.commit(report)
