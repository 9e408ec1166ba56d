"""Brings the member list that staff keep in a spreadsheet (CSV or XLSX) into the members service,
through its public API, without creating duplicates.

Columns are found by their header, Dutch or English ("Voornaam", "Naam", "E-mailadres", "Organisatie",
"Soort organisatie", "NIS-code", "Nieuwsbrief", "Lid sinds", ...). Every row gets a verdict — created,
updated, unchanged or refused, with the reason — and one bad row never stops the others. Running the
same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from email_validator import EmailNotValidError, validate_email

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


@dataclass
class State:
    organisations_by_nis: dict[str, dict[str, Any]] = field(default_factory=dict)
    organisations_by_name: dict[str, dict[str, Any]] = field(default_factory=dict)
    members_by_email: dict[str, dict[str, Any]] = field(default_factory=dict)


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text.strip().lower().replace("_", " ").replace(":", ""))


def read_rows(path: Path) -> tuple[list[Row], list[str]]:
    """Rows keyed by field name; also the headers that were not understood."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        table = [list(r) for r in sheet.iter_rows(values_only=True)]
    else:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig") if raw[:3] == b"\xef\xbb\xbf" else _decode(raw)
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
        table = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
    while table and not any(str(c or "").strip() for c in table[0]):
        table.pop(0)
    if not table:
        return [], []
    lookup = {_key(alias): name for name, aliases in HEADERS.items() for alias in aliases}
    columns: dict[int, str] = {}
    unknown: list[str] = []
    for index, header in enumerate(table[0]):
        name = lookup.get(_key(str(header or "")))
        if name and name not in columns.values():
            columns[index] = name
        elif str(header or "").strip():
            unknown.append(str(header))
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(str(c or "").strip() for c in cells):
            continue
        rows.append(Row(number, {name: cells[i] if i < len(cells) else None for i, name in columns.items()}))
    return rows, unknown


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")  # Excel on Windows saves CSV this way


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"datum '{text}' niet begrepen (gebruik dd/mm/jjjj)")


def _flag(value: Any) -> bool:
    text = _key(_text(value))
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(f"nieuwsbrief '{_text(value)}' niet begrepen (ja of nee)")


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
                verdicts.append(Verdict(row.number, "geweigerd", str(exc), _text(row.values.get("email"))))
            except httpx.HTTPError as exc:
                verdicts.append(Verdict(row.number, "geweigerd", f"de ledendienst antwoordde niet: {exc}"))
            progress()
        return verdicts

    def _row(self, row: Row, seen: dict[str, int]) -> Verdict:
        v = row.values
        raw_email = _text(v.get("email"))
        if not raw_email:
            raise ValueError("geen e-mailadres")
        try:
            email = validate_email(raw_email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise ValueError(f"ongeldig e-mailadres '{raw_email}'") from None
        if email in seen:
            raise ValueError(f"{email} staat al op rij {seen[email]} van dit bestand")
        seen[email] = row.number
        first, last = _text(v.get("first_name")), _text(v.get("last_name"))
        if not first or not last:
            raise ValueError("voornaam en naam zijn nodig")
        consent = _flag(v.get("newsletter")) if "newsletter" in v else None
        joined_on = _date(v.get("joined_on"))
        phone = _text(v.get("phone")) or None
        organisation, made_organisation = self._organisation(row)
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

    def _organisation(self, row: Row) -> tuple[dict[str, Any], bool]:
        v = row.values
        name = _text(v.get("organisation"))
        nis = _text(v.get("nis_code")) or None
        if nis and not re.fullmatch(r"\d{5}", nis):
            raise ValueError(f"NIS-code '{nis}' moet uit 5 cijfers bestaan")
        found = (self.state.organisations_by_nis.get(nis) if nis else None) or (
            self.state.organisations_by_name.get(_key(name)) if name else None
        )
        if found:
            return found, False
        if not name:
            raise ValueError("geen organisatie")
        kind_text = _text(v.get("organisation_kind"))
        kind = KINDS.get(_key(kind_text))
        if kind is None:
            raise ValueError(
                f"onbekende soort organisatie '{kind_text}' voor nieuwe organisatie {name}"
                if kind_text
                else f"soort organisatie ontbreekt voor nieuwe organisatie {name}"
            )
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
            detail = response.json().get("detail")
            if isinstance(detail, list):
                detail = "; ".join(f"{'.'.join(map(str, d['loc'][1:]))}: {d['msg']}" for d in detail)
            raise ValueError(f"geweigerd door de ledendienst ({response.status_code}): {detail}")
        return response.json()  # type: ignore[no-any-return]
