"""The compose stack started for real under podman, checked end to end (run by bin/compose-smoke).

Starts docker-compose.yml (the back office included) with docker-compose.podman.yml (the locally
built images of deploy/images/build) as project `vvsg-smoke`, then proves: every service becomes healthy,
the `topics` job created the topics and exited 0, PostgreSQL's init script created one database per
service, a member command sent to the members container reaches the KPI answer of the kpi container
through Kafka, the back office container shows that member and that figure on its screens (asking the
other containers over the compose network), and a restart of the Kafka container loses nothing (a
second command after it arrives, the first still counts once). Whatever happens, it removes the
containers, network and volumes it made (the images stay, as a cache).

Traffic goes only to 127.0.0.1 (the published ports) and to the containers started here. Every wait is
bounded; the whole run stops by itself.

Podman 4.3 (Debian bookworm) has no systemd here to schedule health checks, and podman-compose ignores
`service_healthy` with a podman older than 4.6. So this script walks the compose file's `depends_on`
itself: services start in waves (`podman-compose up --no-deps`), each once its dependencies meet their
conditions, and "healthy" means the container's own health check (`podman healthcheck run`) passed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiokafka.admin import AIOKafkaAdminClient

from services.backoffice.session import SESSION_COOKIE, StaffSession, cookie_key
from shared.auth import issue_token
from shared.clock import business_today
from shared.topics import all_topics

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "vvsg-smoke"
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.podman.yml")
SERVICE_PORTS = {"members": 8001, "events": 8002, "feedback": 8003, "newsletter": 8004, "kpi": 8005}
BACKOFFICE_PORT = 8000  # the back office's published port in docker-compose.yml
MEMBERS_KPI = "OD1.1-leden"  # members active today: one more for each member command
# runc, and ulimits the container may set (crun and the host's own limits fail on this kind of machine)
CONTAINERS_CONF = (
    '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n\n[engine]\nruntime = "runc"\n'
)

START = time.monotonic()


class SmokeError(Exception):
    """A check that failed: the message says which and what was seen."""


def say(message: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {message}", flush=True)


def ok(message: str) -> None:
    say(f"OK   {message}")


def run(args: list[str], timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise SmokeError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result


def wait_until(what: str, probe: Callable[[], bool], timeout: float, every: float = 2.0) -> float:
    """Call `probe` until it says yes; return the seconds it took, or fail after `timeout`."""
    began = time.monotonic()
    while True:
        if probe():
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise SmokeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))  # a listener on all interfaces holds this one too
        except OSError:
            return True
    return False


class Stack:
    """The compose project: podman-compose for up/down, podman for health, exec and restart."""

    def __init__(self, compose: str, env: dict[str, str]) -> None:
        self.compose = compose
        self.env = env
        self.was_healthy: set[str] = set()
        files: list[str] = []
        for name in COMPOSE_FILES:
            files += ["-f", str(ROOT / name)]
        self.base = [compose, "--in-pod", "false", "-p", PROJECT, *files]
        merged = self.compose_run(["config"]).stdout
        self.config: dict[str, Any] = yaml.safe_load(merged)

    def compose_run(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.base, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            cwd=ROOT,
            check=False,
        )
        if result.returncode != 0:
            raise SmokeError(
                f"podman-compose {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = self.config["services"]
        return services

    def container(self, service: str) -> str:
        names = run(
            [
                "podman", "ps", "-a", "--format", "{{.Names}}",
                "--filter", f"label=io.podman.compose.project={PROJECT}",
                "--filter", f"label=com.docker.compose.service={service}",
            ]
        ).stdout.split()  # fmt: skip
        if len(names) != 1:
            raise SmokeError(f"expected one container for {service}, found {names}")
        return names[0]

    def state(self, service: str) -> dict[str, Any]:
        inspected = json.loads(run(["podman", "inspect", self.container(service)]).stdout)
        state: dict[str, Any] = inspected[0]["State"]
        return state

    def healthy(self, service: str) -> bool:
        """The container's own health check, run now (nothing schedules it without systemd)."""
        if not self.state(service).get("Running"):
            return False
        return (
            run(["podman", "healthcheck", "run", self.container(service)], timeout=60, check=False).returncode
            == 0
        )

    def completed(self, service: str) -> bool:
        state = self.state(service)
        if state.get("Status") != "exited":
            return False
        if state.get("ExitCode") != 0:
            logs = run(["podman", "logs", self.container(service)], check=False)
            raise SmokeError(
                f"{service} exited with {state.get('ExitCode')}:\n{logs.stdout[-2000:]}{logs.stderr[-2000:]}"
            )
        return True

    def meets(self, service: str, condition: str) -> bool:
        if condition == "service_healthy":
            # as compose does: once a dependency was healthy, later dependents start without a new check
            if service in self.was_healthy:
                return True
            if self.healthy(service):
                self.was_healthy.add(service)
                return True
            return False
        if condition == "service_completed_successfully":
            return self.completed(service)
        return bool(self.state(service).get("Running"))

    def dependencies(self, name: str) -> dict[str, str]:
        """A service's `depends_on`: each dependency with its condition."""
        depends = self.services[name].get("depends_on", {})
        if isinstance(depends, list):
            return {dependency: "service_started" for dependency in depends}
        return {
            dependency: (spec or {}).get("condition", "service_started")
            for dependency, spec in depends.items()
        }

    def waves(self) -> list[list[str]]:
        """The services in start waves: each wave depends only on earlier ones (compose's start order)."""
        level: dict[str, int] = {}

        def depth(name: str) -> int:
            if name not in level:
                level[name] = 1 + max((depth(d) for d in self.dependencies(name)), default=-1)
            return level[name]

        for name in self.services:
            depth(name)
        return [sorted(n for n in level if level[n] == wave) for wave in range(max(level.values()) + 1)]

    def up(self, timeout: float) -> None:
        """Start wave by wave, once every dependency meets its condition; then wait until all are healthy."""
        for wave in self.waves():
            conditions = {(d, c) for name in wave for d, c in self.dependencies(name).items()}
            for dependency, condition in sorted(conditions):
                took = wait_until(
                    f"{dependency} {condition}", partial(self.meets, dependency, condition), timeout
                )
                say(f"     {dependency}: {condition} ({took:.0f} s)")
            self.compose_run(["up", "-d", "--no-deps", "--no-build", *wave])
            say(f"     started {', '.join(wave)}")
        for name, spec in self.services.items():
            if "healthcheck" in spec:
                wait_until(f"{name} healthy", partial(self.healthy, name), timeout)
                check = " ".join(spec["healthcheck"]["test"][1:])
                ok(f"{name} healthy (its health check: {check if len(check) < 60 else check[:57] + '...'})")

    def logs(self, service: str) -> str:
        result = run(["podman", "logs", self.container(service)], check=False)
        return result.stdout + result.stderr

    def down(self) -> None:
        """Remove every container, network and volume of the project, whatever state it is in."""
        subprocess.run(
            [*self.base, "down", "-v", "-t", "10"],
            capture_output=True,
            env=self.env,
            cwd=ROOT,
            timeout=180,
            check=False,
        )
        cleanup_leftovers()


