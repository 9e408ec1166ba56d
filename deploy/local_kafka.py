"""Apache Kafka without Docker: fetch the broker from Maven Central, run one KRaft node on 127.0.0.1,
or a cluster of three (each node broker and controller, its data kept under <dir>/node-<id>).

    python -m deploy.local_kafka start [--dir .local/kafka] [--port 9092]   # fetch, format, start, topics
    python -m deploy.local_kafka start --nodes 3 [--dir .local/kafka-cluster] [--port 9192]
    python -m deploy.local_kafka stop  [--dir .local/kafka]                  # either kind
    python -m deploy.local_kafka fetch                                      # only download the jars

A cluster's node n listens on port+2(n-1) (clients) and port+2(n-1)+1 (controller); its topics are
created with replication factor 3 and min.insync.replicas 2, the single node's with 1 and 1.

The jars land in ~/.cache/vvsg-kafka/<version>/libs (KAFKA_LIBS_DIR overrides); Java 17+ is needed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

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
            cluster_id = _new_cluster_id()
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


def _new_cluster_id() -> str:
    cluster_id = "-"
    while cluster_id.startswith("-"):  # the storage tool would read a leading "-" as an option
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return cluster_id


def free_port_range(count: int) -> int:
    """The first of `count` consecutive ports free on 127.0.0.1 (a cluster numbers its nodes' ports)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = int(probe.getsockname()[1])
        if first + count > 65535:
            continue
        taken: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                taken.append(socket.socket())
                taken[-1].bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for held in taken:
                held.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


class Cluster:
    """A KRaft cluster of `nodes` combined nodes on 127.0.0.1 with a static controller quorum (every
    node a voter): a majority of nodes must be up for the cluster to work. What it is (ports, cluster
    id) is kept in <dir>/cluster.json, so that a node restarts as itself and `stop` finds them all."""

    def __init__(self, state_dir: Path, nodes: int = 3, port: int = 9192, heap: str = "384m") -> None:
        self.dir = state_dir.resolve()
        described = self.dir / "cluster.json"
        if described.exists():
            known = json.loads(described.read_text())
            nodes, port, self.cluster_id = known["nodes"], known["port"], known["cluster_id"]
        else:
            self.cluster_id = _new_cluster_id()
        self.nodes, self.port, self.heap = nodes, port, heap
        self.replication = min(3, nodes)
        self.min_insync = max(1, self.replication - 1)

    @property
    def ids(self) -> list[int]:
        return list(range(1, self.nodes + 1))

    def client_port(self, node: int) -> int:
        return self.port + 2 * (node - 1)

    def controller_port(self, node: int) -> int:
        return self.port + 2 * (node - 1) + 1

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.client_port(n)}" for n in self.ids)

    def node_dir(self, node: int) -> Path:
        return self.dir / f"node-{node}"

    def pid(self, node: int) -> int | None:
        return _running_pid(self.node_dir(node) / "kafka.pid")

    def _properties(self, node: int) -> str:
        voters = ",".join(f"{n}@127.0.0.1:{self.controller_port(n)}" for n in self.ids)
        client, controller = self.client_port(node), self.controller_port(node)
        return "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={node}",
                f"controller.quorum.voters={voters}",
                f"listeners=PLAINTEXT://127.0.0.1:{client},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{client},CONTROLLER://127.0.0.1:{controller}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={self.node_dir(node) / 'data'}",
                "num.partitions=3",
                "auto.create.topics.enable=false",
                f"default.replication.factor={self.replication}",
                f"min.insync.replicas={self.min_insync}",
                "unclean.leader.election.enable=false",
                f"offsets.topic.replication.factor={self.replication}",
                "offsets.topic.num.partitions=10",
                f"transaction.state.log.replication.factor={self.replication}",
                f"transaction.state.log.min.isr={self.min_insync}",
                "group.initial.rebalance.delay.ms=0",
                # a killed node is noticed, and its partitions led by another, within seconds
                "broker.session.timeout.ms=6000",
                "broker.heartbeat.interval.ms=1000",
                "replica.lag.time.max.ms=10000",
                "log.cleaner.backoff.ms=1000",
                "",
            ]
        )

    def start(self, timeout: float = 120.0) -> str:
        """Start every node that is not running, wait until all of them are brokers of the cluster,
        create the topics; return the bootstrap servers."""
        libs = fetch()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "cluster.json").write_text(
            json.dumps({"nodes": self.nodes, "port": self.port, "cluster_id": self.cluster_id})
        )
        for node in self.ids:
            self._format(libs, node)
        for node in self.ids:
            self.start_node(node, wait=False)
        self.wait_whole(timeout)
        asyncio.run(
            ensure_topics(
                self.bootstrap,
                all_topics(),
                replication_factor=self.replication,
                min_insync_replicas=self.min_insync,
            )
        )
        return self.bootstrap

    def _format(self, libs: Path, node: int) -> None:
        node_dir = self.node_dir(node)
        node_dir.mkdir(parents=True, exist_ok=True)
        properties = node_dir / "server.properties"
        properties.write_text(self._properties(node))
        if (node_dir / "data" / "meta.properties").exists():  # format once; restarts keep the data
            return
        subprocess.run(
            [
                _java(),
                "-cp",
                f"{libs}/*",
                f"-Dlog4j2.configurationFile={HERE / 'kafka' / 'log4j2.yaml'}",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                self.cluster_id,
                "-c",
                str(properties),
                "--ignore-formatted",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start_node(self, node: int, wait: bool = True, timeout: float = 90.0) -> int:
        """Start one node (again) with its kept data; with `wait`, until the cluster is whole."""
        running = self.pid(node)
        if running is None:
            node_dir = self.node_dir(node)
            log = (node_dir / "kafka.log").open("ab")
            process = subprocess.Popen(
                [
                    _java(),
                    f"-Xmx{self.heap}",
                    f"-Xms{self.heap}",
                    "-XX:+UseG1GC",
                    "-XX:TieredStopAtLevel=1",  # starts faster, the load here is light
                    "-Djava.awt.headless=true",
                    f"-Dlog4j2.configurationFile={HERE / 'kafka' / 'log4j2.yaml'}",
                    "-cp",
                    f"{libs_dir()}/*",
                    "kafka.Kafka",
                    str(node_dir / "server.properties"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            (node_dir / "kafka.pid").write_text(str(process.pid))
            running = process.pid
        if wait:
            self.wait_whole(timeout)
        return running

    def kill_node(self, node: int) -> None:
        """kill -9: no clean shutdown, no leadership handed over."""
        pid = self.pid(node)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def stop_node(self, node: int, timeout: float = 30.0) -> None:
        """A clean stop (SIGTERM): the node hands its leaderships over first."""
        stop(self.node_dir(node), timeout)

    def stop(self) -> None:
        for node in self.ids:
            self.stop_node(node)

    def brokers_up(self) -> set[int]:
        """The nodes the cluster's metadata lists as brokers (a killed one drops out within seconds)."""
        return asyncio.run(_brokers(self.bootstrap))

    def wait_whole(self, timeout: float = 90.0) -> None:
        quiet = logging.getLogger("aiokafka")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # "connection refused" is expected while nodes boot
        try:
            self._wait_whole(timeout)
        finally:
            quiet.setLevel(level)

    def _wait_whole(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        seen: set[int] = set()
        while time.monotonic() < deadline:
            for node in self.ids:
                if self.pid(node) is None and (self.node_dir(node) / "kafka.pid").exists():
                    tail = (self.node_dir(node) / "kafka.log").read_text(errors="replace")[-3000:]
                    raise SystemExit(f"Kafka node {node} exited; the end of its log:\n{tail}")
            try:
                seen = self.brokers_up()
            except Exception:  # noqa: BLE001 - no node answers yet
                seen = set()
            # registered is not yet reachable: a client handed this node's address must get through
            if seen >= set(self.ids) and all(_accepts(self.client_port(n)) for n in self.ids):
                return
            time.sleep(0.5)
        raise TimeoutError(f"the cluster in {self.dir} is not whole after {timeout:.0f}s: brokers {seen}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


async def _brokers(bootstrap: str) -> set[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    await admin.start()
    try:
        described = await admin.describe_cluster()
        return {int(b["node_id"]) for b in described["brokers"]}
    finally:
        await admin.close()


def stop(state_dir: Path, timeout: float = 30.0) -> None:
    if (state_dir / "cluster.json").exists():
        Cluster(state_dir).stop()
        return
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
    parser.add_argument("--port", type=int, default=None, help="9092 for one node, 9192 for a cluster")
    parser.add_argument("--nodes", type=int, default=1, help="1 (development) or 3 (replicated)")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(fetch())
    elif args.command == "start" and args.nodes > 1:
        cluster = Cluster(args.dir, args.nodes, args.port or 9192)
        bootstrap = cluster.start()
        print(
            f"Kafka cluster of {cluster.nodes} nodes on {bootstrap} (replication {cluster.replication}, "
            f"min.insync.replicas {cluster.min_insync}); services there need "
            f"KAFKA_REPLICATION_FACTOR={cluster.replication} KAFKA_MIN_INSYNC_REPLICAS={cluster.min_insync}"
            f" for the topics they create; stop it with `python -m deploy.local_kafka stop --dir {args.dir}`"
        )
    elif args.command == "start":
        args.port = args.port or 9092
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
