"""One consumer scenario, two transports: FastStream's in-memory `TestKafkaBroker` (fast, no broker) and
the real Kafka broker. A scenario drives a service's runtime through a `Transport`: it sends records,
waits for the state it expects, and reads the dead letters; the transport decides how.

In memory, a record is handed to the subscriber as it is published (the handler has run when `send`
returns); FastStream's test broker gives every record offset 0, so the transport numbers them per
partition as Kafka would — the tracked consumer skips a record below its stored position.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Literal

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaPublishMessage, TestKafkaBroker

from shared.db import migrate
from shared.messaging import raw_records
from shared.service import Runtime
from shared.settings import load as load_settings
from shared.topics import dead_letter_topic
from tests.infra import read_topic

Kind = Literal["memory", "kafka"]
TRANSPORTS = ["memory", "kafka"]


@dataclasses.dataclass
class DeadLetter:
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]


class Transport:
    def __init__(self, kind: Kind, runtime: Runtime, bootstrap: str | None) -> None:
        self.kind = kind
        self.runtime = runtime
        self.bootstrap = bootstrap
        self._dead: dict[str, list[DeadLetter]] = defaultdict(list)
        self._offsets: dict[tuple[str, int], int] = defaultdict(int)

    def topic(self, base: str) -> str:
        return self.runtime.settings.topic(base)

    async def send(
        self, base_topic: str, key: bytes | None, value: bytes | None, headers: dict[str, str] | None = None
    ) -> None:
        topic = self.topic(base_topic)
        headers = headers or {}
        if self.kind == "memory":
            await self.runtime.broker.publish(value, topic, key=key, headers=headers)
            return
        assert self.bootstrap is not None
        producer = _producer(self.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                topic, value=value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
            )
        finally:
            await producer.stop()

    async def send_batch(self, base_topic: str, records: Sequence[tuple[bytes | None, bytes | None]]) -> None:
        """Records published together: in memory they reach the subscriber as one batch; on Kafka they
        are on the topic before the consumer's next fetch, which takes them in as few batches as fit."""
        topic = self.topic(base_topic)
        if self.kind == "memory":
            messages = [KafkaPublishMessage(value, key=key) for key, value in records]
            await self.runtime.broker.publish_batch(*messages, topic=topic)
            return
        assert self.bootstrap is not None
        producer = _producer(self.bootstrap)
        await producer.start()
        try:
            futures = [await producer.send(topic, value=value, key=key) for key, value in records]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

    async def until(self, check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = await asyncio.to_thread(check)
            if result:
                return result
            if self.kind == "memory" or time.monotonic() > deadline:
                raise AssertionError(f"{what}: not reached ({self.kind})")
            await asyncio.sleep(0.1)

    async def dead_letters(self, base_topic: str, expected: int, timeout: float = 30.0) -> list[DeadLetter]:
        """The dead letters of a topic, once there are `expected` of them."""
        topic = dead_letter_topic(self.topic(base_topic))
        if self.kind == "memory":
            return list(self._dead[topic])
        assert self.bootstrap is not None
        deadline = time.monotonic() + timeout
        while True:
            records = await read_topic(self.bootstrap, topic)
            if len(records) >= expected or time.monotonic() > deadline:
                return [DeadLetter(r.key, r.value, dict(r.headers)) for r in records]
            await asyncio.sleep(0.2)

    # --- in memory -------------------------------------------------------------------------------

    def _collect_dead_letters(self, topics: Sequence[str]) -> None:
        for topic in topics:
            dlq = dead_letter_topic(topic)
            self.runtime.broker.subscriber(dlq, decoder=raw_records, include_in_schema=False)(
                self._keeper(self._dead[dlq])
            )

    @staticmethod
    def _keeper(into: list[DeadLetter]) -> Callable[[list[ConsumerRecord[bytes, bytes]]], Awaitable[None]]:
        async def keep(records: list[ConsumerRecord[bytes, bytes]]) -> None:  # one argument: see raw_records
            into.extend(DeadLetter(r.key, r.value, dict(r.headers)) for r in records)

        return keep

    def _number_records(self) -> None:
        for driver in self.runtime.drivers:
            driver.handle = self._numbering(driver.handle)  # type: ignore[method-assign]

    def _numbering(
        self, handle: Callable[[Sequence[ConsumerRecord[bytes, bytes]]], Awaitable[None]]
    ) -> Callable[[Sequence[ConsumerRecord[bytes, bytes]]], Awaitable[None]]:
        async def numbered(records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
            renumbered = []
            for r in records:
                offset = self._offsets[(r.topic, r.partition)]
                self._offsets[(r.topic, r.partition)] = offset + 1
                renumbered.append(dataclasses.replace(r, offset=offset))
            await handle(renumbered)

        return numbered


def _producer(bootstrap: str) -> Any:
    from aiokafka import AIOKafkaProducer

    return AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)


@asynccontextmanager
async def running(kind: Kind, runtime: Runtime, bootstrap: str | None = None) -> AsyncIterator[Transport]:
    """The runtime's consumers running on the chosen transport, its database migrated."""
    transport = Transport(kind, runtime, bootstrap)
    async with AsyncExitStack() as stack:
        if kind == "memory":
            await asyncio.to_thread(migrate, runtime.engine, runtime.migrations_dir)
            for step in runtime.before_start:
                await step()
            transport._collect_dead_letters([t for d in runtime.drivers for t in d.tracked.topics])
            transport._number_records()
            await stack.enter_async_context(TestKafkaBroker(runtime.broker))
        else:
            await runtime.start()
            stack.push_async_callback(runtime.stop)
            await transport.until(
                lambda: all(c.assigned for c in runtime.consumers), "every consumer assigned"
            )
        yield transport


def service_runtime(service: str, database_url: str, bootstrap: str, prefix: str) -> Runtime:
    """A service's runtime as `python -m services.<service>` wires it (its broker, subscribers and
    publishers), on this test's database, broker and topics; nothing is started."""
    module = importlib.import_module(f"services.{service}.app")
    loader = getattr(module, "load", None)
    settings: Any = loader() if loader is not None else load_settings(service)
    settings.database_url = database_url
    settings.kafka_bootstrap_servers = bootstrap
    settings.kafka_topic_prefix = prefix
    settings.outbox_poll_seconds = 0.1
    app = module.build(settings)
    runtime: Runtime = app.state.runtime
    return runtime
