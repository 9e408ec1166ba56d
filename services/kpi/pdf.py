"""The yearly report as PDF: report.html printed by headless Chromium (`--print-to-pdf`), so the PDF
holds exactly what the HTML report shows, laid out by the report's own print CSS (A4, a page per goal,
page numbers and the date of the figures in the page margins).

Each rendering runs its own Chromium with a fresh profile in a temporary directory, with networking
and everything optional switched off; the HTML is a local file that loads nothing from elsewhere.
Chromium path: KPI_CHROMIUM, else /usr/bin/chromium, else `chromium` on the PATH.

A Chromium takes a few seconds and a few hundred MB: at most two print at once, and the last few
PDFs are kept by the hash of their HTML (the page shows the time to the minute, so asking again
within the minute costs nothing)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

TIMEOUT_SECONDS = 90
ARGS = (
    "--headless",
    "--no-sandbox",  # runs as an unprivileged service user in a container, without user namespaces
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--no-pdf-header-footer",  # the report prints its own margins (page numbers, the date of the figures)
    "--run-all-compositor-stages-before-draw",
)


_printing = threading.BoundedSemaphore(2)
_recent: OrderedDict[str, bytes] = OrderedDict()
_recent_lock = threading.Lock()
KEEP = 8


class PdfUnavailable(Exception):
    """No renderer on this machine, or it failed: the caller answers 503, the HTML report still works."""


def chromium() -> str | None:
    configured = os.environ.get("KPI_CHROMIUM", "").strip()
    if configured:
        return configured
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render(html: str) -> bytes:
    key = hashlib.sha256(html.encode()).hexdigest()
    with _recent_lock:
        if key in _recent:
            _recent.move_to_end(key)
            return _recent[key]
    with _printing:
        data = _print(html)
    with _recent_lock:
        _recent[key] = data
        while len(_recent) > KEEP:
            _recent.popitem(last=False)
    return data


def _print(html: str) -> bytes:
    executable = chromium()
    if executable is None:
        raise PdfUnavailable("no Chromium found to print the PDF (install chromium or set KPI_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="kpi-pdf-") as tmp:
        folder = Path(tmp)
        page, out = folder / "report.html", folder / "report.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            executable,
            *ARGS,
            f"--user-data-dir={folder / 'profile'}",
            f"--crash-dumps-dir={folder / 'crashes'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        env = {**os.environ, "HOME": str(folder)}  # Chromium writes caches under HOME
        try:
            done = subprocess.run(  # a fixed program with fixed arguments, no shell
                command, capture_output=True, timeout=TIMEOUT_SECONDS, env=env, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfUnavailable(f"Chromium could not print the PDF: {exc}") from exc
        if not out.exists() or out.stat().st_size == 0:
            tail = done.stderr.decode(errors="replace")[-500:]
            raise PdfUnavailable(f"Chromium printed no PDF (exit {done.returncode}): {tail}")
        return out.read_bytes()
