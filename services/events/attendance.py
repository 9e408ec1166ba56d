"""HTTP routes for attendance: one registration at a time (per day for a multi-day session), or a whole
list as CSV, applied all or nothing with a report per line."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session, col

from services.events import domain
from services.events.api import (
    Staff,
    Writer,
    commit_or_conflict,
    locked_session,
    registration_of,
    registration_read,
    schedule_of,
)
from services.events.schemas import (
    AttendanceUpdate,
    ImportReport,
    ImportRow,
    RegistrationRead,
)
from services.events.tables import (
    ActivitySession,
    AttendanceDay,
    ContactDigest,
    Registration,
)
from shared import events
from shared.auth import Principal
from shared.errors import Conflict, Invalid
from shared.outbox import Outbox
from shared.web import OutboxDep, SessionDep

router = APIRouter()


class InvalidRequest(BaseModel):
    """FastAPI's own 422, for a request that is not even valid input (an empty body, a bad id)."""

    detail: list[dict[str, Any]]


# --- attendance ---------------------------------------------------------------------------------


def _apply_attendance(
    db: Session,
    outbox: Outbox,
    activity: ActivitySession,
    plan: domain.AttendancePlan,
    existing: dict[uuid.UUID, dict[date, domain.DayAttendance]],
    registrations: dict[uuid.UUID, Registration],
    who: Principal,
) -> None:
    """Store the new days and publish one `attendance.recorded` per registration with its new totals."""
    at = domain.now()
    for registration_id in plan.changed:
        before = existing.get(registration_id, {})
        for day, attendance in plan.days[registration_id].items():
            if before.get(day) == attendance and day in before:
                continue
            db.merge(
                AttendanceDay(
                    registration_id=registration_id,
                    day=day,
                    attended=attendance.attended,
                    hours=attendance.hours,
                    recorded_at=at,
                    recorded_by=who.subject,
                )
            )
        total = domain.totals(plan.days[registration_id])
        registration = registrations[registration_id]
        registration.attended, registration.hours = total.attended, total.hours
        db.add(registration)
        outbox.add(
            db,
            events.AttendanceRecorded(
                registration_id=registration_id,
                session_id=activity.id,
                attended=total.attended,
                hours=total.hours,
            ),
            actor=who.subject,
        )


@router.put("/sessions/{session_id}/registrations/{registration_id}/attendance", tags=["attendance"])
def record_attendance(
    session_id: uuid.UUID,
    registration_id: uuid.UUID,
    body: AttendanceUpdate,
    db: SessionDep,
    outbox: OutboxDep,
    who: Writer,
) -> RegistrationRead:
    """Attended or not, and the hours actually attended (on one day of a multi-day session); a later
    record for the same day replaces the earlier one."""
    activity = locked_session(db, session_id)
    registration = registration_of(db, activity, registration_id)
    domain.check_can_record_attendance(activity.status, schedule_of(activity), domain.now())
    if registration.status != domain.REGISTERED:
        raise Conflict("this registration is cancelled")
    existing = {registration.id: _days_of(db, registration.id)}
    plan = domain.plan_attendance(
        schedule_of(activity),
        existing,
        [domain.AttendanceEntry(registration.id, body.attended, body.hours, body.day)],
        domain.today(),
    )
    if plan.problems:
        problem = plan.problems[0]
        raise Invalid(problem.field, problem.message)
    _apply_attendance(db, outbox, activity, plan, existing, {registration.id: registration}, who)
    db.flush()
    answer = registration_read(db, registration)
    commit_or_conflict(db)
    return answer


def _days_of(db: Session, registration_id: uuid.UUID) -> dict[date, domain.DayAttendance]:
    rows = db.execute(
        select(AttendanceDay).where(col(AttendanceDay.registration_id) == registration_id)
    ).scalars()
    return {row.day: domain.DayAttendance(row.attended, row.hours) for row in rows}


