"""Real infrastructure for tests: a Kafka broker and a PostgreSQL server, picked in this order —
the environment (KAFKA_BOOTSTRAP_SERVERS, TEST_POSTGRES_URL), testcontainers where a Docker engine
answers, else the local no-Docker launchers in deploy/."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import create_engine, text

from shared.auth import Role, issue_token
from shared.db import normalise_url
from shared.kafka import ensure_topics
from shared.topics import all_topics

ROOT = Path(__file__).resolve().parent.parent
AUTH_SECRET = "test-secret-" + "x" * 40
LINK_SECRET = "test-link-secret-" + "l" * 40


def docker_available() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(pid: int, port: int) -> bool:
    """Does process `pid` listen on 127.0.0.1:`port`? (Linux: its sockets' inodes in /proc.)"""
    sockets: set[str] = set()
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
        table = Path(f"/proc/{pid}/net/tcp").read_text()
    except OSError:  # ended
        return False
    for fd in descriptors:
        try:
            sockets.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:  # closed while we looked (listdir's own, for one)
            continue
    for line in table.splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port and f"socket:[{inode}]" in sockets:
            return True
    return False


def token(role: Role, subject: str = "tester@vvsg.be") -> str:
    return issue_token(AUTH_SECRET, subject, role)


def auth(role: Role = "staff", subject: str = "tester@vvsg.be") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, subject)}"}


def create_topics(bootstrap: str, prefix: str) -> None:
    asyncio.run(ensure_topics(bootstrap, all_topics(partitions=3), prefix=prefix))


def delete_topics(bootstrap: str, prefix: str) -> None:
    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([prefix + spec.name for spec in all_topics()])
        except Exception:  # noqa: BLE001 - a topic left behind costs memory, not correctness
            pass
        finally:
            await admin.close()

    asyncio.run(delete())


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh, empty database on the server; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Databases:
    """Hands out one fresh database URL per service name."""

    def __init__(self, make: Callable[[str], str]) -> None:
        self._make = make
        self._urls: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self._make(name)
        return self._urls[name]


def wait_until(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1, what: str = "") -> Any:
    """Poll until `check` returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except AssertionError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what or check}: last seen {last!r}")


class ServiceProcess:
    """One service started the way ops start it: `python -m services.<name>`."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**os.environ, **env, "HTTP_PORT": str(self.port), "HTTP_HOST": "127.0.0.1"}
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 60.0) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            # free_port() only found the port free: another test's service may bind it first, and its
            # /health/ready would answer for ours (a CI run once got a foreign service's 404s)
            if not _listening(self.process.pid, self.port):
                return False
            try:
                return httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, ready_timeout, 0.2, f"{self.name} to become ready")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def client(self, role: Role = "staff") -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=auth(role), timeout=30)


async def topic_partitions(bootstrap: str, topic: str) -> set[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
        return {p["partition"] for d in described if d["error_code"] == 0 for p in d["partitions"]}
    finally:
        await admin.close()


async def read_topic(bootstrap: str, topic: str, timeout: float = 5.0) -> list[Any]:
    """Every record currently on a topic, from the start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(bootstrap, topic)
        assert partitions, f"topic {topic} does not exist"
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            positions = [await consumer.position(tp) for tp in tps]
            if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                break
            batch = await consumer.getmany(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(tp_records)
        return records
    finally:
        await consumer.stop()


async def produce(bootstrap: str, records: list[tuple[str, bytes | None, bytes | None]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def read_topics(bootstrap: str, names: list[str], timeout: float = 120.0) -> list[Any]:
    """Every record currently on all the given topics, read by one consumer."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names) if names else []
    finally:
        await admin.close()
    tps = [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        if d["error_code"] == 0
        for p in d["partitions"]
    ]
    if not tps:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=1 << 20
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, tp_records in batch.items():
                records.extend(tp_records)
                if tp_records and tp_records[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
        assert not pending, f"could not read to the end of {len(pending)} partitions"
        return records
    finally:
        await consumer.stop()


async def committed_through(bootstrap: str, group: str, topic: str) -> bool:
    """True when the consumer group has committed the end of every partition of the topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await topic_partitions(bootstrap, topic)]
        ends = await consumer.end_offsets(tps)
        committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        return all(ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in tps)
    finally:
        await consumer.stop()
        await admin.close()


def envelope_values(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records if r.value is not None]
