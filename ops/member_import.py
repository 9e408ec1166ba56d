"""Brings the member list that staff keep in a spreadsheet (CSV or XLSX) into the members service,
through its public API, without creating duplicates.

Columns are found by their header, Dutch or English ("Voornaam", "Naam", "E-mailadres", "Organisatie",
"Soort organisatie", "NIS-code", "Nieuwsbrief", "Lid sinds", ...). Every row gets a verdict — created,
updated, unchanged or refused, with every reason at once — and one bad row never stops the others.
Running the same file twice changes nothing the second time.

A file that cannot be a member list (broken or truncated XLSX, binary, UTF-16, a giant cell, too many
rows, a zip bomb) is refused as a whole with `ImportFileError` before anything is sent. Reading is
bounded: the file size is checked before opening, the unpacked size of an XLSX before openpyxl sees
it, and rows are read in streaming mode up to a limit.

A text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` in front) or that holds a control
character is refused with the row and column: a name never needs them, and a stored `=cmd|...`
would be a formula again in every export made from it by some other tool.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from email_validator import EmailNotValidError, validate_email

from shared.clock import business_today
from shared.spreadsheet import is_formula
from shared.text import EARLIEST_YEAR, single_line

# Limits of what can be a member list (the network has some 650 members; a list of 20,000 rows is
# already generous). They keep a hostile or broken file from taking the machine's time and memory.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # an XLSX is a zip: this bounds what openpyxl can inflate
MAX_ROWS = 20_000  # rows with something in them, the header included
MAX_SHEET_ROWS = 100_000  # rows read at all, empty ones included (a row number far down the sheet)
MAX_COLUMNS = 100
MAX_CELL_CHARS = 10_000
# per field: what the members service accepts
MAX_LENGTH = {"first_name": 100, "last_name": 100, "organisation": 200, "email": 254, "phone": 40}
PHONE = re.compile(r"^\+?[0-9 ./()-]{6,40}$")

HEADERS: dict[str, tuple[str, ...]] = {
    "first_name": ("voornaam", "first name", "firstname", "first_name"),
    "last_name": ("naam", "achternaam", "familienaam", "last name", "lastname", "last_name", "surname"),
    "email": ("e-mail", "email", "e-mailadres", "emailadres", "mail", "e-mail adres"),
    "phone": ("telefoon", "telefoonnummer", "tel", "gsm", "phone"),
    "organisation": ("organisatie", "bestuur", "lokaal bestuur", "organisation", "organization", "werkgever"),
    "organisation_kind": (
        "soort organisatie",
        "type organisatie",
        "organisatietype",
        "soort",
        "type",
        "kind",
    ),
    "nis_code": ("nis", "nis-code", "niscode", "nis code"),
    "newsletter": ("nieuwsbrief", "newsletter", "toestemming nieuwsbrief", "nieuwsbrief ja/nee"),
    "joined_on": ("lid sinds", "lid vanaf", "datum aansluiting", "aangesloten op", "joined", "joined_on"),
}

KINDS: dict[str, str] = {
    "lokaal bestuur": "lokaal_bestuur",
    "lokaal_bestuur": "lokaal_bestuur",
    "gemeente": "lokaal_bestuur",
    "stad": "lokaal_bestuur",
    "ocmw": "lokaal_bestuur",
    "gemeente/ocmw": "lokaal_bestuur",
    "isv": "intergemeentelijk_samenwerkingsverband",
    "intergemeentelijk samenwerkingsverband": "intergemeentelijk_samenwerkingsverband",
    "intergemeentelijk_samenwerkingsverband": "intergemeentelijk_samenwerkingsverband",
    "middenveld": "middenveldorganisatie",
    "middenveldorganisatie": "middenveldorganisatie",
    "vzw": "middenveldorganisatie",
    "kennisinstelling": "kennisinstelling",
    "hogeschool": "kennisinstelling",
    "universiteit": "kennisinstelling",
    "bovenlokale overheid": "bovenlokale_overheid",
    "bovenlokale_overheid": "bovenlokale_overheid",
    "vlaamse overheid": "bovenlokale_overheid",
    "provincie": "bovenlokale_overheid",
    "andere": "andere",
    "anders": "andere",
}
YES = {"ja", "j", "yes", "y", "x", "1", "true", "waar", "akkoord"}
NO = {"nee", "n", "no", "0", "false", "onwaar", ""}


@dataclass
class Verdict:
    row: int
    action: str  # aangemaakt | bijgewerkt | ongewijzigd | geweigerd (dry run: "zou ... worden")
    detail: str = ""
    email: str = ""


@dataclass
class Row:
    number: int
    values: dict[str, Any]
    columns: dict[str, str] = field(default_factory=dict)  # field name → the header in the file

    def column(self, name: str) -> str:
        return self.columns.get(name, name)


@dataclass
class State:
    organisations_by_nis: dict[str, dict[str, Any]] = field(default_factory=dict)
    organisations_by_name: dict[str, dict[str, Any]] = field(default_factory=dict)
    members_by_email: dict[str, dict[str, Any]] = field(default_factory=dict)


class ImportFileError(Exception):
    """The file as a whole cannot be imported (the message says why, in Dutch); nothing was sent."""


class RowRefused(ValueError):
    """Every problem found in one row, so that staff can fix them all at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text.strip().lower().replace("_", " ").replace(":", ""))