def cleanup_leftovers() -> list[str]:
    """Containers, volumes and networks labelled with the project (an earlier run cut short): removed."""
    label = f"label=io.podman.compose.project={PROJECT}"
    removed: list[str] = []
    for kind, listing in (
        ("container", ["podman", "ps", "-a", "--filter", label, "--format", "{{.Names}}"]),
        ("volume", ["podman", "volume", "ls", "--filter", label, "--format", "{{.Name}}"]),
        ("network", ["podman", "network", "ls", "--filter", label, "--format", "{{.Name}}"]),
    ):
        for name in run(listing, check=False).stdout.split():
            remove = ["podman", "rm", "-f", "-v"] if kind == "container" else ["podman", kind, "rm", "-f"]
            run([*remove, name], check=False)
            removed.append(f"{kind} {name}")
    return removed


def http(
    method: str, url: str, token: str | None = None, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = str(uuid.uuid4())
    try:
        answer = httpx.request(method, url, content=data, headers=headers, timeout=15)
    except httpx.HTTPError as error:
        return 0, str(error)
    if answer.is_error:
        return answer.status_code, answer.text[:500]
    try:
        return answer.status_code, answer.json() if answer.content else None
    except ValueError as error:
        return 0, str(error)


def members_kpi(year: int, token: str) -> int | None:
    status, answer = http("GET", f"http://127.0.0.1:{SERVICE_PORTS['kpi']}/kpis/{year}", token)
    if status != 200:
        return None
    values = {kpi["code"]: kpi["value"] for kpi in answer["kpis"]}
    value = values.get(MEMBERS_KPI)
    return int(value) if value is not None else None


def wait_for_count(expected: int, year: int, token: str, timeout: float) -> float:
    seen: list[int | None] = [None]

    def probe() -> bool:
        seen[0] = members_kpi(year, token)
        return seen[0] == expected

    try:
        return wait_until(f"{MEMBERS_KPI} = {expected}", probe, timeout, every=1.0)
    except SmokeError as error:
        raise SmokeError(f"{error}; last seen {seen[0]}") from None


def add_member(token: str, organisation_id: str, n: int) -> str:
    status, member = http(
        "POST",
        f"http://127.0.0.1:{SERVICE_PORTS['members']}/members",
        token,
        {
            "first_name": "Smoke",
            "last_name": f"Test {n}",
            "email": f"smoke{n}.{secrets.token_hex(3)}@example.org",
            "organisation_id": organisation_id,
        },
    )
    if status != 201:
        raise SmokeError(f"POST /members answered {status}: {member}")
    return str(member["id"])


async def topic_names(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def back_office(auth_secret: str) -> None:
    """The back office container: healthy on its published port, an anonymous visit sent to sign in, and
    a staff session (the cookie its sign-in sets, sealed with the stack's AUTH_SECRET: no identity
    provider runs here) sees the smoke member on Leden and the KPI figure on KPI's — answers it can only
    have from the members and kpi containers over the compose network."""
    base = f"http://127.0.0.1:{BACKOFFICE_PORT}"
    status, _ = http("GET", f"{base}/health/ready")
    if status != 200:
        raise SmokeError(f"backoffice: /health/ready on 127.0.0.1:{BACKOFFICE_PORT} answered {status}")
    anonymous = httpx.get(f"{base}/leden", timeout=15)
    if anonymous.status_code != 303 or not anonymous.headers.get("location", "").startswith("/aanmelden"):
        raise SmokeError(f"backoffice: an anonymous /leden answered {anonymous.status_code}, not sign-in")
    staff = StaffSession.new("compose-smoke@vvsg.be", "Rooktest", "staff", 10)
    cookies = {SESSION_COOKIE: staff.seal(cookie_key(auth_secret, "session"))}
    seen: dict[str, str] = {}

    def screens_show_the_member() -> bool:
        for path in ("/leden?q=Smoke", "/kpi"):
            try:
                seen[path] = httpx.get(f"{base}{path}", cookies=cookies, timeout=15).text
            except httpx.HTTPError as error:
                seen[path] = str(error)
        kpi_row = seen["/kpi"].partition(f">{MEMBERS_KPI}</td>")[2].partition("</tr>")[0]
        # the value cell as services/backoffice/kpi.py writes it: one member, "1 lid" (a no-break space)
        return "Smoke Test 1" in seen["/leden?q=Smoke"] and ">1\u00a0lid</td>" in kpi_row

    try:
        wait_until("the back office's screens to show the member", screens_show_the_member, 60, every=1.0)
    except SmokeError as error:
        kpi_row = seen.get("/kpi", "").partition(f">{MEMBERS_KPI}</td>")[2].partition("</tr>")[0]
        member_listed = "Smoke Test 1" in seen.get("/leden?q=Smoke", "")
        raise SmokeError(
            f"{error}; /leden lists the member: {member_listed}; "
            f"/kpi's {MEMBERS_KPI} row: {kpi_row[:300]!r}; "
            f"the pages: {str(seen)[:1500]}"
        ) from None
    ok(
        f"backoffice on 127.0.0.1:{BACKOFFICE_PORT}: sign-in asked; Leden shows the member, "
        f"KPI's {MEMBERS_KPI} 1"
    )


def podman_compose() -> str:
    """podman-compose 1.x, the OS package's or (too old: 1.0.3 has no --no-deps here) a pinned pip one."""
    found = shutil.which("podman-compose")
    if found:
        version = run([found, "--version"], check=False).stdout
        if "podman-compose version 1." in version and "version 1.0." not in version:
            return found
    venv = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vvsg-compose" / "venv"
    tool = venv / "bin" / "podman-compose"
    if not tool.exists():
        say(f"installing podman-compose 1.6.0 from PyPI into {venv}")
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "pip"), "install", "-q", "podman-compose==1.6.0"], timeout=300)
    return str(tool)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timeout", type=float, default=240, help="seconds any one wait may take")
    parser.add_argument("--keep", action="store_true", help="leave the stack running (for a look around)")
    args = parser.parse_args(argv)

    taken = [port for port in (*SERVICE_PORTS.values(), BACKOFFICE_PORT) if port_taken(port)]
    if taken:
        print(f"FAIL ports {taken} are in use; the compose files publish the services there", file=sys.stderr)
        return 2
    gone = cleanup_leftovers()
    if gone:
        say(f"removed what an earlier run left: {', '.join(gone)}")

    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", prefix="vvsg-containers-", delete=False)  # noqa: SIM115
    conf.write(CONTAINERS_CONF)
    conf.close()
    os.environ["CONTAINERS_CONF"] = conf.name  # for podman here and under podman-compose
    auth_secret = secrets.token_hex(32)
    kafka_port = free_port()
    env = {
        **os.environ,
        "AUTH_SECRET": auth_secret,
        "LINK_SECRET": secrets.token_hex(32),
        "KAFKA_HOST_PORT": str(kafka_port),
        "POSTGRES_HOST_PORT": str(free_port()),
        "MAILPIT_UI_HOST_PORT": str(free_port()),
        "MAILPIT_SMTP_HOST_PORT": str(free_port()),
    }
    stack = Stack(podman_compose(), env)
    failed = False
    try:
        say(
            f"compose project {PROJECT} ({' + '.join(COMPOSE_FILES)}), start order: "
            + " -> ".join("[" + ", ".join(wave) + "]" for wave in stack.waves())
        )
        stack.up(args.timeout)

        # the one-shot topic job and the database init
        if stack.state("topics").get("ExitCode") != 0:
            raise SmokeError("topics did not exit 0")
        expected = {spec.name for spec in all_topics()}
        present = asyncio.run(topic_names(f"127.0.0.1:{kafka_port}"))
        if not expected <= present:
            raise SmokeError(f"topics missing after the topics job: {sorted(expected - present)}")
        ok(f"topics job exited 0; its {len(expected)} topics exist (asked on 127.0.0.1:{kafka_port})")
        databases = run(
            [
                "podman",
                "exec",
                stack.container("postgres"),
                "psql",
                "-U",
                "vvsg",
                "-d",
                "postgres",
                "-Atc",
                "SELECT datname FROM pg_database",
            ]
        ).stdout.split()
        if not set(SERVICE_PORTS) <= set(databases):
            raise SmokeError(f"init-databases.sql did not run: databases {databases}")
        if "10-init-databases.sql" not in stack.logs("postgres"):
            raise SmokeError("the postgres log does not show the init script")
        ok(
            "postgres ran 10-init-databases.sql: databases "
            + ", ".join(sorted(set(SERVICE_PORTS) & set(databases)))
        )
        for service, port in SERVICE_PORTS.items():
            status, _ = http("GET", f"http://127.0.0.1:{port}/health/ready")
            if status != 200:
                raise SmokeError(f"{service}: /health/ready on 127.0.0.1:{port} answered {status}")
        ok("every service answers /health/ready 200 on its published port")
        mail_ui = f"http://127.0.0.1:{env['MAILPIT_UI_HOST_PORT']}/"
        try:
            page = httpx.get(mail_ui, timeout=10)
        except httpx.HTTPError as error:
            raise SmokeError(f"the mail catcher's page {mail_ui}: {error}") from error
        if page.status_code != 200 or b"<html" not in page.content[:2000].lower():
            raise SmokeError(f"the mail catcher's page {mail_ui} answered {page.status_code}")
        ok(f"mail catcher (service mailpit) page answers 200 on {mail_ui}")

        # a member command through members -> Kafka -> kpi
        staff = issue_token(auth_secret, "compose-smoke", "staff")
        viewer = issue_token(auth_secret, "compose-smoke", "viewer")
        year = business_today().year
        status, organisation = http(
            "POST",
            f"http://127.0.0.1:{SERVICE_PORTS['members']}/organisations",
            staff,
            {"name": "Gemeente Rooktest", "kind": "lokaal_bestuur"},
        )
        if status != 201:
            raise SmokeError(f"POST /organisations answered {status}: {organisation}")
        before = members_kpi(year, viewer)
        if before != 0:
            raise SmokeError(f"{MEMBERS_KPI} before any member: {before}, expected 0")
        first = add_member(staff, organisation["id"], 1)
        took = wait_for_count(1, year, viewer, args.timeout)
        ok(f"POST /members ({first}) -> GET /kpis/{year} on kpi shows {MEMBERS_KPI} = 1 after {took:.1f} s")
        back_office(auth_secret)

        # restart the broker; nothing may be lost, nothing counted twice
        began = time.monotonic()
        run(["podman", "restart", "-t", "30", stack.container("kafka")], timeout=120)
        restarted = time.monotonic() - began
        wait_until("kafka healthy after its restart", partial(stack.healthy, "kafka"), args.timeout)
        ok(
            f"kafka container restarted (same volume) in {restarted:.0f} s, "
            f"healthy again {time.monotonic() - began - restarted:.0f} s later"
        )
        # topics are never auto-created (KAFKA_AUTO_CREATE_TOPICS_ENABLE false): still there = data kept
        present = asyncio.run(topic_names(f"127.0.0.1:{kafka_port}"))
        if not expected <= present:
            raise SmokeError(f"topics gone after the Kafka restart: {sorted(expected - present)}")
        ok(f"after the restart the broker still has its {len(expected)} topics")
        second = add_member(staff, organisation["id"], 2)
        took = wait_for_count(2, year, viewer, args.timeout)
        ok(f"POST /members ({second}) after the restart -> {MEMBERS_KPI} = 2 after {took:.1f} s")
        time.sleep(5)
        settled = members_kpi(year, viewer)
        if settled != 2:
            raise SmokeError(
                f"{MEMBERS_KPI} moved to {settled} after settling; expected 2 (each member once)"
            )
        for name in SERVICE_PORTS:
            wait_until(f"{name} healthy after the broker restart", partial(stack.healthy, name), args.timeout)
        ok(f"5 s later still {MEMBERS_KPI} = 2 (the first member counted once); every service healthy")
    except (SmokeError, subprocess.TimeoutExpired) as error:
        failed = True
        print(f"FAIL {error}", file=sys.stderr)
        for service in stack.services:
            try:
                tail = stack.logs(service)[-1500:]
            except SmokeError:
                continue
            print(f"---- last lines of {service}'s log\n{tail}", file=sys.stderr)
    finally:
        if args.keep and not failed:
            say(f"--keep: the stack stays up; remove it with: {' '.join(stack.base)} down -v")
        else:
            stack.down()
            left = cleanup_leftovers()
            say(
                "cleaned up: containers, network and volumes of the project removed"
                + (f" ({left})" if left else "")
            )
        os.unlink(conf.name)
    say(f"{'FAILED' if failed else 'PASSED'} in {time.monotonic() - START:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
