"""Kafka administration (topic set-up, waiting for the broker) and a plain producer for operator
scripts and tests. Services consume and publish through their FastStream broker (shared.messaging).

The producer is idempotent (`acks=all`), so a retried send never duplicates or reorders a partition.
Topics get the replication of the settings (KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS: 1/1 on
one development broker, 3/2 on a cluster) and never an unclean leader election.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import anyio
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

from shared.settings import Settings
from shared.topics import TopicSpec

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

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


async def ensure_topics(
    bootstrap_servers: str,
    specs: list[TopicSpec],
    prefix: str = "",
    *,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created. Replication comes from the
    settings unless given here."""
    settings = Settings()
    replicas = replication_factor or settings.kafka_replication_factor
    insync = min_insync_replicas or settings.kafka_min_insync_replicas
    if not 1 <= insync <= replicas:
        raise ValueError(f"min.insync.replicas {insync} must be between 1 and the replication {replicas}")
    safety = {
        "min.insync.replicas": str(insync),
        # a replica that missed acknowledged writes never becomes leader: it would lose them
        "unclean.leader.election.enable": "false",
    }
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="topic-setup")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=prefix + spec.name,
                num_partitions=spec.partitions,
                replication_factor=replicas,
                topic_configs={**safety, **spec.config},
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


async def broker_answers(broker: KafkaBroker, timeout: float) -> bool:
    """Whether a service's FastStream broker answers within `timeout` seconds: `KafkaBroker.ping`, but
    asking for the metadata of no topic instead of every topic. FastStream's ping (`describe_cluster`)
    reads the whole cluster's metadata and throws the topics away: on a broker with thousands of topics
    (a test or benchmark broker) that cost 185 ms of CPU per check, and the outbox relay checks every
    few seconds."""
    from faststream.exceptions import IncorrectState

    try:
        admin = broker.config.admin_client
    except IncorrectState:  # not connected, or FastStream's in-memory test broker: its own ping says
        return bool(await broker.ping(timeout))
    with anyio.move_on_after(timeout):
        while True:
            try:
                await admin.describe_topics([])  # an empty list asks for no topic (None: every topic)
            except Exception:  # noqa: BLE001 - not answering yet: ask again until the timeout
                await anyio.sleep(timeout / 10)
            else:
                return True
    return False


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


class _LeaveGroupResponse_v3(Response):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        (
            "members",
            Array(
                ("member_id", String("utf-8")), ("group_instance_id", String("utf-8")), ("error_code", Int16)
            ),
        ),
    )


class _LeaveGroupRequest_v3(RequestStruct):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = _LeaveGroupResponse_v3
    SCHEMA = Schema(
        ("group_id", String("utf-8")),
        ("members", Array(("member_id", String("utf-8")), ("group_instance_id", String("utf-8")))),
    )


class _RemoveStaticMembers(Request[_LeaveGroupRequest_v3]):  # type: ignore[misc]
    """LeaveGroup v3 (KIP-345) naming members by their group instance id, as Kafka's own admin client
    does in removeMembersFromConsumerGroup. aiokafka only speaks LeaveGroup v0/v1, and skips even that
    for a static member, which would then hold its partitions until its session times out."""

    API_KEY = 13

    def __init__(self, group_id: str, instance_ids: list[str]) -> None:
        self.group_id = group_id
        self.instance_ids = instance_ids

    def build(self, request_struct_class: type[_LeaveGroupRequest_v3]) -> _LeaveGroupRequest_v3:
        # the unknown member id "" with an instance id: the coordinator removes that static member
        return request_struct_class(self.group_id, [("", i) for i in self.instance_ids])


async def remove_static_members(
    bootstrap_servers: str, group_id: str, instance_ids: list[str], timeout_ms: int = 5000
) -> bool:
    """Take static members out of their consumer group now, so that the others get their partitions at
    once (a clean shutdown). True when the coordinator removed them all (an unknown member counts as
    removed: it is not in the group)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="leave-group", request_timeout_ms=timeout_ms
    )
    await admin.start()
    try:
        coordinator = await admin.find_coordinator(group_id)
        response: Any = await admin._send_request_to_node(
            coordinator, _RemoveStaticMembers(group_id, instance_ids)
        )
    finally:
        await admin.close()
    unknown_member = 25  # UNKNOWN_MEMBER_ID
    errors = [response.error_code, *(m[2] for m in response.members)]
    ok = all(code in (0, unknown_member) for code in errors)
    if not ok:
        log.warning("leaving group %s as %s: error codes %s", group_id, instance_ids, errors)
    return ok