def _resolve(
    db: Session, activity: ActivitySession, rows: list[domain.CsvRow]
) -> tuple[dict[int, Registration], list[domain.Problem]]:
    """Which registration each CSV line is about: by member id, registration id or e-mail digest."""
    registrations = list(
        db.execute(select(Registration).where(col(Registration.session_id) == activity.id)).scalars()
    )
    active_by_member = {
        r.member_id: r for r in registrations if r.member_id is not None and r.status == domain.REGISTERED
    }
    by_id = {r.id: r for r in registrations}
    digests = {row.email_sha256 for row in rows if row.email_sha256}
    members_by_digest: dict[str, list[uuid.UUID]] = {}
    if digests:
        for contact in db.execute(
            select(ContactDigest).where(col(ContactDigest.email_sha256).in_(digests))
        ).scalars():
            members_by_digest.setdefault(contact.email_sha256, []).append(contact.member_id)
    found: dict[int, Registration] = {}
    problems: list[domain.Problem] = []
    for row in rows:
        registration: Registration | None = None
        if row.identifier is not None:
            registration = active_by_member.get(row.identifier) or by_id.get(row.identifier)
            if registration is None:
                problems.append(domain.Problem(row.line, "member", "not registered for this session"))
                continue
        else:
            assert row.email_sha256 is not None
            members = members_by_digest.get(row.email_sha256, [])
            if not members:
                problems.append(
                    domain.Problem(row.line, "member", "no member with this e-mail address is known")
                )
                continue
            if len(members) > 1:
                problems.append(
                    domain.Problem(row.line, "member", "several members share this e-mail address")
                )
                continue
            registration = active_by_member.get(members[0])
            if registration is None:
                problems.append(
                    domain.Problem(row.line, "member", "this member is not registered for this session")
                )
                continue
        if registration.status != domain.REGISTERED:
            problems.append(domain.Problem(row.line, "member", "this registration is cancelled"))
            continue
        found[row.line] = registration
    return found, problems


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
    db: SessionDep,
    outbox: OutboxDep,
    who: Staff,
) -> Any:
    """Records a whole attendance list at once, or nothing at all: any line not understood is reported
    and the list is refused as a whole."""
    activity = locked_session(db, session_id)
    schedule = schedule_of(activity)
    domain.check_can_record_attendance(activity.status, schedule, domain.now())
    rows, problems = domain.parse_attendance_csv(domain.decode_csv(csv_file))
    found, unresolved = _resolve(db, activity, rows)
    problems += unresolved
    existing = {r.id: _days_of(db, r.id) for r in {reg.id: reg for reg in found.values()}.values()}
    entries = [
        domain.AttendanceEntry(found[row.line].id, row.attended, row.hours, row.day, row.line)
        for row in rows
        if row.line in found
    ]
    plan = domain.plan_attendance(schedule, existing, entries, domain.today())
    problems += plan.problems
    by_line = {p.line: p for p in problems}
    report_rows: list[ImportRow] = [
        ImportRow(line=p.line, member=None, status="error", field=p.field, message=p.message)
        for p in problems
        if p.line is None or p.line not in {row.line for row in rows}
    ]
    for row in rows:
        problem = by_line.get(row.line)
        if problem is not None:
            report_rows.append(
                ImportRow(
                    line=row.line,
                    member=row.who,
                    status="error",
                    field=problem.field,
                    message=problem.message,
                )
            )
        else:
            report_rows.append(
                ImportRow(line=row.line, member=row.who, status="ok", registration_id=found[row.line].id)
            )
    report_rows.sort(key=lambda r: (r.line is not None, r.line or 0))
    if problems:
        db.rollback()
        report = ImportReport(
            applied=False,
            detail=f"nothing was recorded: {len(problems)} problem(s) in the list",
            registrations=0,
            rows=report_rows,
        )
        return JSONResponse(report.model_dump(mode="json"), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    registrations = {reg.id: reg for reg in found.values()}
    _apply_attendance(db, outbox, activity, plan, existing, registrations, who)
    commit_or_conflict(db)
    return ImportReport(
        applied=True,
        detail=f"attendance recorded for {len(plan.changed)} registration(s)",
        registrations=len(plan.changed),
        rows=report_rows,
    )
