"""Rules of sessions, registrations, attendance, advice and tailored support, free of I/O.

Times are stored in UTC; the business date of a moment (which decides a KPI year and a training day)
is its date in Europe/Brussels.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from shared.clock import BRUSSELS as BRUSSELS  # re-exported: the API's year bounds use it
from shared.clock import business_today
from shared.errors import Conflict, DomainError, Invalid

ON_REQUEST_KINDS: frozenset[str] = frozenset({"presentation_on_request", "workshop_on_request"})

SCHEDULED, CANCELLED, HELD = "scheduled", "cancelled", "held"
REGISTERED, REGISTRATION_CANCELLED = "registered", "cancelled"
# the organisation kind published for a participant whose organisation this service does not know yet
UNKNOWN_KIND = "andere"

_EPSILON = 1e-6


class Forbidden(DomainError):
    """The caller's role may act, but not on this record (403)."""

    status_code = 403


# --- who may act on what ------------------------------------------------------------------------

# the leads whose activities Mediawijs (role `partner`) records: the ones it leads alone or with VVSG
PARTNER_LEADS: frozenset[str] = frozenset({"mediawijs", "joint"})
# who sees which staff member did what (created_by/updated_by hold their e-mail addresses)
SEES_WHO_DID_WHAT: frozenset[str] = frozenset({"admin", "staff"})


def check_may_act_on(role: str, lead: str) -> None:
    """A partner schedules, changes and records only activities led by Mediawijs or jointly led;
    a VVSG-led activity is for VVSG staff alone."""
    if role == "partner" and lead not in PARTNER_LEADS:
        raise Forbidden(
            f"a partner acts only on activities led by mediawijs or joint, not on a {lead}-led one "
            "(Mediawijs beheert enkel activiteiten die het zelf of samen met VVSG trekt)"
        )


def who_did_it(role: str, subject: str | None) -> str | None:
    """A staff member's id (an e-mail address) as the reader may see it: only staff and admin do."""
    return subject if role in SEES_WHO_DID_WHAT else None


def staff_only(role: str, text: str | None) -> str | None:
    """Staff-written free text that may name a person (a cancel reason): for staff and admin only."""
    return text if role in SEES_WHO_DID_WHAT else None


# --- time ---------------------------------------------------------------------------------------


today = business_today  # the business date, defined once in shared.clock


