"""Dead letters: list what a consumer could not process, and put chosen records back after a fix."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker
from faststream.kafka import TopicPartition as FsTopicPartition
from faststream.middlewares import AckPolicy

from shared import kafka
from shared.topics import dead_letter_topic


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str:
        return next((v.decode(errors="replace") for k, v in self.headers if k == name), "")


async def list_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Every record on `<topic>.dlq`, oldest first: read through a FastStream subscriber on the
    topic's partitions (no consumer group, nothing committed), up to the end offsets."""
    dlq = dead_letter_topic(topic)
    found = (await kafka.partitions_of(bootstrap, [dlq])).get(dlq, [])
    if not found:
        return []
    broker = KafkaBroker(bootstrap, client_id="dlq-list", log_level=logging.DEBUG)
    subscriber = broker.subscriber(
        partitions=[FsTopicPartition(dlq, p, declare=False) for p in found],
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        include_in_schema=False,
    )
    await broker.start()
    try:
        consumer = subscriber.consumer
        assert consumer is not None
        tps = [TopicPartition(dlq, p) for p in found]
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        letters: list[DeadLetter] = []
        while not all([await consumer.position(tp) >= ends[tp] for tp in tps]):
            message = await subscriber.get_one(timeout=0.5)
            if message is not None:
                r = message.raw_message
                assert isinstance(r, ConsumerRecord)  # one record a message: not a batch subscriber
                letters.append(DeadLetter(r.partition, r.offset, r.key, r.value, tuple(r.headers or ())))
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    finally:
        await broker.stop()


async def replay(bootstrap: str, topic: str, offsets: set[int]) -> list[DeadLetter]:
    """Publish the chosen dead letters (by their offset on the DLQ) to their original topic again,
    without the dead-letter headers. Consumers skip anything they had already applied."""
    chosen = [d for d in await list_dead_letters(bootstrap, topic) if d.offset in offsets]
    producer = kafka.make_producer(bootstrap, "dlq-replay")
    await producer.start()
    try:
        for letter in chosen:
            headers = [(k, v) for k, v in letter.headers if not k.startswith("dlq-")]
            await producer.send_and_wait(
                letter.header("dlq-topic") or topic, value=letter.value, key=letter.key, headers=headers
            )
    finally:
        await producer.stop()
    return chosen
