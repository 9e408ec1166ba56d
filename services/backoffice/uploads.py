"""A form with a file (multipart/form-data), checked as `web.posted` checks a plain form: signed in, the
CSRF token of the session, a role that may post it; and small, so that a huge upload is refused before
it is read. Read with the standard library's MIME parser: the project has no python-multipart."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesParser

from fastapi import Request

from services.backoffice.session import StaffSession
from services.backoffice.web import PageProblem, current
from shared.auth import Role
from shared.service import BodyTooLarge

MAX_PARTS = 10  # a form here has a token, a file and a few fields


@dataclass(frozen=True)
class Upload:
    """A posted form with a file whose CSRF token matched the session, from a role that may post it."""

    staff: StaffSession
    values: dict[str, str]
    files: dict[str, bytes]
    filenames: dict[str, str]  # the name each file had on the sender's machine (its type may hang on it)


def _too_large(max_bytes: int) -> PageProblem:
    return PageProblem(
        413,
        "Bestand te groot",
        f"Het bestand is te groot: een bestand van hoogstens {max_bytes // 1000} kB wordt gelezen. "
        "Er is niets bewaard.",
    )


async def read_upload(request: Request, roles: tuple[Role, ...], max_bytes: int) -> Upload:
    staff = current(request)
    if staff is None:
        raise PageProblem(
            401, "Sessie verlopen", "Je sessie is verlopen of je bent niet aangemeld. Er is niets bewaard."
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise PageProblem(400, "Geen bestand", "Kies een bestand om op te laden. Er is niets bewaard.")
    body = bytearray()
    try:
        async for chunk in request.stream():  # counted as it arrives: a chunked body has no length
            body.extend(chunk)
            if len(body) > max_bytes:
                raise _too_large(max_bytes)
    except BodyTooLarge:  # the service's own limit (shared.service.BodyLimit) came first
        raise _too_large(max_bytes) from None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + bytes(body))
    if not message.is_multipart():
        raise PageProblem(400, "Geen bestand", "Dit formulier kon niet gelezen worden. Er is niets bewaard.")
    values: dict[str, str] = {}
    files: dict[str, bytes] = {}
    filenames: dict[str, str] = {}
    for number, part in enumerate(message.iter_parts()):
        if number >= MAX_PARTS:
            raise PageProblem(
                400, "Formulier geweigerd", "Dit formulier heeft te veel delen. Er is niets bewaard."
            )
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = data
            filenames[name] = filename
        else:
            values[name] = data.decode("utf-8", "replace")
    if not staff.csrf_matches(values.pop("csrf", None)):
        raise PageProblem(
            403, "Formulier geweigerd", "Dit formulier komt niet van deze sessie. Er is niets bewaard."
        )
    if roles and staff.role not in roles:
        raise PageProblem(403, "Geen toegang", "Je rol mag dit niet doen. Er is niets bewaard.")
    return Upload(staff, values, files, filenames)