def now() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """A moment given without its offset is read as Brussels time, as staff would mean it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=BRUSSELS)
    return value.astimezone(UTC)


def local_date(value: datetime) -> date:
    return to_utc(value).astimezone(BRUSSELS).date()


def business_date(value: date | None, field_name: str, default: date | None = None) -> date:
    """A date given by staff (or the default, or today); never in the future."""
    if value is None:
        return default if default is not None else today()
    if value > today():
        raise Invalid(field_name, "may not lie in the future")
    return value


def round_hours(hours: float) -> float:
    return round(hours + 0.0, 2)


# --- sessions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    starts_at: datetime
    ends_at: datetime
    planned_hours: float

    @property
    def first_day(self) -> date:
        return local_date(self.starts_at)

    @property
    def last_day(self) -> date:
        # a session ending at midnight ends on the day before
        return local_date(self.ends_at - timedelta(microseconds=1))

    @property
    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(count)]

    @property
    def multi_day(self) -> bool:
        return self.last_day > self.first_day


def plan(starts_at: datetime, ends_at: datetime, planned_hours: float | None) -> Schedule:
    """Start, end and planned hours that fit together; planned hours default to the time in between."""
    try:
        starts, ends = to_utc(starts_at), to_utc(ends_at)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 lies before the first moment a datetime holds
        raise Invalid("starts_at", "lies too far in the past or the future") from None
    if ends <= starts:
        raise Invalid("ends_at", "must lie after starts_at")
    span = (ends - starts).total_seconds() / 3600
    schedule = Schedule(starts, ends, 0.0)
    if planned_hours is None:
        if schedule.multi_day:
            raise Invalid("planned_hours", "is required for a session that spans several days")
        planned_hours = span
    planned = round_hours(planned_hours)
    if planned <= 0:
        raise Invalid("planned_hours", "must be more than 0")
    if planned > span + _EPSILON:
        raise Invalid("planned_hours", f"cannot exceed the {round_hours(span):g} hours between start and end")
    return Schedule(starts, ends, planned)


def check_requested_by(kind: str, requested_by: uuid.UUID | None) -> None:
    if kind in ON_REQUEST_KINDS and requested_by is None:
        raise Invalid("requested_by_organisation_id", "is required for a session given on request")


def check_can_reschedule(status: str) -> None:
    if status == HELD:
        raise Conflict("a held session cannot be rescheduled")
    if status == CANCELLED:
        raise Conflict("a cancelled session cannot be rescheduled")


def check_can_cancel(status: str) -> None:
    if status == CANCELLED:
        raise Conflict("this session is already cancelled")
    if status == HELD:
        raise Conflict("a held session cannot be cancelled")


def held_on(status: str, schedule: Schedule, requested: date | None, on: date) -> date:
    """The day a session is marked held: on or after its start, not in the future; by default its last
    day (or today, for a session still running)."""
    if status == CANCELLED:
        raise Conflict("a cancelled session cannot be held")
    if status == HELD:
        raise Conflict("this session is already marked held")
    day = requested if requested is not None else min(schedule.last_day, on)
    if day > on:
        raise Invalid("held_on", "may not lie in the future")
    if day < schedule.first_day:
        if requested is None:
            raise Conflict(f"the session only starts on {schedule.first_day.isoformat()}")
        raise Invalid("held_on", f"lies before the session starts ({schedule.first_day.isoformat()})")
    return day


def check_can_publish_recording(status: str) -> None:
    if status == CANCELLED:
        raise Conflict("a cancelled session has no recording")


# --- registrations ------------------------------------------------------------------------------


def check_can_register(status: str) -> None:
    if status == CANCELLED:
        raise Conflict("registrations for a cancelled session are closed")


def goes_on_waiting_list(confirmed: int, capacity: int | None, waiting: int) -> bool:
    """A full session puts newcomers on the waiting list, and so does a queue that is already there."""
    return capacity is not None and (confirmed >= capacity or waiting > 0)


def promotions(confirmed: int, capacity: int | None, waiting: int) -> int:
    """How many from the head of the waiting list get a seat now."""
    if waiting == 0:
        return 0
    if capacity is None:
        return waiting
    return max(0, min(waiting, capacity - confirmed))


def check_can_cancel_registration(session_status: str, status: str, attended_hours: float) -> None:
    if status == REGISTRATION_CANCELLED:
        raise Conflict("this registration is already cancelled")
    if session_status == HELD:
        raise Conflict("the session was held: correct the attendance instead of cancelling")
    if session_status == CANCELLED:
        raise Conflict("the session is cancelled")
    if attended_hours > 0:
        raise Conflict("attendance was recorded for this registration: correct the attendance instead")


# --- attendance ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayAttendance:
    attended: bool
    hours: float


@dataclass(frozen=True)
class AttendanceEntry:
    """One attendance statement about one registration: from a request or from a CSV row."""

    registration_id: uuid.UUID
    attended: bool
    hours: float | None = None
    day: date | None = None
    line: int | None = None  # the CSV line, for the report


@dataclass(frozen=True)
class Problem:
    line: int | None
    field: str
    message: str


@dataclass
class AttendancePlan:
    """What a list of entries changes: the new days per registration, or why it cannot be applied."""

    days: dict[uuid.UUID, dict[date, DayAttendance]] = field(default_factory=dict)
    changed: list[uuid.UUID] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def check_can_record_attendance(session_status: str, schedule: Schedule, at: datetime) -> None:
    if session_status == CANCELLED:
        raise Conflict("attendance cannot be recorded for a cancelled session")
    if to_utc(at) < schedule.starts_at:
        raise Conflict("the session has not started yet")


def totals(days: Mapping[date, DayAttendance]) -> DayAttendance:
    """A registration's attendance: attended on any day, and the hours of all days together."""
    attended = [d for d in days.values() if d.attended]
    return DayAttendance(bool(attended), round_hours(sum(sorted(d.hours for d in attended))))


