"""Apache Kafka without Docker: fetch the broker from Maven Central, run one KRaft node on 127.0.0.1.

    python -m deploy.local_kafka start [--dir .local/kafka] [--port 9092]   # fetch, format, start, topics
    python -m deploy.local_kafka stop  [--dir .local/kafka]
    python -m deploy.local_kafka fetch                                      # only download the jars

The jars land in ~/.cache/vvsg-kafka/<version>/libs (KAFKA_LIBS_DIR overrides); Java 17+ is needed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from shared.kafka import ensure_topics, wait_for_broker
from shared.topics import all_topics

HERE = Path(__file__).resolve().parent
KAFKA_VERSION = "4.1.1"


def libs_dir() -> Path:
    override = os.environ.get("KAFKA_LIBS_DIR")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "vvsg-kafka" / KAFKA_VERSION / "libs"


def fetch() -> Path:
    libs = libs_dir()
    if any(libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SystemExit("Maven (mvn) is needed to fetch the Kafka broker; install it first")
    print(f"fetching Apache Kafka {KAFKA_VERSION} from Maven Central into {libs} ...", flush=True)
    subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(HERE / "kafka" / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-Dkafka.version={KAFKA_VERSION}",
            f"-DoutputDirectory={libs}",
        ],
        check=True,
    )
    return libs


def _properties(data_dir: Path, port: int, controller_port: int) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir}",
            "num.partitions=3",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "min.insync.replicas=1",
            "group.initial.rebalance.delay.ms=0",
            "log.cleaner.backoff.ms=1000",
            "",
        ]
    )


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise SystemExit("Java 17 or newer is needed to run the Kafka broker")
    return java


def start(state_dir: Path, port: int = 9092, controller_port: int | None = None, heap: str = "512m") -> int:
    """Start a broker (or find the one already running there) and create the topics; return its pid."""
    libs = fetch()
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_file = state_dir / "kafka.pid"
    running = _running_pid(pid_file)
    bootstrap = f"127.0.0.1:{port}"
    if running is None:
        controller_port = controller_port or port + 1
        properties = state_dir / "server.properties"
        properties.write_text(_properties(state_dir / "data", port, controller_port))
        classpath = f"{libs}/*"
        java = _java()
        if not (state_dir / "data" / "meta.properties").exists():  # format once; restarts keep the data
            cluster_id = "-"
            while cluster_id.startswith("-"):  # the storage tool would read a leading "-" as an option
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            subprocess.run(
                [
                    java,
                    "-cp",
                    classpath,
                    f"-Dlog4j2.configurationFile={HERE / 'kafka' / 'log4j2.yaml'}",
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    cluster_id,
                    "-c",
                    str(properties),
                    "--ignore-formatted",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        log = (state_dir / "kafka.log").open("ab")
        process = subprocess.Popen(
            [
                java,
                f"-Xmx{heap}",
                f"-Xms{heap}",
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={HERE / 'kafka' / 'log4j2.yaml'}",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(properties),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        pid_file.write_text(str(process.pid))
        running = process.pid
    try:
        asyncio.run(wait_for_broker(bootstrap, timeout=90))
    except TimeoutError:
        stop(state_dir)
        tail = (state_dir / "kafka.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"Kafka did not start; the end of its log:\n{tail}") from None
    asyncio.run(ensure_topics(bootstrap, all_topics()))
    return running


def stop(state_dir: Path, timeout: float = 30.0) -> None:
    pid_file = state_dir.resolve() / "kafka.pid"
    pid = _running_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        waited, _status = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); /proc tells the truth
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def _running_pid(pid_file: Path) -> int | None:
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().strip())
    except ValueError:
        return None
    return pid if _alive(pid) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["fetch", "start", "stop"])
    parser.add_argument("--dir", type=Path, default=Path(".local/kafka"))
    parser.add_argument("--port", type=int, default=9092)
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(fetch())
    elif args.command == "start":
        pid = start(args.dir, args.port)
        print(
            f"Kafka is running on 127.0.0.1:{args.port} (pid {pid}); stop it with "
            f"`python -m deploy.local_kafka stop --dir {args.dir}`"
        )
    else:
        stop(args.dir)
        print("Kafka stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
