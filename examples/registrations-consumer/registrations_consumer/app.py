"""The FastStream application: one subscriber on activities.events in a consumer group of its own
environment, reading every record through the contract (CloudEvents SDK + published schemas) into the
SQLite store, once per event id.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 python -m registrations_consumer
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import ConsumerRecord
from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy

from registrations_consumer.contract import Contract, Refused
from registrations_consumer.store import Store

log = logging.getLogger("registrations_consumer")

TOPIC = "activities.events"
GROUP = "registrations-consumer"
FOLLOWED = frozenset({"session.scheduled", "registration.received"})
# where the producing project publishes its schemas; a team would vendor or download these files
DEFAULT_SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


@dataclass
class Settings:
    bootstrap_servers: str = field(
        default_factory=lambda: os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    topic_prefix: str = field(default_factory=lambda: os.environ.get("KAFKA_TOPIC_PREFIX", ""))
    database: str = field(default_factory=lambda: os.environ.get("REGISTRATIONS_DB", "registrations.db"))
    schemas_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("EVENT_SCHEMAS_DIR", DEFAULT_SCHEMAS))
    )


@dataclass
class Consumer:
    broker: KafkaBroker
    app: FastStream
    store: Store
    refused: list[str] = field(default_factory=list)


def build(settings: Settings) -> Consumer:
    contract = Contract(settings.schemas_dir)
    store = Store(settings.database)
    broker = KafkaBroker(settings.bootstrap_servers)
    consumer = Consumer(broker, FastStream(broker), store)

    @broker.subscriber(
        settings.topic_prefix + TOPIC,
        # a group per environment, like the producing project's own consumers
        group_id=settings.topic_prefix + GROUP,
        # a new group reads the topic from its beginning: the whole history, v1 records included
        auto_offset_reset="earliest",
        # committed after the handler: an event is applied (and its id stored) before its offset moves
        ack_policy=AckPolicy.ACK,
    )
    async def on_activity(message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)  # one record a call: this is no batch subscriber
        headers = {
            name: value if isinstance(value, bytes) else str(value).encode() for name, value in record.headers
        }
        try:
            event = contract.read(headers, record.key, record.value, FOLLOWED)
        except Refused as exc:
            # a record that breaks the contract is skipped and logged; a production consumer would also
            # write it to its own dead-letter topic
            consumer.refused.append(str(exc))
            log.warning("skipped %s@%s:%s: %s", record.topic, record.partition, record.offset, exc)
            return
        if event is not None and not store.apply(event):
            log.info("event %s seen before: nothing to do", event.id)

    return consumer


def main() -> None:
    import asyncio

    logging.basicConfig(level=logging.INFO)
    asyncio.run(build(Settings()).app.run())


if __name__ == "__main__":
    main()
