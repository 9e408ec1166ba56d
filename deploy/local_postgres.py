"""A throwaway PostgreSQL cluster from the OS packages, for tests on a machine without Docker.

    python -m deploy.local_postgres start   # prints the URL, e.g. postgresql://vvsg@127.0.0.1:55432/postgres
    python -m deploy.local_postgres stop

Runs as the `postgres` OS user when started by root (PostgreSQL refuses to run as root), listens on
127.0.0.1 only, trusts local connections and skips fsync: it is for tests, not for data you keep.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

# the `postgres` user must reach the cluster's folder, which a checkout under /root is not; a
# developer's throwaway cluster, so the fixed name is fine here (VVSG_PG_DIR moves it)
DEFAULT_DIR = Path(os.environ.get("VVSG_PG_DIR", "/tmp/vvsg-postgres"))  # nosec B108
DEFAULT_PORT = 55432
USER = "vvsg"


def bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def url(port: int = DEFAULT_PORT) -> str:
    return f"postgresql://{USER}@127.0.0.1:{port}/postgres"


def start(data_dir: Path = DEFAULT_DIR, port: int = DEFAULT_PORT) -> str:
    binaries = bin_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(data_dir, owner.pw_uid, owner.pw_gid)
    if not (data_dir / "PG_VERSION").exists():
        subprocess.run(
            _as_owner(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    USER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    status = subprocess.run(
        _as_owner([str(binaries / "pg_ctl"), "-D", str(data_dir), "status"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if status.returncode != 0:
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {data_dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        subprocess.run(
            _as_owner(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(data_dir),
                    "-o",
                    options,
                    "-l",
                    str(data_dir / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return url(port)


def stop(data_dir: Path = DEFAULT_DIR) -> None:
    if (data_dir / "PG_VERSION").exists():
        subprocess.run(
            _as_owner([str(bin_dir() / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["start", "stop", "url"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    if args.command == "start":
        print(start(args.dir, args.port))
    elif args.command == "stop":
        stop(args.dir)
    else:
        print(url(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
