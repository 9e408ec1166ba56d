"""The mechanics of importing a member list from the screens (the form itself is read by
`uploads.read_upload`): the rows as `ops.member_import` reads them (one importer for the command line
and the screens), and the plan that the preview hands to the confirm step.

Nothing is written before the confirm: the preview runs the importer dry (it only reads the lists),
and the confirm step imports exactly the rows the preview showed. Those rows travel in the confirm
form, sealed (HMAC, bound to the person and 30 minutes), so that the back office keeps no file and
no personal data between the two steps, and no other list can be slipped in under a preview.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tempfile
import time
import zlib
from collections.abc import Generator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ops.member_import import ImportFileError, Row, read_rows
from services.backoffice.services import base_url
from services.backoffice.session import StaffSession, cookie_key
from services.backoffice.settings import BackofficeSettings
from shared.auth import issue_token

PLAN_MINUTES = 30
# the name's extension tells CSV from XLSX when the content does not (read_rows looks at both)
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".xls")


class UploadProblem(Exception):
    """What is wrong with the upload as a whole (in Dutch); nothing was read or written."""


def read_upload(filename: str, content: bytes) -> tuple[list[Row], list[str]]:
    """The rows of the uploaded list, or UploadProblem saying why the file is no member list."""
    if not filename and not content:
        raise UploadProblem("Kies eerst een bestand (.xlsx of .csv).")
    suffix = Path(filename).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="vvsg-import-") as folder:
        # the importer reads a path; the file lives only as long as this reading
        path = Path(folder) / f"ledenlijst{suffix if suffix in SUFFIXES else ''}"
        path.write_bytes(content)
        try:
            rows, unknown = read_rows(path)
        except ImportFileError as exc:
            raise UploadProblem(str(exc)) from None
    return [Row(row.number, _plain(row.values), row.columns) for row in rows], unknown


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """A row's cells as JSON keeps them, so that the preview and the import read the same values."""
    plain: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, datetime):
            value = value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
        elif isinstance(value, date):
            value = value.isoformat()
        elif not isinstance(value, str | int | float | bool | type(None)):
            value = str(value)
        plain[name] = value
    return plain


def _key(settings: BackofficeSettings) -> bytes:
    return cookie_key(settings.auth_secret.get_secret_value(), "member import")


def seal_plan(settings: BackofficeSettings, staff: StaffSession, filename: str, rows: list[Row]) -> str:
    columns = rows[0].columns if rows else {}
    plan = {
        "sub": staff.subject,
        "exp": int(time.time()) + PLAN_MINUTES * 60,
        "file": filename,
        "columns": columns,
        "rows": [[row.number, row.values] for row in rows],
    }
    blob = zlib.compress(json.dumps(plan, separators=(",", ":")).encode(), 6)
    signature = hmac.new(_key(settings), blob, hashlib.sha256).digest()
    return f"{base64.urlsafe_b64encode(blob).decode()}.{base64.urlsafe_b64encode(signature).decode()}"


def open_plan(settings: BackofficeSettings, staff: StaffSession, sealed: str) -> tuple[str, list[Row]]:
    """The file name and rows of a preview this person made in the last 30 minutes."""
    stale = UploadProblem(
        "Deze voorvertoning is verlopen of hoort niet bij deze sessie. Er is niets ingevoerd;"
        " kies het bestand opnieuw."
    )
    try:
        blob_text, signature_text = sealed.split(".")
        blob = base64.urlsafe_b64decode(blob_text)
        signature = base64.urlsafe_b64decode(signature_text)
    except ValueError:
        raise stale from None
    if not hmac.compare_digest(signature, hmac.new(_key(settings), blob, hashlib.sha256).digest()):
        raise stale
    plan = json.loads(zlib.decompress(blob))
    if plan["sub"] != staff.subject or plan["exp"] < time.time():
        raise stale
    columns = plan["columns"]
    return plan["file"], [Row(number, values, columns) for number, values in plan["rows"]]


class _StaffToken(httpx.Auth):
    """A fresh short token for every call: an import of a long list outlasts one token."""

    def __init__(self, settings: BackofficeSettings, staff: StaffSession) -> None:
        self.settings = settings
        self.staff = staff

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = issue_token(
            self.settings.auth_secret.get_secret_value(),
            self.staff.subject,
            self.staff.role,
            timedelta(seconds=self.settings.backoffice_token_seconds),
        )
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


def members_client(settings: BackofficeSettings, staff: StaffSession) -> httpx.Client:
    """The members API as the importer calls it, on behalf of the signed-in person."""
    return httpx.Client(base_url=base_url(settings, "members"), auth=_StaffToken(settings, staff), timeout=30)
