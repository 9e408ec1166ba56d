"""A real OpenID Connect provider without Docker: Keycloak's server distribution from Maven Central
(org.keycloak:keycloak-quarkus-dist, a zip), run in development mode on 127.0.0.1 with the realm of
deploy/keycloak/realm-vvsg.json (a public client with PKCE for the back office, one user per role).

    python -m deploy.local_keycloak fetch           # into ~/.cache/vvsg-keycloak/<version>/
    python -m deploy.local_keycloak start --port 8180 --state .local/keycloak
    python -m deploy.local_keycloak stop --state .local/keycloak

Java 21+ is needed (JAVA_HOME, else /usr/lib/jvm/temurin-25-jdk-amd64, else `java` on the PATH). The
realm lives in memory (`--db=dev-mem`): every start imports it afresh, nothing is kept.

Startup time: `kc.sh start-dev` re-runs Quarkus' build step at every start (minutes on a busy
machine), so fetch() builds the distribution once (`kc.sh build --db=dev-mem`) and start() runs the
built server (`kc.sh start --optimized`) over plain HTTP on the loopback address, which takes seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
# the newest 26.x on Maven Central when this was written; KEYCLOAK_VERSION overrides it
KEYCLOAK_VERSION = os.environ.get("KEYCLOAK_VERSION", "26.7.3")
REALM_FILE = HERE / "keycloak" / "realm-vvsg.json"
REALM = "vvsg"
CLIENT_ID = "vvsg-backoffice"
JAVA_CANDIDATES = ("/usr/lib/jvm/temurin-25-jdk-amd64",)
# the users of realm-vvsg.json: username -> (password, realm role)
USERS: dict[str, tuple[str, str | None]] = {
    "an.admin": ("admin-wachtwoord", "vvsg-admin"),
    "sam.staff": ("staff-wachtwoord", "vvsg-staff"),
    "pat.partner": ("partner-wachtwoord", "mediawijs"),
    "vic.viewer": ("viewer-wachtwoord", "viewer"),
    "nora.norole": ("norole-wachtwoord", None),
}
ROLE_MAP = "vvsg-admin=admin,vvsg-staff=staff,mediawijs=partner,viewer=viewer"


def cache_dir() -> Path:
    return (
        Path(os.environ.get("KEYCLOAK_CACHE_DIR", Path.home() / ".cache" / "vvsg-keycloak"))
        / KEYCLOAK_VERSION
    )


def home() -> Path:
    return cache_dir() / f"keycloak-{KEYCLOAK_VERSION}"


def fetch() -> Path:
    """The unpacked distribution, fetched with Maven and unpacked once."""
    kc_home = home()
    if (kc_home / "bin" / "kc.sh").exists():
        return kc_home
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SystemExit("Maven (mvn) is needed to fetch Keycloak; install it first")
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    print(f"fetching Keycloak {KEYCLOAK_VERSION} from Maven Central into {target} ...", flush=True)
    subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "dependency:copy",
            f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:zip",
            f"-DoutputDirectory={target}",
        ],
        check=True,
    )
    archive = target / f"keycloak-quarkus-dist-{KEYCLOAK_VERSION}.zip"
    unpacking = target / "unpacking"
    shutil.rmtree(unpacking, ignore_errors=True)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(unpacking)
    for script in (unpacking / f"keycloak-{KEYCLOAK_VERSION}" / "bin").glob("*.sh"):
        script.chmod(0o755)
    (unpacking / f"keycloak-{KEYCLOAK_VERSION}").rename(kc_home)  # atomic: a half-unpacked copy never counts
    shutil.rmtree(unpacking, ignore_errors=True)
    archive.unlink()
    return kc_home


BUILD_OPTIONS = ("--db=dev-mem", "--health-enabled=false", "--metrics-enabled=false")


def build() -> Path:
    """Quarkus' build step, once per set of build options (a marker file remembers them)."""
    kc_home = fetch()
    marker = kc_home / "data" / "vvsg-build-options"
    if marker.exists() and marker.read_text() == " ".join(BUILD_OPTIONS):
        return kc_home
    print("building Keycloak once for quick starts ...", flush=True)
    env = {**os.environ, "JAVA_HOME": java_home()}
    subprocess.run([str(kc_home / "bin" / "kc.sh"), "build", *BUILD_OPTIONS], env=env, check=True)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(" ".join(BUILD_OPTIONS))
    return kc_home


def java_home() -> str:
    for candidate in (os.environ.get("JAVA_HOME", ""), *JAVA_CANDIDATES):
        if candidate and (Path(candidate) / "bin" / "java").exists():
            return candidate
    java = shutil.which("java")
    if java is None:
        raise SystemExit("Java 21 or newer is needed to run Keycloak")
    return str(Path(java).resolve().parent.parent)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Provider:
    """A running Keycloak: its base URL and the issuer of the vvsg realm."""

    base_url: str
    pid: int

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{REALM}"


def start(state_dir: Path, port: int = 8180, timeout: float = 240.0) -> Provider:
    """Start the built Keycloak with the vvsg realm; wait until the realm answers."""
    kc_home = build()
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    imports = kc_home / "data" / "import"
    imports.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REALM_FILE, imports / REALM_FILE.name)
    env = {
        **os.environ,
        "JAVA_HOME": java_home(),
        "JAVA_OPTS_KC_HEAP": os.environ.get("KEYCLOAK_HEAP", "-Xms64m -Xmx768m"),
    }
    log = (state_dir / "keycloak.log").open("ab")
    process = subprocess.Popen(
        [
            str(kc_home / "bin" / "kc.sh"),
            "start",
            "--optimized",
            "--http-enabled=true",
            f"--http-port={port}",
            "--http-host=127.0.0.1",
            "--hostname-strict=false",
            f"--http-management-port={free_port()}",
            "--import-realm",
            "--log-level=WARN,org.keycloak.services.resources.KeycloakApplication:INFO",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop() ends the JVM kc.sh started
    )
    (state_dir / "keycloak.pid").write_text(str(process.pid))
    provider = Provider(base_url=f"http://127.0.0.1:{port}", pid=process.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Keycloak stopped at start; see {state_dir / 'keycloak.log'}")
        try:
            if httpx.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                return provider
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop(state_dir)
    raise RuntimeError(f"Keycloak did not answer within {timeout:.0f} s; see {state_dir / 'keycloak.log'}")


def stop(state_dir: Path) -> None:
    pid_file = state_dir.resolve() / "keycloak.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
        for _ in range(100):
            os.killpg(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pid_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("fetch", "build", "start", "stop"))
    parser.add_argument("--port", type=int, default=8180)
    parser.add_argument("--state", type=Path, default=Path(".local/keycloak"))
    args = parser.parse_args(argv)
    if args.command in ("fetch", "build"):
        began = time.monotonic()
        print(build(), f"({time.monotonic() - began:.1f} s)")
    elif args.command == "start":
        began = time.monotonic()
        provider = start(args.state, args.port)
        print(
            f"Keycloak {KEYCLOAK_VERSION} ready in {time.monotonic() - began:.1f} s; issuer {provider.issuer}"
        )
    else:
        stop(args.state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
