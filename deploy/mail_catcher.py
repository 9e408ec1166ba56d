"""A local mail catcher for the run without Docker: an SMTP server that delivers nothing but keeps every
message as an .eml file, and a small Dutch web page to read them (the role Mailpit plays in compose).

    python -m deploy.mail_catcher [--smtp-port 1025] [--http-port 8025] [--dir .local/mail]

SMTP on 127.0.0.1:1025, the web page on http://127.0.0.1:8025 (newest mail first). SIGTERM or Ctrl-C
stops it cleanly. Nothing on the page comes from elsewhere: a mail's HTML is shown in a sandboxed frame
that may not load anything from outside.
"""

from __future__ import annotations

import argparse
import itertools
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from shared.clock import BRUSSELS

ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZE = 100
_NAME = re.compile(r"^\d{19,}-\d{6}\.eml$")


@dataclass(frozen=True)
class Summary:
    name: str
    received: datetime
    sender: str
    to: str
    subject: str


class MailStore:
    """One .eml file per message, named after the moment it arrived, so names sort by arrival."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._summaries: dict[str, Summary] = {}  # files never change once written

    def save(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> Path:
        with self._lock:
            name = f"{time.time_ns():019d}-{next(self._counter) % 1_000_000:06d}.eml"
        envelope = f"X-Envelope-From: <{mail_from}>\r\nX-Envelope-To: {', '.join(rcpt_tos)}\r\n".encode()
        path = self.folder / name
        partial = path.with_suffix(".tmp")
        partial.write_bytes(envelope + content)
        partial.replace(path)  # a reader never sees half a mail
        return path

    def names(self) -> list[str]:
        return sorted((p.name for p in self.folder.glob("*.eml") if _NAME.match(p.name)), reverse=True)

    def summary(self, name: str) -> Summary:
        found = self._summaries.get(name)
        if found is not None:
            return found
        path = self.folder / name
        with path.open("rb") as handle:
            headers = BytesHeaderParser(policy=policy.default).parse(handle)
        found = Summary(
            name=name,
            received=_received(name, headers),
            sender=_header(headers, "From"),
            to=_header(headers, "To") or _header(headers, "X-Envelope-To"),
            subject=_header(headers, "Subject") or "(geen onderwerp)",
        )
        self._summaries[name] = found
        return found

    def message(self, name: str) -> tuple[Summary, EmailMessage, bytes] | None:
        if not _NAME.match(name) or not (self.folder / name).is_file():
            return None
        raw = (self.folder / name).read_bytes()
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        return self.summary(name), message, raw


def _header(message: Any, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001  (a malformed header is shown as missing, not as an error page)
        return ""
    return str(value) if value is not None else ""


def _received(name: str, headers: Any) -> datetime:
    try:
        stamp = headers["Date"].datetime if headers.get("Date") is not None else None
    except Exception:  # noqa: BLE001
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        stamp = datetime.fromtimestamp(int(name.split("-", 1)[0]) / 1e9, UTC)
    return stamp.astimezone(BRUSSELS)


class _SmtpHandler:
    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", errors="replace")
        self.store.save(envelope.mail_from or "", list(envelope.rcpt_tos), content)
        return "250 Message accepted for delivery"


# --- the web page -------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1b;
background:#f6f6f4}
header{background:#0b4f6c;color:#fff;padding:.8rem 1.5rem}
header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:1rem 1.5rem;max-width:70rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#e9eef1}
td.date{white-space:nowrap}
a{color:#0b4f6c}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;background:#fff;padding:1rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;padding:1rem;border:1px solid #ddd}
iframe{width:100%;height:36rem;border:1px solid #ddd;background:#fff}
nav.pages{margin:1rem 0;display:flex;gap:1rem}
p.note{color:#555}
"""

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _date(moment: datetime) -> str:
    return moment.strftime("%d-%m-%Y %H:%M:%S")


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="nl-BE"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} – Mailcatcher</title><style>{STYLE}</style></head><body>"
        '<header><a href="/">Mailcatcher – lokale mails</a></header>'
        f"<main>{body}</main></body></html>\n"
    )


