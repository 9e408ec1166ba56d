"""The whole system on this machine, without Docker: a local Kafka broker, every service that exists
(each on its SQLite database under .local/), the demo year, and the addresses to open. Ctrl-C stops
everything cleanly.

    python -m deploy.run_local [--year 2025] [--no-demo]
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

from deploy import demo, local_kafka
from shared.auth import issue_token
from shared.settings import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
ORDER = ["members", "events", "feedback", "newsletter", "kpi"]


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
        "DATABASE_URL": f"sqlite:///{LOCAL / 'data' / (name + '.db')}",
        "HTTP_PORT": str(DEFAULT_PORTS[name]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", f"services.{name}"],
        cwd=ROOT,
        env=service_env,
        stdout=(logs / f"{name}.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(name: str, process: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    url = f"http://127.0.0.1:{DEFAULT_PORTS[name]}/health/ready"
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
    if args.reset:  # databases and topics go together: one without the other would disagree
        local_kafka.stop(LOCAL / "kafka")
        for folder in (LOCAL / "data", LOCAL / "kafka"):
            shutil.rmtree(folder, ignore_errors=True)

    env = {**local_secrets(), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}
    print("Kafka starten (lokaal, zonder Docker) ...", flush=True)
    local_kafka.start(LOCAL / "kafka", 9092)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nAlles stoppen ...", flush=True)
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        local_kafka.stop(LOCAL / "kafka")
        print("Gestopt.", flush=True)

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        for name in available_services():
            print(f"{name} starten ...", flush=True)
            processes[name] = start_service(name, env)
        for name, process in processes.items():
            wait_ready(name, process)
        staff = issue_token(env["AUTH_SECRET"], "demo.medewerker@vvsg.be", "staff")
        viewer = issue_token(env["AUTH_SECRET"], "dashboard@vvsg.be", "viewer")
        if not args.no_demo:
            print(f"Demogegevens voor {args.year} aanmaken via de API's ...", flush=True)
            urls = {name: f"http://127.0.0.1:{DEFAULT_PORTS[name]}" for name in processes}
            demo.load(urls, staff, args.year)
        print("\nHet systeem draait. Open:")
        for name in processes:
            print(f"  {name:<11} API-documentatie  http://127.0.0.1:{DEFAULT_PORTS[name]}/docs")
        if "kpi" in processes:
            print(
                f"  KPI's {args.year} (JSON)        http://127.0.0.1:{DEFAULT_PORTS['kpi']}/kpis/{args.year}"
            )
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