def _day_and_hours(schedule: Schedule, entry: AttendanceEntry, on: date) -> tuple[date, float] | Problem:
    """The day an entry is about and the hours it counts, or what is wrong with it."""
    day = entry.day
    if day is None:
        if schedule.multi_day:
            return Problem(
                entry.line, "day", "this session spans several days: give the day of the attendance"
            )
        day = schedule.first_day
    elif not schedule.first_day <= day <= schedule.last_day:
        return Problem(
            entry.line,
            "day",
            f"lies outside the session ({schedule.first_day.isoformat()} – {schedule.last_day.isoformat()})",
        )
    if day > on:
        return Problem(entry.line, "day", "may not lie in the future")
    hours = entry.hours
    if hours is not None and not hours >= 0:
        return Problem(entry.line, "hours", "must be 0 or more")
    if not entry.attended:
        if hours:
            return Problem(entry.line, "hours", "must be 0 for someone who did not attend")
        return day, 0.0
    if hours is None:
        if schedule.multi_day:
            return Problem(entry.line, "hours", "give the hours attended on this day")
        hours = schedule.planned_hours
    hours = round_hours(hours)
    if hours <= 0:
        return Problem(entry.line, "hours", "an attended registration needs more than 0 hours")
    if hours > schedule.planned_hours + _EPSILON:
        return Problem(
            entry.line,
            "hours",
            f"{hours:g} is above the planned hours of the session ({schedule.planned_hours:g})",
        )
    return day, hours


def plan_attendance(
    schedule: Schedule,
    existing: Mapping[uuid.UUID, Mapping[date, DayAttendance]],
    entries: Iterable[AttendanceEntry],
    on: date,
) -> AttendancePlan:
    """Apply entries to the recorded days: a later record for the same day replaces the earlier one;
    a registration's hours never exceed the planned hours. Nothing is changed when a problem is found."""
    result = AttendancePlan()
    lines: dict[tuple[uuid.UUID, date], int | None] = {}
    for entry in entries:
        checked = _day_and_hours(schedule, entry, on)
        if isinstance(checked, Problem):
            result.problems.append(checked)
            continue
        day, hours = checked
        key = (entry.registration_id, day)
        if key in lines:
            earlier = lines[key]
            where = f" (line {earlier})" if earlier is not None else ""
            result.problems.append(
                Problem(entry.line, "day", f"the same registration and day appear twice{where}")
            )
            continue
        lines[key] = entry.line
        days = result.days.setdefault(entry.registration_id, dict(existing.get(entry.registration_id, {})))
        days[day] = DayAttendance(entry.attended, hours)
        if entry.registration_id not in result.changed:
            result.changed.append(entry.registration_id)
    for registration_id in result.changed:
        total = totals(result.days[registration_id])
        if total.hours > schedule.planned_hours + _EPSILON:
            own = [line for (rid, _), line in lines.items() if rid == registration_id and line is not None]
            result.problems.append(
                Problem(
                    own[-1] if own else None,
                    "hours",
                    f"together {total.hours:g} hours, above the planned hours of the session "
                    f"({schedule.planned_hours:g})",
                )
            )
    if result.problems:
        result.days.clear()
        result.changed.clear()
    return result


def check_reschedule_keeps_attendance(
    schedule: Schedule, recorded: Mapping[uuid.UUID, Mapping[date, DayAttendance]]
) -> None:
    """Recorded attendance must still fit the new schedule."""
    for days in recorded.values():
        if totals(days).hours > schedule.planned_hours + _EPSILON:
            raise Conflict("recorded attendance exceeds the new planned hours: correct the attendance first")
        outside = [
            d for d, a in days.items() if a.attended and not schedule.first_day <= d <= schedule.last_day
        ]
        if outside:
            raise Conflict(
                f"attendance was recorded on {outside[0].isoformat()}, outside the new dates: "
                "correct it first"
            )


def session_totals(registrations: Iterable[DayAttendance]) -> DayAttendance:
    """What `session.held` carries: participants and their hours, from the attended registrations."""
    attended = [r for r in registrations if r.attended]
    return DayAttendance(bool(attended), round_hours(sum(sorted(r.hours for r in attended))))


def participants(registrations: Iterable[DayAttendance]) -> int:
    return sum(1 for r in registrations if r.attended)


