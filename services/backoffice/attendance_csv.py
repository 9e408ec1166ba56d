"""Attendance as a CSV file (no I/O here): the template to fill in, reading an uploaded file with every
hostile cell refused, and a verdict per row before anything is written.

The format (also on the attendance screen): a first row with column names, then one row per person and
day, separated by ';' (what Excel writes in Belgium) or ','. Columns, in any order, names in any case:

- who: `inschrijving` (the registration's id), `lid` (the member's id), `e-mail` or `naam` (first and
  last name); the first of these a row fills in decides, so an outside participant is named by
  `inschrijving`;
- `dag`: the day (2026-12-30 or 30/12/2026), needed for a session over several days;
- `aanwezig`: ja or nee (empty: ja);
- `uren`: the hours attended that day, 2,5 or 2.5 (empty: the planned hours per day).

What a file may not hold, whatever the row: a cell that a spreadsheet runs as a formula (it starts
with =, +, -, @), control characters (a tab, a line break inside a cell, NUL, ...), more than
`MAX_BYTES` or `MAX_ROWS`. Such a file is refused as a whole, with the line and column."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from shared.spreadsheet import is_formula, safe_text

MAX_BYTES = 200_000
MAX_ROWS = 5_000
MAX_COLUMNS = 20
MAX_CELL = 200
EPSILON = 0.001

COLUMNS: dict[str, str] = {  # the names a column may have → what it holds
    "inschrijving": "registration",
    "registration_id": "registration",
    "lid": "member",
    "member_id": "member",
    "e-mail": "email",
    "email": "email",
    "e-mailadres": "email",
    "naam": "name",
    "name": "name",
    "dag": "day",
    "day": "day",
    "datum": "day",
    "aanwezig": "attended",
    "attended": "attended",
    "uren": "hours",
    "hours": "hours",
}
WHO = ("registration", "member", "email", "name")
TEMPLATE_HEADER = ("inschrijving", "naam", "e-mail", "dag", "aanwezig", "uren")
YES = {"ja", "j", "yes", "y", "x", "1", "aanwezig", "true", "waar"}
NO = {"nee", "n", "no", "0", "afwezig", "false", "onwaar"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")
_DAY_BE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")

# the verdicts a row can get, as the preview names them
VERDICTS = {
    "ok": "gevonden",
    "unknown": "onbekende persoon",
    "hours": "uren ongeldig",
    "day": "dag ongeldig",
    "attended": "aanwezig ongeldig",
    "duplicate": "dubbele regel",
}


class FileRefused(Exception):
    """The file as a whole is not read; the message says why, in Dutch."""


@dataclass(frozen=True)
class Person:
    """A registration the file may name: the seated ones, and those on the waiting list (to say so)."""

    registration_id: str
    member_id: str | None
    name: str
    email: str | None
    seated: bool


@dataclass(frozen=True)
class Session:
    days: tuple[date, ...]
    planned_hours: float
    today: date

    @property
    def per_day(self) -> float:
        return round(self.planned_hours / len(self.days), 2)


@dataclass
class Row:
    line: int
    who: str  # the person as the file names them
    verdict: str = "ok"
    message: str = ""
    person: Person | None = None
    day: date | None = None
    attended: bool = True
    hours: float = 0.0
    change: bool = False  # differs from what is recorded

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def refuse(self, verdict: str, message: str) -> None:
        if self.ok:  # the first problem of a row is the one it shows
            self.verdict, self.message = verdict, message


# recorded attendance: registration id → day → (attended, hours)
Recorded = Mapping[str, Mapping[date, tuple[bool, float]]]


def hours_text(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def template(people: Sequence[Person], session: Session, recorded: Recorded) -> str:
    """The file to fill in: every seated registration on every day, prefilled with what is recorded,
    else present for the planned hours per day. Every cell passes `safe_text`: a name is data."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADER)
    for person in (p for p in people if p.seated):
        for day in session.days:
            attended, hours = recorded.get(person.registration_id, {}).get(day, (True, session.per_day))
            writer.writerow(
                [
                    person.registration_id,
                    safe_text(person.name),
                    safe_text(person.email or ""),
                    day.isoformat(),
                    "ja" if attended else "nee",
                    hours_text(hours if attended else session.per_day),
                ]
            )
    return "\ufeff" + out.getvalue()  # the BOM makes Excel read UTF-8


