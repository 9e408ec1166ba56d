"""The whole system on this machine, without Docker: a local Kafka broker, a mail catcher (SMTP on
127.0.0.1:1025, the mails on http://127.0.0.1:8025), every service that exists (each on its SQLite
database under .local/), the demo year, and the addresses to open (the public pages among them: the
agenda, the recordings, the good practices, the articles, the tools and the newsletter).
Ctrl-C stops everything cleanly.

    python -m deploy.run_local [--year 2025] [--no-demo] [--reset]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx

from deploy import local_kafka
from ops import demo
from services.backoffice.settings import PORT as BACKOFFICE_PORT
from shared.auth import issue_token
from shared.settings import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
ORDER = ["members", "events", "feedback", "newsletter", "kpi"]
MAIL_SMTP_PORT, MAIL_WEB_PORT = 1025, 8025
# The demo answers hundreds of feedback forms from this one address, where real people each come from
# their own: the feedback pages' rate limit per address (60 a minute) would make that take minutes.
SERVICE_ENV = {
    "feedback": {"PUBLIC_RATE_PER_MINUTE": "3000"},
    # the public agenda's feeds and JSON-LD carry absolute links to its pages
    "events": {"PUBLIC_BASE_URL": f"http://127.0.0.1:{DEFAULT_PORTS['events']}"},
}
PORTS = {**DEFAULT_PORTS, "backoffice": BACKOFFICE_PORT}
# the back office's way in without an identity provider (OIDC_ISSUER unset): a sign-in link per mail
BACKOFFICE_USERS = "demo.medewerker@vvsg.be=staff,demo.beheerder@vvsg.be=admin"


def available_services() -> list[str]:
    return [name for name in ORDER if (ROOT / "services" / name / "__main__.py").exists()]


def local_secrets() -> dict[str, str]:
    """Secrets for this machine only, made once and kept out of the repository (.local/ is ignored)."""
    path = LOCAL / "secrets.env"
    if not path.exists():
        LOCAL.mkdir(exist_ok=True)
        path.write_text(f"AUTH_SECRET={secrets.token_urlsafe(48)}\nLINK_SECRET={secrets.token_urlsafe(48)}\n")
        path.chmod(0o600)
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return values


def start_service(name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    logs = LOCAL / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    service_env = {
        **os.environ,
        **env,
        **SERVICE_ENV.get(name, {}),
        "DATABASE_URL": f"sqlite:///{LOCAL / 'data' / (name + '.db')}",
        "HTTP_PORT": str(PORTS[name]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", f"services.{name}"],
        cwd=ROOT,
        env=service_env,
        stdout=(logs / f"{name}.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_mail_catcher() -> subprocess.Popen[bytes] | None:
    """The mail catcher in its own process; None (and a warning) when it cannot start, e.g. because
    another one already listens on its ports: the services then mail whatever listens there."""
    logs = LOCAL / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deploy.mail_catcher",
            "--smtp-port",
            str(MAIL_SMTP_PORT),
            "--http-port",
            str(MAIL_WEB_PORT),
            "--dir",
            str(LOCAL / "mail"),
        ],
        cwd=ROOT,
        stdout=(logs / "mail_catcher.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(
                "  de mailcatcher startte niet (poort 1025 of 8025 bezet?); zie .local/logs/mail_catcher.log"
            )
            return None
        try:
            if httpx.get(f"http://127.0.0.1:{MAIL_WEB_PORT}/", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    print("  de mailcatcher antwoordde niet; zie .local/logs/mail_catcher.log")
    return None


def public_pages(services: list[str]) -> list[tuple[str, str]]:
    """What anyone may open without signing in, per service that runs: (words, address)."""
    pages: list[tuple[str, str]] = []
    if "events" in services:
        agenda = f"http://127.0.0.1:{DEFAULT_PORTS['events']}/agenda"
        pages += [
            ("publieke agenda", agenda),
            ("opnames van online sessies", f"{agenda}/opnames"),
            ("agenda abonneren", f"{agenda}.ics  (Atom-feed: {agenda}.atom)"),
        ]
    if "newsletter" in services:
        site = f"http://127.0.0.1:{DEFAULT_PORTS['newsletter']}"
        pages += [
            ("goede praktijken", f"{site}/goede-praktijken  (Atom-feed: {site}/goede-praktijken.atom)"),
            ("artikels (Lokaal e.a.)", f"{site}/artikels  (Atom-feed: {site}/artikels.atom)"),
            ("hulpmiddelen", f"{site}/hulpmiddelen"),
            ("nieuwsbrief inschrijven", f"{site}/nieuwsbrief"),
        ]
    return pages


def answers_200(url: str, token: str) -> bool:
    try:
        if httpx.get(url, timeout=5).status_code == 200:
            return True
        return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def kpi_table(answer: dict[str, object]) -> str:
    """The KPI answer as a few aligned lines: code, value, target, status."""
    rows = []
    for kpi in answer.get("kpis", []):  # type: ignore[attr-defined]
        target = kpi.get("target")
        rows.append(
            f"  {kpi['code']:<31} {kpi['value']!s:>7}  doel {'—' if target is None else target!s:<5} "
            f"{kpi.get('status', '')}"
        )
    return "\n".join(rows)


def wait_ready(name: str, process: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    url = f"http://127.0.0.1:{PORTS[name]}/health/ready"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} stopped; see .local/logs/{name}.log")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{name} did not become ready; see .local/logs/{name}.log")


def start_backoffice(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The back office beside the services: the configured provider (OIDC_*), else the mailed link."""
    office_env = dict(env)
    if not os.environ.get("OIDC_ISSUER"):
        office_env["BACKOFFICE_MAIL_LOGIN"] = "1"
        office_env["BACKOFFICE_MAIL_LOGIN_USERS"] = os.environ.get(
            "BACKOFFICE_MAIL_LOGIN_USERS", BACKOFFICE_USERS
        )
    process = start_service("backoffice", office_env)
    wait_ready("backoffice", process)
    return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--year", type=int, default=date.today().year - 1, help="the demo year")
    parser.add_argument("--no-demo", action="store_true", help="start empty")
    parser.add_argument(
        "--reset", action="store_true", help="throw away the local databases and topics first"
    )
    args = parser.parse_args(argv)
    # Ctrl-C also when started in the background, where the shell hands us SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.reset:  # databases and topics go together: one without the other would disagree
        local_kafka.stop(LOCAL / "kafka")
        for folder in (LOCAL / "data", LOCAL / "kafka", LOCAL / "mail"):
            shutil.rmtree(folder, ignore_errors=True)

    env = {
        **local_secrets(),
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(MAIL_SMTP_PORT),
        "FEEDBACK_PUBLIC_URL": f"http://127.0.0.1:{DEFAULT_PORTS['feedback']}",
        "NEWSLETTER_PUBLIC_URL": f"http://127.0.0.1:{DEFAULT_PORTS['newsletter']}",
    }
    print("Kafka starten (lokaal, zonder Docker) ...", flush=True)
    local_kafka.start(LOCAL / "kafka", 9092)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    catcher: subprocess.Popen[bytes] | None = None
    office: list[subprocess.Popen[bytes]] = []  # the back office, started once the services are ready
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nAlles stoppen ...", flush=True)
        for process in [*office, *processes.values()]:
            if process.poll() is None:
                process.terminate()
        for process in [*office, *processes.values()]:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        if catcher is not None and catcher.poll() is None:  # after the services: the last mails land
            catcher.terminate()
            try:
                catcher.wait(10)
            except subprocess.TimeoutExpired:
                catcher.kill()
        local_kafka.stop(LOCAL / "kafka")
        print("Gestopt.", flush=True)

    def terminated(*_args: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, terminated)
    try:
        print("mailcatcher starten ...", flush=True)
        catcher = start_mail_catcher()
        for name in available_services():
            print(f"{name} starten ...", flush=True)
            processes[name] = start_service(name, env)
        for name, process in processes.items():
            wait_ready(name, process)
        print("back office starten ...", flush=True)
        office.append(start_backoffice(env))
        staff = issue_token(env["AUTH_SECRET"], "demo.medewerker@vvsg.be", "staff")
        viewer = issue_token(env["AUTH_SECRET"], "dashboard@vvsg.be", "viewer")
        kpis: dict[str, object] | None = None
        if not args.no_demo:
            print(f"Demogegevens voor {args.year} aanmaken via de API's ...", flush=True)
            urls = {name: f"http://127.0.0.1:{DEFAULT_PORTS[name]}" for name in processes}
            began = time.monotonic()
            loaded = demo.load(urls, staff, args.year, link_secret=env["LINK_SECRET"])
            kpis = loaded.kpis
            print(f"  (demo: {time.monotonic() - began:.0f} s)", flush=True)
        kpi_url = f"http://127.0.0.1:{DEFAULT_PORTS['kpi']}"
        if "kpi" in processes and not args.no_demo:
            if kpis is None:  # the demo was there already: ask the KPI service itself
                answer = httpx.get(
                    f"{kpi_url}/kpis/{args.year}", headers={"Authorization": f"Bearer {viewer}"}, timeout=30
                )
                kpis = answer.json() if answer.status_code == 200 else None
            if kpis:
                print(f"\nKPI's {args.year} (waarde, doel, status):\n{kpi_table(kpis)}")
                print(
                    f"  (nieuwsbrieven en de gebruikersbevraging dateert de dienst zelf: die tellen in "
                    f"{date.today().year})"
                )
        print("\nHet systeem draait. Open (API-documentatie per dienst):")
        for name in processes:
            base = f"http://127.0.0.1:{DEFAULT_PORTS[name]}"
            print(f"  {name + ':':<30} {base}/docs  (AsyncAPI: {base}/asyncapi)")
        if "kpi" in processes:
            if answers_200(f"{kpi_url}/dashboard", viewer):
                print(
                    f"  {'KPI-dashboard:':<30} {kpi_url}/dashboard  (met de dashboardsleutel hieronder; "
                    f"jaar {args.year})"
                )
            for year in (args.year, date.today().year):
                print(f"  {f'KPI-antwoord {year} (JSON):':<30} {kpi_url}/kpis/{year}")
        for label, url in public_pages(list(processes)):
            print(f"  {label + ':':<30} {url}")
        if catcher is not None:
            print(f"  {'verzonden mails (mailcatcher):':<30} http://127.0.0.1:{MAIL_WEB_PORT}")
        print(f"  {'back office:':<30} http://127.0.0.1:{BACKOFFICE_PORT}", end="")
        if os.environ.get("OIDC_ISSUER"):
            print(f"  (aanmelden bij {os.environ['OIDC_ISSUER']})")
        else:
            users = os.environ.get("BACKOFFICE_MAIL_LOGIN_USERS", BACKOFFICE_USERS).replace(",", ", ")
            print(f"  (aanmeldlink per mail naar {users}; de mail staat in de mailcatcher)")
        print(f"\nToegangssleutel medewerker (Authorize in /docs):\n  {staff}")
        print(f"Toegangssleutel dashboard (viewer):\n  {viewer}")
        print("\nLogs staan in .local/logs/. Ctrl-C stopt alles.", flush=True)
        while all(p.poll() is None for p in processes.values()):
            time.sleep(1)
        failed = [n for n, p in processes.items() if p.poll() is not None]
        print(f"{', '.join(failed)} stopte onverwacht; zie .local/logs/", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