# --- e-mail addresses, without keeping them -----------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_digest(email: str) -> str:
    """The only trace of an e-mail address this service keeps: matching a CSV row needs no more."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


# --- attendance lists (CSV) ---------------------------------------------------------------------

ID_COLUMNS = ("member_id", "member", "lid", "lid_id", "registration_id", "inschrijving")
EMAIL_COLUMNS = ("email", "e-mail", "e-mailadres", "emailadres", "mail")
ATTENDED_COLUMNS = ("attended", "aanwezig")
HOURS_COLUMNS = ("hours", "uren")
DAY_COLUMNS = ("day", "dag", "datum", "date")

_TRUE = {"ja", "j", "yes", "y", "true", "waar", "1", "x", "aanwezig"}
_FALSE = {"nee", "n", "no", "false", "onwaar", "0", "", "afwezig"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOURS_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d)$")


@dataclass(frozen=True)
class CsvRow:
    """One understood line: who (a member or registration id, or an e-mail digest) and what."""

    line: int
    who: str  # what the line said, to echo in the report
    identifier: uuid.UUID | None
    email_sha256: str | None
    attended: bool
    hours: float | None
    day: date | None


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for index, name in enumerate(header):
        if name in names:
            return index
    return None


def _parse_bool(value: str) -> bool | None:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def parse_hours(value: str) -> float | None:
    text = value.strip()
    if not text:
        return None
    clock = _HOURS_CLOCK.match(text)
    if clock:
        return int(clock.group(1)) + int(clock.group(2)) / 60
    number = float(text.replace(",", "."))  # Belgian spreadsheets write 1,5
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return number


def parse_day(value: str) -> date | None:
    text = value.strip()
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def decode_csv(raw: bytes) -> str:
    """UTF-8 (with or without Excel's byte-order mark), else Windows-1252 as Excel writes it here."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def parse_attendance_csv(text: str) -> tuple[list[CsvRow], list[Problem]]:
    """An attendance list: a header row, then one line per person (member id or e-mail address),
    optionally whether they attended (blank means no, when the column is there), hours and day."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        return [], [Problem(1, "file", "the file is empty")]
    delimiter = ";" if first.count(";") > first.count(",") else ("\t" if "\t" in first else ",")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[CsvRow] = []
    problems: list[Problem] = []
    header: list[str] | None = None
    id_column = email_column = attended_column = hours_column = day_column = None
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in record]
            id_column = _column(header, ID_COLUMNS)
            email_column = _column(header, EMAIL_COLUMNS)
            attended_column = _column(header, ATTENDED_COLUMNS)
            hours_column = _column(header, HOURS_COLUMNS)
            day_column = _column(header, DAY_COLUMNS)
            if id_column is None and email_column is None:
                return [], [
                    Problem(
                        line,
                        "header",
                        "no column with member ids or e-mail addresses "
                        f"(name one of: {', '.join(ID_COLUMNS + EMAIL_COLUMNS)})",
                    )
                ]
            continue

        def cell(index: int | None, record: list[str] = record) -> str:
            return record[index].strip() if index is not None and index < len(record) else ""

        who = cell(id_column) or cell(email_column)
        identifier: uuid.UUID | None = None
        digest: str | None = None
        if not who:
            problems.append(Problem(line, "member", "no member id or e-mail address"))
            continue
        if "@" in who:
            if not _EMAIL.match(who):
                problems.append(Problem(line, "member", f"{who!r} is not an e-mail address"))
                continue
            digest = email_digest(who)
        else:
            try:
                identifier = uuid.UUID(who)
            except ValueError:
                problems.append(Problem(line, "member", f"{who!r} is not a member id or an e-mail address"))
                continue
        attended = True
        if attended_column is not None:
            understood = _parse_bool(cell(attended_column))
            if understood is None:
                problems.append(Problem(line, "attended", f"{cell(attended_column)!r}: write ja or nee"))
                continue
            attended = understood
        try:
            hours = parse_hours(cell(hours_column))
        except ValueError:
            problems.append(Problem(line, "hours", f"{cell(hours_column)!r} is not a number of hours"))
            continue
        try:
            day = parse_day(cell(day_column))
        except ValueError:
            problems.append(Problem(line, "day", f"{cell(day_column)!r} is not a date (YYYY-MM-DD)"))
            continue
        rows.append(CsvRow(line, who, identifier, digest, attended, hours, day))
    if header is None:
        problems.append(Problem(1, "file", "the file is empty"))
    elif not rows and not problems:
        problems.append(Problem(None, "file", "the file lists nobody"))
    return rows, problems


# --- advice and tailored support ----------------------------------------------------------------


def check_can_complete_trajectory(started_on: date, completed_on: date | None, completed: date) -> None:
    if completed_on is not None:
        raise Conflict("this trajectory is already completed")
    if completed < started_on:
        raise Invalid("completed_on", f"lies before the trajectory started ({started_on.isoformat()})")
