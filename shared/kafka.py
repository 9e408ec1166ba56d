"""Kafka administration (topic set-up, waiting for the broker) and a plain producer for operator
scripts and tests. Services consume and publish through their FastStream broker (shared.messaging).

The producer is idempotent (`acks=all`), so a retried send never duplicates or reorders a partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.topics import TopicSpec

log = logging.getLogger(__name__)


def make_producer(bootstrap_servers: str, client_id: str, **overrides: Any) -> AIOKafkaProducer:
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "client_id": client_id,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 15_000,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def ensure_topics(bootstrap_servers: str, specs: list[TopicSpec], prefix: str = "") -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="topic-setup")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=prefix + spec.name,
                num_partitions=spec.partitions,
                replication_factor=1,
                topic_configs=spec.config,
            )
            for spec in specs
            if prefix + spec.name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was quicker
                await admin.create_topics(wanted)
            # creation is answered before every broker's metadata shows the topic: wait for it
            names = {t.name for t in wanted}
            for _ in range(100):
                if names <= set(await admin.list_topics()):
                    break
                await asyncio.sleep(0.1)
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def partitions_of(bootstrap_servers: str, topics: list[str]) -> dict[str, list[int]]:
    """The partitions of each topic that exists (a topic that does not is left out)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="partitions")
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {
        d["topic"]: sorted(p["partition"] for p in d["partitions"])
        for d in described
        if d["error_code"] == 0 and d["partitions"]
    }


async def wait_for_broker(bootstrap_servers: str, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # "connection refused" is expected while the broker boots
    try:
        await _wait(bootstrap_servers, deadline)
    finally:
        quiet.setLevel(level)


async def _wait(bootstrap_servers: str, deadline: float) -> None:
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"Kafka at {bootstrap_servers} did not answer: {exc}") from exc
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
