"""Commands taken while the broker is stopped are published once it is back, none lost; readiness says
the broker is unreachable while it is, also while a record is stuck in flight to it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka.errors import KafkaError

from deploy import local_kafka
from shared import topics
from tests.infra import ServiceProcess, create_topics, free_port, read_topic, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[Path, int, int]]:
    """A broker of this test alone: the test stops and restarts it."""
    state, port, controller = tmp_path / "kafka", free_port(), free_port()
    local_kafka.start(state, port, controller)
    try:
        yield state, port, controller
    finally:
        local_kafka.stop(state)


def test_commands_made_while_the_broker_is_down_are_published_when_it_returns(
    own_broker: tuple[Path, int, int], tmp_path: Path
) -> None:
    state, port, controller = own_broker
    bootstrap = f"127.0.0.1:{port}"
    service = _members(bootstrap, "outage.", tmp_path)
    try:
        with service.client("staff") as members:
            org = members.post("/organisations", json={"name": "Gemeente Zemst", "kind": "lokaal_bestuur"})
            assert org.status_code == 201

            local_kafka.stop(state)
            wait_until(lambda: _broker_unready(service), 60, 0.5, "the service to notice the broker is gone")
            created = []
            for i in range(10):
                response = members.post(
                    "/members",
                    json={
                        "first_name": "Lid",
                        "last_name": f"Nummer {i}",
                        "email": f"lid{i}@zemst.be",
                        "organisation_id": org.json()["id"],
                        "joined_on": "2025-03-01",
                    },
                )
                assert response.status_code == 201, response.text
                created.append(response.json()["id"])

            local_kafka.start(state, port, controller)
            topic = "outage." + topics.MEMBERS_EVENTS

            def joined_ids() -> Counter[str]:
                records = asyncio.run(read_topic(bootstrap, topic))
                seen = Counter(json.loads(r.value)["data"].get("member_id") for r in records)
                return seen if all(seen[m] >= 1 for m in created) else Counter()

            seen = wait_until(joined_ids, 90, 0.5, "the events held back during the outage")
            assert all(seen[m] == 1 for m in created)
            assert members.get("/health/ready").status_code == 200
    finally:
        service.stop()


def _members(bootstrap: str, prefix: str, folder: Path) -> ServiceProcess:
    """The members service as a process on this test's broker and topics, its outbox polled often."""
    create_topics(bootstrap, prefix)
    return ServiceProcess(
        "members",
        {
            "DATABASE_URL": f"sqlite:///{folder}/members.db",
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "OUTBOX_POLL_SECONDS": "0.2",
        },
        folder,
    ).start()


def _broker_unready(service: ServiceProcess) -> bool:
    response = httpx.get(f"{service.url}/health/ready", timeout=5)
    return response.status_code == 503 and response.json()["checks"]["broker"] == "unreachable"


def test_readiness_turns_red_while_a_record_hangs_in_flight_to_a_frozen_broker(
    own_broker: tuple[Path, int, int], tmp_path: Path
) -> None:
    """A frozen broker (SIGSTOP) keeps its connections open: the relay's send of the next record then
    hangs for the producer's whole timeout. Readiness must not go on reporting the last good check all
    that time (CI once saw a broker stop with a record in flight and readiness green for 60 s)."""
    state, port, _controller = own_broker
    bootstrap = f"127.0.0.1:{port}"
    service = _members(bootstrap, "frozen.", tmp_path)
    pid = int((state / "kafka.pid").read_text().strip())
    try:
        with service.client("staff") as members:
            assert members.get("/health/ready").status_code == 200
            os.kill(pid, signal.SIGSTOP)
            try:
                org = members.post(
                    "/organisations", json={"name": "Gemeente Bever", "kind": "lokaal_bestuur"}
                )
                assert org.status_code == 201
                wait_until(lambda: _broker_unready(service), 20, 0.5, "readiness to say the broker is gone")
            finally:
                os.kill(pid, signal.SIGCONT)
            topic = "frozen." + topics.MEMBERS_EVENTS

            def published() -> bool:
                try:
                    records = asyncio.run(read_topic(bootstrap, topic))
                except KafkaError:  # just resumed, the broker may answer without itself in the metadata
                    return False
                return any(json.loads(r.value)["subject"] == org.json()["id"] for r in records)

            wait_until(published, 90, 0.5, "the record held while the broker was frozen")
            wait_until(lambda: members.get("/health/ready").status_code == 200, 30, 0.5, "readiness back")
    finally:
        service.stop()
