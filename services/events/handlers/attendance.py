"""Recording attendance: one registration at a time (per day for a multi-day session), or a whole
list as CSV, applied all or nothing with a report per line. A registration's hours never exceed the
session's planned hours (domain.plan_attendance)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session, col

from services.events import domain
from services.events.handlers.sessions import schedule_of, session_for
from services.events.schemas import ImportReport, ImportRow
from services.events.tables import ActivitySession, AttendanceDay, ContactDigest, Registration
from services.events.views import registration_of
from shared import events
from shared.errors import Conflict, Invalid
from shared.uow import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class RecordAttendance:
    session_id: uuid.UUID
    registration_id: uuid.UUID
    attended: bool
    hours: float | None = None
    day: date | None = None


@dataclass(frozen=True, kw_only=True)
class ImportAttendance:
    session_id: uuid.UUID
    csv: bytes


def record_attendance(command: RecordAttendance, uow: UnitOfWork) -> Registration:
    """Attended or not, and the hours actually attended (on one day of a multi-day session); a later
    record for the same day replaces the earlier one."""
    activity = session_for(uow, command.session_id)
    registration = registration_of(uow.session, activity, command.registration_id)
    schedule = schedule_of(activity)
    domain.check_can_record_attendance(activity.status, schedule, domain.now())
    if registration.status != domain.REGISTERED:
        raise Conflict("this registration is cancelled")
    existing = {registration.id: days_of(uow.session, registration.id)}
    plan = domain.plan_attendance(
        schedule,
        existing,
        [domain.AttendanceEntry(registration.id, command.attended, command.hours, command.day)],
        domain.today(),
    )
    if plan.problems:
        problem = plan.problems[0]
        raise Invalid(problem.field, problem.message)
    _apply(uow, activity, plan, existing, {registration.id: registration})
    uow.session.flush()
    return registration


def import_attendance(command: ImportAttendance, uow: UnitOfWork) -> ImportReport:
    """Records a whole attendance list at once, or nothing at all: any line not understood is reported
    and the list is refused as a whole (`applied` false, nothing changed in the unit of work)."""
    db = uow.session
    activity = session_for(uow, command.session_id)
    schedule = schedule_of(activity)
    domain.check_can_record_attendance(activity.status, schedule, domain.now())
    rows, problems = domain.parse_attendance_csv(domain.decode_csv(command.csv))
    found, unresolved = _resolve(db, activity, rows)
    problems += unresolved
    registrations = {reg.id: reg for reg in found.values()}
    existing = {registration_id: days_of(db, registration_id) for registration_id in registrations}
    entries = [
        domain.AttendanceEntry(found[row.line].id, row.attended, row.hours, row.day, row.line)
        for row in rows
        if row.line in found
    ]
    plan = domain.plan_attendance(schedule, existing, entries, domain.today())
    problems += plan.problems
    report_rows = _report(rows, found, problems)
    if problems:
        return ImportReport(
            applied=False,
            detail=f"nothing was recorded: {len(problems)} problem(s) in the list",
            registrations=0,
            rows=report_rows,
        )
    _apply(uow, activity, plan, existing, registrations)
    return ImportReport(
        applied=True,
        detail=f"attendance recorded for {len(plan.changed)} registration(s)",
        registrations=len(plan.changed),
        rows=report_rows,
    )


def days_of(db: Session, registration_id: uuid.UUID) -> dict[date, domain.DayAttendance]:
    rows = db.execute(
        select(AttendanceDay).where(col(AttendanceDay.registration_id) == registration_id)
    ).scalars()
    return {row.day: domain.DayAttendance(row.attended, row.hours) for row in rows}


def _apply(
    uow: UnitOfWork,
    activity: ActivitySession,
    plan: domain.AttendancePlan,
    existing: dict[uuid.UUID, dict[date, domain.DayAttendance]],
    registrations: dict[uuid.UUID, Registration],
) -> None:
    """Store the new days and publish one `attendance.recorded` per registration with its new totals."""
    db = uow.session
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
                    recorded_by=uow.actor.subject,
                )
            )
        total = domain.totals(plan.days[registration_id])
        registration = registrations[registration_id]
        registration.attended, registration.hours = total.attended, total.hours
        db.add(registration)
        uow.publish(
            events.AttendanceRecorded(
                registration_id=registration_id,
                session_id=activity.id,
                attended=total.attended,
                hours=total.hours,
            )
        )


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


def _report(
    rows: list[domain.CsvRow], found: dict[int, Registration], problems: list[domain.Problem]
) -> list[ImportRow]:
    """One report row per problem without a line of its own, and one per line of the list."""
    by_line = {p.line: p for p in problems}
    lines = {row.line for row in rows}
    report = [
        ImportRow(line=p.line, member=None, status="error", field=p.field, message=p.message)
        for p in problems
        if p.line is None or p.line not in lines
    ]
    for row in rows:
        problem = by_line.get(row.line)
        if problem is not None:
            report.append(
                ImportRow(
                    line=row.line,
                    member=row.who,
                    status="error",
                    field=problem.field,
                    message=problem.message,
                )
            )
        else:
            report.append(
                ImportRow(line=row.line, member=row.who, status="ok", registration_id=found[row.line].id)
            )
    report.sort(key=lambda r: (r.line is not None, r.line or 0))
    return report