def _shown(value: Any, width: int = 60) -> str:
    """A value from the file as it may appear in a message: no control characters, not too long."""
    text = "".join("?" if unicodedata.category(c) == "Cc" else c for c in str(value))
    return text if len(text) <= width else text[: width - 1] + "…"


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", ".")


# --- reading the file ---------------------------------------------------------------------------


def read_rows(path: Path) -> tuple[list[Row], list[str]]:
    """Rows keyed by field name; also the headers that were not understood. Raises
    `ImportFileError` when the file cannot be a member list."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportFileError(f"Het bestand {path.name} kan niet gelezen worden ({exc.strerror}).") from exc
    if size > MAX_FILE_BYTES:
        raise ImportFileError(
            f"Het bestand is {size / 1024 / 1024:.1f} MB groot; een ledenlijst mag hoogstens"
            f" {MAX_FILE_BYTES // 1024 // 1024} MB zijn. Splits het bestand of verwijder wat niet nodig is."
        )
    if size == 0:
        raise ImportFileError("Het bestand is leeg.")
    with path.open("rb") as handle:
        head = handle.read(8)
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        if not head.startswith(b"PK"):
            raise ImportFileError(
                "Dit is geen geldig Excel-bestand (.xlsx): het is beschadigd, onvolledig of een ander"
                " soort bestand met de extensie .xlsx. Open het in Excel en bewaar het opnieuw."
            )
        table = _xlsx_table(path)
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            "Dit is een Excel-bestand in het oude formaat (.xls). Bewaar het in Excel als"
            " 'Excel-werkmap (.xlsx)' of als 'CSV UTF-8' en probeer opnieuw."
        )
    else:
        table = _csv_table(path.read_bytes())
    return _rows(table)


def _xlsx_table(path: Path) -> Iterator[Sequence[Any]]:
    broken = (
        "Het Excel-bestand is beschadigd of onvolledig (misschien niet helemaal gedownload of gekopieerd)."
        " Open het in Excel en bewaar het opnieuw."
    )
    try:
        with zipfile.ZipFile(path) as archive:
            # the sizes in the zip directory bound what zipfile will inflate (it stops there and
            # then checks the CRC), so a zip bomb is refused here, before any inflating
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportFileError(broken) from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportFileError(
            f"Het Excel-bestand is uitgepakt {unpacked / 1024 / 1024:.0f} MB groot; een ledenlijst is"
            f" hoogstens {MAX_UNPACKED_BYTES // 1024 // 1024} MB. Het bevat meer dan een ledenlijst"
            " (of is kwaadaardig gemaakt): kopieer de lijst naar een nieuw bestand."
        )
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl, zipfile and the XML parser each raise their own kind
        raise ImportFileError(broken) from exc
    try:
        if not book.worksheets:
            raise ImportFileError("Het Excel-bestand heeft geen werkblad.")
        sheet = book.worksheets[0]
        # a wrong <dimension> would otherwise pad every row, or add rows, up to what it claims
        sheet.reset_dimensions()
        yield from sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
    except ImportFileError:
        raise
    except Exception as exc:  # a truncated or corrupt sheet shows only while it is read
        raise ImportFileError(broken) from exc
    finally:
        book.close()


def _csv_table(raw: bytes) -> Iterator[Sequence[Any]]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (b"\x00" in raw[:200] and _looks_utf16(raw[:200])):
        raise ImportFileError(
            "Het CSV-bestand is in UTF-16 bewaard ('Unicode-tekst'). Bewaar het in Excel als"
            " 'CSV UTF-8 (door komma's gescheiden)' of als Excel-werkmap (.xlsx) en probeer opnieuw."
        )
    not_text = (
        "Dit is geen CSV- of Excel-bestand: er staan tekens in die in geen tekstbestand horen."
        " Kies de ledenlijst als .csv (UTF-8) of .xlsx."
    )
    if b"\x00" in raw:
        raise ImportFileError(not_text)
    text = raw.decode("utf-8-sig") if raw[:3] == b"\xef\xbb\xbf" else _decode(raw)
    if text is None:
        raise ImportFileError(not_text)
    strange = sum(1 for c in text[:65536] if unicodedata.category(c) == "Cc" and c not in "\t\r\n")
    if strange > 5:
        raise ImportFileError(not_text)
    dialect: type[csv.Dialect] | csv.Dialect = csv.excel
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:  # one column, or quoting the sniffer does not follow: count in the header
        separator = max(",;\t", key=first_line.count)
        if first_line.count(separator):
            dialect = csv.excel_tab if separator == "\t" else _semicolon if separator == ";" else csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        yield from reader
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ImportFileError(
                f"Regel {reader.line_num} van het bestand heeft een cel met meer dan"
                f" {_thousands(MAX_CELL_CHARS)} tekens; dit is geen ledenlijst zoals verwacht."
            ) from exc
        raise ImportFileError(
            f"Regel {reader.line_num} van het CSV-bestand kan niet gelezen worden ({exc})."
        ) from exc


class _semicolon(csv.excel):
    delimiter = ";"


def _looks_utf16(start: bytes) -> bool:
    """UTF-16 without a byte order mark: every other byte of plain text is a zero."""
    return start[1::2].count(0) > len(start) // 4 or start[0::2].count(0) > len(start) // 4


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")  # Excel on Windows saves CSV this way
    except UnicodeDecodeError:
        return None  # five byte values are not cp1252 either: not a text file


def _rows(table: Iterable[Sequence[Any]]) -> tuple[list[Row], list[str]]:
    lookup = {_key(alias): name for name, aliases in HEADERS.items() for alias in aliases}
    header: Sequence[Any] | None = None
    columns: dict[int, str] = {}
    names: dict[str, str] = {}
    unknown: list[str] = []
    rows: list[Row] = []
    filled = 0
    for number, cells in enumerate(table, start=1):
        if number > MAX_SHEET_ROWS:
            raise ImportFileError(
                f"Het werkblad loopt door tot voorbij rij {_thousands(MAX_SHEET_ROWS)}; een ledenlijst"
                " is zo lang niet. Verwijder de rijen onderaan die er niet bij horen."
            )
        # any() first: the rows openpyxl makes up for a gap are all None, and there may be many
        if not any(cells) or not any(str(c if c is not None else "").strip() for c in cells):
            continue
        filled += 1
        if filled > MAX_ROWS:
            raise ImportFileError(
                f"Het bestand heeft meer dan {_thousands(MAX_ROWS)} rijen; splits het in kleinere bestanden."
            )
        for index, cell in enumerate(cells):
            if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                where = str(header[index]) if header and index < len(header) else f"kolom {index + 1}"
                raise ImportFileError(
                    f"Rij {number}, {_shown(where, 40)}: een cel met {_thousands(len(cell))} tekens"
                    f" (hoogstens {_thousands(MAX_CELL_CHARS)}); dit is geen ledenlijst zoals verwacht."
                )
        if header is None:
            header = cells
            for index, title in enumerate(header):
                name = lookup.get(_key(str(title if title is not None else "")))
                if name and name not in columns.values():
                    columns[index] = name
                    names[name] = _shown(str(title).strip(), 40)
                elif str(title if title is not None else "").strip():
                    unknown.append(_shown(str(title).strip(), 40))
            missing = [
                label
                for name, label in (
                    ("email", "E-mailadres"),
                    ("first_name", "Voornaam"),
                    ("last_name", "Naam"),
                    ("organisation", "Organisatie"),
                )
                if name not in columns.values()
            ]
            if missing:
                raise ImportFileError(
                    f"De eerste rij van het bestand moet de kolomnamen bevatten; niet gevonden: "
                    f"{', '.join(missing)}. Wel gevonden: "
                    f"{', '.join(_shown(t, 30) for t in header if t not in (None, '')) or 'niets'}."
                )
            continue
        values = {name: cells[i] if i < len(cells) else None for i, name in columns.items()}
        rows.append(Row(number, values, names))
    if header is None:
        raise ImportFileError("Het bestand bevat geen rijen.")
    return rows, unknown


# --- reading one row ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


_DATE_SHAPES = (
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), ("y", "m", "d")),
    (re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), ("d", "m", "y")),
)


def _date(value: Any, today: date | None = None) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    else:
        text = _text(value)
        for shape, order in _DATE_SHAPES:
            match = shape.fullmatch(text)
            if match:
                parts = dict(zip(order, map(int, match.groups()), strict=True))
                try:
                    found = date(parts["y"], parts["m"], parts["d"])
                except ValueError:
                    raise ValueError(f"datum '{_shown(text)}' bestaat niet") from None
                break
        else:
            raise ValueError(f"datum '{_shown(text)}' niet begrepen (gebruik dd/mm/jjjj)")
    if found.year < EARLIEST_YEAR:
        raise ValueError(f"datum {found:%d/%m/%Y} ligt vóór {EARLIEST_YEAR}")
    if found > (today or business_today()):  # the members service's "today" is Brussels' too
        raise ValueError(f"datum {found:%d/%m/%Y} ligt in de toekomst")
    return found


def _flag(value: Any) -> bool:
    text = _key(_text(value))
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(f"'{_shown(_text(value))}' niet begrepen (ja of nee)")


def _check_text(row: Row, name: str, problems: list[str]) -> str:
    """The cell as text, or "" after adding what is wrong with it to `problems`."""
    raw = row.values.get(name)
    text = _text(raw)
    if not text:
        return ""
    try:
        single_line(text)
    except ValueError:
        found = next(c for c in text if unicodedata.category(c) == "Cc")
        what = "een regeleinde" if found in "\r\n\x85" else f"een stuurteken (U+{ord(found):04X})"
        problems.append(f"{row.column(name)}: bevat {what}")
        return ""
    if is_formula(text) and not (name == "phone" and PHONE.fullmatch(text)):
        problems.append(
            f"{row.column(name)}: '{_shown(text, 30)}' begint met '{text[0]}' en zou in een rekenblad een"
            " formule worden: pas de cel aan"
        )
        return ""
    limit = MAX_LENGTH.get(name)
    if limit and len(text) > limit:
        problems.append(f"{row.column(name)}: te lang ({len(text)} tekens, hoogstens {limit})")
        return ""
    return text


class Importer:
    """Plans and applies an import against the members API (`client` carries a staff token)."""

    def __init__(self, client: httpx.Client, *, dry_run: bool) -> None:
        self.client = client
        self.dry_run = dry_run
        self.state = self._load()

    def _load(self) -> State:
        state = State()
        for organisation in self._all("/organisations"):
            if organisation.get("nis_code"):
                state.organisations_by_nis[organisation["nis_code"]] = organisation
            state.organisations_by_name[_key(organisation["name"])] = organisation
        for member in self._all("/members", {"state": "all"}):
            state.members_by_email[member["email"]] = member
        return state

    def _all(self, path: str, params: dict[str, str] | None = None) -> Iterable[dict[str, Any]]:
        offset = 0
        while True:
            response = self.client.get(path, params={**(params or {}), "limit": 1000, "offset": offset})
            response.raise_for_status()
            page = response.json()
            yield from page["items"]
            offset += len(page["items"])
            if offset >= page["total"] or not page["items"]:
                return

    def run(self, rows: list[Row], progress: Callable[[], None] = lambda: None) -> list[Verdict]:
        verdicts = []
        seen: dict[str, int] = {}
        for row in rows:
            try:
                verdicts.append(self._row(row, seen))
            except (ValueError, KeyError) as exc:
                email = _shown(_text(row.values.get("email")))
                verdicts.append(Verdict(row.number, "geweigerd", str(exc), email))
            except httpx.HTTPError as exc:
                verdicts.append(Verdict(row.number, "geweigerd", f"de ledendienst antwoordde niet: {exc}"))
            progress()
        return verdicts

    def _row(self, row: Row, seen: dict[str, int]) -> Verdict:
        v = row.values
        problems: list[str] = []
        raw_email = _check_text(row, "email", problems)
        email = ""
        if raw_email:
            try:
                email = validate_email(raw_email, check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                problems.append(f"ongeldig e-mailadres '{_shown(raw_email)}'")
        elif not _text(v.get("email")):
            problems.append("geen e-mailadres")
        if email in seen:
            problems.append(f"{email} staat al op rij {seen[email]} van dit bestand")
        elif email:
            seen[email] = row.number
        first = _check_text(row, "first_name", problems)
        last = _check_text(row, "last_name", problems)
        if not _text(v.get("first_name")) or not _text(v.get("last_name")):
            problems.append("voornaam en naam zijn nodig")
        consent: bool | None = None
        if "newsletter" in v:
            try:
                consent = _flag(v.get("newsletter"))
            except ValueError as exc:
                problems.append(f"{row.column('newsletter')}: {exc}")
        joined_on: date | None = None
        try:
            joined_on = _date(v.get("joined_on"))
        except ValueError as exc:
            problems.append(f"{row.column('joined_on')}: {exc}")
        phone = _check_text(row, "phone", problems) or None
        if phone and not PHONE.fullmatch(phone):
            problems.append(f"{row.column('phone')}: '{_shown(phone)}' is geen telefoonnummer")
        organisation_name = _check_text(row, "organisation", problems)
        nis = _check_text(row, "nis_code", problems) or None
        if nis and not re.fullmatch(r"\d{5}", nis):
            problems.append(f"NIS-code '{_shown(nis)}' moet uit 5 cijfers bestaan")
        known = self._known_organisation(organisation_name, nis)
        kind = ""
        if known is None:
            kind = self._new_organisation_kind(row, organisation_name, problems)
        if problems:
            raise RowRefused(problems)
        organisation, made_organisation = (
            (known, False) if known is not None else self._new_organisation(organisation_name, kind, nis)
        )
        existing = self.state.members_by_email.get(email)
        if existing is None:
            body: dict[str, Any] = {
                "first_name": first,
                "last_name": last,
                "email": email,
                "organisation_id": organisation["id"],
                "phone": phone,
                "newsletter_consent": bool(consent),
            }
            if joined_on:
                body["joined_on"] = joined_on.isoformat()
            detail = f"nieuwe organisatie {organisation['name']}" if made_organisation else ""
            if self.dry_run:
                return Verdict(row.number, "zou aangemaakt worden", detail, email)
            created = self._send("POST", "/members", body)
            self.state.members_by_email[email] = created
            return Verdict(row.number, "aangemaakt", detail, email)
        changes: dict[str, Any] = {}
        for name, value in (
            ("first_name", first),
            ("last_name", last),
            ("phone", phone),
            ("newsletter_consent", consent),
        ):
            if value is not None and existing.get(name) != value:
                changes[name] = value
        moved = existing["organisation_id"] != organisation["id"]
        if not changes and not moved:
            return Verdict(row.number, "ongewijzigd", "", email)
        what = sorted(changes) + (["organisatie"] if moved else [])
        detail = "wijzigt " + ", ".join(what)
        if self.dry_run:
            return Verdict(row.number, "zou bijgewerkt worden", detail, email)
        if changes:
            existing = self._send("PATCH", f"/members/{existing['id']}", changes)
        if moved:
            existing = self._send(
                "POST", f"/members/{existing['id']}/move", {"organisation_id": organisation["id"]}
            )
        self.state.members_by_email[email] = existing
        return Verdict(row.number, "bijgewerkt", detail, email)

    def _known_organisation(self, name: str, nis: str | None) -> dict[str, Any] | None:
        return (self.state.organisations_by_nis.get(nis) if nis else None) or (
            self.state.organisations_by_name.get(_key(name)) if name else None
        )

    def _new_organisation_kind(self, row: Row, name: str, problems: list[str]) -> str:
        if not name:
            if not _text(row.values.get("organisation")):  # a refused name is reported already
                problems.append("geen organisatie")
            return ""
        kind_text = _text(row.values.get("organisation_kind"))
        kind = KINDS.get(_key(kind_text))
        if kind is None:
            problems.append(
                f"onbekende soort organisatie '{_shown(kind_text)}' voor nieuwe organisatie {name}"
                if kind_text
                else f"soort organisatie ontbreekt voor nieuwe organisatie {name}"
            )
            return ""
        return kind

    def _new_organisation(self, name: str, kind: str, nis: str | None) -> tuple[dict[str, Any], bool]:
        body: dict[str, Any] = {"name": name, "kind": kind}
        if nis:
            body["nis_code"] = nis
        organisation = (
            body | {"id": f"(nieuw: {name})"} if self.dry_run else self._send("POST", "/organisations", body)
        )
        self.state.organisations_by_name[_key(name)] = organisation
        if nis:
            self.state.organisations_by_nis[nis] = organisation
        return organisation, True

    def _send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.request(method, path, json=body)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = _shown(response.text, 200)
            if isinstance(detail, list):
                detail = "; ".join(f"{'.'.join(map(str, d['loc'][1:]))}: {d['msg']}" for d in detail)
            raise ValueError(f"geweigerd door de ledendienst ({response.status_code}): {detail}")
        return response.json()  # type: ignore[no-any-return]