def list_page(store: MailStore, page: int) -> str:
    names = store.names()
    total = len(names)
    last_page = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), last_page)
    shown = names[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if not total:
        return _page(
            "Geen mails",
            "<h1>Ontvangen mails</h1><p>Nog geen mails ontvangen. Wat de diensten naar "
            "127.0.0.1 poort 1025 sturen, verschijnt hier.</p>",
        )
    rows = []
    for name in shown:
        item = store.summary(name)
        rows.append(
            f'<tr><td class="date">{escape(_date(item.received))}</td><td>{escape(item.to)}</td>'
            f'<td><a href="/mail/{escape(name)}">{escape(item.subject)}</a></td></tr>'
        )
    pages = []
    if page > 1:
        pages.append(f'<a href="/?pagina={page - 1}">← nieuwere mails</a>')
    if page < last_page:
        pages.append(f'<a href="/?pagina={page + 1}">oudere mails →</a>')
    navigation = f'<nav class="pages">{"".join(pages)}</nav>' if pages else ""
    body = (
        f"<h1>Ontvangen mails</h1><p>{total} mail{'s' if total != 1 else ''}, de nieuwste eerst "
        f"(pagina {page} van {last_page}).</p>{navigation}"
        "<table><thead><tr><th>Datum</th><th>Aan</th><th>Onderwerp</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{navigation}"
    )
    return _page("Ontvangen mails", body)


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_type() != f"text/{subtype}":
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return str(content)


def message_page(summary: Summary, message: EmailMessage) -> str:
    fields = [
        ("Datum", _date(summary.received)),
        ("Van", summary.sender),
        ("Aan", summary.to),
        ("Onderwerp", summary.subject),
    ]
    described = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in fields)
    text, html = _part(message, "plain"), _part(message, "html")
    parts = []
    if text is not None:
        parts.append(f"<h2>Tekstversie</h2><pre>{escape(text)}</pre>")
    if html is not None:
        parts.append(
            "<h2>HTML-versie</h2>"
            '<p class="note">Getoond zonder scripts en zonder iets van buitenaf te laden.</p>'
            '<iframe sandbox="" title="HTML-versie van de mail" '
            f'srcdoc="{escape(html, quote=True)}"></iframe>'
        )
    if not parts:
        parts.append("<p>Deze mail heeft geen tekst- of HTML-deel.</p>")
    body = (
        f"<h1>{escape(summary.subject)}</h1><dl>{described}</dl>{''.join(parts)}"
        f'<p><a href="/mail/{escape(summary.name)}/bron">Bron bekijken (.eml)</a> · '
        '<a href="/">Terug naar de lijst</a></p>'
    )
    return _page(summary.subject, body)


def _handler_class(store: MailStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "Mailcatcher"
        sys_version = ""

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            path = url.path
            if path == "/":
                try:
                    page = int(parse_qs(url.query).get("pagina", ["1"])[0])
                except ValueError:
                    page = 1
                self._send(200, list_page(store, page))
                return
            match = re.fullmatch(r"/mail/([^/]+)(/bron)?", path)
            found = store.message(match.group(1)) if match else None
            if found is None:
                self._send(
                    404, _page("Niet gevonden", "<h1>Niet gevonden</h1><p>Deze mail bestaat niet.</p>")
                )
                return
            summary, message, raw = found
            if match and match.group(2):
                self._send(200, raw.decode("utf-8", errors="replace"), "text/plain; charset=utf-8")
                return
            self._send(200, message_page(summary, message))

        def _send(self, status: int, body: str, content_type: str = "text/html; charset=utf-8") -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # every page view in the log would drown what matters

    return Handler


class MailCatcher:
    """SMTP server and web page together; start() and stop() from any thread."""

    def __init__(
        self, folder: Path, smtp_port: int = 1025, http_port: int = 8025, host: str = "127.0.0.1"
    ) -> None:
        self.store = MailStore(folder)
        self.host, self.smtp_port, self.http_port = host, smtp_port, http_port
        self._controller: Controller | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> MailCatcher:
        self._controller = Controller(
            _SmtpHandler(self.store), hostname=self.host, port=self.smtp_port, enable_SMTPUTF8=True
        )
        self._controller.start()
        try:
            self._httpd = ThreadingHTTPServer((self.host, self.http_port), _handler_class(self.store))
        except OSError:
            self._controller.stop()
            raise
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="mail-web", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def count(self) -> int:
        return len(self.store.names())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=ROOT / ".local" / "mail", help="where the .eml files go")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        catcher = MailCatcher(args.dir, args.smtp_port, args.http_port, args.host).start()
    except OSError as exc:
        print(f"mailcatcher kan niet starten: {exc}", file=sys.stderr, flush=True)
        return 1
    print(
        f"mailcatcher: SMTP op {args.host}:{args.smtp_port}, mails op http://{args.host}:{args.http_port} "
        f"(bestanden in {args.dir})",
        flush=True,
    )
    try:
        while not stop.wait(1):
            pass
    finally:
        catcher.stop()
        print("mailcatcher gestopt", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