def _text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise FileRefused(f"Het bestand is te groot: hoogstens {MAX_BYTES // 1000} kB.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # what Excel on Windows writes when 'CSV UTF-8' is not chosen
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise FileRefused("Dit is geen tekstbestand (CSV). Sla het op als 'CSV UTF-8'.") from None


def read_table(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The column meanings and the rows (with their line numbers) of a file, or FileRefused."""
    text = _text(data)
    if not text.strip():
        raise FileRefused("Het bestand is leeg.")
    lines = text.splitlines()
    for number, physical in enumerate(lines, start=1):
        if _CONTROL.search(physical):
            raise FileRefused(
                f"Regel {number} bevat een stuurteken (zoals een tab of een onzichtbaar teken). "
                "Gebruik ; of , tussen de kolommen."
            )
    delimiter = ";" if ";" in lines[0] else ","
    try:
        parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise FileRefused(f"Dit is geen geldige CSV: {exc}.") from None
    if len(parsed) > MAX_ROWS + 1:
        raise FileRefused(f"Het bestand heeft te veel regels: hoogstens {MAX_ROWS}.")
    header = [cell.strip().lower() for cell in parsed[0]]
    numbered: list[tuple[int, list[str]]] = []
    for line, cells in enumerate(parsed, start=1):
        if len(cells) > MAX_COLUMNS:
            raise FileRefused(f"Regel {line} heeft te veel kolommen: hoogstens {MAX_COLUMNS}.")
        for column, cell in enumerate(cells):
            name = header[column] if column < len(header) else f"{column + 1}"
            if _CONTROL.search(cell):  # a line break inside a quoted cell
                raise FileRefused(
                    f"Regel {line}, kolom '{safe_text(name)}': een cel mag geen regeleinde bevatten."
                )
            if len(cell) > MAX_CELL:
                raise FileRefused(
                    f"Regel {line}, kolom '{safe_text(name)}': een cel van hoogstens {MAX_CELL} tekens."
                )
            if is_formula(cell.lstrip()) and not _NUMBER.match(cell.strip()):
                raise FileRefused(
                    f"Regel {line}, kolom '{safe_text(name)}': een cel die met =, +, - of @ begint, "
                    "voert een rekenblad uit als formule; zo'n bestand wordt niet gelezen."
                )
        if line > 1 and any(cell.strip() for cell in cells):
            numbered.append((line, cells))
    meanings = [COLUMNS.get(name, "") for name in header]
    known = [m for m in meanings if m]
    if len(known) != len(set(known)):
        raise FileRefused("De eerste regel noemt een kolom twee keer.")
    if not any(m in WHO for m in meanings):
        raise FileRefused(
            "De eerste regel moet de kolomnamen geven, met minstens een van: inschrijving, lid, e-mail, naam."
        )
    if not numbered:
        raise FileRefused("Het bestand heeft geen regels onder de kolomnamen.")
    return meanings, numbered


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def _day(text: str) -> date | None:
    text = text.strip()
    found = _DAY_BE.match(text)
    try:
        if found:
            return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        return date.fromisoformat(text)
    except ValueError:
        return None


def _uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        return None


class _Directory:
    """Finds the registration a row names."""

    def __init__(self, people: Iterable[Person]) -> None:
        self.by_registration: dict[str, Person] = {}
        self.by_member: dict[str, Person] = {}
        self.by_email: dict[str, list[Person]] = {}
        self.by_name: dict[str, list[Person]] = {}
        for person in people:
            self.by_registration[person.registration_id] = person
            if person.member_id:
                self.by_member[person.member_id] = person
            if person.email:
                self.by_email.setdefault(person.email.casefold(), []).append(person)
            if person.member_id:  # an outside participant has no name to find
                self.by_name.setdefault(_key(person.name), []).append(person)
                first, _, last = person.name.partition(" ")
                if last:
                    self.by_name.setdefault(_key(f"{last} {first}"), []).append(person)

    def find(self, kind: str, value: str) -> tuple[Person | None, str]:
        if kind in ("registration", "member"):
            key = _uuid(value)
            table = self.by_registration if kind == "registration" else self.by_member
            person = table.get(key) if key else None
            what = "inschrijving" if kind == "registration" else "lid"
            return person, "" if person else f"Geen {what} met dit id bij deze sessie."
        table_of_lists = self.by_email if kind == "email" else self.by_name
        found = table_of_lists.get(value.strip().casefold() if kind == "email" else _key(value), [])
        unique = {p.registration_id: p for p in found}
        if len(unique) > 1:
            return (
                None,
                "Meer dan één inschrijving met deze naam: gebruik het e-mailadres of de inschrijving.",
            )
        if not unique:
            what = "dit e-mailadres" if kind == "email" else "deze naam"
            return None, f"Niemand met {what} is ingeschreven voor deze sessie."
        return next(iter(unique.values())), ""


def judge(
    meanings: Sequence[str],
    rows: Sequence[tuple[int, Sequence[str]]],
    people: Sequence[Person],
    session: Session,
    recorded: Recorded,
) -> list[Row]:
    """A verdict per row; nothing is written here. A row is 'ok' only when the grid would take it."""
    directory = _Directory(people)
    judged: list[Row] = []
    seen: dict[tuple[str, date], int] = {}
    for line, cells in rows:
        value = {m: (cells[i].strip() if i < len(cells) else "") for i, m in enumerate(meanings) if m}
        kind = next((k for k in WHO if value.get(k)), "")
        row = Row(line=line, who=value.get(kind, ""))
        judged.append(row)
        if not kind:
            row.refuse("unknown", "Deze regel noemt niemand (inschrijving, lid, e-mail of naam).")
            continue
        person, problem = directory.find(kind, value[kind])
        row.person = person
        if person is None:
            row.refuse("unknown", problem)
        elif not person.seated:
            row.refuse("unknown", f"{person.name} staat op de wachtlijst en heeft geen plaats.")
        typed_day = value.get("day", "")
        if not typed_day and len(session.days) == 1:
            row.day = session.days[0]
        elif not typed_day:
            row.refuse("day", "Geef de dag: deze sessie loopt over meerdere dagen.")
        else:
            row.day = _day(typed_day)
            if row.day is None:
                row.refuse("day", "Geef de dag als 2026-12-30 of 30/12/2026.")
            elif row.day not in session.days:
                row.refuse("day", "Op deze dag loopt de sessie niet.")
            elif row.day > session.today:
                row.refuse("day", "Deze dag is nog niet begonnen: aanwezigheid kan pas vanaf die dag.")
        said = value.get("attended", "").casefold()
        if said and said not in YES | NO:
            row.refuse("attended", "Schrijf ja of nee bij aanwezig.")
        row.attended = said not in NO
        typed = value.get("hours", "")
        if row.attended:
            try:
                row.hours = round(float(typed.replace(",", ".")), 2) if typed else session.per_day
            except ValueError:
                row.refuse("hours", "Geef de uren als een getal, zoals 2,5.")
            else:
                if not 0 < row.hours <= session.planned_hours:
                    row.refuse(
                        "hours", f"Geef meer dan 0 en hoogstens {hours_text(session.planned_hours)} uren."
                    )
        if row.person is not None and row.day is not None:
            key = (row.person.registration_id, row.day)
            if key in seen:
                row.refuse("duplicate", f"Dezelfde persoon en dag staan al op regel {seen[key]}.")
            seen.setdefault(key, line)
    _check_totals(judged, session, recorded)
    for row in judged:
        if row.ok and row.person is not None and row.day is not None:
            earlier = recorded.get(row.person.registration_id, {}).get(row.day)
            if row.attended:
                row.change = earlier is None or not earlier[0] or abs(earlier[1] - row.hours) > EPSILON
            else:
                row.change = earlier is not None and earlier[0]
    return judged


def _check_totals(rows: Sequence[Row], session: Session, recorded: Recorded) -> None:
    """The events service refuses more hours over all days than planned: say so per row first."""
    days: dict[str, dict[date, float]] = {}
    for registration_id, recorded_days in recorded.items():
        days[registration_id] = {d: (h if a else 0.0) for d, (a, h) in recorded_days.items()}
    for row in rows:
        if row.ok and row.person is not None and row.day is not None:
            days.setdefault(row.person.registration_id, {})[row.day] = row.hours if row.attended else 0.0
    for row in rows:
        if row.ok and row.person is not None and row.attended:
            total = sum(days[row.person.registration_id].values())
            if total > session.planned_hours + EPSILON:
                row.refuse(
                    "hours",
                    f"Samen {hours_text(round(total, 2))} uren over alle dagen: "
                    f"meer dan de {hours_text(session.planned_hours)} geplande uren.",
                )


def canonical(rows: Sequence[Row]) -> str:
    """The rows that were judged, as a file in this same format: what the confirmation posts back and
    what is judged again (against the attendance as it is then) before anything is written."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(("inschrijving", "dag", "aanwezig", "uren"))
    for row in rows:
        if row.person is not None and row.day is not None:
            writer.writerow(
                (
                    row.person.registration_id,
                    row.day.isoformat(),
                    "ja" if row.attended else "nee",
                    hours_text(row.hours) if row.attended else "",
                )
            )
    return out.getvalue()
