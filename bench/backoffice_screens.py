"""Issue 15: "every screen answers in ≤ 200 ms server time with a year of demo data". The five services
and the back office run as processes (SQLite, fresh topics on the broker of bench.common), a mail
catcher takes the demo's mails, the demo year is loaded through the services' APIs exactly as `bin/up`
does (ops.demo.load, full size unless --scale), and then every back-office screen — each list and
each detail page, the largest detail of its kind — is asked N times (GET, one after the other, after
a warm-up request and once the services are done with the demo's aftermath). A screen that has
used up --screen-seconds stops early (with at least 3 requests: its p95 is then its maximum), which
keeps a run under about four minutes however slow a screen is. The table gives n, p50, p95 and max
per screen and flags those whose p95 is over the budget, and what each request of the screen asked of
others: HTTP calls to the services and Kafka clients started (the back office runs as
bench.counting_backoffice, which counts them). Those counts do not depend on how busy the machine is.

    python -m bench.backoffice_screens [--n 20] [--scale 1.0] [--budget-ms 200] [--screen-seconds 3]
                                       [--screens sessie,feedback,beheer]

--screens measures only the screens whose name contains one of the given parts (the demo is still
loaded in full).

The time is the whole answer as a client on the same machine sees it (loopback: the server's time
plus well under a millisecond); it includes the back office's calls to the services, which is the
time staff wait for. The session is the signed cookie the back office's sign-in sets (sealed here
with the same AUTH_SECRET): the benchmark measures the screens, not the identity provider.
Exit status 1 when a screen is over the budget or does not answer 200.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench.common import broker, free_port, fresh_prefix
from deploy.mail_catcher import MailCatcher
from ops.demo import load
from services.backoffice.session import SESSION_COOKIE, StaffSession, cookie_key
from shared.auth import Role, issue_token

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("members", "events", "feedback", "newsletter", "kpi")
AUTH_SECRET = "bench-secret-" + "s" * 40
LINK_SECRET = "bench-link-secret-" + "l" * 40


def start(
    name: str, env: dict[str, str], log_dir: Path, module: str = ""
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (log_dir / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", module or f"services.{name}"],
        cwd=ROOT,
        env={**os.environ, **env, "HTTP_PORT": str(port), "HTTP_HOST": "127.0.0.1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} stopped: {(log_dir / f'{name}.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"{name} did not become ready")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def session_cookie(role: Role, subject: str) -> dict[str, str]:
    """The cookie the back office's sign-in would set for this person (same key, same claims)."""
    staff = StaffSession.new(subject, subject, role, 60)
    return {SESSION_COOKIE: staff.seal(cookie_key(AUTH_SECRET, "session"))}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def screens(api: Callable[[str, str, dict[str, Any] | None], Any], year: int) -> list[tuple[str, str]]:
    """(name, path) of every back-office screen that answers a GET, its detail pages filled with the
    largest record of their kind in the demo year (the most registrations, the most members, …)."""
    organisations = api("members", "/organisations", {"limit": 200})["items"]
    people_per_organisation = {
        o["id"]: api("members", "/members", {"organisation_id": o["id"], "state": "all", "limit": 1})["total"]
        for o in organisations
    }
    organisation = max(people_per_organisation, key=lambda k: people_per_organisation[k])
    member = api("members", "/members", {"organisation_id": organisation, "state": "all", "limit": 1})
    member_id = member["items"][0]["id"]
    held = api("events", "/sessions", {"year": year, "status": "held", "limit": 500})["items"]
    session = max(held, key=lambda s: s["registered"] + s.get("waitlisted", 0))
    surveys = api("feedback", "/surveys", None)
    issues = api("newsletter", "/issues", {"limit": 1})["items"]
    month = f"{year}-{session['starts_at'][5:7]}"
    paths = [
        ("overzicht", "/"),
        ("leden", "/leden"),
        ("leden zoeken", "/leden?q=an"),
        ("lid", f"/leden/{member_id}"),
        ("lid bewerken", f"/leden/{member_id}/bewerken"),
        ("lid toevoegen", "/leden/nieuw"),
        ("organisaties", "/organisaties"),
        (f"organisatie ({people_per_organisation[organisation]} leden)", f"/organisaties/{organisation}"),
        ("organisatie bewerken", f"/organisaties/{organisation}/bewerken"),
        ("organisatie toevoegen", "/organisaties/nieuw"),
        ("activiteiten", "/activiteiten"),
        ("activiteiten van het jaar", f"/activiteiten?van={year}-01-01&tot={year}-12-31"),
        ("kalender", f"/activiteiten/kalender?maand={month}"),
        ("sessie plannen", "/activiteiten/nieuw"),
        (f"sessie ({session['registered']} ingeschreven)", f"/activiteiten/{session['id']}"),
        ("aanwezigheid", f"/activiteiten/{session['id']}/aanwezigheid"),
        ("adviesgesprekken", "/activiteiten/advies"),
        ("trajecten", "/activiteiten/trajecten"),
        ("feedback", f"/feedback?jaar={year}"),
        ("feedback van een sessie", f"/feedback/sessies/{session['id']}"),
        ("bevragingen", "/feedback/bevragingen"),
        ("bevraging openen", "/feedback/bevragingen/nieuw"),
        ("nieuwsbrief", "/nieuwsbrief"),
        ("nieuwsbrief schrijven", "/nieuwsbrief/nieuw"),
        ("abonnees", "/nieuwsbrief/abonnees"),
        ("artikels en goede praktijken", "/nieuwsbrief/communicatie"),
        ("kpi (demojaar)", f"/kpi?jaar={year}"),
        ("kpi (lopend jaar)", "/kpi"),
        ("beheer", "/beheer"),
        ("beheer: één topic", "/beheer/members.contacts"),
    ]
    if surveys:
        paths.append(("bevraging", f"/feedback/bevragingen/{surveys[0]['id']}"))
    if issues:
        paths.append(("verstuurde nieuwsbrief", f"/nieuwsbrief/{issues[0]['id']}"))
    return paths


Measured = tuple[str, str, int, list[float], float, float]


def tally(path: Path) -> int:
    """What bench.counting_backoffice counted in this file so far (one byte a call)."""
    return path.stat().st_size if path.exists() else 0


def measure(
    office: str, paths: list[tuple[str, str]], n: int, screen_seconds: float, counts: tuple[Path, Path]
) -> list[Measured]:
    """N timed GETs per screen after one warm-up; a screen that has used up `screen_seconds` stops
    early (at least 3 timed requests), so that a slow screen shows as slow without the run taking long.
    Per screen also the HTTP calls and Kafka clients one request of it took (over all its requests)."""
    staff = session_cookie("staff", "bench.medewerker@vvsg.be")
    admin = session_cookie("admin", "bench.beheerder@vvsg.be")  # Beheer is for admins alone
    results = []
    with httpx.Client(base_url=office, timeout=60) as client:
        for name, path in paths:
            cookies = admin if path.startswith("/beheer") else staff
            client.cookies.clear()
            client.cookies.update(cookies)
            status = 0
            http_before, kafka_before = tally(counts[0]), tally(counts[1])
            began_screen = time.perf_counter()  # the warm-up counts against the screen's time too
            status = client.get(path).status_code  # warm-up: templates compiled, connections open
            timings: list[float] = []
            while len(timings) < n:
                if len(timings) >= 3 and time.perf_counter() - began_screen > screen_seconds:
                    break
                began = time.perf_counter()
                answer = client.get(path)
                timings.append((time.perf_counter() - began) * 1000)
                status = answer.status_code if answer.status_code != 200 else status
            requests = len(timings) + 1  # and the warm-up
            http_calls = (tally(counts[0]) - http_before) / requests
            kafka_clients = (tally(counts[1]) - kafka_before) / requests
            results.append((name, path, status, timings, http_calls, kafka_clients))
    return results


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes used so far (Linux /proc; clock ticks of 1/100 s)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def settle(pids: list[int], timeout: float = 60.0) -> float:
    """Wait until the services are done with the demo's aftermath (mails going out, projections): until
    they use under a tenth of a core over two seconds, or `timeout`. Returns the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        before = cpu_seconds(pids)
        time.sleep(2)
        if cpu_seconds(pids) - before < 0.2:
            break
    return time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20, help="requests per screen")
    parser.add_argument("--scale", type=float, default=1.0, help="the demo's size (1.0: a full year)")
    parser.add_argument("--budget-ms", type=float, default=200.0)
    parser.add_argument(
        "--screen-seconds", type=float, default=3.0, help="stop a slow screen after this (≥ 3 requests)"
    )
    parser.add_argument(
        "--screens", default="", help="only the screens whose name contains one of these (comma-separated)"
    )
    args = parser.parse_args(argv)
    wanted = [part.strip() for part in args.screens.split(",") if part.strip()]
    year = date.today().year - 1  # as bin/up: the demo fills last year
    began = time.monotonic()
    with broker() as bootstrap, tempfile.TemporaryDirectory(prefix="vvsg-bench-screens-") as folder:
        work = Path(folder)
        prefix = fresh_prefix(bootstrap)
        catcher = MailCatcher(work / "mail", smtp_port=free_port(), http_port=free_port()).start()
        env = {
            "AUTH_SECRET": AUTH_SECRET,
            "LINK_SECRET": LINK_SECRET,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(catcher.smtp_port),
            "PUBLIC_RATE_PER_MINUTE": "100000",  # the demo answers every feedback form from here
            "LOG_LEVEL": "WARNING",
        }
        processes: list[subprocess.Popen[bytes]] = []
        try:

            def one(name: str) -> tuple[subprocess.Popen[bytes], str]:
                return start(name, {**env, "DATABASE_URL": f"sqlite:///{work}/{name}.db"}, work)

            with ThreadPoolExecutor(2) as pool:  # two start-ups at once: two cores
                started = list(pool.map(one, SERVICES))
            processes += [process for process, _ in started]
            urls = {name: url for name, (_, url) in zip(SERVICES, started, strict=True)}
            counts = (work / "http-calls", work / "kafka-clients")
            office_process, office = start(
                "backoffice",
                {
                    **env,
                    "BENCH_HTTP_COUNT": str(counts[0]),
                    "BENCH_KAFKA_COUNT": str(counts[1]),
                    **{f"{name.upper()}_URL": url for name, url in urls.items()},
                    # no provider is needed: the session cookie is sealed here (see the docstring)
                    "OIDC_ISSUER": "",
                },
                work,
                module="bench.counting_backoffice",
            )
            processes.append(office_process)
            print(f"services ready after {time.monotonic() - began:.0f} s; loading the demo year {year} ...")
            loading = time.monotonic()
            lines: list[str] = []
            token = issue_token(AUTH_SECRET, "demo@vvsg.be", "staff")
            demo = load(urls, token, year, lines.append, scale=args.scale, link_secret=LINK_SECRET)
            if demo.kpis is None:
                print("\n".join(lines[-10:]))
                raise SystemExit("the demo did not reach the KPI service")
            print(f"demo loaded in {time.monotonic() - loading:.0f} s")

            headers = {"Authorization": f"Bearer {token}"}

            def api(service: str, path: str, params: dict[str, Any] | None) -> Any:
                answer = httpx.get(f"{urls[service]}{path}", params=params, headers=headers, timeout=60)
                answer.raise_for_status()
                return answer.json()

            paths = screens(api, year)
            if wanted:
                paths = [(name, path) for name, path in paths if any(part in name for part in wanted)]
            waited = settle([process.pid for process in processes])
            print(f"the services settled after {waited:.0f} s")
            measuring = time.monotonic()
            load_before = os.getloadavg()[0]  # a shared machine: how busy it was is part of the figures
            results = measure(office, paths, args.n, args.screen_seconds, counts)
            print(
                f"{len(paths)} screens, up to {args.n} requests each, "
                f"in {time.monotonic() - measuring:.0f} s "
                f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
                f"{os.cpu_count()} cores)\n"
            )
        finally:
            stop(processes)
            catcher.stop()

    print(
        f"{'screen':34} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'calls':>6} {'kafka':>6}  status"
    )
    over = []
    for name, _path, status, timings, http_calls, kafka_clients in results:
        p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
        flag = ""
        if p95 > args.budget_ms:
            flag = f"  > {args.budget_ms:.0f} ms"
            over.append(name)
        if status != 200:
            flag += f"  HTTP {status}"
            over.append(name)
        print(
            f"{name:34} {len(timings):3} {p50:8.1f} {p95:8.1f} {max(timings):8.1f} "
            f"{http_calls:6.1f} {kafka_clients:6.1f}  {status}{flag}"
        )
    verdict = ", ".join(over) or "none"
    print(
        f"\ntotal {time.monotonic() - began:.0f} s; over {args.budget_ms:.0f} ms (p95) or not 200: {verdict}"
    )
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
